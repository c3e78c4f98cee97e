/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "init/unlock.h"
#include "util/error-message.h"
#include "util/fs.h"
#include "util/macro.h"

static const char *const verdict_words[] = {
        [INIT_UNLOCK_OPENED] = "opened", [INIT_UNLOCK_WRONG] = "wrong", [INIT_UNLOCK_FAILED] = "failed",
};

static int socket_address(const char *root, struct sockaddr_un *sa, char **ret_error) {
        *sa = (struct sockaddr_un) { .sun_family = AF_UNIX };
        int n = snprintf(sa->sun_path, sizeof sa->sun_path, "%s" INIT_UNLOCK_SOCKET, root);
        if (n < 0 || (size_t) n >= sizeof sa->sun_path)
                return error_set(ret_error, -ENAMETOOLONG, "%s" INIT_UNLOCK_SOCKET " is too long for a socket "
                                 "address (%zu bytes at most)", root, sizeof sa->sun_path - 1);
        return 0;
}

int init_unlock_listen(const char *root, InitUnlockServer *ret, char **ret_error) {
        struct sockaddr_un sa;
        int r = socket_address(root, &sa, ret_error);
        if (r < 0)
                return r;
        char dir[4200];
        snprintf(dir, sizeof dir, "%s" INIT_UNLOCK_DIR, root);
        if ((r = mkdir_p(dir, 0700, NULL)) < 0 || chmod(dir, 0700) < 0)
                return error_set(ret_error, r < 0 ? r : -errno, "cannot create %s (0700): %s", dir,
                                 strerror(r < 0 ? -r : errno));
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return error_set(ret_error, -errno, "socket(AF_UNIX) failed: %s", strerror(errno));
        (void) unlink(sa.sun_path);
        mode_t old = umask(0177);
        r = bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 ? -errno : 0;
        umask(old);
        if (r < 0)
                return error_set(ret_error, r, "cannot bind %s: %s", sa.sun_path, strerror(-r));
        if (listen(fd, 4) < 0)
                return error_set(ret_error, -errno, "listen on %s failed: %s", sa.sun_path, strerror(errno));
        snprintf(ret->path, sizeof ret->path, "%s", sa.sun_path);
        ret->fd = TAKE_FD(fd);
        return 0;
}

void init_unlock_close(InitUnlockServer *s) {
        if (s->fd < 0)
                return;
        close(s->fd);
        s->fd = -1;
        (void) unlink(s->path);
}

void init_unlock_reply(int client, InitUnlockVerdict v, const char *text) {
        if (client < 0)
                return;
        char line[600];
        int n = snprintf(line, sizeof line, "%s %s\n", verdict_words[v], text);
        if (n > 0)
                /* a client gone meanwhile must not end us with SIGPIPE */
                (void) !send(client, line, (size_t) n < sizeof line ? (size_t) n : sizeof line - 1, MSG_NOSIGNAL);
        close(client);
}

/* One secret from a client that connected: up to INIT_UNLOCK_SECRET_MAX
 * bytes until its end of file, within 10 s, without one final newline.
 * Refusals are answered here; 0 and the secret, or -errno. */
static int read_client(int client, char *buf, size_t *ret_n) {
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(client, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
                init_unlock_reply(client, INIT_UNLOCK_FAILED, "only root may unlock the credstore");
                return -EPERM;
        }
        (void) setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval) { .tv_sec = 10 },
                          sizeof(struct timeval));
        size_t n = 0;
        for (;;) {
                ssize_t k = read(client, buf + n, INIT_UNLOCK_SECRET_MAX + 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        explicit_bzero(buf, n);
                        init_unlock_reply(client, INIT_UNLOCK_FAILED, "the secret did not arrive within 10 s");
                        return -ETIMEDOUT;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > INIT_UNLOCK_SECRET_MAX) {
                        explicit_bzero(buf, INIT_UNLOCK_SECRET_MAX + 1);
                        init_unlock_reply(client, INIT_UNLOCK_FAILED, "that is longer than any password or "
                                          "recovery key (8 KiB)");
                        return -EFBIG;
                }
        }
        if (n > 0 && buf[n - 1] == '\n')
                buf[--n] = 0;
        if (n == 0) {
                init_unlock_reply(client, INIT_UNLOCK_FAILED, "no secret came on standard input");
                return -ENODATA;
        }
        buf[n] = 0;
        *ret_n = n;
        return 0;
}

