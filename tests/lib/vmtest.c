/* SPDX-License-Identifier: MIT */
/* The test layer over the VM driver (src/vm/vm.h): every function either does what it says
 * or fails the test with a report (the failing step, what happened, and the
 * last 50 console lines of every VM).  Printing the report is this file's
 * job, so it writes to stderr. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/run.h"
#include "vmtest.h"
#include "util/shell-quote.h"

static char test_dir[PATH_MAX];
static char step[1024];
static void (*fail_exit)(void);

/* What vm_succeed() and its kin returned last, per VM: valid until that
 * VM's next command. */
static struct {
        Vm *vm;
        char *out;
} outputs[8];

static const char *keep_output(Vm *vm, char *out) {
        size_t i = 0;
        while (i < ELEMENTSOF(outputs) && outputs[i].vm && outputs[i].vm != vm)
                i++;
        if (i == ELEMENTSOF(outputs))
                vmtest_fail("more than %zu VMs: vmtest.c keeps outputs for that many", ELEMENTSOF(outputs));
        free(outputs[i].out);
        outputs[i].vm = vm;
        outputs[i].out = out;
        return out;
}

/* The VMs are gone (vm_destroy_all): so are their outputs. */
static void forget_outputs(void) {
        for (size_t i = 0; i < ELEMENTSOF(outputs); i++) {
                free(outputs[i].out);
                outputs[i].vm = NULL;
                outputs[i].out = NULL;
        }
}

const char *vmtest_dir(void) {
        return test_dir[0] ? test_dir : NULL;
}

void vmtest_set_fail_exit(void (*fn)(void)) {
        fail_exit = fn;
}

void vmtest_step(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(step, sizeof step, fmt, ap);
        va_end(ap);
        fprintf(stderr, "vmtest: %s\n", step);
}

static void print_console_tail(Vm *vm, size_t lines) {
        _cleanup_free_ char *s = vm_console_copy(vm);
        if (!s)
                return;
        size_t len = strlen(s);
        size_t start = len, count = 0;
        if (start > 0 && s[start - 1] == '\n')
                start--;
        while (start > 0) {
                if (s[start - 1] == '\n' && ++count >= lines)
                        break;
                start--;
        }
        fprintf(stderr, "---- last %zu console lines of %s (%s/console.log) ----\n", lines, vm_name(vm),
                vm_dir(vm));
        fwrite(s + start, 1, len - start, stderr);
        if (len > 0 && s[len - 1] != '\n')
                fputc('\n', stderr);
        fprintf(stderr, "---- end of %s console ----\n", vm_name(vm));
}

_Noreturn void vmtest_fail(const char *fmt, ...) {
        char msg[8192];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        fflush(stdout);
        fprintf(stderr, "vmtest: FAILED at step: %s\nvmtest: %s\n", step[0] ? step : "(setup)", msg);
        for (size_t i = 0; vm_nth(i); i++)
                print_console_tail(vm_nth(i), 50);
        if (test_dir[0])
                fprintf(stderr, "vmtest: logs are under %s/\n", test_dir);
        fflush(stderr);
        vm_destroy_all();
        forget_outputs();
        if (fail_exit)
                fail_exit();
        exit(EXIT_FAILURE);
}

static void on_signal(int sig) {
        vm_kill_all_from_signal();
        signal(sig, SIG_DFL);
        raise(sig);
}

static void at_exit(void) {
        vm_destroy_all();
        forget_outputs();
}

static bool have_program(const char *name) {
        const char *path = getenv("PATH");
        if (!path)
                return false;
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return false;
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                char p[PATH_MAX];
                snprintf(p, sizeof p, "%s/%s", d, name);
                if (access(p, X_OK) == 0)
                        return true;
        }
        return false;
}

