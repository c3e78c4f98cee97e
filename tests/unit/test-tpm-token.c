/* SPDX-License-Identifier: MIT */
/* Unit tests for the parts of keystone tpm that need no TPM: recovery keys,
 * PCR lists, the PolicyPCR digest, systemd-tpm2 token JSON (including
 * malicious tokens), base64 and hex. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tpm/recovery-key.h"
#include "tpm/tpm2-pcr.h"
#include "tpm/tpm2-seal.h"
#include "tpm/tpm2-token.h"
#include "util/base64.h"
#include "util/hex.h"

static void test_recovery_key_format(void **state) {
        uint8_t key[RECOVERY_KEY_BYTES];
        char s[RECOVERY_KEY_LENGTH + 1];
        for (int i = 0; i < RECOVERY_KEY_BYTES; i++)
                key[i] = (uint8_t) i;
        recovery_key_format(key, s);
        /* systemd's modhex alphabet, high nibble first, 4 bytes per group */
        assert_string_equal(s, "cccbcdce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubv");

        char *g = NULL;
        assert_int_equal(recovery_key_generate(&g), 0);
        assert_int_equal(strlen(g), RECOVERY_KEY_LENGTH);
        char n[RECOVERY_KEY_LENGTH + 1];
        assert_true(recovery_key_normalize(g, strlen(g), n));
        assert_string_equal(n, g);
        free(g);
}

