/* SPDX-License-Identifier: MIT */
/* The credstore's secret over initrd SSH, without a VM: a child process
 * plays PID 1 waiting in step 2 — init_prompt_secret_from() with the unlock
 * socket listening under a test root and a pipe as its console — and the
 * real `keystone-init --unlock --root=ROOT` client is run against it with
 * the secret on its standard input only (never in its argv).  Asserts the
 * verdicts and exit codes (wrong, then right; three wrong; the console
 * first; the console at its end of input), that the check saw exactly the
 * bytes given on stdin, that each secret counts as one of the tries, that
 * the loser is cancelled (the socket is gone once the prompt ended), that
 * the console never shows a secret, and (as root) that another user is
 * refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init/prompt.h"
#include "init/unlock.h"
#include "util/fs.h"
#include "util/macro.h"
#include "util/run.h"

#define RIGHT "correct horse battery staple"

static char root[64], client_path[4096];
static pid_t live;      /* the waiter of a test that failed before it ended */

static void kill_live(void) {
        if (live > 0) {
                kill(live, SIGKILL);
                (void) waitpid(live, NULL, 0);
        }
        live = 0;
}

/* What the child's check saw, one line per try: the secret's bytes. */
static int check_right(void *userdata, const char *secret, size_t n) {
        FILE *log = userdata;
        fprintf(log, "tried %zu bytes: %s\n", n, streq(secret, RIGHT) ? "the right one" : "a wrong one");
        fflush(log);
        return n == strlen(RIGHT) && memcmp(secret, RIGHT, n) == 0 ? 0 : -EPERM;
}

typedef struct Waiter {
        pid_t pid;
        int console;            /* the write end of its console */
} Waiter;

/* The child: listens, prompts, writes "r=R tries=T remote=B" to ROOT/result. */
static Waiter start_waiter(void) {
        char path[200];
        snprintf(path, sizeof path, "%s" INIT_UNLOCK_SOCKET, root);
        (void) unlink(path);
        kill_live();
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[1]);
                dup2(p[0], STDIN_FILENO);
                close(p[0]);
                char f[200];
                snprintf(f, sizeof f, "%s/console", root);
                FILE *console = fopen(f, "we");
                snprintf(f, sizeof f, "%s/checks", root);
                FILE *checks = fopen(f, "we");
                InitUnlockServer s = { .fd = -1 };
                char *e = NULL;
                if (!console || !checks || init_unlock_listen(root, &s, &e) < 0)
                        _exit(10);
                InitPrompt pr = {
                        .console = console, .prompt = "Password or recovery key for the credstore: ", .tries = 3,
                        .check = check_right, .userdata = checks, .remote = &s,
                };
                int tries = 0, client = -2;
                int r = init_prompt_secret_from(&pr, &tries, &client);
                bool remote = client >= 0;
                /* the caller answers the accepted one (step 2: once the volume is active) */
                init_unlock_reply(client, INIT_UNLOCK_OPENED, "opened with password or recovery key");
                init_unlock_close(&s);
                fclose(console);
                fclose(checks);
                snprintf(f, sizeof f, "%s/result", root);
                FILE *res = fopen(f, "we");
                fprintf(res, "r=%d tries=%d remote=%d\n", r, tries, remote);
                fclose(res);
                _exit(0);
        }
        close(p[0]);
        live = pid;
        /* until it listens */
        for (int i = 0; i < 500 && access(path, F_OK) < 0; i++)
                nanosleep(&(struct timespec) { 0, 10 * 1000000 }, NULL);
        assert_int_equal(access(path, F_OK), 0);
        return (Waiter) { pid, p[1] };
}

static char *slurp(const char *name) {
        char path[200], *text = NULL;
        snprintf(path, sizeof path, "%s/%s", root, name);
        assert_int_equal(read_file_text(path, 0, &text, NULL), 0);
        return text;
}

/* Waits for the child; its result line must be want. */
static void expect_result(Waiter *w, const char *want) {
        if (w->console >= 0)
                close(w->console);
        int status;
        assert_int_equal(waitpid(w->pid, &status, 0), w->pid);
        live = 0;
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        char *console = slurp("console");
        /* the console never shows a secret */
        assert_null(strstr(console, RIGHT));
        assert_null(strstr(console, "wrong one"));
        free(console);
        char *result = slurp("result");
        assert_string_equal(result, want);
        free(result);
}

/* `keystone-init --unlock --root=ROOT`, stdin = input; returns its exit status. */
static int client(const char *input, RunResult *res) {
        char arg[200];
        snprintf(arg, sizeof arg, "--root=%s", root);
        const char *argv[] = { client_path, "--unlock", arg, NULL };
        *res = (RunResult) {};
        int r = run(argv, &(RunOptions) { .input = input, .input_size = strlen(input), .timeout_ms = 60000 }, res);
        assert_true(r == 0 || r == -EPROTO);
        /* the secret is never in its argv */
        for (const char *const *a = argv; *a; a++)
                assert_true(!strstr(*a, "horse") && !strstr(*a, "wrong"));
        return res->exit_status;
}

