/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <inttypes.h>

#include <libfdisk/libfdisk.h>

#include "disk/gpt.h"
#include "util/log.h"
#include "util/macro.h"

DEFINE_POINTER_CLEANUP(struct fdisk_context, fdisk_unref_context)
DEFINE_POINTER_CLEANUP(struct fdisk_partition, fdisk_unref_partition)
DEFINE_POINTER_CLEANUP(struct fdisk_table, fdisk_unref_table)

static void upper(char *s) {
        for (; *s; s++)
                *s = toupper((unsigned char) *s);
}

int gpt_read(const char *path, GptTable *ret) {
        _cleanup_(fdisk_unref_contextp) struct fdisk_context *cxt = fdisk_new_context();
        if (!cxt)
                return -ENOMEM;
        int r = fdisk_assign_device(cxt, path, 1 /* read-only */);
        if (r < 0)
                return r;
        GptTable t = { .sectors = fdisk_get_nsectors(cxt) * fdisk_get_sector_size(cxt) / DISK_SECTOR };
        if (!fdisk_has_label(cxt)) {
                *ret = t;
                return -ENOMEDIUM;
        }
        if (!fdisk_is_label(cxt, GPT)) {
                *ret = t;
                return -EMEDIUMTYPE;
        }
        _cleanup_free_ char *id = NULL;
        if (fdisk_get_disklabel_id(cxt, &id) == 0 && id) {
                snprintf(t.disk_guid, sizeof t.disk_guid, "%s", id);
                upper(t.disk_guid);
        }
        _cleanup_(fdisk_unref_tablep) struct fdisk_table *tb = NULL;
        r = fdisk_get_partitions(cxt, &tb);
        if (r < 0)
                return r;
        struct fdisk_iter *it = fdisk_new_iter(FDISK_ITER_FORWARD);
        if (!it)
                return -ENOMEM;
        struct fdisk_partition *pa;
        unsigned ss = fdisk_get_sector_size(cxt);
        while (t.n < ELEMENTSOF(t.parts) && fdisk_table_next_partition(tb, it, &pa) == 0) {
                GptPartition *p = &t.parts[t.n++];
                p->partno = fdisk_partition_get_partno(pa) + 1;
                p->start = fdisk_partition_get_start(pa) * ss / DISK_SECTOR;
                p->size = fdisk_partition_get_size(pa) * ss / DISK_SECTOR;
                struct fdisk_parttype *ty = fdisk_partition_get_type(pa);
                snprintf(p->type, sizeof p->type, "%s", ty ? fdisk_parttype_get_string(ty) : "");
                upper(p->type);
                const char *n = fdisk_partition_get_name(pa), *u = fdisk_partition_get_uuid(pa);
                snprintf(p->name, sizeof p->name, "%s", n ? n : "");
                snprintf(p->uuid, sizeof p->uuid, "%s", u ? u : "");
                upper(p->uuid);
        }
        fdisk_free_iter(it);
        *ret = t;
        return 0;
}

