/* SPDX-License-Identifier: MIT */
/* Keystone built in a cached trixie build chroot and packaged as a .deb
 * (see keystone-deb.h). */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <time.h>

#include "image/cache.h"
#include "image/keystone-deb.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/progress.h"
#include "util/run.h"
#include "util/strv.h"

/* Bump when a stage's recipe changes in a way its inputs text does not show. */
#define BUILDROOT_RECIPE "keystone-buildroot 1"
#define DEB_RECIPE "keystone-deb 1"
#define CHROOT_PATH "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

/* The parts of the tree `make build/keystone` reads; tests and docs do not
 * change the binary. */
static const char *const build_inputs[] = { "Makefile", "mk", "src", "modules", "scripts", NULL };

void keystone_deb_done(KeystoneDeb *k) {
        free(k->depends);
        k->depends = NULL;
}

static bool is_source_tree(const char *dir) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/src/keystone.c", dir);
        return access(p, R_OK) == 0;
}

int keystone_source_dir(char out[static PATH_MAX]) {
        const char *cands[] = { getenv("KEYSTONE_SRCDIR"), getenv("SRCDIR"), "." };
        for (size_t i = 0; i < ELEMENTSOF(cands); i++) {
                if (!cands[i] || !*cands[i] || !is_source_tree(cands[i]))
                        continue;
                if (!realpath(cands[i], out))
                        return -errno;
                return 0;
        }
        return -ENOENT;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* build-essential, pkg-config and every "-dev" package of the mk/deps lists
 * (but fuzz.list: clang's runtime serves libFuzzer builds only), sorted,
 * comma-joined.  The lists are the one place build dependencies are
 * named; this derives the chroot's from them. */
static int buildroot_packages(const char *src, char **ret) {
        char pattern[PATH_MAX + 32];
        PATHF(pattern, "%s/mk/deps/*.list", src);
        glob_t g = {};
        if (glob(pattern, 0, NULL, &g) != 0) {
                globfree(&g);
                return -ENOENT;
        }
        char **names = NULL;
        size_t n = 0;
        int r = 0;
        const char *fixed[] = { "build-essential", "pkg-config" };
        for (size_t i = 0; i < ELEMENTSOF(fixed) + 0; i++) {
                char **nn = realloc(names, (n + 1) * sizeof(char *));
                if (!nn || !(nn[n] = strdup(fixed[i]))) {
                        names = nn ? nn : names;
                        r = -ENOMEM;
                        goto out;
                }
                names = nn;
                n++;
        }
        for (size_t i = 0; i < g.gl_pathc; i++) {
                const char *base = strrchr(g.gl_pathv[i], '/');
                if (base && streq(base + 1, "fuzz.list"))
                        continue;
                _cleanup_fclose_ FILE *f = fopen(g.gl_pathv[i], "re");
                if (!f) {
                        r = -errno;
                        goto out;
                }
                char line[256];
                while (fgets(line, sizeof line, f)) {
                        line[strcspn(line, "#\n")] = 0;
                        char *s = line;
                        while (isspace((unsigned char) *s))
                                s++;
                        size_t l = strlen(s);
                        while (l > 0 && isspace((unsigned char) s[l - 1]))
                                s[--l] = 0;
                        if (l < 5 || !streq(s + l - 4, "-dev"))
                                continue;
                        char **nn = realloc(names, (n + 1) * sizeof(char *));
                        if (!nn) {
                                r = -ENOMEM;
                                goto out;
                        }
                        names = nn;
                        if (!(names[n] = strdup(s))) {
                                r = -ENOMEM;
                                goto out;
                        }
                        n++;
                }
        }
        qsort(names, n, sizeof(char *), cmp_str);
        char *buf = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&buf, &size);
        if (!m) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0, w = 0; i < n; i++)
                if (i == 0 || !streq(names[i], names[i - 1]))
                        fprintf(m, "%s%s", w++ ? "," : "", names[i]);
        fclose(m);
        *ret = buf;
out:
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        globfree(&g);
        return r;
}

