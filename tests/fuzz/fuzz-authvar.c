/* SPDX-License-Identifier: MIT */
/* EFI_VARIABLE_AUTHENTICATION_2 parser, the signature inside and its
 * verification (authvar_verify for KEK against a certificate that did not
 * sign it) on any bytes.  The first byte picks a second check: the rest as
 * variable data, signed with the harness key, must verify, and must not
 * for another variable name or with one byte of the data changed. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "fuzz-keys.h"
#include "secureboot/authvar.h"
#include "secureboot/esl.h"
#include "secureboot/guid.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_keys_init();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        AuthVar av;
        if (authvar_parse(data, size, &av) == 0) {
                PKCS7 *p7 = NULL;
                if (authvar_pkcs7(&av, &p7) >= 0)
                        PKCS7_free(p7);
                (void) esl_count(av.data, av.data_size);
        }
        (void) authvar_verify(data, size, "KEK", &EFI_GLOBAL_VARIABLE_GUID, EFI_VARIABLE_AUTHVAR_ATTRS, fuzz_cert);

        if (size < 2 || data[0] % 8 != 0)
                return 0;
        uint8_t *s = NULL;
        size_t n = 0;
        if (authvar_build("db", &EFI_IMAGE_SECURITY_DATABASE_GUID, EFI_VARIABLE_AUTHVAR_ATTRS, 1700000000,
                          data + 1, size - 1, fuzz_key, fuzz_cert, &s, &n) < 0)
                return 0;
        if (authvar_verify(s, n, "db", &EFI_IMAGE_SECURITY_DATABASE_GUID, EFI_VARIABLE_AUTHVAR_ATTRS, fuzz_cert) != 0 ||
            authvar_verify(s, n, "dbx", &EFI_IMAGE_SECURITY_DATABASE_GUID, EFI_VARIABLE_AUTHVAR_ATTRS, fuzz_cert) == 0)
                abort();
        s[n - 1 - data[1] % (size - 1)] ^= 0x01; /* a byte of the variable data */
        if (authvar_verify(s, n, "db", &EFI_IMAGE_SECURITY_DATABASE_GUID, EFI_VARIABLE_AUTHVAR_ATTRS, fuzz_cert) == 0)
                abort();
        free(s);
        return 0;
}
