/* SPDX-License-Identifier: MIT */
/* keystone.lock, apt's simulation output and dpkg status on any bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/lock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;
        ImageLock l = {};
        unsigned line;
        char *why = NULL;
        if (image_lock_parse(text, &l, &line, &why) == 0) {
                char *out = NULL;
                size_t n = 0;
                FILE *f = open_memstream(&out, &n);
                if (f) {
                        (void) image_lock_write(&l, f);
                        fclose(f);
                }
                /* the written text parses back to the same packages */
                ImageLock back = {};
                if (out && image_lock_parse(out, &back, &line, &why) != 0)
                        abort();
                if (back.n_packages != l.n_packages)
                        abort();
                image_lock_done(&back);
                free(out);
        }
        free(why);
        image_lock_done(&l);
        ImageLock a = {};
        (void) image_lock_add_apt_simulation(&a, text);
        (void) image_lock_add_dpkg_status(&a, text);
        image_lock_done(&a);
        AptIndex x = {};
        (void) apt_index_add_packages_file(&x, text, size);
        apt_index_done(&x);
        free(text);
        return 0;
}