static int stage_buildroot(const char *src, const char *suite, const char *mirror, unsigned long long epoch,
                           const char *cache, KeystoneDeb *k, char root[static PATH_MAX]) {
        _cleanup_free_ char *pkgs = NULL, *inputs = NULL;
        int r = buildroot_packages(src, &pkgs);
        if (r < 0)
                return log_debug_errno(r, "Cannot read %s/mk/deps/*.list: %m", src);
        if (asprintf(&inputs, "%s\nsuite=%s\nmirror=%s\nvariant=apt\nsource_date_epoch=%llu\npackages=%s\n",
                     BUILDROOT_RECIPE, suite, mirror, epoch, pkgs) < 0)
                return -ENOMEM;
        if ((r = cache_sha256_hex(inputs, strlen(inputs), k->buildroot_hash)) < 0)
                return r;
        char dir[PATH_MAX - 8], done[PATH_MAX + 16];
        PATHF(dir, "%s/buildroot-%s", cache, k->buildroot_hash);
        PATHF(done, "%s/inputs.txt", dir);
        snprintf(root, PATH_MAX, "%s/root", dir);
        _cleanup_close_ int lock = cache_lock(cache, "buildroot", k->buildroot_hash);
        if (lock < 0)
                return lock;
        if (access(done, R_OK) == 0) {
                progress_cached("build chroot");
                return 0;
        }
        progress_begin("build chroot");

        double t0 = monotonic_seconds();
        char tmp[PATH_MAX], troot[PATH_MAX + 8], inc[4096], ep[64];
        PATHF(tmp, "%s.tmp", dir);
        PATHF(troot, "%s/root", tmp);
        (void) cache_rm_rf(tmp);
        if (mkdir(tmp, 0755) < 0)
                return -errno;
        snprintf(inc, sizeof inc, "--include=%s", pkgs);
        snprintf(ep, sizeof ep, "SOURCE_DATE_EPOCH=%llu", epoch);
        const char *argv[] = { "mmdebstrap", "--variant=apt", inc, suite, troot, mirror, NULL };
        char *env[] = { ep, NULL };
        RunResult res = {};
        r = run(argv, &(RunOptions) { .env_extra = env, .timeout_ms = 30 * 60 * 1000 }, &res);
        (void) cache_save_log(tmp, "build.log", &res);
        run_result_done(&res);
        if (r < 0)
                return log_debug_errno(r, "mmdebstrap of the build chroot failed, see %s/build.log: %m", tmp);
        if ((r = cache_commit(tmp, dir, inputs)) < 0)
                return r;
        k->buildroot_built = true;
        k->buildroot_seconds = monotonic_seconds() - t0;
        return 0;
}

/* The build inputs git knows about (tracked, or new and not ignored), as a
 * NUL-separated list in *ret (RunResult.out). */
static int source_files(const char *src, RunResult *ret) {
        const char *argv[16] = { "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--" };
        size_t i = 7;
        for (size_t j = 0; build_inputs[j]; j++)
                argv[i++] = build_inputs[j];
        argv[i] = NULL;
        return run(argv, &(RunOptions) { .cwd = src, .ignore_dry_run = true }, ret);
}

/* The source manifest: one line "mode sha256 path" per existing regular
 * file (git still lists files deleted from the work tree). */
static int source_manifest(const char *src, const RunResult *files, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&buf, &size);
        if (!m)
                return -ENOMEM;
        int r = 0;
        for (const char *f = files->out; f < files->out + files->out_size; f += strlen(f) + 1) {
                char p[PATH_MAX];
                if (snprintf(p, sizeof p, "%s/%s", src, f) >= (int) sizeof p) {
                        r = -ENAMETOOLONG;
                        break;
                }
                struct stat st;
                if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                _cleanup_free_ char *data = NULL;
                size_t n;
                char hex[65];
                if ((r = read_file_text(p, 0, &data, &n)) < 0 || (r = cache_sha256_hex(data ? data : "", n, hex)) < 0)
                        break;
                fprintf(m, "%s %s %s\n", st.st_mode & 0111 ? "755" : "644", hex, f);
        }
        fclose(m);
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        return 0;
}

