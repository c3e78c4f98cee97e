/* SPDX-License-Identifier: MIT */
/* Secure Boot enrollment (secureboot/enroll.h): the option-ROM decision from
 * an event log, the update set (order, signers, vendor lists), writing it to
 * a directory laid out like efivarfs, appending in user mode, and the
 * messages of each refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/tmpdir.h"
#include "secureboot/efivars.h"
#include "secureboot/enroll.h"
#include "secureboot/esl.h"
#include "secureboot/eventlog.h"
#include "secureboot/ossl-util.h"
#include "secureboot/pe.h"
#include "secureboot/sbvars.h"
#include "util/file-bytes.h"

static char *keys;      /* one key set for the whole file (RSA 2048) */

typedef struct Log {
        uint8_t b[1024];
        size_t n;
} Log;

/* a SHA-1 format event (no Spec ID header) */
static void event(Log *l, uint32_t pcr, uint32_t type, const char *data) {
        size_t n = strlen(data);
        put_le32(l->b + l->n, pcr);
        put_le32(l->b + l->n + 4, type);
        memset(l->b + l->n + 8, 0, 20);
        put_le32(l->b + l->n + 28, (uint32_t) n);
        memcpy(l->b + l->n + 32, data, n);
        l->n += 32 + n;
}

static void test_option_roms(void **state) {
        Log l = {};
        event(&l, 0, 8, "crtm");
        event(&l, 4, EV_EFI_BOOT_SERVICES_DRIVER, "a driver outside PCR 2");
        char *error = NULL;
        assert_int_equal(sb_enroll_check_option_roms("clean.log", l.b, l.n, &error), 0);
        assert_null(error);
        assert_int_equal(sb_enroll_check_option_roms("empty.log", l.b, 0, &error), 0);

        event(&l, 2, EV_EFI_BOOT_SERVICES_DRIVER, "an option ROM");
        assert_int_equal(sb_enroll_check_option_roms("rom.log", l.b, l.n, &error), -EPERM);
        assert_non_null(strstr(error, "the TPM event log rom.log shows 1 option ROM"));
        assert_non_null(strstr(error, "Microsoft's UEFI CA"));
        event(&l, 2, EV_EFI_BOOT_SERVICES_DRIVER, "another");
        assert_int_equal(sb_enroll_check_option_roms("rom.log", l.b, l.n, &error), -EPERM);
        assert_non_null(strstr(error, "shows 2 option ROM"));

        /* cut in the middle of an event: nothing can be concluded, refused */
        assert_int_equal(sb_enroll_check_option_roms("cut.log", l.b, l.n - 3, &error), -EBADMSG);
        assert_non_null(strstr(error, "cut.log is malformed"));
        free(error);
}

static void test_setup_mode(void **state) {
        char *efivars = test_tmpdir(), *error = NULL;
        uint8_t mode = 7;
        assert_int_equal(sb_enroll_setup_mode(efivars, &mode, &error), -ENOENT);
        assert_non_null(strstr(error, "no SetupMode variable in"));
        assert_int_equal(mode, 7);
        const uint8_t one = 1;
        assert_int_equal(efivar_write(efivars, "SetupMode", &EFI_GLOBAL_VARIABLE_GUID, 6, &one, 1), 0);
        assert_int_equal(sb_enroll_setup_mode(efivars, &mode, &error), 0);
        assert_int_equal(mode, 1);
        free(error);
        test_rm_rf(efivars);
}

static X509 *cert_of(SbKeyKind k) {
        X509 *x = NULL;
        assert_int_equal(sb_cert_load(keys, k, &x), 0);
        return x;
}

static int count_signatures(const SbEnrollUpdate *u) {
        AuthVar av;
        assert_int_equal(authvar_parse(u->auth, u->size, &av), 0);
        return esl_count(av.data, av.data_size);
}

static void test_build(void **state) {
        SbEnrollSet set = {};
        char *error = NULL;
        assert_int_equal(sb_enroll_build(keys, NULL, 1700000000, &set, &error), 0);
        assert_null(error);
        /* db, KEK, PK; each signed by its signer, not by another key */
        static const SbKeyKind order[] = { SB_KEY_DB, SB_KEY_KEK, SB_KEY_PK };
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                const SbEnrollUpdate *u = &set.updates[i];
                assert_int_equal(u->key, order[i]);
                assert_int_equal(count_signatures(u), 1);
                _cleanup_(X509_freep) X509 *signer = cert_of(sb_var_signer(u->key));
                _cleanup_(X509_freep) X509 *other = cert_of(u->key == SB_KEY_DB ? SB_KEY_PK : SB_KEY_DB);
                assert_int_equal(authvar_verify(u->auth, u->size, sb_key_name(u->key), sb_var_vendor(u->key),
                                                SB_ENROLL_ATTRS, signer), 0);
                assert_int_equal(authvar_verify(u->auth, u->size, sb_key_name(u->key), sb_var_vendor(u->key),
                                                SB_ENROLL_ATTRS, other), -EKEYREJECTED);
        }
        assert_int_equal(set.n_vendor_kek + set.n_vendor_db, 0);
        sb_enroll_set_done(&set);
        assert_null(set.updates[0].auth);

        /* no keys: says what it could not read, and where; the command adds how to
         * create them (tests/host/test-secureboot-enroll.sh) */
        char *none = test_tmpdir();
        assert_int_equal(sb_enroll_build(none, NULL, 0, &set, &error), -ENOENT);
        assert_non_null(strstr(error, "cannot read the PK certificate or owner GUID in"));
        assert_non_null(strstr(error, none));
        assert_null(strstr(error, "keygen"));
        test_rm_rf(none);
        free(error);
}

