/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* EFI GUIDs, kept in their on-disk (mixed-endian) byte order. */
typedef struct EfiGuid {
        uint8_t b[16];
} EfiGuid;

#define EFI_GUID_STRING_MAX 37

/* "8be4df61-93ca-11d2-aa0d-00e098032b8c" ⇄ bytes. */
int efi_guid_from_string(const char *s, EfiGuid *ret);
void efi_guid_to_string(const EfiGuid *g, char buf[static EFI_GUID_STRING_MAX]);
bool efi_guid_equal(const EfiGuid *a, const EfiGuid *b);
/* A random (version 4) GUID from OpenSSL's RNG. */
int efi_guid_random(EfiGuid *ret);

extern const EfiGuid EFI_GLOBAL_VARIABLE_GUID;          /* PK, KEK, SecureBoot, SetupMode… */
extern const EfiGuid EFI_IMAGE_SECURITY_DATABASE_GUID;  /* db, dbx */
extern const EfiGuid EFI_CERT_X509_GUID;
extern const EfiGuid EFI_CERT_SHA256_GUID;
extern const EfiGuid EFI_CERT_TYPE_PKCS7_GUID;
