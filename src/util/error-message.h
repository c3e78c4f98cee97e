/* SPDX-License-Identifier: MIT */
#pragma once

/* Library code does not print; where a bare errno would not tell the user
 * enough (which step, which device, what to do), it returns the explanation
 * in a malloc'd string the command layer prints. */

/* Replaces *error with the formatted message and returns r; error may be
 * NULL (the caller wants only r). */
int error_set(char **error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
