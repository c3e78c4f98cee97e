/* SPDX-License-Identifier: MIT */
/* util/strv.h: strv_length, strv_free and its cleanup form (ASan's leak
 * check sees what they miss). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "util/strv.h"

static char **make(size_t n) {
        char **v = calloc(n + 1, sizeof(char *));
        assert_non_null(v);
        for (size_t i = 0; i < n; i++) {
                v[i] = strdup("item");
                assert_non_null(v[i]);
        }
        return v;
}

static void test_strv_length(void **state) {
        assert_int_equal(strv_length(NULL), 0);
        char **v = make(0);
        assert_int_equal(strv_length(v), 0);
        strv_free(v);
        v = make(3);
        assert_int_equal(strv_length(v), 3);
        strv_free(v);
}

static void test_strv_free_null_and_cleanup(void **state) {
        strv_free(NULL); /* accepted */
        _cleanup_strv_free_ char **v = make(5);
        _cleanup_strv_free_ char **none = NULL;
        assert_string_equal(v[4], "item");
        assert_null(none);
        /* leaving the scope frees v and its strings: the leak checker says
         * so if it does not */
}

/* the whole line around the needle, the first, the last, truncated; absent: untouched */
static void test_text_line_containing(void **state) {
        const char *t = "[ 1/8] import ... ok\n[ 2/8] cryptsetup ... ok (0.5 s): opened with TPM2 token 1\nlast line";
        char out[128] = "unchanged";
        text_line_containing(t, "opened with TPM2", out, sizeof out);
        assert_string_equal(out, "[ 2/8] cryptsetup ... ok (0.5 s): opened with TPM2 token 1");
        text_line_containing(t, "import", out, sizeof out);
        assert_string_equal(out, "[ 1/8] import ... ok");
        text_line_containing(t, "line", out, sizeof out);
        assert_string_equal(out, "last line");
        char small[8];
        text_line_containing(t, "cryptsetup", small, sizeof small);
        assert_string_equal(small, "[ 2/8] ");
        snprintf(out, sizeof out, "unchanged");
        text_line_containing(t, "over SSH", out, sizeof out);
        assert_string_equal(out, "unchanged");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_strv_length),
                cmocka_unit_test(test_strv_free_null_and_cleanup),
                cmocka_unit_test(test_text_line_containing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
