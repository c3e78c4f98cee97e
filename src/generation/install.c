/* SPDX-License-Identifier: MIT */
/* Installing a built generation on a laid-out disk (install.h). */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <json-c/json.h>

#include "generation/install.h"
#include "util/error-message.h"
#include "util/file-bytes.h"
#include "util/format-bytes.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/run.h"
#include "util/sha256-file.h"

/* the build directory's layout (src/generation/build.h) */
#define FROM_ROOTFS "rootfs.tar"
#define FROM_CMDLINE "cmdline"
#define FROM_ESP "esp"
#define FROM_MANIFEST "manifest.json"
#define FROM_HOST_KEYS "host-keys.tar"

__attribute__((format(printf, 3, 4)))
static void progress(GenerationInstallOptions *o, const char *step, const char *fmt, ...) {
        if (!o->progress)
                return;
        char detail[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
        o->progress(step, detail, o->userdata);
}

int generation_number_from_cmdline(const char *cmdline, unsigned *ret) {
        for (const char *p = cmdline; (p = strstr(p, "keystone.generation=")); p++) {
                if (p != cmdline && p[-1] != ' ')
                        continue;
                p += strlen("keystone.generation=");
                char *end = NULL;
                unsigned long n = strtoul(p, &end, 10);
                if (end == p || (*end && *end != ' ' && *end != '\n') || n < 1 || n > 999999)
                        return -EINVAL;
                *ret = (unsigned) n;
                return 0;
        }
        return -EINVAL;
}

int generation_verify_manifest(const char *dir, char **error) {
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/" FROM_MANIFEST, dir) >= (int) sizeof p)
                return -ENAMETOOLONG;
        json_object *root = json_object_from_file(p);
        if (!root)
                return error_set(error, -EBADMSG, "cannot read %s (%s); build with `keystone build -o %s`", p,
                                 json_util_get_last_err() ? json_util_get_last_err() : "no such file", dir);
        json_object *arts = NULL;
        int r = 0;
        if (!json_object_object_get_ex(root, "artifacts", &arts) || !json_object_is_type(arts, json_type_array) ||
            json_object_array_length(arts) == 0)
                r = error_set(error, -EBADMSG, "%s lists no artifacts", p);
        for (size_t i = 0; r >= 0 && i < json_object_array_length(arts); i++) {
                json_object *a = json_object_array_get_idx(arts, i), *path = NULL, *sha = NULL;
                if (!json_object_object_get_ex(a, "path", &path) || !json_object_object_get_ex(a, "sha256", &sha) ||
                    !json_object_is_type(path, json_type_string) || !json_object_is_type(sha, json_type_string) ||
                    json_object_get_string(path)[0] == '/' || strstr(json_object_get_string(path), "..")) {
                        r = error_set(error, -EBADMSG, "%s: artifact %zu has no relative path or sha256", p, i);
                        break;
                }
                char f[PATH_MAX * 2], h[65];
                snprintf(f, sizeof f, "%s/%s", dir, json_object_get_string(path));
                if ((r = sha256_file_hex(f, h, NULL)) < 0) {
                        error_set(error, r, "cannot read %s: %s", f, strerror(-r));
                        break;
                }
                if (!streq(h, json_object_get_string(sha)))
                        r = error_set(error, -EBADMSG, "%s does not match %s (sha256 %s, the manifest says %s): the "
                                                       "build directory was changed; build it again",
                                      f, p, h, json_object_get_string(sha));
        }
        json_object_put(root);
        return r;
}

/* ---- the ESP ---- */

typedef struct EspWalk {
        const char *from_esp, *to_esp;
        uint64_t need, freed, cluster;
        char **files;   /* relative paths */
        size_t n;
        int error;
} EspWalk;

static EspWalk *walk_state;

static uint64_t round_up(uint64_t v, uint64_t to) {
        return to ? (v + to - 1) / to * to : v;
}

static int esp_visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) ftw;
        EspWalk *w = walk_state;
        if (type != FTW_F)
                return 0;
        const char *rel = path + strlen(w->from_esp) + 1;
        char dest[PATH_MAX * 2];
        snprintf(dest, sizeof dest, "%s/%s", w->to_esp, rel);
        struct stat old;
        w->need += round_up((uint64_t) st->st_size, w->cluster);
        if (stat(dest, &old) == 0 && S_ISREG(old.st_mode))
                w->freed += round_up((uint64_t) old.st_size, w->cluster);
        char **v = realloc(w->files, (w->n + 1) * sizeof(char *));
        if (!v || !(v[w->n] = strdup(rel))) {
                if (v)
                        w->files = v;
                w->error = -ENOMEM;
                return 1;
        }
        w->files = v;
        w->n++;
        return 0;
}

