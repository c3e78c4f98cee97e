/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file-bytes.h"
#include "util/secret-erase.h"

int secret_file_erase(const char *path) {
        int fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ELOOP ? -EINVAL : -errno;
        struct stat st;
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                close(fd);
                return -EINVAL;
        }
        static const char zeros[4096];
        for (off_t done = 0; done < st.st_size;) {
                size_t n = st.st_size - done < (off_t) sizeof zeros ? (size_t) (st.st_size - done) : sizeof zeros;
                ssize_t w = pwrite(fd, zeros, n, done);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = -errno;
                        close(fd);
                        return r;
                }
                done += w;
        }
        int r = fsync(fd) < 0 ? -errno : 0;
        close(fd);
        if (r < 0)
                return r;
        if (unlink(path) < 0)
                return -errno;
        struct stat gone;
        if (lstat(path, &gone) == 0)
                return -EEXIST;
        return errno == ENOENT ? 0 : -errno;
}

int secret_file_replace(const char *path, const char *data) {
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return write_file_bytes_excl(path, data, strlen(data), 0600);
}
