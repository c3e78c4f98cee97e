/* SPDX-License-Identifier: MIT */
/* EFI_VARIABLE_AUTHENTICATION_2 parser (and the signature inside) on any bytes. */
#include <stdint.h>

#include "secureboot/authvar.h"
#include "secureboot/esl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        AuthVar av;
        if (authvar_parse(data, size, &av) < 0)
                return 0;
        PKCS7 *p7 = NULL;
        if (authvar_pkcs7(&av, &p7) >= 0)
                PKCS7_free(p7);
        (void) esl_count(av.data, av.data_size);
        return 0;
}
