/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Lower-case hex; hex_decode accepts either case, refuses odd lengths and
 * non-hex characters (-EINVAL).  Both return 0 or -errno. */
int hex_encode(const void *data, size_t size, char **ret);
int hex_decode(const char *s, uint8_t **ret, size_t *ret_size);

/* The value of one hex digit (either case), or -1 when c is not one. */
int hex_digit_value(char c);
