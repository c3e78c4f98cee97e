/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <archive.h>
#include <archive_entry.h>
#include <libkmod.h>

#include "image/initrd.h"
#include "util/error-message.h"
#include "util/file-bytes.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/run.h"

#define MAX_ITEMS 4096

typedef struct Build {
        const InitrdSpec *spec;
        int rootfd;
        char stage[64];
        char modules_dir[PATH_MAX];
        char *seen[MAX_ITEMS];    /* staged paths and library names, to do each once */
        size_t n_seen;
        InitrdReport rep;
        char **error;
} Build;

static bool seen(Build *b, const char *key) {
        for (size_t i = 0; i < b->n_seen; i++)
                if (streq(b->seen[i], key))
                        return true;
        if (b->n_seen < MAX_ITEMS)
                b->seen[b->n_seen++] = strdup(key);
        return false;
}

/* Opens path as if ROOT were "/": symlinks, absolute or relative, cannot
 * leave the tree (openat2 RESOLVE_IN_ROOT). */
static int open_in_root(Build *b, const char *path) {
        struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
        int fd = (int) syscall(SYS_openat2, b->rootfd, path, &how, sizeof how);
        return fd < 0 ? -errno : fd;
}

/* Merged /usr: /lib/x → /usr/lib/x, /bin/x → /usr/bin/x … (the staging
 * tree has the compatibility symlinks, as Debian trixie does). */
static void canonical(const char *path, char *out, size_t size) {
        static const char *const merged[] = { "/lib/", "/lib64/", "/bin/", "/sbin/", NULL };
        for (const char *const *m = merged; *m; m++)
                if (startswith(path, *m)) {
                        snprintf(out, size, "/usr%s", path);
                        return;
                }
        snprintf(out, size, "%s", path);
}

/* Copies an open file into the staging tree at dest (an absolute path in
 * the initrd). */
static int stage_fd(Build *b, int fd, const char *dest, mode_t mode) {
        char canon[PATH_MAX], path[PATH_MAX + 64];
        canonical(dest, canon, sizeof canon);
        snprintf(path, sizeof path, "%s%s", b->stage, canon);
        int r = mkdir_parents(path, 0755, NULL);
        if (r < 0)
                return r;
        _cleanup_close_ int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode & 07777);
        if (out < 0)
                return -errno;
        char buf[1 << 16];
        ssize_t k;
        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        while ((k = read(fd, buf, sizeof buf)) > 0)
                if (write(out, buf, k) != k)
                        return -EIO;
        if (k < 0)
                return -errno;
        b->rep.uncompressed_bytes += lseek(out, 0, SEEK_CUR);
        return 0;
}

static int stage_from_root(Build *b, const char *path, const char *what) {
        char canon[PATH_MAX];
        canonical(path, canon, sizeof canon);
        if (seen(b, canon))
                return 0;
        _cleanup_close_ int fd = open_in_root(b, path);
        if (fd < 0)
                return error_set(b->error, fd, "%s %s not found in %s: %s", what, path, b->spec->root, strerror(-fd));
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return error_set(b->error, -EISDIR, "%s %s in %s is not a regular file", what, path, b->spec->root);
        return stage_fd(b, fd, path, st.st_mode);
}

/* A file given by its bytes, or a directory. */
static int stage_data(Build *b, const InitrdData *d) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%s", b->stage, d->path);
        int r = mkdir_parents(path, 0755, NULL);
        if (r < 0)
                return error_set(b->error, r, "cannot stage %s: %s", d->path, strerror(-r));
        if (d->mode == 0)
                return mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
        (void) unlink(path);
        if ((r = write_file_bytes_excl(path, d->data, d->size, d->mode)) < 0)
                return error_set(b->error, r, "cannot stage %s: %s", d->path, strerror(-r));
        b->rep.uncompressed_bytes += d->size;
        return 0;
}

/* ---- programs and their libraries ---- */

