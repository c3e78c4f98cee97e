/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secureboot/keys.h"
#include "secureboot/ossl-util.h"
#include "secureboot/uki.h"
#include "util/log.h"
#include "util/run.h"
#include "util/shell-quote.h"
#include "vm/esp.h"
#include "vmtest-esp.h"
#include "vmtest.h"

int vmtest_uki_r(const ImageArtifacts *a, const char *os_release, const char *sign_dir, const char *out) {
        UkiInputs in = {
                .linux_path = a->kernel,
                .initrd_path = a->initrd[0] ? a->initrd : NULL,
                .os_release_path = os_release,
                .cmdline = a->cmdline[0] ? a->cmdline : NULL,
                .uname = a->kernel_version[0] ? a->kernel_version : NULL,
        };
        if (!sign_dir)
                return uki_assemble(&in, out);
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        int r = sb_key_load(sign_dir, SB_KEY_DB, &key, &cert);
        if (r < 0)
                return r;
        return uki_assemble_signed(&in, key, cert, out, NULL);
}

void vmtest_esp_create(const char *path, unsigned size_mib) {
        vmtest_step("create ESP image %s", path);
        int r = vm_esp_create_r(path, size_mib);
        if (r < 0)
                vmtest_fail("making the ESP image %s failed: %s (sgdisk from gdisk, mkfs.vfat from dosfstools, mmd "
                            "from mtools; see keystone.log)", path, strerror(-r));
}

void vmtest_esp_put(const char *esp, const char *file, const char *dest) {
        vmtest_step("copy %s to %s on %s", file, dest, esp);
        int r = vm_esp_put_r(esp, file, dest);
        if (r < 0)
                vmtest_fail("mcopy of %s to %s on %s failed: %s (see keystone.log)", file, dest, esp, strerror(-r));
}

void vmtest_uki(const ImageArtifacts *a, const char *os_release, const char *sign_dir, const char *out) {
        vmtest_step("assemble UKI %s%s%s", out, sign_dir ? " signed with the db key in " : " (unsigned)",
                    sign_dir ? sign_dir : "");
        int r = vmtest_uki_r(a, os_release, sign_dir, out);
        if (r < 0)
                vmtest_fail("assembling the UKI %s from %s and %s failed: %s", out, a->kernel, a->initrd, strerror(-r));
}

VmConfig vmtest_config_for_esp(const ImageArtifacts *a, const char *vm_name, const char *esp) {
        return (VmConfig) {
                .name = vm_name,
                .disks = {
                        { .path = esp, .format = "raw" },
                        { .path = a->disk, .format = "raw", .overlay = true },
                },
        };
}

#define GUEST_SB_KEYS "/var/lib/keystone/secureboot"

void vmtest_copy_sb_keys(Vm *vm, const char *dir) {
        vm_succeed(vm, "mkdir -p " GUEST_SB_KEYS "/keys/PK " GUEST_SB_KEYS "/keys/KEK " GUEST_SB_KEYS "/keys/db && "
                       "chmod 700 " GUEST_SB_KEYS);
        char src[PATH_MAX], dst[PATH_MAX];
        snprintf(src, sizeof src, "%s/GUID", dir);
        vm_copy_to(vm, src, GUEST_SB_KEYS "/GUID");
        for (int k = 0; k < _SB_KEY_MAX; k++) {
                const char *name = sb_key_name(k);
                snprintf(src, sizeof src, "%s/keys/%s/%s.key", dir, name, name);
                snprintf(dst, sizeof dst, GUEST_SB_KEYS "/keys/%s/%s.key", name, name);
                vm_copy_to(vm, src, dst);
                _cleanup_free_ char *q = shell_quote(dst);
                if (!q)
                        vmtest_fail("out of memory");
                vm_succeed(vm, "chmod 600 %s", q);
                snprintf(src, sizeof src, "%s/keys/%s/%s.pem", dir, name, name);
                snprintf(dst, sizeof dst, GUEST_SB_KEYS "/keys/%s/%s.pem", name, name);
                vm_copy_to(vm, src, dst);
        }
}
