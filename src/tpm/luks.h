/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libcryptsetup.h>

/* LUKS2 keyslots and tokens through libcryptsetup, for the TPM, recovery and
 * password methods.  Works on block devices and on image files (activation
 * with a name needs device-mapper; with name NULL it only verifies). */

#define LUKS_SLOTS_MAX 32
#define LUKS_TOKENS_MAX 32

static inline void crypt_freep(struct crypt_device **cd) {
        if (*cd)
                crypt_free(*cd);
        *cd = NULL;
}

typedef enum LuksSlotKind {
        LUKS_SLOT_NONE,         /* inactive */
        LUKS_SLOT_PASSWORD,     /* no token refers to it */
        LUKS_SLOT_RECOVERY,     /* a systemd-recovery token refers to it */
        LUKS_SLOT_TPM2,         /* a systemd-tpm2 token refers to it */
        LUKS_SLOT_OTHER,        /* another token type (fido2, pkcs11, …) */
} LuksSlotKind;

const char *luks_slot_kind_to_string(LuksSlotKind k);

/* Sends libcryptsetup's messages (for cd, or the default ones with NULL) to
 * debug logging instead of stderr. */
void luks_route_logging(struct crypt_device *cd);

/* Opens a LUKS2 header: -EMEDIUMTYPE when the device is not LUKS2. */
int luks_open(const char *path, struct crypt_device **ret);

/* The volume key for a passphrase (any keyslot, or only slot when >= 0);
 * returns the keyslot that opened.  -EPERM when no keyslot accepts it. */
int luks_volume_key_get(struct crypt_device *cd, int slot, const char *pass, size_t pass_size,
                        uint8_t **ret_vk, size_t *ret_vk_size);

/* Adds a keyslot for the volume key; minimal_pbkdf: pbkdf2-sha512 with 1000
 * iterations, for high-entropy secrets (TPM, recovery key), as systemd
 * does; otherwise the libcryptsetup default (argon2id, benchmarked).
 * Returns the new keyslot. */
int luks_keyslot_add(struct crypt_device *cd, const uint8_t *vk, size_t vk_size,
                     const char *pass, size_t pass_size, bool minimal_pbkdf);

/* Stores a token; returns its id. */
int luks_token_add(struct crypt_device *cd, const char *json);

/* A token's JSON text → its "type" ("" when absent; malloc'd) and the
 * keyslots it names (bit mask).  -EINVAL when the text is not JSON. */
int luks_token_parse(const char *json, char **ret_type, uint32_t *ret_slots);

/* The type of token id and the keyslots it names (bit mask).  -ENOENT when
 * there is no such token. */
int luks_token_info(struct crypt_device *cd, int token, const char **ret_json, char **ret_type, uint32_t *ret_slots);

/* What each keyslot is, from the tokens that name it. */
int luks_slot_kinds(struct crypt_device *cd, LuksSlotKind kinds[LUKS_SLOTS_MAX]);

/* Destroys a keyslot and every token that names it. */
int luks_keyslot_wipe(struct crypt_device *cd, int slot);

/* Activates (name != NULL) or only verifies (name == NULL) with a passphrase
 * in one keyslot; returns the keyslot. */
int luks_activate(struct crypt_device *cd, const char *name, int slot, const char *pass, size_t pass_size);
