/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpm/tpm2-context.h"

/* PCR selections, values and PolicyPCR digests (sha256 bank).
 *
 * A selection is a bit mask of PCRs 0..23.  The PolicyPCR digest is computed
 * in software exactly as the TPM computes it:
 *   policy' = SHA256(policy || TPM_CC_PolicyPCR || TPML_PCR_SELECTION || pcrDigest)
 *   pcrDigest = SHA256(value[i] for each selected i, ascending)
 * with the selection marshalled as one sha256 entry of 3 select bytes (what
 * systemd passes), so the result equals a systemd-cryptenroll token's
 * "tpm2-policy-hash" for the same values. */

#define TPM2_PCRS_MAX 24
#define TPM2_SHA256_SIZE 32
#define TPM2_PCR_MASK_ALL ((UINT32_C(1) << TPM2_PCRS_MAX) - 1)

typedef struct Tpm2PcrValues {
        uint32_t mask;                  /* which entries are valid */
        uint8_t value[TPM2_PCRS_MAX][TPM2_SHA256_SIZE];
} Tpm2PcrValues;

/* "1+7", "1,7", "7" or "" (no PCRs).  -EINVAL on anything else or a PCR
 * number above 23. */
int tpm2_pcr_mask_from_string(const char *s, uint32_t *ret);
/* "1+7"; "" for an empty mask.  malloc'd. */
char *tpm2_pcr_mask_to_string(uint32_t mask);

/* A TPML_PCR_SELECTION with one entry for bank (TPM2_ALG_SHA256 or SHA1),
 * 3 select bytes. */
void tpm2_pcr_selection(uint32_t mask, uint16_t bank, TPML_PCR_SELECTION *ret);

/* Reads the selected PCRs of the sha256 bank. */
int tpm2_pcr_read(Tpm2Context *c, uint32_t mask, Tpm2PcrValues *ret);

/* Extends one PCR's sha256 bank with a 32-byte digest. */
int tpm2_pcr_extend(Tpm2Context *c, unsigned pcr, const uint8_t digest[TPM2_SHA256_SIZE]);

/* The PolicyPCR digest (from an empty policy) for the selected values;
 * every PCR in mask must be present in values. */
int tpm2_policy_pcr_digest(uint32_t mask, const Tpm2PcrValues *values, uint8_t ret[TPM2_SHA256_SIZE]);

/* Extends a policy digest with TPM2_PolicyAuthValue (what a PIN adds). */
int tpm2_policy_auth_value_extend(uint8_t digest[TPM2_SHA256_SIZE]);

/* The mask of PCRs in mask whose values differ between a and b. */
uint32_t tpm2_pcr_values_differ(uint32_t mask, const Tpm2PcrValues *a, const Tpm2PcrValues *b);
