/* SPDX-License-Identifier: MIT */
#pragma once

#include "disk/plan.h"

typedef struct DiskMountOptions {
        const char *root;         /* where the tree appears (required) */
        const char *key_file;     /* the credstore secret; else the TPM, else a prompt */
        const char *tpm2_device;  /* NULL: "auto" */
        bool no_tpm;
        const char *generation;   /* crypt/system/generations/N mounted on ROOT; NULL: none */
        bool create_generation;   /* create that dataset (canmount=noauto, mountpoint=/); an
                                   * existing one is refused unless replace_generation */
        bool replace_generation;  /* destroy an existing generation N first */
        char *unlocked_by;        /* out: "key file", "TPM2 token N", "passphrase" */
        bool pool_ours;           /* out: the imported pool of that name is the target's (by
                                   * GUID): only then may a failure be cleaned up with
                                   * disk_unmount(), which exports the pool by name */
} DiskMountOptions;

/* Imports the pool (-N, altroot ROOT), opens the credstore (key file, TPM2
 * token, or a passphrase / recovery key from stdin), mounts it read-only on
 * ROOT/etc/credstore, loads the key, refuses a dataset whose encryptionroot
 * is not POOL/crypt, mounts the generation (if any) and the datasets with a
 * mountpoint, and the ESP on ROOT/boot.  With a generation the credstore is
 * unmounted and closed again once the key is loaded (the generation on ROOT
 * would hide it).  On failure *ret_error (may be NULL) says what failed. */
int disk_mount(const DiskLayout *l, const DiskTarget *t, DiskMountOptions *o, char **ret_error);

/* Unmounts everything below ROOT, closes the credstore, exports the pool. */
int disk_unmount(const DiskLayout *l, const char *root, char **error);
/* Only the first step of disk_unmount(): what is mounted below ROOT,
 * deepest first; no credstore, no pool (for a failure before the pool
 * was shown to be the target's). */
int disk_unmount_below(const char *root, char **error);