static int source_version(const char *src, char *out, size_t size) {
        const char *argv[] = { "git", "describe", "--always", "--dirty", "--tags", NULL };
        RunResult res = {};
        int r = run(argv, &(RunOptions) { .cwd = src, .ignore_dry_run = true }, &res);
        if (r == 0)
                snprintf(out, size, "%.*s", (int) strcspn(res.out, "\n"), res.out);
        run_result_done(&res);
        if (r < 0 || !out[0])
                snprintf(out, size, "unknown");
        return 0;
}

/* A Debian version from git describe.  A release tag ("v1.2" or "1.2",
 * possibly "-N-gHASH" after it) gives 1.2+N+gHASH; a bare commit gives
 * 0+gHASH (a Debian version starts with a digit, and '-' would start a
 * Debian revision). */
static void deb_version_from(const char *v, char *out, size_t size) {
        if (v[0] == 'v' && isdigit((unsigned char) v[1]))
                v++;
        bool release = isdigit((unsigned char) v[0]) && strchr(v, '.') && strcspn(v, ".") < strcspn(v, "-");
        snprintf(out, size, "%s%s", release ? "" : "0+g", v);
        for (char *c = out; *c; c++)
                if (!isalnum((unsigned char) *c) && *c != '.' && *c != '+' && *c != '~')
                        *c = '+';
}

static int copy_file(const char *from, const char *to) {
        const char *argv[] = { "cp", "--preserve=mode", "--", from, to, NULL };
        return run(argv, NULL, NULL);
}

