/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <sys/stat.h>

#include "secureboot/keys.h"
#include "secureboot/ossl-util.h"
#include "util/file-bytes.h"
#include "util/log.h"

static const char *const key_names[_SB_KEY_MAX] = { "PK", "KEK", "db" };
static const char *const key_titles[_SB_KEY_MAX] = { "Platform Key", "Key Exchange Key", "Signature Database Key" };

const char *sb_key_name(SbKeyKind k) {
        return k >= 0 && k < _SB_KEY_MAX ? key_names[k] : NULL;
}

int sb_key_from_name(const char *name) {
        for (int k = 0; k < _SB_KEY_MAX; k++)
                if (streq(name, key_names[k]))
                        return k;
        return -EINVAL;
}

int sb_key_paths(const char *dir, SbKeyKind k, char **ret_key, char **ret_cert) {
        const char *n = sb_key_name(k);
        if (!n)
                return -EINVAL;
        char *key = NULL, *cert = NULL;
        if (asprintf(&key, "%s/keys/%s/%s.key", dir, n, n) < 0)
                return -ENOMEM;
        if (asprintf(&cert, "%s/keys/%s/%s.pem", dir, n, n) < 0) {
                free(key);
                return -ENOMEM;
        }
        if (ret_key)
                *ret_key = key;
        else
                free(key);
        if (ret_cert)
                *ret_cert = cert;
        else
                free(cert);
        return 0;
}

static int mkdir_one(const char *path, mode_t mode) {
        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

static int add_ext(X509 *x, int nid, const char *value) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        if (!e)
                return ossl_debug_errors(-EINVAL, "X509V3_EXT_conf_nid");
        int ok = X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        return ok ? 0 : -ENOMEM;
}

static int make_cert(EVP_PKEY *key, SbKeyKind k, const char *name, X509 **ret) {
        _cleanup_(X509_freep) X509 *x = X509_new();
        if (!x)
                return -ENOMEM;
        uint8_t serial[16];
        if (RAND_bytes(serial, sizeof serial) != 1)
                return -EIO;
        serial[0] &= 0x7f;
        BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
        ASN1_INTEGER *sn = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
        BN_free(bn);
        if (!sn)
                return -ENOMEM;
        int ok = X509_set_serialNumber(x, sn);
        ASN1_INTEGER_free(sn);
        if (!ok || !X509_set_version(x, X509_VERSION_3))
                return -ENOMEM;

        _cleanup_free_ char *cn = NULL;
        if (asprintf(&cn, "%s %s", name, key_titles[k]) < 0)
                return -ENOMEM;
        X509_NAME *subj = X509_get_subject_name(x);
        if (!X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *) cn, -1, -1, 0) ||
            !X509_set_issuer_name(x, subj))
                return ossl_debug_errors(-EINVAL, "X509_NAME");
        /* 20 years: firmware does not check dates, other verifiers may. */
        if (!X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
            !X509_gmtime_adj(X509_getm_notAfter(x), 20L * 365 * 24 * 3600) ||
            !X509_set_pubkey(x, key))
                return -ENOMEM;
        int r = add_ext(x, NID_subject_key_identifier, "hash");
        if (r >= 0)
                r = add_ext(x, NID_basic_constraints, "critical,CA:FALSE");
        if (r >= 0)
                r = add_ext(x, NID_key_usage, "critical,digitalSignature");
        if (r >= 0 && k == SB_KEY_DB)
                r = add_ext(x, NID_ext_key_usage, "codeSigning");
        if (r < 0)
                return r;
        if (X509_sign(x, key, EVP_sha256()) <= 0)
                return ossl_debug_errors(-EIO, "X509_sign");
        *ret = TAKE_PTR(x);
        return 0;
}

static int write_private_key(const char *path, EVP_PKEY *key) {
        _cleanup_(BIO_free_allp) BIO *b = BIO_new(BIO_s_secmem());
        if (!b)
                return -ENOMEM;
        if (!PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL))
                return ossl_debug_errors(-EIO, "PEM_write_bio_PrivateKey");
        char *p;
        long n = BIO_get_mem_data(b, &p);
        int r = write_file_bytes_excl(path, p, (size_t) n, 0600);
        explicit_bzero(p, (size_t) n);
        return r;
}

