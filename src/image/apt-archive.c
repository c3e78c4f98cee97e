/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/apt-archive.h"
#include "image/cache.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/run.h"

#define APT_RECIPE "keystone-apt 1"

static int write_file(const char *path, const char *text) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        size_t n = strlen(text);
        return write(fd, text, n) == (ssize_t) n ? 0 : -EIO;
}

static int set_error(char **ret_error, const char *fmt, ...) _printf_(2, 3);
static int set_error(char **ret_error, const char *fmt, ...) {
        if (ret_error) {
                va_list ap;
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return 0;
}

static int apt_run(const AptArchive *a, const char *const *argv, int timeout_ms, RunResult *res) {
        char env[PATH_MAX + 16];
        snprintf(env, sizeof env, "APT_CONFIG=%s", a->conf);
        char *envv[] = { env, (char *) "LC_ALL=C.UTF-8", (char *) "DEBIAN_FRONTEND=noninteractive", NULL };
        /* a read-only query of the archive: safe under --dry-run too */
        return run(argv, &(RunOptions) { .env_extra = envv, .timeout_ms = timeout_ms, .ignore_dry_run = true },
                   res);
}

int apt_archive_open(const char *cache, const char *suite, const char *mirror, const char *components,
                     AptArchive *ret, char **ret_error) {
        AptArchive a = { .lock_fd = -1 };
        if (snprintf(a.suite, sizeof a.suite, "%s", suite) >= (int) sizeof a.suite ||
            snprintf(a.mirror, sizeof a.mirror, "%s", mirror) >= (int) sizeof a.mirror ||
            snprintf(a.components, sizeof a.components, "%s", components) >= (int) sizeof a.components)
                return -ENAMETOOLONG;
        _cleanup_free_ char *sources = NULL, *conf = NULL;
        if (asprintf(&sources, "deb [arch=%s signed-by=%s] %s %s %s\n", APT_ARCHITECTURE, APT_KEYRING, mirror, suite,
                     components) < 0)
                return -ENOMEM;
        _cleanup_free_ char *key = NULL;
        if (asprintf(&key, "%s\n%s", APT_RECIPE, sources) < 0)
                return -ENOMEM;
        int r = cache_sha256_hex(key, strlen(key), a.hash);
        if (r < 0)
                return r;
        if (mkdir(cache, 0755) < 0 && errno != EEXIST)
                return -errno;
        if (snprintf(a.dir, sizeof a.dir, "%s/apt-%s", cache, a.hash) >= (int) sizeof a.dir)
                return -ENAMETOOLONG;
        snprintf(a.conf, sizeof a.conf, "%s/apt.conf", a.dir);
        a.lock_fd = cache_lock(cache, "apt", a.hash);
        if (a.lock_fd < 0)
                return a.lock_fd;
        static const char *const subs[] = { "etc", "etc/apt.conf.d", "etc/preferences.d", "etc/trusted.gpg.d",
                                            "lists", "lists/partial", "archives", "archives/partial", NULL };
        for (size_t i = 0; subs[i]; i++) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s", a.dir, subs[i]) < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
                if ((r = mkdir_p(p, 0755, NULL)) < 0)
                        goto fail;
        }
        /* Dir::Etc is ours: the machine's apt.conf.d, sources and
         * preferences play no part; an empty dpkg status is "nothing
         * installed", as in mmdebstrap's first step */
        if (asprintf(&conf,
                     "Dir \"/\";\n"
                     "Dir::Etc \"%1$s/etc\";\n"
                     "Dir::Etc::sourcelist \"%1$s/sources.list\";\n"
                     "Dir::Etc::sourceparts \"-\";\n"
                     "Dir::State \"%1$s\";\n"
                     "Dir::State::lists \"%1$s/lists\";\n"
                     "Dir::State::status \"%1$s/status\";\n"
                     "Dir::Cache \"%1$s\";\n"
                     "Dir::Cache::archives \"%1$s/archives\";\n"
                     "Dir::Cache::pkgcache \"\";\n"
                     "Dir::Cache::srcpkgcache \"\";\n"
                     "Dir::Log \"%1$s\";\n"
                     "APT::Architecture \"%2$s\";\n"
                     "APT::Architectures { \"%2$s\"; };\n"
                     "APT::Install-Recommends \"false\";\n"
                     "APT::Sandbox::User \"root\";\n"
                     "Debug::NoLocking \"true\";\n"
                     "Acquire::Languages \"none\";\n"
                     "Acquire::http::Timeout \"30\";\n"
                     "Acquire::Retries \"2\";\n"
                     "Acquire::GzipIndexes \"false\";\n"
                     "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled \"false\";\n",
                     a.dir, APT_ARCHITECTURE) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/sources.list", a.dir);
        if ((r = write_file(p, sources)) < 0 || (r = write_file(a.conf, conf)) < 0)
                goto fail;
        snprintf(p, sizeof p, "%s/status", a.dir);
        if ((r = write_file(p, "")) < 0)
                goto fail;

        const char *argv[] = { "apt-get", "-q", "update", NULL };
        RunResult res = {};
        /* a stalled mirror must not hold the build (or a test) for long */
        r = apt_run(&a, argv, 4 * 60 * 1000, &res);
        if (r < 0) {
                set_error(ret_error, "apt-get update for %s %s (%s) failed: %s", mirror, suite, components,
                          r == -EPROTO      ? run_result_describe(&res)
                          : r == -ETIMEDOUT ? "no answer within 4 minutes (the archive is unreachable?)"
                                            : strerror(-r));
                run_result_done(&res);
                goto fail;
        }
        /* apt exits 0 even when it could not fetch a source ("W: Failed to fetch") */
        if (res.err && (strstr(res.err, "Failed to fetch") || strstr(res.err, "not signed") ||
                        strstr(res.err, "NO_PUBKEY"))) {
                set_error(ret_error, "apt-get update for %s %s (%s) could not fetch the index: %s", mirror, suite,
                          components, res.err);
                run_result_done(&res);
                r = -EHOSTUNREACH;
                goto fail;
        }
        run_result_done(&res);
        *ret = a;
        return 0;
fail:
        if (a.lock_fd >= 0)
                close(a.lock_fd);
        return r;
}

void apt_archive_close(AptArchive *a) {
        if (a && a->lock_fd >= 0) {
                close(a->lock_fd);
                a->lock_fd = -1;
        }
}

int apt_archive_resolve(const AptArchive *a, char *const *packages, ImageLock *l, char **ret_error) {
        size_t n = 0;
        while (packages && packages[n])
                n++;
        _cleanup_free_ const char **argv = calloc(n + 8, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        size_t k = 0;
        argv[k++] = "apt-get";
        argv[k++] = "-q";
        argv[k++] = "--simulate";
        argv[k++] = "install";
        /* mmdebstrap --variant=apt: Essential packages and apt first */
        argv[k++] = "?essential";
        argv[k++] = "apt";
        for (size_t i = 0; i < n; i++)
                argv[k++] = packages[i];
        argv[k] = NULL;
        RunResult res = {};
        int r = apt_run(a, argv, 4 * 60 * 1000, &res);
        if (r < 0) {
                set_error(ret_error, "apt could not resolve the package set against %s %s: %s", a->mirror, a->suite,
                          r == -EPROTO ? run_result_describe(&res) : strerror(-r));
                run_result_done(&res);
                return r == -EPROTO ? -ENOPKG : r;
        }
        r = image_lock_add_apt_simulation(l, res.out ? res.out : "");
        run_result_done(&res);
        if (r == 0) {
                set_error(ret_error, "apt's simulation installed nothing (an empty archive index?)");
                return -ENOPKG;
        }
        if (r < 0) {
                set_error(ret_error, "cannot read apt's simulation output");
                return r;
        }
        return 0;
}

static int index_file(AptIndex *x, const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size == 0)
                return 0;
        void *m = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED)
                return -errno;
        int r = apt_index_add_packages_file(x, m, (size_t) st.st_size);
        munmap(m, (size_t) st.st_size);
        return r;
}

int apt_archive_index(const AptArchive *a, AptIndex *ret) {
        char lists[PATH_MAX];
        snprintf(lists, sizeof lists, "%s/lists", a->dir);
        DIR *d = opendir(lists);
        if (!d)
                return -errno;
        AptIndex x = {};
        int r = 0, files = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
                size_t n = strlen(e->d_name);
                if (n < 9 || strcmp(e->d_name + n - 9, "_Packages") != 0)
                        continue;
                char p[PATH_MAX + 256];
                snprintf(p, sizeof p, "%s/%s", lists, e->d_name);
                if ((r = index_file(&x, p)) < 0)
                        break;
                files++;
        }
        closedir(d);
        if (r >= 0 && files == 0)
                r = -ENOENT;
        if (r < 0) {
                apt_index_done(&x);
                return r;
        }
        apt_index_sort(&x);
        *ret = x;
        return 0;
}
