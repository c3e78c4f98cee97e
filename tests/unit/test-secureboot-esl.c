/* SPDX-License-Identifier: MIT */
/* Signature lists and authenticated variables: round trips, must-fail
 * signatures, malformed inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "secureboot/authvar.h"
#include "secureboot/esl.h"
#include "secureboot/guid.h"
#include "secureboot/pe.h"

static void make_key(EVP_PKEY **ret_key, X509 **ret_cert, const char *cn) {
        EVP_PKEY *k = EVP_RSA_gen(2048);
        assert_non_null(k);
        X509 *x = X509_new();
        ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
        X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *) cn, -1, -1, 0);
        X509_set_issuer_name(x, X509_get_subject_name(x));
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600);
        X509_set_pubkey(x, k);
        assert_true(X509_sign(x, k, EVP_sha256()) > 0);
        *ret_key = k;
        *ret_cert = x;
}

static void test_guid(void **state) {
        char s[EFI_GUID_STRING_MAX];
        efi_guid_to_string(&EFI_GLOBAL_VARIABLE_GUID, s);
        assert_string_equal(s, "8be4df61-93ca-11d2-aa0d-00e098032b8c");
        EfiGuid g;
        assert_int_equal(efi_guid_from_string("D719B2CB-3D3A-4596-A3BC-DAD00E67656F", &g), 0);
        assert_true(efi_guid_equal(&g, &EFI_IMAGE_SECURITY_DATABASE_GUID));
        assert_int_equal(efi_guid_from_string("d719b2cb-3d3a-4596-a3bc-dad00e67656", &g), -EINVAL);
        assert_int_equal(efi_guid_from_string("d719b2cb-3d3a-4596-a3bc-dad00e67656x", &g), -EINVAL);
        assert_int_equal(efi_guid_from_string("d719b2cb+3d3a-4596-a3bc-dad00e67656f", &g), -EINVAL);
        assert_int_equal(efi_guid_random(&g), 0);
        efi_guid_to_string(&g, s);
        assert_int_equal(s[14], '4');
}

typedef struct Seen {
        int n;
        EfiGuid owner;
        size_t size;
} Seen;

static int seen(const EslEntry *e, void *userdata) {
        Seen *s = userdata;
        s->n++;
        s->owner = e->owner;
        s->size = e->size;
        assert_true(efi_guid_equal(&e->type, &EFI_CERT_X509_GUID));
        return 0;
}

static void test_esl(void **state) {
        EVP_PKEY *k;
        X509 *x;
        make_key(&k, &x, "esl");
        EfiGuid owner;
        efi_guid_random(&owner);
        uint8_t *b;
        size_t n;
        assert_int_equal(esl_from_x509(x, &owner, &b, &n), 0);
        assert_int_equal(n, 28 + 16 + (size_t) i2d_X509(x, NULL));
        Seen s = {};
        assert_int_equal(esl_foreach(b, n, seen, &s), 0);
        assert_int_equal(s.n, 1);
        assert_true(efi_guid_equal(&s.owner, &owner));

        /* two lists back to back */
        uint8_t *two = malloc(2 * n);
        memcpy(two, b, n);
        memcpy(two + n, b, n);
        assert_int_equal(esl_count(two, 2 * n), 2);
        assert_int_equal(esl_count(two, 0), 0);
        /* malformed: truncated, list size too small / too large, signature size 0 or not dividing */
        assert_int_equal(esl_count(two, 2 * n - 1), -EBADMSG);
        assert_int_equal(esl_count(b, 27), -EBADMSG);
        put_le32(two + 16, 10);
        assert_int_equal(esl_count(two, 2 * n), -EBADMSG);
        put_le32(two + 16, 0xffffffff);
        assert_int_equal(esl_count(two, 2 * n), -EBADMSG);
        put_le32(two + 16, (uint32_t) n);
        put_le32(two + 24, 0);
        assert_int_equal(esl_count(two, 2 * n), -EBADMSG);
        put_le32(two + 24, 17);
        assert_int_equal(esl_count(two, 2 * n), -EBADMSG);
        put_le32(two + 24, (uint32_t) n - 28);
        put_le32(two + 20, 0xfffffff0);
        assert_int_equal(esl_count(two, 2 * n), -EBADMSG);
        free(two);
        free(b);
        EVP_PKEY_free(k);
        X509_free(x);
}

