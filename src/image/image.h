/* SPDX-License-Identifier: MIT */
#pragma once

/* The image builder: a host's configuration → a bootable Debian trixie
 * system, in two cached stages.
 *
 *   rootfs-<sha256>/rootfs.tar   mmdebstrap output: pinned suite, the role's
 *                                packages, SOURCE_DATE_EPOCH, no SSH host
 *                                keys (sshd-keygen.service makes them on
 *                                first boot).  Slow (60–100 s), reproducible.
 *   zfs-<sha256>/modules.tar     only for ZFS hosts: zfs-dkms built for the
 *                                image's exact kernel in a throwaway builder
 *                                chroot (headers, gcc, dkms; ~5-10 min); only
 *                                the .ko files are kept.  With a lock the
 *                                kernel comes from it and this runs in the
 *                                background from the start (build.c).
 *   buildroot-<sha256>/root/     a trixie build chroot, and
 *   keystone-<sha256>/keystone_V_amd64.deb  Keystone itself built in it from the source
 *                                tree (keystone-deb.h): its Depends join the
 *                                rootfs's packages, the disk stage installs it.
 *   disk-<sha256>/root.img       the rootfs plus Keystone's generated files
 *                                (hostname, users and keys, sshd keys-only,
 *                                networkd, test shell for test images) as an
 *                                ext4 image made with mkfs.ext4 -d (no mount,
 *                                no loop device); vmlinuz, initrd.img and
 *                                cmdline next to it.
 *
 * Each stage's directory is named by the SHA-256 of a canonical text of its
 * inputs (see image_rootfs_inputs() / image_disk_inputs()), kept next to the
 * artifact as inputs.txt.  Builds go to a temporary directory that is renamed
 * into place when complete, under a lock, so an interrupted build never
 * leaves a half artifact and two tests never build the same one at once. */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAGE_CACHE_DIR_DEFAULT "/var/cache/keystone"

typedef struct ImageUser {
        char *name;
        char **ssh_keys;
        size_t n_ssh_keys;
        char **groups;          /* supplementary groups, created when missing */
        size_t n_groups;
        char *shell;            /* NULL: /bin/bash */
        char *description;      /* GECOS, NULL: empty */
        unsigned uid;           /* 0: 1000 + the user's index */
} ImageUser;

/* A ZFS dataset of the host's disk layout (disk.datasets). */
typedef struct ImageDataset {
        char *name;             /* relative to the pool: "crypt/home" */
        char *mountpoint;       /* "none" or an absolute path */
} ImageDataset;

typedef struct ImageLock ImageLock;

/* boot.initrd-ssh: keystone.initrd-ssh= on the UKI's command line */
typedef enum ImageInitrdSsh {
        IMAGE_INITRD_SSH_OFF,
        IMAGE_INITRD_SSH_AUTO,          /* when the TPM does not open the credstore */
        IMAGE_INITRD_SSH_ALWAYS,        /* from the start of the boot */
} ImageInitrdSsh;

typedef struct ImageSpec {
        char *hostname;
        char *role;             /* "server" (default), "workstation" */
        char *kernel_flavour;   /* "cloud" (default) or "standard" */
        char **packages;        /* host.packages: the role module's and the host's own */
        size_t n_packages;
        char **system_packages; /* what every Keystone machine runs: modules/base.toml */
        size_t n_system_packages;
        ImageUser *users;
        size_t n_users;
        bool test_instrumentation; /* the root test shell (test images only) */
        bool zfs;               /* zfsutils-linux + the cached ZFS modules */
        char *suite;            /* "trixie" */
        char *mirror;           /* "http://deb.debian.org/debian" */
        uint64_t source_date_epoch;
        char *time_zone;        /* tz database name; NULL: UTC */
        bool ssh_disabled;      /* ssh.enable = false */
        unsigned ssh_port;      /* 0: 22 */
        char *ssh_permit_root_login; /* "no" (default) or "prohibit-password" */
        bool ssh_password_authentication;
        /* the disk layout (disk.datasets non-empty): fstab and crypttab for
         * the ESP, swap with a random key and ZFS; else one ext4 root */
        ImageDataset *datasets;
        size_t n_datasets;
        char *pool;             /* disk.pool, "rpool" */
        bool swap;              /* disk.swap-size is not 0 */
        const ImageLock *lock;  /* keystone.lock (image/lock.h), borrowed; NULL: unpinned */
        /* boot (used by `keystone build`'s generation, src/generation/build.h) */
        char **kernel_params;   /* boot.kernel-params */
        size_t n_kernel_params;
        bool emergency_access;  /* boot.emergency-access */
        bool secure_boot;       /* secure-boot.enable */
        /* tpm.* (the zero value is the TPM in use, PCRs 1+7 and PCR 15 at
         * zero, as before the host file could say otherwise) */
        bool tpm_disabled;      /* tpm.enable = false: keystone.tpm=0, no enrollment */
        uint32_t tpm_pcrs;      /* tpm.pcrs as a mask; 0: 1+7 */
        bool tpm_pcrs_none;     /* tpm.pcrs = []: bind no PCR but (maybe) 15 */
        bool tpm_no_pcr15;      /* tpm.bind-pcr15 = false */
        char *sb_key_dir;       /* secure-boot.key-dir */
        /* boot.initrd-ssh.* (docs/init.md, "Unlock over SSH in the initrd"):
         * sshd in the initrd; the network fields are NULL when unset (the
         * mac lower case), checked as keystone-init checks them */
        ImageInitrdSsh initrd_ssh;
        char *initrd_ssh_address, *initrd_ssh_gateway, *initrd_ssh_interface, *initrd_ssh_mac;
        /* an installed generation (keystone build), not a test disk image:
         * fstab/crypttab from the layout, no disk stage */
        bool installed;
} ImageSpec;