static int write_cert(const char *path, X509 *x) {
        _cleanup_(BIO_free_allp) BIO *b = BIO_new(BIO_s_mem());
        if (!b || !PEM_write_bio_X509(b, x))
                return -ENOMEM;
        char *p;
        long n = BIO_get_mem_data(b, &p);
        return write_file_bytes_excl(path, p, (size_t) n, 0644);
}

int sb_keys_generate(const char *dir, int bits, const char *name) {
        if (bits != 2048 && bits != 3072 && bits != 4096)
                return -EINVAL;
        _cleanup_free_ char *guid_path = NULL;
        if (asprintf(&guid_path, "%s/GUID", dir) < 0)
                return -ENOMEM;

        /* Refuse before writing anything. */
        struct stat st;
        if (lstat(guid_path, &st) == 0)
                return -EEXIST;
        for (int k = 0; k < _SB_KEY_MAX; k++) {
                _cleanup_free_ char *kp = NULL, *cp = NULL;
                int r = sb_key_paths(dir, k, &kp, &cp);
                if (r < 0)
                        return r;
                if (lstat(kp, &st) == 0 || lstat(cp, &st) == 0)
                        return -EEXIST;
        }

        int r = mkdir_one(dir, 0700);
        if (r < 0)
                return r;
        _cleanup_free_ char *keys_dir = NULL;
        if (asprintf(&keys_dir, "%s/keys", dir) < 0)
                return -ENOMEM;
        r = mkdir_one(keys_dir, 0700);
        if (r < 0)
                return r;

        EfiGuid g;
        r = efi_guid_random(&g);
        if (r < 0)
                return r;
        /* No trailing newline: sbctl parses the file's bytes as they are. */
        char gs[EFI_GUID_STRING_MAX];
        efi_guid_to_string(&g, gs);
        r = write_file_bytes_excl(guid_path, gs, strlen(gs), 0644);
        if (r < 0)
                return r;

        for (int k = 0; k < _SB_KEY_MAX; k++) {
                _cleanup_free_ char *sub = NULL, *kp = NULL, *cp = NULL;
                if (asprintf(&sub, "%s/%s", keys_dir, key_names[k]) < 0)
                        return -ENOMEM;
                r = mkdir_one(sub, 0700);
                if (r < 0)
                        return r;
                r = sb_key_paths(dir, k, &kp, &cp);
                if (r < 0)
                        return r;
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = EVP_RSA_gen((unsigned) bits);
                if (!key)
                        return ossl_debug_errors(-EIO, "EVP_RSA_gen");
                _cleanup_(X509_freep) X509 *x = NULL;
                r = make_cert(key, k, name, &x);
                if (r < 0)
                        return r;
                r = write_private_key(kp, key);
                if (r < 0)
                        return r;
                r = write_cert(cp, x);
                if (r < 0)
                        return r;
        }
        return 0;
}

int sb_key_load(const char *dir, SbKeyKind k, EVP_PKEY **ret_key, X509 **ret_cert) {
        _cleanup_free_ char *kp = NULL, *cp = NULL;
        int r = sb_key_paths(dir, k, &kp, &cp);
        if (r < 0)
                return r;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *x = NULL;
        r = ossl_load_key(kp, &key);
        if (r < 0)
                return r;
        r = ossl_load_cert(cp, &x);
        if (r < 0)
                return r;
        if (X509_check_private_key(x, key) != 1)
                return ossl_debug_errors(-EKEYREJECTED, "X509_check_private_key");
        *ret_key = TAKE_PTR(key);
        *ret_cert = TAKE_PTR(x);
        return 0;
}

int sb_cert_load(const char *dir, SbKeyKind k, X509 **ret_cert) {
        _cleanup_free_ char *cp = NULL;
        int r = sb_key_paths(dir, k, NULL, &cp);
        if (r < 0)
                return r;
        return ossl_load_cert(cp, ret_cert);
}

int sb_owner_guid_load(const char *dir, EfiGuid *ret) {
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/GUID", dir) < 0)
                return -ENOMEM;
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r = read_file_bytes(p, 4096, &data, &size);
        if (r < 0)
                return r;
        char *s = (char *) data;
        s[strcspn(s, " \t\r\n")] = 0;
        return efi_guid_from_string(s, ret);
}
