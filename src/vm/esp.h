/* SPDX-License-Identifier: MIT */
#pragma once

/* EFI system partitions for VMs that boot through the firmware's own boot
 * manager (no qemu -kernel): a GPT disk image with one FAT partition, made
 * and changed with sgdisk, mkfs.vfat --offset and mtools (no mount, no loop
 * device).  `keystone vm` boots its installer from one; the Secure Boot
 * scenarios put their UKIs on one. */

/* The partition starts 1 MiB into the disk: the mtools image spec is
 * "PATH@@1M". */
#define VM_ESP_OFFSET_SECTORS 2048

/* A sparse raw disk of size_mib + 2 MiB (size_mib 33..4096): GPT,
 * partition 1 = ESP (type EF00) of size_mib, FAT made by mkfs.vfat, with
 * \EFI\BOOT.  Replaces path.  0 or -errno; what failed is in the debug log. */
int vm_esp_create_r(const char *path, unsigned size_mib);
/* Copies file to dest on the ESP (mtools syntax, "::/EFI/BOOT/BOOTX64.EFI"),
 * replacing what was there. */
int vm_esp_put_r(const char *esp, const char *file, const char *dest);
