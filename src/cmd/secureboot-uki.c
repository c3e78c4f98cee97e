/* SPDX-License-Identifier: MIT */
/* keystone secureboot uki */
#include <stdio.h>

#include "cmd/cmd.h"
#include "cmd/secureboot.h"
#include "secureboot/keys.h"
#include "secureboot/ossl-util.h"
#include "secureboot/uki.h"
#include "util/file-bytes.h"

/* --cmdline TEXT, or @FILE: the first line of FILE (in *ret_file). */
static int cmdline_arg(const char *arg, uint8_t **ret_file, const char **ret) {
        if (!arg || arg[0] != '@') {
                *ret = arg;
                return 0;
        }
        size_t sz;
        int r = read_file_bytes(arg + 1, 64 * 1024, ret_file, &sz);
        if (r < 0)
                return log_error_errno(r, "cannot read command line file %s: %m", arg + 1);
        /* one line: drop the trailing newline */
        while (sz > 0 && ((*ret_file)[sz - 1] == '\n' || (*ret_file)[sz - 1] == '\r'))
                (*ret_file)[--sz] = 0;
        *ret = (const char *) *ret_file;
        return 0;
}

int sb_cmd_uki(const CmdArgs *a) {
        UkiInputs in = {
                .stub = cmd_opt(a, SB_OPT_STUB),
                .linux_path = cmd_opt(a, SB_OPT_LINUX),
                .initrd_path = cmd_opt(a, SB_OPT_INITRD),
                .os_release_path = cmd_opt(a, SB_OPT_OS_RELEASE),
                .uname = cmd_opt(a, SB_OPT_UNAME),
        };
        const char *sign_dir = cmd_opt(a, SB_OPT_UKI_SIGN_DIR), *out = cmd_opt(a, SB_OPT_UKI_OUT);
        if (!in.linux_path)
                return cmd_usage(a, "--linux is required");
        if (!out)
                return cmd_usage(a, "-o OUT is required");
        _cleanup_free_ uint8_t *cmdline_file = NULL;
        int r = cmdline_arg(cmd_opt(a, SB_OPT_CMDLINE), &cmdline_file, &in.cmdline);
        if (r < 0)
                return r;

        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        if (sign_dir) {
                r = sb_signing_key_load(a, sign_dir, false, &key, &cert);
                if (r < 0)
                        return r;
        }
        _cleanup_free_ char *error = NULL;
        r = uki_assemble_signed(&in, key, cert, out, &error);
        if (r == -EBADMSG)
                return log_error_errno(r, "%s. Give the stub from systemd-boot-efi: " UKI_DEFAULT_STUB ".",
                                       error);
        if (r < 0)
                return log_error_errno(r, "%s", error ? error : strerror(-r));
        return 0;
}
