/* SPDX-License-Identifier: MIT */
#pragma once

/* A stock Debian 12 target for the remote-install scenarios: a machine as
 * a cloud or rented one comes, NOT made by Keystone's image builder.
 * tests/vm/data/debian-target.sh makes it with mmdebstrap (bookworm,
 * linux-image-cloud-amd64, systemd, openssh-server, no kexec-tools, no
 * Keystone): a 4 GiB raw GPT disk, ESP (FAT32, systemd-boot at
 * \EFI\BOOT\BOOTX64.EFI, kernel and initrd in \debian\) and ext4 root
 * (label debian-root).  It boots through the firmware (no -kernel); root
 * logs in over SSH with the test key only (vmtest_ssh_key()); host keys
 * are made on the first boot of each overlay; systemd-networkd gives the
 * user-net NIC (enp0s4 in this driver) qemu's addresses statically: 10.0.2.15/24,
 * gateway 10.0.2.2, DNS 10.0.2.3 in /etc/resolv.conf (restrict=on makes
 * qemu's DHCP offer no router); host name debian-target.
 *
 * Cached as <cache>/debian-target-<sha256>/disk.img, keyed by the
 * script's text and the test's public key (the suite, mirror and package
 * list are in the script). */

#include <stdint.h>

#include "util/run.h"
#include "vm/vm.h"

/* Builds (or finds in the cache) the image; *ret_image_path stays valid
 * for the life of the process.  Prints whether it was cached and how long
 * it took. */
void vmtest_debian_target(const char **ret_image_path);

/* A sparse file of size bytes (a blank disk), made or truncated afresh. */
void vmtest_blank_disk(const char *path, uint64_t size);

/* The target as a machine: Secure Boot OVMF in setup mode, a swtpm, 2048
 * MB, SSH forwarded; disk 0 the image as a qcow2 overlay (the cache stays
 * pristine), disk 1 blank_disk_path raw (the guest's /dev/vdb, with the
 * serial VMTEST_DEBIAN_SERIAL: /dev/disk/by-id/virtio-ks-target-disk).
 * blank_disk_path NULL: one disk. */
#define VMTEST_DEBIAN_SERIAL "ks-target-disk"

VmConfig vmtest_debian_target_config(const char *vm_name, const char *blank_disk_path);

/* ---- SSH to the target as root with the test key ---- */

/* Runs command in the target; 0 or -errno as run() (-EPROTO: it ran and
 * failed; res says how). */
int vmtest_debian_ssh_r(Vm *vm, const char *command, int timeout_s, RunResult *res);
/* Waits until root logs in over SSH (sshd up, host keys made). */
void vmtest_debian_wait_for_ssh(Vm *vm, int timeout_s);
/* Runs the command (sh syntax) over SSH; fails the test unless it exits
 * 0.  Returns its stdout, valid until the next call. */
const char *vmtest_debian_succeed(Vm *vm, const char *fmt, ...) _printf_(2, 3);
/* Fails the test unless the command exits non-zero (SSH's own failure,
 * 255, does not count); returns stdout+stderr. */
const char *vmtest_debian_fail(Vm *vm, const char *fmt, ...) _printf_(2, 3);
