/* SPDX-License-Identifier: MIT */
/* keystone build HOST.toml: a generation (rootfs, initrd, signed UKI,
 * systemd-boot for the ESP) and its manifest. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/image-common.h"
#include "generation/build.h"
#include "generation/initrd-ssh.h"
#include "generation/output.h"
#include "secureboot/keys.h"
#include "util/format-bytes.h"
#include "util/progress.h"
#include "util/run.h"

const char build_description[] =
        "Build generation N of a host (cached by the hash of its inputs, like the\n"
        "image stages) and, with -o, copy it to DIR with DIR/manifest.json:\n"
        "  rootfs.tar        the root file system: the pinned Debian packages, Keystone,\n"
        "                    the generated /etc, the ZFS modules signed with the db key\n"
        "  vmlinuz           the kernel\n"
        "  initrd.img        Keystone's initrd: keystone-init as PID 1, zpool/zfs, only\n"
        "                    the modules the boot flow needs\n"
        "  uki-unsigned.efi  systemd-stub + kernel + initrd + command line\n"
        "  cmdline           keystone.generation=N console=... (+ boot.kernel-params)\n"
        "  esp/              for the ESP, signed with the db key: EFI/Linux/keystone-N.efi,\n"
        "                    EFI/systemd/systemd-bootx64.efi, EFI/BOOT/BOOTX64.EFI,\n"
        "                    loader/loader.conf\n"
        "  host-keys.tar     with --host-keys: the system's SSH host key (0600)\n"
        "With boot.initrd-ssh or --initrd-ssh-net (unlock over SSH in the initrd) the\n"
        "initrd runs sshd; its host key, authorized_keys and network are put only into\n"
        "DIR (initrd.img and the UKIs then 0600), never into the shared cache.\n"
        "Two builds of one host file and keystone.lock give the same bytes (rootfs,\n"
        "initrd, unsigned UKI).  `keystone disk install HOST.toml --from DIR`\n"
        "puts it on a disk.\n"
        "Without keystone.lock the packages are unpinned, and a warning says so.\n"
        "Each stage's steps (build chroot, .deb, rootfs, ZFS modules, generation) are\n"
        "shown on stderr as they start and end, with their times: one updating line\n"
        "on a terminal, plain lines otherwise.";

static void print_file(const char *dir, const char *rel, const char *what) {
        char p[PATH_MAX * 2];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, rel);
        if (stat(p, &st) < 0)
                return;
        char size[32];
        format_bytes((uint64_t) st.st_size, size, sizeof size);
        printf("  %-38s %9s  %s\n", rel, size, what);
}

/* The key directory whose db key signs (NULL: nothing is signed): --keys,
 * else the host's when it has Secure Boot; its db key must be readable. */
static int signing_keys(const CmdArgs *args, const ImageSpec *spec, const char **ret) {
        const char *keys = cmd_opt(args, IMAGE_OPT_KEYS);
        if (!keys && !cmd_flag(args, IMAGE_OPT_UNSIGNED) && spec->secure_boot)
                keys = spec->sb_key_dir ? spec->sb_key_dir : SB_KEYS_DEFAULT_DIR;
        if (keys) {
                char db[PATH_MAX * 2];
                snprintf(db, sizeof db, "%s/keys/db/db.key", keys);
                if (access(db, R_OK) < 0)
                        return log_error_errno(-errno, "No Secure Boot db key at %s: %m. Make the owner's keys with "
                                                       "`keystone secureboot keygen --dir %s` (or build with "
                                                       "--unsigned for a machine without Secure Boot).", db, keys);
        }
        *ret = keys;
        return 0;
}

/* -o DIR: the generation copied to DIR with the machine's own files
 * (generation/output.h), and DIR/manifest.json. */
