/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/tpm.h"
#include "util/secret-input.h"

static const char help[] =
        "Usage: keystone tpm password DEVICE [OPTIONS]\n"
        "\n"
        "Set or change the password: unlock with an existing passphrase or recovery\n"
        "key, add a keyslot for the new password, then remove every older password\n"
        "keyslot (keyslots no token refers to), so the old password stops working.\n"
        "The current key comes from --unlock-key-file or the first line of standard\n"
        "input; the new password from --new-key-file or the next line (asked twice\n"
        "on a terminal).\n"
        "\n"
        "Options:\n"
        "      --unlock-key-file=F    the current passphrase or recovery key\n"
        "      --new-key-file=F       the new password\n"
        "      --pbkdf=KIND           default (argon2id, benchmarked) or minimal\n"
        "                             (pbkdf2, 1000 iterations: for tests only)\n"
        "  -h, --help\n";

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

int cmd_tpm_password(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "unlock-key-file", required_argument, NULL, 'k' },
                { "new-key-file", required_argument, NULL, 'n' },
                { "pbkdf", required_argument, NULL, 'P' },
                {}
        };
        const char *key_file = NULL, *new_file = NULL;
        bool minimal = false;
        int c, r;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(help);
                case 'k':
                        key_file = optarg;
                        break;
                case 'n':
                        new_file = optarg;
                        break;
                case 'P':
                        if (streq(optarg, "minimal"))
                                minimal = true;
                        else if (streq(optarg, "default"))
                                minimal = false;
                        else
                                return cmd_usage_error("tpm password", "--pbkdf=%s: expected default or minimal", optarg);
                        break;
                default:
                        return cmd_usage_error("tpm password", "unknown option");
                }
        r = tpm_cmd_check_args("password", argc - optind, 1, 1);
        if (r < 0)
                return r;
        const char *path = argv[optind];

        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        r = tpm_cmd_open_luks(path, &cd);
        if (r < 0)
                return r;
        uint8_t *vk = NULL;
        size_t vk_size = 0;
        r = tpm_cmd_volume_key(cd, path, key_file, &vk, &vk_size);
        if (r < 0)
                return r;
        char *pw = NULL;
        size_t pw_size = 0;
        r = read_new(path, new_file, &pw, &pw_size);
        if (r < 0) {
                erase_and_free(vk, vk_size);
                return r;
        }
        LuksSlotKind kinds[LUKS_SLOTS_MAX];
        (void) luks_slot_kinds(cd, kinds);
        int slot = luks_keyslot_add(cd, vk, vk_size, pw, pw_size, minimal);
        erase_and_free(vk, vk_size);
        erase_and_free(pw, pw_size);
        if (slot < 0)
                return tpm_cmd_header_failed(slot, "add the new password keyslot", path);
        int removed = 0;
        for (int i = 0; i < LUKS_SLOTS_MAX; i++) {
                if (i == slot || kinds[i] != LUKS_SLOT_PASSWORD)
                        continue;
                r = luks_keyslot_wipe(cd, i);
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
