/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/tpm.h"

int tpm_recovery(const CmdArgs *a) {
        _cleanup_tpm_volume_ TpmVolume v = {};
        int r = tpm_volume_open(&v, a, NULL, cmd_opt(a, TPM_OPT_UNLOCK_KEY_FILE), TPM_VOLUME_KEY);
        if (r < 0)
                return r;
        r = tpm_cmd_add_recovery(v.cd, v.path, v.vk, v.vk_size);
        return r < 0 ? r : 0;
}
