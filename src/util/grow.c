/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>

#include "util/grow.h"

size_t grow_size(size_t have, size_t need, size_t first) {
        size_t n = have ? have : first;
        while (n < need) {
                if (n > SIZE_MAX / 2)
                        return 0;
                n *= 2;
        }
        return n;
}

void *grow_realloc(void *p, size_t *alloc, size_t need, size_t first) {
        if (p && need <= *alloc)
                return p;
        size_t n = grow_size(*alloc, need, first);
        if (n == 0)
                return NULL;
        void *q = realloc(p, n);
        if (q)
                *alloc = n;
        return q;
}
