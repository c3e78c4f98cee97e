/* SPDX-License-Identifier: MIT */
/* keystone secureboot keygen | export */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "cmd/cmd.h"
#include "cmd/secureboot.h"
#include "secureboot/authvar.h"
#include "secureboot/keys.h"
#include "secureboot/sbvars.h"
#include "util/file-bytes.h"

int sb_cmd_keygen(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "dir", required_argument, NULL, 'd' },
                { "key-size", required_argument, NULL, 's' },
                { "name", required_argument, NULL, 'N' },
                {}
        };
        const char *dir = SB_KEYS_DEFAULT_DIR, *name = "Keystone";
        int bits = 4096, c;
        while ((c = getopt_long(argc, argv, "hd:s:N:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(
                                "Usage: keystone secureboot keygen [--dir DIR] [--key-size 2048|3072|4096] [--name NAME]\n"
                                "\n"
                                "Creates the owner's Secure Boot keys in sbctl's layout: DIR/GUID (owner GUID),\n"
                                "DIR/keys/{PK,KEK,db}/{PK,KEK,db}.key (RSA, mode 0600) and .pem (X.509).\n"
                                "Refuses to overwrite existing keys.\n"
                                "\n"
                                "  -d, --dir DIR        default " SB_KEYS_DEFAULT_DIR "\n"
                                "  -s, --key-size BITS  RSA key size (default 4096)\n"
                                "  -N, --name NAME      certificate subjects: \"NAME Platform Key\" … (default Keystone)\n");
                case 'd': dir = optarg; break;
                case 's': {
                        char *e;
                        long v = strtol(optarg, &e, 10);
                        if (*e || (v != 2048 && v != 3072 && v != 4096))
                                return sb_usage_error("keygen", "--key-size must be 2048, 3072 or 4096, not '%s'", optarg);
                        bits = (int) v;
                        break;
                }
                case 'N': name = optarg; break;
                default: return -KS_EUSAGE;
                }
        if (argc - optind != 0)
                return sb_usage_error("keygen", "takes no positional arguments");
        if (!*name || strlen(name) > 40)
                return sb_usage_error("keygen", "--name must be 1 to 40 characters");

        int r = sb_keys_generate(dir, bits, name);
        if (r == -EEXIST)
                return log_error_errno(r, "secureboot keygen: keys already exist in %s; refusing to overwrite them. "
                                       "Use another --dir, or move the old keys away first (they may be enrolled).", dir);
        if (r < 0)
                return log_error_errno(r, "secureboot keygen: creating keys in %s failed: %m", dir);
        printf("created PK, KEK and db keys in %s\n", dir);
        return 0;
}

int sb_cmd_export(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "dir", required_argument, NULL, 'd' },
                { "format", required_argument, NULL, 'f' },
                { "output", required_argument, NULL, 'o' },
                { "timestamp", required_argument, NULL, 't' },
                {}
        };
        const char *dir = SB_KEYS_DEFAULT_DIR, *format = NULL, *outdir = NULL;
        time_t t = time(NULL);
        int c;
        while ((c = getopt_long(argc, argv, "hd:f:o:t:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(
                                "Usage: keystone secureboot export [--dir DIR] --format esl|auth -o OUTDIR [--timestamp UNIX]\n"
                                "\n"
                                "Writes OUTDIR/PK, KEK and db as EFI signature lists (.esl: each certificate\n"
                                "owned by the owner GUID) or as time-based authenticated variables (.auth:\n"
                                "PK signed by PK, KEK by PK, db by KEK), ready for efi-updatevar, KeyTool or\n"
                                "the firmware setup.\n"
                                "\n"
                                "  -d, --dir DIR         key directory (default " SB_KEYS_DEFAULT_DIR ")\n"
                                "  -f, --format FORMAT   esl or auth\n"
                                "  -o, --output OUTDIR   created if missing\n"
                                "  -t, --timestamp UNIX  time written into .auth files (default: now)\n");
                case 'd': dir = optarg; break;
                case 'f': format = optarg; break;
                case 'o': outdir = optarg; break;
                case 't': {
                        char *e;
                        long long v = strtoll(optarg, &e, 10);
                        if (*e || v < 0)
                                return sb_usage_error("export", "--timestamp takes seconds since 1970, not '%s'", optarg);
                        t = (time_t) v;
                        break;
                }
                default: return -KS_EUSAGE;
                }
        if (argc - optind != 0)
                return sb_usage_error("export", "takes no positional arguments");
        if (!format || (!streq(format, "esl") && !streq(format, "auth")))
                return sb_usage_error("export", "--format must be esl or auth");
        if (!outdir)
                return sb_usage_error("export", "-o OUTDIR is required");
        if (mkdir(outdir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(negative_errno(), "secureboot export: cannot create %s: %m", outdir);

        for (int k = 0; k < _SB_KEY_MAX; k++) {
                _cleanup_free_ uint8_t *esl = NULL, *auth = NULL;
                size_t esl_size, auth_size;
                int r = sb_var_esl(dir, k, &esl, &esl_size);
                if (r < 0)
                        return log_error_errno(r, "secureboot export: cannot read the %s certificate or owner GUID in %s: %m. "
                                               "Create keys with 'keystone secureboot keygen --dir %s'.", sb_key_name(k), dir, dir);
                if (streq(format, "auth")) {
                        r = sb_var_auth(dir, k, EFI_VARIABLE_AUTHVAR_ATTRS, t, esl, esl_size, &auth, &auth_size);
                        if (r < 0)
                                return log_error_errno(r, "secureboot export: cannot sign %s with the %s key from %s: %m",
                                                       sb_key_name(k), sb_key_name(sb_var_signer(k)), dir);
                }
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s/%s.%s", outdir, sb_key_name(k), format) < 0)
                        return log_error_errno(-ENOMEM, "secureboot export: out of memory");
                r = auth ? write_file_bytes_atomic(path, auth, auth_size, 0644)
                         : write_file_bytes_atomic(path, esl, esl_size, 0644);
                if (r < 0)
                        return log_error_errno(r, "secureboot export: cannot write %s: %m", path);
                printf("%s\n", path);
        }
        return 0;
}
