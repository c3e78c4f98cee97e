/* SPDX-License-Identifier: MIT */
#pragma once

#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "secureboot/guid.h"

/* Time-based authenticated variables (UEFI 2.x §8.2.2): the payload written
 * to PK, KEK or db is EFI_VARIABLE_AUTHENTICATION_2 followed by the data:
 *   EFI_TIME TimeStamp                       (16 bytes)
 *   WIN_CERTIFICATE_UEFI_GUID { dwLength, wRevision 0x0200,
 *       wCertificateType 0x0EF1, CertType EFI_CERT_TYPE_PKCS7_GUID,
 *       CertData: PKCS#7 SignedData, detached, no signed attributes }
 *   data
 * The signature covers VariableName (UTF-16LE, no NUL) || VendorGuid ||
 * Attributes (u32 LE) || TimeStamp || data. */

#define EFI_VARIABLE_NON_VOLATILE 0x01u
#define EFI_VARIABLE_BOOTSERVICE_ACCESS 0x02u
#define EFI_VARIABLE_RUNTIME_ACCESS 0x04u
#define EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS 0x20u
#define EFI_VARIABLE_APPEND_WRITE 0x40u
#define EFI_VARIABLE_AUTHVAR_ATTRS (EFI_VARIABLE_NON_VOLATILE | EFI_VARIABLE_BOOTSERVICE_ACCESS | \
                                    EFI_VARIABLE_RUNTIME_ACCESS | EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS)
#define WIN_CERT_TYPE_EFI_GUID 0x0EF1
#define EFI_TIME_SIZE 16

/* EFI_TIME for a Unix time (UTC; nanoseconds, zone and daylight 0). */
void efi_time_from_unix(time_t t, uint8_t ret[EFI_TIME_SIZE]);

/* The bytes the signature covers; malloc'd. */
int authvar_signed_payload(const char *name, const EfiGuid *vendor, uint32_t attrs,
                           const uint8_t timestamp[EFI_TIME_SIZE], const uint8_t *data, size_t size,
                           uint8_t **ret, size_t *ret_size);

/* Builds the whole payload (authentication header + data), signed by
 * KEY/CERT; malloc'd. */
int authvar_build(const char *name, const EfiGuid *vendor, uint32_t attrs, time_t timestamp,
                  const uint8_t *data, size_t size, EVP_PKEY *key, X509 *cert,
                  uint8_t **ret, size_t *ret_size);

typedef struct AuthVar {
        const uint8_t *timestamp;       /* EFI_TIME_SIZE bytes */
        const uint8_t *pkcs7;           /* CertData */
        size_t pkcs7_size;
        const uint8_t *data;            /* the variable data after the header */
        size_t data_size;
} AuthVar;

/* Splits a payload; -EBADMSG when malformed.  Pointers borrow buf. */
int authvar_parse(const uint8_t *buf, size_t size, AuthVar *ret);

/* The signature of a parsed payload as a PKCS7 object. */
int authvar_pkcs7(const AuthVar *av, PKCS7 **ret);

/* 0 when the payload for variable NAME/VENDOR with ATTRS carries a valid
 * signature by TRUSTED (or a certificate it issued); -EKEYREJECTED if not,
 * -EBADMSG if malformed. */
int authvar_verify(const uint8_t *buf, size_t size, const char *name, const EfiGuid *vendor, uint32_t attrs,
                   X509 *trusted);
