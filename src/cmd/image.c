/* SPDX-License-Identifier: MIT */
/* keystone image HOST.toml: build (or find in the cache) a host's bootable
 * image: the rootfs and the disk with Keystone's generated files. */
#include <stdio.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "cmd/image-common.h"
#include "image/etc.h"
#include "image/image.h"
#include "image/lock.h"
#include "image/manifest.h"
#include "util/progress.h"

const char image_description[] =
        "Build a host's bootable Debian image, or find it in the cache: a rootfs\n"
        "(mmdebstrap, the role's packages) and an ext4 disk with Keystone's generated\n"
        "files, plus the kernel, initrd and kernel command line to boot it.\n"
        "Keystone itself, built from the source tree ($KEYSTONE_SRCDIR, $SRCDIR or\n"
        "the current directory) in a trixie build chroot, is installed as a .deb.\n"
        "Artifacts are cached under the cache directory by the hash of their inputs:\n"
        "  buildroot-<sha256>/root/                  the trixie build chroot\n"
        "  keystone-<sha256>/keystone_<v>_amd64.deb  Keystone, its Depends in depends\n"
        "  rootfs-<sha256>/rootfs.tar\n"
        "  disk-<sha256>/{root.img,vmlinuz,initrd.img,cmdline}";

const char image_epilog[] =
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

/* --etc-only DIR: the generated files alone, as the installed generation
 * has them (keystone build); a test image keeps the VM bench's ext4 root. */
static int etc_only(const char *path, ImageCmdHost *h, bool test, const char *dir) {
        h->spec.installed = !test;
        int r = write_etc(&h->spec, dir);
        if (r < 0)
                return log_error_errno(r, "Writing the generated files for %s under %s failed: %m", path, dir);
        return 0;
}

/* -o DIR: DIR/manifest.json for what image_build() made. */
static int write_manifest(const char *path, const ImageCmdHost *h, const ImageArtifacts *a, const char *output) {
        ManifestArtifact arts[6];
        size_t n = 0;
        arts[n++] = (ManifestArtifact) { "rootfs", a->rootfs_tar };
        arts[n++] = (ManifestArtifact) { "disk", a->disk };
        arts[n++] = (ManifestArtifact) { "kernel", a->kernel };
        arts[n++] = (ManifestArtifact) { "initrd", a->initrd };
        if (a->keystone_deb[0])
                arts[n++] = (ManifestArtifact) { "keystone-deb", a->keystone_deb };
        if (a->zfs_tar[0])
                arts[n++] = (ManifestArtifact) { "zfs-modules", a->zfs_tar };
        /* the disk stage adds Keystone's own .deb to what the rootfs holds */
        int r = image_cmd_manifest(path, h, a->rootfs_tar, a->keystone_version, arts, n, NULL, output);
        if (r < 0)
                return log_error_errno(r, "Writing %s/manifest.json failed: %m", output);
        printf("manifest %s/manifest.json\n", output);
        return 0;
}

int cmd_image(const CmdArgs *args) {
        const char *path = args->args[0], *cache = cmd_opt(args, IMAGE_OPT_CACHE_DIR);
        const char *etc_dir = cmd_opt(args, IMAGE_OPT_ETC_ONLY), *output = cmd_opt(args, IMAGE_OPT_OUTPUT_MANIFEST);
        bool test = cmd_flag(args, IMAGE_OPT_TEST);

        ImageCmdHost h;
        int r = image_cmd_load(path, args, test,
                               cmd_flag(args, IMAGE_OPT_UNLOCKED) || etc_dir, &h);
        if (r < 0)
                return r;
        if (etc_dir) {
                r = etc_only(path, &h, test, etc_dir);
                image_cmd_host_done(&h);
                return r;
        }
        ImageArtifacts a = {};
        _cleanup_free_ char *build_error = NULL;
        progress_enable(stderr, "image");
        image_cmd_catch_signals();
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
        if (output && (r = write_manifest(path, &h, &a, output)) < 0) {
                image_cmd_host_done(&h);
                return r;
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
