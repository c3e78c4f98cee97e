/* SPDX-License-Identifier: MIT */
#pragma once

/* Installing a generation that `keystone build -o DIR` made onto a disk
 * laid out by `keystone disk apply`:
 *
 *   check     DIR/manifest.json: every artifact's sha256 matches its file
 *   mount     the pool imported (altroot), the credstore opened (key file,
 *             TPM, or a passphrase), POOL/crypt/system/generations/N created
 *             (canmount=noauto, mountpoint=/) and mounted with /var, /home
 *             and the ESP below it (disk_mount())
 *   space     the ESP has room for the new files (what they replace counted)
 *   rootfs    DIR/rootfs.tar unpacked on the generation (/var and /home
 *             land on their shared datasets), then DIR/host-keys.tar when
 *             the build had --host-keys (generation/output.h)
 *   esp       DIR/esp/ copied to the ESP, each file written and renamed
 *             into place (UKI first, loader.conf last)
 *   unmount   everything unmounted, the credstore closed, the pool exported
 *
 * N is the build's: keystone.generation=N in DIR/cmdline. */

#include "disk/mount.h"
#include "disk/plan.h"

typedef void (*GenerationInstallProgress)(const char *step, const char *detail, void *userdata);

typedef struct GenerationInstallOptions {
        const char *from;               /* the build directory */
        DiskMountOptions mount;         /* root, key_file, tpm…; generation is set from DIR */
        bool force;                     /* replace an existing generation N */
        GenerationInstallProgress progress;
        void *userdata;
        unsigned number;                /* out: N */
        bool left_open;                 /* out: unmounting failed, something is still mounted or open */
} GenerationInstallOptions;

/* On failure *ret_error (may be NULL) says what failed (and, when cleaning
 * up failed too, that). */
int generation_install(const DiskLayout *l, const DiskTarget *t, GenerationInstallOptions *o, char **ret_error);

/* keystone.generation=N in a command line → N; -EINVAL when absent. */
int generation_number_from_cmdline(const char *cmdline, unsigned *ret);

/* Every artifact of DIR/manifest.json has the sha256 it lists.  -EBADMSG
 * with *error naming the first that does not. */
int generation_verify_manifest(const char *dir, char **error);
