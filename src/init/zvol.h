/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Finding a zvol's block device without udev (Keystone's initrd has none, so
 * there is no /dev/zvol/POOL/NAME link).  Every /sys/block/zdN is a zvol;
 * its "dev" file gives major:minor, /dev/zdN is created with mknod when
 * devtmpfs has not made it, and the zvol's name is asked from the device
 * itself with the BLKZNAME ioctl (what udev's zvol_id does).  The minor
 * numbers say nothing about names: zvols get them in creation order. */

typedef struct InitZvolLookup {
        const char *root;               /* prefix for /sys and /dev: "" in the initrd, a directory in tests */
        bool accept_regular_files;      /* dry runs: a regular file at /dev/zdN stands in for the device */
        /* The zvol name of the device node (BLKZNAME); NULL: the ioctl. */
        int (*name)(void *userdata, const char *node, char *buf, size_t size);
        /* Creates a block device node; NULL: mknod(2), mode 0600. */
        int (*mknod)(void *userdata, const char *path, dev_t dev);
        void *userdata;
} InitZvolLookup;

/* One scan: 0 and *ret_node (ROOT/dev/zdN) when a zvol named zvol exists,
 * -ENOENT when none does (yet). */
int init_zvol_find(const InitZvolLookup *l, const char *zvol, char *ret_node, size_t size);

/* Scans every 100 ms until the zvol shows up (zvol minors are created
 * asynchronously after the import) or timeout_ms passed: -ETIMEDOUT. */
int init_zvol_wait(const InitZvolLookup *l, const char *zvol, int timeout_ms, char *ret_node, size_t size);

/* The BLKZNAME ioctl on a zvol device node. */
int init_zvol_name_ioctl(void *userdata, const char *node, char *buf, size_t size);

/* Parses a sysfs "dev" file's content ("230:16\n"). */
int init_parse_devnum(const char *s, dev_t *ret);
