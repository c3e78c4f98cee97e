/* SPDX-License-Identifier: MIT */
/* keystone secureboot enroll | status */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cmd/cmd.h"
#include "cmd/secureboot.h"
#include "secureboot/authvar.h"
#include "secureboot/efivars.h"
#include "secureboot/esl.h"
#include "secureboot/eventlog.h"
#include "secureboot/keys.h"
#include "secureboot/ossl-util.h"
#include "secureboot/sbvars.h"
#include "util/file-bytes.h"
#include "util/run.h"

/* Owner GUID Microsoft uses for its certificates in KEK and db. */
#define MICROSOFT_OWNER_GUID "77fa9abd-0359-4d32-bd60-28f4e78f784b"

typedef struct Buf {
        uint8_t *data;
        size_t size;
} Buf;

static int buf_append(Buf *b, const uint8_t *d, size_t n) {
        uint8_t *nd = realloc(b->data, b->size + n + 1);
        if (!nd)
                return -ENOMEM;
        memcpy(nd + b->size, d, n);
        b->data = nd;
        b->size += n;
        return 0;
}

static void bufs_done(Buf (*b)[_SB_KEY_MAX]) {
        for (int k = 0; k < _SB_KEY_MAX; k++)
                free((*b)[k].data);
}

/* Appends an ESL per certificate file in DIR/SUB (PEM or DER). */
static int add_vendor_certs(const char *dir, const char *sub, Buf *esl, unsigned *ret_n) {
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, sub) < 0)
                return -ENOMEM;
        struct dirent **names = NULL;
        int n = scandir(p, &names, NULL, alphasort);
        if (n < 0)
                return log_error_errno(negative_errno(), "secureboot enroll: cannot read %s: %m "
                                       "(--microsoft-certs DIR needs DIR/db/ and DIR/KEK/ with the certificates)", p);
        EfiGuid ms;
        (void) efi_guid_from_string(MICROSOFT_OWNER_GUID, &ms);
        int r = 0;
        *ret_n = 0;
        for (int i = 0; i < n; i++) {
                if (r >= 0 && names[i]->d_name[0] != '.') {
                        _cleanup_free_ char *f = NULL;
                        _cleanup_(X509_freep) X509 *x = NULL;
                        _cleanup_free_ uint8_t *e = NULL;
                        size_t es;
                        if (asprintf(&f, "%s/%s", p, names[i]->d_name) < 0)
                                r = -ENOMEM;
                        else if ((r = ossl_load_cert(f, &x)) < 0)
                                log_error_errno(r, "secureboot enroll: %s is not an X.509 certificate (PEM or DER): %m", f);
                        else if ((r = esl_from_x509(x, &ms, &e, &es)) >= 0 && (r = buf_append(esl, e, es)) >= 0)
                                (*ret_n)++;
                }
                free(names[i]);
        }
        free(names);
        if (r >= 0 && *ret_n == 0)
                return log_error_errno(-ENOENT, "secureboot enroll: no certificates in %s", p);
        return r;
}

static int check_option_roms(const char *path) {
        _cleanup_free_ uint8_t *log = NULL;
        size_t size;
        int r = read_file_bytes(path, 64 << 20, &log, &size);
        if (r < 0) {
                log_warning_errno(r, "secureboot enroll: cannot read the TPM event log %s (%m); cannot check whether "
                                  "option ROMs are in use. Continuing.", path);
                return 0;
        }
        int n = eventlog_count_option_roms(log, size);
        if (n < 0)
                return log_error_errno(n, "secureboot enroll: the TPM event log %s is malformed; cannot check for option "
                                       "ROMs. Use --force if you are sure no option ROMs are needed.", path);
        if (n > 0)
                return log_error_errno(-EPERM,
                                       "secureboot enroll: the TPM event log %s shows %d option ROM(s) (firmware drivers "
                                       "of graphics, network or storage cards, EV_EFI_BOOT_SERVICES_DRIVER in PCR 2). They "
                                       "are usually signed by Microsoft's UEFI CA and would stop loading with only your "
                                       "keys enrolled: the machine could lose its display or boot device. Enroll with "
                                       "--microsoft-certs DIR to keep Microsoft's certificates, or --force if you know "
                                       "these drivers are not needed.", path, n);
        return 0;
}

