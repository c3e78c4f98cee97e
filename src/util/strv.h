/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* NULL-ended arrays of malloc'd strings in a malloc'd array ("strv"): argv
 * vectors built at run time, lists of names. */

/* Frees every string, then the array; accepts NULL. */
void strv_free(char **v);

/* The number of strings before the NULL; 0 for NULL. */
size_t strv_length(char *const *v);

/* Whether one of the n strings of v (a counted array, not NULL-ended) is s. */
bool strn_contains(char *const *v, size_t n, const char *s);

static inline void strv_freep(char ***p) {
        strv_free(*p);
}
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))

/* The whole line of TEXT that holds NEEDLE, copied into OUT (truncated to
 * SIZE); OUT is left as it is when NEEDLE is not there. */
void text_line_containing(const char *text, const char *needle, char *out, size_t size);
