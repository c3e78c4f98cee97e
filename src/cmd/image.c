/* SPDX-License-Identifier: MIT */
/* keystone image HOST.toml: build (or find in the cache) a host's bootable
 * image: the rootfs and the disk with Keystone's generated files. */
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "cmd/image-common.h"
#include "image/etc.h"
#include "image/image.h"
#include "image/lock.h"
#include "image/manifest.h"
#include "util/progress.h"

static const char help[] =
        "Usage: keystone image [OPTIONS] HOST.toml\n"
        "\n"
        "Build a host's bootable Debian image, or find it in the cache: a rootfs\n"
        "(mmdebstrap, the role's packages) and an ext4 disk with Keystone's generated\n"
        "files, plus the kernel, initrd and kernel command line to boot it.\n"
        "Keystone itself, built from the source tree ($KEYSTONE_SRCDIR, $SRCDIR or\n"
        "the current directory) in a trixie build chroot, is installed as a .deb.\n"
        "Artifacts are cached under the cache directory by the hash of their inputs:\n"
        "  buildroot-<sha256>/root/                  the trixie build chroot\n"
        "  keystone-<sha256>/keystone_<v>_amd64.deb  Keystone, its Depends in depends\n"
        "  rootfs-<sha256>/rootfs.tar\n"
        "  disk-<sha256>/{root.img,vmlinuz,initrd.img,cmdline}\n"
        "\n"
        "Options:\n"
        "      --test            add the root test shell the VM test driver talks to\n"
        "                        (never for real machines)\n"
        "      --ssh-key=KEY     add this public key line to every user\n"
        "      --cache-dir=DIR   default $KEYSTONE_CACHE_DIR or /var/cache/keystone\n"
        "  -o, --output=DIR      write DIR/manifest.json: the inputs' hash (host file,\n"
        "                        its imports, keystone.lock, Keystone's version), the\n"
        "                        rootfs's package versions, each artifact's path, size\n"
        "                        and sha256 (the artifacts stay in the cache)\n"
        "      --unlocked        ignore keystone.lock beside HOST.toml (install the\n"
        "                        archive's current versions)\n"
        "      --etc-only=DIR    build nothing: write Keystone's generated files (sshd,\n"
        "                        nftables, avahi, fstab, crypttab, users…) under DIR, as\n"
        "                        the installed generation has them (`keystone build`)\n"
        "  -h, --help            this text\n"
        "\n"
        "With keystone.lock beside HOST.toml (see `keystone lock`), the image gets\n"
        "exactly the locked versions: the build stops before anything slow, naming the\n"
        "package, when the lock lacks one or the archive no longer serves a locked\n"
        "version; run `keystone lock HOST.toml` then.\n"
        "\n"
        "Prints one line per artifact: NAME PATH (keystone, rootfs, disk, kernel, initrd),\n"
        "then 'cmdline ...', then 'built' or 'cached' per stage with seconds.\n";

static int write_etc(const ImageSpec *spec, const char *dir) {
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        GenList l = {};
        int r = image_etc_generate(spec, "00000000-0000-4000-8000-000000000000", &l);
        if (r >= 0)
                r = gen_list_apply(&l, dir, (time_t) spec->source_date_epoch);
        gen_list_done(&l);
        return r;
}

/* the ZFS module build runs in a process group of its own: end it too */
static void on_signal(int sig) {
        image_build_stop_from_signal();
        signal(sig, SIG_DFL);
        raise(sig);
}

