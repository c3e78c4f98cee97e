/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdarg.h>
#include "util/macro.h"

/* Logging: library code logs only at debug level; the command layer prints
 * the one message the user reads.  Messages go to stderr prefixed with
 * "keystone: " (errors), and every line at any level is also appended to
 * $KEYSTONE_LOG_FILE when that is set (argv of every external program ends
 * up there, see util/run.h). */

enum { LOG_ERR = 3, LOG_WARNING = 4, LOG_NOTICE = 5, LOG_INFO = 6, LOG_DEBUG = 7 };

void log_set_max_level(int level);
int log_get_max_level(void);
void log_set_program(const char *name);

/* Returns -abs(error) (or 0 when error is 0), so callers can
 * `return log_error_errno(r, "Failed to …: %m");`.  %m expands to
 * strerror(error). */
int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_debug(...)   log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)    log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)  log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)   log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...)   log_internal(LOG_DEBUG, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...)   log_internal(LOG_ERR, (e), __VA_ARGS__)
