/* SPDX-License-Identifier: MIT */
/* The command framework (src/cmd/cmd.c) on a small tree of fake verbs:
 * dispatch to the right handler, options refused where a verb does not
 * allow them, argument bounds, generated help, repeated options, unknown
 * options, missing option arguments, and the verb's path in front of every
 * message while it runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"

#define T_OPTIONS(X)                                                                            \
        X(T_OPT_DEVICE, "device", 'd', "DEV", "plan apply", "a block device")                    \
        X(T_OPT_YES, "yes", 'y', NULL, "apply", "do not ask")                                    \
        X(T_OPT_TAG, "tag", 0, "T", NULL, "a tag, given any number of times")                    \
        X(T_OPT_COUNT, "count", 0, "N", "status", "how many\nsecond line of its help")           \
        X(T_OPT_LEVEL, "level", 0, "N", "status", "from 2 to 5")
enum { T_OPTIONS(CMD_OPTION_ID) };
static const CmdOption t_options[] = { T_OPTIONS(CMD_OPTION_ENTRY) {} };

/* What the last handler saw. */
static struct {
        const char *handler;
        int n_args;
        char args[4][32];
        const CmdArgs *a;
} seen;

static int record(const char *name, const CmdArgs *a) {
        seen.handler = name;
        seen.n_args = a->n_args;
        for (int i = 0; i < a->n_args && i < 4; i++)
                snprintf(seen.args[i], sizeof seen.args[i], "%s", a->args[i]);
        seen.a = NULL;
        return 0;
}

static int run_plan(const CmdArgs *a) { return record("plan", a); }
static uint64_t count, level;
static int run_status(const CmdArgs *a) {
        count = 7;
        level = 3;
        int r = cmd_opt_uint(a, T_OPT_COUNT, 10, &count);
        if (r >= 0)
                r = cmd_opt_uint_range(a, T_OPT_LEVEL, 2, 5, &level);
        return r < 0 ? r : record("status", a);
}
static int run_top(const CmdArgs *a) { return record("top", a); }

/* apply checks what it was given while it can: CmdArgs lives only for the call */
static char tags[64], device[32];
static int run_apply(const CmdArgs *a) {
        tags[0] = 0;
        int i = 0;
        for (const char *t; (t = cmd_opt_next(a, T_OPT_TAG, &i));)
                snprintf(tags + strlen(tags), sizeof tags - strlen(tags), "%s%s", tags[0] ? "," : "", t);
        snprintf(device, sizeof device, "%s", cmd_opt(a, T_OPT_DEVICE) ?: "(none)");
        if (cmd_flag(a, T_OPT_YES))
                log_error("refusing: %s", "boom"); /* carries the verb's path */
        return record("apply", a);
}

static const Verb fam_verbs[] = {
        { "plan", "[DEV]", "show the plan", 0, 1, run_plan, .description = "Show the plan of DEV." },
        { "apply", "DEV", "apply it", 1, 1, run_apply, .description = "Apply the plan to DEV.",
          .epilog = "Apply's epilog.\n" },
        { "status", NULL, "say how it stands", 0, 0, .run = run_status },
        {}
};

static const Verb root_verbs[] = {
        { "fam", "VERB", "a family of verbs", 1, -1, .verbs = fam_verbs, .options = t_options },
        { "top", "ARGS...", "a first-level command", 0, -1, .run = run_top },
        {}
};

/* the root of the fake tree */
const Verb keystone_verb = { "prog", NULL, "the fake program", 0, -1, .verbs = root_verbs };

/* Runs "prog ARGS..." (NULL-terminated), capturing stdout and stderr. */
static char out[16384], err[16384];
static void slurp(FILE *f, char *buf, size_t size) {
        rewind(f);
        size_t n = fread(buf, 1, size - 1, f);
        buf[n] = 0;
        fclose(f);
}
static int prog(const char *arg, ...) {
        char *argv[16] = { (char *) "prog" };
        int argc = 1;
        va_list ap;
        va_start(ap, arg);
        for (const char *s = arg; s && argc < 15; s = va_arg(ap, const char *))
                argv[argc++] = (char *) s;
        va_end(ap);
        argv[argc] = NULL;

        memset(&seen, 0, sizeof seen);
        FILE *fo = tmpfile(), *fe = tmpfile();
        assert_non_null(fo);
        assert_non_null(fe);
        fflush(stdout);
        fflush(stderr);
        int so = dup(STDOUT_FILENO), se = dup(STDERR_FILENO);
        dup2(fileno(fo), STDOUT_FILENO);
        dup2(fileno(fe), STDERR_FILENO);
        int r = cmd_run(&keystone_verb, argc, argv);
        fflush(stdout);
        fflush(stderr);
        dup2(so, STDOUT_FILENO);
        dup2(se, STDERR_FILENO);
        close(so);
        close(se);
        slurp(fo, out, sizeof out);
        slurp(fe, err, sizeof err);
        return r;
}