void vmtest_init(const char *test_name) {
        const char *progs[] = { "qemu-system-x86_64", "qemu-img", "swtpm" };
        for (size_t i = 0; i < ELEMENTSOF(progs); i++)
                if (!have_program(progs[i])) {
                        printf("skipped: %s is not installed (make deps installs it)\n", progs[i]);
                        exit(77);
                }
        const char *fw[] = { "/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
                             "/usr/share/OVMF/OVMF_VARS_4M.fd" };
        for (size_t i = 0; i < ELEMENTSOF(fw); i++)
                if (access(fw[i], R_OK) < 0) {
                        printf("skipped: %s is missing (package ovmf)\n", fw[i]);
                        exit(77);
                }
        const char *build = getenv("BUILD");
        char b[PATH_MAX];
        if (!build || !*build) {
                if (!getcwd(b, sizeof b - 8))
                        vmtest_fail("getcwd: %m");
                strcat(b, "/build");
                build = b;
        }
        if (snprintf(test_dir, sizeof test_dir, "%s/vmtest/%s", build, test_name) >= (int) sizeof test_dir) {
                test_dir[0] = 0;
                vmtest_fail("build directory path too long: %s", build);
        }
        /* a fresh directory each run: old console logs would mislead */
        const char *rm[] = { "rm", "-rf", "--", test_dir, NULL };
        (void) run(rm, NULL, NULL);
        _cleanup_free_ char *mkdir_error = NULL;
        if (mkdir_p(test_dir, 0755, &mkdir_error) < 0)
                vmtest_fail("%s", mkdir_error);
        int r = vm_set_base_dir_r(test_dir);
        if (r < 0)
                vmtest_fail("cannot keep the VMs under %s: %s", test_dir, strerror(-r));
        char logf[PATH_MAX + 32];
        snprintf(logf, sizeof logf, "%s/keystone.log", test_dir);
        setenv("KEYSTONE_LOG_FILE", logf, 1);
        atexit(at_exit);
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        signal(SIGHUP, on_signal);
        signal(SIGPIPE, SIG_IGN);
        setvbuf(stdout, NULL, _IOLBF, 0);
        fprintf(stderr, "vmtest: %s: logs under %s/\n", test_name, test_dir);
}

/* ---- VMs ---- */

Vm *vm_create(const VmConfig *config) {
        vmtest_step("create VM %s", config->name ? config->name : "(unnamed)");
        Vm *vm = NULL;
        int r = vm_new_r(config, &vm);
        if (r < 0)
                vmtest_fail("cannot set up VM '%s': %s", config->name ? config->name : "", strerror(-r));
        return vm;
}

void vm_start(Vm *vm) {
        vmtest_step("start VM %s", vm_name(vm));
        int r = vm_start_r(vm);
        if (r < 0)
                vmtest_fail("cannot start VM %s: %s (see %s/qemu.log and %s/swtpm.log)", vm_name(vm),
                            r == -ECHILD ? "qemu or swtpm exited at once" : strerror(-r), vm_dir(vm), vm_dir(vm));
}

static const char *wait_error(const Vm *vm, int r) {
        static char buf[PATH_MAX + 128];
        if (r == -ESHUTDOWN)
                snprintf(buf, sizeof buf, "the VM stopped (qemu exit status 0x%x; see %s/qemu.log)",
                         vm_qemu_status(vm), vm_dir(vm));
        else if (r == -ETIMEDOUT)
                snprintf(buf, sizeof buf, "timed out");
        else
                snprintf(buf, sizeof buf, "%s", strerror(-r));
        return buf;
}

void vm_wait_for_console(Vm *vm, const char *regex, int timeout_s) {
        vmtest_step("%s: wait for console /%s/ (%d s)", vm_name(vm), regex, timeout_s);
        int64_t t0 = monotonic_ms();
        int r = vm_console_wait_r(vm, regex, timeout_s * 1000);
        if (r < 0)
                vmtest_fail("console of %s never matched /%s/: %s", vm_name(vm), regex, wait_error(vm, r));
        fprintf(stderr, "vmtest: %s: console matched after %.1f s\n", vm_name(vm), (monotonic_ms() - t0) / 1000.0);
}

