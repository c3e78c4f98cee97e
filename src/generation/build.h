/* SPDX-License-Identifier: MIT */
#pragma once

/* A generation: what `keystone build` makes from a host file, ready to be
 * installed as the boot environment POOL/crypt/system/generations/N and
 * booted through systemd-boot and a UKI.  Cached like the image stages:
 *
 *   generation-<sha256>/
 *     rootfs.tar                the root file system: the rootfs stage's
 *                               packages, Keystone's .deb, the generated /etc
 *                               (fstab/crypttab from the layout), /etc/hostid,
 *                               the ZFS modules (signed with the db key when
 *                               there is one); /boot left empty (the ESP is
 *                               mounted there).  Sorted, numeric owners, every
 *                               mtime clamped to SOURCE_DATE_EPOCH: the same
 *                               inputs give the same bytes.
 *     vmlinuz, initrd.img       the kernel and Keystone's initrd (src/image/
 *                               initrd.h: keystone-init as /init, zpool/zfs,
 *                               only the modules the boot flow needs)
 *     uki-unsigned.efi          the UKI: systemd-stub from the generation's own
 *                               systemd-boot-efi + kernel + initrd + cmdline
 *     cmdline                   keystone.generation=N console=… (+ boot.kernel-params)
 *     esp/                      what goes on the ESP, signed with the db key:
 *       EFI/Linux/keystone-N.efi, EFI/systemd/systemd-bootx64.efi,
 *       EFI/BOOT/BOOTX64.EFI, loader/loader.conf
 *     initrd.txt                modules/programs/libraries/files and sizes
 *     stub.efi, os-release      with boot.initrd-ssh: the UKI's parts, for the
 *                               per-machine UKI (generation/output.h)
 *     inputs.txt
 *
 * No entry holds anything secret or per machine: with boot.initrd-ssh its
 * initrd has sshd and its files (generation/initrd-ssh.h) but no host key,
 * no authorized_keys and no address; generation_write_output() adds those
 * in the build directory only. */

#include <stdbool.h>
#include <stdint.h>

#include "image/image.h"

typedef struct GenerationOptions {
        unsigned number;          /* N; 0: 1 */
        const char *key_dir;      /* Secure Boot keys (db signs); NULL: nothing signed */
        const char *cache_dir;    /* NULL: cache_dir_default() */
} GenerationOptions;

typedef struct Generation {
        char dir[PATH_MAX];       /* the cache directory above */
        char hash[65];
        unsigned number;
        char cmdline[1024];
        char kernel_version[128];
        uint64_t initrd_bytes, initrd_uncompressed_bytes;
        size_t initrd_modules, initrd_files;
        bool built;               /* false: came from the cache */
        double seconds;
        bool signed_;             /* the ESP files carry the db key's signature */
} Generation;

/* Builds (or finds in the cache) the generation of spec (spec->installed
 * set, image_build() done: a gives the rootfs, ZFS and Keystone stages).
 * On failure *error (malloc'd) says what failed. */
int image_generation_build(const ImageSpec *spec, const ImageArtifacts *a, const GenerationOptions *o,
                           Generation *ret, char **error);

/* The initrd of a generation at out, from its tree (kernel release kver):
 * keystone-init as /init, zpool, zfs, /etc/hostid, the TCTI, the modules
 * (NULL: the boot flow's, and with initrd-ssh the network cards'; those the
 * kernel has are written to TREE/etc/keystone-init/modules), with
 * boot.emergency-access /bin/sh, with boot.initrd-ssh what sshd needs
 * (generation/initrd-ssh.h). */
struct InitrdReport;
int generation_initrd_build(const ImageSpec *s, const char *tree, const char *kver, const char *const *modules,
                            const char *out, struct InitrdReport *rep, char **error);

/* Paths inside a generation directory. */
#define GENERATION_ROOTFS "rootfs.tar"
#define GENERATION_KERNEL "vmlinuz"
#define GENERATION_INITRD "initrd.img"
#define GENERATION_UKI_UNSIGNED "uki-unsigned.efi"
#define GENERATION_CMDLINE "cmdline"
#define GENERATION_STUB "stub.efi"
#define GENERATION_OS_RELEASE "os-release"
#define GENERATION_HOST_KEYS "host-keys.tar"
#define GENERATION_ESP "esp"
#define GENERATION_ESP_SYSTEMD_BOOT "EFI/systemd/systemd-bootx64.efi"
#define GENERATION_ESP_FALLBACK "EFI/BOOT/BOOTX64.EFI"
#define GENERATION_ESP_LOADER_CONF "loader/loader.conf"
/* EFI/Linux/keystone-N.efi (out: at least 64 bytes) */
void generation_esp_uki(unsigned number, char *out, size_t size);

/* Of wanted (names or aliases; "?NAME": optional), those the kernel's
 * modules in moddir have, in order, into ret (NULL-terminated, at most max
 * - 1; the strings point into wanted).  A missing one without '?' fails. */
int image_present_modules(const char *moddir, const char *const *wanted, const char **ret, size_t max,
                          char **error);
/* ROOT/etc/keystone-init/modules: keystone-init's list of modules to load. */
int image_write_modules_file(const char *root, const char *const *mods);
