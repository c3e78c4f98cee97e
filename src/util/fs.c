/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "util/error-message.h"
#include "util/fs.h"
#include "util/macro.h"

/* One mkdir(2); EEXIST is success only when a directory is there. */
static int mkdir_one(const char *path, mode_t mode, char **ret_error) {
        if (mkdir(path, mode) >= 0)
                return 0;
        int r = negative_errno();
        if (r == -EEXIST) {
                struct stat st;
                if (stat(path, &st) >= 0 && S_ISDIR(st.st_mode))
                        return 0;
                return error_set(ret_error, -ENOTDIR,
                                 "cannot create directory %s: something that is not a directory is in the way; "
                                 "move it away or choose another path", path);
        }
        return error_set(ret_error, r, "cannot create directory %s: %s", path, strerror(-r));
}

int mkdir_p(const char *path, mode_t mode, char **ret_error) {
        if (!path || !*path)
                return error_set(ret_error, -EINVAL, "cannot create a directory with an empty name");
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        /* "a/b/" is "a/b"; "/" stays "/" */
        for (size_t n = strlen(p); n > 1 && p[n - 1] == '/'; n--)
                p[n - 1] = 0;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/' || s[-1] == '/')
                        continue;
                *s = 0;
                int r = mkdir_one(p, mode, ret_error);
                *s = '/';
                if (r < 0)
                        return r;
        }
        return mkdir_one(p, mode, ret_error);
}

int mkdir_parents(const char *path, mode_t mode, char **ret_error) {
        const char *slash = strrchr(path, '/');
        if (!slash)
                return 0;
        if (slash == path)
                return 0; /* "/x": the parent is the root */
        _cleanup_free_ char *dir = strndup(path, (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;
        return mkdir_p(dir, mode, ret_error);
}

int read_file_text(const char *path, size_t max_size, char **ret, size_t *ret_size) {
        uint8_t *data = NULL;
        size_t size = 0;
        int r = read_file_bytes(path, max_size, &data, &size);
        if (r < 0)
                return r;
        *ret = (char *) data; /* read_file_bytes() ends the data with a NUL */
        if (ret_size)
                *ret_size = size;
        return 0;
}

int read_first_line(const char *path, char **ret) {
        char *text = NULL;
        int r = read_file_text(path, 1 << 20, &text, NULL);
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = 0;
        *ret = text;
        return 0;
}

int open_stat(const char *path, int flags, struct stat *ret_st) {
        int fd = open(path, flags);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, ret_st) < 0) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        return fd;
}

int opendir_fd(int dirfd, DIR **ret) {
        int fd = dup(dirfd);
        if (fd < 0)
                return negative_errno();
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        *ret = d;
        return 0;
}

struct dirent *readdir_no_dot(DIR *d) {
        struct dirent *de;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        break;
        return de;
}