void vm_wait_for_shell(Vm *vm, int timeout_s) {
        vmtest_step("%s: wait for the test shell (%d s)", vm_name(vm), timeout_s);
        int64_t t0 = monotonic_ms();
        int r = vm_shell_ping_r(vm, timeout_s * 1000);
        if (r < 0)
                vmtest_fail("the test shell of %s did not answer: %s (is this a test image? "
                            "keystone-test-shell.service runs on /dev/virtio-ports/keystone.shell)",
                            vm_name(vm), wait_error(vm, r));
        fprintf(stderr, "vmtest: %s: shell answered after %.1f s (%.1f s since start)\n", vm_name(vm),
                (monotonic_ms() - t0) / 1000.0, (monotonic_ms() - vm_started_ms(vm)) / 1000.0);
}

#define COMMAND_TIMEOUT_S 300

static int execute(Vm *vm, const char *cmd, int timeout_s, VmShellResult *res) {
        int r = vm_shell_run_r(vm, cmd, timeout_s * 1000, res);
        if (r < 0)
                vmtest_fail("command on %s could not be run: %s\n  command: %s", vm_name(vm), wait_error(vm, r), cmd);
        return res->status;
}

static _Noreturn void fail_command(Vm *vm, const char *cmd, const VmShellResult *res, const char *expect) {
        vmtest_fail("command on %s %s\n  command: %s\n  exit status: %d%s\n  stdout:\n%s\n  stderr:\n%s",
                    vm_name(vm), expect, cmd, res->status, res->status == 124 ? " (timed out in the guest)" : "",
                    res->out, res->err);
}

const char *vm_succeed(Vm *vm, const char *fmt, ...) {
        _cleanup_free_ char *cmd = NULL;
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(&cmd, fmt, ap);
        va_end(ap);
        if (k < 0)
                vmtest_fail("out of memory");
        vmtest_step("%s: succeed: %s", vm_name(vm), cmd);
        VmShellResult res = {};
        if (execute(vm, cmd, COMMAND_TIMEOUT_S, &res) != 0)
                fail_command(vm, cmd, &res, "failed (expected exit status 0)");
        free(res.err);
        return keep_output(vm, res.out);
}

const char *vm_fail(Vm *vm, const char *fmt, ...) {
        _cleanup_free_ char *cmd = NULL;
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(&cmd, fmt, ap);
        va_end(ap);
        if (k < 0)
                vmtest_fail("out of memory");
        vmtest_step("%s: fail: %s", vm_name(vm), cmd);
        VmShellResult res = {};
        if (execute(vm, cmd, COMMAND_TIMEOUT_S, &res) == 0)
                fail_command(vm, cmd, &res, "succeeded (expected it to fail)");
        char *both = NULL;
        if (asprintf(&both, "%s%s", res.out, res.err) < 0)
                vmtest_fail("out of memory");
        vm_shell_result_done(&res);
        return keep_output(vm, both);
}

const char *vm_wait_until_succeeds(Vm *vm, int timeout_s, const char *fmt, ...) {
        _cleanup_free_ char *cmd = NULL;
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(&cmd, fmt, ap);
        va_end(ap);
        if (k < 0)
                vmtest_fail("out of memory");
        vmtest_step("%s: wait until succeeds (%d s): %s", vm_name(vm), timeout_s, cmd);
        int64_t end = monotonic_ms() + timeout_s * 1000LL;
        VmShellResult last = {};
        for (;;) {
                int left = (int) ((end - monotonic_ms()) / 1000);
                VmShellResult res = {};
                int r = vm_shell_run_r(vm, cmd, (left > 1 ? left : 1) * 1000, &res);
                if (r < 0 && r != -ETIMEDOUT)
                        vmtest_fail("command on %s could not be run: %s\n  command: %s", vm_name(vm),
                                    wait_error(vm, r), cmd);
                if (r == 0 && res.status == 0) {
                        vm_shell_result_done(&last);
                        free(res.err);
                        return keep_output(vm, res.out);
                }
                if (r == 0) {
                        vm_shell_result_done(&last);
                        last = res;
                }
                if (monotonic_ms() >= end) {
                        if (!last.out)
                                vmtest_fail("command on %s did not finish in %d s\n  command: %s", vm_name(vm),
                                            timeout_s, cmd);
                        fail_command(vm, cmd, &last, "did not succeed in time; last attempt");
                }
                (void) vm_pump(1000);
        }
}