#define assert_contains(hay, needle)                                                            \
        do {                                                                                    \
                if (!strstr((hay), (needle)))                                                   \
                        fail_msg("expected '%s' in:\n%s", (needle), (hay));                     \
        } while (0)

static void test_dispatch(void **state) {
        assert_int_equal(prog("fam", "apply", "/dev/x", NULL), 0);
        assert_string_equal(seen.handler, "apply");
        assert_int_equal(seen.n_args, 1);
        assert_string_equal(seen.args[0], "/dev/x");
        assert_string_equal(err, "");

        assert_int_equal(prog("fam", "plan", NULL), 0);
        assert_string_equal(seen.handler, "plan");
        assert_int_equal(seen.n_args, 0);

        assert_int_equal(prog("top", "a", "b", "c", NULL), 0);
        assert_string_equal(seen.handler, "top");
        assert_int_equal(seen.n_args, 3);
        assert_string_equal(seen.args[2], "c");

        /* options before and after the arguments alike */
        assert_int_equal(prog("fam", "apply", "-d", "D", "/dev/y", NULL), 0);
        assert_string_equal(seen.args[0], "/dev/y");
        assert_string_equal(device, "D");
}

static void test_unknown_verb(void **state) {
        assert_int_equal(prog("fam", "frob", NULL), -KS_EUSAGE);
        assert_null(seen.handler);
        assert_contains(err, "prog fam: unknown verb 'frob' (plan, apply, status)");
        assert_contains(err, "Try 'prog fam --help'.");

        assert_int_equal(prog("fam", NULL), -KS_EUSAGE);
        assert_contains(err, "prog fam: missing verb (plan, apply, status)");

        assert_int_equal(prog("nope", NULL), -KS_EUSAGE);
        assert_contains(err, "prog: unknown command 'nope' (fam, top)");
}

static void test_option_not_allowed(void **state) {
        assert_int_equal(prog("fam", "plan", "--yes", NULL), -KS_EUSAGE);
        assert_null(seen.handler);
        assert_contains(err, "prog fam plan: --yes is for apply\n");
        assert_contains(err, "Try 'prog fam plan --help'.");

        /* the short name too, and a list of verbs in words */
        assert_int_equal(prog("fam", "status", "-d", "x", NULL), -KS_EUSAGE);
        assert_contains(err, "prog fam status: --device is for plan and apply\n");
        assert_string_equal(out, "");

        /* an option of the whole family is taken everywhere */
        assert_int_equal(prog("fam", "status", "--tag", "t", NULL), 0);
        assert_string_equal(seen.handler, "status");
}

static void test_argument_bounds(void **state) {
        assert_int_equal(prog("fam", "apply", NULL), -KS_EUSAGE);
        assert_null(seen.handler);
        assert_contains(err, "prog fam apply: missing argument: DEV (expects 1, got 0)");

        assert_int_equal(prog("fam", "apply", "a", "b", NULL), -KS_EUSAGE);
        assert_null(seen.handler);
        assert_contains(err, "prog fam apply: too many arguments (expects at most 1, got 2: 'b' is one too many)");

        assert_int_equal(prog("fam", "status", "x", NULL), -KS_EUSAGE);
        assert_null(seen.handler);
        assert_contains(err, "prog fam status: takes no arguments (got 'x')");

        assert_int_equal(prog("fam", "plan", "a", NULL), 0);
        assert_int_equal(seen.n_args, 1);
}

