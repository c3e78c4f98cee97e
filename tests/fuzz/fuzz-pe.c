/* SPDX-License-Identifier: MIT */
/* PE/COFF parser, Authenticode digest and signature listing on any bytes. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>

#include "secureboot/authenticode.h"
#include "secureboot/pe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(const PeCertEntry *e, void *userdata) {
        (*(size_t *) userdata) += e->payload_size;
        return 0;
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
        for (unsigned i = 0; i < img.n_sections; i++)
                (void) pe_find_section(&img, img.sections[i].name);
        pe_image_done(&img);
        return 0;
}
