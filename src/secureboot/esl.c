/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "secureboot/esl.h"
#include "secureboot/ossl-util.h"
#include "secureboot/pe.h"

int esl_from_x509(X509 *cert, const EfiGuid *owner, uint8_t **ret, size_t *ret_size) {
        int der_len = i2d_X509(cert, NULL);
        if (der_len <= 0)
                return -EINVAL;
        size_t sig_size = 16 + (size_t) der_len, total = ESL_HEADER_SIZE + sig_size;
        uint8_t *b = malloc(total);
        if (!b)
                return -ENOMEM;
        memcpy(b, EFI_CERT_X509_GUID.b, 16);
        put_le32(b + 16, (uint32_t) total);
        put_le32(b + 20, 0);
        put_le32(b + 24, (uint32_t) sig_size);
        memcpy(b + ESL_HEADER_SIZE, owner->b, 16);
        unsigned char *p = b + ESL_HEADER_SIZE + 16;
        if (i2d_X509(cert, &p) != der_len) {
                free(b);
                return -EIO;
        }
        *ret = b;
        *ret_size = total;
        return 0;
}

int esl_foreach(const uint8_t *data, size_t size, int (*cb)(const EslEntry *e, void *userdata), void *userdata) {
        size_t off = 0;
        while (off < size) {
                if (size - off < ESL_HEADER_SIZE)
                        return -EBADMSG;
                const uint8_t *l = data + off;
                uint32_t list_size = le32(l + 16), header_size = le32(l + 20), sig_size = le32(l + 24);
                if (list_size < ESL_HEADER_SIZE || list_size > size - off)
                        return -EBADMSG;
                if (header_size > list_size - ESL_HEADER_SIZE)
                        return -EBADMSG;
                size_t body = list_size - ESL_HEADER_SIZE - header_size;
                if (sig_size < 16 || body % sig_size != 0)
                        return -EBADMSG;
                const uint8_t *s = l + ESL_HEADER_SIZE + header_size;
                for (size_t i = 0; i < body / sig_size; i++, s += sig_size) {
                        EslEntry e = { .data = s + 16, .size = sig_size - 16 };
                        memcpy(e.type.b, l, 16);
                        memcpy(e.owner.b, s, 16);
                        if (cb) {
                                int r = cb(&e, userdata);
                                if (r != 0)
                                        return r;
                        }
                }
                off += list_size;
        }
        return 0;
}

static int count_one(const EslEntry *e, void *userdata) {
        (*(int *) userdata)++;
        return 0;
}

int esl_count(const uint8_t *data, size_t size) {
        int n = 0;
        int r = esl_foreach(data, size, count_one, &n);
        return r < 0 ? r : n;
}
