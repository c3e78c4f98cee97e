/* SPDX-License-Identifier: MIT */
/* The two cached stages of an image: rootfs (mmdebstrap) and disk
 * (rootfs + generated files → ext4 image, kernel, initrd, cmdline). */
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "image/cache.h"
#include "image/etc.h"
#include "image/image.h"
#include "image/keystone-deb.h"
#include "image/lock.h"
#include "image/apt-archive.h"
#include "util/clock.h"
#include "util/error-message.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/progress.h"
#include "util/run.h"
#include "util/spawn.h"

/* Bump when a stage's recipe changes in a way its inputs text does not show. */
#define ROOTFS_RECIPE "keystone-rootfs 2"
#define DISK_RECIPE "keystone-disk 3"
#define DISK_SIZE "2G"

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void names_free(char **v) {
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

int image_package_names(const ImageSpec *s, char ***ret) {
        const char *kernel = image_kernel_package(s->kernel_flavour);
        if (!kernel)
                return -EINVAL;
        const char **all = calloc(s->n_system_packages + s->n_packages + 6, sizeof(char *));
        if (!all)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < s->n_system_packages; i++)
                all[k++] = s->system_packages[i];
        all[k++] = kernel;
        for (size_t i = 0; i < s->n_packages; i++)
                all[k++] = s->packages[i];
        /* the tools only: the modules come from the zfs stage, so the image
         * carries no compiler, headers or dkms */
        if (s->zfs)
                all[k++] = "zfsutils-linux";
        /* an installed system (the disk layout): systemd-boot and the UKI
         * stub come from the generation's own pinned packages, and the swap
         * line of crypttab needs systemd-cryptsetup (its own package since
         * trixie) */
        if (s->n_datasets > 0) {
                all[k++] = "systemd-boot-efi";
                all[k++] = "systemd-cryptsetup";
        }
        /* a time zone other than UTC needs the tz database (glibc's
         * fallback without /usr/share/zoneinfo is UTC) */
        if (s->time_zone && !streq(s->time_zone, "UTC") && !streq(s->time_zone, "Etc/UTC"))
                all[k++] = "tzdata";
        qsort(all, k, sizeof(char *), cmp_str);
        char **out = calloc(k + 1, sizeof(char *));
        if (!out) {
                free(all);
                return -ENOMEM;
        }
        size_t w = 0;
        for (size_t i = 0; i < k; i++) {
                if (i > 0 && streq(all[i], all[i - 1]))
                        continue;
                if (!(out[w++] = strdup(all[i]))) {
                        free(all);
                        names_free(out);
                        return -ENOMEM;
                }
        }
        free(all);
        *ret = out;
        return 0;
}

/* role packages + kernel + extras, sorted, without duplicates, comma-joined;
 * NAME=VERSION when the spec is locked */
static int package_list(const ImageSpec *s, char **ret) {
        char **names = NULL;
        int r = image_package_names(s, &names);
        if (r < 0)
                return r;
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f) {
                names_free(names);
                return -ENOMEM;
        }
        for (size_t i = 0; names[i]; i++) {
                fprintf(f, "%s%s", i ? "," : "", names[i]);
                if (s->lock) {
                        const char *v = image_lock_version(s->lock, names[i]);
                        if (!v)
                                r = -ENOPKG;
                        else
                                fprintf(f, "=%s", v);
                }
        }
        fclose(f);
        names_free(names);
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        return 0;
}

/* The canonical text of a lock's packages, for the rootfs key: a re-lock
 * that moves only an Essential package still makes a new rootfs. */
static int lock_digest(const ImageLock *l, char out[static 65]) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "%s\n%s\n%s\n", l->suite, l->mirror, l->components);
        for (size_t i = 0; i < l->n_packages; i++)
                fprintf(f, "%s=%s\n", l->packages[i].name, l->packages[i].version);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        int r = cache_sha256_hex(buf, size, out);
        free(buf);
        return r;
}

/* The hook that makes the rootfs reproducible: no host keys baked in. */
static const char customize_hook[] = "rm -f \"$1\"/etc/ssh/ssh_host_*";

/* Until Keystone's own initrd exists, the rootfs's initramfs-tools makes
 * it; MODULES=most (the default) gives 18 MB that take ~12 s to unpack and
 * probe under TCG.  Only what a virtio disk with ext4 needs: written in an
 * essential hook, before the kernel package runs update-initramfs. */
static const char initramfs_conf[] =
        "# Generated by Keystone: a small initrd for a virtio disk with ext4.\n"
        "MODULES=list\n";
