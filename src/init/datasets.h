/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* Which datasets keystone-init mounts, and the encryptionroot check that
 * guards them (boot flow steps 5 and 6), computed from one listing of the
 * pool:
 *
 *   zfs list -H -p -r -t filesystem -o name,mountpoint,canmount,encryptionroot POOL
 *
 * The mount set is the generation named on the command line (mounted on /)
 * plus every dataset of the pool with canmount on or noauto (disk apply makes
 * the shared /var and /home noauto, so that only keystone-init mounts them)
 * and an absolute mountpoint other than / (that leaves out the other
 * generations).  Every one of them must have the
 * expected encryption root; a dataset outside it (unencrypted, or encrypted
 * with a key someone else chose) could have been planted by anyone with
 * access to the disk, so the boot is refused. */

#define INIT_DATASETS_ARGV(pool) \
        { "zfs", "list", "-H", "-p", "-r", "-t", "filesystem", "-o", \
          "name,mountpoint,canmount,encryptionroot", (pool), NULL }

typedef struct InitDataset {
        char *name;
        char *mountpoint;       /* "/" for the generation */
        char *encryptionroot;   /* "-" when not encrypted */
} InitDataset;

typedef struct InitMountPlan {
        InitDataset *mounts;    /* in mount order: the generation, then shallow before deep */
        size_t n;
} InitMountPlan;

void init_mount_plan_done(InitMountPlan *p);

/* -EBADMSG for a listing that is not in the expected form, -ENOENT when the
 * generation is not in it, -EPERM when a dataset of the mount set has
 * another encryption root; *ret_error (malloc'd) says which and what to do. */
int init_mount_plan(const char *listing, const char *generation, const char *encryptionroot,
                    InitMountPlan *ret, char **ret_error);