static void test_help(void **state) {
        char via_option[sizeof out];
        assert_int_equal(prog("fam", "apply", "--help", NULL), 0);
        assert_null(seen.handler);
        memcpy(via_option, out, sizeof out);
        assert_contains(via_option, "Usage: prog fam apply DEV [OPTIONS]\n\nApply the plan to DEV.\n");
        assert_contains(via_option, "  -d, --device DEV             a block device\n");
        assert_contains(via_option, "  -y, --yes                    do not ask\n");
        assert_contains(via_option, "--tag T");
        assert_null(strstr(via_option, "--count")); /* status only */
        assert_contains(via_option, "\nApply's epilog.\n");

        assert_int_equal(prog("help", "fam", "apply", NULL), 0);
        assert_string_equal(out, via_option);
        assert_int_equal(prog("fam", "help", "apply", NULL), 0);
        assert_string_equal(out, via_option);
        assert_int_equal(prog("fam", "apply", "-h", NULL), 0);
        assert_string_equal(out, via_option);

        /* a help text of two lines goes on indented */
        assert_int_equal(prog("fam", "status", "--help", NULL), 0);
        assert_contains(out, "      --count N                how many\n"
                             "                               second line of its help\n");
        assert_null(strstr(out, "--yes"));

        /* the family lists every verb */
        assert_int_equal(prog("fam", "--help", NULL), 0);
        assert_contains(out, "Usage: prog fam VERB\n");
        assert_contains(out, "  plan [DEV]             show the plan\n");
        assert_contains(out, "  apply DEV              apply it\n");
        assert_contains(out, "  status                 say how it stands\n");
        char family[sizeof out];
        memcpy(family, out, sizeof out);
        assert_int_equal(prog("help", "fam", NULL), 0);
        assert_string_equal(out, family);

        assert_int_equal(prog("help", "fam", "frob", NULL), -KS_EUSAGE);
        assert_contains(err, "prog fam: unknown verb 'frob' (plan, apply, status)");
}

static void test_repeated_option(void **state) {
        assert_int_equal(prog("fam", "apply", "X", "--tag", "a", "--tag=b", "-d", "one", "--tag", "c", "--device",
                              "two", NULL),
                         0);
        assert_string_equal(tags, "a,b,c");
        assert_string_equal(device, "two"); /* the last one given */
}

static void test_unknown_option_and_missing_argument(void **state) {
        assert_int_equal(prog("fam", "apply", "X", "--nope", NULL), -KS_EUSAGE);
        assert_null(seen.handler);
        assert_contains(err, "prog fam apply: unknown option '--nope'");

        assert_int_equal(prog("fam", "apply", "X", "-z", NULL), -KS_EUSAGE);
        assert_contains(err, "prog fam apply: unknown option '-z'");

        assert_int_equal(prog("fam", "apply", "X", "--device", NULL), -KS_EUSAGE);
        assert_null(seen.handler);
        assert_contains(err, "prog fam apply: option '--device' needs an argument");

        assert_int_equal(prog("fam", "apply", "X", "-d", NULL), -KS_EUSAGE);
        assert_contains(err, "needs an argument");
}

static void test_message_prefix(void **state) {
        assert_int_equal(prog("fam", "apply", "X", "--yes", NULL), 0);
        assert_string_equal(err, "prog fam apply: refusing: boom\n");
}

static void test_opt_uint(void **state) {
        assert_int_equal(prog("fam", "status", NULL), 0);
        assert_int_equal(count, 7); /* not given: unchanged */
        assert_int_equal(prog("fam", "status", "--count", "10", NULL), 0);
        assert_int_equal(count, 10);
        assert_int_equal(prog("fam", "status", "--count=11", NULL), -KS_EUSAGE);
        assert_contains(err, "prog fam status: --count takes a number from 0 to 10, not '11'");
        assert_int_equal(prog("fam", "status", "--count=-1", NULL), -KS_EUSAGE);
        assert_int_equal(prog("fam", "status", "--count=1x", NULL), -KS_EUSAGE);
        assert_null(seen.handler);

        /* a range with a lower bound: both ends taken, either side refused */
        assert_int_equal(prog("fam", "status", "--level", "2", NULL), 0);
        assert_int_equal(level, 2);
        assert_int_equal(prog("fam", "status", "--level", "5", NULL), 0);
        assert_int_equal(level, 5);
        assert_int_equal(prog("fam", "status", "--level", "1", NULL), -KS_EUSAGE);
        assert_contains(err, "prog fam status: --level takes a number from 2 to 5, not '1'");
        assert_null(seen.handler);
        assert_int_equal(prog("fam", "status", "--level=6", NULL), -KS_EUSAGE);
        assert_contains(err, "--level takes a number from 2 to 5, not '6'");
        assert_int_equal(prog("fam", "status", NULL), 0);
        assert_int_equal(level, 3); /* not given: unchanged */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dispatch),
                cmocka_unit_test(test_unknown_verb),
                cmocka_unit_test(test_option_not_allowed),
                cmocka_unit_test(test_argument_bounds),
                cmocka_unit_test(test_help),
                cmocka_unit_test(test_repeated_option),
                cmocka_unit_test(test_unknown_option_and_missing_argument),
                cmocka_unit_test(test_message_prefix),
                cmocka_unit_test(test_opt_uint),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
