/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tpm/tpm2-context.h"
#include "tpm/tpm2-pcr.h"

/* Sealing a random secret to a PolicyPCR digest, and unsealing it, the way
 * systemd does, so that each can open what the other sealed:
 *
 *  - parent: either the persistent SRK at 0x81000001 (systemd >= 255; the
 *    token then carries its ESYS serialization as "tpm2_srk"), or a
 *    transient primary created from systemd's legacy template (ECC P-256 or
 *    RSA 2048, AES-128-CFB, restricted decrypt, no unique data) in the owner
 *    hierarchy, recreated identically on every unseal;
 *  - sealed object: KEYEDHASH, sha256, fixedTPM|fixedParent, authPolicy =
 *    the PolicyPCR digest, 32 random bytes as sensitive data;
 *  - blob: marshalled TPM2B_PRIVATE followed by TPM2B_PUBLIC;
 *  - unseal: a policy session salted with the parent's key (AES-128-CFB
 *    response encryption), PolicyPCR over the token's selection, the session
 *    digest compared with the token's policy hash, then Unseal.
 *
 * Every transient object and session is flushed before returning, on every
 * path.  Secrets are returned in malloc'd buffers the caller wipes. */

#define TPM2_SRK_HANDLE UINT32_C(0x81000001)
#define TPM2_SECRET_SIZE 32

typedef enum Tpm2SrkMode {
        TPM2_SRK_AUTO,          /* persistent SRK when one exists, else transient legacy primary */
        TPM2_SRK_TRANSIENT,     /* always the legacy primary (what systemd 252 understands) */
        TPM2_SRK_PERSISTENT,    /* the persistent SRK, created and persisted when missing */
} Tpm2SrkMode;

typedef struct Tpm2Sealed {
        uint8_t *blob;
        size_t blob_size;
        uint16_t primary_alg;   /* TPM2_ALG_ECC or TPM2_ALG_RSA */
        uint8_t *srk;           /* ESYS serialization of the persistent SRK, or NULL */
        size_t srk_size;
} Tpm2Sealed;

void tpm2_sealed_done(Tpm2Sealed *s);

/* Seals a fresh random secret (TPM2_SECRET_SIZE bytes) under policy. */
int tpm2_seal(Tpm2Context *c, Tpm2SrkMode srk_mode, const uint8_t policy[TPM2_SHA256_SIZE],
              Tpm2Sealed *ret_sealed, uint8_t **ret_secret, size_t *ret_secret_size);

/* Unseals: -EPERM when the current PCRs do not satisfy the policy (checked
 * against policy_hash before Unseal when policy_hash is given), -ESTALE when
 * the SRK the token names is no longer the TPM's, -EOPNOTSUPP for a blob form
 * this code does not handle, other -errno for TPM or transport failures. */
int tpm2_unseal(Tpm2Context *c, uint16_t pcr_bank, uint32_t pcr_mask,
                const uint8_t *policy_hash, size_t policy_hash_size,
                const Tpm2Sealed *sealed, uint8_t **ret_secret, size_t *ret_secret_size);

/* The same for an object sealed with a PIN: the policy also has
 * PolicyAuthValue and auth (the PIN's hash, see tpm2_pin_auth()) is the
 * object's authValue.  -EACCES for a wrong PIN (the TPM counts it towards
 * its dictionary-attack lockout). */
int tpm2_unseal_with_auth(Tpm2Context *c, uint16_t pcr_bank, uint32_t pcr_mask,
                          const uint8_t *policy_hash, size_t policy_hash_size,
                          const uint8_t *auth, size_t auth_size,
                          const Tpm2Sealed *sealed, uint8_t **ret_secret, size_t *ret_secret_size);

/* The authValue systemd derives from a TPM2 PIN: SHA256(pin) for tokens
 * without "tpm2_salt" (systemd < 253); with a salt, SHA256 of the base64 of
 * one PBKDF2-HMAC-SHA256 round over (pin, salt). */
int tpm2_pin_auth(const char *pin, const uint8_t *salt, size_t salt_size, uint8_t ret[TPM2_SHA256_SIZE]);

/* 1 when a persistent object exists at TPM2_SRK_HANDLE, 0 if not. */
int tpm2_srk_exists(Tpm2Context *c);
