/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>

#include <blkid/blkid.h>

#include "disk/apply.h"
#include "disk/gpt.h"
#include "disk/probe.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/run.h"

static int set_error(char **error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int set_error(char **error, int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        free(*error);
        if (vasprintf(error, fmt, ap) < 0)
                *error = NULL;
        va_end(ap);
        return r;
}

int disk_check_target(const DiskLayout *l, const DiskTarget *t, char **why) {
        DiskProbe p;
        int r = disk_probe(t->path, &p);
        if (r < 0)
                return set_error(why, r, "cannot examine %s: %s", t->path, strerror(-r));
        if (*p.busy)
                return set_error(why, -EBUSY, "%s; unmount or detach it first (Keystone never writes to a disk in use, "
                                 "not even with --force)", p.busy);
        if (!*p.pttype && !*p.fstype)
                return 0; /* blank */
        if (*p.pttype && streq(p.pttype, "gpt")) {
                GptTable g;
                char diff[512];
                r = gpt_read(t->path, &g);
                if (r == 0 && gpt_matches(&g, l, diff, sizeof diff) == 0)
                        return 0; /* our own table: resume */
                if (r == 0)
                        return set_error(why, -EEXIST, "%s holds a GPT that differs from the host file: %s", t->path,
                                         diff);
        }
        if (*p.pttype)
                return set_error(why, -EEXIST, "%s holds a partition table (%s)", t->path, p.pttype);
        return set_error(why, -EEXIST, "%s holds data (%s signature)", t->path, p.fstype);
}

static void progress(DiskApplyOptions *o, DiskStep s, DiskStepState st, const char *detail) {
        if (o->progress)
                o->progress(s, st, detail, o->userdata);
}

/* The file system type at a byte offset of the target, "" when none. */
static int probe_at(const char *path, uint64_t offset, uint64_t size, char *type, size_t tsize, char *label,
                    size_t lsize) {
        *type = 0;
        if (label)
                *label = 0;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        blkid_probe pr = blkid_new_probe();
        if (!pr)
                return -ENOMEM;
        int r = blkid_probe_set_device(pr, fd, offset, size);
        if (r == 0) {
                blkid_probe_enable_superblocks(pr, 1);
                blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL);
                const char *v;
                if (blkid_do_safeprobe(pr) == 0) {
                        if (blkid_probe_lookup_value(pr, "TYPE", &v, NULL) == 0)
                                snprintf(type, tsize, "%s", v);
                        if (label && blkid_probe_lookup_value(pr, "LABEL", &v, NULL) == 0)
                                snprintf(label, lsize, "%s", v);
                }
        }
        blkid_free_probe(pr);
        return r < 0 ? -EIO : 0;
}

static int step_partition(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o) {
        GptTable g;
        char diff[512];
        int r = gpt_read(t->path, &g);
        if (r == 0 && gpt_matches(&g, l, diff, sizeof diff) == 0) {
                progress(o, STEP_PARTITION, STEP_ALREADY_DONE, "the GPT matches the plan");
                return 0;
        }
        progress(o, STEP_PARTITION, STEP_RUNNING, "writing a new GPT");
        r = gpt_write(t->path, l);
        if (r < 0)
                return set_error(&o->error, r, "writing the GPT on %s failed: %s", t->path, strerror(-r));
        /* read back what the disk now says */
        r = gpt_read(t->path, &g);
        if (r < 0 || gpt_matches(&g, l, diff, sizeof diff) < 0)
                return set_error(&o->error, r < 0 ? r : -EIO, "the GPT read back from %s is not the one written%s%s",
                                 t->path, r < 0 ? "" : ": ", r < 0 ? "" : diff);
        progress(o, STEP_PARTITION, STEP_DONE, NULL);
        return 0;
}

