/* SPDX-License-Identifier: MIT */
/* The generation stage of `keystone build` (generation.h). */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libkmod.h>

#include "image/initrd.h"
#include "image/cache.h"
#include "image/etc.h"
#include "image/files.h"
#include "generation/build.h"
#include "generation/initrd-ssh.h"
#include "image/keystone-deb.h"
#include "secureboot/authenticode.h"
#include "secureboot/keys.h"
#include "secureboot/modsign.h"
#include "secureboot/uki.h"
#include "util/clock.h"
#include "util/error-message.h"
#include "util/file-bytes.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/progress.h"
#include "util/run.h"
#include "util/sha256-file.h"

/* Bump when the stage's recipe changes in a way its inputs text does not show. */
#define GENERATION_RECIPE "keystone-generation 1"

/* What keystone-init needs from the kernel (docs/init.md): the pool, the
 * credstore (dm-crypt with the LUKS2 default cipher, ext4), the disk and TPM
 * drivers a machine may have.  "?": only when this kernel has it (built-in
 * counts as having it); dm-crypt asks the crypto API for xts/aes at run
 * time, which has no modprobe to call in this initrd, so they are named. */
static const char *const initrd_modules[] = {
        "zfs", "dm_crypt", "ext4",
        "?xts", "?aesni_intel", "?aes_generic", "?sha256_generic",
        "?virtio_pci", "?virtio_blk", "?virtio_scsi", "?sd_mod", "?nvme", "?ahci", "?xhci_pci", "?usb_storage",
        "?tpm_crb", "?tpm_tis",
        NULL,
};

#define TCTI_DEVICE "/usr/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0"
#define KEYSTONE_INIT "/usr/lib/keystone/keystone-init"
#define STUB "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
#define SYSTEMD_BOOT "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"

void generation_esp_uki(unsigned number, char *out, size_t size) {
        snprintf(out, size, "EFI/Linux/keystone-%u.efi", number);
}

/* The kernel command line of generation N. */
static int make_cmdline(const ImageSpec *s, unsigned n, char *out, size_t size) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "keystone.generation=%u", n);
        if (s->pool && !streq(s->pool, "rpool"))
                fprintf(f, " keystone.pool=%s", s->pool);
        if (s->emergency_access)
                fputs(" keystone.emergency=shell", f);
        /* tpm.enable = false: keystone-init does not ask the TPM */
        if (s->tpm_disabled)
                fputs(" keystone.tpm=0", f);
        /* the last console= is /dev/console: keystone-init's prompt and the
         * messages go to the serial line, and the screen shows them too */
        fputs(" console=tty0 console=ttyS0,115200", f);
        for (size_t i = 0; i < s->n_kernel_params; i++)
                fprintf(f, " %s", s->kernel_params[i]);
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        int r = len < size ? 0 : -E2BIG; /* boot.kernel-params too long for the UKI's .cmdline */
        if (r == 0)
                memcpy(out, text, len + 1);
        free(text);
        return r;
}

/* /etc/hostid: the same for every generation of the host (from its name),
 * so the pool the initrd imports was last used by "this" system. */
static int write_hostid(const ImageSpec *s, const char *root) {
        char seed[256], hex[65], p[PATH_MAX];
        snprintf(seed, sizeof seed, "keystone-hostid\n%s\n", s->hostname);
        int r = cache_sha256_hex(seed, strlen(seed), hex);
        if (r < 0)
                return r;
        uint32_t id = (uint32_t) strtoul((char[9]) { hex[0], hex[1], hex[2], hex[3], hex[4], hex[5], hex[6], hex[7], 0 },
                                         NULL, 16);
        if (id == 0)
                id = 1;
        PATHF(p, "%s/etc/hostid", root);
        /* native byte order, as gethostid() reads it */
        return write_file_bytes_atomic(p, &id, sizeof id, 0644);
}