/* the prompt ended: the socket is gone, a client is told */
static void expect_nobody_waits(void) {
        RunResult res;
        assert_int_equal(client(RIGHT "\n", &res), 1);
        assert_non_null(strstr(res.err, "keystone-init is not waiting for a secret"));
        run_result_done(&res);
}

static void test_wrong_then_right(void **state) {
        Waiter w = start_waiter();
        RunResult res;
        assert_int_equal(client("a wrong one\n", &res), 1);
        assert_non_null(strstr(res.err, "keystone-init --unlock: Wrong password or recovery key. (try 1 of 3)"));
        run_result_done(&res);
        assert_int_equal(client(RIGHT "\n", &res), 0);
        assert_string_equal(res.out, "opened with password or recovery key\n");
        run_result_done(&res);
        expect_result(&w, "r=0 tries=2 remote=1\n");
        char *checks = slurp("checks");
        assert_string_equal(checks, "tried 11 bytes: a wrong one\ntried 28 bytes: the right one\n");
        free(checks);
        char *console = slurp("console");
        assert_non_null(strstr(console, "A wrong secret came over SSH (keystone-init --unlock), try 1 of 3."));
        assert_non_null(strstr(console, "The secret that came over SSH (keystone-init --unlock) is right; the "
                                        "console prompt is cancelled."));
        /* said once, as the SSH try, not again as the console's */
        assert_null(strstr(console, "\nWrong password or recovery key.\n"));
        free(console);
        /* the prompt ended: nobody waits any more */
        expect_nobody_waits();
}

/* the same number of tries as the console, wherever they come from */
static void test_three_wrong(void **state) {
        Waiter w = start_waiter();
        RunResult res;
        assert_int_equal(client("a wrong one\n", &res), 1);
        run_result_done(&res);
        /* one from the console counts too */
        assert_int_equal(write(w.console, "a wrong one too\n", 16), 16);
        for (int i = 0; i < 300; i++) {
                char *checks = slurp("checks");
                bool two = strstr(checks, "tried 15 bytes") != NULL;
                free(checks);
                if (two)
                        break;
                nanosleep(&(struct timespec) { 0, 10 * 1000000 }, NULL);
        }
        assert_int_equal(client("a wrong one\n", &res), 1);
        assert_non_null(strstr(res.err, "(try 3 of 3)"));
        run_result_done(&res);
        expect_result(&w, "r=-1 tries=3 remote=0\n");
}

/* the console first: the socket is cancelled */
static void test_console_wins(void **state) {
        Waiter w = start_waiter();
        assert_int_equal(write(w.console, RIGHT "\n", strlen(RIGHT) + 1), (ssize_t) strlen(RIGHT) + 1);
        close(w.console);
        w.console = -1;
        expect_result(&w, "r=0 tries=1 remote=0\n");
        expect_nobody_waits();
}

/* nothing on the console (its input ended): SSH still can; no try is lost */
static void test_console_ended(void **state) {
        Waiter w = start_waiter();
        close(w.console);
        w.console = -1;
        nanosleep(&(struct timespec) { 0, 100 * 1000000 }, NULL);
        RunResult res;
        assert_int_equal(client(RIGHT "\n", &res), 0);
        run_result_done(&res);
        expect_result(&w, "r=0 tries=1 remote=1\n");
}

/* an empty secret is refused without using a try; only root may connect */
static void test_refusals(void **state) {
        Waiter w = start_waiter();
        RunResult res;
        assert_int_equal(client("\n", &res), 1);
        assert_non_null(strstr(res.err, "no secret on standard input"));
        run_result_done(&res);
        if (geteuid() == 0) {
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        if (setgid(65534) < 0 || setuid(65534) < 0)
                                _exit(10);
                        char *text = NULL, *e = NULL;
                        int r = init_unlock_send(root, RIGHT, strlen(RIGHT), &text, &e);
                        _exit(r == INIT_UNLOCK_FAILED && strstr(text, "only root") ? 0 : r == -EACCES ? 0 : 11);
                }
                int status;
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_true(WIFEXITED(status));
                assert_int_equal(WEXITSTATUS(status), 0);
        }
        assert_int_equal(client(RIGHT "\n", &res), 0);
        run_result_done(&res);
        expect_result(&w, "r=0 tries=1 remote=1\n");
        char *checks = slurp("checks");
        assert_string_equal(checks, "tried 28 bytes: the right one\n");
        free(checks);
}

int main(void) {
        const char *build = getenv("BUILD");
        snprintf(client_path, sizeof client_path, "%s/asan/keystone-init", build ? build : "build");
        if (access(client_path, X_OK) < 0) {
                fprintf(stderr, "%s is not built\n", client_path);
                return 1;
        }
        snprintf(root, sizeof root, "/tmp/ks-unlock-XXXXXX");
        if (!mkdtemp(root))
                return 1;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_wrong_then_right),
                cmocka_unit_test(test_three_wrong),
                cmocka_unit_test(test_console_wins),
                cmocka_unit_test(test_console_ended),
                cmocka_unit_test(test_refusals),
        };
        int r = cmocka_run_group_tests(tests, NULL, NULL);
        kill_live();
        const char *rm[] = { "rm", "-rf", root, NULL };
        (void) run(rm, NULL, NULL);
        return r;
}
