/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdarg.h>

#include "disk/plan.h"
#include "util/macro.h"
#include "util/run.h"

static const char *const step_names[_STEP_MAX] = {
        [STEP_PARTITION] = "partition",
        [STEP_ESP] = "esp",
        [STEP_POOL] = "pool",
        [STEP_CREDSTORE] = "credstore",
        [STEP_CRYPT] = "crypt",
        [STEP_DATASETS] = "datasets",
        [STEP_FINISH] = "finish",
};

const char *disk_step_name(DiskStep s) {
        return s < _STEP_MAX ? step_names[s] : "?";
}

int disk_step_from_name(const char *name) {
        for (int s = 0; s < _STEP_MAX; s++)
                if (streq(step_names[s], name))
                        return s;
        return -EINVAL;
}

const char *disk_partition_path(const DiskTarget *t, unsigned partno) {
        static char buf[4200];
        if (t->is_image) {
                snprintf(buf, sizeof buf, "%s partition %u", t->path, partno);
                return buf;
        }
        size_t n = strlen(t->path);
        bool digit_end = n > 0 && t->path[n - 1] >= '0' && t->path[n - 1] <= '9';
        /* /dev/nvme0n1 → /dev/nvme0n1p2, /dev/loop0 → /dev/loop0p2, /dev/vda → /dev/vda2;
         * /dev/disk/by-id/X → /dev/disk/by-id/X-part2 */
        if (startswith(t->path, "/dev/disk/"))
                snprintf(buf, sizeof buf, "%s-part%u", t->path, partno);
        else
                snprintf(buf, sizeof buf, "%s%s%u", t->path, digit_end ? "p" : "", partno);
        return buf;
}

/* Builds a NULL-ended argv from printf-style items, one per argument. */
typedef struct Strv {
        char **v;
        size_t n;
        bool oom;
} Strv;

static void strv_add(Strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void strv_add(Strv *s, const char *fmt, ...) {
        if (s->oom)
                return;
        char **n = realloc(s->v, (s->n + 2) * sizeof(char *));
        if (!n) {
                s->oom = true;
                return;
        }
        s->v = n;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&s->v[s->n], fmt, ap) < 0) {
                s->oom = true;
                s->v[s->n] = NULL;
        } else
                s->v[++s->n] = NULL;
        va_end(ap);
}

static char **strv_done(Strv *s) {
        if (s->oom) {
                strv_free(s->v);
                return NULL;
        }
        return s->v;
}

char **disk_zpool_create_argv(const DiskLayout *l, const char *device, const char *altroot) {
        Strv s = {};
        strv_add(&s, "zpool");
        strv_add(&s, "create");
        strv_add(&s, "-f");
        strv_add(&s, "-o");
        strv_add(&s, "ashift=%" PRId64, l->ashift);
        strv_add(&s, "-o");
        strv_add(&s, "autotrim=on");
        strv_add(&s, "-O");
        strv_add(&s, "compression=%s", l->compression);
        strv_add(&s, "-O");
        strv_add(&s, "acltype=posixacl");
        strv_add(&s, "-O");
        strv_add(&s, "xattr=sa");
        strv_add(&s, "-O");
        strv_add(&s, "relatime=on");
        strv_add(&s, "-O");
        strv_add(&s, "mountpoint=none");
        strv_add(&s, "-O");
        strv_add(&s, "canmount=off");
        if (altroot) {
                strv_add(&s, "-R");
                strv_add(&s, "%s", altroot);
        }
        strv_add(&s, "%s", l->pool);
        strv_add(&s, "%s", device);
        return strv_done(&s);
}

char **disk_credstore_create_argv(const DiskLayout *l) {
        Strv s = {};
        strv_add(&s, "zfs");
        strv_add(&s, "create");
        strv_add(&s, "-V");
        strv_add(&s, "%" PRIu64, l->credstore_bytes);
        strv_add(&s, "-o");
        strv_add(&s, "compression=off");
        strv_add(&s, "%s/credstore", l->pool);
        return strv_done(&s);
}

