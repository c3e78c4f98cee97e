/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpm/luks.h"
#include "tpm/tpm2-context.h"
#include "tpm/tpm2-seal.h"

/* TPM2 enrollment and unlock of a LUKS2 volume with systemd-tpm2 tokens. */

#define TPM2_PCR_MEASURE 15

typedef struct Tpm2EnrollOptions {
        uint32_t pcr_mask;      /* PCRs bound at their current value */
        bool bind_pcr15_zero;   /* also bind PCR 15 at its zero value */
        Tpm2SrkMode srk_mode;
} Tpm2EnrollOptions;

/* Seals a new secret, adds its keyslot (minimal PBKDF) and token.  Returns
 * the new keyslot; *ret_token gets the token id. */
int luks_tpm2_enroll(struct crypt_device *cd, Tpm2Context *c, const uint8_t *vk, size_t vk_size,
                     const Tpm2EnrollOptions *opts, int *ret_token);

/* What happened to one token during an unlock attempt. */
typedef struct Tpm2UnlockReport {
        int token;              /* -1: there was no systemd-tpm2 token */
        int keyslot;
        int error;              /* 0 or -errno (-EPERM: the PCR policy no longer matches) */
        uint32_t pcr_mask;      /* the PCRs the token is bound to */
        uint32_t changed;       /* of those, the ones whose value differs from enrollment */
        bool changed_known;     /* the token records values (keystone), so changed is exact */
        const char *unsupported;
        double unseal_ms, keyslot_ms;
} Tpm2UnlockReport;

/* Tries every systemd-tpm2 token in header order.  With name activates the
 * volume; without, verifies the keyslot opens.  ret_vk (optional) receives
 * the volume key.  Returns the keyslot that opened, or the error of the most
 * informative failed attempt (-ENOENT: no token), described in *report. */
int luks_tpm2_unlock(struct crypt_device *cd, Tpm2Context *c, const char *name,
                     uint8_t **ret_vk, size_t *ret_vk_size, Tpm2UnlockReport *report);

/* The same, with a TPM2 PIN for tokens that need one (pin may be NULL:
 * such tokens then fail with -ENOANO; a wrong PIN gives -EACCES). */
int luks_tpm2_unlock_pin(struct crypt_device *cd, Tpm2Context *c, const char *name, const char *pin,
                         uint8_t **ret_vk, size_t *ret_vk_size, Tpm2UnlockReport *report);

/* Whether some systemd-tpm2 token of the header needs a PIN. */
bool luks_tpm2_needs_pin(struct crypt_device *cd);

/* Whether the TPM's current PCRs satisfy a token's policy: 1 yes, 0 no
 * (*ret_changed: the PCRs known to differ), <0 error. */
int luks_tpm2_token_check(Tpm2Context *c, const char *json, uint32_t *ret_changed, bool *ret_changed_known);

/* Extends PCR 15 with HMAC-SHA256(volume key, "cryptsetup:NAME:UUID"), so
 * that a token bound to PCR 15 at zero no longer unseals in this boot. */
int tpm2_measure_volume_key(Tpm2Context *c, const uint8_t *vk, size_t vk_size, const char *name, const char *uuid);
