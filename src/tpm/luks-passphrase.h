/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tpm/luks.h"

/* The volume key for something a person typed: a password, or a recovery
 * key (also when typed in upper case or without dashes: tried again in its
 * canonical form).  Returns the keyslot; -EPERM when no keyslot accepts it. */
int luks_passphrase_volume_key(struct crypt_device *cd, const char *pass, size_t n,
                               uint8_t **ret_vk, size_t *ret_vk_size);