/* Decompresses the ZFS stage's .ko.xz files (a signature covers the
 * uncompressed module) and signs them with the db key when given. */
static int sign_modules(const char *dir, EVP_PKEY *key, X509 *cert, char **error) {
        DIR *d = opendir(dir);
        if (!d)
                return error_set(error, -errno, "cannot read %s: %s", dir, strerror(errno));
        int r = 0;
        struct dirent *de;
        while (r >= 0 && (de = readdir(d))) {
                char p[PATH_MAX];
                size_t n = strlen(de->d_name);
                if (de->d_name[0] == '.')
                        continue;
                if (snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= (int) sizeof p) {
                        r = -ENAMETOOLONG;
                        break;
                }
                if (de->d_type == DT_DIR) {
                        r = sign_modules(p, key, cert, error);
                        continue;
                }
                if (n > 6 && streq(de->d_name + n - 6, ".ko.xz")) {
                        const char *argv[] = { "xz", "-d", "-f", p, NULL };
                        if ((r = run(argv, NULL, NULL)) < 0) {
                                error_set(error, r, "decompressing %s failed", p);
                                break;
                        }
                        p[strlen(p) - 3] = 0;
                } else if (n <= 3 || !streq(de->d_name + n - 3, ".ko"))
                        continue;
                if (!key)
                        continue;
                _cleanup_free_ uint8_t *data = NULL, *out = NULL;
                size_t size = 0, out_size = 0;
                if ((r = read_file_bytes(p, 0, &data, &size)) < 0 ||
                    (r = modsign_sign(data, size, key, cert, &out, &out_size)) < 0 ||
                    (r = write_file_bytes_atomic(p, out, out_size, 0644)) < 0)
                        error_set(error, r, "signing the module %s failed: %s", p, strerror(-r));
        }
        closedir(d);
        return r;
}

/* The modules of initrd_modules this kernel has (by libkmod, in the
 * tree's module directory), without the "?" marks: the initrd's list
 * and /etc/keystone-init/modules. */
int image_present_modules(const char *moddir, const char *const *wanted, const char **ret, size_t max,
                          char **error) {
        struct kmod_ctx *ctx = kmod_new(moddir, NULL);
        if (!ctx)
                return -ENOMEM;
        kmod_set_log_priority(ctx, 0);
        (void) kmod_load_resources(ctx);
        size_t n = 0;
        int r = 0;
        for (size_t i = 0; wanted[i] && n + 1 < max; i++) {
                const char *m = wanted[i];
                bool optional = *m == '?';
                m += optional;
                struct kmod_list *list = NULL;
                int k = kmod_module_new_from_lookup(ctx, m, &list);
                if (k >= 0 && list)
                        ret[n++] = m;
                else if (!optional) {
                        r = error_set(error, -ENOENT, "the kernel in %s has no module %s", moddir, m);
                        kmod_module_unref_list(list);
                        break;
                }
                kmod_module_unref_list(list);
        }
        kmod_unref(ctx);
        ret[n] = NULL;
        return r;
}

int image_write_modules_file(const char *root, const char *const *mods) {
        char p[PATH_MAX], dir[PATH_MAX];
        PATHF(dir, "%s/etc/keystone-init", root);
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        PATHF(p, "%s/modules", dir);
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fputs("# Generated by keystone build: the modules keystone-init loads in the initrd.\n", f);
        for (size_t i = 0; mods[i]; i++)
                fprintf(f, "%s\n", mods[i]);
        if (fclose(f) != 0)
                return -ENOMEM;
        return write_file_bytes_atomic(p, text, size, 0644);
}

/* Files a build leaves behind that differ from run to run. */
static void remove_build_leftovers(const char *root) {
        static const char *const junk[] = {
                "/var/cache/ldconfig/aux-cache", "/var/lib/dpkg/status-old", "/var/lib/dpkg/available-old",
                "/var/log/dpkg.log", "/var/log/apt/history.log", "/var/log/apt/term.log", "/var/log/alternatives.log",
                NULL,
        };
        for (size_t i = 0; junk[i]; i++) {
                char p[PATH_MAX];
                if (snprintf(p, sizeof p, "%s%s", root, junk[i]) < (int) sizeof p)
                        (void) unlink(p);
        }
}