static void test_authvar(void **state) {
        EVP_PKEY *k1, *k2;
        X509 *c1, *c2;
        make_key(&k1, &c1, "pk");
        make_key(&k2, &c2, "other");
        const uint8_t data[] = "signature list bytes";
        uint8_t *b;
        size_t n;
        assert_int_equal(authvar_build("PK", &EFI_GLOBAL_VARIABLE_GUID, EFI_VARIABLE_AUTHVAR_ATTRS, 1700000000,
                                       data, sizeof data, k1, c1, &b, &n), 0);
        AuthVar av;
        assert_int_equal(authvar_parse(b, n, &av), 0);
        assert_int_equal(av.data_size, sizeof data);
        assert_memory_equal(av.data, data, sizeof data);
        assert_int_equal(le16(av.timestamp), 2023);
        assert_int_equal(av.timestamp[2], 11);
        assert_int_equal(av.timestamp[3], 14);

        assert_int_equal(authvar_verify(b, n, "PK", &EFI_GLOBAL_VARIABLE_GUID, EFI_VARIABLE_AUTHVAR_ATTRS, c1), 0);
        /* must fail: other certificate, other name, other vendor, other attributes, changed data, changed time */
        assert_int_equal(authvar_verify(b, n, "PK", &EFI_GLOBAL_VARIABLE_GUID, EFI_VARIABLE_AUTHVAR_ATTRS, c2), -EKEYREJECTED);
        assert_int_equal(authvar_verify(b, n, "KEK", &EFI_GLOBAL_VARIABLE_GUID, EFI_VARIABLE_AUTHVAR_ATTRS, c1), -EKEYREJECTED);
        assert_int_equal(authvar_verify(b, n, "PK", &EFI_IMAGE_SECURITY_DATABASE_GUID, EFI_VARIABLE_AUTHVAR_ATTRS, c1), -EKEYREJECTED);
        assert_int_equal(authvar_verify(b, n, "PK", &EFI_GLOBAL_VARIABLE_GUID,
                                        EFI_VARIABLE_AUTHVAR_ATTRS | EFI_VARIABLE_APPEND_WRITE, c1), -EKEYREJECTED);
        b[n - 3] ^= 1;
        assert_int_equal(authvar_verify(b, n, "PK", &EFI_GLOBAL_VARIABLE_GUID, EFI_VARIABLE_AUTHVAR_ATTRS, c1), -EKEYREJECTED);
        b[n - 3] ^= 1;
        b[6] ^= 1;
        assert_int_equal(authvar_verify(b, n, "PK", &EFI_GLOBAL_VARIABLE_GUID, EFI_VARIABLE_AUTHVAR_ATTRS, c1), -EKEYREJECTED);
        b[6] ^= 1;

        /* malformed headers */
        assert_int_equal(authvar_parse(b, 39, &av), -EBADMSG);
        uint32_t len = le32(b + 16);
        put_le32(b + 16, (uint32_t) n);
        assert_int_equal(authvar_parse(b, n, &av), -EBADMSG);
        put_le32(b + 16, 23);
        assert_int_equal(authvar_parse(b, n, &av), -EBADMSG);
        put_le32(b + 16, len);
        b[22] = 0;
        assert_int_equal(authvar_parse(b, n, &av), -EBADMSG);
        b[22] = 0xf1;
        b[30] ^= 1;
        assert_int_equal(authvar_parse(b, n, &av), -EBADMSG);
        b[30] ^= 1;
        /* garbage where the PKCS#7 is */
        memset(b + 40, 0x30, 8);
        assert_int_equal(authvar_verify(b, n, "PK", &EFI_GLOBAL_VARIABLE_GUID, EFI_VARIABLE_AUTHVAR_ATTRS, c1), -EBADMSG);

        free(b);
        EVP_PKEY_free(k1);
        EVP_PKEY_free(k2);
        X509_free(c1);
        X509_free(c2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_guid),
                cmocka_unit_test(test_esl),
                cmocka_unit_test(test_authvar),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
