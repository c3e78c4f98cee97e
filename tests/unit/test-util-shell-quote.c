/* SPDX-License-Identifier: MIT */
/* util/shell-quote.h: a word quoted by shell_quote()/shell_join() comes out
 * of sh -c as the same bytes, whatever it holds; nothing in it runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/run.h"
#include "util/shell-quote.h"

static char dir[] = "/tmp/keystone-test-quote.XXXXXX";

static const char *const nasty[] = {
        "host file.toml",            /* a space */
        "it's",                      /* a single quote */
        "\"double\"",                /* double quotes */
        "$(touch CANARY)",           /* command substitution */
        "`touch CANARY`",            /* the old form */
        "a\nb; touch CANARY",        /* a newline, then a command */
        "$HOME ${PATH} $1",          /* expansions */
        "*",                         /* a glob (dir holds a file) */
        "~",                         /* tilde expansion */
        "a\\b",                      /* a backslash */
        "x'; touch CANARY; echo '",  /* breaking out of single quotes */
        "",                          /* the empty word */
        "-n",                        /* an option-looking word is still a word */
        "tab\there & | ; < > ( ) { } [ ] ! # ?",
};

/* runs `sh -c LINE` in dir; returns its stdout (malloc'd) */
static char *sh_out(const char *line, size_t *ret_size) {
        const char *argv[] = { "sh", "-c", line, NULL };
        RunResult rr = {};
        assert_int_equal(run(argv, &(RunOptions) { .cwd = dir }, &rr), 0);
        char *out = rr.out;
        *ret_size = rr.out_size;
        rr.out = NULL;
        run_result_done(&rr);
        return out;
}

static void assert_no_canary(void) {
        char p[256];
        snprintf(p, sizeof p, "%s/CANARY", dir);
        assert_int_equal(access(p, F_OK), -1);
}

static void test_each_word_round_trips(void **state) {
        for (size_t i = 0; i < sizeof nasty / sizeof nasty[0]; i++) {
                const char *argv[] = { "printf", "%s", nasty[i], NULL };
                char *line = shell_join(argv);
                assert_non_null(line);
                size_t n = 0;
                char *out = sh_out(line, &n);
                if (n != strlen(nasty[i]) || memcmp(out, nasty[i], n) != 0)
                        fail_msg("word %zu came back changed\n  word: [%s]\n  line: [%s]\n  out:  [%.*s]", i,
                                 nasty[i], line, (int) n, out);
                free(out);
                free(line);
                assert_no_canary();
        }
}

/* all of them at once: as many words come out as went in */
static void test_argv_round_trips(void **state) {
        const char *argv[32] = { "printf", "[%s]\\n" };
        size_t k = 2;
        for (size_t i = 0; i < sizeof nasty / sizeof nasty[0]; i++)
                argv[k++] = nasty[i];
        argv[k] = NULL;
        /* the format itself is a word shell_join quotes too */
        char *line = shell_join(argv);
        size_t n = 0;
        char *out = sh_out(line, &n);
        char want[1024] = "", *p = want;
        for (size_t i = 0; i < sizeof nasty / sizeof nasty[0]; i++)
                p += sprintf(p, "[%s]\n", nasty[i]);
        assert_string_equal(out, want);
        free(out);
        free(line);
        assert_no_canary();
}

static void test_quote_shapes(void **state) {
        char *q;
        /* plain words stay as they are: log lines stay readable */
        assert_string_equal(q = shell_quote("/run/media/host/web-1.toml"), "/run/media/host/web-1.toml");
        free(q);
        assert_string_equal(q = shell_quote("--pcrs=1+7"), "--pcrs=1+7");
        free(q);
        assert_string_equal(q = shell_quote("it's"), "'it'\\''s'");
        free(q);
        assert_string_equal(q = shell_quote(""), "''");
        free(q);
        /* a first word with '=' would be an assignment, later ones are not */
        const char *argv[] = { "A=1", "B=2", NULL };
        assert_string_equal(q = shell_join(argv), "'A=1' B=2");
        free(q);
        /* run()'s log line is the same join */
        const char *log_argv[] = { "sh", "-c", "echo started; exec sleep 30", NULL };
        assert_string_equal(q = argv_to_string(log_argv), "sh -c 'echo started; exec sleep 30'");
        free(q);
}

static int setup(void **state) {
        if (!mkdtemp(dir))
                return -1;
        char p[256];
        snprintf(p, sizeof p, "%s/a-file", dir); /* what a glob would find */
        FILE *f = fopen(p, "we");
        if (!f)
                return -1;
        fclose(f);
        return 0;
}

static int teardown(void **state) {
        const char *argv[] = { "rm", "-rf", "--", dir, NULL };
        return run(argv, NULL, NULL) < 0 ? -1 : 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_each_word_round_trips),
                cmocka_unit_test(test_argv_round_trips),
                cmocka_unit_test(test_quote_shapes),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
