/* SPDX-License-Identifier: MIT */
/* PE/COFF parser and Authenticode: a small synthetic image, deliberately
 * malformed variants of it, and sign/verify with must-fail cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "secureboot/authenticode.h"
#include "secureboot/ossl-util.h"
#include "secureboot/pe.h"

#define HDR 0x200
#define IMG_SIZE (HDR + 0x400 + 0x200)

/* PE32+, 2 sections: .text at file 0x200 (0x400 bytes), .data at 0x600 (0x200). */
static uint8_t *make_image(size_t *ret_size) {
        uint8_t *d = calloc(1, IMG_SIZE);
        d[0] = 'M'; d[1] = 'Z';
        put_le32(d + 0x3c, 0x80);
        memcpy(d + 0x80, "PE\0\0", 4);
        uint8_t *coff = d + 0x84;
        put_le16(coff, 0x8664);
        put_le16(coff + 2, 2);
        put_le16(coff + 16, 112 + 16 * 8);
        uint8_t *opt = d + 0x98;
        put_le16(opt, 0x20b);
        put_le32(opt + 32, 0x1000);             /* SectionAlignment */
        put_le32(opt + 36, 0x200);              /* FileAlignment */
        put_le32(opt + 56, 0x3000);             /* SizeOfImage */
        put_le32(opt + 60, HDR);                /* SizeOfHeaders */
        put_le32(opt + 108, 16);                /* NumberOfRvaAndSizes */
        uint8_t *st = opt + 112 + 16 * 8;
        memcpy(st, ".text", 5);
        put_le32(st + 8, 0x400); put_le32(st + 12, 0x1000); put_le32(st + 16, 0x400); put_le32(st + 20, HDR);
        memcpy(st + 40, ".data", 5);
        put_le32(st + 48, 0x200); put_le32(st + 52, 0x2000); put_le32(st + 56, 0x200); put_le32(st + 60, HDR + 0x400);
        for (size_t i = HDR; i < IMG_SIZE; i++)
                d[i] = (uint8_t) (i * 7);
        *ret_size = IMG_SIZE;
        return d;
}

#define SECT(d, i) ((d) + 0x98 + 112 + 16 * 8 + 40 * (i))
#define CERTDIR(d) ((d) + 0x98 + 112 + 4 * 8)

static int parse(const uint8_t *d, size_t n, char **why) {
        PeImage img;
        int r = pe_parse(d, n, &img, why);
        if (r >= 0)
                pe_image_done(&img);
        return r;
}

static void test_valid(void **state) {
        size_t n;
        uint8_t *d = make_image(&n);
        PeImage img;
        assert_int_equal(pe_parse(d, n, &img, NULL), 0);
        assert_int_equal(img.n_sections, 2);
        assert_true(img.pe32plus);
        assert_string_equal(img.sections[1].name, ".data");
        assert_non_null(pe_find_section(&img, ".text"));
        assert_null(pe_find_section(&img, ".linux"));
        uint8_t a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
        unsigned al, bl;
        assert_int_equal(authenticode_digest(&img, EVP_sha256(), a, &al), 0);
        pe_image_done(&img);
        /* CheckSum and the certificate directory entry are not hashed... */
        put_le32(d + 0x98 + 64, 0x12345678);
        assert_int_equal(pe_parse(d, n, &img, NULL), 0);
        assert_int_equal(authenticode_digest(&img, EVP_sha256(), b, &bl), 0);
        assert_memory_equal(a, b, al);
        pe_image_done(&img);
        /* ...but every other header byte and every section byte is. */
        d[0x98 + 70] ^= 1;
        assert_int_equal(pe_parse(d, n, &img, NULL), 0);
        assert_int_equal(authenticode_digest(&img, EVP_sha256(), b, &bl), 0);
        assert_memory_not_equal(a, b, al);
        pe_image_done(&img);
        free(d);
}

static void expect_bad(uint8_t *d, size_t n, const char *fragment) {
        char *why = NULL;
        assert_int_equal(parse(d, n, &why), -EBADMSG);
        assert_non_null(why);
        if (!strstr(why, fragment))
                fail_msg("expected '%s' in '%s'", fragment, why);
        free(why);
}

