/* SPDX-License-Identifier: MIT */
/* secure-boot: the owner's keys take over OVMF and only the owner's signed
 * UKIs boot.
 *
 * On the host, at test time: two key sets by `keystone secureboot keygen`'s
 * library (the owner's and another one), and four UKIs assembled by
 * uki_assemble() from the image's kernel, initrd and command line: signed by
 * the owner's db key, unsigned, signed by the other db key, and signed by the
 * owner then changed (one byte of .linux).  sbverify (an independent
 * verifier) accepts the first and refuses the other three against the
 * owner's db certificate.  The UKI is \EFI\BOOT\BOOTX64.EFI on a GPT ESP disk
 * made with sgdisk/mkfs.vfat/mtools, so OVMF's boot manager boots it (no
 * qemu -kernel).
 *
 * In the guest (Secure Boot OVMF in setup mode, a swtpm): the signed UKI
 * boots (systemd-stub's StubInfo variable, the UKI's command line);
 * `keystone secureboot enroll` refuses while the TPM event log shows option
 * ROMs, enrolls with --force, and `status` shows user mode; after a reboot
 * `status` shows SecureBoot enabled in user mode with the owner's PK, KEK
 * and db, and the signed UKI booted again.  Then, powered off, each bad UKI
 * in turn replaces BOOTX64.EFI: the firmware says "Access Denied" for it
 * and "No bootable option" after trying everything else, the kernel never
 * prints its banner (nor its EFI stub a line) and the test shell never
 * answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "secureboot/keys.h"
#include "util/clock.h"
#include "util/run.h"
#include "vmtest.h"
#include "vmtest-esp.h"
#include "vmtest-image.h"

#define BOOT_EFI "::/EFI/BOOT/BOOTX64.EFI"
#define OWNER_NAME "Keystone VM Owner"
#define OTHER_NAME "Keystone VM Stranger"

static void path_in(char *buf, size_t n, const char *name) {
        if (snprintf(buf, n, "%s/%s", vmtest_dir(), name) >= (int) n)
                vmtest_fail("path too long: %s/%s", vmtest_dir(), name);
}

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        if (!f || fputs(text, f) < 0 || fclose(f) != 0)
                vmtest_fail("cannot write %s: %m", path);
}

static void keygen(const char *dir, const char *name) {
        vmtest_step("keygen %s in %s", name, dir);
        int r = sb_keys_generate(dir, 2048, name);
        if (r < 0)
                vmtest_fail("generating Secure Boot keys in %s failed: %s", dir, strerror(-r));
}

/* sbverify, not Keystone: does cert's key sign file? */
static bool sbverify_ok(const char *cert, const char *file) {
        const char *argv[] = { "sbverify", "--cert", cert, file, NULL };
        RunResult res = {};
        int r = run(argv, NULL, &res);
        run_result_done(&res);
        if (r == -ENOENT)
                vmtest_fail("sbverify is not installed (package sbsigntool)");
        return r == 0;
}

static void copy_flip(const char *from, const char *to) {
        vmtest_step("copy %s to %s with one byte of .linux changed", from, to);
        int in = open(from, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                vmtest_fail("cannot open %s: %m", from);
        struct stat st;
        if (fstat(in, &st) < 0)
                vmtest_fail("cannot stat %s: %m", from);
        size_t n = st.st_size;
        uint8_t *d = malloc(n);
        if (!d || read(in, d, n) != (ssize_t) n)
                vmtest_fail("cannot read %s: %m", from);
        close(in);
        /* .linux is the last and largest section: 3/4 into the file is in it,
         * well before the certificate table at the end */
        d[n / 4 * 3] ^= 0x01;
        int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out < 0 || write(out, d, n) != (ssize_t) n || close(out) < 0)
                vmtest_fail("cannot write %s: %m", to);
        free(d);
}

static void assert_contains(const char *what, const char *text, const char *needle) {
        if (!strstr(text, needle))
                vmtest_fail("%s does not show \"%s\":\n%s", what, needle, text);
}

