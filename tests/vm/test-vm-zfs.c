/* SPDX-License-Identifier: MIT */
/* vm-zfs: the ZFS modules from the image builder's cached ZFS stage load
 * in an image that has no compiler, headers or dkms; a pool on a second
 * disk takes a dataset and a file and keeps it across export and import. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "vmtest/vm.h"
#include "vmtest/vmtest-image.h"

static void test_zfs(void **state) {
        vmtest_init("vm-zfs");
        ImageArtifacts a;
        vmtest_build_host("zfs", &a);

        char pool[PATH_MAX];
        snprintf(pool, sizeof pool, "%s/pool.img", vmtest_dir());
        int fd = open(pool, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, 512LL << 20), 0);
        close(fd);

        VmConfig c = vmtest_config_for(&a, "zfs");
        c.disks[1] = (VmDisk) { .path = pool, .format = "raw" };
        Vm *vm = vm_create(&c);
        vm_start(vm);
        vm_wait_for_shell(vm, 240);

        vm_fail(vm, "command -v gcc");
        vm_fail(vm, "command -v dkms");
        const char *v = vm_succeed(vm, "modprobe zfs && cat /sys/module/zfs/version");
        assert_true(strlen(v) > 2);
        const char *out = vm_succeed(vm, "zpool create -f -o ashift=12 -O compression=zstd -O mountpoint=/tank tank /dev/vdb && "
                                         "zfs create tank/data && echo keystone-zfs > /tank/data/f && "
                                         "zpool export tank && zpool import -d /dev/vdb tank && cat /tank/data/f");
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
