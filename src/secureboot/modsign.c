/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include <openssl/cms.h>

#include "secureboot/modsign.h"
#include "secureboot/ossl-util.h"

DEFINE_POINTER_CLEANUP(CMS_ContentInfo, CMS_ContentInfo_free)

#define TRAILER_SIZE 12 /* struct module_signature */
#define PKEY_ID_PKCS7 2

int modsign_unsigned_size(const uint8_t *data, size_t size, size_t *ret_size, int *ret_signed) {
        size_t ml = strlen(MODSIGN_MAGIC);
        if (size < ml || memcmp(data + size - ml, MODSIGN_MAGIC, ml) != 0) {
                *ret_size = size;
                *ret_signed = 0;
                return 0;
        }
        if (size < ml + TRAILER_SIZE)
                return -EBADMSG;
        const uint8_t *t = data + size - ml - TRAILER_SIZE;
        /* algo, hash, id_type, signer_len, key_id_len, pad[3], sig_len (be32) */
        uint32_t sig_len = (uint32_t) t[8] << 24 | t[9] << 16 | t[10] << 8 | t[11];
        if (t[2] != PKEY_ID_PKCS7 || t[0] || t[1] || t[3] || t[4])
                return -EBADMSG;
        if (sig_len == 0 || sig_len > size - ml - TRAILER_SIZE)
                return -EBADMSG;
        *ret_size = size - ml - TRAILER_SIZE - sig_len;
        *ret_signed = 1;
        return 0;
}

int modsign_sign(const uint8_t *data, size_t size, EVP_PKEY *key, X509 *cert, uint8_t **ret, size_t *ret_size) {
        size_t body;
        int had;
        int r = modsign_unsigned_size(data, size, &body, &had);
        if (r < 0)
                return r;
        _cleanup_(BIO_free_allp) BIO *in = BIO_new_mem_buf(data, (int) body);
        if (!in)
                return -ENOMEM;
        unsigned flags = CMS_NOCERTS | CMS_PARTIAL | CMS_BINARY | CMS_DETACHED | CMS_STREAM;
        _cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
        if (!cms)
                return -ENOMEM;
        if (!CMS_add1_signer(cms, cert, key, EVP_sha256(),
                             CMS_NOCERTS | CMS_BINARY | CMS_NOSMIMECAP | CMS_NOATTR))
                return -EINVAL;
        if (CMS_final(cms, in, NULL, CMS_NOCERTS | CMS_BINARY | CMS_DETACHED) != 1)
                return -EINVAL;
        _cleanup_(BIO_free_allp) BIO *out = BIO_new(BIO_s_mem());
        if (!out || i2d_CMS_bio(out, cms) != 1)
                return -ENOMEM;
        char *sig;
        long sig_len = BIO_get_mem_data(out, &sig);
        if (sig_len <= 0 || (unsigned long) sig_len > UINT32_MAX)
                return -EINVAL;
        size_t ml = strlen(MODSIGN_MAGIC), n = body + sig_len + TRAILER_SIZE + ml;
        uint8_t *buf = malloc(n);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, data, body);
        memcpy(buf + body, sig, sig_len);
        uint8_t *t = buf + body + sig_len;
        memset(t, 0, TRAILER_SIZE);
        t[2] = PKEY_ID_PKCS7;
        t[8] = (uint8_t) (sig_len >> 24);
        t[9] = (uint8_t) (sig_len >> 16);
        t[10] = (uint8_t) (sig_len >> 8);
        t[11] = (uint8_t) sig_len;
        memcpy(t + TRAILER_SIZE, MODSIGN_MAGIC, ml);
        *ret = buf;
        *ret_size = n;
        return 0;
}

int modsign_verify(const uint8_t *data, size_t size, X509 *cert) {
        size_t body;
        int had;
        int r = modsign_unsigned_size(data, size, &body, &had);
        if (r < 0)
                return r;
        if (!had)
                return -ENODATA;
        size_t sig_len = size - strlen(MODSIGN_MAGIC) - TRAILER_SIZE - body;
        const uint8_t *p = data + body;
        _cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long) sig_len);
        if (!cms || p != data + body + sig_len)
                return -EBADMSG;
        _cleanup_(BIO_free_allp) BIO *content = BIO_new_mem_buf(data, (int) body);
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *certs = sk_X509_new_null();
        if (!content || !certs || !X509_up_ref(cert))
                return -ENOMEM;
        if (!sk_X509_push(certs, cert)) {
                X509_free(cert);
                return -ENOMEM;
        }
        /* the signer must be this certificate; its chain is the firmware's business */
        if (CMS_verify(cms, certs, NULL, content, NULL,
                       CMS_NOINTERN | CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1)
                return -EKEYREJECTED;
        return 0;
}
