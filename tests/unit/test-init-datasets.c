/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "init/datasets.h"

/* What `zfs list -H -p -r -t filesystem -o name,mountpoint,canmount,encryptionroot rpool`
 * prints for the disk-single-root layout with two generations. */
static const char good[] =
        "rpool\tnone\ton\t-\n"
        "rpool/crypt\tnone\ton\trpool/crypt\n"
        "rpool/crypt/home\t/home\tnoauto\trpool/crypt\n"
        "rpool/crypt/home/alice\t/home/alice\ton\trpool/crypt\n"
        "rpool/crypt/system\tnone\ton\trpool/crypt\n"
        "rpool/crypt/system/generations\tnone\ton\trpool/crypt\n"
        "rpool/crypt/system/generations/2\t/\tnoauto\trpool/crypt\n"
        "rpool/crypt/system/generations/3\t/\tnoauto\trpool/crypt\n"
        "rpool/crypt/system/var\t/var\tnoauto\trpool/crypt\n"
        "rpool/crypt/system/var/lib\t/var/lib\ton\trpool/crypt\n"
        "rpool/crypt/scratch\tlegacy\ton\trpool/crypt\n"
        "rpool/crypt/off\t/off\toff\trpool/crypt\n";

#define GEN "rpool/crypt/system/generations/3"

static void test_good(void **state) {
        InitMountPlan p = {};
        char *e = NULL;
        assert_int_equal(init_mount_plan(good, GEN, "rpool/crypt", &p, &e), 0);
        assert_null(e);
        const char *want[][2] = {
                { GEN, "/" },
                { "rpool/crypt/home", "/home" },
                { "rpool/crypt/system/var", "/var" },
                { "rpool/crypt/home/alice", "/home/alice" },
                { "rpool/crypt/system/var/lib", "/var/lib" },
        };
        assert_int_equal(p.n, 5);
        for (size_t i = 0; i < p.n; i++) {
                assert_string_equal(p.mounts[i].name, want[i][0]);
                assert_string_equal(p.mounts[i].mountpoint, want[i][1]);
                assert_string_equal(p.mounts[i].encryptionroot, "rpool/crypt");
        }
        init_mount_plan_done(&p);
}

static void expect(const char *listing, const char *gen, int err, const char *needle) {
        InitMountPlan p = {};
        char *e = NULL;
        assert_int_equal(init_mount_plan(listing, gen, "rpool/crypt", &p, &e), err);
        assert_int_equal(p.n, 0);
        assert_null(p.mounts);
        assert_non_null(e);
        if (!strstr(e, needle))
                fail_msg("message '%s' lacks '%s'", e, needle);
        free(e);
}

static void test_foreign_encryptionroot(void **state) {
        char l[4096];
        /* an unencrypted dataset that would be mounted over /var/lib/keystone */
        snprintf(l, sizeof l, "%srpool/planted\t/var/lib/keystone\ton\t-\n", good);
        expect(l, GEN, -EPERM, "refusing to mount rpool/planted on /var/lib/keystone: its encryptionroot is none "
                               "(not encrypted), not rpool/crypt");
        /* encrypted, but with a key someone else chose */
        snprintf(l, sizeof l, "%srpool/other\tnone\ton\trpool/other\nrpool/other/x\t/srv\ton\trpool/other\n", good);
        expect(l, GEN, -EPERM, "refusing to mount rpool/other/x on /srv: its encryptionroot is rpool/other, not "
                               "rpool/crypt");
        /* the generation itself */
        snprintf(l, sizeof l, "rpool/crypt/system/generations/3\t/\tnoauto\t-\n");
        expect(l, GEN, -EPERM, "refusing to mount " GEN " on /: its encryptionroot is none");
        /* a look-alike name does not count as the encryption root */
        snprintf(l, sizeof l, "%srpool/crypt2\t/opt\ton\trpool/crypt2\n", good);
        expect(l, GEN, -EPERM, "its encryptionroot is rpool/crypt2, not rpool/crypt");
}

static void test_not_mounted_not_checked(void **state) {
        char l[4096];
        InitMountPlan p = {};
        char *e = NULL;
        /* foreign datasets that would not be mounted (canmount off, none, legacy, /) pass */
        snprintf(l, sizeof l, "%srpool/a\t/a\toff\t-\nrpool/c\tnone\ton\t-\n"
                 "rpool/d\tlegacy\ton\t-\nrpool/e\t/\ton\t-\n", good);
        assert_int_equal(init_mount_plan(l, GEN, "rpool/crypt", &p, &e), 0);
        assert_int_equal(p.n, 5);
        init_mount_plan_done(&p);
        /* canmount=noauto is mounted (the layout's shared datasets are), so a
         * foreign one is refused */
        snprintf(l, sizeof l, "%srpool/b\t/b\tnoauto\t-\n", good);
        assert_int_equal(init_mount_plan(l, GEN, "rpool/crypt", &p, &e), -EPERM);
        assert_non_null(strstr(e, "rpool/b"));
        free(e);
        e = NULL;
}

/* The generation alone: nothing else to mount (an empty list to sort). */
static void test_only_generation(void **state) {
        InitMountPlan p = {};
        char *e = NULL;
        assert_int_equal(init_mount_plan(GEN "\t/\tnoauto\trpool/crypt\n", GEN, "rpool/crypt", &p, &e), 0);
        assert_null(e);
        assert_int_equal(p.n, 1);
        assert_string_equal(p.mounts[0].name, GEN);
        init_mount_plan_done(&p);
}

static void test_missing_generation(void **state) {
        expect(good, "rpool/crypt/system/generations/9", -ENOENT,
               "the generation rpool/crypt/system/generations/9 does not exist in the pool (generations there: 2, 3)");
        expect("rpool\tnone\ton\t-\n", "rpool/crypt/system/generations/1", -ENOENT, "(generations there: none)");
        expect("", GEN, -ENOENT, "does not exist");
}

static void test_malformed(void **state) {
        expect("rpool\tnone\ton\n", GEN, -EBADMSG, "line 1 of 'zfs list' is not NAME MOUNTPOINT CANMOUNT ENCRYPTIONROOT");
        expect("rpool\tnone\ton\t-\textra\n", GEN, -EBADMSG, "line 1");
        expect("rpool\tnone\ton\t-\nrpool/x\t\ton\t-\n", GEN, -EBADMSG, "line 2");
        expect("rpool none on -\n", GEN, -EBADMSG, "'rpool none on -'");
        /* mountpoints that could leave /sysroot, even below the encryption root */
        expect("rpool/crypt/x\t/../../etc\ton\trpool/crypt\n", GEN, -EBADMSG,
               "refusing to mount rpool/crypt/x: its mountpoint '/../../etc' has");
        expect("rpool/crypt/x\t/var/./lib\ton\trpool/crypt\n", GEN, -EBADMSG, "'/var/./lib'");
        expect("rpool/crypt/x\t/var//lib\ton\trpool/crypt\n", GEN, -EBADMSG, "'/var//lib'");
        expect("rpool/crypt/x\t/var/\ton\trpool/crypt\n", GEN, -EBADMSG, "'/var/'");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good),
                cmocka_unit_test(test_foreign_encryptionroot),
                cmocka_unit_test(test_not_mounted_not_checked),
                cmocka_unit_test(test_only_generation),
                cmocka_unit_test(test_missing_generation),
                cmocka_unit_test(test_malformed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
