/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdio.h>

#include "disk/layout.h"
#include "util/strv.h"

/* The steps of `keystone disk apply`, in order.  `plan` prints them from the
 * same table apply runs, so the two cannot drift apart. */
typedef enum DiskStep {
        STEP_PARTITION,
        STEP_ESP,
        STEP_POOL,
        STEP_CREDSTORE,
        STEP_CRYPT,
        STEP_DATASETS,
        STEP_FINISH,
        _STEP_MAX,
} DiskStep;

const char *disk_step_name(DiskStep s);
int disk_step_from_name(const char *name); /* -EINVAL when unknown */

/* What the plan calls the target: "/dev/vda" or "disk.img". */
typedef struct DiskTarget {
        const char *path;
        bool is_image;
} DiskTarget;

/* The partition's name for messages and commands: /dev/vda2, /dev/nvme0n1p2,
 * or "disk.img partition 2". Static buffer. */
const char *disk_partition_path(const DiskTarget *t, unsigned partno);

/* Writes the whole plan: every step, the partition table, the commands, and
 * the fstab/crypttab entries the installed system needs. */
int disk_plan_write(const DiskLayout *l, const DiskTarget *t, FILE *f);

/* The zpool create / zfs create argument vectors apply runs (NULL-ended,
 * malloc'd strings in a malloc'd array; strv_free()). */
char **disk_zpool_create_argv(const DiskLayout *l, const char *device, const char *altroot);
char **disk_crypt_create_argv(const DiskLayout *l, const char *keylocation);
char **disk_dataset_create_argv(const DiskLayout *l, const DiskDataset *d);
char **disk_credstore_create_argv(const DiskLayout *l);

#define CREDSTORE_KEY_FILE "zfs-sysroot.mount"
#define CREDSTORE_MOUNT "/etc/credstore"
#define CREDSTORE_KEY_BYTES 32