static const char *const lib_dirs[] = {
        "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib", NULL,
};

static int stage_elf(Build *b, const char *path, const char *what);

static int stage_library(Build *b, const char *name, const char *runpath, const char *needed_by) {
        char key[PATH_MAX];
        snprintf(key, sizeof key, "lib:%s", name);
        if (seen(b, key))
                return 0;
        char cand[PATH_MAX];
        /* RUNPATH directories first, then the multiarch and default ones */
        if (runpath && *runpath) {
                _cleanup_free_ char *rp = strdup(runpath);
                char *save = NULL;
                for (char *d = strtok_r(rp, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                        if (strstr(d, "$ORIGIN"))
                                continue; /* relative to the program: not used by the boot flow's tools */
                        snprintf(cand, sizeof cand, "%s/%s", d, name);
                        int fd = open_in_root(b, cand);
                        if (fd >= 0) {
                                close(fd);
                                b->rep.n_libraries++;
                                return stage_elf(b, cand, "library");
                        }
                }
        }
        for (const char *const *d = lib_dirs; *d; d++) {
                snprintf(cand, sizeof cand, "%s/%s", *d, name);
                int fd = open_in_root(b, cand);
                if (fd >= 0) {
                        close(fd);
                        b->rep.n_libraries++;
                        return stage_elf(b, cand, "library");
                }
        }
        return error_set(b->error, -ENOENT, "library %s (needed by %s) not found in %s", name, needed_by,
                         b->spec->root);
}

/* Stages an ELF file and, recursively, its interpreter and DT_NEEDED. */
static int stage_elf(Build *b, const char *path, const char *what) {
        int r = stage_from_root(b, path, what);
        if (r < 0)
                return r;
        char key[PATH_MAX + 8];
        snprintf(key, sizeof key, "elf:%s", path);
        if (seen(b, key))
                return 0;
        _cleanup_close_ int fd = open_in_root(b, path);
        if (fd < 0)
                return fd;
        Elf *e = elf_begin(fd, ELF_C_READ, NULL);
        if (!e || elf_kind(e) != ELF_K_ELF) {
                if (e)
                        elf_end(e);
                return 0; /* a script or data: nothing to follow */
        }
        char *needed[256];
        size_t n_needed = 0;
        char runpath[1024] = "", interp[PATH_MAX] = "";
        size_t nph = 0;
        if (elf_getphdrnum(e, &nph) == 0)
                for (size_t i = 0; i < nph; i++) {
                        GElf_Phdr ph;
                        if (gelf_getphdr(e, (int) i, &ph) && ph.p_type == PT_INTERP && ph.p_filesz < sizeof interp &&
                            pread(fd, interp, ph.p_filesz, (off_t) ph.p_offset) == (ssize_t) ph.p_filesz)
                                interp[ph.p_filesz ? ph.p_filesz - 1 : 0] = 0;
                }
        Elf_Scn *scn = NULL;
        while ((scn = elf_nextscn(e, scn))) {
                GElf_Shdr sh;
                if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
                        continue;
                Elf_Data *data = elf_getdata(scn, NULL);
                for (size_t i = 0; data && sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
                        GElf_Dyn dyn;
                        if (!gelf_getdyn(data, (int) i, &dyn))
                                break;
                        const char *s = NULL;
                        if (dyn.d_tag == DT_NEEDED || dyn.d_tag == DT_RUNPATH || dyn.d_tag == DT_RPATH)
                                s = elf_strptr(e, sh.sh_link, dyn.d_un.d_val);
                        if (!s)
                                continue;
                        if (dyn.d_tag == DT_NEEDED && n_needed < ELEMENTSOF(needed))
                                needed[n_needed++] = strdup(s);
                        else if (dyn.d_tag != DT_NEEDED)
                                snprintf(runpath, sizeof runpath, "%s", s);
                }
        }
        elf_end(e);
        r = 0;
        if (*interp)
                r = stage_elf(b, interp, "ELF interpreter");
        for (size_t i = 0; i < n_needed; i++) {
                if (r >= 0 && needed[i])
                        r = stage_library(b, needed[i], runpath, path);
                free(needed[i]);
        }
        return r;
}

/* ---- kernel modules ---- */

static int stage_module(Build *b, struct kmod_module *m);

static int stage_module_list(Build *b, struct kmod_list *list) {
        struct kmod_list *it;
        int r = 0;
        kmod_list_foreach(it, list) {
                struct kmod_module *m = kmod_module_get_module(it);
                if (r >= 0)
                        r = stage_module(b, m);
                kmod_module_unref(m);
        }
        return r;
}

static int stage_module(Build *b, struct kmod_module *m) {
        const char *path = kmod_module_get_path(m);
        if (!path)
                return 0; /* built into the kernel */
        char key[PATH_MAX + 8];
        snprintf(key, sizeof key, "mod:%s", path);
        if (seen(b, key))
                return 0;
        size_t l = strlen(b->modules_dir);
        if (strncmp(path, b->modules_dir, l) != 0)
                return error_set(b->error, -EINVAL, "module %s lies outside %s", path, b->modules_dir);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return error_set(b->error, -errno, "cannot read module %s: %s", path, strerror(errno));
        char dest[PATH_MAX + 64];
        snprintf(dest, sizeof dest, "/usr/lib/modules/%s%s", b->spec->kver, path + l);
        int r = stage_fd(b, fd, dest, 0644);
        if (r < 0)
                return error_set(b->error, r, "cannot stage %s: %s", path, strerror(-r));
        b->rep.n_modules++;

        struct kmod_list *deps = kmod_module_get_dependencies(m);
        r = stage_module_list(b, deps);
        kmod_module_unref_list(deps);
        if (r < 0)
                return r;
        struct kmod_list *pre = NULL, *post = NULL;
        if (kmod_module_get_softdeps(m, &pre, &post) == 0) {
                /* pre: loaded before it (crc32c before libcrc32c users …) */
                r = stage_module_list(b, pre);
                kmod_module_unref_list(pre);
                kmod_module_unref_list(post);
        }
        return r;
}

static int stage_modules(Build *b) {
        const InitrdSpec *s = b->spec;
        if (!s->modules || !s->modules[0])
                return 0;
        if (s->modules_dir)
                snprintf(b->modules_dir, sizeof b->modules_dir, "%s", s->modules_dir);
        else {
                snprintf(b->modules_dir, sizeof b->modules_dir, "%s/usr/lib/modules/%s", s->root, s->kver);
                if (access(b->modules_dir, F_OK) < 0)
                        snprintf(b->modules_dir, sizeof b->modules_dir, "%s/lib/modules/%s", s->root, s->kver);
        }
        char real[PATH_MAX];
        if (!realpath(b->modules_dir, real))
                return error_set(b->error, -errno, "no kernel modules for %s in %s", s->kver, s->root);
        snprintf(b->modules_dir, sizeof b->modules_dir, "%s", real);
        struct kmod_ctx *ctx = kmod_new(b->modules_dir, NULL);
        if (!ctx)
                return -ENOMEM;
        kmod_set_log_priority(ctx, 0);
        int r = 0;
        for (const char *const *name = s->modules; r >= 0 && *name; name++) {
                struct kmod_list *list = NULL;
                const char *want = **name == '?' ? *name + 1 : *name;
                r = kmod_module_new_from_lookup(ctx, want, &list);
                if (r >= 0 && !list && want != *name)
                        r = 0; /* optional, and this kernel has no such module */
                else if (r >= 0 && !list)
                        r = error_set(b->error, -ENOENT, "kernel module %s is not known to kernel %s (%s)", *name,
                                      s->kver, b->modules_dir);
                else if (r < 0)
                        r = error_set(b->error, r, "looking up kernel module %s failed: %s", want, strerror(-r));
                else
                        r = stage_module_list(b, list);
                kmod_module_unref_list(list);
        }
        kmod_unref(ctx);
        if (r < 0)
                return r;
        /* the kernel's own lists, so modprobe knows what is built in */
        static const char *const lists[] = { "modules.order", "modules.builtin", "modules.builtin.modinfo", NULL };
        for (const char *const *f = lists; *f; f++) {
                char src[PATH_MAX + 64], dest[PATH_MAX];
                snprintf(src, sizeof src, "%s/%s", b->modules_dir, *f);
                _cleanup_close_ int fd = open(src, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                snprintf(dest, sizeof dest, "/usr/lib/modules/%s/%s", s->kver, *f);
                if ((r = stage_fd(b, fd, dest, 0644)) < 0)
                        return r;
        }
        /* indexes for exactly this set of modules */
        const char *argv[] = { "depmod", "-b", b->stage, s->kver, NULL };
        RunResult res = {};
        r = run(argv, &(RunOptions) { .ignore_dry_run = true }, &res);
        if (r < 0)
                error_set(b->error, r, "depmod for the initrd failed: %s", run_result_describe(&res));
        run_result_done(&res);
        return r;
}

/* ---- the archive ---- */

typedef struct Entry {
        char *path;
} Entry;

static Entry *entries;
static size_t n_entries, cap_entries;
static size_t stage_len;

static int collect(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        if (ftw->level == 0)
                return 0;
        if (n_entries == cap_entries) {
                size_t nc = cap_entries ? cap_entries * 2 : 256;
                Entry *n = realloc(entries, nc * sizeof(Entry));
                if (!n)
                        return -1;
                entries = n;
                cap_entries = nc;
        }
        entries[n_entries].path = strdup(path + stage_len + 1);
        return entries[n_entries++].path ? 0 : -1;
}

static int cmp_entry(const void *a, const void *b) {
        return strcmp(((const Entry *) a)->path, ((const Entry *) b)->path);
}

static int write_archive(Build *b, const char *out) {
        stage_len = strlen(b->stage);
        n_entries = 0;
        if (nftw(b->stage, collect, 32, FTW_PHYS) != 0)
                return -ENOMEM;
        qsort(entries, n_entries, sizeof(Entry), cmp_entry);

        struct archive *a = archive_write_new();
        if (!a)
                return -ENOMEM;
        int r = 0;
        if (archive_write_set_format_cpio_newc(a) != ARCHIVE_OK ||
            (b->spec->compress && (archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
                                   archive_write_set_filter_option(a, "zstd", "compression-level", "9") != ARCHIVE_OK)) ||
            archive_write_open_filename(a, out) != ARCHIVE_OK) {
                r = error_set(b->error, -EIO, "cannot write %s: %s", out, archive_error_string(a));
                goto done;
        }
        for (size_t i = 0; i < n_entries && r >= 0; i++) {
                char full[PATH_MAX + 64];
                snprintf(full, sizeof full, "%s/%s", b->stage, entries[i].path);
                struct stat st;
                if (lstat(full, &st) < 0) {
                        r = -errno;
                        break;
                }
                struct archive_entry *e = archive_entry_new();
                archive_entry_set_pathname(e, entries[i].path);
                archive_entry_set_uid(e, 0);
                archive_entry_set_gid(e, 0);
                archive_entry_set_mtime(e, b->spec->mtime, 0);
                archive_entry_set_ino(e, (la_int64_t) i + 1);
                archive_entry_set_dev(e, 0);
                archive_entry_set_nlink(e, S_ISDIR(st.st_mode) ? 2 : 1);
                archive_entry_set_perm(e, st.st_mode & 07777);
                archive_entry_set_size(e, 0);
                if (S_ISDIR(st.st_mode))
                        archive_entry_set_filetype(e, AE_IFDIR);
                else if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t k = readlink(full, target, sizeof target - 1);
                        target[k > 0 ? k : 0] = 0;
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_set_perm(e, 0777);
                        archive_entry_set_symlink(e, target);
                } else {
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_size(e, st.st_size);
                }
                if (archive_write_header(a, e) != ARCHIVE_OK)
                        r = error_set(b->error, -EIO, "cpio: %s: %s", entries[i].path, archive_error_string(a));
                if (r >= 0 && S_ISREG(st.st_mode)) {
                        _cleanup_close_ int fd = open(full, O_RDONLY | O_CLOEXEC);
                        char buf[1 << 16];
                        ssize_t k;
                        while (fd >= 0 && (k = read(fd, buf, sizeof buf)) > 0)
                                if (archive_write_data(a, buf, k) != k) {
                                        r = error_set(b->error, -EIO, "cpio: %s", archive_error_string(a));
                                        break;
                                }
                }
                archive_entry_free(e);
        }
        if (archive_write_close(a) != ARCHIVE_OK && r >= 0)
                r = error_set(b->error, -EIO, "cannot finish %s: %s", out, archive_error_string(a));
done:
        archive_write_free(a);
        for (size_t i = 0; i < n_entries; i++)
                free(entries[i].path);
        free(entries);
        entries = NULL;
        n_entries = cap_entries = 0;
        return r;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path);
}