char **disk_crypt_create_argv(const DiskLayout *l, const char *keylocation) {
        Strv s = {};
        strv_add(&s, "zfs");
        strv_add(&s, "create");
        strv_add(&s, "-o");
        strv_add(&s, "encryption=%s", l->encryption);
        strv_add(&s, "-o");
        strv_add(&s, "keyformat=raw");
        strv_add(&s, "-o");
        strv_add(&s, "keylocation=%s", keylocation);
        strv_add(&s, "-o");
        strv_add(&s, "mountpoint=none");
        strv_add(&s, "%s/crypt", l->pool);
        return strv_done(&s);
}

char **disk_dataset_create_argv(const DiskLayout *l, const DiskDataset *d) {
        Strv s = {};
        strv_add(&s, "zfs");
        strv_add(&s, "create");
        strv_add(&s, "-o");
        strv_add(&s, "mountpoint=%s", d->mountpoint);
        if (!streq(d->mountpoint, "none")) {
                /* mounted by keystone-init (initrd) or `keystone disk mount` */
                strv_add(&s, "-o");
                strv_add(&s, "canmount=noauto");
        }
        strv_add(&s, "%s/%s", l->pool, d->name);
        return strv_done(&s);
}

static void print_argv(FILE *f, const char *indent, char **argv) {
        if (!argv) {
                fprintf(f, "%s(out of memory)\n", indent);
                return;
        }
        _cleanup_free_ char *s = argv_to_string((const char *const *) argv);
        fprintf(f, "%s%s\n", indent, s ? s : "?");
        strv_free(argv);
}

static const char *type_label(const char *guid) {
        if (streq(guid, GPT_TYPE_ESP))
                return "EFI System";
        if (streq(guid, GPT_TYPE_ZFS))
                return "ZFS";
        if (streq(guid, GPT_TYPE_SWAP))
                return "Linux swap";
        return "?";
}

