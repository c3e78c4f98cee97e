/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "secureboot/ossl-util.h"
#include "util/file-bytes.h"
#include "util/log.h"

int ossl_nid_from_oid(const char *oid, const char *sn, const char *ln) {
        int nid = OBJ_txt2nid(oid);
        if (nid != NID_undef)
                return nid;
        nid = OBJ_create(oid, sn, ln);
        return nid;
}

char *ossl_name_oneline(const X509_NAME *name) {
        _cleanup_(BIO_free_allp) BIO *b = BIO_new(BIO_s_mem());
        if (!b)
                return NULL;
        if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
                return NULL;
        char *p;
        long n = BIO_get_mem_data(b, &p);
        char *s = malloc((size_t) n + 1);
        if (!s)
                return NULL;
        memcpy(s, p, (size_t) n);
        s[n] = 0;
        return s;
}

int ossl_debug_errors(int err, const char *what) {
        unsigned long e;
        while ((e = ERR_get_error()) != 0) {
                char buf[256];
                ERR_error_string_n(e, buf, sizeof buf);
                log_debug("%s: %s", what, buf);
        }
        return err;
}

int ossl_cert_from_der(const uint8_t *der, size_t size, X509 **ret) {
        const unsigned char *p = der;
        X509 *x = d2i_X509(NULL, &p, (long) size);
        if (!x)
                return ossl_debug_errors(-EBADMSG, "d2i_X509");
        *ret = x;
        return 0;
}

int ossl_load_cert(const char *path, X509 **ret) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r = read_file_bytes(path, 1 << 20, &data, &size);
        if (r < 0)
                return r;
        _cleanup_(BIO_free_allp) BIO *b = BIO_new_mem_buf(data, (int) size);
        if (!b)
                return -ENOMEM;
        X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!x) {
                ERR_clear_error();
                return ossl_cert_from_der(data, size, ret);
        }
        *ret = x;
        return 0;
}

/* Encrypted keys are refused rather than prompting on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u) {
        return -1;
}

int ossl_load_key(const char *path, EVP_PKEY **ret) {
        uint8_t *data = NULL;
        size_t size;
        int r = read_file_bytes(path, 1 << 20, &data, &size);
        if (r < 0)
                return r;
        BIO *b = BIO_new_mem_buf(data, (int) size);
        EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
        BIO_free(b);
        erase_and_free(data, size);
        if (!k)
                return ossl_debug_errors(-EBADMSG, "PEM_read_bio_PrivateKey");
        *ret = k;
        return 0;
}
