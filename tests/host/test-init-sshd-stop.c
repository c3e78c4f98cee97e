/* SPDX-License-Identifier: MIT */
/* init_sshd_stop() before switch_root: sshd's sessions are its children in
 * sessions of their own, which outlive the listener, so ending the listener
 * alone would leave an SSH session of the initrd running under the real
 * system.  A shell plays sshd, two sleeps its sessions; after the stop none
 * of the three may be left.  The test is a child subreaper, so that a
 * session orphaned by its parent's end comes to it and is seen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init/sshd.h"
#include "util/spawn.h"

/* the pids of the children of parent, from /proc/PARENT/task/PARENT/children */
static int children_of(pid_t parent, pid_t *out, int max) {
        char path[100];
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int) parent, (int) parent);
        FILE *f = fopen(path, "re");
        if (!f)
                return -1;
        int n = 0, p;
        while (n < max && fscanf(f, "%d", &p) == 1)
                out[n++] = p;
        fclose(f);
        return n;
}

/* gone, or ended and reaped now by us (its new parent) */
static bool ended(pid_t pid) {
        int status;
        for (int i = 0; i < 200; i++) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid || (r < 0 && errno == ECHILD && kill(pid, 0) < 0 && errno == ESRCH))
                        return true;
                nanosleep(&(struct timespec) { 0, 10 * 1000000 }, NULL);
        }
        return false;
}

static void test_sessions_end_with_sshd(void **state) {
        assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
        const char *argv[] = { "sh", "-c", "sleep 300 & sleep 300 & wait", NULL };
        pid_t sshd;
        assert_int_equal(spawn_background(argv, NULL, &sshd), 0);
        pid_t kids[8];
        int n = 0;
        for (int i = 0; i < 300 && (n = children_of(sshd, kids, 8)) < 2; i++)
                nanosleep(&(struct timespec) { 0, 10 * 1000000 }, NULL);
        assert_int_equal(n, 2);
        assert_int_equal(init_sshd_stop(sshd, 2000), 0);
        assert_int_equal(kill(sshd, 0), -1);
        for (int i = 0; i < n; i++)
                if (!ended(kids[i])) {
                        kill(kids[i], SIGKILL);
                        fail_msg("session %d of sshd %d outlived it", (int) kids[i], (int) sshd);
                }
        /* nothing started: nothing to stop */
        assert_int_equal(init_sshd_stop(0, 100), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sessions_end_with_sshd),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
