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

static const char help[] =
        "Usage: keystone tpm banner [DEVICE] [OPTIONS]\n"
        "\n"
        "Look at the credstore's keyslots and, until a systemd-tpm2 token and a\n"
        "recovery key exist and no install secret is left, write a login banner that\n"
        "says so and names the command that fixes it: ISSUE_DIR/keystone-protection.issue\n"
        "(the console's /etc/issue, read by agetty) and MOTD_DIR/keystone-protection\n"
        "(the message of the day, console and SSH logins, read by pam_motd).  Once\n"
        "protected, both files are removed.  DEVICE defaults to the credstore of the\n"
        "host file (/dev/zvol/POOL/credstore).\n"
        "\n"
        "Options:\n"
        "      --host=FILE            host file (default " TPM_HOST_FILE ")\n"
        "      --issue-dir=DIR        default /etc/issue.d\n"
        "      --motd-dir=DIR         default /run/motd.d\n"
        "  -h, --help\n";

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

int cmd_tpm_banner(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "host", required_argument, NULL, 'H' },
                { "issue-dir", required_argument, NULL, 'i' },
                { "motd-dir", required_argument, NULL, 'm' },
                {}
        };
        const char *host = TPM_HOST_FILE, *issue_dir = "/etc/issue.d", *motd_dir = "/run/motd.d";
        int c, r;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(help);
                case 'H':
                        host = optarg;
                        break;
                case 'i':
                        issue_dir = optarg;
                        break;
                case 'm':
                        motd_dir = optarg;
                        break;
                default:
                        return cmd_usage_error("tpm banner", "unknown option");
                }
        r = tpm_cmd_check_args("banner", argc - optind, 0, 1);
        if (r < 0)
                return r;
        TpmHostSettings hs;
        r = tpm_cmd_host_settings(host, &hs);
        if (r < 0)
                return r;
        char dev[PATH_MAX];
        const char *path = argc - optind > 0 ? argv[optind] : NULL;
        if (!path) {
                r = tpm_cmd_credstore_device(&hs, dev, sizeof dev);
                if (r < 0)
                        return r;
                path = dev;
        }
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        r = tpm_cmd_open_luks(path, &cd);
        if (r < 0)
                return r;
        LuksSlotKind kinds[LUKS_SLOTS_MAX];
        (void) luks_slot_kinds(cd, kinds);
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
