/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tpm/luks-tpm2.h"
#include "tpm/tpm2-token.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/macro.h"

int luks_tpm2_enroll(struct crypt_device *cd, Tpm2Context *c, const uint8_t *vk, size_t vk_size,
                     const Tpm2EnrollOptions *opts, int *ret_token) {
        uint32_t read_mask = opts->pcr_mask & ~(opts->bind_pcr15_zero ? UINT32_C(1) << TPM2_PCR_MEASURE : 0);
        Tpm2Token t = { .pcr_bank = TPM2_ALG_SHA256 };
        uint8_t *secret = NULL;
        size_t secret_size = 0;
        char *pass = NULL, *json = NULL;
        uint8_t policy[TPM2_SHA256_SIZE];
        int r, slot = -1;

        t.pcr_mask = opts->pcr_mask | (opts->bind_pcr15_zero ? UINT32_C(1) << TPM2_PCR_MEASURE : 0);
        if (read_mask) {
                r = tpm2_pcr_read(c, read_mask, &t.values);
                if (r < 0)
                        goto out;
        }
        if (opts->bind_pcr15_zero) {
                memset(t.values.value[TPM2_PCR_MEASURE], 0, TPM2_SHA256_SIZE);
                t.values.mask |= UINT32_C(1) << TPM2_PCR_MEASURE;
        }
        t.has_values = true;
        r = tpm2_policy_pcr_digest(t.pcr_mask, &t.values, policy);
        if (r < 0)
                goto out;
        r = tpm2_seal(c, opts->srk_mode, policy, &t.sealed, &secret, &secret_size);
        if (r < 0)
                goto out;
        t.policy_hash = malloc(TPM2_SHA256_SIZE);
        if (!t.policy_hash) {
                r = -ENOMEM;
                goto out;
        }
        memcpy(t.policy_hash, policy, TPM2_SHA256_SIZE);
        t.policy_hash_size = TPM2_SHA256_SIZE;

        /* When the TPM's PCRs are those sealed to right now, prove the
         * secret comes back before writing anything (as systemd does). */
        Tpm2PcrValues now;
        if (tpm2_pcr_read(c, t.pcr_mask, &now) == 0 && tpm2_pcr_values_differ(t.pcr_mask, &now, &t.values) == 0) {
                uint8_t *check = NULL;
                size_t check_size = 0;
                r = tpm2_unseal(c, t.pcr_bank, t.pcr_mask, t.policy_hash, t.policy_hash_size, &t.sealed,
                                &check, &check_size);
                if (r < 0)
                        goto out;
                bool same = check_size == secret_size && memcmp(check, secret, secret_size) == 0;
                erase_and_free(check, check_size);
                if (!same) {
                        r = -EIO;
                        goto out;
                }
        }

        r = tpm2_secret_to_passphrase(secret, secret_size, &pass);
        if (r < 0)
                goto out;
        slot = luks_keyslot_add(cd, vk, vk_size, pass, strlen(pass), true);
        if (slot < 0) {
                r = slot;
                goto out;
        }
        t.keyslot = slot;
        r = tpm2_token_to_json(&t, &json);
        if (r < 0)
                goto out;
        r = luks_token_add(cd, json);
        if (r < 0) {
                (void) crypt_keyslot_destroy(cd, slot);
                goto out;
        }
        if (ret_token)
                *ret_token = r;
        r = slot;
out:
        erase_and_free(secret, secret_size);
        erase_and_free_strp(&pass);
        free(json);
        tpm2_token_done(&t);
        return r;
}

/* Which PCRs differ from what a token was sealed to. */
static void diagnose(Tpm2Context *c, const Tpm2Token *t, uint32_t *ret_changed, bool *ret_known) {
        Tpm2PcrValues now;
        *ret_changed = 0;
        *ret_known = false;
        if (t->pcr_bank != TPM2_ALG_SHA256 || tpm2_pcr_read(c, t->pcr_mask, &now) < 0)
                return;
        if (t->has_values && (t->values.mask & t->pcr_mask) == t->pcr_mask) {
                *ret_changed = tpm2_pcr_values_differ(t->pcr_mask, &now, &t->values);
                *ret_known = true;
                return;
        }
        /* systemd's tokens do not record values: all we know is that the
         * bound set as a whole differs. */
        *ret_changed = t->pcr_mask;
}

int luks_tpm2_token_check(Tpm2Context *c, const char *json, uint32_t *ret_changed, bool *ret_changed_known) {
        Tpm2Token t = {};
        int r = tpm2_token_from_json(json, &t);
        if (r < 0)
                return r;
        *ret_changed = 0;
        *ret_changed_known = false;
        if (t.pcr_bank != TPM2_ALG_SHA256) {
                r = -EOPNOTSUPP;
                goto out;
        }
        Tpm2PcrValues now;
        r = tpm2_pcr_read(c, t.pcr_mask, &now);
        if (r < 0)
                goto out;
        uint8_t policy[TPM2_SHA256_SIZE];
        r = tpm2_policy_pcr_digest(t.pcr_mask, &now, policy);
        if (r < 0)
                goto out;
        if (t.pin) {
                r = tpm2_policy_auth_value_extend(policy);
                if (r < 0)
                        goto out;
        }
        if (t.policy_hash_size == TPM2_SHA256_SIZE && memcmp(policy, t.policy_hash, TPM2_SHA256_SIZE) == 0) {
                r = 1;
                goto out;
        }
        diagnose(c, &t, ret_changed, ret_changed_known);
        r = 0;
out:
        tpm2_token_done(&t);
        return r;
}

