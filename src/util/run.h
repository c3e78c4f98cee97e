/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The one way Keystone runs an external program: an argv array (never a
 * shell string), the argv logged at debug level and to $KEYSTONE_LOG_FILE,
 * stdout and stderr captured, optional stdin data (how secrets reach a
 * program: never through argv), a timeout, and a global dry-run switch. */

typedef struct RunOptions {
        const void *input;      /* written to stdin; NULL: stdin is /dev/null */
        size_t input_size;
        bool inherit_stdout;    /* do not capture: pass through to our stdout */
        bool inherit_stderr;
        bool ignore_dry_run;    /* read-only queries that are safe to run anyway */
        int timeout_ms;         /* 0: no timeout */
        const char *cwd;
        char *const *env_extra; /* NAME=VALUE strings added to the environment */
} RunOptions;

typedef struct RunResult {
        int exit_status;        /* valid when signal == 0 */
        int signal;             /* terminating signal, 0 if it exited */
        char *out;              /* NUL-terminated captured stdout (may be "") */
        size_t out_size;
        char *err;              /* NUL-terminated captured stderr */
        size_t err_size;
} RunResult;

/* Runs argv[0] (searched in PATH).  Returns 0 when the program ran and
 * exited 0; -EPROTO when it ran but exited non-zero or was killed (ret says
 * how); -ETIMEDOUT on timeout (the program is killed); -ENOENT when it is
 * not installed; other -errno when it could not be started.  ret may be
 * NULL; when given, it is filled in every case that ran the program and must
 * be released with run_result_done(). */
int run(const char *const argv[], const RunOptions *opts, RunResult *ret);

void run_result_done(RunResult *r);

/* A one-line description of how the program ended, for error messages:
 * "exited with status 2: <last line of stderr>". Static buffer. */
const char *run_result_describe(const RunResult *r);

void run_set_dry_run(bool b);
bool run_get_dry_run(void);

/* The environment with extra (NAME=VALUE strings) replacing or adding
 * those names: a malloc'd array of borrowed strings (free only the array),
 * NULL when out of memory.  What RunOptions/SpawnOptions.env_extra use. */
char **env_merge(char *const *extra);

/* argv joined with spaces, each argument quoted when needed; malloc'd. */
char *argv_to_string(const char *const argv[]);
