/* SPDX-License-Identifier: MIT */
/* vm-firmware: Secure Boot OVMF in setup mode with a swtpm of the VM's own.
 * The guest sees /dev/tpmrm0, reads PCRs 1 and 7 (7 is not zero: the
 * firmware measured its Secure Boot state), reads SetupMode=1 and
 * SecureBoot=0 from efivarfs; a value written to a TPM NV index survives a
 * reboot and a power cycle (new qemu, new swtpm, same state directory),
 * an index never defined cannot be read, and PCR 7 is the same on every
 * boot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>

#include "vmtest.h"
#include "vmtest-image.h"

#define EFI_GLOBAL "8be4df61-93ca-11d2-aa0d-00e098032b8c"
#define NV_INDEX "0x1500016"
#define NV_VALUE "keystone-nv-0001"

/* the last byte of an efivarfs file (4 bytes of attributes, then data) */
static int efivar_byte(Vm *vm, const char *name) {
        const char *o = vm_succeed(vm, "od -An -tu1 -j4 -N1 /sys/firmware/efi/efivars/%s-" EFI_GLOBAL, name);
        return atoi(o);
}

static void read_pcr7(Vm *vm, char *out, size_t n) {
        const char *o = vm_succeed(vm, "tpm2_pcrread sha256:1,7");
        /* "  sha256:\n    1 : 0x…\n    7 : 0x…\n" */
        const char *p1 = strstr(o, "1 : 0x"), *p7 = strstr(o, "7 : 0x");
        if (!p1 || !p7)
                vmtest_fail("tpm2_pcrread printed no PCR 1 or 7:\n%s", o);
        p7 += 6;
        size_t len = strspn(p7, "0123456789ABCDEFabcdef");
        assert_int_equal(len, 64);
        assert_int_equal(strspn(p1 + 6, "0123456789ABCDEFabcdef"), 64);
        if (strspn(p7, "0") == 64)
                vmtest_fail("PCR 7 is all zeros: the firmware measured nothing");
        snprintf(out, n, "%.64s", p7);
}

static void test_firmware(void **state) {
        vmtest_init("vm-firmware");
        ImageArtifacts a;
        vmtest_build_host("firmware", &a);
        VmConfig c = vmtest_config_for(&a, "firmware");
        c.secure_boot = true;
        c.tpm = true;
        Vm *vm = vm_create(&c);
        vm_start(vm);
        vm_wait_for_shell(vm, 240);

        vm_succeed(vm, "test -c /dev/tpmrm0");
        assert_int_equal(efivar_byte(vm, "SetupMode"), 1);
        assert_int_equal(efivar_byte(vm, "SecureBoot"), 0);
        char pcr7[65];
        read_pcr7(vm, pcr7, sizeof pcr7);

        vm_succeed(vm, "tpm2_nvdefine -C o -s %zu -a 'ownerread|ownerwrite' " NV_INDEX, strlen(NV_VALUE));
        vm_succeed(vm, "printf %%s " NV_VALUE " | tpm2_nvwrite -C o -i - " NV_INDEX);
        assert_string_equal(vm_succeed(vm, "tpm2_nvread -C o -s %zu " NV_INDEX, strlen(NV_VALUE)), NV_VALUE);
        /* must fail: an index nobody defined */
        vm_fail(vm, "tpm2_nvread -C o -s 4 0x1500017");

        vm_reboot(vm, 300);
        vm_succeed(vm, "test -c /dev/tpmrm0");
        assert_string_equal(vm_succeed(vm, "tpm2_nvread -C o -s %zu " NV_INDEX, strlen(NV_VALUE)), NV_VALUE);
        char again[65];
        read_pcr7(vm, again, sizeof again);
        assert_string_equal(again, pcr7);

        /* a power cycle: new qemu and swtpm processes over the same state */
        vm_shutdown(vm, 120);
        vm_start(vm);
        vm_wait_for_shell(vm, 240);
        assert_string_equal(vm_succeed(vm, "tpm2_nvread -C o -s %zu " NV_INDEX, strlen(NV_VALUE)), NV_VALUE);
        assert_int_equal(efivar_byte(vm, "SetupMode"), 1);
        vm_shutdown(vm, 120);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_firmware),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
