/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "image/cache.h"
#include "image/image.h"
#include "util/error-message.h"
#include "util/file-bytes.h"
#include "util/format-bytes.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/run.h"

int cache_sha256_hex(const void *data, size_t n, char out[static 65]) {
        unsigned char md[32];
        unsigned int len = 0;
        if (EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
                return -EIO;
        for (size_t i = 0; i < 32; i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
        return 0;
}

const char *cache_dir_default(void) {
        const char *e = getenv("KEYSTONE_CACHE_DIR");
        return e && *e ? e : IMAGE_CACHE_DIR_DEFAULT;
}

int cache_lock(const char *dir, const char *kind, const char *hash) {
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s-%s.lock", dir, kind, hash);
        int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR) {
                        int r = -errno;
                        close(fd);
                        return r;
                }
        /* the lock file's mtime is the entry's last use, for cache_prune() */
        (void) futimens(fd, NULL);
        return fd;
}

int cache_write_text(const char *path, const char *text) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        for (size_t n = strlen(text); n > 0;) {
                ssize_t k = write(fd, text, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -EIO;
                text += k;
                n -= (size_t) k;
        }
        return 0;
}

int cache_commit(const char *tmp, const char *dir, const char *inputs) {
        char p[4096];
        if (snprintf(p, sizeof p, "%s/inputs.txt", tmp) >= (int) sizeof p)
                return -ENAMETOOLONG;
        int r = cache_write_text(p, inputs);
        if (r < 0)
                return r;
        return rename(tmp, dir) < 0 ? -errno : 0;
}

int cache_rm_rf(const char *path) {
        const char *argv[] = { "rm", "-rf", "--one-file-system", "--", path, NULL };
        return run(argv, NULL, NULL);
}

int cache_save_log(const char *dir, const char *name, const RunResult *res) {
        char p[4096];
        if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int) sizeof p)
                return -ENAMETOOLONG;
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        if (res->out)
                (void) !write(fd, res->out, res->out_size);
        if (res->err)
                (void) !write(fd, res->err, res->err_size);
        return 0;
}

int cache_run_logged(const char *const *argv, const char *dir, const char *name, char **error, const char *what) {
        RunResult res = {};
        int r = run(argv, NULL, &res);
        if (r < 0) {
                (void) cache_save_log(dir, name, &res);
                error_set(error, r, "%s failed: %s (log: %s/%s)", what, run_result_describe(&res), dir, name);
        }
        run_result_done(&res);
        return r;
}

typedef struct Entry {
        char name[96];          /* <kind>-<hash> */
        uint64_t size;
        time_t used;
} Entry;

/* "<kind>-<64 lower-case hex>", kind in [a-z]. */
static bool is_entry_name(const char *n) {
        const char *dash = strrchr(n, '-');
        if (!dash || dash == n || strlen(dash + 1) != 64)
                return false;
        for (const char *c = n; c < dash; c++)
                if (*c < 'a' || *c > 'z')
                        return false;
        for (const char *c = dash + 1; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
                        return false;
        return true;
}

static int entry_cmp(const void *a, const void *b) {
        const Entry *x = a, *y = b;
        if (x->used != y->used)
                return x->used < y->used ? -1 : 1;
        return strcmp(x->name, y->name);
}

static int list_entries(const char *dir, Entry **ret, size_t *ret_n) {
        DIR *d = opendir(dir);
        if (!d)
                return -errno;
        Entry *v = NULL;
        size_t n = 0;
        int r = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!is_entry_name(de->d_name) || strlen(de->d_name) >= sizeof v->name)
                        continue;
                struct stat st, lk;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                Entry *nv = realloc(v, (n + 1) * sizeof *v);
                if (!nv) {
                        r = -ENOMEM;
                        break;
                }
                v = nv;
                Entry *e = &v[n++];
                *e = (Entry) { .used = st.st_mtime };
                snprintf(e->name, sizeof e->name, "%s", de->d_name);
                char lock[sizeof e->name + 8];
                snprintf(lock, sizeof lock, "%s.lock", de->d_name);
                if (fstatat(dirfd(d), lock, &lk, AT_SYMLINK_NOFOLLOW) == 0 && lk.st_mtime > e->used)
                        e->used = lk.st_mtime;
                char path[4200];
                snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
                (void) dir_allocated_bytes(path, &e->size);
        }
        closedir(d);
        if (r < 0) {
                free(v);
                return r;
        }
        qsort(v, n, sizeof *v, entry_cmp);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* What an interrupted prune left: .pruning-* directories. */
static void remove_leftovers(const char *dir) {
        DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d)))
                if (startswith(de->d_name, ".pruning-")) {
                        char p[4200];
                        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
                        (void) cache_rm_rf(p);
                }
        closedir(d);
}

int cache_prune(const char *dir, const CachePruneOptions *o, CachePruneReport *ret) {
        CachePruneReport rep = {};
        Entry *v = NULL;
        size_t n = 0;
        int r = list_entries(dir, &v, &n);
        if (r < 0)
                return r;
        if (!o->dry_run)
                remove_leftovers(dir);
        for (size_t i = 0; i < n; i++)
                rep.size_before += v[i].size;
        rep.entries = (unsigned) n;
        uint64_t total = rep.size_before;
        time_t now = time(NULL);
        for (size_t i = 0; i < n && total > o->max_size && r >= 0; i++) {
                Entry *e = &v[i];
                if (now - e->used < o->keep_seconds)
                        break;          /* sorted: every later entry is more recent still */
                char path[4200], lock[4200];
                snprintf(path, sizeof path, "%s/%s", dir, e->name);
                snprintf(lock, sizeof lock, "%s/%s.lock", dir, e->name);
                /* the builders' lock keeps a build of this entry out while it goes */
                _cleanup_close_ int fd = open(lock, O_RDWR | (o->dry_run ? 0 : O_CREAT) | O_CLOEXEC | O_NOFOLLOW,
                                              0644);
                if (fd < 0 && !(o->dry_run && errno == ENOENT)) {
                        rep.busy++;
                        continue;
                }
                if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
                        rep.busy++;
                        continue;
                }
                char when[32], sz[32];
                strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&e->used));
                if (o->out)
                        fprintf(o->out, "%s %s (%s, last used %s)\n", o->dry_run ? "would remove" : "remove",
                                e->name, format_bytes(e->size, sz, sizeof sz), when);
                if (!o->dry_run) {
                        /* renamed first, so no half-removed entry is ever taken for a whole one */
                        char trash[4300];
                        snprintf(trash, sizeof trash, "%s/.pruning-%s", dir, e->name);
                        if (rename(path, trash) < 0)
                                r = -errno;
                        else
                                r = cache_rm_rf(trash);
                        if (r < 0) {
                                log_error_errno(r, "Removing the cache entry %s failed: %m", path);
                                break;
                        }
                }
                total -= e->size;
                rep.removed++;
        }
        rep.size_after = total;
        rep.over_limit = total > o->max_size;
        free(v);
        if (ret)
                *ret = rep;
        return r < 0 ? r : 0;
}
