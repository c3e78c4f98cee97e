/* SPDX-License-Identifier: MIT */
/* EFI signature-list parser on any bytes; X.509 entries go through OpenSSL. */
#include <stdint.h>

#include "secureboot/esl.h"
#include "secureboot/ossl-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int one(const EslEntry *e, void *userdata) {
        if (efi_guid_equal(&e->type, &EFI_CERT_X509_GUID)) {
                X509 *x = NULL;
                if (ossl_cert_from_der(e->data, e->size, &x) >= 0) {
                        free(ossl_name_oneline(X509_get_subject_name(x)));
                        X509_free(x);
                }
        }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        (void) esl_foreach(data, size, one, NULL);
        return 0;
}
