/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

#include "util/log.h"
#include "util/run.h"
#include "util/spawn.h"

extern char **environ;

int spawn_background(const char *const argv[], const SpawnOptions *opts, pid_t *ret_pid) {
        static const SpawnOptions defaults = {};
        if (!opts)
                opts = &defaults;
        if (!argv || !argv[0] || !ret_pid)
                return -EINVAL;

        _cleanup_free_ char *cmdline = argv_to_string(argv);
        log_debug("+ (background) %s", cmdline ? cmdline : argv[0]);

        _cleanup_close_ int logfd = -1;
        if (opts->log_path) {
                logfd = open(opts->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (logfd < 0)
                        return -errno;
                dprintf(logfd, "+ %s\n", cmdline ? cmdline : argv[0]);
        }

        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        if (logfd >= 0) {
                posix_spawn_file_actions_adddup2(&fa, logfd, 1);
                posix_spawn_file_actions_adddup2(&fa, logfd, 2);
        } else {
                posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
                posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        }
        if (opts->pass_fd > 0)
                /* dup2 clears FD_CLOEXEC on the copy; the same number would keep it */
                posix_spawn_file_actions_adddup2(&fa, opts->pass_fd, 3);
        if (opts->cwd)
                posix_spawn_file_actions_addchdir_np(&fa, opts->cwd);

        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t none, def;
        sigemptyset(&none);
        sigemptyset(&def);
        sigaddset(&def, SIGPIPE);
        sigaddset(&def, SIGTERM);
        sigaddset(&def, SIGINT);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &def);
        short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
        if (opts->process_group) {
                posix_spawnattr_setpgroup(&attr, 0);
                flags |= POSIX_SPAWN_SETPGROUP;
        }
        posix_spawnattr_setflags(&attr, flags);

        _cleanup_free_ char **env = opts->env_extra ? env_merge(opts->env_extra) : NULL;
        if (opts->env_extra && !env) {
                posix_spawnattr_destroy(&attr);
                posix_spawn_file_actions_destroy(&fa);
                return -ENOMEM;
        }

        pid_t pid;
        int r = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *) argv, env ? env : environ);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return log_debug_errno(-r, "Failed to start %s: %m", argv[0]);
        log_debug("started %s as pid %d", argv[0], (int) pid);
        *ret_pid = pid;
        return 0;
}

int spawn_poll(pid_t pid, int *ret_status) {
        int status = 0;
        pid_t k = waitpid(pid, &status, WNOHANG);
        if (k < 0)
                return -errno;
        if (k == 0)
                return 0;
        if (ret_status)
                *ret_status = status;
        return 1;
}

static int stop(pid_t pid, pid_t target, int timeout_ms) {
        if (pid <= 0)
                return 0;
        int r = spawn_poll(pid, NULL);
        if (r < 0)
                return r;
        if (r > 0 && target == pid)
                return 0;
        if (r == 0 && kill(target, SIGTERM) < 0 && errno != ESRCH)
                return -errno;
        for (int waited = 0; r == 0 && waited < timeout_ms; waited += 20) {
                nanosleep(&(struct timespec) { .tv_nsec = 20 * 1000000 }, NULL);
                if ((r = spawn_poll(pid, NULL)) < 0)
                        return r;
        }
        if (r > 0 && target == pid)
                return 0;
        if (r == 0)
                log_debug("pid %d did not end within %d ms of SIGTERM, sending SIGKILL", (int) pid, timeout_ms);
        /* a group: what is left of it, even when its leader has ended */
        (void) kill(target, SIGKILL);
        if (r > 0)
                return 0;
        while (waitpid(pid, NULL, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

int spawn_stop(pid_t pid, int timeout_ms) {
        return stop(pid, pid, timeout_ms);
}

int spawn_stop_group(pid_t pid, int timeout_ms) {
        return stop(pid, -pid, timeout_ms);
}
