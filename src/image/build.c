/* SPDX-License-Identifier: MIT */
/* The two cached stages of an image: rootfs (mmdebstrap) and disk
 * (rootfs + generated files → ext4 image, kernel, initrd, cmdline). */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

#include "image/cache.h"
#include "image/etc.h"
#include "image/image.h"
#include "util/log.h"
#include "util/run.h"

/* Bump when a stage's recipe changes in a way its inputs text does not show. */
#define ROOTFS_RECIPE "keystone-rootfs 1"
#define DISK_RECIPE "keystone-disk 2"
#define DISK_SIZE "2G"

#define PATHF(buf, ...) do { if (snprintf(buf, sizeof buf, __VA_ARGS__) >= (int) sizeof buf) return -ENAMETOOLONG; } while (0)

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* role packages + kernel + extras, sorted, without duplicates, comma-joined */
static int package_list(const ImageSpec *s, char **ret) {
        const char *const *role;
        const char *kernel;
        int r = image_role_packages(s->role, s->kernel_flavour, &role, &kernel);
        if (r < 0)
                return r;
        size_t n = 0;
        while (role[n])
                n++;
        const char **all = calloc(n + s->n_packages + 1, sizeof(char *));
        if (!all)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                all[k++] = role[i];
        all[k++] = kernel;
        for (size_t i = 0; i < s->n_packages; i++)
                all[k++] = s->packages[i];
        qsort(all, k, sizeof(char *), cmp_str);
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f) {
                free(all);
                return -ENOMEM;
        }
        for (size_t i = 0, w = 0; i < k; i++) {
                if (i > 0 && streq(all[i], all[i - 1]))
                        continue;
                fprintf(f, "%s%s", w++ ? "," : "", all[i]);
        }
        fclose(f);
        free(all);
        *ret = buf;
        return 0;
}

/* The hook that makes the rootfs reproducible: no host keys baked in. */
static const char customize_hook[] = "rm -f \"$1\"/etc/ssh/ssh_host_*";

int image_rootfs_inputs(const ImageSpec *s, char **ret) {
        _cleanup_free_ char *pkgs = NULL;
        int r = package_list(s, &pkgs);
        if (r < 0)
                return r;
        if (asprintf(ret,
                     "%s\nsuite=%s\nmirror=%s\ncomponents=main,contrib\nvariant=apt\n"
                     "source_date_epoch=%llu\npackages=%s\ncustomize_hook=%s\n",
                     ROOTFS_RECIPE, s->suite, s->mirror, (unsigned long long) s->source_date_epoch, pkgs,
                     customize_hook) < 0)
                return -ENOMEM;
        return 0;
}

static int write_text(const char *path, const char *text) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        size_t n = strlen(text);
        return write(fd, text, n) == (ssize_t) n ? 0 : -EIO;
}

static int read_text(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t k = read(fd, buf, size - 1);
        if (k < 0)
                return -errno;
        buf[k] = 0;
        buf[strcspn(buf, "\n")] = 0;
        return 0;
}

static int rm_rf(const char *path) {
        const char *argv[] = { "rm", "-rf", "--one-file-system", "--", path, NULL };
        return run(argv, NULL, NULL);
}

