/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* Small queries and actions on ZFS through zpool(8)/zfs(8), via run(). */

/* 0 when the dataset (or pool) exists, -ENOENT when not, other -errno when
 * zfs cannot be run. */
int zfs_exists(const char *name);

/* The value of a property ("-" when unset), parsable (-p). */
int zfs_get(const char *name, const char *prop, char *buf, size_t size);

/* 0 when the pool is imported. */
int zpool_imported(const char *pool);

/* Imports pool from the given device without mounting anything; -ENOENT
 * when the device holds no such pool. */
int zpool_import_bare(const char *pool, const char *device, const char *altroot);

int zpool_export(const char *pool);

/* Runs an argv (zpool/zfs create …); on failure *error describes it. */
int zfs_run(char **argv, char **error);
