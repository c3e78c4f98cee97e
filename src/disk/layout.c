/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>

#include <openssl/evp.h>

#include "disk/layout.h"
#include "util/macro.h"

/* A UUID derived from seed and what, formatted as a version-4 UUID. */
static void seeded_uuid(const char *seed, const char *what, char out[37]) {
        unsigned char md[32];
        unsigned len = 0;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
            !EVP_DigestUpdate(ctx, seed, strlen(seed)) || !EVP_DigestUpdate(ctx, "\0", 1) ||
            !EVP_DigestUpdate(ctx, what, strlen(what)) || !EVP_DigestFinal_ex(ctx, md, &len))
                memset(md, 0, sizeof md);
        EVP_MD_CTX_free(ctx);
        md[6] = (md[6] & 0x0f) | 0x40;
        md[8] = (md[8] & 0x3f) | 0x80;
        snprintf(out, 37, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X",
                 md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11],
                 md[12], md[13], md[14], md[15]);
}

static uint64_t align_up(uint64_t v) {
        return (v + DISK_ALIGN - 1) / DISK_ALIGN * DISK_ALIGN;
}

void disk_layout_free(DiskLayout *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n_datasets; i++) {
                free(l->datasets[i].name);
                free(l->datasets[i].mountpoint);
        }
        free(l->datasets);
        free(l->host);
        free(l->pool);
        free(l->compression);
        free(l->encryption);
        free(l);
}

uint64_t disk_layout_min_bytes(const DiskLayout *l) {
        /* 1 MiB before the ESP, the 33 sectors of the backup GPT rounded up */
        return (uint64_t) DISK_ALIGN * DISK_SECTOR + align_up(l->esp_bytes / DISK_SECTOR) * DISK_SECTOR +
               DISK_MIN_POOL + align_up(l->swap_bytes / DISK_SECTOR) * DISK_SECTOR + DISK_ALIGN * DISK_SECTOR;
}

const DiskPartition *disk_layout_part(const DiskLayout *l, PartRole role) {
        for (unsigned i = 0; i < l->n_parts; i++)
                if (l->parts[i].role == role)
                        return &l->parts[i];
        return NULL;
}

static char *dup_or_null(const char *s) {
        return s ? strdup(s) : NULL;
}

int disk_layout_new(const Config *c, uint64_t disk_bytes, const char *seed, DiskLayout **ret) {
        DiskLayout *l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->host = dup_or_null(config_string(c, "host.name"));
        l->pool = dup_or_null(config_string(c, "disk.pool"));
        l->compression = dup_or_null(config_string(c, "disk.compression"));
        l->encryption = dup_or_null(config_string(c, "disk.encryption"));
        l->ashift = config_int(c, "disk.ashift");
        l->esp_bytes = config_size(c, "disk.esp-size");
        l->swap_bytes = config_size(c, "disk.swap-size");
        l->credstore_bytes = config_size(c, "disk.credstore-size");
        l->disk_bytes = disk_bytes;
        if (!l->host || !l->pool || !l->compression || !l->encryption) {
                disk_layout_free(l);
                return -ENOMEM;
        }
        const ConfigNode *ds = config_get(c, "disk.datasets");
        if (ds && ds->n_items) {
                l->datasets = calloc(ds->n_items, sizeof(DiskDataset));
                if (!l->datasets) {
                        disk_layout_free(l);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < ds->n_items; i++) {
                        const ConfigNode *mp = ds->items[i]->n_items ? ds->items[i]->items[0] : NULL;
                        l->datasets[i].name = strdup(ds->items[i]->name);
                        l->datasets[i].mountpoint = strdup(mp && mp->s ? mp->s : "none");
                        l->n_datasets++;
                        if (!l->datasets[i].name || !l->datasets[i].mountpoint) {
                                disk_layout_free(l);
                                return -ENOMEM;
                        }
                }
        }

        l->parts[0] = (DiskPartition) { PART_ESP, "ESP", GPT_TYPE_ESP, 0, 0, "" };
        l->parts[1] = (DiskPartition) { PART_ZFS, "zfs", GPT_TYPE_ZFS, 0, 0, "" };
        l->n_parts = 2;
        if (l->swap_bytes > 0)
                l->parts[l->n_parts++] = (DiskPartition) { PART_SWAP, "swap", GPT_TYPE_SWAP, 0, 0, "" };

        uint64_t esp = align_up((l->esp_bytes + DISK_SECTOR - 1) / DISK_SECTOR);
        uint64_t swap = align_up((l->swap_bytes + DISK_SECTOR - 1) / DISK_SECTOR);
        l->parts[0].size = esp;
        if (l->swap_bytes > 0)
                l->parts[2].size = swap;

        if (disk_bytes > 0) {
                if (disk_bytes < disk_layout_min_bytes(l)) {
                        *ret = l;
                        return -ENOSPC;
                }
                uint64_t total = disk_bytes / DISK_SECTOR;
                /* the backup GPT takes the last 33 sectors; keep the end aligned */
                uint64_t end = (total - 33) / DISK_ALIGN * DISK_ALIGN;
                l->parts[0].start = DISK_ALIGN;
                l->parts[1].start = DISK_ALIGN + esp;
                uint64_t zfs_end = end - (l->swap_bytes > 0 ? swap : 0);
                l->parts[1].size = zfs_end - l->parts[1].start;
                if (l->swap_bytes > 0)
                        l->parts[2].start = zfs_end;
        }
        if (seed) {
                seeded_uuid(seed, "disk", l->disk_guid);
                for (unsigned i = 0; i < l->n_parts; i++)
                        seeded_uuid(seed, l->parts[i].name, l->parts[i].uuid);
                char v[37];
                seeded_uuid(seed, "esp-volume-id", v);
                snprintf(l->esp_volume_id, sizeof l->esp_volume_id, "%.8s", v);
        }
        *ret = l;
        return 0;
}

unsigned disk_esp_sectors_per_cluster(uint64_t esp_bytes) {
        uint64_t sectors = esp_bytes / 512;
        unsigned spc = 8;
        /* room for the reserved sectors and two FATs: aim above 65525 */
        while (spc > 1 && sectors / spc < 70000)
                spc /= 2;
        return spc;
}