static int sign_pe_file(const char *in, const char *out, EVP_PKEY *key, X509 *cert) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size = 0;
        int r = read_file_bytes(in, 0, &data, &size);
        if (r < 0)
                return r;
        if (key && (r = authenticode_sign_in_place(&data, &size, key, cert)) < 0)
                return r;
        return write_file_bytes_atomic(out, data, size, 0644);
}

static int make_esp(const char *tmp, const char *tree, const char *uki_unsigned, unsigned n, EVP_PKEY *key,
                    X509 *cert, char **error) {
        char esp[PATH_MAX], p[PATH_MAX], d[PATH_MAX + 64], src[PATH_MAX + 64], rel[64];
        PATHF(esp, "%s/%s", tmp, GENERATION_ESP);
        static const char *const dirs[] = { "EFI/Linux", "EFI/systemd", "EFI/BOOT", "loader", NULL };
        for (size_t i = 0; dirs[i]; i++) {
                PATHF(d, "%s/%s", esp, dirs[i]);
                int r = mkdir_p(d, 0755, NULL);
                if (r < 0)
                        return error_set(error, r, "cannot create %s", d);
        }
        generation_esp_uki(n, rel, sizeof rel);
        PATHF(p, "%s/%s", esp, rel);
        int r = sign_pe_file(uki_unsigned, p, key, cert);
        if (r < 0)
                return error_set(error, r, "signing the UKI %s failed: %s", p, strerror(-r));
        PATHF(src, "%s%s", tree, SYSTEMD_BOOT);
        static const char *const boot[] = { GENERATION_ESP_SYSTEMD_BOOT, GENERATION_ESP_FALLBACK, NULL };
        for (size_t i = 0; boot[i]; i++) {
                PATHF(p, "%s/%s", esp, boot[i]);
                if ((r = sign_pe_file(src, p, key, cert)) < 0)
                        return error_set(error, r, "%s %s from %s failed: %s", key ? "signing" : "copying", p, src,
                                         r == -ENOENT ? "no systemd-boot in the generation (package "
                                                        "systemd-boot-efi)" : strerror(-r));
        }
        /* No menu unless a key is held; the newest keystone-N.efi boots; no
         * editing of the command line (it is part of the signed UKI anyway). */
        PATHF(p, "%s/%s", esp, GENERATION_ESP_LOADER_CONF);
        return cache_write_text(p, "# Generated by keystone build.\ntimeout 0\neditor no\n"
                                   "default keystone-*\nauto-entries no\nauto-firmware no\n");
}

static int build_tree(const ImageSpec *s, const ImageArtifacts *a, const char *tree, const char *tmp,
                      EVP_PKEY *key, X509 *cert, char **error) {
        const char *untar[] = { "tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", a->rootfs_tar,
                                "-C", tree, NULL };
        int r = cache_run_logged(untar, tmp, "untar.log", error, "unpacking the rootfs");
        if (r < 0)
                return r;
        char moddir[PATH_MAX], updates[PATH_MAX + 16];
        PATHF(moddir, "%s/usr/lib/modules/%s", tree, a->kernel_version);
        if (s->zfs) {
                const char *untar_zfs[] = { "tar", "--numeric-owner", "-xpf", a->zfs_tar, "-C", moddir, NULL };
                if ((r = cache_run_logged(untar_zfs, tmp, "untar-zfs.log", error, "unpacking the ZFS modules")) < 0)
                        return r;
                PATHF(updates, "%s/updates", moddir);
                if ((r = sign_modules(updates, key, cert, error)) < 0)
                        return r;
        }
        const char *depmod[] = { "depmod", "-b", tree, a->kernel_version, NULL };
        if ((r = cache_run_logged(depmod, tmp, "depmod.log", error, "depmod")) < 0)
                return r;

        GenList gen = {};
        r = image_etc_generate(s, "00000000-0000-4000-8000-000000000000", &gen);
        if (r >= 0)
                r = gen_list_apply(&gen, tree, (time_t) s->source_date_epoch);
        gen_list_done(&gen);
        if (r < 0)
                return error_set(error, r, "writing the generated configuration into %s failed: %s", tree,
                                 strerror(-r));
        if ((r = keystone_deb_install(tree, a->keystone_deb)) < 0)
                return error_set(error, r, "installing %s into the generation failed (dpkg -i in a chroot)",
                                 a->keystone_deb);
        if ((r = write_hostid(s, tree)) < 0)
                return error_set(error, r, "writing %s/etc/hostid failed: %s", tree, strerror(-r));
        remove_build_leftovers(tree);
        return 0;
}

