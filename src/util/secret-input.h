/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* How secrets reach Keystone: from a key file (its exact bytes) or from
 * standard input (a terminal prompt with echo off, or one line read from a
 * pipe) — never from argv.  The returned buffers are NUL-terminated and must
 * be released with erase_and_free(). */

/* Reads the whole of PATH (at most 8 KiB).  -EFBIG when larger, -EINVAL when
 * empty. */
int secret_read_file(const char *path, char **ret, size_t *ret_size);

/* Prompts on the terminal (echo off) when stdin is one; otherwise reads one
 * line from stdin without its newline.  -ENODATA at end of input or on an
 * empty line. */
int secret_read_line(const char *prompt, char **ret, size_t *ret_size);
