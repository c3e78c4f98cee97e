/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "tpm/recovery-key.h"
#include "util/macro.h"

static const char modhex[16] = "cbdefghijklnrtuv";

void recovery_key_format(const uint8_t key[RECOVERY_KEY_BYTES], char ret[RECOVERY_KEY_LENGTH + 1]) {
        char *p = ret;
        for (size_t i = 0; i < RECOVERY_KEY_BYTES; i++) {
                *p++ = modhex[key[i] >> 4];
                *p++ = modhex[key[i] & 15];
                if (i % 4 == 3 && i + 1 < RECOVERY_KEY_BYTES)
                        *p++ = '-';
        }
        *p = 0;
}

int recovery_key_generate(char **ret) {
        uint8_t key[RECOVERY_KEY_BYTES];
        if (getrandom(key, sizeof(key), 0) != sizeof(key))
                return -EIO;
        char *s = malloc(RECOVERY_KEY_LENGTH + 1);
        if (!s) {
                explicit_bzero(key, sizeof(key));
                return -ENOMEM;
        }
        recovery_key_format(key, s);
        explicit_bzero(key, sizeof(key));
        *ret = s;
        return 0;
}

bool recovery_key_normalize(const char *s, size_t n, char ret[RECOVERY_KEY_LENGTH + 1]) {
        size_t letters = 0;
        char *p = ret;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == '-') {
                        /* dashes only between groups */
                        if (letters == 0 || letters % 8 != 0 || (i > 0 && s[i - 1] == '-'))
                                goto no;
                        continue;
                }
                if (c >= 'A' && c <= 'Z')
                        c = (char) (c - 'A' + 'a');
                if (!memchr(modhex, c, sizeof(modhex)) || letters >= RECOVERY_KEY_BYTES * 2)
                        goto no;
                if (letters > 0 && letters % 8 == 0)
                        *p++ = '-';
                *p++ = c;
                letters++;
        }
        if (letters != RECOVERY_KEY_BYTES * 2)
                goto no;
        *p = 0;
        return true;
no:
        explicit_bzero(ret, RECOVERY_KEY_LENGTH + 1);
        return false;
}
