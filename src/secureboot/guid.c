/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "secureboot/guid.h"

#define G(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7) {{                           \
        (a) & 0xff, ((a) >> 8) & 0xff, ((a) >> 16) & 0xff, ((a) >> 24) & 0xff,  \
        (b) & 0xff, ((b) >> 8) & 0xff, (c) & 0xff, ((c) >> 8) & 0xff,           \
        d0, d1, d2, d3, d4, d5, d6, d7 }}

const EfiGuid EFI_GLOBAL_VARIABLE_GUID = G(0x8be4df61, 0x93ca, 0x11d2, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c);
const EfiGuid EFI_IMAGE_SECURITY_DATABASE_GUID = G(0xd719b2cb, 0x3d3a, 0x4596, 0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f);
const EfiGuid EFI_CERT_X509_GUID = G(0xa5c059a1, 0x94e4, 0x4aa7, 0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72);
const EfiGuid EFI_CERT_SHA256_GUID = G(0xc1c41626, 0x504c, 0x4092, 0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28);
const EfiGuid EFI_CERT_TYPE_PKCS7_GUID = G(0x4aafd29d, 0x68df, 0x49ee, 0x8a, 0xa9, 0x34, 0x7d, 0x37, 0x56, 0x65, 0xa7);

/* Byte positions of the 32 hex digits in string order. */
static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

static int hexval(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
}

int efi_guid_from_string(const char *s, EfiGuid *ret) {
        EfiGuid g;
        if (strlen(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
                return -EINVAL;
        const char *p = s;
        for (int i = 0; i < 16; i++) {
                if (*p == '-')
                        p++;
                int h = hexval(p[0]), l = hexval(p[1]);
                if (h < 0 || l < 0)
                        return -EINVAL;
                g.b[order[i]] = (uint8_t) (h << 4 | l);
                p += 2;
        }
        *ret = g;
        return 0;
}

void efi_guid_to_string(const EfiGuid *g, char buf[static EFI_GUID_STRING_MAX]) {
        char *p = buf;
        for (int i = 0; i < 16; i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10)
                        *p++ = '-';
                p += sprintf(p, "%02x", g->b[order[i]]);
        }
        *p = 0;
}

bool efi_guid_equal(const EfiGuid *a, const EfiGuid *b) {
        return memcmp(a->b, b->b, 16) == 0;
}

int efi_guid_random(EfiGuid *ret) {
        EfiGuid g;
        if (RAND_bytes(g.b, sizeof g.b) != 1)
                return -EIO;
        g.b[7] = (g.b[7] & 0x0f) | 0x40;        /* version 4 (high nibble of time_hi) */
        g.b[8] = (g.b[8] & 0x3f) | 0x80;        /* RFC 4122 variant */
        *ret = g;
        return 0;
}
