/* SPDX-License-Identifier: MIT */
#pragma once

/* For VM scenarios that boot through the firmware's own boot manager (no
 * qemu -kernel): EFI system partitions (made by src/vm/esp.h) and a UKI
 * (systemd-stub + the image's kernel, initrd and command line) assembled
 * by src/secureboot, signed or not. */

#include "image/image.h"
#include "vm/esp.h"
#include "vm/vm.h"

/* ---- 0 or -errno, no output ---- */

/* The image's UKI: default systemd-stub, a->kernel, a->initrd, a->cmdline,
 * .uname = a->kernel_version and os_release (may be NULL).  sign_dir NULL:
 * unsigned; otherwise signed with the db key of that key directory (the
 * layout `keystone secureboot keygen` makes). */
int vmtest_uki_r(const ImageArtifacts *a, const char *os_release, const char *sign_dir, const char *out);

/* ---- test layer: fail the test on error ---- */

void vmtest_esp_create(const char *path, unsigned size_mib);
void vmtest_esp_put(const char *esp, const char *file, const char *dest);
void vmtest_uki(const ImageArtifacts *a, const char *os_release, const char *sign_dir, const char *out);
/* Copies a key directory (`keystone secureboot keygen`'s layout: GUID, and
 * PK/KEK/db key and certificate) into the guest at
 * /var/lib/keystone/secureboot, private keys 0600, for `keystone secureboot
 * enroll` there. */
void vmtest_copy_sb_keys(Vm *vm, const char *dir);

/* A VmConfig that boots from the firmware's boot manager: disk 0 = the ESP
 * (raw, written in place so the test can swap its files between boots),
 * disk 1 = the image's root as a qcow2 overlay; no kernel through fw_cfg.
 * The image's command line names the root by UUID, so disk order does not
 * matter to the kernel. */
VmConfig vmtest_config_for_esp(const ImageArtifacts *a, const char *vm_name, const char *esp);
