/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "util/macro.h"
#include "util/run.h"

/* The console lines of keystone-init's work outside the eight numbered boot
 * steps (installer mode, initrd-ssh):
 *
 *   [installer] network ... ok (0.03 s): eth0 10.0.2.15/24, via 10.0.2.2
 *   [keystone-init] initrd-ssh sshd ... ok (0.31 s): root@192.0.2.7 by key only (pid 211)
 *
 * Run for real, "[PREFIX] NAME ... " is printed when the step begins, so
 * that a hang shows where; in a dry run the programs the step would run
 * come first, each as "  (dry run) ARGV", then the whole line. */

typedef struct InitStepLine {
        FILE *console;
        const char *prefix, *name;
        double t0;
        bool dry;
} InitStepLine;

InitStepLine init_step_line_begin(FILE *console, const char *prefix, const char *name, bool dry);

/* Ends the line with "ok" (r >= 0) or "failed", the time and the detail;
 * returns r. */
int init_step_line_end(const InitStepLine *s, int r, const char *fmt, ...) _printf_(3, 4);

/* Runs argv through run() (60 s), or in a dry run prints it on out; on
 * failure -errno and *ret_error says what failed.  keep (may be NULL): the
 * result, released by the caller, when it ran. */
int init_run_or_print(const char *const *argv, bool dry, FILE *out, RunResult *keep, char **ret_error);
