/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdio.h>

/* Progress of long work (the build's stages): each step as it starts and
 * as it ends, with its elapsed time.  Off until the command layer calls
 * progress_enable(), so library code may report steps freely and still
 * prints nothing by itself.
 *
 * On a terminal (isatty) the report is one line, rewritten in place with
 * "\r" and a clear-line sequence: the steps running now and how long each
 * has run, or the step that just ended.  Anywhere else (a pipe, a log
 * file) each event is a plain line:
 *
 *   build: rootfs: started
 *   build: ZFS modules: compile: started
 *   build: rootfs: done in 72.3 s
 *   build: ZFS modules: cached
 *
 * With debug logging on (--verbose) the plain lines are used even on a
 * terminal, so debug lines do not tear the updating one. */

/* scope: the first word of every line ("build"); f: stderr for `keystone
 * build`.  Quiet (log level below notice): nothing is printed. */
void progress_enable(FILE *f, const char *scope);
/* Clears the updating line (a terminal) and turns progress off. */
void progress_disable(void);

/* A step starts / ends (r < 0: failed) / was found in the cache.  The
 * name identifies the step (at most 63 bytes); several may run at once. */
void progress_begin(const char *name);
void progress_end(const char *name, int r);
void progress_cached(const char *name);
/* Rewrites the updating line with the running times (no-op otherwise):
 * for loops that wait on a background step. */
void progress_tick(void);
/* A line of progress from elsewhere (a child keystone's plain lines):
 * shown as the updating line on a terminal, printed as it is otherwise. */
void progress_line(const char *text);

/* "72.3 s" below a minute, "3 min 05 s" from a minute on (out: 32 bytes). */
void progress_format_seconds(double s, char *out, size_t size);
