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

/* A program run() started: its pid, our ends of its pipes (-1: none, or
 * closed once done with), what it wrote, how it ended. */
typedef struct Child {
        pid_t pid;
        int in, out, err;
        Buf out_buf, err_buf;
        bool timed_out;
        int status;             /* waitpid(2)'s */
} Child;

static void close_fd(int *fd) {
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

static void child_close_pipes(Child *c) {
        close_fd(&c->in);
        close_fd(&c->out);
        close_fd(&c->err);
}

/* Setup: the pipes and what the program inherits (stdin from a pipe when
 * there is input, else /dev/null; stdout and stderr to pipes unless
 * inherited; the cwd; the environment with env_extra; no blocked signals
 * and SIGPIPE at its default), then the spawn.  On success c holds the pid
 * and our ends of the pipes (stdin non-blocking); the program's ends are
 * closed.  On failure nothing is left open. */
static int child_start(const char *const argv[], const RunOptions *opts, Child *c) {
        int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
        int r = 0;
        _cleanup_free_ char **envp = NULL;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);

        if (opts->env_extra && !(envp = env_merge(opts->env_extra))) {
                r = -ENOMEM;
                goto finish;
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

        sigset_t none, def;
        sigemptyset(&none);
        posix_spawnattr_setsigmask(&attr, &none);
        sigemptyset(&def);
        sigaddset(&def, SIGPIPE);
        posix_spawnattr_setsigdefault(&attr, &def);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

        r = -posix_spawnp(&c->pid, argv[0], &fa, &attr, (char *const *) argv, envp ? envp : environ);
        if (r < 0) {
                log_debug_errno(r, "Failed to start %s: %m", argv[0]);
                goto finish;
        }
        /* a blocking write of more than the pipe holds would stall while the
         * program waits for us to read its output */
        if (in[1] >= 0)
                (void) fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
        c->in = TAKE_FD(in[1]);
        c->out = TAKE_FD(out[0]);
        c->err = TAKE_FD(err[0]);

finish:
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        for (int i = 0; i < 2; i++) {
                close_fd(&in[i]);
                close_fd(&out[i]);
                close_fd(&err[i]);
        }
        return r;
}

/* One poll(2) round's work on a readable pipe: 0 when it ended (closed). */
static int child_read(Buf *b, int *fd) {
        int q = buf_read(b, *fd);
        if (q == 0)
                close_fd(fd);
        return q;
}

/* The next piece of the input to the program's stdin; its pipe is closed
 * once all is written, or when the program stops reading (EPIPE). */
static void child_write(Child *c, const RunOptions *opts, size_t *written) {
        ssize_t w = write(c->in, (const char *) opts->input + *written, opts->input_size - *written);
        if (w < 0 && errno != EINTR && errno != EAGAIN)
                close_fd(&c->in);
        else if (w > 0 && (*written += (size_t) w) == opts->input_size)
                close_fd(&c->in);
}

/* The I/O loop: feeds the input to stdin and collects stdout and stderr
 * until all three pipes are done, or until the timeout (c->timed_out).
 * SIGPIPE is ignored meanwhile.  Returns 0, or -errno when poll or a read
 * failed (the loop stops there). */
static int child_io(Child *c, const RunOptions *opts) {
        size_t written = 0;
        int64_t deadline = opts->timeout_ms > 0 ? monotonic_ms() + opts->timeout_ms : 0;
        int r = 0;
        if (c->in >= 0 && opts->input_size == 0)
                close_fd(&c->in);
        void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
        while (c->in >= 0 || c->out >= 0 || c->err >= 0) {
                struct pollfd p[3];
                int np = 0, io = -1, ie = -1, ii = -1;
                if (c->out >= 0) { io = np; p[np++] = (struct pollfd) { .fd = c->out, .events = POLLIN }; }
                if (c->err >= 0) { ie = np; p[np++] = (struct pollfd) { .fd = c->err, .events = POLLIN }; }
                if (c->in >= 0) { ii = np; p[np++] = (struct pollfd) { .fd = c->in, .events = POLLOUT }; }
                int t = -1;
                if (deadline) {
                        int64_t left = deadline - monotonic_ms();
                        if (left <= 0) {
                                c->timed_out = true;
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
                if (io >= 0 && p[io].revents && (r = child_read(&c->out_buf, &c->out)) < 0)
                        break;
                if (ie >= 0 && p[ie].revents && (r = child_read(&c->err_buf, &c->err)) < 0)
                        break;
                r = 0;
                if (ii >= 0 && p[ii].revents)
                        child_write(c, opts, &written);
        }
        signal(SIGPIPE, old_pipe);
        return r;
}

/* Reap: kills the program first when told to (a timeout, a failed read),
 * then waits for it; c->status is 0 when waitpid itself failed. */
static void child_reap(Child *c, bool kill_first) {
        if (kill_first)
                kill(c->pid, SIGKILL);
        c->status = 0;
        while (waitpid(c->pid, &c->status, 0) < 0)
                if (errno != EINTR) {
                        c->status = 0;
                        break;
                }
}

/* What run() returns, from how the program ended; hands the output to ret
 * (or wipes it). */
static int child_result(const char *const argv[], const RunOptions *opts, Child *c, int r, RunResult *ret) {
        int status = c->status;
        if (ret)
                *ret = (RunResult) {
                        .exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                        .signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
                        .out = c->out_buf.data ? c->out_buf.data : strdup(""),
                        .out_size = c->out_buf.size,
                        .err = c->err_buf.data ? c->err_buf.data : strdup(""),
                        .err_size = c->err_buf.size,
                };
        else {
                buf_wipe_free(c->out_buf.data, c->out_buf.alloc);
                buf_wipe_free(c->err_buf.data, c->err_buf.alloc);
        }
        c->out_buf = c->err_buf = (Buf) {};
        if (r < 0)
                return r;
        if (c->timed_out) {
                log_debug("%s timed out after %d ms, killed", argv[0], opts->timeout_ms);
                return -ETIMEDOUT;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                log_debug("%s %s", argv[0], WIFEXITED(status) ? "exited non-zero" : "was killed");
                return -EPROTO;
        }
        return 0;
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

        Child c = { .in = -1, .out = -1, .err = -1 };
        int r = child_start(argv, opts, &c);
        if (r < 0)
                return r;
        r = child_io(&c, opts);
        child_reap(&c, c.timed_out || r < 0); /* killed with our ends open: SIGKILL, not SIGPIPE */
        child_close_pipes(&c);
        return child_result(argv, opts, &c, r, ret);
}