static int save_log(const char *dir, const char *name, const RunResult *res) {
        char p[PATH_MAX];
        PATHF(p, "%s/%s", dir, name);
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        if (res->out)
                (void) !write(fd, res->out, res->out_size);
        if (res->err)
                (void) !write(fd, res->err, res->err_size);
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
        if (access(a->rootfs_tar, R_OK) == 0)
                return 0;

        double t0 = now_s();
        char tmp[PATH_MAX];
        PATHF(tmp, "%s.tmp", a->rootfs_dir);
        (void) rm_rf(tmp);
        if (mkdir(tmp, 0755) < 0)
                return -errno;
        char tar[PATH_MAX + 16], inc[8192], epoch[64], comps[] = "--components=main,contrib";
        PATHF(tar, "%s/rootfs.tar", tmp);
        snprintf(inc, sizeof inc, "--include=%s", pkgs);
        snprintf(epoch, sizeof epoch, "SOURCE_DATE_EPOCH=%llu", (unsigned long long) s->source_date_epoch);
        char hook[256];
        snprintf(hook, sizeof hook, "--customize-hook=%s", customize_hook);
        const char *argv[] = { "mmdebstrap", "--variant=apt", comps, inc, hook, s->suite, tar, s->mirror, NULL };
        char *env[] = { epoch, NULL };
        RunResult res = {};
        r = run(argv, &(RunOptions) { .env_extra = env, .timeout_ms = 30 * 60 * 1000 }, &res);
        (void) save_log(tmp, "build.log", &res);
        run_result_done(&res);
        if (r < 0)
                return log_debug_errno(r, "mmdebstrap failed, see %s/build.log: %m", tmp);
        char ip[PATH_MAX + 16];
        PATHF(ip, "%s/inputs.txt", tmp);
        if ((r = write_text(ip, inputs)) < 0)
                return r;
        if (rename(tmp, a->rootfs_dir) < 0)
                return -errno;
        a->rootfs_built = true;
        a->rootfs_seconds = now_s() - t0;
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
        if (asprintf(&inputs, "%s\nrootfs=%s\nsize=%s\nuuid=%s\ncmdline=%s\nfiles:\n%s", DISK_RECIPE,
                     a->rootfs_hash, DISK_SIZE, uuid, a->cmdline, gtext) < 0) {
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
                return 0;
        }

        double t0 = now_s();
        char tmp[PATH_MAX], root[PATH_MAX + 8], img[PATH_MAX + 16], p[PATH_MAX + 32];
        PATHF(tmp, "%s.tmp", a->disk_dir);
        PATHF(root, "%s/root", tmp);
        PATHF(img, "%s/root.img", tmp);
        (void) rm_rf(tmp);
        if (mkdir(tmp, 0755) < 0 || mkdir(root, 0755) < 0) {
                gen_list_done(&gen);
                return -errno;
        }
        const char *untar[] = { "tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf",
                                a->rootfs_tar, "-C", root, NULL };
        r = run(untar, NULL, NULL);
        if (r >= 0)
                r = gen_list_apply(&gen, root, (time_t) s->source_date_epoch);
        gen_list_done(&gen);
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
        (void) save_log(tmp, "mkfs.log", &res);
        run_result_done(&res);
        if (r < 0)
                return r;
        if ((r = rm_rf(root)) < 0)
                return r;
        snprintf(p, sizeof p, "%s/cmdline", tmp);
        if ((r = write_text(p, a->cmdline)) < 0)
                return r;
        PATHF(p, "%s/inputs.txt", tmp);
        if ((r = write_text(p, inputs)) < 0)
                return r;
        if (rename(tmp, a->disk_dir) < 0)
                return -errno;
        a->disk_built = true;
        a->disk_seconds = now_s() - t0;
        return 0;
}

int image_build(const ImageSpec *spec, const char *cache_dir, ImageArtifacts *ret) {
        ImageArtifacts a = {};
        const char *cache = cache_dir ? cache_dir : cache_dir_default();
        if (mkdir(cache, 0755) < 0 && errno != EEXIST)
                return -errno;
        int r = stage_rootfs(spec, cache, &a);
        if (r < 0)
                return r;
        r = stage_disk(spec, cache, &a);
        if (r < 0)
                return r;
        char p[PATH_MAX + 16], line[sizeof a.cmdline];
        snprintf(p, sizeof p, "%s/cmdline", a.disk_dir);
        if (read_text(p, line, sizeof line) == 0)
                snprintf(a.cmdline, sizeof a.cmdline, "%s", line);
        *ret = a;
        return 0;
}

int image_make_uki(const ImageArtifacts *a, const char *out_path) {
        /* SEAM: uki_assemble(stub, a->kernel, a->initrd, a->cmdline, out_path)
         * from src/secureboot once merged. */
        return -EOPNOTSUPP;
}
