/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/config-load.h"
#include "cmd/tpm.h"
#include "disk/credstore.h"
#include "tpm/luks-passphrase.h"
#include "tpm/recovery-key.h"
#include "tpm/tpm2-pcr.h"
#include "util/secret-input.h"

static int open_luks(const char *path, struct crypt_device **ret) {
        int r = luks_open(path, ret);
        if (r == -ENOENT)
                return log_error_errno(r, "%s: no such file. Give the LUKS2 block device or image file (for the "
                                       "credstore: /dev/zvol/POOL/credstore, with the pool imported).", path);
        if (r == -EMEDIUMTYPE)
                return log_error_errno(r, "%s is not a LUKS2 volume or truncated: keystone tpm works on LUKS2 "
                                       "headers only (convert LUKS1 with 'cryptsetup convert --type luks2'; "
                                       "a truncated image has lost its header).", path);
        if (r < 0)
                return log_error_errno(r, "Cannot open the LUKS2 header of %s: %m. Check the path and that "
                                       "you may read and write it.", path);
        return 0;
}

bool tpm_cmd_header_warn(const char *path, const LuksHeaderCheck *before) {
        LuksHeaderCheck now;
        if (!before || (before->primary_ok && before->secondary_ok))
                return false;
        bool repaired = luks_header_check(path, &now) == 0 && now.primary_ok && now.secondary_ok;
        const char *what = !before->primary_ok && !before->secondary_ok ? "Both copies of the LUKS2 header"
                           : !before->primary_ok                       ? "The primary LUKS2 header"
                                                                        : "The backup (secondary) LUKS2 header";
        const char *problem = !before->primary_ok ? before->primary_problem : before->secondary_problem;
        if (!before->primary_ok && before->secondary_ok)
                log_warning("%s of %s is damaged (%s): the backup copy at offset %llu is used instead%s.", what,
                            path, problem, (unsigned long long) before->secondary_offset,
                            repaired ? ", and libcryptsetup has just rewritten the primary from it" : "");
        else
                log_warning("%s of %s %s damaged (%s%s%s)%s.", what, path,
                            !before->primary_ok && !before->secondary_ok ? "are" : "is", problem,
                            !before->primary_ok && !before->secondary_ok ? "; backup: " : "",
                            !before->primary_ok && !before->secondary_ok
                                    ? (before->secondary_problem ? before->secondary_problem : "missing")
                                    : "",
                            repaired ? "; libcryptsetup has just rewritten it from the other copy" : "");
        log_warning("Something wrote over the header of %s: check the disk (SMART, dmesg), keep a copy of the "
                    "header ('cryptsetup luksHeaderBackup %s --header-backup-file FILE') and, if a copy is still "
                    "damaged, run 'cryptsetup repair %s'.", path, path, path);
        return true;
}

static int open_tpm(const char *device, Tpm2Context **ret) {
        int r = tpm2_context_new(device, ret);
        if (r == -ENODEV)
                return log_error_errno(r, "No TPM found (neither /dev/tpmrm0 nor /dev/tpm0 exists). Pass "
                                       "--tpm2-device=TCTI (e.g. swtpm:port=2321) or set KEYSTONE_TPM2_DEVICE.");
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the TPM through '%s': %s. Check that the TPM (or "
                                       "swtpm) is running and that the TCTI string is right.",
                                       device && *device ? device : "auto", tpm2_last_rc_string());
        return 0;
}

int tpm_cmd_header_failed(int r, const char *what, const char *path) {
        return log_error_errno(r, "Failed to %s on %s: %m. The header was left as it was before this step.",
                               what, path);
}

/* One passphrase attempt: as given, then in canonical recovery-key form. */
int tpm_cmd_volume_key(struct crypt_device *cd, const char *path, const char *key_file,
                       uint8_t **ret_vk, size_t *ret_vk_size) {
        char *pass = NULL;
        size_t n = 0;
        int r;
        if (key_file) {
                r = secret_read_file(key_file, &pass, &n);
                if (r < 0)
                        return log_error_errno(r, "Cannot read the unlock key file %s: %m.", key_file);
        } else {
                char prompt[512];
                snprintf(prompt, sizeof(prompt), "Passphrase or recovery key for %s: ", path);
                r = secret_read_line(prompt, &pass, &n);
                if (r < 0)
                        return log_error_errno(r, "No passphrase for %s on standard input (%m). Type it, pipe "
                                               "it in, or pass --unlock-key-file=FILE.", path);
        }
        r = luks_passphrase_volume_key(cd, pass, n, ret_vk, ret_vk_size);
        erase_and_free(pass, n);
        if (r == -EPERM)
                return log_error_errno(r, "No keyslot of %s accepts that %s. Try the recovery key or another "
                                       "password.", path, key_file ? "key file" : "passphrase");
        if (r < 0)
                return log_error_errno(r, "Cannot unlock a keyslot of %s: %m.", path);
        return r;
}

