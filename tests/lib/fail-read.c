/* SPDX-License-Identifier: MIT */
/* LD_PRELOAD shim for tests: every read of the file FAIL_READ_PATH names
 * (read, pread, pread64, readv, preadv) fails with EIO, as on a disk with
 * bad sectors.  Other files and every write are untouched. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static int is_target(int fd) {
        const char *want = getenv("FAIL_READ_PATH");
        if (!want || !*want)
                return 0;
        char link[64], have[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, have, sizeof have - 1);
        if (n < 0)
                return 0;
        have[n] = 0;
        return strcmp(have, want) == 0;
}

#define FORWARD(ret, name, params, args)                                        \
        ret name params {                                                       \
                if (is_target(fd)) {                                            \
                        errno = EIO;                                            \
                        return -1;                                              \
                }                                                               \
                static ret(*next) params;                                       \
                if (!next)                                                      \
                        next = (ret(*) params) dlsym(RTLD_NEXT, #name);         \
                return next args;                                               \
        }

FORWARD(ssize_t, read, (int fd, void *buf, size_t n), (fd, buf, n))
FORWARD(ssize_t, pread, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off))
FORWARD(ssize_t, pread64, (int fd, void *buf, size_t n, off64_t off), (fd, buf, n, off))
FORWARD(ssize_t, readv, (int fd, const struct iovec *v, int n), (fd, v, n))
FORWARD(ssize_t, preadv, (int fd, const struct iovec *v, int n, off_t off), (fd, v, n, off))
