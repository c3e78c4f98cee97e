/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/run.h"
#include "util/shell-quote.h"

extern char **environ;

static bool dry_run;

void run_set_dry_run(bool b) { dry_run = b; }
bool run_get_dry_run(void) { return dry_run; }

char *argv_to_string(const char *const argv[]) {
        return shell_join(argv);
}

void run_result_done(RunResult *r) {
        if (!r)
                return;
        /* captured output may be a secret */
        if (r->out)
                explicit_bzero(r->out, r->out_size);
        if (r->err)
                explicit_bzero(r->err, r->err_size);
        free(r->out);
        free(r->err);
        *r = (RunResult) {};
}

const char *run_result_describe(const RunResult *r) {
        static char buf[512];
        const char *err = r->err ? r->err : "";
        /* the last non-empty line of stderr says most */
        size_t len = strlen(err);
        while (len > 0 && (err[len - 1] == '\n' || err[len - 1] == ' '))
                len--;
        size_t start = len;
        while (start > 0 && err[start - 1] != '\n')
                start--;
        if (r->signal)
                snprintf(buf, sizeof buf, "killed by signal %d%s%.*s", r->signal,
                         len ? ": " : "", (int) (len - start), err + start);
        else
                snprintf(buf, sizeof buf, "exited with status %d%s%.*s", r->exit_status,
                         len ? ": " : "", (int) (len - start), err + start);
        return buf;
}

typedef struct Buf {
        char *data;
        size_t size, alloc;
} Buf;

static void buf_wipe_free(char *p, size_t size) {
        if (p)
                explicit_bzero(p, size);
        free(p);
}

static int buf_read(Buf *b, int fd) {
        if (b->alloc - b->size < 4097) {
                /* not realloc: the output may be a secret (a key a program
                 * prints), and the old block is wiped before it is freed */
                size_t na = b->alloc ? b->alloc * 2 : 8192;
                char *n = malloc(na);
                if (!n)
                        return -ENOMEM;
                if (b->data) {
                        memcpy(n, b->data, b->size + 1);
                        buf_wipe_free(b->data, b->alloc);
                }
                b->data = n;
                b->alloc = na;
        }
        ssize_t k = read(fd, b->data + b->size, b->alloc - b->size - 1);
        if (k < 0)
                return errno == EINTR || errno == EAGAIN ? 1 : -errno;
        b->size += k;
        b->data[b->size] = 0;
        return k > 0;
}

char **env_merge(char *const *extra) {
        size_t n = 0, m = 0;
        while (environ[n])
                n++;
        while (extra[m])
                m++;
        char **e = calloc(n + m + 1, sizeof(char *));
        if (!e)
                return NULL;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                const char *eq = strchr(environ[i], '=');
                size_t nl = eq ? (size_t) (eq - environ[i]) : strlen(environ[i]);
                bool overridden = false;
                for (size_t j = 0; j < m; j++)
                        if (strncmp(extra[j], environ[i], nl) == 0 && extra[j][nl] == '=')
                                overridden = true;
                if (!overridden)
                        e[k++] = environ[i];
        }
        for (size_t j = 0; j < m; j++)
                e[k++] = extra[j];
        return e;
}

