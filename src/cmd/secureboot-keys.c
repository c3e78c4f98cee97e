/* SPDX-License-Identifier: MIT */
/* keystone secureboot keygen | export */
#include <stdint.h>
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

int sb_cmd_keygen(const CmdArgs *a) {
        const char *dir = cmd_opt(a, SB_OPT_DIR) ?: SB_KEYS_DEFAULT_DIR, *name = cmd_opt(a, SB_OPT_NAME) ?: "Keystone";
        const char *size = cmd_opt(a, SB_OPT_KEY_SIZE) ?: "4096";
        if (!streq(size, "2048") && !streq(size, "3072") && !streq(size, "4096"))
                return cmd_usage(a, "--key-size must be 2048, 3072 or 4096, not '%s'", size);
        if (!*name || strlen(name) > 40)
                return cmd_usage(a, "--name must be 1 to 40 characters");

        int r = sb_keys_generate(dir, atoi(size), name);
        if (r == -EEXIST)
                return log_error_errno(r, "keys already exist in %s; refusing to overwrite them. Use another --dir, "
                                       "or move the old keys away first (they may be enrolled).", dir);
        if (r < 0)
                return log_error_errno(r, "creating keys in %s failed: %m", dir);
        printf("created PK, KEK and db keys in %s\n", dir);
        return 0;
}

/* EFI_TIME holds years up to 9999 */
#define TIMESTAMP_MAX UINT64_C(253402300799)

int sb_cmd_export(const CmdArgs *a) {
        const char *dir = cmd_opt(a, SB_OPT_DIR) ?: SB_KEYS_DEFAULT_DIR, *format = cmd_opt(a, SB_OPT_FORMAT);
        const char *outdir = cmd_opt(a, SB_OPT_OUTDIR);
        uint64_t t = (uint64_t) time(NULL);
        int r = cmd_opt_uint(a, SB_OPT_TIMESTAMP, TIMESTAMP_MAX, &t);
        if (r < 0)
                return r;
        if (!format || (!streq(format, "esl") && !streq(format, "auth")))
                return cmd_usage(a, "--format must be esl or auth");
        if (!outdir)
                return cmd_usage(a, "-o OUTDIR is required");
        if (mkdir(outdir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(negative_errno(), "cannot create %s: %m", outdir);

        for (int k = 0; k < _SB_KEY_MAX; k++) {
                _cleanup_free_ uint8_t *esl = NULL, *auth = NULL;
                size_t esl_size, auth_size;
                r = sb_var_esl(dir, k, &esl, &esl_size);
                if (r < 0)
                        return log_error_errno(r, "cannot read the %s certificate or owner GUID in %s: %m. Create keys "
                                               "with 'keystone secureboot keygen --dir %s'.", sb_key_name(k), dir, dir);
                if (streq(format, "auth")) {
                        r = sb_var_auth(dir, k, EFI_VARIABLE_AUTHVAR_ATTRS, (time_t) t, esl, esl_size, &auth,
                                        &auth_size);
                        if (r < 0)
                                return log_error_errno(r, "cannot sign %s with the %s key from %s: %m",
                                                       sb_key_name(k), sb_key_name(sb_var_signer(k)), dir);
                }
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s/%s.%s", outdir, sb_key_name(k), format) < 0)
                        return log_error_errno(-ENOMEM, "out of memory");
                r = auth ? write_file_bytes_atomic(path, auth, auth_size, 0644)
                         : write_file_bytes_atomic(path, esl, esl_size, 0644);
                if (r < 0)
                        return log_error_errno(r, "cannot write %s: %m", path);
                printf("%s\n", path);
        }
        return 0;
}
