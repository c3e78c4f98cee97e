/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Long-lived background programs (qemu, swtpm): the counterpart of run()
 * for programs that must keep running while we do other work.  Same rules:
 * an argv array, never a shell; the argv is logged (debug level and
 * $KEYSTONE_LOG_FILE) and also written as the first line of the program's
 * log file.  Callers keep the pid and end only that pid with spawn_stop(). */

typedef struct SpawnOptions {
        const char *log_path;   /* stdout+stderr appended here; NULL: /dev/null */
        const char *cwd;
        int pass_fd;            /* > 0: given to the program as its fd 3 (qemu's tap,fd=3) */
        char *const *env_extra; /* NAME=VALUE strings added to the environment (as RunOptions) */
        bool process_group;     /* in a process group of its own (pgid = pid): what it starts can
                                 * be ended with it by spawn_stop_group(); Ctrl-C no longer reaches it */
} SpawnOptions;

/* Starts argv[0] (searched in PATH) in the background.  stdin is /dev/null.
 * Returns 0 and the pid, -ENOENT when the program is not installed, other
 * -errno when it could not be started. */
int spawn_background(const char *const argv[], const SpawnOptions *opts, pid_t *ret_pid);

/* Non-blocking: 1 and *ret_status (a waitpid status) when pid has ended
 * and was reaped, 0 while it runs, -errno on error (-ECHILD: not ours). */
int spawn_poll(pid_t pid, int *ret_status);

/* Ends a program we started: SIGTERM, up to timeout_ms for it to exit, then
 * SIGKILL; always reaps it.  Returns 0, or -errno. pid <= 0 is a no-op. */
int spawn_stop(pid_t pid, int timeout_ms);
/* The same for a program started with .process_group, and everything in
 * its group: SIGTERM to the group, up to timeout_ms for pid to exit, then
 * SIGKILL to what is left of the group; pid is reaped. */
int spawn_stop_group(pid_t pid, int timeout_ms);
