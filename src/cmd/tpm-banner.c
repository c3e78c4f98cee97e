/* SPDX-License-Identifier: MIT */
/* keystone tpm banner: the login banner that says the machine is not yet
 * protected (issue 15 item 4).  Run at every boot by
 * keystone-protection-banner.service (src/image/etc-tpm.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/tpm.h"
#include "util/file-bytes.h"

#define BANNER_NAME "keystone-protection"

static int put(const char *dir, const char *name, const char *text) {
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int) sizeof p)
                return -ENAMETOOLONG;
        if (!text) {
                if (unlink(p) < 0 && errno != ENOENT)
                        return -errno;
                return 0;
        }
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        return write_file_bytes_atomic(p, text, strlen(text), 0644);
}

int tpm_banner(const CmdArgs *a) {
        const char *host = cmd_opt(a, TPM_OPT_HOST) ?: TPM_HOST_FILE;
        const char *issue_dir = cmd_opt(a, TPM_OPT_ISSUE_DIR) ?: "/etc/issue.d";
        const char *motd_dir = cmd_opt(a, TPM_OPT_MOTD_DIR) ?: "/run/motd.d";
        TpmHostSettings hs;
        int r = tpm_cmd_host_settings(host, &hs);
        if (r < 0)
                return r;
        _cleanup_tpm_volume_ TpmVolume v = {};
        r = tpm_volume_open(&v, a, &hs, NULL, 0);
        if (r < 0)
                return r;
        const char *path = v.path;
        const LuksSlotKind *kinds = v.kinds;
        bool tpm2 = false, recovery = false, install = false;
        for (int i = 0; i < LUKS_SLOTS_MAX; i++) {
                tpm2 |= kinds[i] == LUKS_SLOT_TPM2;
                recovery |= kinds[i] == LUKS_SLOT_RECOVERY;
                install |= kinds[i] == LUKS_SLOT_INSTALL;
        }
        char missing[256] = "";
        size_t n = 0;
        if (hs.enable && !tpm2)
                n += (size_t) snprintf(missing + n, sizeof missing - n, "%sno TPM2 token (the disk does not "
                                       "unlock itself)", n ? "; " : "");
        if (!recovery)
                n += (size_t) snprintf(missing + n, sizeof missing - n, "%sno recovery key", n ? "; " : "");
        if (install)
                n += (size_t) snprintf(missing + n, sizeof missing - n, "%sthe install secret still opens it",
                                       n ? "; " : "");
        _cleanup_free_ char *text = NULL;
        if (n) {
                const char *fix = hs.enable ? "sudo keystone tpm enroll --auto"
                                            : "sudo keystone tpm recovery, then keystone tpm wipe --slot=install-secret";
                if (asprintf(&text,
                             "\n"
                             "*** This machine is NOT yet protected: the credstore (%s) has %s.\n"
                             "*** Fix it with: %s\n"
                             "*** ('keystone tpm status %s' shows the keyslots.)\n\n",
                             path, missing, fix, path) < 0)
                        return log_error_errno(-ENOMEM, "Out of memory.");
        }
        if ((r = put(issue_dir, BANNER_NAME ".issue", text)) < 0)
                return log_error_errno(r, "Cannot write the console banner in %s: %m.", issue_dir);
        if ((r = put(motd_dir, BANNER_NAME, text)) < 0)
                return log_error_errno(r, "Cannot write the message of the day in %s: %m.", motd_dir);
        if (n)
                printf("Not protected (%s): the login banner says so (%s/" BANNER_NAME ".issue, %s/" BANNER_NAME ").\n",
                       missing, issue_dir, motd_dir);
        else
                printf("Protected: TPM2 %s, a recovery key, no install secret; no banner.\n",
                       hs.enable ? "token" : "not used (tpm.enable = false)");
        return 0;
}
