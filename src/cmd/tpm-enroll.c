/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>

#include "cmd/tpm.h"
#include "tpm/tpm2-pcr.h"
#include "util/secret-erase.h"

/* What the options ask for; the host file's settings for what they leave out. */
typedef struct EnrollArgs {
        Tpm2EnrollOptions eo;
        bool auto_, replace;
        const char *key_file, *install_file;
        TpmHostSettings host;
        bool has_host;
} EnrollArgs;

/* Seals, adds the keyslot and token, says so; returns the keyslot. */
static int enroll_tpm2(struct crypt_device *cd, Tpm2Context *tpm, const char *path, const uint8_t *vk,
                       size_t vk_size, const Tpm2EnrollOptions *eo_) {
        const Tpm2EnrollOptions eo = *eo_;
        int token = -1;
        int r = luks_tpm2_enroll(cd, tpm, vk, vk_size, &eo, &token);
        _cleanup_free_ char *pcrs = tpm2_pcr_mask_to_string(eo.pcr_mask | (eo.bind_pcr15_zero ? 1u << TPM2_PCR_MEASURE : 0));
        if (r == -EOPNOTSUPP)
                return log_error_errno(r, "The TPM's sha256 PCR bank is not active; keystone seals to sha256 only. "
                                       "Enable the bank in the firmware's TPM settings.");
        if (r == -EBUSY)
                return log_error_errno(r, "The TPM (%s) is out of object/session memory: %s. Flush it "
                                       "(tpm2_flushcontext -t -l -s) and try again.", tpm->tcti_conf, tpm2_last_rc_string());
        if (r < 0 && tpm2_last_rc())
                return log_error_errno(r, "Sealing to PCRs %s on the TPM (%s) failed: %s. Nothing was written to %s.",
                                       pcrs ? pcrs : "?", tpm->tcti_conf, tpm2_last_rc_string(), path);
        if (r < 0)
                return tpm_cmd_header_failed(r, "add the TPM2 keyslot and token", path);
        int slot = r;
        printf("Enrolled the TPM2 (%s) in keyslot %d of %s, token %d, bound to PCRs %s (sha256)%s.\n",
               tpm->tcti_conf, slot, path, token, pcrs ? pcrs : "?",
               eo.bind_pcr15_zero ? ", PCR 15 at zero" : "");
        return slot;
}

/* --auto: TPM2 (unless there is one), recovery key (unless there is one),
 * then the install secret's keyslot removed and its file erased. */
static int enroll_auto(TpmVolume *v, const EnrollArgs *e) {
        const char *path = v->path, *key_file = e->key_file, *install_file = e->install_file;
        const LuksSlotKind *before = v->kinds;
        int key_slot = v->key_slot;
        bool has_tpm2 = false, has_recovery = false;
        for (int i = 0; i < LUKS_SLOTS_MAX; i++) {
                has_tpm2 |= before[i] == LUKS_SLOT_TPM2;
                has_recovery |= before[i] == LUKS_SLOT_RECOVERY;
        }
        int r;
        if (has_tpm2)
                printf("%s has a TPM2 keyslot already: kept.\n", path);
        else if ((r = enroll_tpm2(v->cd, v->tpm, path, v->vk, v->vk_size, &e->eo)) < 0)
                return r;
        if (has_recovery)
                printf("%s has a recovery keyslot already: kept.\n", path);
        else if ((r = tpm_cmd_add_recovery(v->cd, path, v->vk, v->vk_size)) < 0)
                return r;
        /* the install secret: its marked keyslot(s), and the keyslot the
         * install state's secret opened when that was not marked */
        uint32_t install = 0;
        for (int i = 0; i < LUKS_SLOTS_MAX; i++)
                if (before[i] == LUKS_SLOT_INSTALL)
                        install |= UINT32_C(1) << i;
        bool from_install = key_file && install_file && streq(key_file, install_file);
        if (from_install && key_slot >= 0 && key_slot < LUKS_SLOTS_MAX &&
            (before[key_slot] == LUKS_SLOT_PASSWORD || before[key_slot] == LUKS_SLOT_INSTALL))
                install |= UINT32_C(1) << key_slot;
        for (int i = 0; i < LUKS_SLOTS_MAX; i++) {
                if (!(install & (UINT32_C(1) << i)))
                        continue;
                r = luks_keyslot_wipe(v->cd, i);
                if (r < 0)
                        return log_error_errno(r, "The TPM2 and recovery keyslots are in place, but removing the "
                                               "install secret's keyslot %d of %s failed: %m. Remove it with "
                                               "'keystone tpm wipe %s --slot=%d'.", i, path, path, i);
        }
        if (install) {
                r = luks_keyslots_verify_gone(path, install);
                if (r < 0)
                        return log_error_errno(r, "Removed the install secret's keyslot of %s, but reading the "
                                               "header again %s. Check 'keystone tpm status %s'.", path,
                                               r == -EEXIST ? "still shows it" : "failed", path);
                _cleanup_free_ char *slots = tpm2_pcr_mask_to_string(install); /* "a+b" */
                printf("Removed the install secret (keyslot %s) of %s.\n", slots ? slots : "?", path);
        } else
                printf("%s has no install secret keyslot.\n", path);
        if (from_install) {
                r = secret_file_erase(install_file);
                if (r < 0 && r != -ENOENT)
                        return log_error_errno(r, "Cannot erase %s: %m. It opens nothing any more; remove it by "
                                               "hand (shred -u).", install_file);
                printf("Erased %s.\n", install_file);
        }
        return 0;
}

