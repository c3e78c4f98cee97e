/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <errno.h>

#include <malloc.h>
#include <string.h>

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

/* This program is linked with -Wl,--wrap=free,--wrap=realloc (Makefile):
 * while `watching`, every buffer given back to the allocator is searched
 * for the marker of a secret.  realloc may free its old block, so a block
 * holding the secret must not reach it either. */
#define MARKER "S3CRET-MARKER-0123456789abcdef"
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
static bool watching;
static unsigned leaked;

static void check_released(const void *p) {
        if (!watching || !p)
                return;
        size_t n = malloc_usable_size((void *) p);
        if (memmem(p, n, MARKER, strlen(MARKER)))
                leaked++;
}

void *__wrap_realloc(void *p, size_t n) {
        check_released(p);
        return __real_realloc(p, n);
}

void __wrap_free(void *p) {
        check_released(p);
        __real_free(p);
}

static void test_secret_output_wiped(void **state) {
        /* 100 KiB of output: the capture buffer grows several times */
        size_t size = 100 * 1024, m = strlen(MARKER);
        char *secret = malloc(size);
        assert_non_null(secret);
        for (size_t i = 0; i < size; i++)
                secret[i] = MARKER[i % m];
        const char *argv[] = { "cat", NULL };
        RunOptions o = { .input = secret, .input_size = size };
        RunResult r = {};
        watching = true;
        leaked = 0;
        assert_int_equal(run(argv, &o, &r), 0);
        assert_int_equal(r.out_size, size);
        assert_memory_equal(r.out, secret, size);
        run_result_done(&r);
        assert_int_equal(run(argv, &o, NULL), 0); /* not captured for the caller: freed inside */
        watching = false;
        assert_int_equal(leaked, 0);
        explicit_bzero(secret, size);
        free(secret);
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
                cmocka_unit_test(test_secret_output_wiped),
                cmocka_unit_test(test_exit_codes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
