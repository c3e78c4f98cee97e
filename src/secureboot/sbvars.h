/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "secureboot/guid.h"
#include "secureboot/keys.h"

/* The Secure Boot variables built from the owner's keys: each key's
 * certificate as a signature list owned by the owner GUID, and the
 * authenticated payloads that set them: PK signed by PK, KEK by PK, db by
 * KEK. */

const EfiGuid *sb_var_vendor(SbKeyKind k);      /* global for PK/KEK, image security database for db */
SbKeyKind sb_var_signer(SbKeyKind k);           /* whose key signs an update of k */

/* The ESL of the certificate of key K in DIR. */
int sb_var_esl(const char *dir, SbKeyKind k, uint8_t **ret, size_t *ret_size);

/* An authenticated payload setting (or, with EFI_VARIABLE_APPEND_WRITE in
 * ATTRS, appending to) variable K with DATA, signed with the signer's key
 * from DIR. */
int sb_var_auth(const char *dir, SbKeyKind k, uint32_t attrs, time_t t, const uint8_t *data, size_t size,
                uint8_t **ret, size_t *ret_size);
