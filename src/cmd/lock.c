/* SPDX-License-Identifier: MIT */
/* keystone lock HOST.toml: resolve the exact version of every package the
 * host's image installs and write keystone.lock beside the host file. */
#include <stdio.h>
#include <time.h>

#include "cmd/cmd.h"
#include "cmd/config-load.h"
#include "cmd/image-common.h"
#include "image/apt-archive.h"
#include "image/cache.h"
#include "image/image.h"
#include "image/keystone-deb.h"
#include "image/lock.h"
#include "util/strv.h"

const char lock_description[] =
        "Resolve the exact Debian version of every package the host's image installs\n"
        "and write them to keystone.lock beside the host file (sorted, one\n"
        "\"package\" = \"version\" line each, with the archive, suite and the time of\n"
        "resolution).  The set is what the image builder installs: Essential packages\n"
        "and apt (mmdebstrap's apt variant), the role's packages, the kernel, the\n"
        "host's packages, zfsutils-linux for ZFS hosts and Keystone's own runtime\n"
        "dependencies (the Depends of its .deb, built or found in the cache), with all\n"
        "their dependencies, for Debian trixie main+contrib on amd64.\n"
        "\n"
        "apt runs with a private configuration, lists and an empty dpkg status under\n"
        "the cache directory (apt-<sha256 of the sources>/): nothing of this machine's\n"
        "apt state is read or changed.\n"
        "\n"
        "`keystone image` then installs exactly these versions, and stops, naming the\n"
        "package, when the archive no longer serves one: run `keystone lock` again.";

const char lock_epilog[] = "Prints the lock file's path, the number of packages and the suite's release.\n";

/* The packages the image builder installs: the spec's and, unless
 * without_keystone, the Depends of Keystone's .deb (built or found in the
 * cache), exactly as the builder adds them. */
static int lock_package_names(const char *path, const ImageSpec *spec, const char *cache, bool without_keystone,
                              char ***ret) {
        ImageSpec with_deps = *spec;
        ImageArtifacts a = {};
        KeystoneLayer layer = {};
        int r;
        if (!without_keystone) {
                r = image_keystone_layer(spec, cache, &a, &with_deps, &layer);
                if (r == -ENOENT && keystone_source_dir((char[PATH_MAX]) {}) < 0)
                        return log_error_errno(r, "Keystone's source tree (for its .deb's runtime dependencies) "
                                                  "is not here: run in it, set KEYSTONE_SRCDIR, or use "
                                                  "--without-keystone.");
                if (r < 0)
                        return log_error_errno(r, "Building Keystone's .deb (for its runtime dependencies) failed: "
                                                  "%m. See the build logs under %s/keystone-*.tmp, or use "
                                                  "--without-keystone.", cache);
        }
        r = image_package_names(&with_deps, ret);
        keystone_layer_done(&layer);
        if (r < 0)
                return log_error_errno(r, "%s: cannot list the image's packages: %m", path);
        return 0;
}

/* Every name at the version the archive serves now. */
static int lock_resolve(const char *path, const ImageSpec *spec, const char *cache, char **names, ImageLock *lock) {
        _cleanup_free_ char *err = NULL;
        AptArchive ar;
        int r = apt_archive_open(cache, spec->suite, spec->mirror, "main contrib", &ar, &err);
        if (r >= 0) {
                r = apt_archive_resolve(&ar, names, lock, &err);
                apt_archive_close(&ar);
        }
        if (r < 0)
                return log_error_errno(r, "Resolving the packages of %s failed: %s. Check the package names in the "
                                          "host file and its modules, and that %s is reachable.",
                                       path, err ? err : strerror(-r), spec->mirror);
        /* apt named every package asked for, or it is not what the builder installs */
        for (size_t i = 0; names[i]; i++)
                if (!image_lock_version(lock, names[i]))
                        return log_error_errno(-ENOPKG, "apt resolved the set without %s (a virtual package?); "
                                                        "name the real package in %s", names[i], path);
        return 0;
}

/* The archive the lock was resolved against, and when. */
static int lock_set_archive(ImageLock *lock, const ImageSpec *spec) {
        char when[32];
        time_t now = time(NULL);
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
        if (!(lock->suite = strdup(spec->suite)) || !(lock->mirror = strdup(spec->mirror)) ||
            !(lock->components = strdup("main contrib")) || !(lock->architecture = strdup(APT_ARCHITECTURE)) ||
            !(lock->resolved = strdup(when)))
                return log_error_errno(-ENOMEM, "Out of memory");
        return 0;
}

int cmd_lock(const CmdArgs *a) {
        const char *path = a->args[0], *output = cmd_opt(a, IMAGE_OPT_OUTPUT_LOCK);
        const char *cache = cmd_opt(a, IMAGE_OPT_CACHE_DIR) ?: cache_dir_default();
        bool without_keystone = cmd_flag(a, IMAGE_OPT_WITHOUT_KEYSTONE);

        ImageSpec spec = {};
        int r = cmd_host_load(path, NULL, &spec);
        if (r < 0)
                return r;
        char lock_path[PATH_MAX];
        if (output)
                snprintf(lock_path, sizeof lock_path, "%s", output);
        else if ((r = image_lock_path(path, lock_path, sizeof lock_path)) < 0) {
                image_spec_done(&spec);
                return log_error_errno(r, "%s: cannot name the lock file beside it: %m", path);
        }

        _cleanup_strv_free_ char **names = NULL;
        ImageLock lock = {};
        r = lock_package_names(path, &spec, cache, without_keystone, &names);
        if (r >= 0)
                r = lock_resolve(path, &spec, cache, names, &lock);
        if (r >= 0)
                r = lock_set_archive(&lock, &spec);
        image_spec_done(&spec);
        if (r >= 0 && (r = image_lock_save(&lock, lock_path)) < 0)
                log_error_errno(r, "Cannot write %s: %m", lock_path);
        if (r >= 0)
                printf("%s: %zu packages from %s %s (release %s)%s\n", lock_path, lock.n_packages, lock.mirror,
                       lock.suite, lock.release ? lock.release : "unknown",
                       without_keystone ? ", without Keystone's dependencies" : "");
        image_lock_done(&lock);
        return r;
}
