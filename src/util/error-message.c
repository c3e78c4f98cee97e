/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/error-message.h"

int error_set(char **error, int r, const char *fmt, ...) {
        if (!error)
                return r;
        va_list ap;
        va_start(ap, fmt);
        free(*error);
        if (vasprintf(error, fmt, ap) < 0)
                *error = NULL;
        va_end(ap);
        return r;
}
