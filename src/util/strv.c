/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "util/strv.h"

void strv_free(char **v) {
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

size_t strv_length(char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

bool strn_contains(char *const *v, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

void text_line_containing(const char *text, const char *needle, char *out, size_t size) {
        const char *p = strstr(text, needle);
        if (!p)
                return;
        while (p > text && p[-1] != '\n')
                p--;
        snprintf(out, size, "%.*s", (int) strcspn(p, "\n"), p);
}
