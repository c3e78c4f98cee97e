/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>

#include "util/format-bytes.h"

const char *format_bytes(uint64_t b, char *buf, size_t size) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        unsigned u = 0;
        uint64_t whole = b;
        while (u < 4 && whole >= 1024 && whole % 1024 == 0) {
                whole /= 1024;
                u++;
        }
        if (u < 4 && whole >= 1024) {
                /* not a whole number of the next unit: one decimal */
                double d = (double) b;
                unsigned v = 0;
                while (v < 4 && d >= 1024) {
                        d /= 1024;
                        v++;
                }
                snprintf(buf, size, "%.1f %s", d, units[v]);
                return buf;
        }
        snprintf(buf, size, "%" PRIu64 " %s", whole, units[u]);
        return buf;
}