/* The UKIs first, loader.conf last: until loader.conf is written the old
 * default still boots. */
static int esp_order(const void *a, const void *b) {
        const char *x = *(char *const *) a, *y = *(char *const *) b;
        int rx = strncmp(x, "EFI/Linux/", 10) == 0 ? 0 : strncmp(x, "loader/", 7) == 0 ? 2 : 1;
        int ry = strncmp(y, "EFI/Linux/", 10) == 0 ? 0 : strncmp(y, "loader/", 7) == 0 ? 2 : 1;
        return rx != ry ? rx - ry : strcmp(x, y);
}

static int install_esp(GenerationInstallOptions *o, const char *root, char **error) {
        char from[PATH_MAX], to[PATH_MAX + 8];
        snprintf(from, sizeof from, "%s/" FROM_ESP, o->from);
        snprintf(to, sizeof to, "%s/boot", root);
        struct statvfs sv;
        if (statvfs(to, &sv) < 0)
                return error_set(error, -errno, "cannot examine the ESP on %s: %s", to, strerror(errno));
        EspWalk w = { .from_esp = from, .to_esp = to, .cluster = sv.f_bsize };
        walk_state = &w;
        int r = nftw(from, esp_visit, 16, FTW_PHYS);
        walk_state = NULL;
        if (r < 0)
                r = error_set(error, -errno, "cannot read %s: %s", from, strerror(errno));
        else if (w.error < 0)
                r = w.error;
        else if (w.n == 0)
                r = error_set(error, -ENOENT, "%s holds no files for the ESP", from);
        uint64_t avail = (uint64_t) sv.f_bavail * sv.f_frsize;
        char b1[32], b2[32];
        if (r >= 0 && w.need > avail + w.freed)
                r = error_set(error, -ENOSPC, "the ESP on %s has %s free but this generation needs %s more: "
                                                  "remove old boot entries from %s/EFI/Linux, or give the ESP more "
                                                  "room (disk.esp-size) when laying out the next disk", to,
                              format_bytes(avail, b1, sizeof b1), format_bytes(w.need - w.freed, b2, sizeof b2), to);
        if (r >= 0)
                progress(o, "space", "%s needed on the ESP, %s free", format_bytes(w.need - w.freed, b1, sizeof b1),
                         format_bytes(avail, b2, sizeof b2));
        if (r >= 0)
                qsort(w.files, w.n, sizeof(char *), esp_order);
        for (size_t i = 0; r >= 0 && i < w.n; i++) {
                char src[PATH_MAX * 2], dest[PATH_MAX * 2];
                snprintf(src, sizeof src, "%s/%s", from, w.files[i]);
                snprintf(dest, sizeof dest, "%s/%s", to, w.files[i]);
                _cleanup_free_ uint8_t *data = NULL;
                size_t size = 0;
                if ((r = read_file_bytes(src, 0, &data, &size)) < 0) {
                        error_set(error, r, "cannot read %s: %s", src, strerror(-r));
                        break;
                }
                if ((r = mkdir_parents(dest, 0755, NULL)) < 0 || (r = write_file_bytes_atomic(dest, data, size, 0644)) < 0) {
                        error_set(error, r, "writing %s failed: %s", dest, strerror(-r));
                        break;
                }
                progress(o, "esp", "%s (%s)", w.files[i], format_bytes(size, b1, sizeof b1));
        }
        for (size_t i = 0; i < w.n; i++)
                free(w.files[i]);
        free(w.files);
        return r;
}