static int write_output(const char *path, const ImageCmdHost *h, const ImageArtifacts *a, unsigned number,
                        Generation *g, const GenerationMachine *m, const char *output) {
        _cleanup_free_ char *err = NULL;
        int r = generation_write_output(g, &h->spec, m, output, &err);
        if (r < 0)
                return log_error_errno(r, "Writing the build directory %s failed: %s", output, err ? err : strerror(-r));
        char uki[64], rootfs[PATH_MAX * 2];
        generation_esp_uki(number, uki, sizeof uki);
        char uki_path[80];
        snprintf(uki_path, sizeof uki_path, GENERATION_ESP "/%s", uki);
        ManifestArtifact arts[] = {
                { "rootfs", GENERATION_ROOTFS },
                { "kernel", GENERATION_KERNEL },
                { "initrd", GENERATION_INITRD },
                { "uki-unsigned", GENERATION_UKI_UNSIGNED },
                { "uki", uki_path },
                { "systemd-boot", GENERATION_ESP "/" GENERATION_ESP_SYSTEMD_BOOT },
                { "host-keys", GENERATION_HOST_KEYS },
        };
        snprintf(rootfs, sizeof rootfs, "%s/%s", output, GENERATION_ROOTFS);
        r = image_cmd_manifest(path, h, rootfs, a->keystone_version, arts, ELEMENTSOF(arts) - !m->host_keys, output,
                               output);
        if (r < 0)
                return log_error_errno(r, "Writing %s/manifest.json failed: %m", output);
        return 0;
}

/* What was built, file by file, in dir. */
static void print_generation(const ImageSpec *spec, const Generation *g, unsigned number, const char *dir,
                             bool manifest) {
        char sz[32], usz[32];
        format_bytes(g->initrd_bytes, sz, sizeof sz);
        format_bytes(g->initrd_uncompressed_bytes, usz, sizeof usz);
        printf("generation %u of %s (%s): %s in %.1f s\n", number, spec->hostname, g->kernel_version,
               g->built ? "built" : "cached", g->seconds);
        printf("  in %s\n", dir);
        print_file(dir, GENERATION_ROOTFS, "root file system");
        print_file(dir, GENERATION_KERNEL, "kernel");
        char what[128];
        snprintf(what, sizeof what, "initrd: %zu modules, %zu files, %s uncompressed", g->initrd_modules,
                 g->initrd_files, usz);
        print_file(dir, GENERATION_INITRD, what);
        print_file(dir, GENERATION_UKI_UNSIGNED, "UKI, unsigned");
        char uki[64], rel[96];
        generation_esp_uki(number, uki, sizeof uki);
        snprintf(rel, sizeof rel, GENERATION_ESP "/%s", uki);
        print_file(dir, rel, g->signed_ ? "UKI, signed with the db key" : "UKI (unsigned)");
        print_file(dir, GENERATION_ESP "/" GENERATION_ESP_SYSTEMD_BOOT,
                   g->signed_ ? "systemd-boot, signed" : "systemd-boot (unsigned)");
        print_file(dir, GENERATION_HOST_KEYS, "the SSH host key of the system (0600)");
        if (manifest)
                print_file(dir, "manifest.json", "inputs, packages, sha256 of each artifact");
        printf("  cmdline: %s\n", g->cmdline);
        if (!g->signed_)
                printf("  nothing is signed: this generation boots only with Secure Boot off\n");
}

/* --host-keys, --initrd-ssh-net and every --ssh-key into m, checked before
 * anything is built: initrd-ssh needs an address and the host key, and the
 * host key goes only into -o DIR. */
static int machine_options(const CmdArgs *args, ImageSpec *spec, const char *output, GenerationMachine *m,
                           const char **keys, size_t max_keys) {
        _cleanup_free_ char *err = NULL;
        const char *net = cmd_opt(args, IMAGE_OPT_INITRD_SSH_NET);
        int r = net ? generation_initrd_ssh_apply_net(spec, net, &err) : 0;
        if (r == -EINVAL)
                return cmd_usage(args, "%s", err);
        if (r < 0)
                return log_error_errno(r, "--initrd-ssh-net: %m");
        m->host_keys = cmd_opt(args, IMAGE_OPT_HOST_KEYS);
        if ((r = generation_initrd_ssh_check(spec, m->host_keys, &err)) < 0)
                return log_error_errno(r, "%s", err);
        if ((m->host_keys || spec->initrd_ssh) && !output)
                return cmd_usage(args, "%s needs -o DIR: the host key goes into the build directory only, never "
                                 "into the cache (whose entries are shared between hosts)",
                                 m->host_keys ? "--host-keys" : "unlock over SSH in the initrd");
        if (m->host_keys && (r = generation_host_keys_check(m->host_keys, &err)) < 0)
                return log_error_errno(r, "--host-keys %s: %s", m->host_keys, err);
        size_t n = 0;
        int it = 0;
        for (const char *k; n + 1 < max_keys && (k = cmd_opt_next(args, IMAGE_OPT_SSH_KEY, &it));)
                keys[n++] = k;
        keys[n] = NULL;
        m->ssh_keys = keys;
        return 0;
}

