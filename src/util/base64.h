/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Standard base64 (RFC 4648, with padding, no line breaks), through
 * OpenSSL's encoder.  base64_decode is strict: it refuses whitespace,
 * characters outside the alphabet and lengths that are not a multiple of 4.
 * Both return 0 or -errno (-EINVAL for malformed input, -ENOMEM). */
int base64_encode(const void *data, size_t size, char **ret);
int base64_decode(const char *s, uint8_t **ret, size_t *ret_size);