int initrd_build(const InitrdSpec *s, const char *out, InitrdReport *report, char **error) {
        Build b = { .spec = s, .error = error };
        if (elf_version(EV_CURRENT) == EV_NONE)
                return -EIO;
        b.rootfd = open(s->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (b.rootfd < 0)
                return error_set(error, -errno, "cannot open the root tree %s: %s", s->root, strerror(errno));
        snprintf(b.stage, sizeof b.stage, "/tmp/keystone-initrd-XXXXXX");
        if (!mkdtemp(b.stage)) {
                close(b.rootfd);
                return -errno;
        }
        int r = 0;
        /* the skeleton, merged /usr like the system it boots */
        static const char *const dirs[] = { "dev", "proc", "sys", "run", "tmp", "etc", "sysroot", "usr",
                                            "usr/bin", "usr/sbin", "usr/lib", "usr/lib64", NULL };
        for (const char *const *d = dirs; *d && r >= 0; d++) {
                char p[PATH_MAX];
                snprintf(p, sizeof p, "%s/%s", b.stage, *d);
                if (mkdir(p, 0755) < 0)
                        r = -errno;
        }
        static const char *const links[][2] = { { "bin", "usr/bin" }, { "sbin", "usr/sbin" },
                                                { "lib", "usr/lib" }, { "lib64", "usr/lib64" } };
        for (size_t i = 0; i < ELEMENTSOF(links) && r >= 0; i++) {
                char p[PATH_MAX];
                snprintf(p, sizeof p, "%s/%s", b.stage, links[i][0]);
                if (symlink(links[i][1], p) < 0)
                        r = -errno;
        }
        if (r >= 0 && s->init) {
                _cleanup_close_ int fd = open(s->init, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        r = error_set(error, -errno, "cannot read the init program %s: %s", s->init, strerror(errno));
                else
                        r = stage_fd(&b, fd, "/init", 0755);
        }
        for (const char *const *p = s->programs; r >= 0 && p && *p; p++) {
                r = stage_elf(&b, *p, "program");
                b.rep.n_programs++;
        }
        for (const char *const *f = s->files; r >= 0 && f && *f; f++) {
                r = stage_from_root(&b, *f, "file");
                b.rep.n_files++;
        }
        for (size_t i = 0; r >= 0 && i < s->n_data; i++) {
                r = stage_data(&b, &s->data[i]);
                b.rep.n_files++;
        }
        if (r >= 0)
                r = stage_modules(&b);
        if (r >= 0)
                r = write_archive(&b, out);
        if (r >= 0) {
                struct stat st;
                b.rep.bytes = stat(out, &st) == 0 ? (uint64_t) st.st_size : 0;
                if (report)
                        *report = b.rep;
        } else if (error && !*error)
                error_set(error, r, "building the initrd failed: %s", strerror(-r));
        nftw(b.stage, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
        for (size_t i = 0; i < b.n_seen; i++)
                free(b.seen[i]);
        close(b.rootfd);
        return r;
}

int initrd_report_write(const InitrdReport *rep, const char *path) {
        _cleanup_free_ char *text = NULL;
        int n = asprintf(&text, "modules %zu\nprograms %zu\nlibraries %zu\nfiles %zu\nbytes %llu\nuncompressed %llu\n",
                         rep->n_modules, rep->n_programs, rep->n_libraries, rep->n_files,
                         (unsigned long long) rep->bytes, (unsigned long long) rep->uncompressed_bytes);
        if (n < 0)
                return -ENOMEM;
        (void) unlink(path);
        return write_file_bytes_excl(path, text, (size_t) n, 0644);
}

int initrd_cpio_memory(const InitrdData *items, size_t n, uint8_t **ret, size_t *ret_size) {
        size_t cap = 4096, used = 0;
        for (size_t i = 0; i < n; i++)
                cap += 512 + strlen(items[i].path) + items[i].size;
        uint8_t *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        struct archive *a = archive_write_new();
        int r = -EIO;
        if (!a || archive_write_set_format_cpio_newc(a) != ARCHIVE_OK ||
            archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
            archive_write_open_memory(a, buf, cap, &used) != ARCHIVE_OK)
                goto out;
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();
                if (!e)
                        goto out;
                bool file = items[i].mode != 0;
                archive_entry_set_pathname(e, items[i].path);
                archive_entry_set_filetype(e, file ? AE_IFREG : AE_IFDIR);
                archive_entry_set_perm(e, file ? items[i].mode : 0755);
                archive_entry_set_size(e, file ? (la_int64_t) items[i].size : 0);
                bool ok = archive_write_header(a, e) == ARCHIVE_OK &&
                          (!file || archive_write_data(a, items[i].data, items[i].size) ==
                                            (la_ssize_t) items[i].size);
                archive_entry_free(e);
                if (!ok)
                        goto out;
        }
        if (archive_write_close(a) != ARCHIVE_OK)
                goto out;
        *ret = buf;
        *ret_size = used;
        buf = NULL;
        r = 0;
out:
        if (a)
                archive_write_free(a);
        if (buf) {
                explicit_bzero(buf, cap);
                free(buf);
        }
        return r;
}

int initrd_write_prefixed(const char *base_path, const InitrdData *items, size_t n, const char *out,
                          char **error) {
        uint8_t *base = NULL, *first = NULL;
        size_t base_size = 0, first_size = 0;
        int r = read_file_bytes(base_path, 1ULL << 30, &base, &base_size);
        if (r < 0)
                return error_set(error, r, "cannot read %s: %s", base_path, strerror(-r));
        if ((r = initrd_cpio_memory(items, n, &first, &first_size)) < 0) {
                free(base);
                return error_set(error, r, "cannot write the per-machine cpio for %s: %s", out, strerror(-r));
        }
        /* the second archive starts 4-byte aligned; the kernel skips the NULs */
        size_t pad = (4 - first_size % 4) % 4, total = first_size + pad + base_size;
        uint8_t *all = malloc(total);
        if (all) {
                memcpy(all, first, first_size);
                memset(all + first_size, 0, pad);
                memcpy(all + first_size + pad, base, base_size);
                (void) unlink(out);
                r = write_file_bytes_excl(out, all, total, 0600);
                explicit_bzero(all, first_size);
        } else
                r = -ENOMEM;
        free(all);
        free(base);
        explicit_bzero(first, first_size);
        free(first);
        if (r < 0)
                return error_set(error, r, "cannot write %s: %s", out, strerror(-r));
        return 0;
}
