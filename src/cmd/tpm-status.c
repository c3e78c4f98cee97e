/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/tpm.h"
#include "tpm/luks-passphrase.h"
#include "tpm/tpm2-token.h"
#include "util/secret-input.h"

/* The PCRs each TPM2 keyslot is bound to, from its token. */
static void slot_pcrs(struct crypt_device *cd, uint32_t pcrs[LUKS_SLOTS_MAX]) {
        for (int t = 0; t < LUKS_TOKENS_MAX; t++) {
                const char *json;
                _cleanup_free_ char *type = NULL;
                uint32_t slots;
                Tpm2Token tok = {};
                if (luks_token_info(cd, t, &json, &type, &slots) < 0 || !streq(type, "systemd-tpm2") ||
                    tpm2_token_from_json(json, &tok) < 0)
                        continue;
                if (tok.keyslot >= 0 && tok.keyslot < LUKS_SLOTS_MAX)
                        pcrs[tok.keyslot] |= tok.pcr_mask;
                tpm2_token_done(&tok);
        }
}

static void print_keyslots(const TpmVolume *v) {
        uint32_t pcrs_of[LUKS_SLOTS_MAX] = {};
        slot_pcrs(v->cd, pcrs_of);
        printf("Keyslots:\n");
        int install = -1;
        for (int i = 0; i < LUKS_SLOTS_MAX; i++) {
                if (v->kinds[i] == LUKS_SLOT_NONE)
                        continue;
                struct crypt_pbkdf_type pbkdf;
                const char *kdf = crypt_keyslot_get_pbkdf(v->cd, i, &pbkdf) == 0 ? pbkdf.type : "?";
                _cleanup_free_ char *pcrs = v->kinds[i] == LUKS_SLOT_TPM2 ? tpm2_pcr_mask_to_string(pcrs_of[i]) : NULL;
                if (pcrs)
                        printf("  %2d  %-14s %-9s PCRs %s\n", i, luks_slot_kind_to_string(v->kinds[i]), kdf,
                               *pcrs ? pcrs : "none");
                else
                        printf("  %2d  %-14s %s\n", i, luks_slot_kind_to_string(v->kinds[i]), kdf);
                if (v->kinds[i] == LUKS_SLOT_INSTALL && install < 0)
                        install = i;
        }
        if (install >= 0)
                log_warning("Keyslot %d of %s still holds the install secret: whoever has it opens the volume. "
                            "Once a TPM2 token and a recovery key are enrolled, remove it with 'keystone tpm wipe "
                            "%s --slot=install-secret' (or run 'keystone tpm enroll --auto', which does all three).",
                            install, v->path, v->path);
}

/* A systemd-tpm2 token: what it is bound to, whether the TPM would unseal it. */
static void print_tpm2_token(const TpmVolume *v, const char *json, bool use_tpm) {
        Tpm2Token tok = {};
        if (tpm2_token_from_json(json, &tok) < 0) {
                printf("      malformed token: 'keystone tpm unlock' will skip it\n");
                return;
        }
        _cleanup_free_ char *pcrs = tpm2_pcr_mask_to_string(tok.pcr_mask);
        printf("      PCRs %s (%s), %s, %s%s%s\n", *pcrs ? pcrs : "none", tpm2_alg_to_string(tok.pcr_bank),
               tok.sealed.srk ? "persistent SRK" : "transient primary",
               tpm2_alg_to_string(tok.sealed.primary_alg), tok.pin ? ", PIN" : "",
               tok.has_values ? ", values recorded" : "");
        if (tok.unsupported)
                printf("      keystone cannot use it: %s\n", tok.unsupported);
        tpm2_token_done(&tok);
        if (!v->tpm) {
                printf("      current PCRs: unknown (%s)\n", use_tpm ? "the TPM is not reachable" : "--no-tpm");
                return;
        }
        uint32_t changed = 0;
        bool known = false;
        int r = luks_tpm2_token_check(v->tpm, json, &changed, &known);
        _cleanup_free_ char *ch = tpm2_pcr_mask_to_string(changed);
        if (r > 0)
                printf("      current PCRs satisfy the policy\n");
        else if (r == 0 && known)
                printf("      current PCRs do NOT satisfy the policy: PCR %s changed\n", ch ? ch : "?");
        else if (r == 0)
                printf("      current PCRs do NOT satisfy the policy (one of PCRs %s changed)\n", ch ? ch : "?");
        else
                printf("      current PCRs: unknown (%s)\n", r == -EOPNOTSUPP ? "not a sha256 token" : tpm2_last_rc_string());
}

static void print_tokens(const TpmVolume *v, bool use_tpm) {
        printf("Tokens:\n");
        for (int t = 0; t < LUKS_TOKENS_MAX; t++) {
                const char *json;
                _cleanup_free_ char *type = NULL, *slots_s = NULL;
                uint32_t slots;
                if (luks_token_info(v->cd, t, &json, &type, &slots) < 0)
                        continue;
                slots_s = tpm2_pcr_mask_to_string(slots); /* same "a+b" notation */
                printf("  %2d  %-17s keyslot %s\n", t, type, slots_s ? slots_s : "?");
                if (streq(type, "systemd-tpm2"))
                        print_tpm2_token(v, json, use_tpm);
        }
}

/* --key-file: which keyslot the key in it opens. */
static int try_key_file(const TpmVolume *v, const char *key_file) {
        char *pass = NULL;
        size_t n = 0;
        int r = secret_read_file(key_file, &pass, &n);
        if (r < 0)
                return log_error_errno(r, "Cannot read the key file %s: %m.", key_file);
        uint8_t *vk = NULL;
        size_t vk_size = 0;
        r = luks_passphrase_volume_key(v->cd, pass, n, &vk, &vk_size);
        erase_and_free(pass, n);
        if (r >= 0)
                erase_and_free(vk, vk_size);
        if (r == -EPERM)
                return log_error_errno(r, "Key file %s: opens no keyslot of %s.", key_file, v->path);
        if (r < 0)
                return log_error_errno(r, "Key file %s: cannot try it on %s: %m.", key_file, v->path);
        printf("Key file %s: opens keyslot %d (%s)\n", key_file, r,
               r < LUKS_SLOTS_MAX ? luks_slot_kind_to_string(v->kinds[r]) : "?");
        return 0;
}

int tpm_status(const CmdArgs *a) {
        bool use_tpm = !cmd_flag(a, TPM_OPT_NO_TPM);
        _cleanup_tpm_volume_ TpmVolume v = {};
        int r = tpm_volume_open(&v, a, NULL, NULL,
                                TPM_VOLUME_HEADER_CHECK | (use_tpm ? TPM_VOLUME_TPM_IF_ANY : 0));
        if (r < 0)
                return r;
        printf("%s: LUKS2, UUID %s\n", v.path, crypt_get_uuid(v.cd) ?: "?");
        if (tpm_cmd_header_warn(v.path, v.header_read ? &v.header : NULL))
                printf("Header: a copy is damaged (see the warning)\n");
        print_keyslots(&v);
        print_tokens(&v, use_tpm);
        if (use_tpm && !v.tpm)
                log_warning_errno(v.tpm_error, "The TPM (%s) is not reachable: %m; PCR checks skipped.",
                                  cmd_opt(a, TPM_OPT_TPM2_DEVICE) ?: "auto");
        const char *key_file = cmd_opt(a, TPM_OPT_KEY_FILE);
        return key_file ? try_key_file(&v, key_file) : 0;
}
