/* SPDX-License-Identifier: MIT */
/* keystone secureboot sign-module / verify-module */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/secureboot.h"
#include "secureboot/keys.h"
#include "secureboot/modsign.h"
#include "secureboot/ossl-util.h"
#include "util/file-bytes.h"

#define MODULE_MAX (512u << 20)

static int load_module(const char *path, uint8_t **ret, size_t *ret_size) {
        size_t l = strlen(path);
        if ((l > 3 && streq(path + l - 3, ".xz")) || (l > 4 && streq(path + l - 4, ".zst")) ||
            (l > 3 && streq(path + l - 3, ".gz")))
                return log_error_errno(-EMEDIUMTYPE, "%s is compressed; the signature covers the uncompressed "
                                       "module: decompress it first (xz -d / zstd -d / gunzip)", path);
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r = read_file_bytes(path, MODULE_MAX, &data, &size);
        if (r < 0)
                return log_error_errno(r, "cannot read %s: %m", path);
        if (size < 4 || memcmp(data, "\177ELF", 4) != 0)
                return log_error_errno(-EMEDIUMTYPE, "%s is not an ELF kernel module", path);
        *ret = TAKE_PTR(data);
        *ret_size = size;
        return 0;
}

static const char *explain_sign_error(int error) {
        return error == -EBADMSG ? "ends with a malformed signature trailer; rebuild the module" : NULL;
}

int sb_cmd_sign_module(const CmdArgs *a) {
        static const SbSigner signer = { load_module, modsign_sign, explain_sign_error, SB_OPT_MODULE_OUT };
        return sb_sign_file(a, &signer);
}

int sb_cmd_verify_module(const CmdArgs *a) {
        const char *file = a->args[0], *cert_path = cmd_opt(a, SB_OPT_TRUST_CERT);
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r = sb_verify_open(a, load_module, &cert, &data, &size);
        if (r < 0)
                return r;
        r = modsign_verify(data, size, cert);
        switch (r) {
        case 0:
                printf("%s: signature OK (signed by %s)\n", file, cert_path);
                return 0;
        case -ENODATA:
                return log_error_errno(r, "%s is not signed; sign it with 'keystone secureboot sign-module'", file);
        case -EBADMSG:
                return log_error_errno(r, "%s has a malformed signature; re-sign it", file);
        default:
                return log_error_errno(r, "%s: the signature does not verify with %s (another signer, or the module "
                                       "changed after signing); the kernel would refuse it under Secure Boot",
                                       file, cert_path);
        }
}