static void test_recovery_key_normalize(void **state) {
        const char *canon = "cccbcdce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubv";
        const char *upper = "CCCBCDCECFCGCHCICJCKCLCNCRCTCUCVBCBBBDBEBFBGBHBIBJBKBLBNBRBTBUBV";
        char n[RECOVERY_KEY_LENGTH + 1];
        assert_true(recovery_key_normalize(upper, strlen(upper), n));
        assert_string_equal(n, canon);
        /* not modhex ('a'), too short, too long, misplaced dash */
        const char *bad[] = {
                "acccbcdce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbub",
                "cccbcdce-cfcgchci",
                "cccbcdce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubvc",
                "cccbcdc-ecfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubv",
                "cccbcdce--cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubv",
                "correct horse battery staple",
                "",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_false(recovery_key_normalize(bad[i], strlen(bad[i]), n));
}

static void test_pcr_mask(void **state) {
        uint32_t m;
        assert_int_equal(tpm2_pcr_mask_from_string("1+7", &m), 0);
        assert_int_equal(m, (1u << 1) | (1u << 7));
        assert_int_equal(tpm2_pcr_mask_from_string("0,23", &m), 0);
        assert_int_equal(m, 1u | (1u << 23));
        assert_int_equal(tpm2_pcr_mask_from_string("", &m), 0);
        assert_int_equal(m, 0);
        const char *bad[] = { "24", "1+", "+1", "a", "001", "1++7", "-1", "7 ", "99999999999" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(tpm2_pcr_mask_from_string(bad[i], &m), -EINVAL);
        char *s = tpm2_pcr_mask_to_string((1u << 1) | (1u << 7) | (1u << 15));
        assert_string_equal(s, "1+7+15");
        free(s);
}

static void test_policy_digest(void **state) {
        /* The session policy digest swtpm computed (as printed by
         * systemd-cryptsetup 252) for PolicyPCR over sha256 PCRs 1, 7 and 15,
         * all zero. */
        Tpm2PcrValues v = { .mask = TPM2_PCR_MASK_ALL };
        uint8_t d[TPM2_SHA256_SIZE];
        char *h = NULL;
        assert_int_equal(tpm2_policy_pcr_digest((1u << 1) | (1u << 7) | (1u << 15), &v, d), 0);
        assert_int_equal(hex_encode(d, sizeof(d), &h), 0);
        assert_string_equal(h, "fe407796b2899a902e99dff79a205acb5b1aae7f674ca1358287e117ece0f7fa");
        free(h);
        /* a PCR whose value is not given */
        Tpm2PcrValues partial = { .mask = 1u << 7 };
        assert_int_equal(tpm2_policy_pcr_digest((1u << 1) | (1u << 7), &partial, d), -EINVAL);
        /* a changed value changes the digest, and differ() names it */
        Tpm2PcrValues w = v;
        w.value[7][0] = 1;
        uint8_t d2[TPM2_SHA256_SIZE];
        assert_int_equal(tpm2_policy_pcr_digest((1u << 1) | (1u << 7) | (1u << 15), &w, d2), 0);
        assert_memory_not_equal(d, d2, sizeof(d));
        assert_int_equal(tpm2_pcr_values_differ((1u << 1) | (1u << 7), &v, &w), 1u << 7);
}

/* A token as systemd-cryptenroll 252 writes it (blob shortened: the parser
 * does not unmarshal it). */
static const char systemd_token[] =
        "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":\"AAECAwQFBgcICQ==\","
        "\"tpm2-pcrs\":[1,7],\"tpm2-pcr-bank\":\"sha256\",\"tpm2-primary-alg\":\"ecc\","
        "\"tpm2-policy-hash\":\"fe407796b2899a902e99dff79a205acb5b1aae7f674ca1358287e117ece0f7fa\","
        "\"tpm2-pin\":false}";

static void test_token_systemd(void **state) {
        Tpm2Token t = {};
        assert_int_equal(tpm2_token_from_json(systemd_token, &t), 0);
        assert_int_equal(t.keyslot, 1);
        assert_int_equal(t.pcr_mask, (1u << 1) | (1u << 7));
        assert_int_equal(t.pcr_bank, TPM2_ALG_SHA256);
        assert_int_equal(t.sealed.primary_alg, TPM2_ALG_ECC);
        assert_int_equal(t.sealed.blob_size, 10);
        for (int i = 0; i < 10; i++)
                assert_int_equal(t.sealed.blob[i], i);
        assert_int_equal(t.policy_hash_size, 32);
        assert_false(t.pin);
        assert_false(t.has_values);
        assert_null(t.sealed.srk);
        assert_null(t.unsupported);
        tpm2_token_done(&t);
}

static void test_token_roundtrip(void **state) {
        Tpm2Token t = {};
        assert_int_equal(tpm2_token_from_json(systemd_token, &t), 0);
        t.keyslot = 3;
        t.pcr_mask |= 1u << 15;
        t.has_values = true;
        t.values.mask = t.pcr_mask;
        memset(t.values.value[7], 0xab, 32);
        t.sealed.srk = malloc(4);
        memcpy(t.sealed.srk, "\x81\0\0\1", 4);
        t.sealed.srk_size = 4;
        char *json = NULL;
        assert_int_equal(tpm2_token_to_json(&t, &json), 0);
        assert_non_null(strstr(json, "\"type\":\"systemd-tpm2\",\"keyslots\":[\"3\"]"));
        assert_non_null(strstr(json, "\"tpm2-pcrs\":[1,7,15]"));
        assert_non_null(strstr(json, "\"tpm2_srk\":\"gQAAAQ==\""));
        Tpm2Token u = {};
        assert_int_equal(tpm2_token_from_json(json, &u), 0);
        assert_int_equal(u.keyslot, 3);
        assert_int_equal(u.pcr_mask, t.pcr_mask);
        assert_true(u.has_values);
        assert_memory_equal(u.values.value[7], t.values.value[7], 32);
        assert_int_equal(u.values.mask, t.pcr_mask);
        assert_int_equal(u.sealed.srk_size, 4);
        assert_memory_equal(u.sealed.blob, t.sealed.blob, t.sealed.blob_size);
        free(json);
        tpm2_token_done(&t);
        tpm2_token_done(&u);
}

static void test_token_malicious(void **state) {
        const char *bad[] = {
                "",
                "[]",
                "null",
                "{\"type\":\"systemd-tpm2\"}",
                "{\"type\":5}",
                /* keyslot not a string / out of range / not a number */
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[1],\"tpm2-blob\":\"AA==\",\"tpm2-pcrs\":[],\"tpm2-policy-hash\":\"00\"}",
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"32\"],\"tpm2-blob\":\"AA==\",\"tpm2-pcrs\":[],\"tpm2-policy-hash\":\"00\"}",
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1x\"],\"tpm2-blob\":\"AA==\",\"tpm2-pcrs\":[],\"tpm2-policy-hash\":\"00\"}",
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[],\"tpm2-blob\":\"AA==\",\"tpm2-pcrs\":[],\"tpm2-policy-hash\":\"00\"}",
                /* PCR out of range, negative, not an integer */
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":\"AA==\",\"tpm2-pcrs\":[24],\"tpm2-policy-hash\":\"00\"}",
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":\"AA==\",\"tpm2-pcrs\":[-1],\"tpm2-policy-hash\":\"00\"}",
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":\"AA==\",\"tpm2-pcrs\":[\"7\"],\"tpm2-policy-hash\":\"00\"}",
                /* bad base64 / hex / bank / alg */
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":\"A=A=\",\"tpm2-pcrs\":[7],\"tpm2-policy-hash\":\"00\"}",
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":\"\",\"tpm2-pcrs\":[7],\"tpm2-policy-hash\":\"00\"}",
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":\"AA==\",\"tpm2-pcrs\":[7],\"tpm2-policy-hash\":\"0g\"}",
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":\"AA==\",\"tpm2-pcrs\":[7],\"tpm2-policy-hash\":\"00\",\"tpm2-pcr-bank\":\"md5\"}",
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":\"AA==\",\"tpm2-pcrs\":[7],\"tpm2-policy-hash\":\"00\",\"tpm2-primary-alg\":\"dsa\"}",
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":\"AA==\",\"tpm2-pcrs\":[7],\"tpm2-policy-hash\":\"00\",\"tpm2-pin\":\"no\"}",
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":\"AA==\",\"tpm2-pcrs\":[7],\"tpm2-policy-hash\":\"00\",\"tpm2_srk\":\"!!\"}",
                /* recorded values: bad key, short value */
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":\"AA==\",\"tpm2-pcrs\":[7],\"tpm2-policy-hash\":\"00\",\"keystone-pcr-values\":{\"1+7\":\"00\"}}",
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":\"AA==\",\"tpm2-pcrs\":[7],\"tpm2-policy-hash\":\"00\",\"keystone-pcr-values\":{\"7\":\"00\"}}",
                /* trailing garbage */
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":\"AA==\",\"tpm2-pcrs\":[7],\"tpm2-policy-hash\":\"00\"} x",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                Tpm2Token t = {};
                int r = tpm2_token_from_json(bad[i], &t);
                if (r != -EINVAL)
                        fail_msg("token %zu accepted or wrong error %d: %s", i, r, bad[i]);
        }
        Tpm2Token t = {};
        assert_int_equal(tpm2_token_from_json("{\"type\":\"systemd-fido2\"}", &t), -EMEDIUMTYPE);

        const char *pin = "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":\"AA==\",\"tpm2-pcrs\":[7],"
                          "\"tpm2-policy-hash\":\"00\",\"tpm2-pin\":true}";
        assert_int_equal(tpm2_token_from_json(pin, &t), 0);
        assert_true(t.pin);
        assert_null(t.unsupported);
        tpm2_token_done(&t);

        const char *pubkey = "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":\"AA==\",\"tpm2-pcrs\":[],"
                             "\"tpm2-policy-hash\":\"00\",\"tpm2_pubkey_pcrs\":[11],\"tpm2_pubkey\":\"AA==\"}";
        assert_int_equal(tpm2_token_from_json(pubkey, &t), 0);
        assert_non_null(t.unsupported);
        tpm2_token_done(&t);
}

static void test_pin_auth(void **state) {
        uint8_t a[TPM2_SHA256_SIZE];
        char *h = NULL;
        /* systemd 252: SHA256 of the PIN itself (sha256sum of "1234") */
        assert_int_equal(tpm2_pin_auth("1234", NULL, 0, a), 0);
        assert_int_equal(hex_encode(a, sizeof(a), &h), 0);
        assert_string_equal(h, "03ac674216f3e15c761ee1a5e255f067953623c8b388b4459e13f978d7c846f4");
        free(h);
        /* a salt changes it */
        uint8_t b[TPM2_SHA256_SIZE];
        assert_int_equal(tpm2_pin_auth("1234", (const uint8_t *) "salt", 4, b), 0);
        assert_memory_not_equal(a, b, sizeof(a));
}

static void test_base64_hex(void **state) {
        uint8_t *d = NULL;
        size_t n;
        char *s = NULL;
        assert_int_equal(base64_decode("AAECAwQFBgcICQ==", &d, &n), 0);
        assert_int_equal(n, 10);
        assert_int_equal(base64_encode(d, n, &s), 0);
        assert_string_equal(s, "AAECAwQFBgcICQ==");
        free(d);
        free(s);
        assert_int_equal(base64_decode("", &d, &n), 0);
        assert_int_equal(n, 0);
        free(d);
        const char *bad64[] = { "A", "AA=", "A===", "AA AA", "AA\nA=", "=AAA", "AB=C" };
        for (size_t i = 0; i < sizeof(bad64) / sizeof(bad64[0]); i++)
                assert_int_equal(base64_decode(bad64[i], &d, &n), -EINVAL);
        assert_int_equal(hex_decode("00fFaB", &d, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(d[1], 0xff);
        free(d);
        assert_int_equal(hex_decode("abc", &d, &n), -EINVAL);
        assert_int_equal(hex_decode("zz", &d, &n), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_recovery_key_format),
                cmocka_unit_test(test_recovery_key_normalize),
                cmocka_unit_test(test_pcr_mask),
                cmocka_unit_test(test_policy_digest),
                cmocka_unit_test(test_token_systemd),
                cmocka_unit_test(test_token_roundtrip),
                cmocka_unit_test(test_token_malicious),
                cmocka_unit_test(test_pin_auth),
                cmocka_unit_test(test_base64_hex),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
