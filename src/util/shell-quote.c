/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/shell-quote.h"

static bool is_plain(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *s))
                        return false;
        return true;
}

/* Writes S quoted at p (room for 4 * strlen(s) + 2 bytes); returns the end. */
static char *quote_into(char *p, const char *s, bool force) {
        if (!force && is_plain(s))
                return stpcpy(p, s);
        *p++ = '\'';
        for (; *s; s++)
                if (*s == '\'')
                        p = stpcpy(p, "'\\''");
                else
                        *p++ = *s;
        *p++ = '\'';
        return p;
}

char *shell_quote(const char *s) {
        char *buf = malloc(strlen(s) * 4 + 3);
        if (!buf)
                return NULL;
        *quote_into(buf, s, false) = 0;
        return buf;
}

char *shell_join(const char *const argv[]) {
        size_t n = 1;
        for (size_t i = 0; argv[i]; i++)
                n += strlen(argv[i]) * 4 + 3;
        char *buf = malloc(n), *p = buf;
        if (!buf)
                return NULL;
        for (size_t i = 0; argv[i]; i++) {
                if (i > 0)
                        *p++ = ' ';
                p = quote_into(p, argv[i], i == 0 && strchr(argv[i], '='));
        }
        *p = 0;
        return buf;
}
