/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/tpm.h"

/* --slot: a kind of keyslot (*want), or one keyslot's number (*number). */
static int parse_slot(const CmdArgs *a, const char *which, LuksSlotKind *want, long *number) {
        static const struct { const char *name; LuksSlotKind kind; } kinds[] = {
                { "password", LUKS_SLOT_PASSWORD }, { "recovery", LUKS_SLOT_RECOVERY },
                { "tpm2", LUKS_SLOT_TPM2 },         { "install-secret", LUKS_SLOT_INSTALL },
        };
        *want = LUKS_SLOT_NONE;
        *number = -1;
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                if (streq(which, kinds[i].name)) {
                        *want = kinds[i].kind;
                        return 0;
                }
        char *end;
        *number = strtol(which, &end, 10);
        if (!*which || *end || *number < 0 || *number >= LUKS_SLOTS_MAX)
                return cmd_usage(a, "--slot=%s: expected password, recovery, tpm2, install-secret or a keyslot "
                                 "number 0..31", which);
        return 0;
}

int tpm_wipe(const CmdArgs *a) {
        const char *which = cmd_opt(a, TPM_OPT_SLOT);
        if (!which)
                return cmd_usage(a, "--slot=password|recovery|tpm2|install-secret|N is required");
        LuksSlotKind want;
        long number;
        int r = parse_slot(a, which, &want, &number);
        if (r < 0)
                return r;

        _cleanup_tpm_volume_ TpmVolume v = {};
        r = tpm_volume_open(&v, a, NULL, NULL, 0);
        if (r < 0)
                return r;
        const char *path = v.path;
        const LuksSlotKind *kinds = v.kinds;
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
        if (left_not_tpm == 0 && !cmd_flag(a, TPM_OPT_FORCE))
                return log_error_errno(-EPERM, "Refusing to wipe the %s keyslot(s) of %s: only TPM2 keyslots would "
                                       "remain, and any firmware or Secure Boot change would lock the volume. Add "
                                       "a recovery key first ('keystone tpm recovery'), or pass --force.", which, path);
        for (int i = 0; i < LUKS_SLOTS_MAX; i++) {
                if (!(wipe & (UINT32_C(1) << i)))
                        continue;
                r = luks_keyslot_wipe(v.cd, i);
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