void vm_wait_for_unit(Vm *vm, const char *unit, int timeout_s) {
        vmtest_step("%s: wait for unit %s (%d s)", vm_name(vm), unit, timeout_s);
        int64_t end = monotonic_ms() + timeout_s * 1000LL;
        const char *show[] = { "systemctl", "show", "-P", "ActiveState", "--", unit, NULL };
        _cleanup_free_ char *cmd = shell_join(show), *q = shell_quote(unit);
        if (!cmd || !q)
                vmtest_fail("out of memory");
        char state[64] = "";
        for (;;) {
                VmShellResult res = {};
                execute(vm, cmd, 60, &res);
                snprintf(state, sizeof state, "%.*s", (int) strcspn(res.out, "\n"), res.out);
                vm_shell_result_done(&res);
                if (streq(state, "active"))
                        return;
                if (streq(state, "failed")) {
                        _cleanup_free_ char *st = NULL;
                        if (asprintf(&st, "systemctl status --no-pager -l -- %s 2>&1; "
                                          "journalctl -b --no-pager -n 30 -u %s", q, q) >= 0) {
                                VmShellResult s = {};
                                execute(vm, st, 60, &s);
                                vmtest_fail("unit %s on %s failed:\n%s", unit, vm_name(vm), s.out);
                        }
                        vmtest_fail("unit %s on %s failed", unit, vm_name(vm));
                }
                if (monotonic_ms() >= end)
                        vmtest_fail("unit %s on %s is still '%s' after %d s", unit, vm_name(vm), state, timeout_s);
                (void) vm_pump(1000);
        }
}

static char *boot_id(Vm *vm) {
        VmShellResult res = {};
        execute(vm, "cat /proc/sys/kernel/random/boot_id", 60, &res);
        free(res.err);
        return res.out;
}

void vm_reboot(Vm *vm, int timeout_s) {
        _cleanup_free_ char *old = boot_id(vm);
        vmtest_step("%s: reboot (%d s)", vm_name(vm), timeout_s);
        vm_console_mark_end(vm);
        int r = vm_shell_send_r(vm, "systemctl reboot");
        if (r < 0)
                vmtest_fail("cannot ask %s to reboot: %s", vm_name(vm), strerror(-r));
        int64_t t0 = monotonic_ms(), end = t0 + timeout_s * 1000LL;
        for (;;) {
                int left = (int) (end - monotonic_ms());
                if (left <= 0)
                        vmtest_fail("%s did not come back from the reboot within %d s", vm_name(vm), timeout_s);
                r = vm_shell_ping_r(vm, left);
                if (r < 0)
                        vmtest_fail("%s did not come back from the reboot: %s", vm_name(vm), wait_error(vm, r));
                VmShellResult res = {};
                r = vm_shell_run_r(vm, "cat /proc/sys/kernel/random/boot_id", 20000, &res);
                bool changed = r == 0 && res.status == 0 && !streq(res.out, old);
                vm_shell_result_done(&res);
                if (changed)
                        break;
                (void) vm_pump(1000);
        }
        fprintf(stderr, "vmtest: %s: rebooted, shell answered %.1f s after the reboot command\n", vm_name(vm),
                (monotonic_ms() - t0) / 1000.0);
}

void vm_shutdown(Vm *vm, int timeout_s) {
        vmtest_step("%s: shut down (%d s)", vm_name(vm), timeout_s);
        int r = vm_shell_send_r(vm, "systemctl poweroff");
        if (r < 0)
                vmtest_fail("cannot ask %s to power off: %s", vm_name(vm), strerror(-r));
        int64_t t0 = monotonic_ms();
        r = vm_wait_exit_r(vm, timeout_s * 1000);
        if (r < 0)
                vmtest_fail("%s did not power off within %d s", vm_name(vm), timeout_s);
        fprintf(stderr, "vmtest: %s: powered off in %.1f s\n", vm_name(vm), (monotonic_ms() - t0) / 1000.0);
}