static const char initramfs_hook[] =
        "#!/bin/sh\n"
        "# Generated by Keystone: the modules the root file system needs.\n"
        "[ \"$1\" = prereqs ] && exit 0\n"
        ". /usr/share/initramfs-tools/hook-functions\n"
        "manual_add_modules virtio_pci virtio_blk virtio_scsi sd_mod ext4 crc32c_generic\n";

int image_rootfs_inputs(const ImageSpec *s, char **ret) {
        _cleanup_free_ char *pkgs = NULL;
        int r = package_list(s, &pkgs);
        if (r < 0)
                return r;
        if (asprintf(ret,
                     "%s\nsuite=%s\nmirror=%s\ncomponents=main,contrib\nvariant=apt\n"
                     "source_date_epoch=%llu\npackages=%s\ncustomize_hook=%s\n"
                     "initramfs_conf:\n%sinitramfs_hook:\n%s",
                     ROOTFS_RECIPE, s->suite, s->mirror, (unsigned long long) s->source_date_epoch, pkgs,
                     customize_hook, initramfs_conf, initramfs_hook) < 0)
                return -ENOMEM;
        if (s->lock) {
                /* only locked specs say so: an unlocked spec's key stays what it was */
                char digest[65];
                char *more = NULL;
                if ((r = lock_digest(s->lock, digest)) < 0 || asprintf(&more, "%slock=%s\n", *ret, digest) < 0) {
                        free(*ret);
                        *ret = NULL;
                        return r < 0 ? r : -ENOMEM;
                }
                free(*ret);
                *ret = more;
        }
        return 0;
}

/* The first line of PATH into buf (cut at size - 1 bytes). */
static int read_text(const char *path, char *buf, size_t size) {
        _cleanup_free_ char *line = NULL;
        int r = read_first_line(path, &line);
        if (r < 0)
                return r;
        snprintf(buf, size, "%s", line);
        return 0;
}

/* mmdebstrap → rootfs-<hash>.tmp, renamed into place when complete. */
static int rootfs_build(const ImageSpec *s, const char *pkgs, const char *inputs, ImageArtifacts *a) {
        int r;
        double t0 = monotonic_seconds();
        char tmp[PATH_MAX];
        PATHF(tmp, "%s.tmp", a->rootfs_dir);
        (void) cache_rm_rf(tmp);
        if (mkdir(tmp, 0755) < 0)
                return -errno;
        char tar[PATH_MAX + 16], inc[8192], epoch[64], comps[] = "--components=main,contrib";
        PATHF(tar, "%s/rootfs.tar", tmp);
        snprintf(inc, sizeof inc, "--include=%s", pkgs);
        snprintf(epoch, sizeof epoch, "SOURCE_DATE_EPOCH=%llu", (unsigned long long) s->source_date_epoch);
        char hook[256], conf[PATH_MAX + 16], ihook[PATH_MAX + 16], up1[PATH_MAX + 96], up2[PATH_MAX + 96];
        snprintf(hook, sizeof hook, "--customize-hook=%s", customize_hook);
        PATHF(conf, "%s/initramfs-keystone.conf", tmp);
        PATHF(ihook, "%s/initramfs-keystone-hook", tmp);
        if ((r = cache_write_text(conf, initramfs_conf)) < 0 || (r = cache_write_text(ihook, initramfs_hook)) < 0)
                return r;
        PATHF(up1, "--essential-hook=upload %s /etc/initramfs-tools/conf.d/keystone.conf", conf);
        PATHF(up2, "--essential-hook=upload %s /etc/initramfs-tools/hooks/keystone", ihook);
        const char *argv[] = { "mmdebstrap", "--variant=apt", comps, inc,
                               "--essential-hook=mkdir -p \"$1/etc/initramfs-tools/conf.d\" "
                               "\"$1/etc/initramfs-tools/hooks\"",
                               up1, up2, "--essential-hook=chmod 0755 \"$1/etc/initramfs-tools/hooks/keystone\"",
                               hook, s->suite, tar, s->mirror, NULL };
        char *env[] = { epoch, NULL };
        RunResult res = {};
        r = run(argv, &(RunOptions) { .env_extra = env, .timeout_ms = 30 * 60 * 1000 }, &res);
        (void) cache_save_log(tmp, "build.log", &res);
        run_result_done(&res);
        if (r < 0)
                return log_debug_errno(r, "mmdebstrap failed, see %s/build.log: %m", tmp);
        if ((r = cache_commit(tmp, a->rootfs_dir, inputs)) < 0)
                return r;
        a->rootfs_built = true;
        a->rootfs_seconds = monotonic_seconds() - t0;
        return 0;
}

