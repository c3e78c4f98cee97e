/* SPDX-License-Identifier: MIT */
/* LUKS2 token metadata (luks_token_parse, what luks_token_info reads from
 * a header) on any text: parsed or refused, never a crash, and a type
 * whenever it parses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpm/luks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = strndup((const char *) data, size); /* text: up to the first NUL */
        if (!s)
                return 0;
        char *type = NULL;
        uint32_t slots = 0;
        if (luks_token_parse(s, &type, &slots) == 0) {
                if (!type)
                        abort();
                free(type);
        }
        (void) luks_token_parse(s, NULL, NULL);
        free(s);
        return 0;
}
