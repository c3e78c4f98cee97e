/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/tpm.h"
#include "util/secret-input.h"

/* The TPM2 PIN, when a token needs one: from --pin-file or standard input. */
static int read_pin(const CmdArgs *a, const TpmVolume *v, char **ret, size_t *ret_size) {
        const char *pin_file = cmd_opt(a, TPM_OPT_PIN_FILE);
        int r;
        if (pin_file)
                r = secret_read_file(pin_file, ret, ret_size);
        else {
                char prompt[512];
                snprintf(prompt, sizeof(prompt), "TPM2 PIN for %s: ", v->path);
                r = secret_read_line(prompt, ret, ret_size);
        }
        if (r < 0)
                return log_error_errno(r, "A TPM2 token of %s needs a PIN, and none could be read from %s "
                                       "(%m). Pass it on standard input or with --pin-file=FILE.", v->path,
                                       pin_file ?: "standard input");
        if (strlen(*ret) != *ret_size) {
                erase_and_free(*ret, *ret_size);
                *ret = NULL;
                return log_error_errno(-EINVAL, "The TPM2 PIN contains a NUL byte.");
        }
        return 0;
}

int tpm_unlock(const CmdArgs *a) {
        const char *name = a->n_args > 1 ? a->args[1] : NULL;
        bool test = cmd_flag(a, TPM_OPT_TEST);
        if (!name && !test)
                return cmd_usage(a, "give a NAME to activate as, or --test to only verify");
        if (name && test)
                return cmd_usage(a, "--test verifies without activating; leave out NAME");

        _cleanup_tpm_volume_ TpmVolume v = {};
        int r = tpm_volume_open(&v, a, NULL, NULL, TPM_VOLUME_TPM);
        if (r < 0)
                return r;
        const char *path = v.path;
        char *pin = NULL;
        size_t pin_size = 0;
        if (luks_tpm2_needs_pin(v.cd) && (r = read_pin(a, &v, &pin, &pin_size)) < 0)
                return r;
        Tpm2UnlockReport rep;
        r = luks_tpm2_unlock_pin(v.cd, v.tpm, name, pin, NULL, NULL, &rep);
        if (pin)
                erase_and_free(pin, pin_size);
        if (r == -EOPNOTSUPP && name && rep.error == -EOPNOTSUPP && !rep.unsupported)
                return log_error_errno(r, "The TPM unsealed the key of %s, but activating it as %s failed: "
                                       "device-mapper is not available. Load dm_crypt, or use --test.", path, name);
        if (r < 0)
                return tpm_cmd_unlock_failed(path, v.tpm->tcti_conf, &rep, r);
        log_debug("unseal %.1f ms, keyslot %.1f ms", rep.unseal_ms, rep.keyslot_ms);
        if (name)
                printf("Unlocked %s as /dev/mapper/%s with TPM2 token %d (keyslot %d).\n", path, name, rep.token, r);
        else
                printf("TPM2 token %d of %s unseals and opens keyslot %d.\n", rep.token, path, r);
        return 0;
}
