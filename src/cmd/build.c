/* SPDX-License-Identifier: MIT */
/* keystone build HOST.toml: a generation (rootfs, initrd, signed UKI,
 * systemd-boot for the ESP) and its manifest. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/image-common.h"
#include "generation/build.h"
#include "secureboot/keys.h"
#include "util/format-bytes.h"
#include "util/progress.h"
#include "util/run.h"

static const char help[] =
        "Usage: keystone build [OPTIONS] HOST.toml\n"
        "\n"
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
        "Two builds of one host file and keystone.lock give the same bytes (rootfs,\n"
        "initrd, unsigned UKI).  `keystone disk install HOST.toml --from DIR`\n"
        "puts it on a disk.\n"
        "Without keystone.lock the packages are unpinned, and a warning says so.\n"
        "Each stage's steps (build chroot, .deb, rootfs, ZFS modules, generation) are\n"
        "shown on stderr as they start and end, with their times: one updating line\n"
        "on a terminal, plain lines otherwise.\n"
        "\n"
        "Options:\n"
        "  -o, --output=DIR      copy the generation to DIR and write DIR/manifest.json\n"
        "  -g, --generation=N    the generation's number (default 1): its dataset\n"
        "                        POOL/crypt/system/generations/N and its boot entry\n"
        "      --keys=DIR        the Secure Boot key directory whose db key signs the\n"
        "                        UKI, systemd-boot and the ZFS modules (default: the\n"
        "                        host's secure-boot.key-dir when secure-boot.enable)\n"
        "      --unsigned        sign nothing (a machine without Secure Boot)\n"
        "      --unlocked        ignore keystone.lock beside HOST.toml\n"
        "      --cache-dir=DIR   default $KEYSTONE_CACHE_DIR or /var/cache/keystone\n"
        "      --test            add the root test shell (VM tests only, never real machines)\n"
        "      --ssh-key=KEY     add this public key line to every user\n"
        "  -h, --help            this text\n";

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

static int copy_tree(const char *from, const char *to) {
        if (mkdir(to, 0755) < 0 && errno != EEXIST)
                return -errno;
        char src[PATH_MAX + 4];
        snprintf(src, sizeof src, "%s/.", from);
        const char *argv[] = { "cp", "-a", "--reflink=auto", "--", src, to, NULL };
        return run(argv, NULL, NULL);
}

/* the ZFS module build runs in a process group of its own: end it too */
static void on_signal(int sig) {
        image_build_stop_from_signal();
        signal(sig, SIG_DFL);
        raise(sig);
}

