/* SPDX-License-Identifier: MIT */
/* libFuzzer: any bytes through toml_parse(); a parsed tree is walked by
 * the tagged-JSON writer (into a memory stream) and freed. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        TomlValue *root = NULL;
        TomlError error;

        int r = toml_parse((const char *) data, size, &root, &error);
        if (r < 0) {
                /* syntax errors always carry a position */
                if (r == -EINVAL && (error.line == 0 || error.column == 0 || !error.message[0]))
                        abort();
                return 0;
        }

        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (f) {
                (void) toml_write_tagged_json(root, f);
                fclose(f);
        }
        free(buf);
        toml_free(root);
        return 0;
}