static int step_esp(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o) {
        const DiskPartition *esp = disk_layout_part(l, PART_ESP);
        char type[32], label[64];
        uint64_t off = esp->start * DISK_SECTOR, size = esp->size * DISK_SECTOR;
        int r = probe_at(t->path, off, size, type, sizeof type, label, sizeof label);
        if (r < 0)
                return set_error(&o->error, r, "cannot examine partition 1 of %s: %s", t->path, strerror(-r));
        if (streq(type, "vfat")) {
                progress(o, STEP_ESP, STEP_ALREADY_DONE, "partition 1 holds a FAT file system");
                return 0;
        }
        if (*type)
                return set_error(&o->error, -EEXIST, "partition 1 of %s holds a %s file system, not the ESP; "
                                 "re-run with --force to start over from a new partition table", t->path, type);
        progress(o, STEP_ESP, STEP_RUNNING, "mkfs.vfat");
        char offset[32], blocks[32];
        snprintf(offset, sizeof offset, "%" PRIu64, esp->start);
        snprintf(blocks, sizeof blocks, "%" PRIu64, size / 1024);
        /* On a whole device or image, mkfs.fat writes at --offset (in
         * sectors): no partition device nodes needed. */
        const char *argv[16];
        size_t n = 0;
        argv[n++] = "mkfs.vfat";
        argv[n++] = "-F";
        argv[n++] = "32";
        argv[n++] = "-n";
        argv[n++] = "ESP";
        if (*l->esp_volume_id) {
                argv[n++] = "-i";
                argv[n++] = l->esp_volume_id;
        }
        argv[n++] = "--offset";
        argv[n++] = offset;
        argv[n++] = t->path;
        argv[n++] = blocks;
        argv[n] = NULL;
        RunResult res = {};
        r = run(argv, NULL, &res);
        if (r < 0) {
                set_error(&o->error, r, "mkfs.vfat on partition 1 of %s failed: %s", t->path,
                          r == -EPROTO ? run_result_describe(&res) : strerror(-r));
                run_result_done(&res);
                return r;
        }
        run_result_done(&res);
        r = probe_at(t->path, off, size, type, sizeof type, NULL, 0);
        if (r < 0 || !streq(type, "vfat"))
                return set_error(&o->error, -EIO, "partition 1 of %s shows no FAT file system after mkfs.vfat", t->path);
        progress(o, STEP_ESP, STEP_DONE, NULL);
        return 0;
}

static int step_zfs_available(const DiskTarget *t, DiskStep s, DiskApplyOptions *o) {
        if (access("/dev/zfs", F_OK) == 0)
                return 0;
        return set_error(&o->error, -ENOPKG,
                         "step %s needs ZFS, and this machine has no /dev/zfs (the zfs kernel module is not loaded); "
                         "run the remaining steps inside the Keystone installer, where ZFS is available, or stop "
                         "before them with --until esp", disk_step_name(s));
}

int disk_apply(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o) {
        if (!l->disk_bytes)
                return set_error(&o->error, -EINVAL, "the size of %s is unknown", t->path);
        char *why = NULL;
        int r = disk_check_target(l, t, &why);
        if (r == -EEXIST && o->force) {
                log_debug("--force: %s", why);
                r = 0;
        }
        if (r < 0) {
                free(o->error);
                o->error = why;
                return r;
        }
        free(why);

        typedef int (*StepFn)(const DiskLayout *, const DiskTarget *, DiskApplyOptions *);
        static const StepFn host_steps[] = { step_partition, step_esp };
        for (DiskStep s = 0; s <= o->until && s < _STEP_MAX; s++) {
                if (s < ELEMENTSOF(host_steps)) {
                        r = host_steps[s](l, t, o);
                } else
                        r = step_zfs_available(t, s, o);
                if (r < 0)
                        return r;
                if (s >= ELEMENTSOF(host_steps))
                        return set_error(&o->error, -EOPNOTSUPP,
                                         "step %s: the ZFS and credstore steps are not part of this build yet; "
                                         "stop before them with --until esp", disk_step_name(s));
        }
        return 0;
}
