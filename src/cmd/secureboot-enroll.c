/* SPDX-License-Identifier: MIT */
/* keystone secureboot enroll | status */
#include <stdio.h>
#include <time.h>

#include "cmd/cmd.h"
#include "cmd/secureboot.h"
#include "secureboot/efivars.h"
#include "secureboot/enroll.h"
#include "secureboot/esl.h"
#include "secureboot/eventlog.h"
#include "secureboot/keys.h"
#include "secureboot/ossl-util.h"
#include "secureboot/sbvars.h"
#include "util/file-bytes.h"
#include "util/run.h"

/* Whether the TPM event log allows enrolling only the owner's keys. */
static int check_option_roms(const char *path) {
        _cleanup_free_ uint8_t *log = NULL;
        size_t size;
        int r = read_file_bytes(path, 64 << 20, &log, &size);
        if (r < 0) {
                log_warning_errno(r, "cannot read the TPM event log %s (%m); cannot check whether option ROMs are in "
                                  "use. Continuing.", path);
                return 0;
        }
        _cleanup_free_ char *error = NULL;
        r = sb_enroll_check_option_roms(path, log, size, &error);
        if (r == -EPERM)
                return log_error_errno(r, "%s. Enroll with --microsoft-certs DIR to keep Microsoft's certificates, or "
                                       "--force if you know these drivers are not needed.", error);
        if (r < 0)
                return log_error_errno(r, "%s. Use --force if you are sure no option ROMs are needed.", error);
        return 0;
}

/* The owner's certificates and GUID in DIR, as sb_enroll_build() reads them. */
static bool owner_keys_readable(const char *dir) {
        for (SbKeyKind k = 0; k < _SB_KEY_MAX; k++) {
                _cleanup_free_ uint8_t *esl = NULL;
                size_t n;
                if (sb_var_esl(dir, k, &esl, &n) < 0)
                        return false;
        }
        return true;
}

static int enroll_append(const CmdArgs *a, const char *dir, const char *efivars) {
        const char *what = cmd_opt(a, SB_OPT_APPEND), *cert = cmd_opt(a, SB_OPT_APPEND_CERT);
        int k = sb_key_from_name(what);
        if (k != SB_KEY_DB && k != SB_KEY_KEK)
                return cmd_usage(a, "--append takes db or KEK, not '%s'", what);
        _cleanup_free_ char *error = NULL;
        int r = sb_enroll_append(dir, efivars, k, cert, time(NULL), &error);
        if (r < 0)
                return log_error_errno(r, "%s", error);
        printf("appended %s to %s\n", cert, what);
        return 0;
}

static void dry_run(const SbEnrollSet *set, const char *efivars) {
        for (size_t i = 0; i < ELEMENTSOF(set->updates); i++) {
                SbKeyKind k = set->updates[i].key;
                printf("would write %s to %s: %zu bytes, attributes 0x%02x, signed by %s\n", sb_key_name(k), efivars,
                       set->updates[i].size, SB_ENROLL_ATTRS, sb_key_name(sb_var_signer(k)));
        }
}

int sb_cmd_enroll(const CmdArgs *a) {
        const char *dir = cmd_opt(a, SB_OPT_DIR) ?: SB_KEYS_DEFAULT_DIR;
        const char *efivars = cmd_opt(a, SB_OPT_EFIVARS) ?: EFIVARFS_DEFAULT_DIR;
        const char *ms = cmd_opt(a, SB_OPT_MICROSOFT_CERTS);
        bool append = cmd_flag(a, SB_OPT_APPEND);
        if (append != cmd_flag(a, SB_OPT_APPEND_CERT))
                return cmd_usage(a, "--append and --cert go together");

        _cleanup_free_ char *error = NULL;
        uint8_t setup_mode;
        int r = sb_enroll_setup_mode(efivars, &setup_mode, &error);
        if (r < 0)
                return log_error_errno(r, "%s", error);
        if (append)
                return enroll_append(a, dir, efivars);
        if (setup_mode != 1)
                return log_error_errno(-EPERM, "the firmware is in user mode (SetupMode=0): a platform key is already "
                                       "enrolled. Enter setup mode first: reboot into the firmware setup, and in the "
                                       "Secure Boot menu choose \"Reset to Setup Mode\" or \"Clear all Secure Boot "
                                       "keys\"; then run this again. (To add one certificate in user mode use "
                                       "--append db|KEK --cert CERT.)");
        if (!ms && !cmd_flag(a, SB_OPT_FORCE)) {
                r = check_option_roms(cmd_opt(a, SB_OPT_EVENT_LOG) ?: EVENTLOG_DEFAULT_PATH);
                if (r < 0)
                        return r;
        }

        _cleanup_(sb_enroll_set_done) SbEnrollSet set = {};
        r = sb_enroll_build(dir, ms, time(NULL), &set, &error);
        if (r < 0 && !owner_keys_readable(dir))
                return log_error_errno(r, "%s. Create keys with 'keystone secureboot keygen --dir %s'.", error, dir);
        if (r < 0)
                return log_error_errno(r, "%s", error);
        if (ms)
                printf("adding %u KEK and %u db certificates from %s\n", set.n_vendor_kek, set.n_vendor_db, ms);
        if (run_get_dry_run()) {
                dry_run(&set, efivars);
                return 0;
        }
        size_t written;
        r = sb_enroll_write(&set, efivars, &written, &error);
        for (size_t i = 0; i < written; i++)
                printf("enrolled %s\n", sb_key_name(set.updates[i].key));
        if (r < 0)
                return log_error_errno(r, "%s", error);
        printf("Secure Boot keys enrolled; the firmware is in user mode now. Boot only images signed with %s/keys/db.\n",
               dir);
        return 0;
}