static int stage_rootfs(const ImageSpec *s, const char *cache, ImageArtifacts *a) {
        _cleanup_free_ char *inputs = NULL, *pkgs = NULL;
        int r = image_rootfs_inputs(s, &inputs);
        if (r < 0)
                return r;
        r = package_list(s, &pkgs);
        if (r < 0)
                return r;
        if ((r = cache_sha256_hex(inputs, strlen(inputs), a->rootfs_hash)) < 0)
                return r;
        PATHF(a->rootfs_dir, "%s/rootfs-%s", cache, a->rootfs_hash);
        PATHF(a->rootfs_tar, "%s/rootfs.tar", a->rootfs_dir);
        _cleanup_close_ int lock = cache_lock(cache, "rootfs", a->rootfs_hash);
        if (lock < 0)
                return lock;
        if (access(a->rootfs_tar, R_OK) == 0) {
                progress_cached("rootfs");
                return 0;
        }
        progress_begin("rootfs");
        r = rootfs_build(s, pkgs, inputs, a);
        progress_end("rootfs", r);
        return r;
}

/* The rootfs's kernel version: the one directory under usr/lib/modules/
 * in the tar, remembered next to it in kernel-version. */
int image_rootfs_kernel_version(ImageArtifacts *a) {
        char p[PATH_MAX + 32];
        PATHF(p, "%s/kernel-version", a->rootfs_dir);
        if (read_text(p, a->kernel_version, sizeof a->kernel_version) == 0 && a->kernel_version[0])
                return 0;
        const char *argv[] = { "tar", "-tf", a->rootfs_tar, NULL };
        RunResult res = {};
        int r = run(argv, NULL, &res);
        if (r < 0) {
                run_result_done(&res);
                return r;
        }
        r = -ENOENT;
        char *save = NULL;
        for (char *l = strtok_r(res.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                const char *v = startswith(l, "./usr/lib/modules/");
                if (!v || !*v)
                        continue;
                size_t n = strcspn(v, "/");
                if (v[n] != '/' || v[n + 1] != 0 || n >= sizeof a->kernel_version)
                        continue;
                snprintf(a->kernel_version, sizeof a->kernel_version, "%.*s", (int) n, v);
                r = 0;
                break;
        }
        run_result_done(&res);
        if (r < 0)
                return r;
        char line[sizeof a->kernel_version + 1];
        snprintf(line, sizeof line, "%s\n", a->kernel_version);
        (void) cache_write_text(p, line);
        return 0;
}

/* The ZFS builder stage: zfs-dkms compiled by dkms for the image's exact
 * kernel inside a throwaway chroot (mmdebstrap's null format); tar-out
 * keeps only usr/lib/modules/<kver>/updates.  It needs only the kernel
 * version, so it starts first, as a background mmdebstrap, and runs while
 * the .deb and the rootfs are made; image_build() joins it before anything
 * uses the modules. */
#define ZFS_RECIPE "keystone-zfs 1"
#define ZFS_TIMEOUT_SECONDS (60 * 60)

typedef struct ZfsJob {
        int lock_fd;
        pid_t pid;              /* > 0: the module build runs */
        char dir[PATH_MAX], tmp[PATH_MAX], log[PATH_MAX + 16];
        char *inputs;
        double t0;
        off_t log_offset;       /* how far the log has been read */
        char tail[32];          /* the end of what was read: a marker may straddle two reads */
        char root[PATH_MAX];    /* the builder chroot, once the log names it */
        int phase;              /* index into zfs_phases */
        char *error;            /* what failed (malloc'd), for image_build()'s *ret_error */
} ZfsJob;

/* The steps of the module build.  dkms prints little while it works, so
 * a step's end is seen in the builder chroot (mmdebstrap's tempdir, named
 * in its log) or, failing that, in the log (mmdebstrap --verbose passes
 * dpkg's and dkms's output through): the packages are downloaded and
 * installed, then dkms runs zfs's pre_build script (./configure: it writes
 * config.log first and config.status last) and builds the modules (make),
 * then tar-out copies them. */
static const struct {
        const char *name;
        const char *ends_with_file;     /* a glob under the chroot, or NULL */
        const char *ends_in_log;
} zfs_phases[] = {
        { "ZFS modules: packages", "var/lib/dkms/zfs/*/build/config.log", "pre_build" },
        { "ZFS modules: configure", "var/lib/dkms/zfs/*/build/config.status", "Building module" },
        { "ZFS modules: compile", NULL, "running special hook: tar-out" },
};

static bool zfs_phase_ended(const ZfsJob *j, size_t q, const char *logtext) {
        if (strstr(logtext, zfs_phases[q].ends_in_log))
                return true;
        if (!j->root[0] || !zfs_phases[q].ends_with_file)
                return false;
        char pattern[PATH_MAX + 64];
        if (snprintf(pattern, sizeof pattern, "%s/%s", j->root, zfs_phases[q].ends_with_file) >= (int) sizeof pattern)
                return false;
        glob_t g = {};
        bool found = glob(pattern, GLOB_NOSORT, NULL, &g) == 0 && g.gl_pathc > 0;
        globfree(&g);
        return found;
}

/* The image's kernel version from the lock: the kernel package the
 * flavour's metapackage depends on, linux-image-<kver> (its name ends in
 * the metapackage's flavour, "-cloud-amd64"), without the -unsigned twin. */
static int kernel_version_from_lock(const ImageSpec *s, char *out, size_t size) {
        const char *meta = image_kernel_package(s->kernel_flavour), *flavour;
        if (!meta || !(flavour = startswith(meta, "linux-image-")))
                return -EINVAL;
        int r = -ENOENT;
        for (size_t i = 0; i < s->lock->n_packages; i++) {
                const char *v = startswith(s->lock->packages[i].name, "linux-image-");
                size_t n = v ? strlen(v) : 0, fl = strlen(flavour);
                if (!v || !(*v >= '0' && *v <= '9') || n <= fl + 1 || v[n - fl - 1] != '-' ||
                    !streq(v + n - fl, flavour))
                        continue;
                if (r == 0)
                        return -ENOTUNIQ; /* two kernels: which one boots is not for us to guess */
                if (snprintf(out, size, "%s", v) >= (int) size)
                        return -ENAMETOOLONG;
                r = 0;
        }
        return r;
}

/* The module build's pid (and process group) while it runs, for
 * image_build_stop_from_signal(). */
static volatile sig_atomic_t zfs_running_pid;

void image_build_stop_from_signal(void) {
        if (zfs_running_pid > 0)
                (void) kill(-(pid_t) zfs_running_pid, SIGTERM);
}

static void zfs_job_done(ZfsJob *j) {
        zfs_running_pid = 0;
        if (j->pid > 0) {
                (void) spawn_stop_group(j->pid, 10 * 1000);
                progress_end(zfs_phases[j->phase].name, -ECANCELED);
        }
        j->pid = 0;
        if (j->lock_fd >= 0)
                close(j->lock_fd);
        j->lock_fd = -EBADF;
        free(j->inputs);
        j->inputs = NULL;
        free(j->error);
        j->error = NULL;
}

/* Finds the modules of kver in the cache (a->zfs_tar set, nothing runs) or
 * starts their build in the background (j->pid). */
static int zfs_start(const ImageSpec *s, const char *cache, const char *kver, ImageArtifacts *a, ZfsJob *j) {
        *j = (ZfsJob) { .lock_fd = -EBADF };
        if (asprintf(&j->inputs, "%s\nsuite=%s\nmirror=%s\ncomponents=main,contrib\nsource_date_epoch=%llu\n"
                                 "kernel=%s\npackages=linux-image-%s,linux-headers-%s,zfs-dkms\n",
                     ZFS_RECIPE, s->suite, s->mirror, (unsigned long long) s->source_date_epoch, kver, kver,
                     kver) < 0) {
                j->inputs = NULL;
                return -ENOMEM;
        }
        int r = cache_sha256_hex(j->inputs, strlen(j->inputs), a->zfs_hash);
        if (r < 0)
                return r;
        PATHF(j->dir, "%s/zfs-%s", cache, a->zfs_hash);
        PATHF(a->zfs_tar, "%s/modules.tar", j->dir);
        if ((j->lock_fd = cache_lock(cache, "zfs", a->zfs_hash)) < 0)
                return j->lock_fd;
        if (access(a->zfs_tar, R_OK) == 0) {
                progress_cached("ZFS modules");
                return 0;
        }

        char tar[PATH_MAX + 16], inc[1024], epoch[64], out[PATH_MAX + 96];
        PATHF(j->tmp, "%s.tmp", j->dir);
        PATHF(j->log, "%s/build.log", j->tmp);
        (void) cache_rm_rf(j->tmp);
        if (mkdir(j->tmp, 0755) < 0)
                return -errno;
        PATHF(tar, "%s/modules.tar", j->tmp);
        snprintf(inc, sizeof inc, "--include=linux-image-%s,linux-headers-%s,zfs-dkms", kver, kver);
        PATHF(out, "--customize-hook=tar-out /usr/lib/modules/%s/updates %s", kver, tar);
        snprintf(epoch, sizeof epoch, "SOURCE_DATE_EPOCH=%llu", (unsigned long long) s->source_date_epoch);
        const char *argv[] = { "mmdebstrap", "--verbose", "--variant=apt", "--components=main,contrib", inc, out,
                               "--format=null", s->suite, "/dev/null", s->mirror, NULL };
        char *env[] = { epoch, NULL };
        j->t0 = monotonic_seconds();
        /* a process group of its own: ended as one (mmdebstrap alone
         * waits for dpkg, and dpkg for dkms's make) */
        r = spawn_background(argv, &(SpawnOptions) { .log_path = j->log, .env_extra = env, .process_group = true },
                             &j->pid);
        if (r >= 0)
                zfs_running_pid = j->pid;
        if (r < 0) {
                return error_set(&j->error, r, "cannot start mmdebstrap for the ZFS modules: %s", strerror(-r));
        }
        progress_begin(zfs_phases[0].name);
        return 0;
}

/* Reads what the build has logged since the last call and moves on to
 * the step it is in. */
static void zfs_follow_log(ZfsJob *j) {
        _cleanup_close_ int fd = open(j->log, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        char buf[65536 + sizeof j->tail];
        for (bool more = true; more;) {
                size_t keep = strlen(j->tail);
                memcpy(buf, j->tail, keep);
                ssize_t k = pread(fd, buf + keep, 65536, j->log_offset);
                more = k > 0;
                if (k < 0)
                        k = 0;
                j->log_offset += k;
                size_t n = keep + (size_t) k;
                buf[n] = 0;
                /* NULs in the log would hide markers from strstr */
                for (size_t i = 0; i < n; i++)
                        if (!buf[i])
                                buf[i] = ' ';
                /* "I: using /tmp/mmdebstrap.XXXX as tempdir" */
                const char *u = j->root[0] ? NULL : strstr(buf, "I: using ");
                const char *e = u ? strstr(u, " as tempdir") : NULL;
                if (e && e - u - 9 < (ptrdiff_t) sizeof j->root && !memchr(u, '\n', (size_t) (e - u)))
                        snprintf(j->root, sizeof j->root, "%.*s", (int) (e - u - 9), u + 9);
                /* the last step that has ended (not every step shows its end) */
                for (size_t q = ELEMENTSOF(zfs_phases) - 1; q-- > (size_t) j->phase;)
                        if (zfs_phase_ended(j, q, buf)) {
                                for (size_t p = (size_t) j->phase; p <= q; p++) {
                                        progress_end(zfs_phases[p].name, 0);
                                        progress_begin(zfs_phases[p + 1].name);
                                }
                                j->phase = (int) q + 1;
                                break;
                        }
                size_t t = n < sizeof j->tail - 1 ? n : sizeof j->tail - 1;
                memmove(j->tail, buf + n - t, t);
                j->tail[t] = 0;
        }
}

/* Between other stages: a build that already failed stops the image now. */
static int zfs_check(ZfsJob *j) {
        if (j->pid <= 0)
                return 0;
        zfs_follow_log(j);
        int status;
        int r = spawn_poll(j->pid, &status);
        if (r <= 0)
                return r;
        j->pid = 0;
        zfs_running_pid = 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                j->pid = -1; /* ended well: zfs_join() finishes it */
                return 0;
        }
        progress_end(zfs_phases[j->phase].name, -EPROTO);
        return error_set(&j->error, -EPROTO, "the ZFS module build (mmdebstrap, dkms) %s %d during \"%s\": see %s",
                         WIFEXITED(status) ? "exited with status" : "was killed by signal",
                         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), zfs_phases[j->phase].name,
                         j->log);
}