/* The modules the initrd asks for: the boot flow's, and the network cards'
 * when sshd runs there (NULL-terminated, into out). */
static void wanted_modules(const ImageSpec *s, const char **out, size_t max) {
        size_t n = 0;
        for (size_t i = 0; initrd_modules[i] && n + 1 < max; i++)
                out[n++] = initrd_modules[i];
        for (size_t i = 0; s->initrd_ssh && generation_initrd_ssh_modules[i] && n + 1 < max; i++)
                out[n++] = generation_initrd_ssh_modules[i];
        out[n] = NULL;
}

int generation_initrd_build(const ImageSpec *s, const char *tree, const char *kver, const char *const *modules,
                            const char *out, InitrdReport *rep, char **error) {
        char moddir[PATH_MAX], init[PATH_MAX];
        PATHF(moddir, "%s/usr/lib/modules/%s", tree, kver);
        const char *wanted[64], *mods[64];
        wanted_modules(s, wanted, ELEMENTSOF(wanted));
        int r = image_present_modules(moddir, modules ? modules : wanted, mods, ELEMENTSOF(mods), error);
        if (r < 0)
                return r;
        if ((r = image_write_modules_file(tree, mods)) < 0)
                return error_set(error, r, "writing %s/etc/keystone-init/modules failed: %s", tree, strerror(-r));
        PATHF(init, "%s%s", tree, KEYSTONE_INIT);
        const char *programs[16] = { KEYSTONE_INIT, "/usr/sbin/zpool", "/usr/sbin/zfs" };
        size_t n = 3;
        if (s->emergency_access)
                programs[n++] = "/bin/sh";
        for (size_t i = 0; s->initrd_ssh && generation_initrd_ssh_programs[i]; i++)
                if (!s->emergency_access || !streq(generation_initrd_ssh_programs[i], "/bin/sh"))
                        programs[n++] = generation_initrd_ssh_programs[i];
        const char *files[] = { "/etc/hostid", "/etc/keystone-init/modules", TCTI_DEVICE, NULL };
        InitrdSpec spec = {
                .root = tree, .kver = kver, .modules = mods, .programs = programs, .files = files,
                .data = s->initrd_ssh ? generation_initrd_ssh_files : NULL,
                .n_data = s->initrd_ssh ? generation_initrd_ssh_n_files : 0,
                .init = init, .mtime = (int64_t) s->source_date_epoch, .compress = true,
        };
        _cleanup_free_ char *ierr = NULL;
        r = initrd_build(&spec, out, rep, &ierr);
        if (r < 0)
                return error_set(error, r, "building the initrd failed: %s", ierr ? ierr : strerror(-r));
        return 0;
}

