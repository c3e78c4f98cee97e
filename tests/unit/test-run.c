/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <errno.h>

#include "util/exit-code.h"
#include "util/run.h"

static void test_capture_and_status(void **state) {
        RunResult r = {};
        const char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
        assert_int_equal(run(argv, NULL, &r), -EPROTO);
        assert_int_equal(r.exit_status, 3);
        assert_string_equal(r.out, "out\n");
        assert_string_equal(r.err, "err\n");
        assert_string_equal(run_result_describe(&r), "exited with status 3: err");
        run_result_done(&r);
}

static void test_stdin(void **state) {
        RunResult r = {};
        const char *argv[] = { "cat", NULL };
        /* larger than a pipe buffer, so writing and reading must interleave */
        size_t n = 300000;
        char *in = malloc(n);
        for (size_t i = 0; i < n; i++)
                in[i] = 'a' + i % 26;
        RunOptions o = { .input = in, .input_size = n };
        assert_int_equal(run(argv, &o, &r), 0);
        assert_int_equal(r.out_size, n);
        assert_memory_equal(r.out, in, n);
        run_result_done(&r);
        free(in);
}

static void test_missing_program(void **state) {
        const char *argv[] = { "keystone-no-such-program", NULL };
        assert_int_equal(run(argv, NULL, NULL), -ENOENT);
}

static void test_timeout(void **state) {
        const char *argv[] = { "sleep", "10", NULL };
        RunOptions o = { .timeout_ms = 200 };
        RunResult r = {};
        assert_int_equal(run(argv, &o, &r), -ETIMEDOUT);
        assert_int_equal(r.signal, SIGKILL);
        run_result_done(&r);
}

static void test_dry_run(void **state) {
        run_set_dry_run(true);
        const char *argv[] = { "false", NULL };
        assert_int_equal(run(argv, NULL, NULL), 0);
        run_set_dry_run(false);
        assert_int_equal(run(argv, NULL, NULL), -EPROTO);
}

static void test_env_and_quote(void **state) {
        char *env[] = { (char *) "KS_TEST_VAR=x y", NULL };
        RunOptions o = { .env_extra = env };
        RunResult r = {};
        const char *argv[] = { "sh", "-c", "printf %s \"$KS_TEST_VAR\"", NULL };
        assert_int_equal(run(argv, &o, &r), 0);
        assert_string_equal(r.out, "x y");
        run_result_done(&r);
        char *s = argv_to_string(argv);
        assert_string_equal(s, "sh -c 'printf %s \"$KS_TEST_VAR\"'");
        free(s);
}

static void test_exit_codes(void **state) {
        assert_int_equal(exit_code_from_errno(0), 0);
        assert_int_equal(exit_code_from_errno(-ENOENT), 1);
        assert_int_equal(exit_code_from_errno(-KS_EUSAGE), 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_capture_and_status),
                cmocka_unit_test(test_stdin),
                cmocka_unit_test(test_missing_program),
                cmocka_unit_test(test_timeout),
                cmocka_unit_test(test_dry_run),
                cmocka_unit_test(test_env_and_quote),
                cmocka_unit_test(test_exit_codes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
