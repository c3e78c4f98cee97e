/* SPDX-License-Identifier: MIT */
/* keystone secureboot sign-module / verify-module */
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "cmd/secureboot.h"
#include "secureboot/keys.h"
#include "secureboot/modsign.h"
#include "secureboot/ossl-util.h"
#include "util/file-bytes.h"

#define MODULE_MAX (512u << 20)

static int load_module(const char *verb, const char *path, uint8_t **ret, size_t *ret_size) {
        size_t l = strlen(path);
        if ((l > 3 && streq(path + l - 3, ".xz")) || (l > 4 && streq(path + l - 4, ".zst")) ||
            (l > 3 && streq(path + l - 3, ".gz")))
                return log_error_errno(-EMEDIUMTYPE, "secureboot %s: %s is compressed; the signature covers the "
                                       "uncompressed module: decompress it first (xz -d / zstd -d / gunzip)",
                                       verb, path);
        int r = read_file_bytes(path, MODULE_MAX, ret, ret_size);
        if (r < 0)
                return log_error_errno(r, "secureboot %s: cannot read %s: %m", verb, path);
        if (*ret_size < 4 || memcmp(*ret, "\177ELF", 4) != 0)
                return log_error_errno(-EMEDIUMTYPE, "secureboot %s: %s is not an ELF kernel module", verb, path);
        return 0;
}

int sb_cmd_sign_module(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "dir", required_argument, NULL, 'd' },
                { "key", required_argument, NULL, 'k' },
                { "cert", required_argument, NULL, 'c' },
                { "output", required_argument, NULL, 'o' },
                {}
        };
        const char *dir = SB_KEYS_DEFAULT_DIR, *key_path = NULL, *cert_path = NULL, *out = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "hd:k:c:o:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(
                                "Usage: keystone secureboot sign-module [--dir DIR | --key KEY --cert CERT] MODULE.ko [-o OUT]\n"
                                "\n"
                                "Signs a Linux kernel module in the format the kernel checks (PKCS#7,\n"
                                "SHA-256, appended with the module_signature trailer), replacing an existing\n"
                                "signature.  With Secure Boot on, a locked-down kernel loads modules signed\n"
                                "by a certificate in the UEFI db, so sign with the owner's db key.\n"
                                "Without -o, MODULE.ko is replaced atomically.\n"
                                "\n"
                                "  -d, --dir DIR     key directory (sbctl layout): keys/db/db.{key,pem}\n"
                                "                    (default " SB_KEYS_DEFAULT_DIR ")\n"
                                "  -k, --key KEY     PEM private key instead of the db key\n"
                                "  -c, --cert CERT   its certificate\n"
                                "  -o, --output OUT  write the signed module to OUT\n");
                case 'd': dir = optarg; break;
                case 'k': key_path = optarg; break;
                case 'c': cert_path = optarg; break;
                case 'o': out = optarg; break;
                default: return -KS_EUSAGE;
                }
        if (argc - optind != 1)
                return sb_usage_error("sign-module", "expects exactly one MODULE.ko");
        const char *file = argv[optind];
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        int r = sb_load_signing_key("sign-module", dir, key_path, cert_path, &key, &cert);
        if (r < 0)
                return r;
        _cleanup_free_ uint8_t *data = NULL, *signed_data = NULL;
        size_t size, signed_size;
        r = load_module("sign-module", file, &data, &size);
        if (r < 0)
                return r;
        r = modsign_sign(data, size, key, cert, &signed_data, &signed_size);
        if (r == -EBADMSG)
                return log_error_errno(r, "secureboot sign-module: %s ends with a malformed signature trailer; "
                                       "rebuild the module", file);
        if (r < 0)
                return log_error_errno(r, "secureboot sign-module: signing %s failed: %m", file);
        struct stat st;
        mode_t mode = stat(file, &st) == 0 ? (st.st_mode & 07777) : 0644;
        const char *dest = out ?: file;
        r = write_file_bytes_atomic(dest, signed_data, signed_size, mode);
        if (r < 0)
                return log_error_errno(r, "secureboot sign-module: cannot write %s: %m", dest);
        return 0;
}

int sb_cmd_verify_module(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "cert", required_argument, NULL, 'c' },
                {}
        };
        const char *cert_path = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help("Usage: keystone secureboot verify-module --cert CERT MODULE.ko\n"
                                        "\n"
                                        "Exits 0 only when MODULE.ko carries a valid kernel module signature by\n"
                                        "CERT over its current bytes.\n");
                case 'c': cert_path = optarg; break;
                default: return -KS_EUSAGE;
                }
        if (!cert_path || argc - optind != 1)
                return sb_usage_error("verify-module", "expects --cert CERT and one MODULE.ko");
        const char *file = argv[optind];
        _cleanup_(X509_freep) X509 *cert = NULL;
        int r = ossl_load_cert(cert_path, &cert);
        if (r < 0)
                return log_error_errno(r, "secureboot verify-module: cannot load certificate %s: %m", cert_path);
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        r = load_module("verify-module", file, &data, &size);
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