static int stage_initrd(const ImageSpec *s, const ImageArtifacts *a, const char *tree, const char *tmp,
                        Generation *g, char **error) {
        char out[PATH_MAX], p[PATH_MAX];
        PATHF(out, "%s/%s", tmp, GENERATION_INITRD);
        InitrdReport rep = {};
        int r = generation_initrd_build(s, tree, a->kernel_version, NULL, out, &rep, error);
        if (r < 0)
                return r;
        g->initrd_bytes = rep.bytes;
        g->initrd_uncompressed_bytes = rep.uncompressed_bytes;
        g->initrd_modules = rep.n_modules;
        g->initrd_files = rep.n_programs + rep.n_libraries + rep.n_files;
        PATHF(p, "%s/initrd.txt", tmp);
        return initrd_report_write(&rep, p);
}

static void read_initrd_report(Generation *g) {
        char p[PATH_MAX + 16];
        snprintf(p, sizeof p, "%s/initrd.txt", g->dir);
        _cleanup_fclose_ FILE *f = fopen(p, "re");
        char k[32];
        unsigned long long v;
        while (f && fscanf(f, "%31s %llu", k, &v) == 2) {
                if (streq(k, "modules"))
                        g->initrd_modules = (size_t) v;
                else if (streq(k, "bytes"))
                        g->initrd_bytes = v;
                else if (streq(k, "uncompressed"))
                        g->initrd_uncompressed_bytes = v;
                else if (streq(k, "programs") || streq(k, "libraries") || streq(k, "files"))
                        g->initrd_files += (size_t) v;
        }
}

static int generation_inputs(const ImageSpec *s, const ImageArtifacts *a, unsigned n, const char *cert_hash,
                             const char *cmdline, char **ret) {
        GenList gen = {};
        _cleanup_free_ char *gtext = NULL;
        int r = image_etc_generate(s, "00000000-0000-4000-8000-000000000000", &gen);
        if (r >= 0)
                r = gen_list_serialize(&gen, &gtext);
        gen_list_done(&gen);
        if (r < 0)
                return r;
        if (asprintf(ret,
                     "%s\nrootfs=%s\nzfs=%s\nkeystone=%s\nkernel=%s\ngeneration=%u\nhostname=%s\nemergency=%d\n"
                     "signer=%s\ncmdline=%s\nmodules=",
                     GENERATION_RECIPE, a->rootfs_hash, s->zfs ? a->zfs_hash : "none", a->keystone_hash,
                     a->kernel_version, n, s->hostname, s->emergency_access, cert_hash, cmdline) < 0)
                return -ENOMEM;
        /* only when on, so that other hosts' entries keep their keys; the
         * address and the keys are per machine, never part of the entry */
        if (s->initrd_ssh) {
                char *t = NULL;
                if (asprintf(&t, "%.*sinitrd-ssh=sshd\nmodules=", (int) (strlen(*ret) - strlen("modules=")), *ret) < 0)
                        return -ENOMEM;
                free(*ret);
                *ret = t;
        }
        const char *mods[64];
        wanted_modules(s, mods, ELEMENTSOF(mods));
        for (size_t i = 0; mods[i]; i++) {
                char *t = NULL;
                if (asprintf(&t, "%s%s%s", *ret, i ? "," : "", mods[i]) < 0)
                        return -ENOMEM;
                free(*ret);
                *ret = t;
        }
        char *t = NULL;
        if (asprintf(&t, "%s\nfiles:\n%s", *ret, gtext) < 0)
                return -ENOMEM;
        free(*ret);
        *ret = t;
        return 0;
}

static int cert_fingerprint(X509 *cert, char out[static 65]) {
        if (!cert) {
                snprintf(out, 65, "none");
                return 0;
        }
        unsigned char *der = NULL;
        int n = i2d_X509(cert, &der);
        if (n <= 0)
                return -EIO;
        int r = cache_sha256_hex(der, (size_t) n, out);
        OPENSSL_free(der);
        return r;
}