static void test_malformed(void **state) {
        size_t n;
        uint8_t *d;

        d = make_image(&n); d[0] = 'X'; expect_bad(d, n, "MZ"); free(d);
        d = make_image(&n); put_le32(d + 0x3c, 0xfffffff0); expect_bad(d, n, "e_lfanew"); free(d);
        d = make_image(&n); d[0x81] = 'X'; expect_bad(d, n, "PE signature"); free(d);
        d = make_image(&n); put_le16(d + 0x86, 0); expect_bad(d, n, "number of sections"); free(d);
        d = make_image(&n); put_le16(d + 0x86, 1000); expect_bad(d, n, "number of sections"); free(d);
        d = make_image(&n); put_le16(d + 0x98, 0x999); expect_bad(d, n, "magic"); free(d);
        d = make_image(&n); put_le32(d + 0x98 + 108, 100); expect_bad(d, n, "data directories"); free(d);
        d = make_image(&n); put_le32(d + 0x98 + 108, 3); expect_bad(d, n, "certificate table"); free(d);
        d = make_image(&n); put_le32(d + 0x98 + 60, 0x100); expect_bad(d, n, "SizeOfHeaders"); free(d);
        d = make_image(&n); put_le32(d + 0x98 + 60, 0x10000); expect_bad(d, n, "SizeOfHeaders"); free(d);
        /* section data past the end, 32-bit wrap-around */
        d = make_image(&n); put_le32(SECT(d, 1) + 16, 0x400); expect_bad(d, n, "past the end"); free(d);
        d = make_image(&n); put_le32(SECT(d, 1) + 20, 0xffffff00); expect_bad(d, n, "past the end"); free(d);
        /* overlapping sections in the file, in memory, over the headers */
        d = make_image(&n); put_le32(SECT(d, 1) + 20, HDR + 0x200); expect_bad(d, n, "overlap in the file"); free(d);
        d = make_image(&n); put_le32(SECT(d, 1) + 12, 0x1200); expect_bad(d, n, "overlap in memory"); free(d);
        d = make_image(&n); put_le32(SECT(d, 0) + 20, 0x100); expect_bad(d, n, "overlaps the headers"); free(d);
        d = make_image(&n); put_le32(d + 0x98 + 56, 0x2100); expect_bad(d, n, "SizeOfImage"); free(d);
        /* certificate table: past the end, misaligned, over section data, empty */
        d = make_image(&n); put_le32(CERTDIR(d), HDR + 0x600); put_le32(CERTDIR(d) + 4, 16); expect_bad(d, n, "past the end"); free(d);
        d = make_image(&n); put_le32(CERTDIR(d), HDR + 0x5f4); put_le32(CERTDIR(d) + 4, 8); expect_bad(d, n, "overlaps"); free(d);
        d = make_image(&n); put_le32(CERTDIR(d), 0); put_le32(CERTDIR(d) + 4, 8); expect_bad(d, n, "inconsistent"); free(d);

        /* every truncation is refused or parsed, never crashes */
        d = make_image(&n);
        for (size_t k = 0; k < n; k += 3) {
                uint8_t *t = malloc(k ? k : 1);
                memcpy(t, d, k);
                (void) parse(t, k, NULL);
                free(t);
        }
        free(d);
}

static void make_key(EVP_PKEY **ret_key, X509 **ret_cert, const char *cn) {
        EVP_PKEY *k = EVP_RSA_gen(2048);
        assert_non_null(k);
        X509 *x = X509_new();
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *) cn, -1, -1, 0);
        X509_set_issuer_name(x, X509_get_subject_name(x));
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600);
        X509_set_pubkey(x, k);
        assert_true(X509_sign(x, k, EVP_sha256()) > 0);
        *ret_key = k;
        *ret_cert = x;
}

static void test_sign_verify(void **state) {
        EVP_PKEY *k1, *k2;
        X509 *c1, *c2;
        make_key(&k1, &c1, "one");
        make_key(&k2, &c2, "two");
        size_t n, sn, sn2;
        uint8_t *d = make_image(&n), *s, *s2;
        PeImage img;

        assert_int_equal(pe_parse(d, n, &img, NULL), 0);
        assert_int_equal(authenticode_verify(&img, c1), -ENOKEY);
        pe_image_done(&img);

        assert_int_equal(authenticode_sign(d, n, k1, c1, &s, &sn), 0);
        assert_int_equal(pe_parse(s, sn, &img, NULL), 0);
        assert_int_equal(img.cert_table_offset % 8, 0);
        assert_int_equal(img.cert_table_offset + img.cert_table_size, sn);
        assert_int_equal(le32(s + img.checksum_offset), pe_checksum(s, sn, img.checksum_offset));
        assert_int_equal(authenticode_verify(&img, c1), 0);
        assert_int_equal(authenticode_verify(&img, c2), -EKEYREJECTED);
        AuthenticodeSignature *sigs;
        size_t n_sigs;
        assert_int_equal(authenticode_list(&img, &sigs, &n_sigs), 0);
        assert_int_equal(n_sigs, 1);
        assert_string_equal(sigs[0].signer_subject, "CN=one");
        assert_true(sigs[0].digest_matches);
        authenticode_signatures_free(sigs, n_sigs);
        pe_image_done(&img);

        /* one flipped byte in .data */
        s[HDR + 0x500] ^= 0x01;
        assert_int_equal(pe_parse(s, sn, &img, NULL), 0);
        assert_int_equal(authenticode_verify(&img, c1), -EKEYREJECTED);
        pe_image_done(&img);
        s[HDR + 0x500] ^= 0x01;

        /* re-signing replaces the signature */
        assert_int_equal(authenticode_sign(s, sn, k2, c2, &s2, &sn2), 0);
        assert_int_equal(sn2 <= sn + 64, 1);
        assert_int_equal(pe_parse(s2, sn2, &img, NULL), 0);
        assert_int_equal(authenticode_verify(&img, c2), 0);
        assert_int_equal(authenticode_verify(&img, c1), -EKEYREJECTED);
        assert_int_equal(authenticode_list(&img, &sigs, &n_sigs), 0);
        assert_int_equal(n_sigs, 1);
        authenticode_signatures_free(sigs, n_sigs);
        pe_image_done(&img);

        /* a corrupt certificate entry is a clear error, not a crash */
        assert_int_equal(pe_parse(s, sn, &img, NULL), 0);
        uint32_t off = img.cert_table_offset;
        pe_image_done(&img);
        put_le32(s + off, 0x7fffffff);
        assert_int_equal(pe_parse(s, sn, &img, NULL), 0);
        assert_int_equal(authenticode_verify(&img, c1), -EBADMSG);
        pe_image_done(&img);
        put_le32(s + off, 16);
        assert_int_equal(pe_parse(s, sn, &img, NULL), 0);
        assert_int_equal(authenticode_verify(&img, c1), -EBADMSG);
        pe_image_done(&img);

        free(s);
        free(s2);
        free(d);
        EVP_PKEY_free(k1);
        EVP_PKEY_free(k2);
        X509_free(c1);
        X509_free(c2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_sign_verify),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
