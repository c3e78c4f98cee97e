/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "tpm/luks-passphrase.h"
#include "tpm/recovery-key.h"

int luks_passphrase_volume_key(struct crypt_device *cd, const char *pass, size_t n,
                               uint8_t **ret_vk, size_t *ret_vk_size) {
        int r = luks_volume_key_get(cd, -1, pass, n, ret_vk, ret_vk_size);
        if (r != -EPERM)
                return r;
        char canon[RECOVERY_KEY_LENGTH + 1];
        if (recovery_key_normalize(pass, n, canon) && (strlen(canon) != n || memcmp(canon, pass, n) != 0))
                r = luks_volume_key_get(cd, -1, canon, strlen(canon), ret_vk, ret_vk_size);
        explicit_bzero(canon, sizeof canon);
        return r;
}
