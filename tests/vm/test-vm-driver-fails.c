/* SPDX-License-Identifier: MIT */
/* vm-driver-fails: the bench can fail.  Each failing driver call runs in a
 * forked child (which must exit 1 with a report naming the command, its
 * exit status and its output, plus the console tail); the parent checks the
 * report and that the VM is still usable.  Then a power cut
 * (vm_crash) must give a new boot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>

#include "vmtest.h"
#include "vmtest-image.h"

typedef void (*Action)(Vm *vm);

/* Runs action in a child with stderr to a file; returns the child's exit
 * status and its stderr (malloc'd). */
static int run_in_child(Vm *vm, Action action, char **ret_report) {
        char path[4200];
        snprintf(path, sizeof path, "%s/child-report.txt", vmtest_dir());
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || dup2(fd, 2) < 0)
                        _exit(99);
                action(vm);
                _exit(0); /* the action was supposed to fail the test */
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        FILE *f = fopen(path, "re");
        assert_non_null(f);
        char *buf = calloc(1, 65536);
        assert_non_null(buf);
        size_t n = fread(buf, 1, 65535, f);
        buf[n] = 0;
        fclose(f);
        fprintf(stderr, "---- report from the child (exit %d) ----\n%s---- end of report ----\n",
                WEXITSTATUS(status), buf);
        *ret_report = buf;
        return WEXITSTATUS(status);
}

static void succeed_false(Vm *vm) {
        vm_succeed(vm, "echo visible-stdout; echo visible-stderr >&2; exit 3");
}
static void fail_true(Vm *vm) {
        vm_fail(vm, "echo it-worked");
}
static void console_never(Vm *vm) {
        vm_wait_for_console(vm, "this text never appears on the console", 3);
}
static void until_false(Vm *vm) {
        vm_wait_until_succeeds(vm, 4, "echo attempt; false");
}
static void unit_failed(Vm *vm) {
        vm_wait_for_unit(vm, "keystone-vmtest-broken.service", 60);
}

static void test_driver_fails(void **state) {
        vmtest_init("vm-driver-fails");
        ImageArtifacts a;
        vmtest_build_host("terminal", &a);
        VmConfig c = vmtest_config_for(&a, "driver");
        Vm *vm = vm_create(&c);
        vm_start(vm);
        vm_wait_for_shell(vm, 180);

        char *rep;
        assert_int_equal(run_in_child(vm, succeed_false, &rep), 1);
        assert_non_null(strstr(rep, "FAILED at step: driver: succeed: echo visible-stdout"));
        assert_non_null(strstr(rep, "exit status: 3"));
        assert_non_null(strstr(rep, "visible-stdout"));
        assert_non_null(strstr(rep, "visible-stderr"));
        assert_non_null(strstr(rep, "console lines of driver"));
        free(rep);

        assert_int_equal(run_in_child(vm, fail_true, &rep), 1);
        assert_non_null(strstr(rep, "succeeded (expected it to fail)"));
        assert_non_null(strstr(rep, "it-worked"));
        free(rep);

        assert_int_equal(run_in_child(vm, console_never, &rep), 1);
        assert_non_null(strstr(rep, "never matched"));
        assert_non_null(strstr(rep, "timed out"));
        free(rep);

        assert_int_equal(run_in_child(vm, until_false, &rep), 1);
        assert_non_null(strstr(rep, "did not succeed in time"));
        assert_non_null(strstr(rep, "attempt"));
        free(rep);

        vm_succeed(vm, "printf '[Service]\\nType=oneshot\\nExecStart=/bin/false\\n' "
                       ">/run/systemd/system/keystone-vmtest-broken.service && systemctl daemon-reload && "
                       "{ systemctl start keystone-vmtest-broken.service; true; }");
        assert_int_equal(run_in_child(vm, unit_failed, &rep), 1);
        assert_non_null(strstr(rep, "unit keystone-vmtest-broken.service on driver failed"));
        free(rep);

        /* the children's failures left the channel and the VM usable */
        assert_string_equal(vm_succeed(vm, "echo still-here"), "still-here\n");
        assert_true(vm_running(vm));

        /* a power cut gives a new boot */
        char old[64];
        snprintf(old, sizeof old, "%s", vm_succeed(vm, "cat /proc/sys/kernel/random/boot_id"));
        vm_crash(vm);
        vm_wait_for_console(vm, "Linux version", 120);
        vm_wait_for_shell(vm, 180);
        const char *now = vm_succeed(vm, "cat /proc/sys/kernel/random/boot_id");
        assert_string_not_equal(now, old);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_driver_fails),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
