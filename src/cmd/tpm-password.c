/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/tpm.h"
#include "util/secret-input.h"

static int read_new(const char *path, const char *file, char **ret, size_t *ret_size) {
        int r;
        if (file) {
                r = secret_read_file(file, ret, ret_size);
                if (r < 0)
                        return log_error_errno(r, "Cannot read the new password from %s: %m.", file);
                return 0;
        }
        char prompt[512];
        snprintf(prompt, sizeof(prompt), "New password for %s: ", path);
        r = secret_read_line(prompt, ret, ret_size);
        if (r < 0)
                return log_error_errno(r, "No new password on standard input (%m). Type it, pipe it in after the "
                                       "current one, or pass --new-key-file=FILE.");
        if (isatty(STDIN_FILENO)) {
                char *again = NULL;
                size_t n = 0;
                r = secret_read_line("Repeat the new password: ", &again, &n);
                bool same = r == 0 && n == *ret_size && memcmp(again, *ret, n) == 0;
                if (again)
                        erase_and_free(again, n);
                if (!same) {
                        erase_and_free(*ret, *ret_size);
                        *ret = NULL;
                        return log_error_errno(-EINVAL, "The two passwords differ; nothing was changed.");
                }
        }
        return 0;
}

int tpm_password(const CmdArgs *a) {
        bool minimal = false;
        const char *pbkdf = cmd_opt(a, TPM_OPT_PBKDF);
        if (pbkdf && streq(pbkdf, "minimal"))
                minimal = true;
        else if (pbkdf && !streq(pbkdf, "default"))
                return cmd_usage(a, "--pbkdf=%s: expected default or minimal", pbkdf);

        _cleanup_tpm_volume_ TpmVolume v = {};
        int r = tpm_volume_open(&v, a, NULL, cmd_opt(a, TPM_OPT_UNLOCK_KEY_FILE), TPM_VOLUME_KEY);
        if (r < 0)
                return r;
        const char *path = v.path;
        char *pw = NULL;
        size_t pw_size = 0;
        r = read_new(path, cmd_opt(a, TPM_OPT_NEW_KEY_FILE), &pw, &pw_size);
        if (r < 0)
                return r;
        int slot = luks_keyslot_add(v.cd, v.vk, v.vk_size, pw, pw_size, minimal);
        tpm_volume_forget_key(&v);
        erase_and_free(pw, pw_size);
        if (slot < 0)
                return tpm_cmd_header_failed(slot, "add the new password keyslot", path);
        int removed = 0;
        for (int i = 0; i < LUKS_SLOTS_MAX; i++) {
                if (i == slot || v.kinds[i] != LUKS_SLOT_PASSWORD)
                        continue;
                r = luks_keyslot_wipe(v.cd, i);
                if (r < 0)
                        return log_error_errno(r, "The new password is in keyslot %d of %s, but removing the old "
                                               "password keyslot %d failed: %m. Remove it with 'keystone tpm wipe "
                                               "%s --slot=%d'.", slot, path, i, path, i);
                removed++;
        }
        printf("%s the password of %s (keyslot %d%s).\n", removed ? "Changed" : "Set", path, slot,
               removed ? "; the old password no longer works" : "");
        return 0;
}
