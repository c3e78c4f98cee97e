/* SPDX-License-Identifier: MIT */
/* Kernel module signatures: the trailer and the CMS SignedData in it, on any
 * bytes (modsign_unsigned_size, modsign_verify against a certificate that
 * did not sign them).  The first byte picks a second check: sign the rest
 * with the harness key, and the result must verify; with one byte of the
 * module changed it must not. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-keys.h"
#include "secureboot/modsign.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_keys_init();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        size_t body;
        int had;
        if (modsign_unsigned_size(data, size, &body, &had) == 0 && body > size)
                abort();
        (void) modsign_verify(data, size, fuzz_cert);

        if (size < 2 || data[0] % 8 != 0)
                return 0;
        /* the round trip: sign the module (the rest), verify, change it */
        uint8_t *s = NULL;
        size_t n = 0;
        if (modsign_sign(data + 1, size - 1, fuzz_key, fuzz_cert, &s, &n) < 0)
                return 0;
        if (modsign_verify(s, n, fuzz_cert) != 0)
                abort();
        if (modsign_unsigned_size(s, n, &body, &had) == 0 && had && body > 0) {
                s[data[1] % body] ^= 0x01;
                if (modsign_verify(s, n, fuzz_cert) == 0)
                        abort();
        }
        free(s);
        return 0;
}