/* DIR/NAME unpacked below root, owners and modes as they are in it; /boot's
 * own directory entry skipped: the ESP is mounted there and FAT has no
 * owners to restore. */
static int untar(GenerationInstallOptions *o, const char *name, const char *root, char **error) {
        char tar[PATH_MAX];
        snprintf(tar, sizeof tar, "%s/%s", o->from, name);
        const char *argv[] = { "tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "--exclude=./boot",
                               "-xpf", tar, "-C", root, NULL };
        RunResult res = {};
        int r = run(argv, NULL, &res);
        if (r < 0)
                error_set(error, r, "unpacking %s on %s failed: %s", tar, root, run_result_describe(&res));
        run_result_done(&res);
        if (r >= 0)
                progress(o, "rootfs", "%s unpacked", tar);
        return r;
}

/* The generation's files onto the mounted system: the root file system
 * below mo->root, the machine's SSH host key (generation/output.h) when
 * the build had one, then the ESP. */
static int install_files(GenerationInstallOptions *o, const DiskMountOptions *mo, char **error) {
        int r = untar(o, FROM_ROOTFS, mo->root, error);
        if (r < 0)
                return r;
        char keys[PATH_MAX];
        snprintf(keys, sizeof keys, "%s/" FROM_HOST_KEYS, o->from);
        if (access(keys, F_OK) == 0 && (r = untar(o, FROM_HOST_KEYS, mo->root, error)) < 0)
                return r;
        return install_esp(o, mo->root, error);
}

int generation_install(const DiskLayout *l, const DiskTarget *t, GenerationInstallOptions *o, char **error) {
        char p[PATH_MAX], number[16];
        _cleanup_free_ uint8_t *cmdline = NULL;
        size_t n = 0;
        if (snprintf(p, sizeof p, "%s/" FROM_CMDLINE, o->from) >= (int) sizeof p)
                return -ENAMETOOLONG;
        int r = read_file_bytes(p, 4096, &cmdline, &n);
        if (r < 0)
                return error_set(error, r, "cannot read %s: %s (is %s the output of `keystone build -o`?)", p,
                                 strerror(-r), o->from);
        if (generation_number_from_cmdline((char *) cmdline, &o->number) < 0)
                return error_set(error, -EINVAL, "%s has no keystone.generation=N", p);
        if ((r = generation_verify_manifest(o->from, error)) < 0)
                return r;
        progress(o, "check", "%s matches its manifest; generation %u", o->from, o->number);

        snprintf(number, sizeof number, "%u", o->number);
        DiskMountOptions *mo = &o->mount;
        mo->generation = number;
        mo->create_generation = true;
        mo->replace_generation = o->force;
        r = disk_mount(l, t, mo, error);
        if (r >= 0) {
                progress(o, "mount", "%s/crypt/system/generations/%u on %s (credstore opened by %s)", l->pool,
                         o->number, mo->root, mo->unlocked_by ? mo->unlocked_by : "?");
                r = install_files(o, mo, error);
                if (r >= 0)
                        sync();
        }

        /* Unmount on every path: leave nothing half open.  A failure here
         * after a failed install is reported next to the first error.
         * disk_unmount() closes the credstore and exports the pool by
         * name, so it runs only once disk_mount() has shown that the pool
         * of that name is the target's: a refused collision must not close
         * or export another disk's.  Before that, only ROOT is cleared. */
        _cleanup_free_ char *uerr = NULL;
        int u = mo->pool_ours ? disk_unmount(l, mo->root, &uerr) : disk_unmount_below(mo->root, &uerr);
        o->left_open = u < 0;
        if (u < 0 && r >= 0)
                return error_set(error, u, "generation %u is written, but unmounting failed: %s", o->number,
                                 uerr ? uerr : strerror(-u));
        if (u < 0) {
                _cleanup_free_ char *first = error ? TAKE_PTR(*error) : NULL;
                error_set(error, r, "%s; cleaning up failed too: %s", first ? first : strerror(-r),
                          uerr ? uerr : strerror(-u));
                return r;
        }
        if (r < 0)
                return r;
        progress(o, "unmount", "credstore closed, %s exported", l->pool);
        return 0;
}
