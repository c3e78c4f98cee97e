/* SPDX-License-Identifier: MIT */
/* PE/COFF parser, Authenticode digest, signature listing and verification
 * (authenticode_verify against a certificate that did not sign the input)
 * on any bytes.  The first byte picks a second check on images that parse:
 * signed with the harness key they must verify, and with one byte of the
 * signed image changed outside the certificate table they must not. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz-keys.h"
#include "secureboot/authenticode.h"
#include "secureboot/pe.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_keys_init();
        return 0;
}

static int count(const PeCertEntry *e, void *userdata) {
        (*(size_t *) userdata) += e->payload_size;
        return 0;
}

static void sign_and_verify(const uint8_t *data, size_t size, uint8_t pick) {
        uint8_t *s = NULL;
        size_t n = 0;
        if (authenticode_sign(data, size, fuzz_key, fuzz_cert, &s, &n) < 0)
                return;
        PeImage img;
        if (pe_parse(s, n, &img, NULL) < 0 || authenticode_verify(&img, fuzz_cert) != 0)
                abort();
        pe_image_done(&img);
        /* the first 64 bytes (the DOS header, e_lfanew) are always covered */
        s[pick % 64] ^= 0x01;
        if (pe_parse(s, n, &img, NULL) == 0) {
                if (authenticode_verify(&img, fuzz_cert) == 0)
                        abort();
                pe_image_done(&img);
        }
        free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        PeImage img;
        if (pe_parse(data, size, &img, NULL) < 0)
                return 0;
        uint8_t d[EVP_MAX_MD_SIZE];
        unsigned dl;
        (void) authenticode_digest(&img, EVP_sha256(), d, &dl);
        size_t total = 0;
        (void) pe_foreach_cert(&img, count, &total);
        AuthenticodeSignature *sigs;
        size_t n;
        if (authenticode_list(&img, &sigs, &n) >= 0)
                authenticode_signatures_free(sigs, n);
        (void) authenticode_verify(&img, fuzz_cert);
        for (unsigned i = 0; i < img.n_sections; i++)
                (void) pe_find_section(&img, img.sections[i].name);
        pe_image_done(&img);
        if (size > 64 && data[size - 1] % 4 == 0)
                sign_and_verify(data, size, data[size - 2]);
        return 0;
}
