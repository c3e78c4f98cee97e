/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* "8 GiB", "100 MiB", "1.5 GiB", "512 B": whole binary units when exact,
 * else one decimal; buf of at least 32 bytes. */
const char *format_bytes(uint64_t b, char *buf, size_t size);