int disk_plan_write(const DiskLayout *l, const DiskTarget *t, FILE *f) {
        char b1[32], b2[32];
        fprintf(f, "Disk plan for host %s on %s", l->host, t->path);
        if (l->disk_bytes)
                fprintf(f, " (%s, %" PRIu64 " sectors of %u bytes)\n", format_bytes(l->disk_bytes, b1, sizeof b1),
                        l->disk_bytes / DISK_SECTOR, DISK_SECTOR);
        else
                fprintf(f, " (size unknown: sizes only, no positions)\n");
        fprintf(f, "Nothing has been changed. `keystone disk apply` runs these steps in order;\n"
                   "each is skipped when the disk shows it done.\n\n");

        /* 1 partition */
        fprintf(f, "1. %s: a new GPT (libfdisk), partitions 1 MiB aligned; disk GUID %s\n",
                disk_step_name(STEP_PARTITION), *l->disk_guid ? l->disk_guid : "random");
        fprintf(f, "   %-2s %-10s %-10s %-10s %-51s %-5s %s\n", "#", "start", "end", "size", "type", "name",
                "PARTUUID");
        for (unsigned i = 0; i < l->n_parts; i++) {
                const DiskPartition *p = &l->parts[i];
                char start[24] = "-", end[24] = "-", typ[64];
                if (l->disk_bytes) {
                        snprintf(start, sizeof start, "%" PRIu64, p->start);
                        snprintf(end, sizeof end, "%" PRIu64, p->start + p->size - 1);
                }
                const char *size = p->size ? format_bytes(p->size * DISK_SECTOR, b1, sizeof b1) : "the rest";
                snprintf(typ, sizeof typ, "%s (%s)", p->type_guid, type_label(p->type_guid));
                fprintf(f, "   %-2u %-10s %-10s %-10s %-51s %-5s %s\n", i + 1, start, end, size, typ, p->name,
                        *p->uuid ? p->uuid : "random");
        }

        /* 2 esp */
        const DiskPartition *esp = disk_layout_part(l, PART_ESP);
        fprintf(f, "\n2. %s: FAT32 file system on partition 1, label ESP, volume id %s, mounted on /boot\n",
                disk_step_name(STEP_ESP), *l->esp_volume_id ? l->esp_volume_id : "random");
        /* on the whole disk or image at the ESP's offset: no partition node needed */
        fprintf(f, "   mkfs.vfat -I -F 32 -s %u -n ESP -i %s --offset %" PRIu64 " %s %" PRIu64 "\n",
                disk_esp_sectors_per_cluster(esp->size * DISK_SECTOR),
                *l->esp_volume_id ? l->esp_volume_id : "RANDOM", esp->start, t->path, esp->size * DISK_SECTOR / 1024);

        /* 3 pool */
        fprintf(f, "\n3. %s: ZFS pool %s on partition 2 (needs the zfs kernel module)\n", disk_step_name(STEP_POOL),
                l->pool);
        print_argv(f, "   ", disk_zpool_create_argv(l, disk_partition_path(t, 2), "ROOT"));

        /* 4 credstore */
        fprintf(f, "\n4. %s: the %s zvol %s/credstore, LUKS2 inside, ext4 inside that\n",
                disk_step_name(STEP_CREDSTORE), format_bytes(l->credstore_bytes, b1, sizeof b1), l->pool);
        print_argv(f, "   ", disk_credstore_create_argv(l));
        fprintf(f, "   LUKS2 format (libcryptsetup, aes-xts-plain64, argon2id), keyslot 0 opened by the first secret:\n"
                   "     --credstore-key-file FILE, or a new random secret written to the 0600 file you name\n"
                   "     (no built-in default password); `keystone tpm enroll` and `recovery` add the others\n");
        fprintf(f, "   mkfs.ext4 -L credstore on the opened volume; mounted at ROOT%s\n", CREDSTORE_MOUNT);
        fprintf(f, "   %s: %d random bytes (getrandom), created inside the mounted credstore (0400),\n"
                   "     never written anywhere else\n", CREDSTORE_KEY_FILE, CREDSTORE_KEY_BYTES);

        /* 5 crypt */
        fprintf(f, "\n5. %s: the encryption root, key from the credstore\n", disk_step_name(STEP_CRYPT));
        print_argv(f, "   ", disk_crypt_create_argv(l, "file://" CREDSTORE_MOUNT "/" CREDSTORE_KEY_FILE));

        /* 6 datasets */
        fprintf(f, "\n6. %s: below %s/crypt (boot environments crypt/system/generations/N come from keystone build)\n",
                disk_step_name(STEP_DATASETS), l->pool);
        for (size_t i = 0; i < l->n_datasets; i++) {
                if (streq(l->datasets[i].name, "crypt"))
                        continue;
                print_argv(f, "   ", disk_dataset_create_argv(l, &l->datasets[i]));
        }

        /* 7 finish */
        fprintf(f, "\n7. %s: unmount and close the credstore, export %s\n", disk_step_name(STEP_FINISH), l->pool);

        const DiskPartition *swap = disk_layout_part(l, PART_SWAP);
        if (swap)
                fprintf(f, "\nSwap (partition 3, %s) is not formatted now: the installed system encrypts it\n"
                           "with a fresh random key at every boot.\n",
                        format_bytes(swap->size * DISK_SECTOR, b2, sizeof b2));

        fprintf(f, "\n/etc/fstab of the installed system:\n");
        if (*l->esp_volume_id)
                fprintf(f, "   UUID=%.4s-%.4s  /boot  vfat  umask=0077,shortname=winnt  0  2\n", l->esp_volume_id,
                        l->esp_volume_id + 4);
        else
                fprintf(f, "   UUID=<ESP volume id>  /boot  vfat  umask=0077,shortname=winnt  0  2\n");
        if (swap)
                fprintf(f, "   /dev/mapper/swap  none  swap  defaults  0  0\n");
        fprintf(f, "   (/, /var and /home are ZFS datasets mounted by keystone-init in the initrd)\n");
        fprintf(f, "\n/etc/crypttab of the installed system:\n");
        if (swap)
                fprintf(f, "   swap  PARTUUID=%s  /dev/urandom  swap,cipher=aes-xts-plain64,size=512,sector-size=4096\n",
                        *swap->uuid ? swap->uuid : "<swap PARTUUID>");
        fprintf(f, "   (the credstore is opened by keystone-init in the initrd, not through crypttab)\n");
        return ferror(f) ? -EIO : 0;
}
