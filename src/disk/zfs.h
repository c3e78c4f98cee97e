/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Small queries and actions on ZFS through zpool(8)/zfs(8), via run(). */

/* 0 when the dataset (or pool) exists, -ENOENT when not, other -errno when
 * zfs cannot be run. */
int zfs_exists(const char *name);

/* The value of a property ("-" when unset), parsable (-p). */
int zfs_get(const char *name, const char *prop, char *buf, size_t size);

/* What the ZFS label of a device (a pool's vdev) says, read with libblkid:
 * the pool's GUID (decimal, as `zpool get guid` prints it) and name. */
typedef struct ZfsLabel {
        bool found;                     /* the device holds a ZFS label (TYPE zfs_member) */
        char guid[32];
        char name[256];
} ZfsLabel;

/* 0 with ret->found false when the device holds no ZFS label; -errno when
 * it cannot be examined (-ENOTUNIQ: signatures of several kinds). */
int zfs_label_read(const char *device, ZfsLabel *ret);

/* The GUID of an imported pool (decimal). */
int zpool_guid(const char *pool, char *buf, size_t size);

/* The device paths of an imported pool's vdevs, ", "-separated. */
int zpool_vdev_paths(const char *pool, char *buf, size_t size);

/* 0 when the pool is imported. */
int zpool_imported(const char *pool);

/* Imports the pool with this GUID from the device, without mounting;
 * on failure *error says why. */
int zpool_import_guid(const char *guid, const char *device, const char *altroot, char **error);

int zpool_export(const char *pool);

/* Runs an argv (zpool/zfs create …); on failure *error describes it. */
int zfs_run(char **argv, char **error);
