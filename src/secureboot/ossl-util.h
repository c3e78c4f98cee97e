/* SPDX-License-Identifier: MIT */
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "util/macro.h"

/* Cleanup helpers and small conveniences around OpenSSL objects. */

DEFINE_POINTER_CLEANUP(EVP_MD_CTX, EVP_MD_CTX_free)
DEFINE_POINTER_CLEANUP(EVP_PKEY, EVP_PKEY_free)
DEFINE_POINTER_CLEANUP(EVP_PKEY_CTX, EVP_PKEY_CTX_free)
DEFINE_POINTER_CLEANUP(X509, X509_free)
DEFINE_POINTER_CLEANUP(X509_NAME, X509_NAME_free)
DEFINE_POINTER_CLEANUP(X509_STORE, X509_STORE_free)
DEFINE_POINTER_CLEANUP(BIO, BIO_free_all)
DEFINE_POINTER_CLEANUP(PKCS7, PKCS7_free)
DEFINE_POINTER_CLEANUP(ASN1_OBJECT, ASN1_OBJECT_free)
DEFINE_POINTER_CLEANUP(ASN1_TYPE, ASN1_TYPE_free)
DEFINE_POINTER_CLEANUP(ASN1_STRING, ASN1_STRING_free)
static inline void openssl_freep(void *p) { OPENSSL_free(*(void **) p); }
#define _cleanup_openssl_free_ _cleanup_(openssl_freep)
static inline void sk_X509_pop_freep(STACK_OF(X509) **p) { if (*p) sk_X509_pop_free(*p, X509_free); }

/* The NID of a dotted OID, registering it with OpenSSL on first use. */
int ossl_nid_from_oid(const char *oid, const char *sn, const char *ln);

/* A one-line name ("CN=…,O=…"), malloc'd; NULL on allocation failure. */
char *ossl_name_oneline(const X509_NAME *name);

/* Loads one PEM (or DER) X.509 certificate / private key from a file. */
int ossl_load_cert(const char *path, X509 **ret);
int ossl_load_key(const char *path, EVP_PKEY **ret);

/* Certificate from DER bytes. */
int ossl_cert_from_der(const uint8_t *der, size_t size, X509 **ret);

/* Logs (at debug level) and clears OpenSSL's error queue; returns err. */
int ossl_debug_errors(int err, const char *what);