int cmd_build(const CmdArgs *args) {
        uint64_t n = 1;
        int r = cmd_opt_uint_range(args, IMAGE_OPT_GENERATION, 1, 999999, &n);
        if (r < 0)
                return r;
        if (cmd_opt(args, IMAGE_OPT_KEYS) && cmd_flag(args, IMAGE_OPT_UNSIGNED))
                return cmd_usage(args, "--keys and --unsigned exclude each other");
        unsigned number = (unsigned) n;
        const char *path = args->args[0], *cache = cmd_opt(args, IMAGE_OPT_CACHE_DIR);
        const char *output = cmd_opt(args, IMAGE_OPT_OUTPUT_GENERATION), *keys = NULL;

        ImageCmdHost h;
        if ((r = image_cmd_load(path, args, cmd_flag(args, IMAGE_OPT_TEST), cmd_flag(args, IMAGE_OPT_UNLOCKED),
                                &h)) < 0)
                return r;
        GenerationMachine m = {};
        const char *ssh_keys[CMD_MAX_GIVEN + 1];
        if ((r = machine_options(args, &h.spec, output, &m, ssh_keys, ELEMENTSOF(ssh_keys))) < 0) {
                image_cmd_host_done(&h);
                return r;
        }
        if (h.spec.n_datasets == 0) {
                image_cmd_host_done(&h);
                return log_error_errno(-EINVAL, "%s has no disk layout (disk.datasets): a generation is a ZFS boot "
                                                "environment. Import \"disk-single-root\" in the host file, or use "
                                                "`keystone image` for a plain disk image.", path);
        }
        if ((r = signing_keys(args, &h.spec, &keys)) < 0) {
                image_cmd_host_done(&h);
                return r;
        }
        h.spec.installed = true;

        ImageArtifacts a = {};
        _cleanup_free_ char *build_error = NULL;
        progress_enable(stderr, "build");
        image_cmd_catch_signals();
        r = image_build(&h.spec, cache, &a, &build_error);
        if (r < 0) {
                progress_disable();
                image_cmd_host_done(&h);
                if (build_error && (r == -ENOPKG || r == -ESTALE))
                        return log_error_errno(r, "Building %s failed: %s. Run `keystone lock %s` to pin the "
                                                  "archive's current versions (or --unlocked).", path, build_error, path);
                if (build_error)
                        return log_error_errno(r, "Building %s failed: %s", path, build_error);
                return log_error_errno(r, "Building %s failed: %m. The stage logs are in the cache directory's "
                                          "*.tmp directories; run with --verbose to see every command.", path);
        }
        Generation g = {};
        _cleanup_free_ char *err = NULL;
        r = image_generation_build(&h.spec, &a, &(GenerationOptions) { .number = number, .key_dir = keys,
                                                                       .cache_dir = cache }, &g, &err);
        progress_disable();
        if (r < 0) {
                image_cmd_host_done(&h);
                return log_error_errno(r, "Building generation %u of %s failed: %s", number, path,
                                       err ? err : strerror(-r));
        }
        m.key_dir = keys;
        if (output && (r = write_output(path, &h, &a, number, &g, &m, output)) < 0) {
                image_cmd_host_done(&h);
                return r;
        }
        print_generation(&h.spec, &g, number, output ? output : g.dir, output != NULL);
        image_cmd_host_done(&h);
        return 0;
}
