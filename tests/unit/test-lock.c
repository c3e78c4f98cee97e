/* SPDX-License-Identifier: MIT */
/* keystone.lock: the file round-trips, malformed files are refused at their
 * line, apt's simulation and dpkg's status parse to exact versions, Debian
 * version order follows deb-version(7), and the check names every locked
 * version the archive no longer serves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/lock.h"
#include "util/macro.h"

static const char good[] =
        "# a comment\n"
        "[archive]\n"
        "suite = \"trixie\"\n"
        "mirror = \"http://deb.debian.org/debian\"\n"
        "components = \"main contrib\"\n"
        "architecture = \"amd64\"\n"
        "release = \"13.8\"\n"
        "resolved = \"2026-11-29T02:00:00Z\"\n"
        "\n"
        "[packages]\n"
        "\"zlib1g\" = \"1:1.3.dfsg+really1.3.1-1+b1\"\n"
        "\"g++\" = \"4:14.2.0-1\"\n"
        "\"libc6\" = \"2.41-12+deb13u5\"   # trailing comment\n";

static void test_parse_write_roundtrip(void **state) {
        ImageLock l = {};
        unsigned line = 0;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(image_lock_parse(good, &l, &line, &why), 0);
        assert_string_equal(l.suite, "trixie");
        assert_string_equal(l.release, "13.8");
        assert_int_equal(l.n_packages, 3);
        /* sorted by name */
        assert_string_equal(l.packages[0].name, "g++");
        assert_string_equal(l.packages[2].name, "zlib1g");
        assert_string_equal(image_lock_version(&l, "libc6"), "2.41-12+deb13u5");
        assert_string_equal(image_lock_version(&l, "zlib1g"), "1:1.3.dfsg+really1.3.1-1+b1");
        assert_null(image_lock_version(&l, "libc"));

        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        assert_int_equal(image_lock_write(&l, f), 0);
        fclose(f);
        assert_non_null(strstr(text, "[packages]\n\"g++\" = \"4:14.2.0-1\"\n\"libc6\" = \"2.41-12+deb13u5\"\n"
                                     "\"zlib1g\" = \"1:1.3.dfsg+really1.3.1-1+b1\"\n"));
        ImageLock back = {};
        assert_int_equal(image_lock_parse(text, &back, &line, &why), 0);
        assert_int_equal(back.n_packages, 3);
        for (size_t i = 0; i < 3; i++) {
                assert_string_equal(back.packages[i].name, l.packages[i].name);
                assert_string_equal(back.packages[i].version, l.packages[i].version);
        }
        assert_string_equal(back.resolved, l.resolved);
        /* writing the parsed text again gives the same bytes */
        char *text2 = NULL;
        f = open_memstream(&text2, &size);
        assert_int_equal(image_lock_write(&back, f), 0);
        fclose(f);
        assert_string_equal(text, text2);
        free(text);
        free(text2);
        image_lock_done(&back);
        image_lock_done(&l);
}

static void test_parse_bad(void **state) {
        static const struct {
                const char *text;
                unsigned line;
        } bad[] = {
                { "", 1 },
                { "[packages]\n\"a1\" = \"1\"\n", 1 },
                { "[archive]\nsuite = \"trixie\"\n", 2 },
                { "[archive]\nsuite = \"t\"\nsuite = \"u\"\n", 3 },
                { "[archive]\nflavour = \"x\"\n", 2 },
                { "[archive]\nsuite = trixie\n", 2 },
                { "[archive]\nsuite = \"tri\\\"xie\"\n", 2 },
                { "[archive]\nsuite = \"trixie\" extra\n", 2 },
                { "x = \"1\"\n", 1 },
                { "[archive]\n[weird]\n", 2 },
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                ImageLock l = {};
                unsigned line = 0;
                _cleanup_free_ char *why = NULL;
                int r = image_lock_parse(bad[i].text, &l, &line, &why);
                if (r != -EINVAL)
                        fail_msg("accepted (%d): %s", r, bad[i].text);
                assert_non_null(why);
                if (bad[i].line != 1 || line != 0)
                        assert_true(line >= bad[i].line);
        }
        /* package lines: exact line numbers */
        const char *head = "[archive]\nsuite = \"t\"\nmirror = \"m\"\ncomponents = \"main\"\narchitecture = \"amd64\"\n"
                           "[packages]\n\"ok\" = \"1.0\"\n";
        const char *tails[] = {
                "\"Upper\" = \"1.0\"\n",     /* not a package name */
                "\"ok\" = \"2.0\"\n",        /* twice */
                "\"b\" = \"1.0\"\n",         /* too short a name */
                "\"bad\" = \"x1.0\"\n",      /* a version starts with a digit */
                "\"bad\" = \"1.0 2\"\n",     /* no spaces */
                "\"bad\" = \"1.0;rm\"\n",    /* no shell characters */
                "\"bad\" = \"a:1.0\"\n",     /* the epoch is a number */
        };
        for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
                char text[512];
                snprintf(text, sizeof text, "%s%s", head, tails[i]);
                ImageLock l = {};
                unsigned line = 0;
                _cleanup_free_ char *why = NULL;
                if (image_lock_parse(text, &l, &line, &why) != -EINVAL)
                        fail_msg("accepted: %s", tails[i]);
                assert_int_equal(line, 8);
        }
}