typedef struct ListCtx {
        const char *var;
        unsigned n;
} ListCtx;

static int print_entry(const EslEntry *e, void *userdata) {
        ListCtx *ctx = userdata;
        char owner[EFI_GUID_STRING_MAX];
        efi_guid_to_string(&e->owner, owner);
        ctx->n++;
        if (efi_guid_equal(&e->type, &EFI_CERT_X509_GUID)) {
                X509 *x = NULL;
                if (ossl_cert_from_der(e->data, e->size, &x) < 0) {
                        printf("%s: (unparsable X.509 certificate) owner %s\n", ctx->var, owner);
                        return 0;
                }
                _cleanup_free_ char *s = ossl_name_oneline(X509_get_subject_name(x));
                X509_free(x);
                printf("%s: %s (owner %s)\n", ctx->var, s ?: "?", owner);
        } else if (efi_guid_equal(&e->type, &EFI_CERT_SHA256_GUID))
                printf("%s: sha256 hash (owner %s)\n", ctx->var, owner);
        else {
                char t[EFI_GUID_STRING_MAX];
                efi_guid_to_string(&e->type, t);
                printf("%s: signature of type %s (owner %s)\n", ctx->var, t, owner);
        }
        return 0;
}

int sb_cmd_status(const CmdArgs *a) {
        const char *efivars = cmd_opt(a, SB_OPT_EFIVARS) ?: EFIVARFS_DEFAULT_DIR;
        static const char *const modes[] = { "SecureBoot", "SetupMode", "AuditMode", "DeployedMode" };
        uint8_t v[4];
        bool have[4];
        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                int r = efivar_read_u8(efivars, modes[i], &EFI_GLOBAL_VARIABLE_GUID, &v[i]);
                if (r < 0 && r != -ENOENT)
                        return log_error_errno(r, "cannot read %s in %s: %m", modes[i], efivars);
                have[i] = r >= 0;
        }
        if (!have[0] && !have[1])
                return log_error_errno(-ENOENT, "no SecureBoot or SetupMode variable in %s: not booted "
                                       "through UEFI, or efivarfs not mounted.", efivars);
        printf("SecureBoot: %s\n", !have[0] ? "unknown" : v[0] ? "enabled" : "disabled");
        printf("SetupMode: %s\n", !have[1] ? "unknown" : v[1] ? "1 (setup mode: no PK enrolled)" : "0 (user mode)");
        printf("AuditMode: %s\n", !have[2] ? "absent" : v[2] ? "1" : "0");
        printf("DeployedMode: %s\n", !have[3] ? "absent" : v[3] ? "1" : "0");

        for (int k = 0; k < _SB_KEY_MAX; k++) {
                _cleanup_free_ uint8_t *d = NULL;
                size_t n;
                const char *name = sb_key_name(k);
                int r = efivar_read(efivars, name, sb_var_vendor(k), NULL, &d, &n);
                if (r == -ENOENT || (r >= 0 && n == 0)) {
                        printf("%s: (empty)\n", name);
                        continue;
                }
                if (r < 0)
                        return log_error_errno(r, "cannot read %s in %s: %m", name, efivars);
                ListCtx ctx = { .var = name };
                r = esl_foreach(d, n, print_entry, &ctx);
                if (r < 0)
                        printf("%s: (malformed signature list, %zu bytes)\n", name, n);
        }
        return 0;
}