/* Waits for the module build, checks that dkms really built zfs.ko and
 * spl.ko, and puts the result in place. */
static int zfs_join(ZfsJob *j, ImageArtifacts *a) {
        int r;
        while (j->pid > 0) {
                if ((r = zfs_check(j)) < 0)
                        return r;
                if (j->pid <= 0)
                        break;
                if (monotonic_seconds() - j->t0 > ZFS_TIMEOUT_SECONDS) {
                        zfs_running_pid = 0;
                        (void) spawn_stop_group(j->pid, 10 * 1000);
                        j->pid = 0;
                        progress_end(zfs_phases[j->phase].name, -ETIMEDOUT);
                        return error_set(&j->error, -ETIMEDOUT, "the ZFS module build took more than %d min: see %s",
                                         ZFS_TIMEOUT_SECONDS / 60, j->log);
                }
                progress_tick();
                usleep(500 * 1000);
        }
        if (j->pid == 0) /* found in the cache */
                return 0;
        j->pid = 0;
        zfs_follow_log(j);
        char tar[PATH_MAX + 16];
        PATHF(tar, "%s/modules.tar", j->tmp);
        const char *list[] = { "tar", "-tf", tar, NULL };
        RunResult lr = {};
        r = run(list, NULL, &lr);
        bool ok = r == 0 && strstr(lr.out, "zfs.ko") && strstr(lr.out, "spl.ko");
        run_result_done(&lr);
        progress_end(zfs_phases[j->phase].name, ok ? 0 : -ENOENT);
        if (!ok) {
                return error_set(&j->error, -ENOENT, "the ZFS module build made no zfs.ko/spl.ko in %s: see %s", tar,
                                 j->log);
        }
        if ((r = cache_commit(j->tmp, j->dir, j->inputs)) < 0)
                return r;
        a->zfs_built = true;
        a->zfs_seconds = monotonic_seconds() - j->t0;
        return 0;
}