static void test_version_compare(void **state) {
        static const struct {
                const char *a, *b;
                int want;
        } v[] = {
                { "1.0", "1.0", 0 },
                { "1.0", "1.1", -1 },
                { "1.10", "1.9", 1 },
                { "1.0~rc1", "1.0", -1 },      /* ~ sorts before the end */
                { "1.0~~", "1.0~", -1 },
                { "1.0-1", "1.0-2", -1 },
                { "1:0.9", "2.0", 1 },         /* the epoch wins */
                { "2.41-12", "2.41-12+deb13u5", -1 },
                { "1.0a", "1.0+", -1 },        /* letters before other characters */
                { "1.001", "1.1", 0 },         /* numbers, not strings */
                { "0:1.0", "1.0", 0 },
                { "1.0-1-2", "1.0-1-10", -1 }, /* the last '-' starts the revision */
        };
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
                int got = debian_version_compare(v[i].a, v[i].b);
                if (got != v[i].want)
                        fail_msg("compare(%s, %s) = %d, want %d", v[i].a, v[i].b, got, v[i].want);
                int rev = debian_version_compare(v[i].b, v[i].a);
                if (rev != -v[i].want)
                        fail_msg("compare(%s, %s) = %d, want %d", v[i].b, v[i].a, rev, -v[i].want);
        }
}

static void test_apt_simulation(void **state) {
        const char *out = "NOTE: This is only a simulation!\n"
                          "Inst gcc-14-base (14.2.0-19 Debian:13.8/stable [amd64])\n"
                          "Inst libc6 (2.41-12+deb13u5 Debian:13.8/stable [amd64]) []\n"
                          "Inst base-files [13.7] (13.8 Debian:13.8/stable [amd64])\n"
                          "Inst libfoo:i386 (1.2-3 Debian:13.8/stable [i386])\n"
                          "Conf gcc-14-base (14.2.0-19 Debian:13.8/stable [amd64])\n";
        ImageLock l = {};
        assert_int_equal(image_lock_add_apt_simulation(&l, out), 4);
        assert_int_equal(l.n_packages, 4);
        assert_string_equal(image_lock_version(&l, "gcc-14-base"), "14.2.0-19");
        assert_string_equal(image_lock_version(&l, "libc6"), "2.41-12+deb13u5");
        assert_string_equal(image_lock_version(&l, "base-files"), "13.8");
        assert_string_equal(image_lock_version(&l, "libfoo"), "1.2-3");
        assert_string_equal(l.release, "13.8");
        image_lock_done(&l);

        const char *bad[] = { "Inst x (1.0 a)\n", "Inst libc6\n", "Inst libc6 (\n", "Inst libc6 [1.0 (2.0 x)\n",
                              "Inst libc6 (1;reboot x)\n" };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                ImageLock b = {};
                if (image_lock_add_apt_simulation(&b, bad[i]) >= 0)
                        fail_msg("accepted: %s", bad[i]);
                image_lock_done(&b);
        }
}

static void test_dpkg_status(void **state) {
        const char *status = "Package: libc6\nStatus: install ok installed\nPriority: optional\n"
                             "Version: 2.41-12\nDescription: x\n y\n\n"
                             "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\n"
                             "Package: zlib1g\nVersion: 1:1.3\nStatus: install ok installed";
        ImageLock l = {};
        assert_int_equal(image_lock_add_dpkg_status(&l, status), 0);
        assert_int_equal(l.n_packages, 2);
        assert_string_equal(image_lock_version(&l, "libc6"), "2.41-12");
        assert_string_equal(image_lock_version(&l, "zlib1g"), "1:1.3");
        assert_null(image_lock_version(&l, "gone"));
        image_lock_done(&l);
        ImageLock b = {};
        assert_int_equal(image_lock_add_dpkg_status(&b, "Package: X Y\nVersion: 1\nStatus: install ok installed\n"),
                         -EBADMSG);
        image_lock_done(&b);
}

static void test_check(void **state) {
        ImageLock l = {};
        unsigned line;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(image_lock_parse(good, &l, &line, &why), 0);
        const char packages[] = "Package: libc6\nArchitecture: amd64\nVersion: 2.41-12+deb13u6\n\n"
                                "Package: g++\nVersion: 4:14.2.0-1\n\n"
                                "Package: libc6\nVersion: 2.41-12\n\n"
                                "Package: other\nVersion: 1.0\n";
        AptIndex x = {};
        assert_int_equal(apt_index_add_packages_file(&x, packages, strlen(packages)), 0);
        apt_index_sort(&x);
        LockMismatch *m = NULL;
        int n = image_lock_check(&l, &x, &m);
        /* libc6's locked version is gone (newer ones served), zlib1g is gone altogether */
        assert_int_equal(n, 2);
        assert_string_equal(m[0].name, "libc6");
        assert_string_equal(m[0].locked, "2.41-12+deb13u5");
        assert_string_equal(m[0].available, "2.41-12+deb13u6");
        assert_int_equal(m[0].order, 1);
        assert_string_equal(m[1].name, "zlib1g");
        assert_null(m[1].available);
        free(m);

        /* once the archive serves every locked version, nothing is reported */
        const char more[] = "Package: libc6\nVersion: 2.41-12+deb13u5\n\nPackage: zlib1g\n"
                            "Version: 1:1.3.dfsg+really1.3.1-1+b1\n";
        assert_int_equal(apt_index_add_packages_file(&x, more, strlen(more)), 0);
        apt_index_sort(&x);
        m = NULL;
        assert_int_equal(image_lock_check(&l, &x, &m), 0);
        assert_null(m);
        apt_index_done(&x);
        image_lock_done(&l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_write_roundtrip), cmocka_unit_test(test_parse_bad),
                cmocka_unit_test(test_version_compare),       cmocka_unit_test(test_apt_simulation),
                cmocka_unit_test(test_dpkg_status),           cmocka_unit_test(test_check),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
