/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "util/macro.h"
#include "util/secret-input.h"

#define SECRET_MAX 8192

int secret_read_file(const char *path, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        char *buf = malloc(SECRET_MAX + 1);
        if (!buf)
                return -ENOMEM;
        size_t n = 0;
        for (;;) {
                ssize_t k = read(fd, buf + n, SECRET_MAX + 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = negative_errno();
                        erase_and_free(buf, SECRET_MAX + 1);
                        return r;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > SECRET_MAX) {
                        erase_and_free(buf, SECRET_MAX + 1);
                        return -EFBIG;
                }
        }
        if (n == 0) {
                free(buf);
                return -EINVAL;
        }
        buf[n] = 0;
        *ret = buf;
        *ret_size = n;
        return 0;
}

int secret_read_line(const char *prompt, char **ret, size_t *ret_size) {
        bool tty = isatty(STDIN_FILENO);
        struct termios old, quiet;
        if (tty) {
                fprintf(stderr, "%s", prompt);
                fflush(stderr);
                if (tcgetattr(STDIN_FILENO, &old) < 0)
                        return negative_errno();
                quiet = old;
                quiet.c_lflag &= ~(tcflag_t) ECHO;
                quiet.c_lflag |= ECHONL;
                if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
                        return negative_errno();
        }
        char *buf = malloc(SECRET_MAX + 1);
        if (!buf)
                return -ENOMEM;
        size_t n = 0;
        int r = 0;
        /* Byte by byte, so that nothing after the line is consumed and a
         * second secret can follow on the next line. */
        for (;;) {
                char c;
                ssize_t k = read(STDIN_FILENO, &c, 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = negative_errno();
                        break;
                }
                if (k == 0 || c == '\n')
                        break;
                if (n >= SECRET_MAX) {
                        r = -EFBIG;
                        break;
                }
                buf[n++] = c;
        }
        if (tty)
                (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        if (r == 0 && n == 0)
                r = -ENODATA;
        if (r < 0) {
                erase_and_free(buf, SECRET_MAX + 1);
                return r;
        }
        buf[n] = 0;
        *ret = buf;
        *ret_size = n;
        return 0;
}
