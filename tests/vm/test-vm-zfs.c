/* SPDX-License-Identifier: MIT */
/* vm-zfs: the ZFS modules from the image builder's cached ZFS stage load
 * in an image that has no compiler, headers or dkms; a pool (on a file vdev:
 * a whole-disk vdev needs udev to have settled, which takes minutes under
 * TCG) takes a dataset and a file and keeps it across export and import. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "vmtest.h"
#include "vmtest-image.h"

static void test_zfs(void **state) {
        vmtest_init("vm-zfs");
        ImageArtifacts a;
        vmtest_build_host("zfs", &a);

        VmConfig c = vmtest_config_for(&a, "zfs");
        Vm *vm = vm_create(&c);
        vm_start(vm);
        vm_wait_for_shell(vm, 240);

        vm_fail(vm, "command -v gcc");
        vm_fail(vm, "command -v dkms");
        const char *v = vm_succeed(vm, "modprobe zfs && cat /sys/module/zfs/version");
        assert_true(strlen(v) > 2);
        /* Services starting at first boot set up mount namespaces of their
         * own; a ZFS mount made meanwhile can be copied into one and stay
         * busy there ("mountpoint or dataset is busy" at zfs create, once in
         * CI): let the boot finish first (degraded is fine here). */
        vm_succeed(vm, "timeout 240 systemctl is-system-running --wait; true");
        const char *out = vm_succeed(vm, "truncate -s 256M /var/tmp/pool.img && "
                                         "zpool create -o ashift=12 -O compression=zstd -O mountpoint=/tank tank /var/tmp/pool.img && "
                                         "zfs create tank/data && echo keystone-zfs > /tank/data/f && "
                                         /* first-boot jobs may hold the new mount ("pool or
                                          * dataset is busy"; once for all of 30 s in CI): retry,
                                          * then name the holder on stderr and force the export */
                                         "for i in 1 2 3 4 5 6 7 8 9 10; do zpool export tank 2>/dev/null && break; sleep 3; done; "
                                         "if zpool list tank >/dev/null 2>&1; then fuser -vm /tank/data >&2; "
                                         "zpool export -f tank; fi; "
                                         "! zpool list tank 2>/dev/null && zpool import -d /var/tmp tank && cat /tank/data/f");
        assert_string_equal(out, "keystone-zfs\n");
        assert_string_equal(vm_succeed(vm, "zfs get -H -o value compression tank"), "zstd\n");
        vm_shutdown(vm, 120);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_zfs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
