/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/tpm.h"

int tpm_measure(const CmdArgs *a) {
        _cleanup_tpm_volume_ TpmVolume v = {};
        int r = tpm_volume_open(&v, a, NULL, NULL, TPM_VOLUME_TPM);
        if (r < 0)
                return r;
        const char *uuid = crypt_get_uuid(v.cd) ?: "";
        _cleanup_free_ char *defname = NULL;
        const char *name = a->n_args > 1 ? a->args[1] : NULL;
        if (!name) {
                if (asprintf(&defname, "luks-%s", uuid) < 0)
                        return log_error_errno(-ENOMEM, "Out of memory.");
                name = defname;
        }

        /* the volume key: from the TPM token, else as a passphrase */
        const char *key_file = cmd_opt(a, TPM_OPT_UNLOCK_KEY_FILE);
        Tpm2UnlockReport rep;
        r = key_file ? -ENOENT : luks_tpm2_unlock(v.cd, v.tpm, NULL, &v.vk, &v.vk_size, &rep);
        if (r < 0) {
                v.vk = NULL;
                r = tpm_cmd_volume_key(v.cd, v.path, key_file, &v.vk, &v.vk_size);
                if (r < 0)
                        return r;
        }
        r = tpm2_measure_volume_key(v.tpm, v.vk, v.vk_size, name, uuid);
        tpm_volume_forget_key(&v);
        if (r < 0)
                return log_error_errno(r, "Extending PCR 15 on the TPM (%s) failed: %s.", v.tpm->tcti_conf,
                                       tpm2_last_rc_string());
        printf("Extended PCR 15 with the measurement of %s (%s).\n", v.path, name);
        return 0;
}