int image_generation_build(const ImageSpec *s, const ImageArtifacts *a, const GenerationOptions *o, Generation *ret,
                           char **error) {
        Generation g = { .number = o->number ? o->number : 1 };
        const char *cache = o->cache_dir ? o->cache_dir : cache_dir_default();
        EVP_PKEY *key = NULL;
        X509 *cert = NULL;
        int r;
        if (o->key_dir && (r = sb_key_load(o->key_dir, SB_KEY_DB, &key, &cert)) < 0)
                return error_set(error, r, "cannot load the db key from %s: %s (make the keys with `keystone "
                                           "secureboot keygen --dir %s`)", o->key_dir, strerror(-r), o->key_dir);
        g.signed_ = key != NULL;
        char fpr[65], tmp[PATH_MAX], tree[PATH_MAX + 8], p[PATH_MAX + 64];
        _cleanup_free_ char *inputs = NULL;
        _cleanup_close_ int lock = -EBADF;
        const char *step = NULL; /* the sub-step running now (util/progress.h) */
#define STEP(name) do { if (step) progress_end(step, 0); progress_begin(step = (name)); } while (0)
        snprintf(g.kernel_version, sizeof g.kernel_version, "%s", a->kernel_version);
        if ((r = make_cmdline(s, g.number, g.cmdline, sizeof g.cmdline)) == -E2BIG) {
                error_set(error, r, "the kernel command line would be longer than %zu bytes: shorten "
                                    "boot.kernel-params", sizeof g.cmdline - 1);
                goto done;
        }
        if (r < 0 || (r = cert_fingerprint(cert, fpr)) < 0 ||
            (r = generation_inputs(s, a, g.number, fpr, g.cmdline, &inputs)) < 0 ||
            (r = cache_sha256_hex(inputs, strlen(inputs), g.hash)) < 0)
                goto done;
        if (snprintf(g.dir, sizeof g.dir, "%s/generation-%s", cache, g.hash) >= (int) sizeof g.dir) {
                r = -ENAMETOOLONG;
                goto done;
        }
        if ((lock = cache_lock(cache, "generation", g.hash)) < 0) {
                r = error_set(error, lock, "cannot lock %s: %s", g.dir, strerror(-lock));
                goto done;
        }
        snprintf(p, sizeof p, "%s/inputs.txt", g.dir);
        if (access(p, R_OK) == 0) {
                read_initrd_report(&g);
                progress_cached("generation");
                r = 0;
                goto done;
        }

        progress_begin("generation");
        STEP("generation: tree");
        double t0 = monotonic_seconds();
        snprintf(tmp, sizeof tmp, "%s.tmp", g.dir);
        snprintf(tree, sizeof tree, "%s/tree", tmp);
        (void) cache_rm_rf(tmp);
        if (mkdir(tmp, 0755) < 0 || mkdir(tree, 0755) < 0) {
                r = error_set(error, -errno, "cannot create %s: %s", tree, strerror(errno));
                goto done;
        }
        if ((r = build_tree(s, a, tree, tmp, key, cert, error)) < 0)
                goto done;
        STEP("generation: initrd");
        if ((r = stage_initrd(s, a, tree, tmp, &g, error)) < 0)
                goto done;
        STEP("generation: rootfs tar");

        /* the kernel, then the root file system without /boot's contents */
        char kernel[PATH_MAX + 300];
        snprintf(kernel, sizeof kernel, "%s/boot/vmlinuz-%s", tree, a->kernel_version);
        snprintf(p, sizeof p, "%s/%s", tmp, GENERATION_KERNEL);
        const char *cp[] = { "cp", "--", kernel, p, NULL };
        if ((r = cache_run_logged(cp, tmp, "cp.log", error, "copying the kernel")) < 0)
                goto done;
        char mtime[64], rootfs[PATH_MAX + 32];
        snprintf(mtime, sizeof mtime, "--mtime=@%llu", (unsigned long long) s->source_date_epoch);
        snprintf(rootfs, sizeof rootfs, "%s/%s", tmp, GENERATION_ROOTFS);
        const char *tar[] = { "tar", "--sort=name", "--format=posix",
                              "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
                              mtime, "--clamp-mtime", "--numeric-owner", "--xattrs", "--xattrs-include=*",
                              "--exclude=./boot/*", "-cf", rootfs, "-C", tree, ".", NULL };
        if ((r = cache_run_logged(tar, tmp, "tar.log", error, "writing the rootfs tar")) < 0)
                goto done;

        /* the UKI, from the generation's own stub */
        STEP("generation: UKI and ESP");
        char stub[PATH_MAX + 64], initrd[PATH_MAX + 32], osrel[PATH_MAX + 32], uki[PATH_MAX + 32];
        snprintf(stub, sizeof stub, "%s%s", tree, STUB);
        snprintf(initrd, sizeof initrd, "%s/%s", tmp, GENERATION_INITRD);
        snprintf(osrel, sizeof osrel, "%s/usr/lib/os-release", tree);
        snprintf(uki, sizeof uki, "%s/%s", tmp, GENERATION_UKI_UNSIGNED);
        UkiInputs in = { .stub = stub, .linux_path = p, .initrd_path = initrd, .os_release_path = osrel,
                         .cmdline = g.cmdline, .uname = a->kernel_version };
        {
                char *uki_error = NULL; /* no cleanup attribute: the gotos above jump past this block */
                if ((r = uki_assemble_signed(&in, NULL, NULL, uki, &uki_error)) < 0)
                        error_set(error, r, "assembling the UKI failed: %s%s", uki_error ? uki_error : strerror(-r),
                                  r == -ENOENT && uki_error && strstr(uki_error, stub) ? " (package systemd-boot-efi)"
                                                                                        : "");
                free(uki_error);
                if (r < 0)
                        goto done;
        }
        if ((r = make_esp(tmp, tree, uki, g.number, key, cert, error)) < 0)
                goto done;
        /* the per-machine UKI of initrd-ssh (generation/output.h) is made
         * again from the same parts */
        if (s->initrd_ssh) {
                char to[PATH_MAX + 32];
                snprintf(to, sizeof to, "%s/%s", tmp, GENERATION_STUB);
                const char *cp_stub[] = { "cp", "--", stub, to, NULL };
                char to2[PATH_MAX + 32];
                snprintf(to2, sizeof to2, "%s/%s", tmp, GENERATION_OS_RELEASE);
                const char *cp_osrel[] = { "cp", "--", osrel, to2, NULL };
                if ((r = cache_run_logged(cp_stub, tmp, "cp.log", error, "keeping the UKI stub")) < 0 ||
                    (r = cache_run_logged(cp_osrel, tmp, "cp.log", error, "keeping os-release")) < 0)
                        goto done;
        }
        snprintf(p, sizeof p, "%s/%s", tmp, GENERATION_CMDLINE);
        char line[sizeof g.cmdline + 1];
        snprintf(line, sizeof line, "%s\n", g.cmdline);
        if ((r = cache_write_text(p, line)) < 0)
                goto done;
        if ((r = cache_rm_rf(tree)) < 0) {
                error_set(error, r, "cannot remove %s", tree);
                goto done;
        }
        snprintf(p, sizeof p, "%s/inputs.txt", tmp);
        if ((r = cache_write_text(p, inputs)) < 0)
                goto done;
        if (rename(tmp, g.dir) < 0) {
                r = error_set(error, -errno, "cannot rename %s to %s: %s", tmp, g.dir, strerror(errno));
                goto done;
        }
        g.built = true;
        g.seconds = monotonic_seconds() - t0;
        r = 0;
done:
        if (step) {
                progress_end(step, r);
                progress_end("generation", r);
        }
#undef STEP
        EVP_PKEY_free(key);
        X509_free(cert);
        if (r < 0 && error && !*error)
                error_set(error, r, "building generation %u failed: %s", g.number, strerror(-r));
        if (r >= 0)
                *ret = g;
        return r;
}