int cmd_image(int argc, char **argv) {
        static const struct option opts[] = {
                CMD_COMMON_OPTIONS,
                { "test", no_argument, NULL, 't' },
                { "ssh-key", required_argument, NULL, 'k' },
                { "cache-dir", required_argument, NULL, 'c' },
                { "etc-only", required_argument, NULL, 'e' },
                { "unlocked", no_argument, NULL, 'u' },
                { "output", required_argument, NULL, 'o' },
                {}
        };
        bool test = false, unlocked = false;
        const char *key = NULL, *cache = NULL, *etc_only = NULL, *output = NULL;
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(help);
                case 't':
                        test = true;
                        break;
                case 'k':
                        key = optarg;
                        break;
                case 'c':
                        cache = optarg;
                        break;
                case 'e':
                        etc_only = optarg;
                        break;
                case 'u':
                        unlocked = true;
                        break;
                case 'o':
                        output = optarg;
                        break;
                default:
                        return cmd_usage_error("image", "unknown option");
                }
        int r = cmd_check_args("image", argc - optind);
        if (r < 0)
                return r;
        const char *path = argv[optind];

        ImageCmdHost h;
        if ((r = image_cmd_load(path, key, test, unlocked || etc_only, &h)) < 0)
                return r;
        if (etc_only) {
                /* as the installed generation has them (keystone build);
                 * a test image keeps the VM bench's ext4 root */
                h.spec.installed = !test;
                r = write_etc(&h.spec, etc_only);
                image_cmd_host_done(&h);
                if (r < 0)
                        return log_error_errno(r, "Writing the generated files for %s under %s failed: %m", path,
                                               etc_only);
                return 0;
        }
        ImageArtifacts a = {};
        _cleanup_free_ char *build_error = NULL;
        progress_enable(stderr, "image");
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGHUP, on_signal);
        r = image_build(&h.spec, cache, &a, &build_error);
        progress_disable();
        if (r < 0) {
                image_cmd_host_done(&h);
                if (build_error && (r == -ENOPKG || r == -ESTALE))
                        return log_error_errno(r, "Building the image for %s failed: %s. Run `keystone lock %s` to "
                                                  "pin the archive's current versions (or --unlocked to build "
                                                  "without the lock).", path, build_error, path);
                if (build_error)
                        return log_error_errno(r, "Building the image for %s failed: %s", path, build_error);
                return log_error_errno(r, "Building the image for %s failed: %m. The build logs are in the "
                                          "cache directory's *.tmp directories (build.log, mkfs.log); "
                                          "run with --verbose to see every command.", path);
        }
        if (output) {
                ManifestArtifact arts[6];
                size_t n = 0;
                arts[n++] = (ManifestArtifact) { "rootfs", a.rootfs_tar };
                arts[n++] = (ManifestArtifact) { "disk", a.disk };
                arts[n++] = (ManifestArtifact) { "kernel", a.kernel };
                arts[n++] = (ManifestArtifact) { "initrd", a.initrd };
                if (a.keystone_deb[0])
                        arts[n++] = (ManifestArtifact) { "keystone-deb", a.keystone_deb };
                if (a.zfs_tar[0])
                        arts[n++] = (ManifestArtifact) { "zfs-modules", a.zfs_tar };
                /* the disk stage adds Keystone's own .deb to what the rootfs holds */
                r = image_cmd_manifest(path, &h, a.rootfs_tar, a.keystone_version, arts, n, NULL, output);
                if (r < 0) {
                        image_cmd_host_done(&h);
                        return log_error_errno(r, "Writing %s/manifest.json failed: %m", output);
                }
                printf("manifest %s/manifest.json\n", output);
        }
        image_cmd_host_done(&h);
        printf("keystone %s\n", a.keystone_deb);
        printf("rootfs %s\ndisk %s\nkernel %s\ninitrd %s\ncmdline %s\n", a.rootfs_tar, a.disk, a.kernel, a.initrd,
               a.cmdline);
        printf("buildroot-stage %s %.1f\nkeystone-stage %s %.1f\n", a.buildroot_built ? "built" : "cached",
               a.buildroot_seconds, a.keystone_built ? "built" : "cached", a.keystone_seconds);
        printf("rootfs-stage %s %.1f\ndisk-stage %s %.1f\n", a.rootfs_built ? "built" : "cached", a.rootfs_seconds,
               a.disk_built ? "built" : "cached", a.disk_seconds);
        return 0;
}
