/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Recovery keys in systemd's format: 256 random bits written in "modhex"
 * (the 16 letters c b d e f g h i j k l n r t u v for the nibbles 0..f, high
 * nibble first), 8 groups of 8 letters joined by '-' (71 characters).  The
 * whole string, dashes included, is the LUKS passphrase, as with
 * systemd-cryptenroll --recovery-key. */

#define RECOVERY_KEY_BYTES 32
#define RECOVERY_KEY_LENGTH (RECOVERY_KEY_BYTES * 2 + 7)

/* Formats 32 bytes; ret must hold RECOVERY_KEY_LENGTH + 1 bytes. */
void recovery_key_format(const uint8_t key[RECOVERY_KEY_BYTES], char ret[RECOVERY_KEY_LENGTH + 1]);

/* A fresh random key, formatted, malloc'd (erase_and_free it). */
int recovery_key_generate(char **ret);

/* Whether s has the recovery-key shape (case-insensitive letters, dashes
 * optional).  When it does, ret (RECOVERY_KEY_LENGTH + 1 bytes) receives the
 * canonical form, so that a key typed in upper case or without dashes still
 * opens its keyslot. */
bool recovery_key_normalize(const char *s, size_t n, char ret[RECOVERY_KEY_LENGTH + 1]);
