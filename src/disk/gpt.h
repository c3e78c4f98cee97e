/* SPDX-License-Identifier: MIT */
#pragma once

#include "disk/layout.h"

typedef struct GptPartition {
        unsigned partno;        /* 1-based */
        uint64_t start, size;   /* sectors */
        char type[37];          /* upper-case type GUID */
        char name[73];
        char uuid[37];
} GptPartition;

typedef struct GptTable {
        char disk_guid[37];
        uint64_t sectors;       /* size of the device in 512-byte sectors */
        unsigned n;
        GptPartition parts[16]; /* the first 16 used entries */
} GptTable;

/* Reads the partition table of a block device or image.  -ENOMEDIUM when
 * there is none, -EMEDIUMTYPE when it is not GPT (MBR, …). */
int gpt_read(const char *path, GptTable *ret);

/* Writes a new GPT for the layout (positions must be known), replacing any
 * table there.  Writes only the table areas (and wipes old signatures found
 * by libfdisk in them). */
int gpt_write(const char *path, const DiskLayout *l);

/* 0 when the table is exactly the layout's (types, positions, names, and the
 * seeded UUIDs); else -EEXIST with the first difference in why. */
int gpt_matches(const GptTable *t, const DiskLayout *l, char *why, size_t size);
