/* SPDX-License-Identifier: MIT */
/* remote-target: the machine the remote-install scenario installs onto,
 * checked on its own.  A stock Debian 12 image (tests/vm/data/
 * debian-target.sh: mmdebstrap, not Keystone's image builder) boots from
 * its own disk through Secure Boot OVMF in setup mode (systemd-boot at
 * \EFI\BOOT\BOOTX64.EFI, no -kernel) with a swtpm, 2048 MB and a blank
 * 8 GiB second disk.  Root logs in over SSH with the test key; the system
 * says Debian 12; there is no kexec binary, yet the kernel can kexec; UEFI
 * with SetupMode 1; a TPM 2.0; the blank disk is there with no
 * partitions; MemTotal ≥ 1.5 GB; qemu's addresses with a gateway; a
 * reboot from inside keeps the host keys; power-off over SSH. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmtest.h"
#include "vmtest-debian.h"

#define EFI_GLOBAL "8be4df61-93ca-11d2-aa0d-00e098032b8c"
#define BLANK_SIZE (8ULL << 30)

static void test_remote_target(void **state) {
        vmtest_init("remote-target");
        const char *image;
        vmtest_debian_target(&image);

        char blank[PATH_MAX];
        snprintf(blank, sizeof blank, "%s/blank.img", vmtest_dir());
        vmtest_blank_disk(blank, BLANK_SIZE);
        VmConfig c = vmtest_debian_target_config("target", blank);
        Vm *vm = vm_create(&c);
        vm_start(vm);

        /* through the firmware's boot path: systemd-boot, then Debian's kernel */
        vm_wait_for_console(vm, "Linux version [0-9.]+-[0-9]+-cloud-amd64", 300);
        vm_wait_for_console(vm, "debian-target login:", 300);
        vmtest_debian_wait_for_ssh(vm, 180);
        assert_string_equal(vmtest_debian_succeed(vm, "id -un; hostname"), "root\ndebian-target\n");
        assert_string_equal(vmtest_debian_succeed(vm, ". /etc/os-release; echo \"$ID $VERSION_ID\""), "debian 12\n");
        /* the host keys were made on this boot, not shipped in the image */
        vmtest_debian_succeed(vm, "test -s /etc/ssh/ssh_host_ed25519_key && "
                                  "systemctl show -P Result ssh-host-keys.service | grep -qx success");
        /* a password login is off */
        assert_string_equal(vmtest_debian_succeed(vm, "sshd -T | grep -E '^(passwordauthentication|permitrootlogin) '"),
                            "permitrootlogin without-password\npasswordauthentication no\n");

        /* no kexec-tools, no Keystone */
        vmtest_debian_fail(vm, "command -v kexec");
        vmtest_debian_fail(vm, "dpkg-query -W kexec-tools");
        vmtest_debian_fail(vm, "command -v keystone");
        /* ...but the kernel can kexec */
        assert_string_equal(vmtest_debian_succeed(vm, "cat /proc/sys/kernel/kexec_load_disabled"), "0\n");
        vmtest_debian_succeed(vm, "test -e /sys/kernel/kexec_loaded");

        /* UEFI in setup mode, Secure Boot off */
        vmtest_debian_succeed(vm, "test -d /sys/firmware/efi");
        assert_string_equal(vmtest_debian_succeed(vm, "od -An -tu1 -j4 -N1 /sys/firmware/efi/efivars/SetupMode-" EFI_GLOBAL
                                                      " | tr -d ' '"),
                            "1\n");
        assert_string_equal(vmtest_debian_succeed(vm, "od -An -tu1 -j4 -N1 /sys/firmware/efi/efivars/SecureBoot-" EFI_GLOBAL
                                                      " | tr -d ' '"),
                            "0\n");
        /* a TPM 2.0 */
        vmtest_debian_succeed(vm, "test -c /dev/tpmrm0 || test -e /sys/class/tpm/tpm0");
        assert_string_equal(vmtest_debian_succeed(vm, "cat /sys/class/tpm/tpm0/tpm_version_major"), "2\n");

        /* booted from disk 0's ext4 root; disk 1 is the blank one: 8 GiB, no
         * partition table, its serial as the VM gave it, so it has a
         * /dev/disk/by-id name, as real disks do. */
        assert_string_equal(vmtest_debian_succeed(vm, "findmnt -no SOURCE,FSTYPE /"), "/dev/vda2 ext4\n");
        assert_string_equal(vmtest_debian_succeed(vm, "lsblk -dno NAME,SIZE,TYPE /dev/vdb"), "vdb    8G disk\n");
        assert_string_equal(vmtest_debian_succeed(vm, "blockdev --getsize64 /dev/vdb"), "8589934592\n");
        assert_string_equal(vmtest_debian_succeed(vm, "lsblk -no NAME /dev/vdb | wc -l"), "1\n");
        vmtest_debian_fail(vm, "blkid -p /dev/vdb");
        assert_string_equal(vmtest_debian_succeed(vm, "echo $(cat /sys/block/vdb/serial)"), VMTEST_DEBIAN_SERIAL "\n");
        assert_string_equal(vmtest_debian_succeed(vm, "readlink /dev/disk/by-id/virtio-" VMTEST_DEBIAN_SERIAL),
                            "../../vdb\n");

        /* enough memory for an installer in RAM */
        const char *mem = vmtest_debian_succeed(vm, "awk '/^MemTotal:/ { print $2 }' /proc/meminfo");
        long kib = atol(mem);
        if (kib < 1500L * 1000)
                vmtest_fail("MemTotal is %ld kB, want at least 1.5 GB", kib);

        /* the network the remote install keeps: address, gateway, DNS */
        const char *ip = vmtest_debian_succeed(vm, "ip -4 -o addr show scope global | awk '{ print $2, $4 }'");
        fprintf(stderr, "vmtest: target's addresses: %s", ip);
        if (!strstr(ip, " 10.0.2.15/24\n") || strchr(ip, '\n') != strrchr(ip, '\n'))
                vmtest_fail("want one NIC with 10.0.2.15/24, have:\n%s", ip);
        assert_string_equal(vmtest_debian_succeed(vm, "ip -4 route show default | awk '{ print $2, $3 }'"),
                            "via 10.0.2.2\n");
        assert_string_equal(vmtest_debian_succeed(vm, "grep '^nameserver' /etc/resolv.conf"), "nameserver 10.0.2.3\n");

        /* a reboot from inside: qemu runs with -no-reboot, so the guest's
         * reset ends it and the driver starts it again (same disks, UEFI
         * variables, TPM state and SSH port) while a wait pumps it */
        _cleanup_free_ char *boot_id = strdup(vmtest_debian_succeed(vm, "cat /proc/sys/kernel/random/boot_id"));
        _cleanup_free_ char *host_key = strdup(vmtest_debian_succeed(vm, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"));
        if (!boot_id || !host_key)
                vmtest_fail("out of memory");
        RunResult res = {};
        (void) vmtest_debian_ssh_r(vm, "systemctl reboot", 30, &res);
        run_result_done(&res);
        vm_wait_for_console(vm, "Linux version [0-9.]+-[0-9]+-cloud-amd64", 300);
        vmtest_debian_wait_for_ssh(vm, 240);
        if (streq(vmtest_debian_succeed(vm, "cat /proc/sys/kernel/random/boot_id"), boot_id))
                vmtest_fail("the boot id did not change across the reboot");
        assert_string_equal(vmtest_debian_succeed(vm, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"), host_key);
        assert_string_equal(vmtest_debian_succeed(vm, "lsblk -no NAME /dev/vdb | wc -l"), "1\n");

        vm_screenshot(vm, "debian-target");
        /* a clean power-off over SSH: qemu ends */
        (void) vmtest_debian_ssh_r(vm, "systemctl poweroff", 30, &res);
        run_result_done(&res);
        if (vm_wait_exit_r(vm, 180000) < 0)
                vmtest_fail("the target did not power off within 180 s");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_remote_target),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
