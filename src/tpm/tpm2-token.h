/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpm/tpm2-pcr.h"
#include "tpm/tpm2-seal.h"

/* The LUKS2 token systemd-cryptenroll writes for a TPM2 keyslot, which
 * systemd-cryptsetup and its libcryptsetup token plugin read:
 *
 *   {"type":"systemd-tpm2", "keyslots":["1"],
 *    "tpm2-blob":        base64(TPM2B_PRIVATE || TPM2B_PUBLIC),
 *    "tpm2-pcrs":        [1,7],
 *    "tpm2-pcr-bank":    "sha256",
 *    "tpm2-primary-alg": "ecc",
 *    "tpm2-policy-hash": hex of the PolicyPCR digest,
 *    "tpm2-pin":         false,
 *    "tpm2_srk":         base64(ESYS serialization of the persistent SRK)  (systemd >= 255, optional)
 *    "keystone-pcr-values": {"1":"<hex>", "7":"<hex>"}                   (Keystone's, ignored by systemd)}
 *
 * The keyslot's passphrase is the base64 of the unsealed secret (what
 * systemd does).  Tokens using pcrlock, a signed PCR policy or an Argon2id
 * PIN parse, but are marked unsupported. */

typedef struct Tpm2Token {
        int keyslot;                    /* the first keyslot listed */
        uint32_t pcr_mask;
        uint16_t pcr_bank;              /* TPM2_ALG_SHA256 or TPM2_ALG_SHA1 */
        Tpm2Sealed sealed;              /* blob, primary_alg, srk */
        uint8_t *policy_hash;
        size_t policy_hash_size;
        bool pin;
        uint8_t *salt;                  /* "tpm2_salt": the PIN's PBKDF2 salt (systemd >= 253) */
        size_t salt_size;
        bool has_values;                /* keystone-pcr-values present */
        Tpm2PcrValues values;
        const char *unsupported;        /* why Keystone cannot unseal it, or NULL */
} Tpm2Token;

void tpm2_token_done(Tpm2Token *t);

/* -EINVAL (with a debug message naming the field) for malformed JSON or
 * fields; -EMEDIUMTYPE when the type is not systemd-tpm2. */
int tpm2_token_from_json(const char *json, Tpm2Token *ret);
int tpm2_token_to_json(const Tpm2Token *t, char **ret);

/* The LUKS passphrase for a secret: its base64, NUL-terminated. */
int tpm2_secret_to_passphrase(const uint8_t *secret, size_t size, char **ret);

const char *tpm2_alg_to_string(uint16_t alg);
