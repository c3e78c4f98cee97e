/* SPDX-License-Identifier: MIT */
/* remote-install: `keystone install --target` against the stock Debian 12
 * target of remote-target (tests/lib/vmtest-debian.h), reached over SSH
 * through the VM's port forward.  What the install decides before it
 * changes anything:
 *
 *   the plan (--dry-run): UEFI in setup mode, a TPM 2.0, the blank disk to
 *     erase by its /dev/disk/by-id name, size and serial; nothing changes
 *   a disk with data (a swap signature on it) is refused, naming what was found,
 *     and accepted with --force; the disk the running system is on is
 *     refused even with --force (mounted)
 *   too little memory (the same machine with 1024 MB) is refused with the
 *     figure
 *
 * After every refusal the blank disk is as it was (blkid finds nothing, or
 * only the signature this test made).  The phases that change the machine come
 * with their own part of this scenario. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/macro.h"
#include "util/run.h"
#include "vmtest.h"
#include "vmtest-debian.h"
#include "vmtest-image.h"

#define BLANK_SIZE (8ULL << 30)
#define DISK_ID "/dev/disk/by-id/virtio-" VMTEST_DEBIAN_SERIAL

static char keystone[PATH_MAX], host_dir[PATH_MAX], known_hosts[PATH_MAX], state_dir[PATH_MAX];

/* A host file for the target whose disk.device is DEVICE. */
static const char *host_file(const char *name, const char *device) {
        static char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%s.toml", host_dir, name);
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fprintf(f, "imports = [\"disk-single-root\", \"secure-boot\", \"tpm\", \"server\"]\n"
                   "[host]\nname = \"remote\"\n"
                   "[disk]\ndevice = \"%s\"\nesp-size = \"256M\"\nswap-size = \"256M\"\n"
                   "[users.admin]\ngroups = [\"sudo\"]\n", device);
        fclose(f);
        return path;
}

/* keystone install HOST --target root@127.0.0.1:PORT --dry-run [EXTRA]; its
 * exit status, stdout and stderr in res. */
static int install_dry_run(Vm *vm, const char *host, const char *extra, RunResult *res) {
        const char *key;
        vmtest_ssh_key(&key, NULL);
        char target[64];
        snprintf(target, sizeof target, "root@127.0.0.1:%d", vm_ssh_port(vm));
        const char *argv[] = { keystone, "install", host, "--target", target, "-i", key, "--known-hosts", known_hosts,
                               "--accept-new-host-key", "--state", state_dir, "--dry-run", extra, NULL };
        *res = (RunResult) {};
        int r = run(argv, &(RunOptions) { .timeout_ms = 300000 }, res);
        vmtest_step("keystone install --dry-run%s%s: %s\n--- stdout\n%s--- stderr\n%s", extra ? " " : "",
                    extra ? extra : "", r == 0 ? "ok" : "refused", res->out ? res->out : "", res->err ? res->err : "");
        return r;
}

static void assert_has(const char *text, const char *needle) {
        if (!text || !strstr(text, needle))
                fail_msg("expected \"%s\" in:\n%s", needle, text ? text : "(nothing)");
}

static void boot(Vm *vm) {
        vm_start(vm);
        vm_wait_for_console(vm, "Linux version [0-9.]+-[0-9]+-cloud-amd64", 300);
        vmtest_debian_wait_for_ssh(vm, 300);
}

static void test_remote_install(void **state) {
        vmtest_init("remote-install");
        const char *build = getenv("BUILD");
        snprintf(keystone, sizeof keystone, "%s/keystone", build && *build ? build : "build");
        assert_int_equal(access(keystone, X_OK), 0);
        snprintf(host_dir, sizeof host_dir, "%s/hosts", vmtest_dir());
        assert_true(mkdir(host_dir, 0700) == 0 || access(host_dir, F_OK) == 0);
        snprintf(known_hosts, sizeof known_hosts, "%s/known_hosts", vmtest_dir());
        snprintf(state_dir, sizeof state_dir, "%s/state", vmtest_dir());
        (void) unlink(known_hosts);

        const char *image;
        vmtest_debian_target(&image);
        char blank[PATH_MAX];
        snprintf(blank, sizeof blank, "%s/blank.img", vmtest_dir());
        vmtest_blank_disk(blank, BLANK_SIZE);
        VmConfig c = vmtest_debian_target_config("target", blank);
        Vm *vm = vm_create(&c);
        boot(vm);

        /* 1. the plan */
        RunResult res;
        const char *good = host_file("remote", DISK_ID);
        assert_int_equal(install_dry_run(vm, good, NULL, &res), 0);
        assert_has(res.out, "firmware     UEFI; Secure Boot setup mode");
        assert_has(res.out, "TPM          2.0");
        assert_has(res.out, "Everything on this disk will be erased:");
        assert_has(res.out, "erase  " DISK_ID);
        assert_has(res.out, "vdb");
        assert_has(res.out, "8 GiB");
        assert_has(res.out, "serial " VMTEST_DEBIAN_SERIAL);
        assert_has(res.out, "Dry run: nothing on root@127.0.0.1:");
        run_result_done(&res);
        vmtest_debian_fail(vm, "blkid -p /dev/vdb");

        /* 2. a disk with data: refused, then accepted with --force */
        /* a stock system has util-linux, not always e2fsprogs: a swap signature */
        vmtest_debian_succeed(vm, "mkswap -L precious /dev/vdb >/dev/null && sync");
        assert_int_equal(install_dry_run(vm, good, NULL, &res), -EPROTO);
        assert_has(res.err, "cannot be installed as it is; nothing on it was changed");
        assert_has(res.err, "swap");
        assert_has(res.err, "--force");
        run_result_done(&res);
        assert_string_equal(vmtest_debian_succeed(vm, "blkid -p -s LABEL -o value /dev/vdb"), "precious\n");
        assert_int_equal(install_dry_run(vm, good, "--force", &res), 0);
        assert_has(res.out, "erase  " DISK_ID);
        run_result_done(&res);
        assert_string_equal(vmtest_debian_succeed(vm, "blkid -p -s LABEL -o value /dev/vdb"), "precious\n");

        /* 3. the system's own disk: in use, refused even with --force */
        const char *own = host_file("own-disk", "/dev/vda");
        assert_int_equal(install_dry_run(vm, own, "--force", &res), -EPROTO);
        assert_has(res.err, "vda");
        assert_has(res.err, "mounted");
        run_result_done(&res);
        vmtest_debian_succeed(vm, "wipefs -q -a /dev/vdb && sync");
        vmtest_debian_fail(vm, "blkid -p /dev/vdb");

        /* 4. too little memory: the same machine with 1024 MB */
        vmtest_debian_succeed(vm, "systemctl poweroff || true");
        assert_int_equal(vm_wait_exit_r(vm, 120000), 0);
        VmConfig small = vmtest_debian_target_config("small", blank);
        small.memory_mb = 1024;
        Vm *vm2 = vm_create(&small);
        boot(vm2);
        /* a new machine: its own host key, so its own known_hosts */
        (void) unlink(known_hosts);
        assert_int_equal(install_dry_run(vm2, good, NULL, &res), -EPROTO);
        assert_has(res.err, "memory");
        assert_has(res.err, "1.5 GB");
        run_result_done(&res);
        vmtest_debian_fail(vm2, "blkid -p /dev/vdb");
        vmtest_debian_succeed(vm2, "systemctl poweroff || true");
        assert_int_equal(vm_wait_exit_r(vm2, 120000), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_remote_install),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