int gpt_write(const char *path, const DiskLayout *l) {
        if (!l->disk_bytes)
                return -EINVAL;
        _cleanup_(fdisk_unref_contextp) struct fdisk_context *cxt = fdisk_new_context();
        if (!cxt)
                return -ENOMEM;
        int r = fdisk_assign_device(cxt, path, 0);
        if (r < 0)
                return r;
        if (fdisk_get_sector_size(cxt) != DISK_SECTOR) {
                log_debug("%s has %lu-byte sectors; the layout is computed for %u", path,
                          fdisk_get_sector_size(cxt), DISK_SECTOR);
                fdisk_deassign_device(cxt, 1);
                return -EMEDIUMTYPE;
        }
        if (fdisk_get_nsectors(cxt) * DISK_SECTOR < l->disk_bytes / DISK_SECTOR * DISK_SECTOR) {
                fdisk_deassign_device(cxt, 1);
                return -ENOSPC;
        }
        fdisk_disable_dialogs(cxt, 1);
        fdisk_enable_wipe(cxt, 1);
        r = fdisk_create_disklabel(cxt, "gpt");
        if (r < 0)
                goto fail;
        if (*l->disk_guid && (r = fdisk_set_disklabel_id_from_string(cxt, l->disk_guid)) < 0)
                goto fail;
        struct fdisk_label *lb = fdisk_get_label(cxt, NULL);
        for (unsigned i = 0; i < l->n_parts; i++) {
                const DiskPartition *p = &l->parts[i];
                _cleanup_(fdisk_unref_partitionp) struct fdisk_partition *pa = fdisk_new_partition();
                if (!pa) {
                        r = -ENOMEM;
                        goto fail;
                }
                struct fdisk_parttype *ty = fdisk_label_get_parttype_from_string(lb, p->type_guid);
                if (!ty) {
                        r = -EINVAL;
                        goto fail;
                }
                if ((r = fdisk_partition_set_partno(pa, i)) < 0 ||
                    (r = fdisk_partition_set_start(pa, p->start)) < 0 ||
                    (r = fdisk_partition_set_size(pa, p->size)) < 0 ||
                    (r = fdisk_partition_set_type(pa, ty)) < 0 ||
                    (r = fdisk_partition_set_name(pa, p->name)) < 0 ||
                    (*p->uuid && (r = fdisk_partition_set_uuid(pa, p->uuid)) < 0)) {
                        fdisk_unref_parttype(ty);
                        goto fail;
                }
                fdisk_unref_parttype(ty);
                r = fdisk_add_partition(cxt, pa, NULL);
                if (r < 0)
                        goto fail;
        }
        r = fdisk_write_disklabel(cxt);
        if (r < 0)
                goto fail;
        r = fdisk_deassign_device(cxt, 0); /* syncs, asks the kernel to re-read */
        return r < 0 ? r : 0;
fail:
        fdisk_deassign_device(cxt, 1);
        return r < 0 ? r : -EIO;
}

int gpt_matches(const GptTable *t, const DiskLayout *l, char *why, size_t size) {
        if (t->n != l->n_parts) {
                snprintf(why, size, "the disk has %u partitions, the host file wants %u", t->n, l->n_parts);
                return -EEXIST;
        }
        if (*l->disk_guid && !streq(t->disk_guid, l->disk_guid)) {
                snprintf(why, size, "disk GUID %s, the plan has %s", t->disk_guid, l->disk_guid);
                return -EEXIST;
        }
        for (unsigned i = 0; i < l->n_parts; i++) {
                const DiskPartition *p = &l->parts[i];
                const GptPartition *g = &t->parts[i];
                char a[32], b[32];
                if (g->partno != i + 1 || !streq(g->type, p->type_guid)) {
                        snprintf(why, size, "partition %u has type %s, the host file wants %s (%s)", g->partno,
                                 g->type, p->type_guid, p->name);
                        return -EEXIST;
                }
                if (g->start != p->start || g->size != p->size) {
                        snprintf(why, size, "partition %u (%s) is %s at sector %" PRIu64 ", the host file wants %s at sector %" PRIu64,
                                 g->partno, p->name, format_bytes(g->size * DISK_SECTOR, a, sizeof a), g->start,
                                 format_bytes(p->size * DISK_SECTOR, b, sizeof b), p->start);
                        return -EEXIST;
                }
                if (!streq(g->name, p->name)) {
                        snprintf(why, size, "partition %u is named \"%s\", the host file wants \"%s\"", g->partno,
                                 g->name, p->name);
                        return -EEXIST;
                }
                if (*p->uuid && !streq(g->uuid, p->uuid)) {
                        snprintf(why, size, "partition %u has PARTUUID %s, the plan has %s", g->partno, g->uuid,
                                 p->uuid);
                        return -EEXIST;
                }
        }
        return 0;
}
