/* SPDX-License-Identifier: MIT */
#pragma once

/* The disk layout of ARCHITECTURE.md, computed from a host file:
 *
 *   GPT: 1 ESP (vfat, /boot) | 2 ZFS (pool) | 3 swap (random key each boot)
 *   pool/credstore: zvol, LUKS2 + ext4, holds zfs-sysroot.mount (32 bytes)
 *   pool/crypt: aes-*-gcm, keyformat raw, key from the credstore;
 *   datasets below it from disk.datasets.
 *
 * Positions are in 512-byte sectors, 1 MiB aligned.  With no disk size
 * known, positions are 0 and the plan speaks of sizes only. */

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "util/format-bytes.h"

#define GPT_TYPE_ESP  "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#define GPT_TYPE_ZFS  "6A898CC3-1DD2-11B2-99A6-080020736631"
#define GPT_TYPE_SWAP "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"

#define DISK_SECTOR 512u
#define DISK_ALIGN (2048u) /* sectors: 1 MiB */
#define DISK_MIN_POOL (1ull << 30)

typedef enum PartRole { PART_ESP, PART_ZFS, PART_SWAP } PartRole;

typedef struct DiskPartition {
        PartRole role;
        const char *name;        /* GPT partition name */
        const char *type_guid;
        uint64_t start, size;    /* sectors; size 0 for "the rest" when the disk size is unknown */
        char uuid[37];           /* PARTUUID, "" when random at apply time */
} DiskPartition;

typedef struct DiskDataset {
        char *name;              /* relative to the pool: "crypt/home" */
        char *mountpoint;        /* "none" or an absolute path */
} DiskDataset;

typedef struct DiskLayout {
        char *host;
        uint64_t disk_bytes;     /* 0: unknown */
        char disk_guid[37];      /* "" unless seeded */
        char esp_volume_id[9];   /* vfat volume id, "" unless seeded */
        DiskPartition parts[3];
        unsigned n_parts;        /* 2 when there is no swap */
        uint64_t esp_bytes, swap_bytes, credstore_bytes;
        char *pool;
        int64_t ashift;
        char *compression, *encryption;
        DiskDataset *datasets;
        size_t n_datasets;
} DiskLayout;

/* From a loaded configuration; disk_bytes 0 when unknown; seed NULL for
 * random UUIDs at apply time, else UUIDs derived from it (tests, golden
 * files).  -ENOSPC when the disk is too small (message via the caller:
 * disk_layout_min_bytes()). */
int disk_layout_new(const Config *c, uint64_t disk_bytes, const char *seed, DiskLayout **ret);
void disk_layout_free(DiskLayout *l);
uint64_t disk_layout_min_bytes(const DiskLayout *l);

/* Sectors per cluster for the ESP's FAT32 (512-byte sectors): at most 8
 * (4 KiB clusters), fewer on a small ESP so that it still has at least
 * 65525 clusters.  The cluster count alone makes a FAT "FAT32" to the
 * UEFI spec's driver (and to mtools); mkfs.fat's own choice leaves a
 * 256 MiB ESP with 65403 clusters, which Linux mounts and OVMF cannot
 * read. */
unsigned disk_esp_sectors_per_cluster(uint64_t esp_bytes);

const DiskPartition *disk_layout_part(const DiskLayout *l, PartRole role);
