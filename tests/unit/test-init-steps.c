/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init/prompt.h"
#include "init/steps.h"
#include "init/system.h"
#include "util/error-message.h"

/* ---- the runner: printing, timing, notes, the fatal path ---- */

static double fake_time;
static double fake_clock(void) { return fake_time; }

static int step_fast(InitContext *c) { fake_time += 0.25; return 0; }
static int step_detail(InitContext *c) {
        fake_time += 1.5;
        snprintf(c->detail, sizeof c->detail, "imported rpool");
        return 0;
}
static int step_talks(InitContext *c) {
        init_note(c, "The TPM did not unlock the credstore: %s.", "PCR 7 changed");
        init_note(c, "second line\n");
        fake_time += 12.0;
        return 0;
}
static int step_fails(InitContext *c) {
        fake_time += 0.5;
        return error_set(&c->error, -EPERM, "refusing to mount rpool/x on /srv: its encryptionroot is none");
}
static int steps_after_failure;
static int step_never(InitContext *c) { steps_after_failure++; return 0; }

static char *run_steps(const InitStep *steps, size_t n, bool shell, int *ret, size_t *ret_failed) {
        char *buf = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&buf, &size);
        InitContext c = { .console = out, .clock = fake_clock };
        c.cfg.emergency_shell = shell;
        fake_time = 100.0;
        *ret = init_run_steps(&c, steps, n, ret_failed);
        fclose(out);
        init_context_done(&c);
        return buf;
}

static void test_runner_ok(void **state) {
        const InitStep steps[] = { { "import-rpool-bare", step_detail }, { "cryptsetup-credstore", step_talks },
                                   { "mount-credstore", step_fast } };
        int r;
        size_t failed;
        char *out = run_steps(steps, 3, false, &r, &failed);
        assert_int_equal(r, 0);
        assert_int_equal(failed, 3);
        assert_string_equal(out,
                            "[ 1/3] import-rpool-bare ... ok (1.50 s): imported rpool\n"
                            "[ 2/3] cryptsetup-credstore ... \n"
                            "The TPM did not unlock the credstore: PCR 7 changed.\n"
                            "second line\n"
                            "[ 2/3] cryptsetup-credstore ... ok (12.00 s)\n"
                            "[ 3/3] mount-credstore ... ok (0.25 s)\n");
        free(out);
}

