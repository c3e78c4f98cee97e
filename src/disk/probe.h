/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* What is on a disk or image before Keystone touches it. */
typedef struct DiskProbe {
        bool is_block;
        uint64_t bytes;
        char pttype[16];     /* "gpt", "dos", … or "" */
        char fstype[32];     /* a file system / pool signature at the start: "btrfs", "zfs_member", … */
        char busy[512];      /* "" or why it is in use: mounted where, swap, loop-attached, held */
        char unreadable[128]; /* "" or why its signatures could not be read: it may hold data */
} DiskProbe;

/* -ENOENT when path does not exist; -ENOTBLK when it is neither a block
 * device nor a regular file. */
int disk_probe(const char *path, DiskProbe *ret);
