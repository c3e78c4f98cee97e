/* SPDX-License-Identifier: MIT */
/* What the signing verbs of keystone secureboot share: the key they sign
 * with, the certificate they check against, and the tail that signs a file
 * and writes it. */
#include <sys/stat.h>

#include "cmd/secureboot.h"
#include "secureboot/ossl-util.h"
#include "util/file-bytes.h"

int sb_signing_key_load(const CmdArgs *a, const char *dir, bool key_options, EVP_PKEY **ret_key,
                        X509 **ret_cert) {
        const char *key_path = key_options ? cmd_opt(a, SB_OPT_KEY) : NULL;
        const char *cert_path = key_options ? cmd_opt(a, SB_OPT_CERT) : NULL;
        int r;
        if (key_path || cert_path) {
                if (!key_path || !cert_path)
                        return cmd_usage(a, "--key and --cert go together");
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
                _cleanup_(X509_freep) X509 *x = NULL;
                r = ossl_load_key(key_path, &key);
                if (r < 0)
                        return log_error_errno(r, "cannot load private key %s: %m "
                                               "(a PEM private key without passphrase is expected)", key_path);
                r = ossl_load_cert(cert_path, &x);
                if (r < 0)
                        return log_error_errno(r, "cannot load certificate %s: %m", cert_path);
                if (X509_check_private_key(x, key) != 1)
                        return log_error_errno(-EKEYREJECTED, "key %s does not belong to certificate %s", key_path,
                                               cert_path);
                *ret_key = TAKE_PTR(key);
                *ret_cert = TAKE_PTR(x);
                return 0;
        }
        r = sb_key_load(dir, SB_KEY_DB, ret_key, ret_cert);
        if (r < 0)
                return log_error_errno(r, "cannot load the db key from %s/keys/db/: %m. Create keys with 'keystone "
                                       "secureboot keygen --dir %s'%s.", dir, dir,
                                       key_options ? " or give --key/--cert" : "");
        return 0;
}

int sb_verify_open(const CmdArgs *a, SbLoad load, X509 **ret_cert, uint8_t **ret_data, size_t *ret_size) {
        const char *path = cmd_opt(a, SB_OPT_TRUST_CERT);
        if (!path)
                return cmd_usage(a, "--cert is required");
        _cleanup_(X509_freep) X509 *cert = NULL;
        int r = ossl_load_cert(path, &cert);
        if (r < 0)
                return log_error_errno(r, "cannot load certificate %s: %m", path);
        r = load(a->args[0], ret_data, ret_size);
        if (r < 0)
                return r;
        *ret_cert = TAKE_PTR(cert);
        return 0;
}

int sb_sign_file(const CmdArgs *a, const SbSigner *s) {
        const char *file = a->args[0], *dir = cmd_opt(a, SB_OPT_SIGNER_DIR) ?: SB_KEYS_DEFAULT_DIR;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        int r = sb_signing_key_load(a, dir, true, &key, &cert);
        if (r < 0)
                return r;
        _cleanup_free_ uint8_t *data = NULL, *signed_data = NULL;
        size_t size, signed_size;
        r = s->load(file, &data, &size);
        if (r < 0)
                return r;
        r = s->sign(data, size, key, cert, &signed_data, &signed_size);
        const char *why = r < 0 && s->explain ? s->explain(r) : NULL;
        if (why)
                return log_error_errno(r, "%s %s", file, why);
        if (r < 0)
                return log_error_errno(r, "signing %s failed: %m", file);
        struct stat st;
        mode_t mode = stat(file, &st) == 0 ? (st.st_mode & 07777) : 0644;
        const char *dest = cmd_opt(a, s->output) ?: file;
        r = write_file_bytes_atomic(dest, signed_data, signed_size, mode);
        if (r < 0)
                return log_error_errno(r, "cannot write %s: %m", dest);
        return 0;
}
