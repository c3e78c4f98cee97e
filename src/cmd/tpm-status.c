/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/tpm.h"
#include "tpm/luks-passphrase.h"
#include "tpm/tpm2-token.h"
#include "util/secret-input.h"

static const char help[] =
        "Usage: keystone tpm status DEVICE [OPTIONS]\n"
        "\n"
        "Show keyslots, tokens, the PCRs each TPM2 token is bound to, and whether\n"
        "the TPM's current PCRs still satisfy each token's policy (and if not,\n"
        "which PCRs changed).\n"
        "\n"
        "Options:\n"
        "      --tpm2-device=DEV      auto (default), /dev/tpmrm0, or a TCTI string\n"
        "      --no-tpm               do not query the TPM\n"
        "      --key-file=F           also say which keyslot the passphrase or recovery\n"
        "                             key in F opens; exit 1 when it opens none\n"
        "  -h, --help\n";

int cmd_tpm_status(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "tpm2-device", required_argument, NULL, 'd' },
                { "no-tpm", no_argument, NULL, 'n' },
                { "key-file", required_argument, NULL, 'k' },
                {}
        };
        const char *device = NULL, *key_file = NULL;
        bool use_tpm = true;
        int c, r;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(help);
                case 'd':
                        device = optarg;
                        break;
                case 'n':
                        use_tpm = false;
                        break;
                case 'k':
                        key_file = optarg;
                        break;
                default:
                        return cmd_usage_error("tpm status", "unknown option");
                }
        r = tpm_cmd_check_args("status", argc - optind, 1, 1);
        if (r < 0)
                return r;
        const char *path = argv[optind];

        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_(tpm2_context_freep) Tpm2Context *tpm = NULL;
        /* before libcryptsetup reads it: it repairs a damaged copy silently */
        LuksHeaderCheck hc;
        bool hc_read = luks_header_check(path, &hc) == 0;
        r = tpm_cmd_open_luks(path, &cd);
        if (r < 0)
                return r;
        int tpm_error = 0;
        if (use_tpm) {
                tpm_error = tpm2_context_new(device, &tpm);
                if (tpm_error < 0)
                        tpm = NULL;
        }

        printf("%s: LUKS2, UUID %s\n", path, crypt_get_uuid(cd) ?: "?");
        bool damaged = tpm_cmd_header_warn(path, hc_read ? &hc : NULL);
        if (damaged)
                printf("Header: a copy is damaged (see the warning)\n");
        LuksSlotKind kinds[LUKS_SLOTS_MAX];
        (void) luks_slot_kinds(cd, kinds);
        /* what each TPM2 keyslot is bound to, from its token */
        uint32_t slot_pcrs[LUKS_SLOTS_MAX] = {};
        for (int t = 0; t < LUKS_TOKENS_MAX; t++) {
                const char *json;
                _cleanup_free_ char *type = NULL;
                uint32_t slots;
                Tpm2Token tok = {};
                if (luks_token_info(cd, t, &json, &type, &slots) < 0 || !streq(type, "systemd-tpm2") ||
                    tpm2_token_from_json(json, &tok) < 0)
                        continue;
                if (tok.keyslot >= 0 && tok.keyslot < LUKS_SLOTS_MAX)
                        slot_pcrs[tok.keyslot] |= tok.pcr_mask;
                tpm2_token_done(&tok);
        }
        printf("Keyslots:\n");
        int install = -1;
        for (int i = 0; i < LUKS_SLOTS_MAX; i++) {
                if (kinds[i] == LUKS_SLOT_NONE)
                        continue;
                struct crypt_pbkdf_type pbkdf;
                const char *kdf = crypt_keyslot_get_pbkdf(cd, i, &pbkdf) == 0 ? pbkdf.type : "?";
                _cleanup_free_ char *pcrs = kinds[i] == LUKS_SLOT_TPM2 ? tpm2_pcr_mask_to_string(slot_pcrs[i]) : NULL;
                if (pcrs)
                        printf("  %2d  %-14s %-9s PCRs %s\n", i, luks_slot_kind_to_string(kinds[i]), kdf,
                               *pcrs ? pcrs : "none");
                else
                        printf("  %2d  %-14s %s\n", i, luks_slot_kind_to_string(kinds[i]), kdf);
                if (kinds[i] == LUKS_SLOT_INSTALL && install < 0)
                        install = i;
        }
        if (install >= 0)
                log_warning("Keyslot %d of %s still holds the install secret: whoever has it opens the volume. "
                            "Once a TPM2 token and a recovery key are enrolled, remove it with 'keystone tpm wipe "
                            "%s --slot=install-secret' (or run 'keystone tpm enroll --auto', which does all three).",
                            install, path, path);
        printf("Tokens:\n");
        for (int t = 0; t < LUKS_TOKENS_MAX; t++) {
                const char *json;
                _cleanup_free_ char *type = NULL, *slots_s = NULL;
                uint32_t slots;
                if (luks_token_info(cd, t, &json, &type, &slots) < 0)
                        continue;
                slots_s = tpm2_pcr_mask_to_string(slots); /* same "a+b" notation */
                printf("  %2d  %-17s keyslot %s\n", t, type, slots_s ? slots_s : "?");
                if (!streq(type, "systemd-tpm2"))
                        continue;
                Tpm2Token tok = {};
                if (tpm2_token_from_json(json, &tok) < 0) {
                        printf("      malformed token: 'keystone tpm unlock' will skip it\n");
                        continue;
                }
                _cleanup_free_ char *pcrs = tpm2_pcr_mask_to_string(tok.pcr_mask);
                printf("      PCRs %s (%s), %s, %s%s%s\n", *pcrs ? pcrs : "none", tpm2_alg_to_string(tok.pcr_bank),
                       tok.sealed.srk ? "persistent SRK" : "transient primary",
                       tpm2_alg_to_string(tok.sealed.primary_alg), tok.pin ? ", PIN" : "",
                       tok.has_values ? ", values recorded" : "");
                if (tok.unsupported)
                        printf("      keystone cannot use it: %s\n", tok.unsupported);
                tpm2_token_done(&tok);
                if (!tpm) {
                        printf("      current PCRs: unknown (%s)\n",
                               use_tpm ? "the TPM is not reachable" : "--no-tpm");
                        continue;
                }
                uint32_t changed = 0;
                bool known = false;
                r = luks_tpm2_token_check(tpm, json, &changed, &known);
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
        if (use_tpm && !tpm)
                log_warning_errno(tpm_error, "The TPM (%s) is not reachable: %m; PCR checks skipped.",
                                  device ? device : "auto");
        if (key_file) {
                char *pass = NULL;
                size_t n = 0;
                r = secret_read_file(key_file, &pass, &n);
                if (r < 0)
                        return log_error_errno(r, "Cannot read the key file %s: %m.", key_file);
                uint8_t *vk = NULL;
                size_t vk_size = 0;
                r = luks_passphrase_volume_key(cd, pass, n, &vk, &vk_size);
                erase_and_free(pass, n);
                if (r >= 0)
                        erase_and_free(vk, vk_size);
                if (r == -EPERM)
                        return log_error_errno(r, "Key file %s: opens no keyslot of %s.", key_file, path);
                if (r < 0)
                        return log_error_errno(r, "Key file %s: cannot try it on %s: %m.", key_file, path);
                printf("Key file %s: opens keyslot %d (%s)\n", key_file, r,
                       r < LUKS_SLOTS_MAX ? luks_slot_kind_to_string(kinds[r]) : "?");
        }
        return 0;
}
