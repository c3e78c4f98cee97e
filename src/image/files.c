/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "image/files.h"
#include "util/log.h"
#include "util/macro.h"

int gen_add(GenList *l, GenKind kind, const char *path, mode_t mode, uid_t uid, gid_t gid, const char *content) {
        if (!path || path[0] != '/' || strstr(path, "/../") || strstr(path, "//"))
                return -EINVAL;
        GenFile *n = realloc(l->items, (l->n + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        l->items = n;
        GenFile *f = &l->items[l->n];
        *f = (GenFile) { .kind = kind, .path = strdup(path), .mode = mode, .uid = uid, .gid = gid,
                         .content = strdup(content ? content : "") };
        if (!f->path || !f->content) {
                free(f->path);
                free(f->content);
                return -ENOMEM;
        }
        l->n++;
        return 0;
}

int gen_addf(GenList *l, GenKind kind, const char *path, mode_t mode, uid_t uid, gid_t gid, const char *fmt, ...) {
        _cleanup_free_ char *c = NULL;
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(&c, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        return gen_add(l, kind, path, mode, uid, gid, c);
}

void gen_list_done(GenList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].path);
                free(l->items[i].content);
        }
        free(l->items);
        *l = (GenList) {};
}

int gen_list_serialize(const GenList *l, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        static const char *kinds[] = { "file", "append", "dir", "symlink" };
        for (size_t i = 0; i < l->n; i++) {
                const GenFile *g = &l->items[i];
                fprintf(f, "%s %s %04o %u:%u %zu\n%s\n", kinds[g->kind], g->path, (unsigned) g->mode,
                        (unsigned) g->uid, (unsigned) g->gid, strlen(g->content), g->content);
        }
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

static int mkdir_parents(const char *root, const char *path) {
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s%s", root, path) >= (int) sizeof p)
                return -ENAMETOOLONG;
        char *slash = strrchr(p, '/');
        if (!slash)
                return 0;
        *slash = 0;
        for (char *s = p + strlen(root) + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *s = '/';
                }
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int write_content(const char *p, const GenFile *g, int flags) {
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | flags, g->mode);
        if (fd < 0)
                return -errno;
        size_t n = strlen(g->content);
        if (write(fd, g->content, n) != (ssize_t) n)
                return -EIO;
        if (!(flags & O_APPEND)) {
                if (fchown(fd, g->uid, g->gid) < 0 || fchmod(fd, g->mode) < 0)
                        return -errno;
        }
        return 0;
}

int gen_list_apply(const GenList *l, const char *root, time_t mtime) {
        for (size_t i = 0; i < l->n; i++) {
                const GenFile *g = &l->items[i];
                char p[PATH_MAX];
                if (snprintf(p, sizeof p, "%s%s", root, g->path) >= (int) sizeof p)
                        return -ENAMETOOLONG;
                int r = mkdir_parents(root, g->path);
                if (r < 0)
                        return log_debug_errno(r, "Failed to create the parents of %s: %m", p);
                switch (g->kind) {
                case GEN_FILE:
                        (void) unlink(p);
                        r = write_content(p, g, O_CREAT | O_EXCL | O_TRUNC);
                        break;
                case GEN_APPEND:
                        r = write_content(p, g, O_APPEND);
                        break;
                case GEN_DIR:
                        if (mkdir(p, g->mode) < 0 && errno != EEXIST)
                                r = -errno;
                        else if (chown(p, g->uid, g->gid) < 0 || chmod(p, g->mode) < 0)
                                r = -errno;
                        break;
                case GEN_SYMLINK:
                        (void) unlink(p);
                        if (symlink(g->content, p) < 0)
                                r = -errno;
                        break;
                }
                if (r < 0)
                        return log_debug_errno(r, "Failed to write %s: %m", p);
                struct timespec ts[2] = { { .tv_sec = mtime }, { .tv_sec = mtime } };
                if (utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) < 0)
                        return log_debug_errno(-errno, "Failed to set the time of %s: %m", p);
        }
        return 0;
}
