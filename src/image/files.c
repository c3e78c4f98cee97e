/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "image/files.h"
#include "util/fs.h"
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
        static const char *kinds[] = { "file", "append", "dir", "symlink", "group-member" };
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

/* The file's text; "" when there is none yet. */
static int read_all(const char *p, char **ret) {
        int r = read_file_text(p, 0, ret, NULL);
        if (r != -ENOENT)
                return r;
        *ret = strdup("");
        return *ret ? 0 : -ENOMEM;
}

/* The line of group in an /etc/group-style text, or NULL. */
static const char *find_group_line(const char *text, const char *group) {
        size_t n = strlen(group);
        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (strncmp(l, group, n) == 0 && l[n] == ':')
                        return l;
        return NULL;
}

static bool list_has(const char *list, size_t len, const char *user) {
        size_t n = strlen(user);
        for (const char *p = list; p < list + len;) {
                size_t k = strcspn(p, ",\n");
                if (p + k > list + len)
                        k = (size_t) (list + len - p);
                if (k == n && strncmp(p, user, n) == 0)
                        return true;
                p += k + 1;
        }
        return false;
}

/* Adds user to group's member list (the last field) in one group-style
 * file; new_line is the line to add when the group is missing. */
static int group_file_add(const char *p, const char *group, const char *user, const char *new_line, mode_t mode) {
        _cleanup_free_ char *text = NULL, *out = NULL;
        int r = read_all(p, &text);
        if (r < 0)
                return r;
        const char *line = find_group_line(text, group);
        if (!line) {
                size_t n = strlen(text);
                if (asprintf(&out, "%s%s%s\n", text, n && text[n - 1] != '\n' ? "\n" : "", new_line) < 0)
                        return -ENOMEM;
        } else {
                size_t len = strcspn(line, "\n");
                const char *members = memrchr(line, ':', len) + 1;
                size_t mlen = (size_t) (line + len - members);
                if (list_has(members, mlen, user))
                        return 0;
                if (asprintf(&out, "%.*s%s%s%s", (int) (line + len - text), text, mlen ? "," : "", user,
                             line + len) < 0)
                        return -ENOMEM;
        }
        char tmp[PATH_MAX];
        if (snprintf(tmp, sizeof tmp, "%s.keystone-new", p) >= (int) sizeof tmp)
                return -ENAMETOOLONG;
        (void) unlink(tmp);
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        /* keep the file's owner and mode (gshadow: root:shadow 0640) */
        struct stat st;
        uid_t uid = 0;
        gid_t gid = 0;
        if (stat(p, &st) == 0) {
                uid = st.st_uid;
                gid = st.st_gid;
                mode = st.st_mode & 07777;
        }
        size_t n = strlen(out);
        if (write(fd, out, n) != (ssize_t) n || fchmod(fd, mode) < 0 || fchown(fd, uid, gid) < 0)
                return -EIO;
        if (rename(tmp, p) < 0)
                return -errno;
        return 0;
}

/* The highest gid below 1000 that no group in text has (groupadd -r). */
static long free_system_gid(const char *text) {
        for (long gid = 999; gid >= 100; gid--) {
                char needle[32];
                int k = snprintf(needle, sizeof needle, ":%ld:", gid);
                bool used = false;
                for (const char *l = text; l && *l && !used; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                        /* name:x:GID:members — the third ':' field */
                        const char *c = strchr(l, ':');
                        c = c ? strchr(c + 1, ':') : NULL;
                        if (c && strncmp(c, needle, (size_t) k) == 0)
                                used = true;
                }
                if (!used)
                        return gid;
        }
        return -ENOSPC;
}

static int apply_group_member(const char *root, const GenFile *g) {
        const char *colon = strchr(g->content, ':');
        if (!colon || colon == g->content || !colon[1])
                return -EINVAL;
        _cleanup_free_ char *group = strndup(g->content, (size_t) (colon - g->content));
        if (!group)
                return -ENOMEM;
        const char *user = colon + 1;
        char gp[PATH_MAX], sp[PATH_MAX];
        if (snprintf(gp, sizeof gp, "%s/etc/group", root) >= (int) sizeof gp ||
            snprintf(sp, sizeof sp, "%s/etc/gshadow", root) >= (int) sizeof sp)
                return -ENAMETOOLONG;
        _cleanup_free_ char *text = NULL, *line = NULL, *sline = NULL;
        int r = read_all(gp, &text);
        if (r < 0)
                return r;
        long gid = free_system_gid(text);
        if (gid < 0)
                return (int) gid;
        if (asprintf(&line, "%s:x:%ld:%s", group, gid, user) < 0 || asprintf(&sline, "%s:!::%s", group, user) < 0)
                return -ENOMEM;
        r = group_file_add(gp, group, user, line, 0644);
        if (r < 0)
                return r;
        if (access(sp, F_OK) == 0)
                r = group_file_add(sp, group, user, sline, 0640);
        return r;
}

int gen_list_apply(const GenList *l, const char *root, time_t mtime) {
        for (size_t i = 0; i < l->n; i++) {
                const GenFile *g = &l->items[i];
                char p[PATH_MAX];
                if (snprintf(p, sizeof p, "%s%s", root, g->path) >= (int) sizeof p)
                        return -ENAMETOOLONG;
                int r = mkdir_parents(p, 0755, NULL);
                if (r < 0)
                        return log_debug_errno(r, "Failed to create the parents of %s: %m", p);
                switch (g->kind) {
                case GEN_FILE:
                        (void) unlink(p);
                        r = write_content(p, g, O_CREAT | O_EXCL | O_TRUNC);
                        break;
                case GEN_APPEND:
                        r = write_content(p, g, O_APPEND | O_CREAT);
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
                case GEN_GROUP_MEMBER:
                        r = apply_group_member(root, g);
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