/* The console text since offset. */
static char *console_since(Vm *vm, size_t offset) {
        char *all = vm_console_copy(vm);
        if (!all)
                vmtest_fail("out of memory");
        size_t n = strlen(all);
        if (offset > n)
                offset = n;
        memmove(all, all + offset, n - offset + 1);
        return all;
}

static size_t console_size(Vm *vm) {
        char *all = vm_console_copy(vm);
        size_t n = all ? strlen(all) : 0;
        free(all);
        return n;
}

/* This boot ran the UKI: systemd-stub left its StubInfo variable and the
 * kernel got the UKI's .cmdline. */
static void assert_booted_uki(Vm *vm, const char *cmdline) {
        vm_succeed(vm, "test -e /sys/firmware/efi/efivars/StubInfo-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f");
        char expect[600];
        snprintf(expect, sizeof expect, "%s\n", cmdline);
        assert_string_equal(vm_succeed(vm, "cat /proc/cmdline"), expect);
}

static void boot_refused(Vm *vm, const char *esp, const char *uki, const char *what) {
        double t0 = monotonic_seconds();
        vmtest_esp_put(esp, uki, BOOT_EFI);
        size_t start = console_size(vm);
        vm_start(vm);
        vmtest_step("firmware refuses %s", what);
        /* Boot0001 is the ESP disk (bootindex 1): its BOOTX64.EFI is refused;
         * then the firmware runs out of options (the root disk has no ESP,
         * its own EFI shell is not signed by the owner either) */
        vm_wait_for_console(vm, "BdsDxe: failed to load Boot0001 [^\n]*: Access Denied", 180);
        double refused = monotonic_seconds() - t0;
        vm_wait_for_console(vm, "BdsDxe: No bootable option", 120);
        /* and still no test shell */
        int r = vm_shell_ping_r(vm, 5 * 1000);
        if (r >= 0)
                vmtest_fail("the test shell answered after booting %s: the firmware ran it", what);
        _cleanup_free_ char *con = console_since(vm, start);
        if (strstr(con, "Linux version") || strstr(con, "EFI stub"))
                vmtest_fail("the kernel in %s started although the firmware said Access Denied", what);
        vm_stop(vm);
        fprintf(stderr, "vmtest: %s refused by the firmware after %.1f s\n", what, refused);
}

