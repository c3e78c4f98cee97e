/* SPDX-License-Identifier: MIT */
/* spawn_background/spawn_stop (qemu and swtpm go through them) and the VM
 * driver's base64 framing helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/spawn.h"
#include "vm/vm.h"

static void test_spawn_and_stop(void **state) {
        char log[] = "/tmp/keystone-test-spawn.XXXXXX";
        int fd = mkstemp(log);
        assert_true(fd >= 0);
        close(fd);
        const char *argv[] = { "sh", "-c", "echo started; exec sleep 30", NULL };
        pid_t pid = 0;
        assert_int_equal(spawn_background(argv, &(SpawnOptions) { .log_path = log }, &pid), 0);
        assert_true(pid > 0);
        assert_int_equal(spawn_poll(pid, NULL), 0); /* still running */
        char buf[256] = "";
        for (int i = 0; i < 500 && !strstr(buf, "started\n"); i++) {
                usleep(10000);
                FILE *g = fopen(log, "re");
                assert_non_null(g);
                buf[fread(buf, 1, sizeof buf - 1, g)] = 0;
                fclose(g);
        }
        assert_int_equal(spawn_stop(pid, 2000), 0);
        assert_int_equal(kill(pid, 0), -1); /* reaped: gone */
        assert_int_equal(errno, ESRCH);
        /* the log starts with the argv, then the program's output */
        FILE *f = fopen(log, "re");
        assert_non_null(f);
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
        unlink(log);
        assert_non_null(strstr(buf, "+ sh -c 'echo started; exec sleep 30'\n"));
        assert_non_null(strstr(buf, "started\n"));
}

/* .env_extra reaches the program; .process_group puts it in a group of its
 * own, and spawn_stop_group() ends what it started too (the ZFS build's
 * mmdebstrap → dpkg → dkms → make). */
static void test_spawn_group_and_env(void **state) {
        char log[] = "/tmp/keystone-test-spawn.XXXXXX";
        int fd = mkstemp(log);
        assert_true(fd >= 0);
        close(fd);
        const char *argv[] = { "sh", "-c", "echo \"var=$KS_SPAWN_TEST\"; sleep 30 & echo \"child=$!\"; wait", NULL };
        char *env[] = { "KS_SPAWN_TEST=hello", NULL };
        pid_t pid = 0;
        assert_int_equal(spawn_background(argv, &(SpawnOptions) { .log_path = log, .env_extra = env,
                                                                   .process_group = true }, &pid), 0);
        char buf[512] = "";
        for (int i = 0; i < 500 && !strstr(buf, "\nchild="); i++) {
                usleep(10000);
                FILE *g = fopen(log, "re");
                assert_non_null(g);
                buf[fread(buf, 1, sizeof buf - 1, g)] = 0;
                fclose(g);
        }
        unlink(log);
        assert_non_null(strstr(buf, "var=hello\n"));
        const char *c = strstr(buf, "\nchild=");
        assert_non_null(c);
        pid_t child = (pid_t) atoi(c + 7);
        assert_true(child > 0);
        assert_int_equal(getpgid(pid), pid);
        assert_int_equal(getpgid(child), pid);
        assert_int_equal(spawn_stop_group(pid, 2000), 0);
        assert_int_equal(kill(pid, 0), -1);
        /* the grandchild got the signal too (init reaps it) */
        bool gone = false;
        for (int i = 0; i < 200 && !gone; i++) {
                gone = kill(child, 0) < 0 && errno == ESRCH;
                if (!gone)
                        usleep(10000);
        }
        assert_true(gone);
}

static void test_spawn_exit_status(void **state) {
        const char *argv[] = { "sh", "-c", "exit 7", NULL };
        pid_t pid = 0;
        assert_int_equal(spawn_background(argv, NULL, &pid), 0);
        int status = 0, r;
        while ((r = spawn_poll(pid, &status)) == 0)
                usleep(10000);
        assert_int_equal(r, 1);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 7);
}

static void test_spawn_missing(void **state) {
        const char *argv[] = { "keystone-no-such-program", NULL };
        pid_t pid = 0;
        assert_int_equal(spawn_background(argv, NULL, &pid), -ENOENT);
        assert_int_equal(spawn_stop(0, 100), 0);
}

static void test_base64(void **state) {
        const char *cases[] = { "", "a", "ab", "abc", "abcd", "line\nwith\0nul" };
        size_t lens[] = { 0, 1, 2, 3, 4, 13 };
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
                char *e = vm_base64_encode(cases[i], lens[i]);
                assert_non_null(e);
                char *d = NULL;
                size_t n = 99;
                assert_int_equal(vm_base64_decode(e, strlen(e), &d, &n), 0);
                assert_int_equal(n, lens[i]);
                assert_memory_equal(d, cases[i], n);
                free(d);
                free(e);
        }
        char *d = NULL;
        size_t n;
        /* the guest's line may end in a newline */
        assert_int_equal(vm_base64_decode("aGk=\n", 5, &d, &n), 0);
        assert_int_equal(n, 2);
        assert_memory_equal(d, "hi", 2);
        free(d);
        /* garbage is refused, not crashed on */
        assert_int_equal(vm_base64_decode("abc", 3, &d, &n), -EBADMSG);
        assert_int_equal(vm_base64_decode("a!c=", 4, &d, &n), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_spawn_and_stop),
                cmocka_unit_test(test_spawn_group_and_env),
                cmocka_unit_test(test_spawn_exit_status),
                cmocka_unit_test(test_spawn_missing),
                cmocka_unit_test(test_base64),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