/* A power cut: "quit" makes qemu finish the writes the guest already issued
 * to its disks and exit at once, so the disks hold what a real disk would
 * after a power loss; the guest's page cache is lost, as it would be.  (Not
 * QMP system_reset: see -no-reboot in vm.c.) */
void vm_crash(Vm *vm) {
        vmtest_step("%s: power cut (QMP quit, then start again)", vm_name(vm));
        int r = vm_power_cycle_r(vm);
        if (r < 0)
                vmtest_fail("power cycle of %s failed: %s (see %s/qemu.log)", vm_name(vm), strerror(-r), vm_dir(vm));
}

const char *vm_screenshot(Vm *vm, const char *name) {
        static char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%s.png", vm_dir(vm), name);
        vmtest_step("%s: screenshot %s", vm_name(vm), path);
        (void) unlink(path);
        _cleanup_free_ char *args = NULL;
        if (asprintf(&args, "{\"filename\":\"%s\",\"format\":\"png\"}", path) < 0)
                vmtest_fail("out of memory");
        int r = vm_qmp_r(vm, "screendump", args, NULL);
        if (r < 0)
                vmtest_fail("QMP screendump on %s failed: %s", vm_name(vm), strerror(-r));
        unsigned char magic[8] = {};
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, magic, sizeof magic) != sizeof magic || memcmp(magic, "\x89PNG\r\n\x1a\n", 8) != 0)
                vmtest_fail("screendump of %s did not write a PNG to %s", vm_name(vm), path);
        return path;
}

void vm_copy_to(Vm *vm, const char *host_path, const char *guest_path) {
        vmtest_step("%s: copy %s to %s", vm_name(vm), host_path, guest_path);
        _cleanup_close_ int fd = open(host_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                vmtest_fail("cannot open %s: %m", host_path);
        struct stat st;
        if (fstat(fd, &st) < 0 || st.st_size > 16 * 1024 * 1024)
                vmtest_fail("%s: not a file or larger than 16 MiB (vm_copy_to is for small files)", host_path);
        _cleanup_free_ char *data = malloc(st.st_size + 1);
        if (!data || read(fd, data, st.st_size) != st.st_size)
                vmtest_fail("cannot read %s: %m", host_path);
        _cleanup_free_ char *b64 = vm_base64_encode(data, st.st_size);
        _cleanup_free_ char *q = shell_quote(guest_path);
        _cleanup_free_ char *cmd = NULL;
        if (!b64 || !q || asprintf(&cmd, "printf %%s '%s' | base64 -d > %s", b64, q) < 0)
                vmtest_fail("out of memory");
        VmShellResult res = {};
        if (execute(vm, cmd, COMMAND_TIMEOUT_S, &res) != 0) {
                res.out[0] = 0;
                fail_command(vm, "(base64 data) | base64 -d > FILE", &res, "failed while copying a file in");
        }
        vm_shell_result_done(&res);
}

void vm_copy_from(Vm *vm, const char *guest_path, const char *host_path) {
        vmtest_step("%s: copy %s to %s", vm_name(vm), guest_path, host_path);
        _cleanup_free_ char *q = shell_quote(guest_path);
        _cleanup_free_ char *cmd = NULL;
        if (!q || asprintf(&cmd, "base64 -w0 %s", q) < 0)
                vmtest_fail("out of memory");
        VmShellResult res = {};
        if (execute(vm, cmd, COMMAND_TIMEOUT_S, &res) != 0)
                fail_command(vm, cmd, &res, "failed while copying a file out");
        _cleanup_free_ char *data = NULL;
        size_t n = 0;
        if (vm_base64_decode(res.out, res.out_size, &data, &n) < 0)
                vmtest_fail("%s: the guest sent bad base64 for %s", vm_name(vm), guest_path);
        vm_shell_result_done(&res);
        _cleanup_close_ int fd = open(host_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, data, n) != (ssize_t) n)
                vmtest_fail("cannot write %s: %m", host_path);
}
