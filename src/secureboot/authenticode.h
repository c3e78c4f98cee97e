/* SPDX-License-Identifier: MIT */
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "secureboot/pe.h"

/* Authenticode for PE/COFF images: the image digest (PE/COFF rules: the
 * CheckSum field and the certificate-table directory entry are skipped,
 * sections hashed in file order, then any data after them up to the
 * certificate table), and PKCS#7 SignedData over SpcIndirectDataContent,
 * all with OpenSSL. */

/* Digest of the image with MD (EVP_sha256() for UEFI).  ret must hold
 * EVP_MAX_MD_SIZE bytes. */
int authenticode_digest(const PeImage *img, const EVP_MD *md, uint8_t *ret, unsigned *ret_len);

/* Signs: returns a new image (existing signatures removed, the image padded
 * to 8 bytes, one WIN_CERTIFICATE appended, directory entry and CheckSum
 * updated).  -EBADMSG for a malformed image or one whose certificate table is
 * not at the end of the file. */
int authenticode_sign(const uint8_t *data, size_t size, EVP_PKEY *key, X509 *cert,
                      uint8_t **ret_data, size_t *ret_size);

/* The same on a malloc'd buffer the caller owns, without a copy: *data may
 * be reallocated and *size changes.  On failure the buffer is still the
 * caller's to free, but its contents are unspecified. */
int authenticode_sign_in_place(uint8_t **data, size_t *size, EVP_PKEY *key, X509 *cert);

/* One signature found in the image's certificate table. */
typedef struct AuthenticodeSignature {
        char *signer_subject;           /* one line, OpenSSL's RFC 2253 form */
        char *signer_issuer;
        int digest_nid;                 /* digest algorithm of the SpcIndirectDataContent */
        uint8_t digest[EVP_MAX_MD_SIZE];/* the image digest the signature covers */
        unsigned digest_len;
        bool digest_matches;            /* equals the digest of the current bytes */
} AuthenticodeSignature;

void authenticode_signatures_free(AuthenticodeSignature *s, size_t n);

/* Lists the signatures (entries of type PKCS#7 SignedData; an entry that
 * cannot be parsed gives -EBADMSG). */
int authenticode_list(const PeImage *img, AuthenticodeSignature **ret, size_t *ret_n);

/* 0 when at least one signature is valid over the current bytes and its
 * signer chains to TRUSTED (the signer itself or an issuing CA; validity
 * dates are not checked, as firmware does not).  -ENOKEY: not signed;
 * -EBADMSG: malformed; -EKEYREJECTED: signed, but no signature is valid for
 * this certificate and these bytes. */
int authenticode_verify(const PeImage *img, X509 *trusted);

/* Object identifiers Authenticode uses (NIDs created on first use). */
int spc_nid_indirect_data(void);
