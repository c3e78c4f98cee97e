/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/tpm.h"

static const char help[] =
        "Usage: keystone tpm wipe DEVICE --slot=password|recovery|tpm2|install-secret|N [OPTIONS]\n"
        "\n"
        "Remove keyslots (and the tokens naming them): every password keyslot, every\n"
        "recovery keyslot, every TPM2 keyslot, the install secret's keyslot (the one\n"
        "'keystone disk apply' made), or keyslot N.  Refused when no keyslot would\n"
        "remain, and when only TPM2 keyslots would remain (a firmware or Secure Boot\n"
        "change would then lock the volume for good) unless --force.  The install\n"
        "secret is removed only once a TPM2 keyslot and a recovery keyslot exist.\n"
        "The header is read again afterwards: each wiped keyslot must be gone.\n"
        "\n"
        "Options:\n"
        "      --slot=WHICH           password, recovery, tpm2, install-secret or a\n"
        "                             keyslot number\n"
        "      --force                allow leaving only TPM2 keyslots\n"
        "  -h, --help\n";

int cmd_tpm_wipe(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "slot", required_argument, NULL, 's' },
                { "force", no_argument, NULL, 'f' },
                {}
        };
        const char *which = NULL;
        bool force = false;
        int c, r;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(help);
                case 's':
                        which = optarg;
                        break;
                case 'f':
                        force = true;
                        break;
                default:
                        return cmd_usage_error("tpm wipe", "unknown option");
                }
        r = tpm_cmd_check_args("wipe", argc - optind, 1, 1);
        if (r < 0)
                return r;
        if (!which)
                return cmd_usage_error("tpm wipe", "--slot=password|recovery|tpm2|N is required");
        const char *path = argv[optind];

        LuksSlotKind want = LUKS_SLOT_NONE;
        long number = -1;
        if (streq(which, "password"))
                want = LUKS_SLOT_PASSWORD;
        else if (streq(which, "recovery"))
                want = LUKS_SLOT_RECOVERY;
        else if (streq(which, "tpm2"))
                want = LUKS_SLOT_TPM2;
        else if (streq(which, "install-secret"))
                want = LUKS_SLOT_INSTALL;
        else {
                char *end;
                number = strtol(which, &end, 10);
                if (!*which || *end || number < 0 || number >= LUKS_SLOTS_MAX)
                        return cmd_usage_error("tpm wipe", "--slot=%s: expected password, recovery, tpm2, install-secret or a "
                                               "keyslot number 0..31", which);
        }

        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        r = tpm_cmd_open_luks(path, &cd);
        if (r < 0)
                return r;
        LuksSlotKind kinds[LUKS_SLOTS_MAX];
        (void) luks_slot_kinds(cd, kinds);
        uint32_t wipe = 0;
        int left = 0, left_not_tpm = 0, left_tpm = 0, left_recovery = 0;
        for (int i = 0; i < LUKS_SLOTS_MAX; i++) {
                if (kinds[i] == LUKS_SLOT_NONE)
                        continue;
                if (number >= 0 ? i == number : kinds[i] == want)
                        wipe |= UINT32_C(1) << i;
                else {
                        left++;
                        if (kinds[i] != LUKS_SLOT_TPM2)
                                left_not_tpm++;
                        left_tpm += kinds[i] == LUKS_SLOT_TPM2;
                        left_recovery += kinds[i] == LUKS_SLOT_RECOVERY;
                }
        }
        if (!wipe)
                return log_error_errno(-ENOENT, "%s has no %s keyslot%s; 'keystone tpm status %s' lists them.",
                                       path, which, number >= 0 ? " with that number" : "", path);
        if (want == LUKS_SLOT_INSTALL && (!left_tpm || !left_recovery))
                return log_error_errno(-EPERM, "Refusing to remove the install secret of %s: it is the way in "
                                       "until a TPM2 keyslot and a recovery keyslot exist (%s). Enroll them "
                                       "first ('keystone tpm enroll', 'keystone tpm recovery'), or run 'keystone "
                                       "tpm enroll --auto'.", path,
                                       !left_tpm && !left_recovery ? "neither does"
                                       : !left_tpm                 ? "no TPM2 keyslot yet"
                                                                   : "no recovery keyslot yet");
        if (left == 0)
                return log_error_errno(-EPERM, "Refusing to wipe the %s keyslot(s) of %s: no way in would remain "
                                       "and the data would be lost. Add another first ('keystone tpm recovery' "
                                       "or 'keystone tpm password').", which, path);
        if (left_not_tpm == 0 && !force)
                return log_error_errno(-EPERM, "Refusing to wipe the %s keyslot(s) of %s: only TPM2 keyslots would "
                                       "remain, and any firmware or Secure Boot change would lock the volume. Add "
                                       "a recovery key first ('keystone tpm recovery'), or pass --force.", which, path);
        for (int i = 0; i < LUKS_SLOTS_MAX; i++) {
                if (!(wipe & (UINT32_C(1) << i)))
                        continue;
                r = luks_keyslot_wipe(cd, i);
                if (r < 0)
                        return log_error_errno(r, "Failed to wipe keyslot %d of %s: %m.", i, path);
        }
        r = luks_keyslots_verify_gone(path, wipe);
        if (r == -EEXIST)
                return log_error_errno(r, "Wiped keyslots of %s, but reading the header again still shows one of "
                                       "them (or a token naming it): the header did not take the change. Check "
                                       "'keystone tpm status %s'.", path, path);
        if (r < 0)
                return log_error_errno(r, "Wiped keyslots of %s, but cannot read the header again to check: %m.",
                                       path);
        for (int i = 0; i < LUKS_SLOTS_MAX; i++)
                if (wipe & (UINT32_C(1) << i))
                        printf("Wiped keyslot %d (%s) of %s.\n", i, luks_slot_kind_to_string(kinds[i]), path);
        return 0;
}
