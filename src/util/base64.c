/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/base64.h"

int base64_encode(const void *data, size_t size, char **ret) {
        if (size > INT_MAX / 2)
                return -E2BIG;
        char *s = malloc(4 * ((size + 2) / 3) + 1);
        if (!s)
                return -ENOMEM;
        EVP_EncodeBlock((unsigned char *) s, data, (int) size);
        *ret = s;
        return 0;
}

static bool is_b64(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int base64_decode(const char *s, uint8_t **ret, size_t *ret_size) {
        size_t n = strlen(s);
        if (n % 4 != 0 || n > INT_MAX / 2)
                return -EINVAL;
        size_t pad = 0;
        if (n > 0 && s[n - 1] == '=')
                pad++;
        if (n > 1 && s[n - 2] == '=')
                pad++;
        for (size_t i = 0; i < n - pad; i++)
                if (!is_b64(s[i]))
                        return -EINVAL;
        uint8_t *buf = malloc(n / 4 * 3 + 1);
        if (!buf)
                return -ENOMEM;
        int r = n > 0 ? EVP_DecodeBlock(buf, (const unsigned char *) s, (int) n) : 0;
        if (r < 0 || (size_t) r < pad) {
                free(buf);
                return -EINVAL;
        }
        *ret = buf;
        *ret_size = (size_t) r - pad;
        return 0;
}
