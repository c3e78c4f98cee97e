/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "util/file-bytes.h"
#include "util/fs.h"
#include "util/macro.h"

/* Reads fd to its end into a buffer of at first cap bytes, growing it. */
static int read_to_end(int fd, size_t max_size, size_t cap, uint8_t **ret_data, size_t *ret_size) {
        size_t n = 0;
        if (cap < 4096)
                cap = 4096;
        _cleanup_free_ uint8_t *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (n + 1 >= cap) {
                        if (max_size > 0 && n >= max_size)
                                return -EFBIG;
                        cap *= 2;
                        uint8_t *nb = realloc(buf, cap);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                }
                ssize_t k = read(fd, buf + n, cap - n - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        if (max_size > 0 && n > max_size)
                return -EFBIG;
        buf[n] = 0;
        *ret_data = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

int read_file_bytes(const char *path, size_t max_size, uint8_t **ret_data, size_t *ret_size) {
        /* O_NONBLOCK: opening a FIFO must not wait for a writer (it is then
         * refused as not a regular file); no effect on regular files */
        struct stat st;
        _cleanup_close_ int fd = open_stat(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, &st);
        if (fd < 0)
                return fd;
        if (!S_ISREG(st.st_mode))
                return S_ISDIR(st.st_mode) ? -EISDIR : -EBADFD;
        if (max_size > 0 && (uint64_t) st.st_size > max_size)
                return -EFBIG;
        /* efivarfs and /sys files report sizes that may be wrong: read to EOF. */
        return read_to_end(fd, max_size, (size_t) st.st_size + 1, ret_data, ret_size);
}

int read_fd_bytes(int fd, size_t max_size, uint8_t **ret_data, size_t *ret_size) {
        return read_to_end(fd, max_size, 0, ret_data, ret_size);
}

static int write_all(int fd, const void *data, size_t size) {
        const uint8_t *p = data;
        while (size > 0) {
                ssize_t k = write(fd, p, size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

/* A new name is durable only once its directory is: without this a power
 * cut can keep the file's bytes and lose its name. */
static int fsync_parent(const char *path) {
        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        char *slash = strrchr(dir, '/');
        const char *d = !slash ? "." : slash == dir ? "/" : (*slash = 0, dir);
        _cleanup_close_ int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return negative_errno();
        return 0;
}

int write_file_bytes_excl(const char *path, const void *data, size_t size, mode_t mode) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
                return negative_errno();
        int r = write_all(fd, data, size);
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r >= 0)
                r = fsync_parent(path);
        if (r < 0)
                (void) unlink(path);
        return r;
}

/* DATA to PATH.tmp-XXXXXX (0600 until complete), fsync, then the name:
 * rename(2), or renameat2 RENAME_NOREPLACE when !replace; then the
 * directory's fsync. */
static int write_via_temp(const char *path, const void *data, size_t size, mode_t mode, bool replace) {
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        int r = write_all(fd, data, size);
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = negative_errno();
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r >= 0 && (replace ? rename(tmp, path) : renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE)) < 0)
                r = negative_errno();
        if (r >= 0)
                r = fsync_parent(path);
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

int write_file_bytes_atomic(const char *path, const void *data, size_t size, mode_t mode) {
        return write_via_temp(path, data, size, mode, true);
}

int write_file_bytes_new(const char *path, const void *data, size_t size, mode_t mode) {
        return write_via_temp(path, data, size, mode, false);
}

static int tree_size(int dirfd, dev_t dev, uint64_t *total) {
        DIR *d;
        int r = opendir_fd(dirfd, &d);
        if (r < 0)
                return r;
        struct dirent *de;
        while ((de = readdir_no_dot(d))) {
                struct stat st;
                if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
                        continue;
                *total += (uint64_t) st.st_blocks * 512;
                if (S_ISDIR(st.st_mode)) {
                        int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0)
                                continue;
                        r = tree_size(sub, dev, total);
                        close(sub);
                        if (r < 0)
                                break;
                }
        }
        closedir(d);
        return r;
}

int dir_allocated_bytes(const char *path, uint64_t *ret) {
        struct stat st;
        _cleanup_close_ int fd = open_stat(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, &st);
        if (fd < 0)
                return fd;
        uint64_t total = (uint64_t) st.st_blocks * 512;
        int r = tree_size(fd, st.st_dev, &total);
        if (r < 0)
                return r;
        *ret = total;
        return 0;
}