/* The first file in dir whose name starts with prefix (sorted: the newest
 * kernel version sorts last, so take the last). */
static int find_prefixed(const char *dir, const char *prefix, char *out, size_t size) {
        struct dirent **list = NULL;
        int n = scandir(dir, &list, NULL, alphasort);
        if (n < 0)
                return -errno;
        int r = -ENOENT;
        for (int i = 0; i < n; i++) {
                if (startswith(list[i]->d_name, prefix)) {
                        snprintf(out, size, "%s/%s", dir, list[i]->d_name);
                        r = 0;
                }
                free(list[i]);
        }
        free(list);
        return r;
}

static void uuid_from_hash(const char *hex, char out[static 37]) {
        /* a version-4-shaped UUID from the first 32 hex digits */
        char h[33];
        memcpy(h, hex, 32);
        h[32] = 0;
        h[12] = '4';
        h[16] = "89ab"[strtol((char[]) { h[16], 0 }, NULL, 16) & 3];
        snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static int copy_out(const char *from, const char *to) {
        const char *argv[] = { "cp", "--", from, to, NULL };
        return run(argv, NULL, NULL);
}

static int stage_disk(const ImageSpec *s, const char *cache, ImageArtifacts *a) {
        char seed[256], seedhash[65], uuid[37];
        snprintf(seed, sizeof seed, "keystone-root-uuid\n%s\n%s\n", a->rootfs_hash, s->hostname);
        int r = cache_sha256_hex(seed, strlen(seed), seedhash);
        if (r < 0)
                return r;
        uuid_from_hash(seedhash, uuid);

        GenList gen = {};
        _cleanup_free_ char *gtext = NULL, *inputs = NULL;
        r = image_etc_generate(s, uuid, &gen);
        if (r >= 0)
                r = gen_list_serialize(&gen, &gtext);
        if (r < 0) {
                gen_list_done(&gen);
                return r;
        }
        snprintf(a->cmdline, sizeof a->cmdline,
                 "root=UUID=%s rw console=ttyS0,115200 systemd.firstboot=off", uuid);
        if (asprintf(&inputs, "%s\nrootfs=%s\nzfs=%s\nkeystone=%s\nsize=%s\nuuid=%s\ncmdline=%s\nfiles:\n%s",
                     DISK_RECIPE, a->rootfs_hash, s->zfs ? a->zfs_hash : "none", a->keystone_hash, DISK_SIZE, uuid,
                     a->cmdline, gtext) < 0) {
                gen_list_done(&gen);
                return -ENOMEM;
        }
        if ((r = cache_sha256_hex(inputs, strlen(inputs), a->disk_hash)) < 0) {
                gen_list_done(&gen);
                return r;
        }
        PATHF(a->disk_dir, "%s/disk-%s", cache, a->disk_hash);
        PATHF(a->disk, "%s/root.img", a->disk_dir);
        PATHF(a->kernel, "%s/vmlinuz", a->disk_dir);
        PATHF(a->initrd, "%s/initrd.img", a->disk_dir);

        _cleanup_close_ int lock = cache_lock(cache, "disk", a->disk_hash);
        if (lock < 0) {
                gen_list_done(&gen);
                return lock;
        }
        if (access(a->disk, R_OK) == 0) {
                gen_list_done(&gen);
                progress_cached("disk image");
                return 0;
        }
        progress_begin("disk image");

        double t0 = monotonic_seconds();
        char tmp[PATH_MAX], root[PATH_MAX + 8], img[PATH_MAX + 16], p[PATH_MAX + 32];
        PATHF(tmp, "%s.tmp", a->disk_dir);
        PATHF(root, "%s/root", tmp);
        PATHF(img, "%s/root.img", tmp);
        (void) cache_rm_rf(tmp);
        if (mkdir(tmp, 0755) < 0 || mkdir(root, 0755) < 0) {
                gen_list_done(&gen);
                return -errno;
        }
        const char *untar[] = { "tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf",
                                a->rootfs_tar, "-C", root, NULL };
        r = run(untar, NULL, NULL);
        if (r >= 0 && s->zfs) {
                /* the modules from the ZFS stage (the tar holds
                 * updates/dkms/{zfs,spl}.ko.xz), and depmod so modprobe finds them */
                char moddir[PATH_MAX + 200];
                if (snprintf(moddir, sizeof moddir, "%s/usr/lib/modules/%s", root, a->kernel_version) >=
                    (int) sizeof moddir)
                        r = -ENAMETOOLONG;
                const char *untar_zfs[] = { "tar", "--numeric-owner", "-xpf", a->zfs_tar, "-C", moddir, NULL };
                const char *depmod[] = { "depmod", "-b", root, a->kernel_version, NULL };
                if (r >= 0)
                        r = run(untar_zfs, NULL, NULL);
                if (r >= 0)
                        r = run(depmod, NULL, NULL);
        }
        if (r >= 0)
                r = gen_list_apply(&gen, root, (time_t) s->source_date_epoch);
        gen_list_done(&gen);
        if (r >= 0)
                r = keystone_deb_install(root, a->keystone_deb);
        if (r < 0)
                return r;

        char boot[PATH_MAX + 8], k[PATH_MAX + 300], i[PATH_MAX + 300];
        PATHF(boot, "%s/boot", root);
        if ((r = find_prefixed(boot, "vmlinuz-", k, sizeof k)) < 0 ||
            (r = find_prefixed(boot, "initrd.img-", i, sizeof i)) < 0)
                return log_debug_errno(r, "No kernel or initrd in %s: %m", boot);
        PATHF(p, "%s/vmlinuz", tmp);
        if ((r = copy_out(k, p)) < 0)
                return r;
        PATHF(p, "%s/initrd.img", tmp);
        if ((r = copy_out(i, p)) < 0)
                return r;

        char eopt[256], epoch[64];
        snprintf(eopt, sizeof eopt, "root_owner=0:0,hash_seed=%s", uuid);
        snprintf(epoch, sizeof epoch, "E2FSPROGS_FAKE_TIME=%llu", (unsigned long long) s->source_date_epoch);
        const char *mkfs[] = { "mkfs.ext4", "-q", "-F", "-L", "keystone-root", "-U", uuid, "-E", eopt,
                               "-d", root, img, DISK_SIZE, NULL };
        char *env[] = { epoch, NULL };
        RunResult res = {};
        r = run(mkfs, &(RunOptions) { .env_extra = env }, &res);
        (void) cache_save_log(tmp, "mkfs.log", &res);
        run_result_done(&res);
        if (r < 0)
                return r;
        if ((r = cache_rm_rf(root)) < 0)
                return r;
        snprintf(p, sizeof p, "%s/cmdline", tmp);
        if ((r = cache_write_text(p, a->cmdline)) < 0)
                return r;
        if ((r = cache_commit(tmp, a->disk_dir, inputs)) < 0)
                return r;
        a->disk_built = true;
        a->disk_seconds = monotonic_seconds() - t0;
        return 0;
}

/* Every package the spec names has a locked version. */
static int lock_covers(const ImageSpec *s, char **ret_error) {
        char **names = NULL;
        int r = image_package_names(s, &names);
        if (r < 0)
                return r;
        for (size_t i = 0; names[i]; i++)
                if (!image_lock_version(s->lock, names[i])) {
                        r = error_set(ret_error, -ENOPKG,
                                      "keystone.lock has no version for package %s (the host file, its modules or "
                                      "Keystone's dependencies changed since it was written)",
                                      names[i]);
                        break;
                }
        names_free(names);
        return r;
}

/* The archive still serves every locked version (Debian's archive keeps
 * one version per package and suite: a newer upload replaces the locked
 * one).  Essential packages are pinned this way too: mmdebstrap installs
 * the archive's versions, which this proves are the locked ones. */
static int lock_served(const ImageSpec *s, const char *cache, char **ret_error) {
        const ImageLock *l = s->lock;
        if (!streq(l->suite, s->suite) || !streq(l->mirror, s->mirror)) {
                return error_set(ret_error, -ESTALE, "keystone.lock was resolved for %s %s, the image uses %s %s",
                                 l->mirror, l->suite, s->mirror, s->suite);
        }
        AptArchive ar;
        _cleanup_free_ char *err = NULL;
        int r = apt_archive_open(cache, l->suite, l->mirror, l->components, &ar, &err);
        if (r < 0) {
                return error_set(ret_error, r, "cannot check keystone.lock against the archive: %s",
                                 err ? err : strerror(-r));
        }
        AptIndex x = {};
        r = apt_archive_index(&ar, &x);
        apt_archive_close(&ar);
        if (r < 0) {
                return error_set(ret_error, r, "cannot read the archive's package lists: %s", strerror(-r));
        }
        LockMismatch *m = NULL;
        int n = image_lock_check(l, &x, &m);
        if (n > 0) {
                char *text = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&text, &size);
                if (f) {
                        fprintf(f, "the archive (%s %s) no longer serves %d locked package version%s:", l->mirror,
                                l->suite, n, n == 1 ? "" : "s");
                        for (int i = 0; i < n && i < 4; i++) {
                                if (m[i].available)
                                        fprintf(f, " %s %s (it has %s %s)%s", m[i].name, m[i].locked,
                                                m[i].order > 0 ? "the newer" : "only", m[i].available,
                                                i + 1 < n && i < 3 ? "," : "");
                                else
                                        fprintf(f, " %s %s (gone from the archive)%s", m[i].name, m[i].locked,
                                                i + 1 < n && i < 3 ? "," : "");
                        }
                        if (n > 4)
                                fprintf(f, " and %d more", n - 4);
                        if (fclose(f) == 0 && ret_error) {
                                free(*ret_error);
                                *ret_error = TAKE_PTR(text);
                        }
                        free(text);
                }
                r = -ESTALE;
        } else
                r = n;
        free(m);
        apt_index_done(&x);
        return r;
}