/* the same lines in ROOT/run/keystone-boot.log (0600), for the real system */
static void test_runner_boot_log(void **state) {
        char root[] = "/tmp/test-init-steps-XXXXXX", run_dir[64], log[96];
        assert_non_null(mkdtemp(root));
        snprintf(run_dir, sizeof run_dir, "%s/run", root);
        snprintf(log, sizeof log, "%s" INIT_BOOT_LOG, root);
        assert_int_equal(mkdir(run_dir, 0755), 0);
        const InitStep steps[] = { { "import-rpool-bare", step_detail }, { "check-encryptionroot", step_fails } };
        char *buf = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&buf, &size);
        InitContext c = { .console = out, .clock = fake_clock, .root = root };
        fake_time = 100.0;
        size_t failed;
        assert_int_equal(init_run_steps(&c, steps, 2, &failed), -EPERM);
        fclose(out);
        init_context_done(&c);
        free(buf);
        char text[512] = "";
        FILE *f = fopen(log, "re");
        assert_non_null(f);
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = 0;
        fclose(f);
        assert_string_equal(text, "[ 1/2] import-rpool-bare ... ok (1.50 s): imported rpool\n"
                                  "[ 2/2] check-encryptionroot ... FAILED (0.50 s)\n");
        struct stat st;
        assert_int_equal(stat(log, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        unlink(log);
        rmdir(run_dir);
        rmdir(root);
}

static void test_runner_fatal(void **state) {
        const InitStep steps[] = { { "a", step_fast }, { "check-encryptionroot", step_fails }, { "c", step_never } };
        int r;
        size_t failed;
        steps_after_failure = 0;
        char *out = run_steps(steps, 3, false, &r, &failed);
        assert_int_equal(r, -EPERM);
        assert_int_equal(failed, 1);
        assert_int_equal(steps_after_failure, 0);
        assert_string_equal(out,
                            "[ 1/3] a ... ok (0.25 s)\n"
                            "[ 2/3] check-encryptionroot ... FAILED (0.50 s)\n"
                            "keystone-init: step 2/3 (check-encryptionroot) failed: refusing to mount rpool/x on "
                            "/srv: its encryptionroot is none.\n"
                            "keystone-init: the boot stops here. The machine halts; power-cycle it after fixing the "
                            "cause (the host file's boot.emergency-access = true adds keystone.emergency=shell for a "
                            "shell here).\n");
        free(out);
        out = run_steps(steps, 3, true, &r, &failed);
        assert_non_null(strstr(out, "keystone.emergency=shell is set: a shell starts on the console"));
        free(out);
}

static int step_errno_only(InitContext *c) { return -EIO; }

static void test_fatal_without_message(void **state) {
        const InitStep steps[] = { { "x", step_errno_only } };
        int r;
        char *out = run_steps(steps, 1, false, &r, NULL);
        assert_int_equal(r, -EIO);
        assert_non_null(strstr(out, "step 1/1 (x) failed: Input/output error.\n"));
        free(out);
}

static void test_tpm_refusal_text(void **state) {
        char buf[512];
        Tpm2UnlockReport rep = { .token = 0, .pcr_mask = (1u << 1) | (1u << 7) | (1u << 15), .changed = 1u << 7,
                                 .changed_known = true };
        init_tpm_refusal(&rep, -EPERM, buf, sizeof buf);
        assert_non_null(strstr(buf, "PCR 7 changed since enrollment (token 0 is sealed to PCRs 1+7+15)"));
        rep.changed = (1u << 15) | (1u << 7);
        init_tpm_refusal(&rep, -EPERM, buf, sizeof buf);
        assert_non_null(strstr(buf, "PCR 15 is no longer zero"));
        rep.changed_known = false;
        init_tpm_refusal(&rep, -EPERM, buf, sizeof buf);
        assert_non_null(strstr(buf, "PCRs 1+7+15 no longer hold the values"));
        init_tpm_refusal(&rep, -ENOENT, buf, sizeof buf);
        assert_non_null(strstr(buf, "no TPM2 token"));
        init_tpm_refusal(&rep, -ENOANO, buf, sizeof buf);
        assert_non_null(strstr(buf, "needs a TPM2 PIN, and none was typed"));
        init_tpm_refusal(&rep, -EACCES, buf, sizeof buf);
        assert_non_null(strstr(buf, "the TPM2 PIN of token 0 was wrong"));
}

/* ---- the 3-tries prompt, fed from a pipe on stdin ---- */

typedef struct Checker {
        int calls;
        char seen[8][32];
        int fail_with;
} Checker;

static int check(void *u, const char *s, size_t n) {
        Checker *k = u;
        snprintf(k->seen[k->calls++], sizeof k->seen[0], "%.*s", (int) n, s);
        if (k->fail_with)
                return k->fail_with;
        return strcmp(s, "right") == 0 ? 4 : -EPERM;
}

static int prompt_with(const char *input, Checker *k, int *ret_tries, char **ret_out) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        assert_int_equal(write(p[1], input, strlen(input)), (ssize_t) strlen(input));
        close(p[1]);
        int saved = dup(STDIN_FILENO);
        assert_int_equal(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
        close(p[0]);
        size_t size;
        FILE *out = open_memstream(ret_out, &size);
        InitPrompt pr = { .console = out, .prompt = "Password: ", .tries = 3, .check = check, .userdata = k };
        int r = init_prompt_secret(&pr, ret_tries);
        fclose(out);
        dup2(saved, STDIN_FILENO);
        close(saved);
        return r;
}

static void test_prompt_third_try(void **state) {
        Checker k = {};
        int tries;
        char *out;
        assert_int_equal(prompt_with("a\nb\nright\nnever-read\n", &k, &tries, &out), 4);
        assert_int_equal(tries, 3);
        assert_int_equal(k.calls, 3);
        assert_string_equal(k.seen[0], "a");
        assert_string_equal(k.seen[1], "b");
        assert_string_equal(k.seen[2], "right");
        assert_string_equal(out, "Password: (try 1 of 3) \nWrong password or recovery key.\n"
                                 "Password: (try 2 of 3) \nWrong password or recovery key.\n"
                                 "Password: (try 3 of 3) \n");
        free(out);
}

static void test_prompt_three_wrong(void **state) {
        Checker k = {};
        int tries;
        char *out;
        assert_int_equal(prompt_with("a\nb\nc\nright\n", &k, &tries, &out), -EPERM);
        assert_int_equal(tries, 3);
        assert_int_equal(k.calls, 3);   /* the fourth line is never read */
        free(out);
        /* the line after the three stays in the pipe: nothing was read ahead */
}

static void test_prompt_end_of_input(void **state) {
        Checker k = {};
        int tries;
        char *out;
        assert_int_equal(prompt_with("a\n", &k, &tries, &out), -ENODATA);
        assert_int_equal(k.calls, 1);
        assert_non_null(strstr(out, "No input (empty line or end of input)."));
        free(out);
        /* an empty line counts as a try, and the next line still gets its turn */
        Checker k2 = {};
        assert_int_equal(prompt_with("\nright\n", &k2, &tries, &out), 4);
        assert_int_equal(k2.calls, 1);
        assert_int_equal(tries, 2);
        free(out);
}

static void test_prompt_other_error_stops(void **state) {
        Checker k = { .fail_with = -EIO };
        int tries;
        char *out;
        assert_int_equal(prompt_with("a\nb\n", &k, &tries, &out), -EIO);
        assert_int_equal(k.calls, 1);
        free(out);
}

/* ---- emptying the initramfs: never crossing into another file system ---- */

static void test_remove_tree(void **state) {
        char dir[] = "/tmp/keystone-init-rm.XXXXXX", keep[] = "/tmp/keystone-init-keep.XXXXXX";
        assert_non_null(mkdtemp(dir));
        assert_non_null(mkdtemp(keep));
        char cmd[600];
        snprintf(cmd, sizeof cmd,
                 "set -e; cd %s; mkdir -p a/b/c mnt; echo x > a/b/c/f; echo y > top; ln -s %s link; "
                 "ln -s %s/kept a/dirlink; echo z > %s/kept; mkfifo a/fifo", dir, keep, keep, keep);
        assert_int_equal(system(cmd), 0);
        /* a mounted file system inside, when we may mount (root on this machine) */
        char mnt[300];
        snprintf(mnt, sizeof mnt, "%s/mnt", dir);
        bool mounted = mount("tmpfs", mnt, "tmpfs", 0, "size=1m") == 0;
        if (mounted) {
                snprintf(cmd, sizeof cmd, "echo m > %s/mnt/inside", dir);
                assert_int_equal(system(cmd), 0);
        }
        int fd = open(dir, O_RDONLY | O_DIRECTORY);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        assert_int_equal(init_remove_tree(fd, st.st_dev), 0);
        close(fd);
        snprintf(cmd, sizeof cmd, "test \"$(cd %s && find . -mindepth 1 | sort | tr '\\n' ' ')\" = \"%s\"", dir,
                 mounted ? "./mnt ./mnt/inside " : "");
        assert_int_equal(system(cmd), 0);
        /* the symlinks' targets outside are untouched */
        snprintf(cmd, sizeof cmd, "test -d %s && test \"$(cat %s/kept)\" = z", keep, keep);
        assert_int_equal(system(cmd), 0);
        if (mounted)
                assert_int_equal(umount(mnt), 0);
        snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, keep);
        assert_int_equal(system(cmd), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_runner_ok),
                cmocka_unit_test(test_runner_fatal),
                cmocka_unit_test(test_runner_boot_log),
                cmocka_unit_test(test_fatal_without_message),
                cmocka_unit_test(test_tpm_refusal_text),
                cmocka_unit_test(test_prompt_third_try),
                cmocka_unit_test(test_prompt_three_wrong),
                cmocka_unit_test(test_prompt_end_of_input),
                cmocka_unit_test(test_prompt_other_error_stops),
                cmocka_unit_test(test_remove_tree),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