int tpm_cmd_unlock_failed(const char *path, const char *tcti, const Tpm2UnlockReport *rep, int r) {
        _cleanup_free_ char *bound = tpm2_pcr_mask_to_string(rep->pcr_mask);
        _cleanup_free_ char *changed = tpm2_pcr_mask_to_string(rep->changed);
        const char *fallback = "The recovery key or a password still opens it "
                               "('keystone tpm unlock' does not ask for them; use cryptsetup open or systemd-cryptsetup).";
        switch (r) {
        case -ENOENT:
                return log_error_errno(r, "%s has no systemd-tpm2 token: enroll one with 'keystone tpm enroll %s'.",
                                       path, path);
        case -EPERM:
                if (rep->changed_known && rep->changed)
                        return log_error_errno(r, "The TPM refuses to unseal token %d of %s: PCR %s changed since "
                                               "enrollment (bound to PCRs %s). %s If the change is expected "
                                               "(firmware update, Secure Boot change), re-enroll with 'keystone "
                                               "tpm enroll'.", rep->token, path, changed ? changed : "?",
                                               bound ? bound : "?", fallback);
                return log_error_errno(r, "The TPM refuses to unseal token %d of %s: PCRs %s no longer hold the "
                                       "values sealed to%s. %s", rep->token, path, bound ? bound : "?",
                                       rep->changed_known ? "" : " (the token, made by systemd-cryptenroll, does not "
                                       "record which one changed)", fallback);
        case -EACCES:
                return log_error_errno(r, "The TPM refuses to unseal token %d of %s: wrong TPM2 PIN. Repeated "
                                       "wrong PINs lock the TPM for a while (dictionary-attack protection). %s",
                                       rep->token, path, fallback);
        case -ENOANO:
                return log_error_errno(r, "Token %d of %s needs a TPM2 PIN: pass it on standard input or with "
                                       "--pin-file=FILE.", rep->token, path);
        case -ESTALE:
                return log_error_errno(r, "Token %d of %s was sealed under a storage root key that is no longer in "
                                       "the TPM (was the TPM cleared?). %s", rep->token, path, fallback);
        case -EOPNOTSUPP:
                return log_error_errno(r, "Token %d of %s cannot be used by keystone: %s. Use systemd-cryptsetup, "
                                       "or the recovery key.", rep->token, path,
                                       rep->unsupported ? rep->unsupported : "its sealed object has an unsupported form");
        case -ENOKEY:
                return log_error_errno(r, "The TPM unsealed token %d of %s, but keyslot %d refuses the secret: the "
                                       "token and keyslot do not belong together. Re-enroll.", rep->token, path,
                                       rep->keyslot);
        case -EBADMSG:
        case -EINVAL:
                return log_error_errno(r, "Token %d of %s is damaged (%s). Wipe it with 'keystone tpm wipe %s "
                                       "--slot=%d' and re-enroll.", rep->token, path, tpm2_last_rc_string(), path,
                                       rep->keyslot);
        }
        if (r == -ECONNREFUSED || r == -EBUSY || r == -EIO)
                return log_error_errno(r, "The TPM (%s) failed while unsealing token %d of %s: %s.%s", tcti,
                                       rep->token, path, tpm2_last_rc_string(),
                                       r == -EBUSY ? " It is out of session memory: flush it (tpm2_flushcontext -t -l -s) or reboot." : "");
        return log_error_errno(r, "Unlocking %s with token %d failed: %m.", path, rep->token);
}

