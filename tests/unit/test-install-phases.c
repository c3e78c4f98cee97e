/* SPDX-License-Identifier: MIT */
/* install/phases.h: --phases (any subset, in order; what is refused and
 * why), and the operator's record of ended phases (written, read back,
 * resumed at the first that did not end, reset; a damaged record refused
 * rather than guessed at). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/tmpdir.h"
#include "install/phases.h"

#define BIT(p) (1u << INSTALL_PHASE_##p)

static void test_parse(void **state) {
        unsigned m = 0;
        char *e = NULL;
        assert_int_equal(install_phases_parse("kexec,disk,install,reboot,enroll", &m, &e), 0);
        assert_int_equal(m, INSTALL_PHASES_ALL);
        assert_int_equal(install_phases_parse("disk,enroll", &m, &e), 0);
        assert_int_equal(m, BIT(DISK) | BIT(ENROLL));
        assert_int_equal(install_phases_parse("reboot", &m, &e), 0);
        assert_int_equal(m, BIT(REBOOT));
        assert_null(e);

        static const struct { const char *in, *needle; } bad[] = {
                { "", "empty" },
                { "kexec,format", "'format' is not a phase" },
                { "disk,disk", "disk is given twice" },
                { "install,disk", "disk comes before install" },
                { "kexec,,disk", "'' is not a phase" },
                { "kexec,", "'' is not a phase" },
                { "Disk", "'Disk' is not a phase" },
                { "diskx", "'diskx' is not a phase" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                m = 12345;
                e = NULL;
                assert_int_equal(install_phases_parse(bad[i].in, &m, &e), -EINVAL);
                assert_int_equal(m, 12345);
                assert_non_null(e);
                if (!strstr(e, bad[i].needle))
                        fail_msg("'%s': '%s' lacks '%s'", bad[i].in, e, bad[i].needle);
                free(e);
        }
}

static void test_record(void **state) {
        char *dir = test_tmpdir();
        char sub[4200];
        snprintf(sub, sizeof sub, "%s/state/host", dir);
        InstallRecord rec;
        char *e = NULL;
        assert_int_equal(install_record_load(sub, &rec, &e), 0);
        assert_int_equal(rec.done, 0);
        assert_int_equal(install_record_next(&rec, INSTALL_PHASES_ALL), INSTALL_PHASE_KEXEC);

        assert_int_equal(install_record_mark(sub, &rec, INSTALL_PHASE_KEXEC, 41.5, &e), 0);
        assert_int_equal(install_record_mark(sub, &rec, INSTALL_PHASE_DISK, 12.25, &e), 0);
        char path[4300];
        snprintf(path, sizeof path, "%s/phases", sub);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        snprintf(path, sizeof path, "%s", sub);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);

        /* a new run reads what the killed one recorded and goes on after it */
        InstallRecord again;
        assert_int_equal(install_record_load(sub, &again, &e), 0);
        assert_int_equal(again.done, BIT(KEXEC) | BIT(DISK));
        assert_true(again.seconds[INSTALL_PHASE_DISK] > 12.1 && again.seconds[INSTALL_PHASE_DISK] < 12.4);
        assert_true(again.ended[INSTALL_PHASE_KEXEC] > 1700000000);
        assert_int_equal(install_record_next(&again, INSTALL_PHASES_ALL), INSTALL_PHASE_INSTALL);
        /* only the phases asked for count */
        assert_int_equal(install_record_next(&again, BIT(DISK) | BIT(ENROLL)), INSTALL_PHASE_ENROLL);
        assert_int_equal(install_record_next(&again, BIT(KEXEC) | BIT(DISK)), _INSTALL_PHASE_MAX);

        assert_int_equal(install_record_reset(sub, &again, &e), 0);
        assert_int_equal(again.done, 0);
        assert_int_equal(install_record_load(sub, &rec, &e), 0);
        assert_int_equal(rec.done, 0);
        assert_null(e);

        /* a damaged record is refused, naming the line */
        static const char *const damaged[] = {
                "kexec 1764000000 3.0\ndisk 1764000000\n",
                "kexec 1764000000 3.0\nformat 1764000000 1.0\n",
                "kexec 1764000000 3.0 extra\n",
                "kexec -5 3.0\n",
        };
        for (size_t i = 0; i < sizeof damaged / sizeof damaged[0]; i++) {
                test_write(sub, "phases", damaged[i]);
                e = NULL;
                rec.done = 99;
                assert_int_equal(install_record_load(sub, &rec, &e), -EBADMSG);
                assert_non_null(e);
                if (!strstr(e, "/phases:") || !strstr(e, "--fresh"))
                        fail_msg("'%s' lacks the line or --fresh", e);
                assert_int_equal(rec.done, 0);
                free(e);
        }
        test_rm_rf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_record),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