static int parse_srk(const CmdArgs *a, Tpm2SrkMode *mode) {
        const char *srk = cmd_opt(a, TPM_OPT_SRK);
        if (!srk || streq(srk, "auto"))
                *mode = TPM2_SRK_AUTO;
        else if (streq(srk, "transient"))
                *mode = TPM2_SRK_TRANSIENT;
        else if (streq(srk, "persistent"))
                *mode = TPM2_SRK_PERSISTENT;
        else
                return cmd_usage(a, "--srk=%s: expected auto, transient or persistent", srk);
        return 0;
}

static int parse_enroll(const CmdArgs *a, EnrollArgs *e) {
        *e = (EnrollArgs) {
                .eo = { .pcr_mask = (1u << 1) | (1u << 7), .bind_pcr15_zero = true },
                .auto_ = cmd_flag(a, TPM_OPT_AUTO),
                .replace = cmd_flag(a, TPM_OPT_REPLACE),
                .key_file = cmd_opt(a, TPM_OPT_UNLOCK_KEY_FILE),
                .install_file = cmd_opt(a, TPM_OPT_INSTALL_SECRET_FILE) ?: TPM_INSTALL_SECRET_FILE,
        };
        if (!e->auto_ && a->n_args == 0)
                return cmd_usage(a, "missing argument: DEVICE (or --auto)");
        if (e->auto_ && e->replace)
                return cmd_usage(a, "--auto keeps a TPM2 keyslot that exists; --replace is for a plain enroll");
        const char *pcrs = cmd_opt(a, TPM_OPT_PCRS);
        if (pcrs && tpm2_pcr_mask_from_string(pcrs, &e->eo.pcr_mask) < 0)
                return cmd_usage(a, "--pcrs=%s: expected PCR numbers 0..23 joined by '+', e.g. 1+7", pcrs);
        int r = parse_srk(a, &e->eo.srk_mode);
        if (r < 0)
                return r;
        /* --pcr15 and --no-pcr15: the last one given counts */
        bool pcr15_given = false;
        for (int i = 0; i < a->n_given; i++)
                if (a->given[i].id == TPM_OPT_PCR15 || a->given[i].id == TPM_OPT_NO_PCR15) {
                        e->eo.bind_pcr15_zero = a->given[i].id == TPM_OPT_PCR15;
                        pcr15_given = true;
                }
        const char *host = cmd_opt(a, TPM_OPT_HOST) ?: e->auto_ ? TPM_HOST_FILE : NULL;
        if (host) {
                r = tpm_cmd_host_settings(host, &e->host);
                if (r < 0)
                        return r;
                e->has_host = true;
                if (e->auto_ && !e->host.enable)
                        return log_error_errno(-EPERM, "%s says tpm.enable = false: this machine does not use the "
                                               "TPM, so --auto has nothing to enroll. Add a recovery key with "
                                               "'keystone tpm recovery', or turn tpm.enable on.", host);
                if (!pcrs)
                        e->eo.pcr_mask = e->host.pcr_mask;
                if (!pcr15_given)
                        e->eo.bind_pcr15_zero = e->host.bind_pcr15;
        }
        if (e->auto_ && !e->key_file && access(e->install_file, F_OK) == 0)
                e->key_file = e->install_file;
        if (e->eo.bind_pcr15_zero && (e->eo.pcr_mask & (1u << TPM2_PCR_MEASURE)))
                return cmd_usage(a, "PCR 15 is bound at zero by --pcr15; leave it out of --pcrs (or pass "
                                 "--no-pcr15 to bind its current value)");
        if (!e->eo.pcr_mask && !e->eo.bind_pcr15_zero)
                log_warning("Binding to no PCR at all: any boot of this machine will unseal the secret.");
        return 0;
}

static void warn_pcr15_not_zero(Tpm2Context *tpm) {
        Tpm2PcrValues v;
        static const uint8_t zero[TPM2_SHA256_SIZE] = {};
        if (tpm2_pcr_read(tpm, UINT32_C(1) << TPM2_PCR_MEASURE, &v) == 0 &&
            memcmp(v.value[TPM2_PCR_MEASURE], zero, sizeof(zero)) != 0)
                log_warning("PCR 15 is not zero now (something measured into it this boot): the new token "
                            "unseals only early in a boot, before PCR 15 is extended, e.g. in the initrd. "
                            "Pass --no-pcr15 to bind without PCR 15.");
}

int tpm_enroll(const CmdArgs *a) {
        EnrollArgs e;
        int r = parse_enroll(a, &e);
        if (r < 0)
                return r;
        _cleanup_tpm_volume_ TpmVolume v = {};
        r = tpm_volume_open(&v, a, e.has_host ? &e.host : NULL, e.key_file, TPM_VOLUME_TPM | TPM_VOLUME_KEY);
        if (r < 0)
                return r;
        if (e.eo.bind_pcr15_zero)
                warn_pcr15_not_zero(v.tpm);
        if (e.auto_)
                return enroll_auto(&v, &e);
        r = enroll_tpm2(v.cd, v.tpm, v.path, v.vk, v.vk_size, &e.eo);
        tpm_volume_forget_key(&v);
        if (r < 0)
                return r;
        int slot = r;
        for (int i = 0; e.replace && i < LUKS_SLOTS_MAX; i++) {
                if (i == slot || v.kinds[i] != LUKS_SLOT_TPM2)
                        continue;
                r = luks_keyslot_wipe(v.cd, i);
                if (r < 0)
                        return log_error_errno(r, "The new TPM2 keyslot %d is in place, but wiping the old TPM2 "
                                               "keyslot %d of %s failed: %m. Wipe it with 'keystone tpm wipe %s "
                                               "--slot=%d'.", slot, i, v.path, v.path, i);
                printf("Wiped the previous TPM2 keyslot %d.\n", i);
        }
        return 0;
}