int init_unlock_wait(InitUnlockServer *s, int console_fd, bool *console_open, char **ret, size_t *ret_size,
                     int *ret_client) {
        bool tty = *console_open && isatty(console_fd);
        struct termios old, quiet;
        if (tty && tcgetattr(console_fd, &old) == 0) {
                quiet = old;
                quiet.c_lflag &= ~(tcflag_t) ECHO;
                quiet.c_lflag |= ECHONL;
                tty = tcsetattr(console_fd, TCSAFLUSH, &quiet) == 0;
        } else
                tty = false;
        char *line = malloc(INIT_UNLOCK_SECRET_MAX + 1), *got = malloc(INIT_UNLOCK_SECRET_MAX + 1);
        size_t n = 0, got_n = 0;
        int r, client = -1;
        if (!line || !got) {
                r = -ENOMEM;
                goto out;
        }
        for (;;) {
                struct pollfd fds[2] = { { .fd = s->fd, .events = POLLIN }, { .fd = console_fd, .events = POLLIN } };
                if (poll(fds, *console_open ? 2 : 1, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto out;
                }
                if (fds[0].revents & POLLIN) {
                        client = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
                        if (client < 0)
                                continue;
                        if (read_client(client, got, &got_n) < 0) {
                                client = -1;    /* answered and closed */
                                continue;
                        }
                        r = 0;
                        goto out;
                }
                if (!*console_open || !(fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;
                /* byte by byte: what follows the line stays for the next try */
                char ch;
                ssize_t k = read(console_fd, &ch, 1);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (k <= 0 && n == 0) {
                        *console_open = false;
                        continue;
                }
                if (k > 0 && ch != '\n') {
                        if (n >= INIT_UNLOCK_SECRET_MAX) {
                                r = -EFBIG;
                                goto out;
                        }
                        line[n++] = ch;
                        continue;
                }
                if (n == 0) {
                        r = -ENODATA;
                        goto out;
                }
                memcpy(got, line, n);
                got_n = n;
                r = 0;
                goto out;
        }
out:
        if (tty)
                (void) tcsetattr(console_fd, TCSAFLUSH, &old);
        if (line)
                erase_and_free(line, INIT_UNLOCK_SECRET_MAX + 1);
        if (r < 0) {
                if (got)
                        erase_and_free(got, INIT_UNLOCK_SECRET_MAX + 1);
                return r;
        }
        got[got_n] = 0;
        *ret = got;
        *ret_size = got_n;
        *ret_client = client;
        return 0;
}

int init_unlock_send(const char *root, const char *secret, size_t n, char **ret_text, char **ret_error) {
        struct sockaddr_un sa;
        int r = socket_address(root, &sa, ret_error);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return error_set(ret_error, -errno, "socket(AF_UNIX) failed: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                r = -errno;
                if (r == -ENOENT || r == -ECONNREFUSED)
                        return error_set(ret_error, r, "keystone-init is not waiting for a secret (no %s): the "
                                         "credstore is open already, or the boot has not got that far", sa.sun_path);
                return error_set(ret_error, r, "cannot connect to %s: %s", sa.sun_path, strerror(-r));
        }
        for (size_t done = 0; done < n;) {
                ssize_t k = send(fd, secret + done, n - done, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return error_set(ret_error, -errno, "sending the secret to keystone-init failed: %s",
                                         strerror(errno));
                done += (size_t) k;
        }
        (void) shutdown(fd, SHUT_WR);
        char buf[700];
        size_t got = 0;
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int k = poll(&p, 1, 5 * 60 * 1000);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return error_set(ret_error, k < 0 ? -errno : -ETIMEDOUT, "keystone-init gave no verdict "
                                         "within 5 minutes");
                ssize_t m = read(fd, buf + got, sizeof buf - 1 - got);
                if (m < 0 && errno == EINTR)
                        continue;
                if (m <= 0 || (got += (size_t) m) == sizeof buf - 1 || memchr(buf, '\n', got))
                        break;
        }
        buf[got] = 0;
        buf[strcspn(buf, "\n")] = 0;
        for (size_t v = 0; v < ELEMENTSOF(verdict_words); v++) {
                const char *rest = startswith(buf, verdict_words[v]);
                if (rest && *rest == ' ') {
                        *ret_text = strdup(rest + 1);
                        return *ret_text ? (int) v : -ENOMEM;
                }
        }
        return error_set(ret_error, -EPROTO, "keystone-init closed the connection without a verdict (it stopped "
                         "waiting: the secret came from the console, or the tries ran out)");
}
