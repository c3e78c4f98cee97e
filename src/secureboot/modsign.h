/* SPDX-License-Identifier: MIT */
#pragma once

/* Linux kernel module signatures, the format the kernel's module loader
 * checks (the one scripts/sign-file writes):
 *
 *   module bytes
 *   PKCS#7 / CMS SignedData, DER: detached, SHA-256, no certificates, no
 *     signed attributes, signer named by issuer and serial number
 *   struct module_signature: 12 bytes, id_type 2 (PKCS#7), big-endian
 *     length of the PKCS#7 in the last 4 bytes
 *   "~Module signature appended~\n"
 *
 * With Secure Boot on, Debian's kernel is locked down and loads only
 * modules signed by a key it trusts, which includes the certificates in the
 * UEFI db: Keystone signs the modules it builds (ZFS) with the owner's db
 * key. */

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define MODSIGN_MAGIC "~Module signature appended~\n"

/* The size of the module without its signature; *ret_signed says whether
 * it had one.  -EBADMSG for a malformed trailer. */
int modsign_unsigned_size(const uint8_t *data, size_t size, size_t *ret_size, int *ret_signed);

/* Signs (replacing an existing signature). */
int modsign_sign(const uint8_t *data, size_t size, EVP_PKEY *key, X509 *cert, uint8_t **ret, size_t *ret_size);

/* 0 when the module carries a valid signature by cert over its bytes;
 * -ENODATA unsigned, -EBADMSG malformed, -EKEYREJECTED wrong signer or
 * changed bytes. */
int modsign_verify(const uint8_t *data, size_t size, X509 *cert);
