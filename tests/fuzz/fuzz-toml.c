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
        TomlPos pos = {};
        char *error = NULL;

        int r = toml_parse((const char *) data, size, &root, &pos, &error);
        if (r < 0) {
                /* syntax errors always carry a position and a reason */
                if (r == -EINVAL && (pos.line == 0 || pos.column == 0 || !error || !error[0]))
                        abort();
                free(error);
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