static void test_secure_boot(void **state) {
        double t_start = monotonic_seconds();
        vmtest_init("secure-boot");
        ImageArtifacts a;
        vmtest_build_host("firmware", &a);

        char owner[PATH_MAX], other[PATH_MAX], osrel[PATH_MAX], esp[PATH_MAX];
        char signed_uki[PATH_MAX], unsigned_uki[PATH_MAX], other_uki[PATH_MAX], changed_uki[PATH_MAX];
        char owner_db[PATH_MAX];
        path_in(owner, sizeof owner, "keys-owner");
        path_in(other, sizeof other, "keys-other");
        path_in(osrel, sizeof osrel, "os-release");
        path_in(esp, sizeof esp, "esp.img");
        path_in(signed_uki, sizeof signed_uki, "signed.efi");
        path_in(unsigned_uki, sizeof unsigned_uki, "unsigned.efi");
        path_in(other_uki, sizeof other_uki, "other-key.efi");
        path_in(changed_uki, sizeof changed_uki, "changed.efi");
        snprintf(owner_db, sizeof owner_db, "%s/keys/db/db.pem", owner);

        double t0 = monotonic_seconds();
        keygen(owner, OWNER_NAME);
        keygen(other, OTHER_NAME);
        write_file(osrel, "NAME=\"Keystone\"\nID=keystone\nPRETTY_NAME=\"Keystone (secure-boot VM test)\"\n");
        vmtest_uki(&a, osrel, owner, signed_uki);
        vmtest_uki(&a, osrel, NULL, unsigned_uki);
        vmtest_uki(&a, osrel, other, other_uki);
        copy_flip(signed_uki, changed_uki);
        vmtest_step("sbverify the UKIs against %s", owner_db);
        if (!sbverify_ok(owner_db, signed_uki))
                vmtest_fail("sbverify refuses the UKI signed with the owner's db key: %s", signed_uki);
        const char *bad[] = { unsigned_uki, other_uki, changed_uki };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (sbverify_ok(owner_db, bad[i]))
                        vmtest_fail("sbverify accepts %s against the owner's db certificate", bad[i]);
        vmtest_esp_create(esp, 64);
        vmtest_esp_put(esp, signed_uki, BOOT_EFI);
        fprintf(stderr, "vmtest: keys, 4 UKIs and the ESP in %.1f s\n", monotonic_seconds() - t0);

        VmConfig c = vmtest_config_for_esp(&a, "sb", esp);
        c.secure_boot = true;
        c.tpm = true;
        Vm *vm = vm_create(&c);

        /* 1. setup mode: the firmware runs the UKI without checking it */
        t0 = monotonic_seconds();
        vm_start(vm);
        vm_wait_for_console(vm, "Linux version", 240);
        vm_wait_for_shell(vm, 300);
        fprintf(stderr, "vmtest: setup mode: UKI booted to the shell in %.1f s\n", monotonic_seconds() - t0);
        assert_booted_uki(vm, a.cmdline);
        VmShellResult which = {};
        if (vm_shell_run_r(vm, "command -v keystone", 30 * 1000, &which) < 0 || which.status != 0)
                vmtest_fail("keystone is not installed in the guest image: the image builder must put it there");
        vm_shell_result_done(&which);
        const char *st = vm_succeed(vm, "keystone secureboot status");
        assert_contains("status in setup mode", st, "SecureBoot: disabled");
        assert_contains("status in setup mode", st, "SetupMode: 1");

        /* 2. enroll in the guest */
        vmtest_copy_sb_keys(vm, owner);
        const char *o = vm_fail(vm, "keystone secureboot enroll");
        assert_contains("enroll without --force", o, "option ROM");
        st = vm_succeed(vm, "keystone secureboot status");
        assert_contains("status after the refused enroll", st, "SetupMode: 1");
        vm_succeed(vm, "keystone secureboot enroll --force");
        st = vm_succeed(vm, "keystone secureboot status");
        assert_contains("status after enroll", st, "SetupMode: 0 (user mode)");
        /* a second enrollment is refused: the firmware is in user mode now */
        vm_fail(vm, "keystone secureboot enroll --force");

        /* 3. user mode: Secure Boot on, the signed UKI boots */
        t0 = monotonic_seconds();
        vm_reboot(vm, 400);
        fprintf(stderr, "vmtest: user mode: signed UKI rebooted to the shell in %.1f s\n", monotonic_seconds() - t0);
        assert_booted_uki(vm, a.cmdline);
        st = vm_succeed(vm, "keystone secureboot status");
        assert_contains("status in user mode", st, "SecureBoot: enabled");
        assert_contains("status in user mode", st, "SetupMode: 0 (user mode)");
        assert_contains("status in user mode", st, OWNER_NAME " Platform Key");
        assert_contains("status in user mode", st, OWNER_NAME " Key Exchange Key");
        assert_contains("status in user mode", st, OWNER_NAME " Signature Database Key");
        if (strstr(st, OTHER_NAME))
                vmtest_fail("status shows the other key set:\n%s", st);
        vm_shutdown(vm, 180);

        /* 4. the firmware refuses every UKI the owner's db does not sign */
        boot_refused(vm, esp, unsigned_uki, "the unsigned UKI");
        boot_refused(vm, esp, other_uki, "the UKI signed by another key");
        boot_refused(vm, esp, changed_uki, "the UKI changed after signing");
        fprintf(stderr, "vmtest: secure-boot done in %.1f s\n", monotonic_seconds() - t_start);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_secure_boot),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