static void copy(const char *from, const char *dir, const char *name) {
        _cleanup_free_ uint8_t *d = NULL;
        size_t n;
        char to[4096];
        assert_int_equal(read_file_bytes(from, 1 << 20, &d, &n), 0);
        snprintf(to, sizeof to, "%s/%s", dir, name);
        assert_int_equal(write_file_bytes_atomic(to, d, n, 0644), 0);
}

static void test_vendor_certs(void **state) {
        char *ms = test_tmpdir(), *error = NULL, p[4096], kek[4096], db[4096];
        snprintf(kek, sizeof kek, "%s/KEK", ms);
        snprintf(db, sizeof db, "%s/db", ms);
        SbEnrollSet set = {};
        /* no KEK/ in the vendor directory */
        assert_int_equal(sb_enroll_build(keys, ms, 0, &set, &error), -ENOENT);
        assert_non_null(strstr(error, "/KEK: "));
        assert_non_null(strstr(error, "needs db/ and KEK/"));

        assert_int_equal(mkdir(kek, 0755), 0);
        assert_int_equal(mkdir(db, 0755), 0);
        snprintf(p, sizeof p, "%s/keys/KEK/KEK.pem", keys);
        copy(p, kek, "kek.pem");
        /* an empty db/ is refused, not enrolled as it is */
        assert_int_equal(sb_enroll_build(keys, ms, 0, &set, &error), -ENOENT);
        assert_non_null(strstr(error, "no certificates in"));

        snprintf(p, sizeof p, "%s/keys/db/db.pem", keys);
        copy(p, db, "a.pem");
        copy(p, db, "b.pem");
        test_write(db, ".hidden", "dot files are skipped");
        assert_int_equal(sb_enroll_build(keys, ms, 0, &set, &error), 0);
        assert_int_equal(set.n_vendor_kek, 1);
        assert_int_equal(set.n_vendor_db, 2);
        assert_int_equal(count_signatures(&set.updates[0]), 3);    /* db: the owner's and two */
        assert_int_equal(count_signatures(&set.updates[1]), 2);    /* KEK */
        assert_int_equal(count_signatures(&set.updates[2]), 1);    /* PK: never a vendor's */
        sb_enroll_set_done(&set);

        test_write(db, "c.txt", "not a certificate");
        assert_int_equal(sb_enroll_build(keys, ms, 0, &set, &error), -EBADMSG);
        assert_non_null(strstr(error, "c.txt is not an X.509 certificate"));
        free(error);
        test_rm_rf(ms);
}

static uint32_t attrs_of(const char *dir, const char *name, const char *guid) {
        _cleanup_free_ uint8_t *d = NULL;
        size_t n;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s-%s", dir, name, guid);
        assert_int_equal(read_file_bytes(p, 1 << 20, &d, &n), 0);
        assert_true(n > 4);
        return le32(d);
}

#define GLOBAL "8be4df61-93ca-11d2-aa0d-00e098032b8c"
#define IMAGE_DB "d719b2cb-3d3a-4596-a3bc-dad00e67656f"

static void test_write_and_append(void **state) {
        char *efivars = test_tmpdir(), *error = NULL, missing[4096];
        SbEnrollSet set = {};
        size_t written = 9;
        assert_int_equal(sb_enroll_build(keys, NULL, 0, &set, &error), 0);
        snprintf(missing, sizeof missing, "%s/none", efivars);
        assert_true(sb_enroll_write(&set, missing, &written, &error) < 0);
        assert_int_equal(written, 0);
        assert_non_null(strstr(error, "writing db to"));
        assert_null(strstr(error, "already written"));
        assert_int_equal(sb_enroll_write(&set, efivars, &written, &error), 0);
        assert_int_equal(written, 3);
        assert_int_equal(attrs_of(efivars, "db", IMAGE_DB), 0x27);
        assert_int_equal(attrs_of(efivars, "KEK", GLOBAL), 0x27);
        assert_int_equal(attrs_of(efivars, "PK", GLOBAL), 0x27);
        sb_enroll_set_done(&set);

        char p[4096];
        snprintf(p, sizeof p, "%s/keys/db/db.pem", keys);
        assert_int_equal(sb_enroll_append(keys, efivars, SB_KEY_PK, p, 0, &error), -EINVAL);
        assert_int_equal(sb_enroll_append(keys, efivars, SB_KEY_KEK, "/nonexistent.pem", 0, &error), -ENOENT);
        assert_non_null(strstr(error, "cannot load certificate /nonexistent.pem"));
        assert_int_equal(sb_enroll_append(keys, efivars, SB_KEY_KEK, p, 0, &error), 0);
        assert_int_equal(attrs_of(efivars, "KEK", GLOBAL), 0x67);
        assert_int_equal(attrs_of(efivars, "db", IMAGE_DB), 0x27);
        free(error);
        test_rm_rf(efivars);
}

static int setup(void **state) {
        keys = test_tmpdir();
        return sb_keys_generate(keys, 2048, "Unit") < 0 ? -1 : 0;
}

static int teardown(void **state) {
        test_rm_rf(keys);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_option_roms),
                cmocka_unit_test(test_setup_mode),
                cmocka_unit_test(test_build),
                cmocka_unit_test(test_vendor_certs),
                cmocka_unit_test(test_write_and_append),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