static int enroll_append(const char *dir, const char *efivars, const char *what, const char *cert_path) {
        int k = sb_key_from_name(what);
        if (k != SB_KEY_DB && k != SB_KEY_KEK)
                return sb_usage_error("enroll", "--append takes db or KEK, not '%s'", what);
        _cleanup_(X509_freep) X509 *x = NULL;
        int r = ossl_load_cert(cert_path, &x);
        if (r < 0)
                return log_error_errno(r, "secureboot enroll: cannot load certificate %s: %m", cert_path);
        EfiGuid owner;
        r = sb_owner_guid_load(dir, &owner);
        if (r < 0)
                return log_error_errno(r, "secureboot enroll: cannot read the owner GUID %s/GUID: %m", dir);
        _cleanup_free_ uint8_t *esl = NULL, *auth = NULL;
        size_t esl_size, auth_size;
        r = esl_from_x509(x, &owner, &esl, &esl_size);
        if (r < 0)
                return log_error_errno(r, "secureboot enroll: cannot encode %s: %m", cert_path);
        uint32_t attrs = EFI_VARIABLE_AUTHVAR_ATTRS | EFI_VARIABLE_APPEND_WRITE;
        r = sb_var_auth(dir, k, attrs, time(NULL), esl, esl_size, &auth, &auth_size);
        if (r < 0)
                return log_error_errno(r, "secureboot enroll: cannot sign the %s update with the %s key in %s: %m",
                                       what, sb_key_name(sb_var_signer(k)), dir);
        r = efivar_write(efivars, what, sb_var_vendor(k), attrs, auth, auth_size);
        if (r == -EACCES || r == -EPERM || r == -EINVAL)
                return log_error_errno(r, "secureboot enroll: the firmware refused the %s update in %s (%m): the %s key "
                                       "in %s is probably not the one enrolled.", what, efivars,
                                       sb_key_name(sb_var_signer(k)), dir);
        if (r < 0)
                return log_error_errno(r, "secureboot enroll: writing %s to %s failed: %m", what, efivars);
        printf("appended %s to %s\n", cert_path, what);
        return 0;
}

int sb_cmd_enroll(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "dir", required_argument, NULL, 'd' },
                { "efivars", required_argument, NULL, 'e' },
                { "microsoft-certs", required_argument, NULL, 'm' },
                { "event-log", required_argument, NULL, 'l' },
                { "force", no_argument, NULL, 'f' },
                { "append", required_argument, NULL, 'a' },
                { "cert", required_argument, NULL, 'c' },
                {}
        };
        const char *dir = SB_KEYS_DEFAULT_DIR, *efivars = EFIVARFS_DEFAULT_DIR, *ms = NULL;
        const char *event_log = EVENTLOG_DEFAULT_PATH, *append = NULL, *cert = NULL;
        bool force = false;
        int c;
        while ((c = getopt_long(argc, argv, "hd:e:m:l:fa:c:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(
                                "Usage: keystone secureboot enroll [--dir DIR] [--efivars PATH] [--microsoft-certs MSDIR]\n"
                                "                                  [--event-log PATH] [--force]\n"
                                "       keystone secureboot enroll --append db|KEK --cert CERT [--dir DIR] [--efivars PATH]\n"
                                "\n"
                                "In setup mode, writes db (signed by KEK), KEK (signed by PK) and last PK\n"
                                "(signed by itself) through efivarfs; after that the firmware is in user mode\n"
                                "and only images signed by the db key (or MSDIR's db certificates) boot.\n"
                                "Refuses when the TPM event log shows option ROMs that would stop loading,\n"
                                "unless --microsoft-certs or --force.\n"
                                "With 'keystone --dry-run', prints what it would write and writes nothing.\n"
                                "With --append, adds CERT to db (signed by KEK) or KEK (signed by PK) in user mode.\n"
                                "\n"
                                "  -d, --dir DIR              key directory (default " SB_KEYS_DEFAULT_DIR ")\n"
                                "  -e, --efivars PATH         efivarfs (default " EFIVARFS_DEFAULT_DIR ")\n"
                                "  -m, --microsoft-certs MSDIR  also enroll MSDIR/KEK/* and MSDIR/db/* (PEM or DER)\n"
                                "  -l, --event-log PATH       default " EVENTLOG_DEFAULT_PATH "\n"
                                "  -f, --force                enroll even when option ROMs were seen\n"
                                "  -a, --append db|KEK        append CERT instead of enrolling\n"
                                "  -c, --cert CERT            certificate for --append\n");
                case 'd': dir = optarg; break;
                case 'e': efivars = optarg; break;
                case 'm': ms = optarg; break;
                case 'l': event_log = optarg; break;
                case 'f': force = true; break;
                case 'a': append = optarg; break;
                case 'c': cert = optarg; break;
                default: return -KS_EUSAGE;
                }
        if (argc - optind != 0)
                return sb_usage_error("enroll", "takes no positional arguments");
        if (!!append != !!cert)
                return sb_usage_error("enroll", "--append and --cert go together");

        uint8_t setup_mode;
        int r = efivar_read_u8(efivars, "SetupMode", &EFI_GLOBAL_VARIABLE_GUID, &setup_mode);
        if (r == -ENOENT)
                return log_error_errno(r, "secureboot enroll: no SetupMode variable in %s: not booted through UEFI, or "
                                       "efivarfs not mounted (mount -t efivarfs efivarfs %s).", efivars, efivars);
        if (r < 0)
                return log_error_errno(r, "secureboot enroll: cannot read SetupMode in %s: %m", efivars);

        if (append)
                return enroll_append(dir, efivars, append, cert);

        if (setup_mode != 1)
                return log_error_errno(-EPERM, "secureboot enroll: the firmware is in user mode (SetupMode=0): a platform "
                                       "key is already enrolled. Enter setup mode first: reboot into the firmware setup, "
                                       "and in the Secure Boot menu choose \"Reset to Setup Mode\" or \"Clear all Secure "
                                       "Boot keys\"; then run this again. (To add one certificate in user mode use "
                                       "--append db|KEK --cert CERT.)");
        if (!ms && !force) {
                r = check_option_roms(event_log);
                if (r < 0)
                        return r;
        }

        _cleanup_(bufs_done) Buf vars[_SB_KEY_MAX] = {};
        for (int k = 0; k < _SB_KEY_MAX; k++) {
                _cleanup_free_ uint8_t *esl = NULL;
                size_t n;
                r = sb_var_esl(dir, k, &esl, &n);
                if (r < 0)
                        return log_error_errno(r, "secureboot enroll: cannot read the %s certificate or owner GUID in %s: "
                                               "%m. Create keys with 'keystone secureboot keygen --dir %s'.",
                                               sb_key_name(k), dir, dir);
                r = buf_append(&vars[k], esl, n);
                if (r < 0)
                        return log_error_errno(r, "secureboot enroll: out of memory");
        }
        if (ms) {
                unsigned n_kek, n_db;
                r = add_vendor_certs(ms, "KEK", &vars[SB_KEY_KEK], &n_kek);
                if (r < 0)
                        return r;
                r = add_vendor_certs(ms, "db", &vars[SB_KEY_DB], &n_db);
                if (r < 0)
                        return r;
                printf("adding %u KEK and %u db certificates from %s\n", n_kek, n_db, ms);
        }

        /* db, then KEK, then PK: writing PK ends setup mode. */
        static const SbKeyKind order[] = { SB_KEY_DB, SB_KEY_KEK, SB_KEY_PK };
        time_t now = time(NULL);
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                SbKeyKind k = order[i];
                _cleanup_free_ uint8_t *auth = NULL;
                size_t auth_size;
                r = sb_var_auth(dir, k, EFI_VARIABLE_AUTHVAR_ATTRS, now, vars[k].data, vars[k].size, &auth, &auth_size);
                if (r < 0)
                        return log_error_errno(r, "secureboot enroll: cannot sign %s with the %s key in %s: %m",
                                               sb_key_name(k), sb_key_name(sb_var_signer(k)), dir);
                if (run_get_dry_run()) {
                        printf("would write %s to %s: %zu bytes, attributes 0x%02x, signed by %s\n", sb_key_name(k),
                               efivars, auth_size, EFI_VARIABLE_AUTHVAR_ATTRS, sb_key_name(sb_var_signer(k)));
                        continue;
                }
                r = efivar_write(efivars, sb_key_name(k), sb_var_vendor(k), EFI_VARIABLE_AUTHVAR_ATTRS, auth, auth_size);
                if (r < 0)
                        return log_error_errno(r, "secureboot enroll: writing %s to %s failed: %m.%s", sb_key_name(k),
                                               efivars, i > 0 ? " Some variables were already written; still in setup "
                                               "mode, so running enroll again is safe." : "");
                printf("enrolled %s\n", sb_key_name(k));
        }
        if (run_get_dry_run())
                return 0;
        printf("Secure Boot keys enrolled; the firmware is in user mode now. Boot only images signed with %s/keys/db.\n", dir);
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

