/* SPDX-License-Identifier: MIT */
#pragma once

/* A step's own log file (a stage of keystone vm, an SSH session): lines
 * appended, the file made 0600 and never opened through a link.  A log
 * that cannot be written never stops the work: errors are ignored. */

#include <stdbool.h>

#include "util/macro.h"
#include "util/run.h"

/* An fd appending to PATH, or -1 (PATH NULL, or it cannot be opened). */
int log_file_open(const char *path);

/* FMT appended to PATH as it is (no newline added). */
void log_file_printf(const char *path, const char *fmt, ...) _printf_(2, 3);

/* One command's record on fd: "$ COMMAND", STDIN_NOTE (when not NULL) on a
 * line of its own, its stdout (or "(stdout not logged: it may hold a
 * secret)" unless log_output), its stderr, "-> OUTCOME". */
void log_file_command(int fd, const char *command, const char *stdin_note, const RunResult *res, bool log_output,
                      const char *outcome);