static int rank(int error) {
        /* which failure to report when several tokens fail */
        switch (error) {
        case -EACCES: return 5;
        case -EPERM: return 4;
        case -ENOANO: return 3;
        case -ESTALE: return 3;
        case -EOPNOTSUPP: return 1;
        case -ENOENT: return 0;
        }
        return 2;
}

bool luks_tpm2_needs_pin(struct crypt_device *cd) {
        for (int id = 0; id < LUKS_TOKENS_MAX; id++) {
                const char *json;
                if (crypt_token_json_get(cd, id, &json) < 0)
                        continue;
                Tpm2Token t = {};
                if (tpm2_token_from_json(json, &t) < 0)
                        continue;
                bool pin = t.pin && !t.unsupported;
                tpm2_token_done(&t);
                if (pin)
                        return true;
        }
        return false;
}

int luks_tpm2_unlock(struct crypt_device *cd, Tpm2Context *c, const char *name,
                     uint8_t **ret_vk, size_t *ret_vk_size, Tpm2UnlockReport *report) {
        return luks_tpm2_unlock_pin(cd, c, name, NULL, ret_vk, ret_vk_size, report);
}

int luks_tpm2_unlock_pin(struct crypt_device *cd, Tpm2Context *c, const char *name, const char *pin,
                         uint8_t **ret_vk, size_t *ret_vk_size, Tpm2UnlockReport *report) {
        Tpm2UnlockReport best = { .token = -1, .keyslot = -1, .error = -ENOENT };
        for (int id = 0; id < LUKS_TOKENS_MAX; id++) {
                const char *json;
                if (crypt_token_json_get(cd, id, &json) < 0)
                        continue;
                Tpm2Token t = {};
                int r = tpm2_token_from_json(json, &t);
                if (r == -EMEDIUMTYPE)
                        continue;
                Tpm2UnlockReport rep = { .token = id, .keyslot = t.keyslot, .pcr_mask = t.pcr_mask };
                uint8_t *secret = NULL;
                size_t secret_size = 0;
                char *pass = NULL;
                if (r < 0)
                        goto done;
                if (t.unsupported) {
                        rep.unsupported = t.unsupported;
                        r = -EOPNOTSUPP;
                        goto done;
                }
                uint8_t auth[TPM2_SHA256_SIZE];
                if (t.pin) {
                        if (!pin) {
                                r = -ENOANO;
                                goto done;
                        }
                        r = tpm2_pin_auth(pin, t.salt, t.salt_size, auth);
                        if (r < 0)
                                goto done;
                }
                double t0 = monotonic_seconds() * 1e3;
                r = tpm2_unseal_with_auth(c, t.pcr_bank, t.pcr_mask, t.policy_hash, t.policy_hash_size,
                                          t.pin ? auth : NULL, t.pin ? sizeof(auth) : 0, &t.sealed,
                                          &secret, &secret_size);
                explicit_bzero(auth, sizeof(auth));
                rep.unseal_ms = monotonic_seconds() * 1e3 - t0;
                if (r == -EPERM)
                        diagnose(c, &t, &rep.changed, &rep.changed_known);
                if (r == -EOPNOTSUPP)
                        rep.unsupported = "its sealed object has a form keystone does not load (sealed without the "
                                          "TPM, or a bank other than sha256/sha1)";
                if (r < 0)
                        goto done;
                r = tpm2_secret_to_passphrase(secret, secret_size, &pass);
                if (r < 0)
                        goto done;
                t0 = monotonic_seconds() * 1e3;
                if (ret_vk)
                        r = luks_volume_key_get(cd, t.keyslot, pass, strlen(pass), ret_vk, ret_vk_size);
                if (r >= 0 && (!ret_vk || name))
                        r = luks_activate(cd, name, t.keyslot, pass, strlen(pass));
                rep.keyslot_ms = monotonic_seconds() * 1e3 - t0;
                if (r == -EPERM)
                        r = -ENOKEY; /* unsealed, but the keyslot refuses it */
        done:
                explicit_bzero(auth, sizeof(auth));
                rep.error = r < 0 ? r : 0;
                erase_and_free(secret, secret_size);
                erase_and_free_strp(&pass);
                tpm2_token_done(&t);
                if (r >= 0) {
                        rep.keyslot = r;
                        if (report)
                                *report = rep;
                        return r;
                }
                if (ret_vk && *ret_vk) {
                        erase_and_free(*ret_vk, *ret_vk_size);
                        *ret_vk = NULL;
                }
                if (best.token < 0 || rank(r) > rank(best.error))
                        best = rep;
        }
        if (report)
                *report = best;
        return best.error;
}

int tpm2_measure_volume_key(Tpm2Context *c, const uint8_t *vk, size_t vk_size, const char *name, const char *uuid) {
        char *msg = NULL;
        if (asprintf(&msg, "cryptsetup:%s:%s", name ? name : "", uuid ? uuid : "") < 0)
                return -ENOMEM;
        uint8_t digest[EVP_MAX_MD_SIZE];
        unsigned dlen = 0;
        const unsigned char *ok = HMAC(EVP_sha256(), vk, (int) vk_size, (const unsigned char *) msg, strlen(msg),
                                       digest, &dlen);
        free(msg);
        if (!ok || dlen != TPM2_SHA256_SIZE)
                return -EIO;
        int r = tpm2_pcr_extend(c, TPM2_PCR_MEASURE, digest);
        explicit_bzero(digest, sizeof(digest));
        return r;
}