/* Copies the files of the list into dest, making parent directories. */
static int copy_sources(const char *src, const RunResult *files, const char *dest) {
        for (const char *f = files->out; f < files->out + files->out_size; f += strlen(f) + 1) {
                char from[PATH_MAX], to[PATH_MAX];
                PATHF(from, "%s/%s", src, f);
                PATHF(to, "%s/%s", dest, f);
                struct stat st;
                if (lstat(from, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                int r = mkdir_parents(to, 0755, NULL);
                if (r < 0)
                        return r;
                _cleanup_free_ char *data = NULL;
                size_t n;
                r = read_file_text(from, 0, &data, &n);
                if (r < 0)
                        return r;
                _cleanup_close_ int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                                              st.st_mode & 0111 ? 0755 : 0644);
                if (fd < 0)
                        return -errno;
                if (n > 0 && write(fd, data, n) != (ssize_t) n)
                        return -EIO;
        }
        return 0;
}

int keystone_deb_build(const char *src, const char *suite, const char *mirror, unsigned long long epoch,
                       const char *cache, KeystoneDeb *ret) {
        KeystoneDeb k = {};
        snprintf(k.source_dir, sizeof k.source_dir, "%s", src);
        char root[PATH_MAX];
        int r = stage_buildroot(src, suite, mirror, epoch, cache, &k, root);
        if (r < 0 || k.buildroot_built)
                progress_end("build chroot", r);
        if (r < 0)
                return r;

        (void) source_version(src, k.version, sizeof k.version);
        deb_version_from(k.version, k.deb_version, sizeof k.deb_version);
        RunResult files = {};
        r = source_files(src, &files);
        if (r < 0) {
                run_result_done(&files);
                return log_debug_errno(r, "git ls-files in %s failed (Keystone's image needs its git tree): %m",
                                       src);
        }
        _cleanup_free_ char *manifest = NULL, *inputs = NULL;
        r = source_manifest(src, &files, &manifest);
        if (r >= 0 && asprintf(&inputs, "%s\nbuildroot=%s\nversion=%s\ndeb_version=%s\nfiles:\n%s", DEB_RECIPE,
                               k.buildroot_hash, k.version, k.deb_version, manifest) < 0)
                r = -ENOMEM;
        if (r >= 0)
                r = cache_sha256_hex(inputs, strlen(inputs), k.hash);
        if (r < 0) {
                run_result_done(&files);
                return r;
        }

        char dir[PATH_MAX - 64], dep[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/keystone-%s", cache, k.hash);
        snprintf(k.deb, sizeof k.deb, "%s/keystone_%s_amd64.deb", dir, k.deb_version);
        snprintf(dep, sizeof dep, "%s/depends", dir);
        _cleanup_close_ int lock = cache_lock(cache, "keystone", k.hash);
        if (lock < 0) {
                run_result_done(&files);
                return lock;
        }
        if (access(k.deb, R_OK) < 0 || access(dep, R_OK) < 0) {
                /* one build at a time in the shared chroot */
                _cleanup_close_ int rlock = cache_lock(cache, "buildroot", k.buildroot_hash);
                progress_begin("Keystone .deb");
                double t0 = monotonic_seconds();
                char tmp[PATH_MAX], work[PATH_MAX], wsrc[PATH_MAX + 8], p[PATH_MAX + 16];
                char in_src[64], in_out[64], in_script[96], ep[64];
                snprintf(tmp, sizeof tmp, "%s.tmp", dir);
                snprintf(in_src, sizeof in_src, "/build/ks-%.12s/src", k.hash);
                snprintf(in_out, sizeof in_out, "/build/ks-%.12s/out", k.hash);
                snprintf(in_script, sizeof in_script, "%s/scripts/keystone-deb.sh", in_src);
                snprintf(work, sizeof work, "%s/build/ks-%.12s", root, k.hash);
                snprintf(wsrc, sizeof wsrc, "%s/src", work);
                snprintf(ep, sizeof ep, "SOURCE_DATE_EPOCH=%llu", epoch);
                (void) cache_rm_rf(tmp);
                (void) cache_rm_rf(work);
                char b[PATH_MAX + 8];
                snprintf(b, sizeof b, "%s/build", root);
                if (rlock < 0)
                        r = rlock;
                else if ((mkdir(b, 0755) < 0 && errno != EEXIST) || mkdir(work, 0755) < 0 ||
                         mkdir(wsrc, 0755) < 0 || mkdir(tmp, 0755) < 0)
                        r = -errno;
                else
                        r = copy_sources(src, &files, wsrc);
                if (r >= 0) {
                        /* a clean environment: nothing of ours (BUILD, MAKEFLAGS from
                         * an outer make, CC…) may leak into the build */
                        const char *argv[] = { "chroot", root, "/usr/bin/env", "-i", ep, CHROOT_PATH,
                                               "LC_ALL=C.UTF-8", "/bin/sh", in_script, in_src, in_out,
                                               k.version, k.deb_version, NULL };
                        RunResult res = {};
                        r = run(argv, &(RunOptions) { .timeout_ms = 30 * 60 * 1000 }, &res);
                        (void) cache_save_log(tmp, "build.log", &res);
                        run_result_done(&res);
                        if (r < 0)
                                log_debug_errno(r, "Building keystone in %s failed, see %s/build.log: %m", root,
                                                tmp);
                }
                if (r >= 0) {
                        char from[PATH_MAX + 256];
                        snprintf(from, sizeof from, "%s/out/keystone_%s_amd64.deb", work, k.deb_version);
                        snprintf(p, sizeof p, "%s/keystone_%s_amd64.deb", tmp, k.deb_version);
                        r = copy_file(from, p);
                        if (r >= 0) {
                                snprintf(from, sizeof from, "%s/out/depends", work);
                                snprintf(p, sizeof p, "%s/depends", tmp);
                                r = copy_file(from, p);
                        }
                }
                (void) cache_rm_rf(work);
                if (r >= 0)
                        r = cache_commit(tmp, dir, inputs);
                progress_end("Keystone .deb", r);
                if (r < 0) {
                        run_result_done(&files);
                        return r;
                }
                k.built = true;
                k.seconds = monotonic_seconds() - t0;
        } else
                progress_cached("Keystone .deb");
        run_result_done(&files);

        r = read_file_text(dep, 0, &k.depends, NULL);
        if (r < 0)
                return r;
        k.depends[strcspn(k.depends, "\n")] = 0;
        *ret = k;
        return 0;
}

int keystone_deb_depends_names(const char *depends, char ***ret) {
        size_t n = 0, cap = 8;
        char **v = calloc(cap, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (const char *s = depends; *s;) {
                s += strspn(s, " ,\t");
                size_t l = strcspn(s, " ,|(\t");
                if (l > 0) {
                        if (n + 2 > cap) {
                                char **nv = realloc(v, (cap *= 2) * sizeof(char *));
                                if (!nv)
                                        goto oom;
                                v = nv;
                        }
                        if (!(v[n] = strndup(s, l)))
                                goto oom;
                        v[++n] = NULL;
                }
                s += strcspn(s, ","); /* skip the version and other alternatives */
        }
        *ret = v;
        return 0;
oom:
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
        return -ENOMEM;
}

int keystone_deb_install(const char *root, const char *deb) {
        char to[PATH_MAX], in_root[] = "/tmp/keystone.deb";
        PATHF(to, "%s%s", root, in_root);
        int r = copy_file(deb, to);
        if (r < 0)
                return r;
        const char *argv[] = { "chroot", root, "/usr/bin/env", "-i", CHROOT_PATH, "LC_ALL=C.UTF-8",
                               "dpkg", "--log=/dev/null", "-i", in_root, NULL };
        RunResult res = {};
        r = run(argv, NULL, &res);
        if (r < 0)
                log_debug("dpkg -i %s in %s: %s", deb, root, run_result_describe(&res));
        run_result_done(&res);
        (void) unlink(to);
        return r;
}

void keystone_layer_done(KeystoneLayer *l) {
        free(l->packages);
        strv_free(l->names);
        *l = (KeystoneLayer) {};
}

int image_keystone_layer(const ImageSpec *spec, const char *cache, ImageArtifacts *a, ImageSpec *ret_spec,
                         KeystoneLayer *ret_layer) {
        char src[PATH_MAX];
        int r = keystone_source_dir(src);
        if (r < 0)
                return log_debug_errno(r, "Keystone's source tree not found (set KEYSTONE_SRCDIR): %m");
        KeystoneDeb k = {};
        r = keystone_deb_build(src, spec->suite, spec->mirror, spec->source_date_epoch, cache, &k);
        if (r < 0)
                return r;
        snprintf(a->keystone_deb, sizeof a->keystone_deb, "%s", k.deb);
        snprintf(a->keystone_version, sizeof a->keystone_version, "%s", k.version);
        memcpy(a->keystone_hash, k.hash, sizeof k.hash);
        memcpy(a->buildroot_hash, k.buildroot_hash, sizeof k.buildroot_hash);
        a->keystone_built = k.built;
        a->buildroot_built = k.buildroot_built;
        a->keystone_seconds = k.seconds;
        a->buildroot_seconds = k.buildroot_seconds;
        char **names = NULL;
        r = keystone_deb_depends_names(k.depends, &names);
        keystone_deb_done(&k);
        if (r < 0)
                return r;
        size_t n = strv_length(names);
        char **all = calloc(spec->n_packages + n + 1, sizeof(char *));
        if (!all) {
                strv_free(names);
                return -ENOMEM;
        }
        for (size_t i = 0; i < spec->n_packages; i++)
                all[i] = spec->packages[i];
        for (size_t i = 0; i < n; i++)
                all[spec->n_packages + i] = names[i];
        *ret_spec = *spec;
        ret_spec->packages = all;
        ret_spec->n_packages = spec->n_packages + n;
        *ret_layer = (KeystoneLayer) { .packages = all, .names = names };
        return 0;
}