/* The stages in order, with the ZFS modules (when the kernel is known
 * from the lock) running in the background from the start. */
static int build_stages(const ImageSpec *spec, const char *cache, ImageArtifacts *a, ZfsJob *zfs,
                        char **ret_error) {
        int r;
        char kver[sizeof a->kernel_version] = "";
        if (spec->zfs && spec->lock) {
                if ((r = kernel_version_from_lock(spec, kver, sizeof kver)) < 0) {
                        return error_set(ret_error, r,
                                         "keystone.lock names %s kernel package for the %s flavour: run `keystone lock` "
                                         "again", r == -ENOTUNIQ ? "more than one" : "no", spec->kernel_flavour);
                }
                if ((r = zfs_start(spec, cache, kver, a, zfs)) < 0)
                        return r;
        }
        /* Keystone's .deb first: its Depends join the rootfs's packages */
        ImageSpec with_deps;
        _cleanup_(keystone_layer_done) KeystoneLayer layer = {};
        r = image_keystone_layer(spec, cache, a, &with_deps, &layer);
        if (r < 0)
                return r;
        spec = &with_deps;
        if (spec->lock && (r = lock_covers(spec, ret_error)) < 0)
                return r;
        if ((r = zfs_check(zfs)) < 0)
                return r;
        r = stage_rootfs(spec, cache, a);
        if (r < 0)
                return r;
        if (spec->zfs) {
                if ((r = image_rootfs_kernel_version(a)) < 0)
                        return log_debug_errno(r, "No kernel in %s: %m", a->rootfs_tar);
                if (kver[0] && !streq(kver, a->kernel_version)) {
                        return error_set(ret_error, -ESTALE, "the rootfs has kernel %s, keystone.lock names %s",
                                         a->kernel_version, kver);
                }
                /* unlocked: the kernel is known only now */
                if (!kver[0] && (r = zfs_start(spec, cache, a->kernel_version, a, zfs)) < 0)
                        return r;
                if ((r = zfs_join(zfs, a)) < 0)
                        return r;
        }
        if (spec->installed) {
                /* keystone build: the generation stage (generation.h) takes
                 * it from here; no ext4 disk image */
                return image_rootfs_kernel_version(a);
        }
        r = stage_disk(spec, cache, a);
        if (r < 0 || a->disk_built)
                progress_end("disk image", r);
        if (r < 0)
                return r;
        char p[PATH_MAX + 16], line[sizeof a->cmdline];
        snprintf(p, sizeof p, "%s/cmdline", a->disk_dir);
        if (read_text(p, line, sizeof line) == 0)
                snprintf(a->cmdline, sizeof a->cmdline, "%s", line);
        return 0;
}

int image_build(const ImageSpec *spec, const char *cache_dir, ImageArtifacts *ret, char **ret_error) {
        ImageArtifacts a = {};
        _cleanup_free_ char *error = NULL;
        const char *cache = cache_dir ? cache_dir : cache_dir_default();
        if (mkdir(cache, 0755) < 0 && errno != EEXIST)
                return -errno;
        int r;
        /* a locked host: refuse early, before anything slow runs */
        if (spec->lock && ((r = lock_covers(spec, &error)) < 0 || (r = lock_served(spec, cache, &error)) < 0)) {
                if (ret_error)
                        *ret_error = TAKE_PTR(error);
                return r;
        }
        ZfsJob zfs = { .lock_fd = -EBADF };
        r = build_stages(spec, cache, &a, &zfs, &error);
        /* a stage that failed while the modules were still building stops them */
        if (r < 0 && !error && zfs.error)
                error = TAKE_PTR(zfs.error);
        zfs_job_done(&zfs);
        if (r < 0) {
                if (ret_error)
                        *ret_error = TAKE_PTR(error);
                return r;
        }
        *ret = a;
        return 0;
}

