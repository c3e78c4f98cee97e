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
        LUKS_SLOT_INSTALL,      /* a keystone-install-secret token refers to it */
        LUKS_SLOT_OTHER,        /* another token type (fido2, pkcs11, …) */
} LuksSlotKind;

/* The token type that marks the keyslot of the install secret (the secret
 * `keystone disk apply` formats the credstore with, typed at the first
 * boot): {"type":"keystone-install-secret","keyslots":["0"]}.  systemd and
 * cryptsetup ignore token types they do not know. */
#define LUKS_TOKEN_INSTALL_SECRET "keystone-install-secret"

const char *luks_slot_kind_to_string(LuksSlotKind k);

/* Sends libcryptsetup's messages (for cd, or the default ones with NULL) to
 * debug logging instead of stderr. */
void luks_route_logging(struct crypt_device *cd);

/* The two copies of a LUKS2 header, read from the disk as they are (LUKS2
 * on-disk format: a 4096-byte binary header, then the JSON area; the copy
 * at 0 has magic "LUKS\xba\xbe", the secondary "SKUL\xba\xbe" at hdr_size;
 * each carries a checksum (csum_alg, normally sha256) over the hdr_size
 * bytes of its copy with the checksum field zeroed).  libcryptsetup uses
 * whichever copy is intact without saying so: this says so. */
typedef struct LuksHeaderCheck {
        bool primary_ok, secondary_ok;
        /* when not ok: "no LUKS2 magic", "bad checksum", "truncated", … */
        const char *primary_problem, *secondary_problem;
        uint64_t hdr_size;      /* of the copy that is ok (the primary's when both are) */
        uint64_t secondary_offset; /* where the secondary copy was found (0: nowhere) */
} LuksHeaderCheck;

/* Reads both copies: 0 (look at the fields), -ENOENT when there is no such
 * file, -EMEDIUMTYPE when neither copy has the LUKS2 magic (not LUKS2, or
 * truncated), other -errno when path cannot be read. */
int luks_header_check(const char *path, LuksHeaderCheck *ret);

/* Opens a LUKS2 header: -ENOENT when path does not exist, -EMEDIUMTYPE
 * when it is not LUKS2 or too short to hold a LUKS2 header. */
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

/* Marks slot as the install secret's (a keystone-install-secret token). */
int luks_install_secret_mark(struct crypt_device *cd, int slot);

/* Reads the header of path again (a new crypt_device, nothing cached) and
 * checks that none of the keyslots in mask is still active and that no
 * token names one of them: 0, or -EEXIST when one survived. */
int luks_keyslots_verify_gone(const char *path, uint32_t mask);

/* Activates (name != NULL) or only verifies (name == NULL) with a passphrase
 * in one keyslot; returns the keyslot. */
int luks_activate(struct crypt_device *cd, const char *name, int slot, const char *pass, size_t pass_size);