void image_spec_done(ImageSpec *s);

/* tpm.pcrs of the spec as a mask (1+7 when the host file leaves it out). */
uint32_t image_spec_tpm_pcrs(const ImageSpec *s);

/* Fills defaults for what the spec leaves unset. */
int image_spec_fill_defaults(ImageSpec *s);

/* The typed configuration (config_load()) → spec, one option each:
 * host.name, host.role, host.time-zone (which must be in this machine's tz
 * database when it has one), host.packages, boot.*, users.<name>.*, ssh.*,
 * disk.* (a ZFS layout when disk.datasets is not empty), secure-boot.*,
 * tpm.*; system_packages from the built-in module `base`; defaults filled
 * in.  -EINVAL with *ret_error "FILE:LINE:COLUMN: OPTION: what; what to do"
 * when a value does not fit the image. */
struct Config;
int image_spec_from_config(const struct Config *c, ImageSpec *ret, char **ret_error);

/* config_load() and image_spec_from_config() in one: a host file → spec.
 * *ret_error holds every problem, one per line. */
int image_spec_load(const char *host_path, ImageSpec *ret, char **ret_error);

/* Every Debian package the rootfs asks for by name (system + kernel +
 * host.packages + zfsutils-linux …), sorted, unique, NULL-terminated (strv,
 * malloc'd).  Without versions even when the spec is locked. */
int image_package_names(const ImageSpec *s, char ***ret);

/* boot.kernel → its Debian metapackage ("cloud" → linux-image-cloud-amd64,
 * "standard" → linux-image-amd64); NULL for another flavour. */
const char *image_kernel_package(const char *flavour);

typedef struct ImageArtifacts {
        char rootfs_dir[PATH_MAX];
        char rootfs_tar[PATH_MAX];
        char disk_dir[PATH_MAX];
        char disk[PATH_MAX];      /* raw ext4 image of / */
        char kernel[PATH_MAX];
        char initrd[PATH_MAX];
        char cmdline[512];        /* root=UUID=… console=ttyS0 … */
        char zfs_tar[PATH_MAX];   /* ZFS .ko files, when spec->zfs */
        char kernel_version[128];
        char keystone_deb[PATH_MAX]; /* Keystone itself (keystone-deb.h), installed by the disk stage */
        char keystone_version[128];
        char rootfs_hash[65], disk_hash[65], zfs_hash[65], keystone_hash[65], buildroot_hash[65];
        bool keystone_built, buildroot_built;
        double keystone_seconds, buildroot_seconds;
        bool rootfs_built, disk_built, zfs_built; /* false: came from the cache */
        double rootfs_seconds, disk_seconds, zfs_seconds;
} ImageArtifacts;

/* cache_dir NULL: $KEYSTONE_CACHE_DIR or /var/cache/keystone.  *ret is set
 * on success only.  On failure *ret_error (may be NULL) says what went wrong
 * when more is known than the errno (a locked package the archive no longer
 * serves, the ZFS module build's log, …), and is left NULL otherwise. */
int image_build(const ImageSpec *spec, const char *cache_dir, ImageArtifacts *ret, char **ret_error);

/* Async-signal-safe, for a command's SIGINT/SIGTERM handler: ends the
 * background ZFS module build of a running image_build() (SIGTERM to its
 * process group, which Ctrl-C does not reach). */
void image_build_stop_from_signal(void);

/* a->kernel_version from the rootfs tar (the one usr/lib/modules/ entry). */
int image_rootfs_kernel_version(ImageArtifacts *a);

/* The canonical input texts (malloc'd), for hashing and for inputs.txt. */
int image_rootfs_inputs(const ImageSpec *spec, char **ret);