int sb_cmd_status(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "efivars", required_argument, NULL, 'e' },
                {}
        };
        const char *efivars = EFIVARFS_DEFAULT_DIR;
        int c;
        while ((c = getopt_long(argc, argv, "he:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(
                                "Usage: keystone secureboot status [--efivars PATH]\n"
                                "\n"
                                "Prints SecureBoot, SetupMode, AuditMode and DeployedMode, and the subjects of\n"
                                "the certificates enrolled in PK, KEK and db.\n"
                                "\n"
                                "  -e, --efivars PATH   efivarfs (default " EFIVARFS_DEFAULT_DIR ")\n");
                case 'e': efivars = optarg; break;
                default: return -KS_EUSAGE;
                }
        if (argc - optind != 0)
                return sb_usage_error("status", "takes no positional arguments");

        static const char *const modes[] = { "SecureBoot", "SetupMode", "AuditMode", "DeployedMode" };
        uint8_t v[4];
        bool have[4];
        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                int r = efivar_read_u8(efivars, modes[i], &EFI_GLOBAL_VARIABLE_GUID, &v[i]);
                if (r < 0 && r != -ENOENT)
                        return log_error_errno(r, "secureboot status: cannot read %s in %s: %m", modes[i], efivars);
                have[i] = r >= 0;
        }
        if (!have[0] && !have[1])
                return log_error_errno(-ENOENT, "secureboot status: no SecureBoot or SetupMode variable in %s: not booted "
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
                        return log_error_errno(r, "secureboot status: cannot read %s in %s: %m", name, efivars);
                ListCtx ctx = { .var = name };
                r = esl_foreach(d, n, print_entry, &ctx);
                if (r < 0)
                        printf("%s: (malformed signature list, %zu bytes)\n", name, n);
        }
        return 0;
}