int tpm_cmd_host_settings(const char *host_path, TpmHostSettings *ret) {
        Config *c = NULL;
        int r = cmd_config_load(host_path, &c);
        if (r < 0)
                return r;
        TpmHostSettings h = { .enable = config_bool(c, "tpm.enable"), .bind_pcr15 = config_bool(c, "tpm.bind-pcr15") };
        const ConfigNode *pcrs = config_get(c, "tpm.pcrs");
        for (size_t i = 0; pcrs && i < pcrs->n_items; i++)
                if (pcrs->items[i]->i >= 0 && pcrs->items[i]->i < 24)
                        h.pcr_mask |= UINT32_C(1) << pcrs->items[i]->i;
        const char *pool = config_string(c, "disk.pool");
        snprintf(h.credstore, sizeof h.credstore, "%s/credstore", pool ? pool : "rpool");
        config_free(c);
        *ret = h;
        return 0;
}

static int credstore_device(const TpmHostSettings *h, char *buf, size_t size) {
        int r = zvol_device(h->credstore, buf, size, 30000);
        if (r < 0)
                return log_error_errno(r, "The credstore zvol %s did not appear (no /dev/zvol/%s): is the pool "
                                       "imported? Give the device as an argument otherwise.", h->credstore,
                                       h->credstore);
        return 0;
}

int tpm_cmd_add_recovery(struct crypt_device *cd, const char *path, const uint8_t *vk, size_t vk_size) {
        _cleanup_erase_str_ char *key = NULL;
        int r = recovery_key_generate(&key);
        if (r < 0)
                return log_error_errno(r, "Cannot generate a recovery key: %m.");
        int slot = luks_keyslot_add(cd, vk, vk_size, key, strlen(key), true);
        if (slot < 0)
                return tpm_cmd_header_failed(slot, "add the recovery keyslot", path);
        char json[96];
        snprintf(json, sizeof(json), "{\"type\":\"systemd-recovery\",\"keyslots\":[\"%d\"]}", slot);
        r = luks_token_add(cd, json);
        if (r < 0) {
                (void) crypt_keyslot_destroy(cd, slot);
                return tpm_cmd_header_failed(r, "add the systemd-recovery token", path);
        }
        fprintf(stderr, "Recovery key for %s (keyslot %d). It is shown only now; store it somewhere safe:\n",
                path, slot);
        fflush(stderr);
        printf("%s\n", key);
        fflush(stdout);
        return slot;
}

int tpm_volume_open(TpmVolume *v, const CmdArgs *a, const TpmHostSettings *host, const char *key_file,
                    unsigned what) {
        *v = (TpmVolume) { .key_slot = -1 };
        int r;
        v->path = a->n_args > 0 ? a->args[0] : NULL;
        if (!v->path) {
                if (!host)
                        return cmd_usage(a, "missing argument: DEVICE");
                r = credstore_device(host, v->dev, sizeof v->dev);
                if (r < 0)
                        return r;
                v->path = v->dev;
        }
        /* before libcryptsetup reads it: it repairs a damaged copy silently */
        if (what & TPM_VOLUME_HEADER_CHECK)
                v->header_read = luks_header_check(v->path, &v->header) == 0;
        r = open_luks(v->path, &v->cd);
        if (r < 0)
                return r;
        (void) luks_slot_kinds(v->cd, v->kinds);
        const char *device = cmd_opt(a, TPM_OPT_TPM2_DEVICE);
        if (what & TPM_VOLUME_TPM) {
                r = open_tpm(device, &v->tpm);
                if (r < 0)
                        return r;
        } else if (what & TPM_VOLUME_TPM_IF_ANY) {
                v->tpm_error = tpm2_context_new(device, &v->tpm);
                if (v->tpm_error < 0)
                        v->tpm = NULL;
        }
        if (what & TPM_VOLUME_KEY) {
                r = tpm_cmd_volume_key(v->cd, v->path, key_file, &v->vk, &v->vk_size);
                if (r < 0)
                        return r;
                v->key_slot = r;
        }
        return 0;
}

void tpm_volume_forget_key(TpmVolume *v) {
        erase_and_free(v->vk, v->vk_size);
        v->vk = NULL;
        v->vk_size = 0;
}

void tpm_volume_close(TpmVolume *v) {
        tpm_volume_forget_key(v);
        tpm2_context_freep(&v->tpm);
        crypt_freep(&v->cd);
}
