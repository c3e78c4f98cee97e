/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "secureboot/authvar.h"
#include "secureboot/esl.h"
#include "secureboot/ossl-util.h"
#include "secureboot/sbvars.h"

const EfiGuid *sb_var_vendor(SbKeyKind k) {
        return k == SB_KEY_DB ? &EFI_IMAGE_SECURITY_DATABASE_GUID : &EFI_GLOBAL_VARIABLE_GUID;
}

SbKeyKind sb_var_signer(SbKeyKind k) {
        return k == SB_KEY_DB ? SB_KEY_KEK : SB_KEY_PK;
}

int sb_var_esl(const char *dir, SbKeyKind k, uint8_t **ret, size_t *ret_size) {
        EfiGuid owner;
        int r = sb_owner_guid_load(dir, &owner);
        if (r < 0)
                return r;
        _cleanup_(X509_freep) X509 *cert = NULL;
        r = sb_cert_load(dir, k, &cert);
        if (r < 0)
                return r;
        return esl_from_x509(cert, &owner, ret, ret_size);
}

int sb_var_auth(const char *dir, SbKeyKind k, uint32_t attrs, time_t t, const uint8_t *data, size_t size,
                uint8_t **ret, size_t *ret_size) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        int r = sb_key_load(dir, sb_var_signer(k), &key, &cert);
        if (r < 0)
                return r;
        return authvar_build(sb_key_name(k), sb_var_vendor(k), attrs, t, data, size, key, cert, ret, ret_size);
}
