/* SPDX-License-Identifier: MIT */
#pragma once

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "secureboot/guid.h"

/* EFI signature lists (UEFI 2.x §32.4.1): the contents of PK, KEK, db, dbx.
 *   EFI_SIGNATURE_LIST { SignatureType GUID; ListSize, HeaderSize,
 *                        SignatureSize u32; header[HeaderSize];
 *                        EFI_SIGNATURE_DATA { Owner GUID; data } … } … */

#define ESL_HEADER_SIZE 28

/* One list holding one X.509 certificate owned by OWNER; malloc'd. */
int esl_from_x509(X509 *cert, const EfiGuid *owner, uint8_t **ret, size_t *ret_size);

typedef struct EslEntry {
        EfiGuid type;                   /* EFI_CERT_X509_GUID, EFI_CERT_SHA256_GUID… */
        EfiGuid owner;
        const uint8_t *data;            /* into the parsed buffer */
        size_t size;
} EslEntry;

/* Walks every signature of every list; stops at the first callback returning
 * non-zero and returns it.  -EBADMSG when the lists are malformed (sizes
 * inconsistent, past the end, signatures not dividing the list). */
int esl_foreach(const uint8_t *data, size_t size, int (*cb)(const EslEntry *e, void *userdata), void *userdata);

/* Number of signatures, or -EBADMSG. */
int esl_count(const uint8_t *data, size_t size);
