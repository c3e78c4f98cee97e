/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "secureboot/authvar.h"
#include "secureboot/ossl-util.h"
#include "secureboot/pe.h"

void efi_time_from_unix(time_t t, uint8_t ret[EFI_TIME_SIZE]) {
        struct tm tm;
        memset(ret, 0, EFI_TIME_SIZE);
        if (!gmtime_r(&t, &tm))
                return;
        put_le16(ret, (uint16_t) (tm.tm_year + 1900));
        ret[2] = (uint8_t) (tm.tm_mon + 1);
        ret[3] = (uint8_t) tm.tm_mday;
        ret[4] = (uint8_t) tm.tm_hour;
        ret[5] = (uint8_t) tm.tm_min;
        ret[6] = (uint8_t) tm.tm_sec;
}

int authvar_signed_payload(const char *name, const EfiGuid *vendor, uint32_t attrs,
                           const uint8_t timestamp[EFI_TIME_SIZE], const uint8_t *data, size_t size,
                           uint8_t **ret, size_t *ret_size) {
        size_t nl = strlen(name);
        for (size_t i = 0; i < nl; i++)
                if ((unsigned char) name[i] >= 0x80)
                        return -EINVAL; /* variable names here are ASCII */
        size_t total = 2 * nl + 16 + 4 + EFI_TIME_SIZE + size;
        uint8_t *b = malloc(total ? total : 1), *p = b;
        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < nl; i++) {
                *p++ = (uint8_t) name[i];
                *p++ = 0;
        }
        memcpy(p, vendor->b, 16);
        p += 16;
        put_le32(p, attrs);
        p += 4;
        memcpy(p, timestamp, EFI_TIME_SIZE);
        p += EFI_TIME_SIZE;
        if (size)
                memcpy(p, data, size);
        *ret = b;
        *ret_size = total;
        return 0;
}

int authvar_build(const char *name, const EfiGuid *vendor, uint32_t attrs, time_t timestamp,
                  const uint8_t *data, size_t size, EVP_PKEY *key, X509 *cert,
                  uint8_t **ret, size_t *ret_size) {
        uint8_t ts[EFI_TIME_SIZE];
        efi_time_from_unix(timestamp, ts);
        _cleanup_free_ uint8_t *payload = NULL;
        size_t payload_size;
        int r = authvar_signed_payload(name, vendor, attrs, ts, data, size, &payload, &payload_size);
        if (r < 0)
                return r;

        const int flags = PKCS7_BINARY | PKCS7_DETACHED | PKCS7_NOATTR | PKCS7_PARTIAL;
        _cleanup_(BIO_free_allp) BIO *in = BIO_new_mem_buf(payload, (int) payload_size);
        _cleanup_(PKCS7_freep) PKCS7 *p7 = PKCS7_sign(NULL, NULL, NULL, NULL, flags);
        if (!in || !p7)
                return -ENOMEM;
        if (!PKCS7_sign_add_signer(p7, cert, key, EVP_sha256(), flags))
                return ossl_debug_errors(-EINVAL, "PKCS7_sign_add_signer");
        if (!PKCS7_final(p7, in, flags))
                return ossl_debug_errors(-EIO, "PKCS7_final");
        /* CertData is the SignedData itself, not wrapped in a ContentInfo
         * (as the UEFI spec and efitools' sign-efi-sig-list have it). */
        _cleanup_openssl_free_ unsigned char *der = NULL;
        int der_len = i2d_PKCS7_SIGNED(p7->d.sign, &der);
        if (der_len <= 0)
                return ossl_debug_errors(-EIO, "i2d_PKCS7_SIGNED");

        size_t cert_len = 24 + (size_t) der_len, total = EFI_TIME_SIZE + cert_len + size;
        uint8_t *b = malloc(total);
        if (!b)
                return -ENOMEM;
        memcpy(b, ts, EFI_TIME_SIZE);
        put_le32(b + 16, (uint32_t) cert_len);
        put_le16(b + 20, 0x0200);
        put_le16(b + 22, WIN_CERT_TYPE_EFI_GUID);
        memcpy(b + 24, EFI_CERT_TYPE_PKCS7_GUID.b, 16);
        memcpy(b + 40, der, (size_t) der_len);
        if (size)
                memcpy(b + 40 + der_len, data, size);
        *ret = b;
        *ret_size = total;
        return 0;
}

int authvar_parse(const uint8_t *buf, size_t size, AuthVar *ret) {
        if (size < EFI_TIME_SIZE + 24)
                return -EBADMSG;
        uint32_t len = le32(buf + 16);
        if (len < 24 || len > size - EFI_TIME_SIZE)
                return -EBADMSG;
        if (le16(buf + 20) != 0x0200 || le16(buf + 22) != WIN_CERT_TYPE_EFI_GUID)
                return -EBADMSG;
        if (memcmp(buf + 24, EFI_CERT_TYPE_PKCS7_GUID.b, 16) != 0)
                return -EBADMSG;
        *ret = (AuthVar) {
                .timestamp = buf,
                .pkcs7 = buf + 40,
                .pkcs7_size = len - 24,
                .data = buf + EFI_TIME_SIZE + len,
                .data_size = size - EFI_TIME_SIZE - len,
        };
        return 0;
}

int authvar_pkcs7(const AuthVar *av, PKCS7 **ret) {
        /* A bare SignedData (the spec's form); some tools wrap it in a ContentInfo. */
        const unsigned char *p = av->pkcs7;
        PKCS7_SIGNED *sd = d2i_PKCS7_SIGNED(NULL, &p, (long) av->pkcs7_size);
        if (sd) {
                PKCS7 *p7 = PKCS7_new();
                if (!p7) {
                        PKCS7_SIGNED_free(sd);
                        return -ENOMEM;
                }
                p7->type = OBJ_nid2obj(NID_pkcs7_signed);
                p7->d.sign = sd;
                *ret = p7;
                return 0;
        }
        ERR_clear_error();
        p = av->pkcs7;
        PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long) av->pkcs7_size);
        if (!p7 || !PKCS7_type_is_signed(p7)) {
                PKCS7_free(p7);
                return ossl_debug_errors(-EBADMSG, "d2i_PKCS7");
        }
        *ret = p7;
        return 0;
}

int authvar_verify(const uint8_t *buf, size_t size, const char *name, const EfiGuid *vendor, uint32_t attrs,
                   X509 *trusted) {
        AuthVar av;
        int r = authvar_parse(buf, size, &av);
        if (r < 0)
                return r;
        _cleanup_(PKCS7_freep) PKCS7 *p7 = NULL;
        r = authvar_pkcs7(&av, &p7);
        if (r < 0)
                return r;
        _cleanup_free_ uint8_t *payload = NULL;
        size_t payload_size;
        r = authvar_signed_payload(name, vendor, attrs, av.timestamp, av.data, av.data_size, &payload, &payload_size);
        if (r < 0)
                return r;
        _cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();
        _cleanup_(BIO_free_allp) BIO *in = BIO_new_mem_buf(payload, (int) payload_size);
        if (!store || !in || !X509_STORE_add_cert(store, trusted))
                return -ENOMEM;
        X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
        X509_STORE_set_purpose(store, X509_PURPOSE_ANY);
        if (PKCS7_verify(p7, NULL, store, in, NULL, PKCS7_BINARY) != 1)
                return ossl_debug_errors(-EKEYREJECTED, "PKCS7_verify");
        return 0;
}
