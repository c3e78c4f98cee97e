/* SPDX-License-Identifier: MIT */
#pragma once

/* The installer: a UKI that boots a machine into RAM with what installing
 * needs and nothing else (no root file system):
 *
 *   keystone-init as /init in installer mode (keystone.installer on the
 *   command line: docs/vm.md), keystone, zpool/zfs and the ZFS modules,
 *   cryptsetup's and libfdisk's libraries (through keystone), mkfs.vfat,
 *   mkfs.ext4, tar, mount, ip, sshd (root by key only, no PAM) and a shell.
 *
 * Everything comes from a generation (its rootfs.tar and kernel), so the
 * installer runs exactly the Keystone, ZFS and kernel the machine will run
 * and has the host's /etc/hostid (the pool it creates carries it).  Cached:
 *
 *   installer-<sha256>/
 *     initrd.img     the cpio (zstd), every entry owned by root
 *     vmlinuz        the generation's kernel
 *     stub.efi       the generation's systemd-stub
 *     os-release
 *     initrd.txt     modules/programs/libraries/files and sizes
 *     inputs.txt     the recipe and the generation's inputs
 *
 * What is per machine (the operator's SSH key, the network address) is not
 * in the cache: installer_uki() puts the key in a cpio before the cached one and puts
 * the address on the UKI's command line. */

#include <stdbool.h>
#include <stdint.h>
#include <limits.h>

typedef struct Installer {
        char dir[PATH_MAX];
        char hash[65];
        char kernel_version[128];  /* the generation's kernel release (the UKI's .uname) */
        uint64_t initrd_bytes;
        bool built;               /* false: came from the cache */
        double seconds;
} Installer;

/* Builds (or finds in the cache) the installer of the generation in
 * generation_dir (a directory `keystone build` wrote).  On failure *error
 * (malloc'd) says what failed. */
int installer_build(const char *generation_dir, const char *cache_dir, Installer *ret, char **error);

/* Who may reach the installer, and how it proves itself. */
typedef struct InstallerAccess {
        const char *authorized_key;     /* one OpenSSH public key line: root's only way in */
        const char *host_key;           /* NULL, or an ed25519 private key file with its .pub beside it:
                                         * the installer's host key, which the operator pins (remote
                                         * install); NULL: keystone-init makes one at boot */
} InstallerAccess;

/* The installer's initrd at out (0600: it may hold a private host key): a
 * cpio of etc/keystone-installer/authorized_keys (and etc/ssh/
 * ssh_host_ed25519_key 0600 with its .pub) followed by the cached initrd,
 * 4-byte aligned.  What remote install kexecs, and what installer_uki()
 * puts in the UKI. */
int installer_initrd(const Installer *inst, const InstallerAccess *acc, const char *out, char **error);

/* The installer UKI at out (unsigned; mode 0644): the installer's kernel,
 * a cpio holding authorized_key followed by its initrd (one OpenSSH public
 * key line: root's only way in), and the command line
 * "keystone.installer keystone.installer.address=ADDRESS [extra]".
 * work_dir holds the combined initrd. */
int installer_uki(const Installer *inst, const char *authorized_key, const char *address, const char *extra_cmdline,
                  const char *work_dir, const char *out, char **error);
