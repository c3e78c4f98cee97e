/* SPDX-License-Identifier: MIT */
/* keystone lock HOST.toml: resolve the exact version of every package the
 * host's image installs and write keystone.lock beside the host file. */
#include <stdio.h>
#include <time.h>

#include "cmd/cmd.h"
#include "cmd/config-load.h"
#include "image/apt-archive.h"
#include "image/cache.h"
#include "image/image.h"
#include "image/keystone-deb.h"
#include "image/lock.h"

static const char help[] =
        "Usage: keystone lock [OPTIONS] HOST.toml\n"
        "\n"
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
        "package, when the archive no longer serves one: run `keystone lock` again.\n"
        "\n"
        "Options:\n"
        "      --without-keystone  leave out Keystone's own runtime dependencies (no\n"
        "                          .deb build; such a lock cannot build an image)\n"
        "  -o, --output=FILE       write here instead of keystone.lock beside HOST.toml\n"
        "      --cache-dir=DIR     default $KEYSTONE_CACHE_DIR or /var/cache/keystone\n"
        "  -h, --help              this text\n"
        "\n"
        "Prints the lock file's path, the number of packages and the suite's release.\n";

static void names_free(char **v) {
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

int cmd_lock(int argc, char **argv) {
        static const struct option opts[] = {
                CMD_COMMON_OPTIONS,
                { "without-keystone", no_argument, NULL, 'K' },
                { "output", required_argument, NULL, 'o' },
                { "cache-dir", required_argument, NULL, 'c' },
                {}
        };
        bool without_keystone = false;
        const char *cache = NULL, *output = NULL;
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(help);
                case 'K':
                        without_keystone = true;
                        break;
                case 'o':
                        output = optarg;
                        break;
                case 'c':
                        cache = optarg;
                        break;
                default:
                        return cmd_usage_error("lock", "unknown option");
                }
        int r = cmd_check_args("lock", argc - optind);
        if (r < 0)
                return r;
        const char *path = argv[optind];
        if (!cache)
                cache = cache_dir_default();

        _cleanup_free_ char *err = NULL;
        ImageSpec spec = {};
        if ((r = cmd_host_load(path, NULL, &spec)) < 0)
                return r;

        char lock_path[PATH_MAX];
        if (output)
                snprintf(lock_path, sizeof lock_path, "%s", output);
        else if ((r = image_lock_path(path, lock_path, sizeof lock_path)) < 0) {
                image_spec_done(&spec);
                return log_error_errno(r, "%s: cannot name the lock file beside it: %m", path);
        }

        /* Keystone's Depends join the set, exactly as the image builder adds them */
        ImageSpec with_deps = spec;
        ImageArtifacts a = {};
        KeystoneLayer layer = {};
        if (!without_keystone) {
                r = image_keystone_layer(&spec, cache, &a, &with_deps, &layer);
                if (r == -ENOENT && keystone_source_dir((char[PATH_MAX]) {}) < 0) {
                        image_spec_done(&spec);
                        return log_error_errno(r, "Keystone's source tree (for its .deb's runtime dependencies) "
                                                  "is not here: run in it, set KEYSTONE_SRCDIR, or use "
                                                  "--without-keystone.");
                }
                if (r < 0) {
                        image_spec_done(&spec);
                        return log_error_errno(r, "Building Keystone's .deb (for its runtime dependencies) failed: "
                                                  "%m. See the build logs under %s/keystone-*.tmp, or use "
                                                  "--without-keystone.", cache);
                }
        }
        char **names = NULL;
        r = image_package_names(&with_deps, &names);
        keystone_layer_done(&layer);
        if (r < 0) {
                image_spec_done(&spec);
                return log_error_errno(r, "%s: cannot list the image's packages: %m", path);
        }

        ImageLock lock = {};
        AptArchive ar;
        r = apt_archive_open(cache, spec.suite, spec.mirror, "main contrib", &ar, &err);
        if (r >= 0) {
                r = apt_archive_resolve(&ar, names, &lock, &err);
                apt_archive_close(&ar);
        }
        if (r < 0) {
                log_error_errno(r, "Resolving the packages of %s failed: %s. Check the package names in the host "
                                   "file and its modules, and that %s is reachable.",
                                path, err ? err : strerror(-r), spec.mirror);
                names_free(names);
                image_lock_done(&lock);
                image_spec_done(&spec);
                return r;
        }
        /* apt named every package asked for, or it is not what the builder installs */
        for (size_t i = 0; names[i]; i++)
                if (!image_lock_version(&lock, names[i])) {
                        log_error("apt resolved the set without %s (a virtual package?); name the real package "
                                  "in %s",
                                  names[i], path);
                        names_free(names);
                        image_lock_done(&lock);
                        image_spec_done(&spec);
                        return -ENOPKG;
                }
        names_free(names);

        char when[32];
        time_t now = time(NULL);
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
        if (!(lock.suite = strdup(spec.suite)) || !(lock.mirror = strdup(spec.mirror)) ||
            !(lock.components = strdup("main contrib")) || !(lock.architecture = strdup(APT_ARCHITECTURE)) ||
            !(lock.resolved = strdup(when))) {
                image_lock_done(&lock);
                image_spec_done(&spec);
                return log_error_errno(-ENOMEM, "Out of memory");
        }
        image_spec_done(&spec);
        r = image_lock_save(&lock, lock_path);
        if (r < 0) {
                image_lock_done(&lock);
                return log_error_errno(r, "Cannot write %s: %m", lock_path);
        }
        printf("%s: %zu packages from %s %s (release %s)%s\n", lock_path, lock.n_packages, lock.mirror, lock.suite,
               lock.release ? lock.release : "unknown",
               without_keystone ? ", without Keystone's dependencies" : "");
        image_lock_done(&lock);
        return 0;
}
