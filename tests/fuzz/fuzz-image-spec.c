/* SPDX-License-Identifier: MIT */
/* The image spec builder (image_spec_from_json: the merged configuration as
 * JSON → what the image is made of, then the defaults) on any text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = strndup((const char *) data, size); /* text: up to the first NUL */
        if (!s)
                return 0;
        ImageSpec spec = {};
        char *error = NULL;
        int r = image_spec_from_json(s, &spec, &error);
        if (r == 0)
                (void) image_spec_fill_defaults(&spec);
        image_spec_done(&spec);
        free(error);
        free(s);
        return 0;
}
