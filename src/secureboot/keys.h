/* SPDX-License-Identifier: MIT */
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "secureboot/guid.h"

/* The owner's Secure Boot keys, in sbctl's layout so that existing
 * sbctl/Lanzaboote bundles work as they are:
 *   DIR/GUID                       owner GUID (text, no newline, as sbctl writes it)
 *   DIR/keys/PK/PK.key, PK.pem     platform key
 *   DIR/keys/KEK/KEK.key, KEK.pem  key exchange key
 *   DIR/keys/db/db.key, db.pem     signature database key (signs UKIs) */

typedef enum SbKeyKind {
        SB_KEY_PK,
        SB_KEY_KEK,
        SB_KEY_DB,
        _SB_KEY_MAX,
} SbKeyKind;

#define SB_KEYS_DEFAULT_DIR "/var/lib/keystone/secureboot"

const char *sb_key_name(SbKeyKind k);           /* "PK", "KEK", "db" */
int sb_key_from_name(const char *name);         /* SbKeyKind or -EINVAL */

/* malloc'd paths of a key pair in DIR. */
int sb_key_paths(const char *dir, SbKeyKind k, char **ret_key, char **ret_cert);

/* Creates the owner GUID and the three key pairs (RSA of BITS bits, X.509
 * certificates self-signed, "NAME Platform Key" etc.).  Refuses with -EEXIST
 * (nothing written) when any of the files exists; private keys are created
 * O_EXCL|O_NOFOLLOW mode 0600 before their certificates. */
int sb_keys_generate(const char *dir, int bits, const char *name);

int sb_key_load(const char *dir, SbKeyKind k, EVP_PKEY **ret_key, X509 **ret_cert);
int sb_cert_load(const char *dir, SbKeyKind k, X509 **ret_cert);
int sb_owner_guid_load(const char *dir, EfiGuid *ret);