int cmd_build(int argc, char **argv) {
        static const struct option opts[] = {
                CMD_COMMON_OPTIONS,
                { "output", required_argument, NULL, 'o' },
                { "generation", required_argument, NULL, 'g' },
                { "keys", required_argument, NULL, 'K' },
                { "unsigned", no_argument, NULL, 'U' },
                { "unlocked", no_argument, NULL, 'u' },
                { "cache-dir", required_argument, NULL, 'c' },
                { "test", no_argument, NULL, 't' },
                { "ssh-key", required_argument, NULL, 'k' },
                {}
        };
        bool test = false, unlocked = false, unsigned_ = false;
        const char *output = NULL, *keys = NULL, *cache = NULL, *ssh_key = NULL;
        unsigned number = 1;
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "ho:g:", opts, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(help);
                case 'o':
                        output = optarg;
                        break;
                case 'g': {
                        char *end = NULL;
                        unsigned long n = strtoul(optarg, &end, 10);
                        if (!*optarg || *end || n < 1 || n > 999999)
                                return cmd_usage_error("build", "--generation: expected a number from 1 to 999999, "
                                                                "not '%s'", optarg);
                        number = (unsigned) n;
                        break;
                }
                case 'K':
                        keys = optarg;
                        break;
                case 'U':
                        unsigned_ = true;
                        break;
                case 'u':
                        unlocked = true;
                        break;
                case 'c':
                        cache = optarg;
                        break;
                case 't':
                        test = true;
                        break;
                case 'k':
                        ssh_key = optarg;
                        break;
                default:
                        return cmd_usage_error("build", "unknown option");
                }
        int r = cmd_check_args("build", argc - optind);
        if (r < 0)
                return r;
        if (keys && unsigned_)
                return cmd_usage_error("build", "--keys and --unsigned exclude each other");
        const char *path = argv[optind];

        ImageCmdHost h;
        if ((r = image_cmd_load(path, ssh_key, test, unlocked, &h)) < 0)
                return r;
        if (h.spec.n_datasets == 0) {
                image_cmd_host_done(&h);
                return log_error_errno(-EINVAL, "%s has no disk layout (disk.datasets): a generation is a ZFS boot "
                                                "environment. Import \"disk-single-root\" in the host file, or use "
                                                "`keystone image` for a plain disk image.", path);
        }
        if (!keys && !unsigned_ && h.spec.secure_boot)
                keys = h.spec.sb_key_dir ? h.spec.sb_key_dir : SB_KEYS_DEFAULT_DIR;
        if (keys) {
                char db[PATH_MAX * 2];
                snprintf(db, sizeof db, "%s/keys/db/db.key", keys);
                if (access(db, R_OK) < 0) {
                        r = -errno;
                        image_cmd_host_done(&h);
                        return log_error_errno(r, "No Secure Boot db key at %s: %m. Make the owner's keys with "
                                                  "`keystone secureboot keygen --dir %s` (or build with --unsigned "
                                                  "for a machine without Secure Boot).", db, keys);
                }
        }
        h.spec.installed = true;

        ImageArtifacts a = {};
        _cleanup_free_ char *build_error = NULL;
        progress_enable(stderr, "build");
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGHUP, on_signal);
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

        const char *dir = g.dir;
        if (output) {
                if ((r = copy_tree(g.dir, output)) < 0) {
                        image_cmd_host_done(&h);
                        return log_error_errno(r, "Copying the generation from %s to %s failed: %m", g.dir, output);
                }
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
                };
                snprintf(rootfs, sizeof rootfs, "%s/%s", output, GENERATION_ROOTFS);
                r = image_cmd_manifest(path, &h, rootfs, a.keystone_version, arts, ELEMENTSOF(arts), output,
                                       output);
                if (r < 0) {
                        image_cmd_host_done(&h);
                        return log_error_errno(r, "Writing %s/manifest.json failed: %m", output);
                }
                dir = output;
        }
        char sz[32], usz[32];
        format_bytes(g.initrd_bytes, sz, sizeof sz);
        format_bytes(g.initrd_uncompressed_bytes, usz, sizeof usz);
        printf("generation %u of %s (%s): %s in %.1f s\n", number, h.spec.hostname, g.kernel_version,
               g.built ? "built" : "cached", g.seconds);
        printf("  in %s\n", dir);
        print_file(dir, GENERATION_ROOTFS, "root file system");
        print_file(dir, GENERATION_KERNEL, "kernel");
        char what[128];
        snprintf(what, sizeof what, "initrd: %zu modules, %zu files, %s uncompressed", g.initrd_modules,
                 g.initrd_files, usz);
        print_file(dir, GENERATION_INITRD, what);
        print_file(dir, GENERATION_UKI_UNSIGNED, "UKI, unsigned");
        char uki[64], rel[96];
        generation_esp_uki(number, uki, sizeof uki);
        snprintf(rel, sizeof rel, GENERATION_ESP "/%s", uki);
        print_file(dir, rel, g.signed_ ? "UKI, signed with the db key" : "UKI (unsigned)");
        print_file(dir, GENERATION_ESP "/" GENERATION_ESP_SYSTEMD_BOOT,
                   g.signed_ ? "systemd-boot, signed" : "systemd-boot (unsigned)");
        if (output)
                print_file(dir, "manifest.json", "inputs, packages, sha256 of each artifact");
        printf("  cmdline: %s\n", g.cmdline);
        if (!g.signed_)
                printf("  nothing is signed: this generation boots only with Secure Boot off\n");
        image_cmd_host_done(&h);
        return 0;
}
