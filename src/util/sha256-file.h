/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

/* Lower-case hex SHA-256 of a file's bytes (OpenSSL EVP, read in chunks);
 * *ret_size (may be NULL) gets the byte count. */
int sha256_file_hex(const char *path, char out[static 65], uint64_t *ret_size);