int run(const char *const argv[], const RunOptions *opts, RunResult *ret) {
        static const RunOptions defaults = {};
        if (!opts)
                opts = &defaults;
        if (!argv || !argv[0])
                return -EINVAL;

        _cleanup_free_ char *cmdline = argv_to_string(argv);
        if (dry_run && !opts->ignore_dry_run) {
                log_notice("would run: %s", cmdline ? cmdline : argv[0]);
                if (ret) {
                        *ret = (RunResult) { .out = strdup(""), .err = strdup("") };
                        if (!ret->out || !ret->err)
                                return -ENOMEM;
                }
                return 0;
        }
        log_debug("+ %s", cmdline ? cmdline : argv[0]);

        int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
        int r = 0;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        _cleanup_free_ char **envp = NULL;
        if (opts->env_extra) {
                envp = env_merge(opts->env_extra);
                if (!envp) {
                        r = -ENOMEM;
                        goto finish;
                }
        }

        if (opts->input) {
                if (pipe2(in, O_CLOEXEC) < 0) {
                        r = -errno;
                        goto finish;
                }
                posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        } else
                posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        if (!opts->inherit_stdout) {
                if (pipe2(out, O_CLOEXEC) < 0) {
                        r = -errno;
                        goto finish;
                }
                posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        }
        if (!opts->inherit_stderr) {
                if (pipe2(err, O_CLOEXEC) < 0) {
                        r = -errno;
                        goto finish;
                }
                posix_spawn_file_actions_adddup2(&fa, err[1], 2);
        }
        if (opts->cwd)
                posix_spawn_file_actions_addchdir_np(&fa, opts->cwd);

        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t none;
        sigemptyset(&none);
        posix_spawnattr_setsigmask(&attr, &none);
        sigset_t def;
        sigemptyset(&def);
        sigaddset(&def, SIGPIPE);
        posix_spawnattr_setsigdefault(&attr, &def);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

        pid_t pid;
        r = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *) argv, envp ? envp : environ);
        posix_spawnattr_destroy(&attr);
        if (r != 0) {
                r = -r;
                log_debug_errno(r, "Failed to start %s: %m", argv[0]);
                goto finish;
        }
        if (in[0] >= 0) { close(in[0]); in[0] = -1; }
        /* a blocking write of more than the pipe holds would stall while the
         * program waits for us to read its output */
        if (in[1] >= 0)
                (void) fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
        if (out[1] >= 0) { close(out[1]); out[1] = -1; }
        if (err[1] >= 0) { close(err[1]); err[1] = -1; }

        Buf bo = {}, be = {};
        size_t written = 0;
        int64_t deadline = opts->timeout_ms > 0 ? monotonic_ms() + opts->timeout_ms : 0;
        bool timed_out = false;
        if (in[1] >= 0 && opts->input_size == 0) {
                close(in[1]);
                in[1] = -1;
        }
        void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
        while (in[1] >= 0 || out[0] >= 0 || err[0] >= 0) {
                struct pollfd p[3];
                int np = 0, io = -1, ie = -1, ii = -1;
                if (out[0] >= 0) { io = np; p[np++] = (struct pollfd) { .fd = out[0], .events = POLLIN }; }
                if (err[0] >= 0) { ie = np; p[np++] = (struct pollfd) { .fd = err[0], .events = POLLIN }; }
                if (in[1] >= 0) { ii = np; p[np++] = (struct pollfd) { .fd = in[1], .events = POLLOUT }; }
                int t = -1;
                if (deadline) {
                        int64_t left = deadline - monotonic_ms();
                        if (left <= 0) {
                                timed_out = true;
                                break;
                        }
                        t = (int) left;
                }
                int k = poll(p, np, t);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        break;
                }
                if (io >= 0 && p[io].revents) {
                        int q = buf_read(&bo, out[0]);
                        if (q < 0) { r = q; break; }
                        if (q == 0) { close(out[0]); out[0] = -1; }
                }
                if (ie >= 0 && p[ie].revents) {
                        int q = buf_read(&be, err[0]);
                        if (q < 0) { r = q; break; }
                        if (q == 0) { close(err[0]); err[0] = -1; }
                }
                if (ii >= 0 && p[ii].revents) {
                        ssize_t w = write(in[1], (const char *) opts->input + written, opts->input_size - written);
                        if (w < 0 && errno != EINTR && errno != EAGAIN) {
                                close(in[1]); /* EPIPE: the program does not read all of it */
                                in[1] = -1;
                        } else if (w > 0) {
                                written += w;
                                if (written == opts->input_size) {
                                        close(in[1]);
                                        in[1] = -1;
                                }
                        }
                }
        }
        signal(SIGPIPE, old_pipe);
        if (timed_out || r < 0)
                kill(pid, SIGKILL);

        int status = 0;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        status = 0;
                        break;
                }

        if (ret) {
                *ret = (RunResult) {
                        .exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                        .signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
                        .out = bo.data ? bo.data : strdup(""),
                        .out_size = bo.size,
                        .err = be.data ? be.data : strdup(""),
                        .err_size = be.size,
                };
        } else {
                buf_wipe_free(bo.data, bo.alloc);
                buf_wipe_free(be.data, be.alloc);
        }
        if (r < 0) {
        } else if (timed_out) {
                log_debug("%s timed out after %d ms, killed", argv[0], opts->timeout_ms);
                r = -ETIMEDOUT;
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                log_debug("%s %s", argv[0], WIFEXITED(status) ? "exited non-zero" : "was killed");
                r = -EPROTO;
        }

finish:
        posix_spawn_file_actions_destroy(&fa);
        for (int i = 0; i < 2; i++) {
                if (in[i] >= 0) close(in[i]);
                if (out[i] >= 0) close(out[i]);
                if (err[i] >= 0) close(err[i]);
        }
        return r;
}
