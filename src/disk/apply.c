/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <blkid/blkid.h>

#include "disk/apply.h"
#include "disk/credstore.h"
#include "disk/zfs.h"
#include "disk/gpt.h"
#include "disk/probe.h"
#include "util/log.h"
#include "util/error-message.h"
#include "util/macro.h"
#include "util/file-bytes.h"
#include "util/hex.h"
#include "util/run.h"
#include "util/secret-input.h"

int disk_check_target(const DiskLayout *l, const DiskTarget *t, char **why) {
        DiskProbe p;
        int r = disk_probe(t->path, &p);
        if (r < 0)
                return error_set(why, r, "cannot examine %s: %s", t->path, strerror(-r));
        if (*p.busy)
                return error_set(why, -EBUSY, "%s; unmount or detach it first (Keystone never writes to a disk in use, "
                                 "not even with --force)", p.busy);
        if (*p.unreadable)
                return error_set(why, -EEXIST, "%s cannot be examined (reading it failed: %s), so it may hold data; "
                                 "check the disk (dmesg) or, if nothing on it is needed, run again with --force",
                                 t->path, p.unreadable);
        if (!*p.pttype && !*p.fstype)
                return 0; /* blank */
        if (*p.pttype && streq(p.pttype, "gpt")) {
                GptTable g;
                char diff[512];
                r = gpt_read(t->path, &g);
                if (r == 0 && gpt_matches(&g, l, diff, sizeof diff) == 0)
                        return 0; /* our own table: resume */
                if (r == 0)
                        return error_set(why, -EEXIST, "%s holds a GPT that differs from the host file: %s", t->path,
                                         diff);
        }
        if (*p.pttype)
                return error_set(why, -EEXIST, "%s holds a partition table (%s)", t->path, p.pttype);
        return error_set(why, -EEXIST, "%s holds data (%s signature)", t->path, p.fstype);
}

static void progress(DiskApplyOptions *o, DiskStep s, DiskStepState st, const char *detail) {
        if (o->progress)
                o->progress(s, st, detail, o->userdata);
}

/* A step's end: done when it changed the disk, else already done (DETAIL: how the disk shows it). */
static void progress_end(DiskApplyOptions *o, DiskStep s, bool changed, const char *detail) {
        if (changed)
                progress(o, s, STEP_DONE, NULL);
        else
                progress(o, s, STEP_ALREADY_DONE, detail);
}

/* Runs a zpool/zfs argv that a disk_*_argv() made (NULL: out of memory) and frees it. */
static int zfs_run_argv(char **argv, char **error) {
        if (!argv)
                return -ENOMEM;
        int r = zfs_run(argv, error);
        strv_free(argv);
        return r;
}

/* The file system type at a byte offset of the target, "" when none. */
int disk_probe_at(const char *path, uint64_t offset, uint64_t size, char *type, size_t tsize, char *label,
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

/* After a new table on a block device: make the kernel read it (BLKRRPART,
 * or partx when the disk is busy) and wait until the partition nodes exist;
 * udev, where it runs, makes them asynchronously. */
static int wait_for_partitions(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o, char **error) {
        if (t->is_image)
                return 0;
        char last[4200];
        snprintf(last, sizeof last, "%s", disk_partition_path(t, l->n_parts));
        if (access(last, F_OK) == 0)
                return 0;
        _cleanup_close_ int fd = open(t->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || ioctl(fd, BLKRRPART) < 0) {
                const char *argv[] = { "partx", "-u", t->path, NULL };
                (void) run(argv, NULL, NULL);
        }
        for (int waited = 0; waited < 20000; waited += 100) {
                if (access(last, F_OK) == 0) {
                        const char *settle[] = { "udevadm", "settle", "--timeout=30", NULL };
                        (void) run(settle, &(RunOptions) { .ignore_dry_run = true }, NULL);
                        return 0;
                }
                usleep(100 * 1000);
        }
        return error_set(error, -ENODEV, "the kernel shows no %s after the new partition table on %s; "
                         "run `partx -u %s` (or reboot) and apply again", last, t->path, t->path);
}

static int step_partition(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o, char **error) {
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
                return error_set(error, r, "writing the GPT on %s failed: %s", t->path, strerror(-r));
        /* read back what the disk now says */
        r = gpt_read(t->path, &g);
        if (r < 0 || gpt_matches(&g, l, diff, sizeof diff) < 0)
                return error_set(error, r < 0 ? r : -EIO, "the GPT read back from %s is not the one written%s%s",
                                 t->path, r < 0 ? "" : ": ", r < 0 ? "" : diff);
        r = wait_for_partitions(l, t, o, error);
        if (r < 0)
                return r;
        progress(o, STEP_PARTITION, STEP_DONE, NULL);
        return 0;
}

static int step_esp(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o, char **error) {
        const DiskPartition *esp = disk_layout_part(l, PART_ESP);
        char type[32], label[64];
        uint64_t off = esp->start * DISK_SECTOR, size = esp->size * DISK_SECTOR;
        int r = disk_probe_at(t->path, off, size, type, sizeof type, label, sizeof label);
        if (r < 0)
                return error_set(error, r, "cannot examine partition 1 of %s: %s", t->path, strerror(-r));
        if (streq(type, "vfat")) {
                progress(o, STEP_ESP, STEP_ALREADY_DONE, "partition 1 holds a FAT file system");
                return 0;
        }
        if (*type)
                return error_set(error, -EEXIST, "partition 1 of %s holds a %s file system, not the ESP; "
                                 "re-run with --force to start over from a new partition table", t->path, type);
        progress(o, STEP_ESP, STEP_RUNNING, "mkfs.vfat");
        char offset[32], blocks[32], spc[8];
        snprintf(offset, sizeof offset, "%" PRIu64, esp->start);
        snprintf(spc, sizeof spc, "%u", disk_esp_sectors_per_cluster(size));
        snprintf(blocks, sizeof blocks, "%" PRIu64, size / 1024);
        /* On a whole device or image, mkfs.fat writes at --offset (in
         * sectors): no partition device nodes needed. */
        const char *argv[16];
        size_t n = 0;
        argv[n++] = "mkfs.vfat";
        argv[n++] = "-I"; /* a whole device with partitions: we write at the ESP's offset on purpose */
        argv[n++] = "-F";
        argv[n++] = "32";
        argv[n++] = "-s";
        argv[n++] = spc;
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
                error_set(error, r, "mkfs.vfat on partition 1 of %s failed: %s", t->path,
                          r == -EPROTO ? run_result_describe(&res) :
                          r == -ENOENT ? "mkfs.vfat is not installed (Debian package dosfstools)" : strerror(-r));
                run_result_done(&res);
                return r;
        }
        run_result_done(&res);
        r = disk_probe_at(t->path, off, size, type, sizeof type, NULL, 0);
        if (r < 0 || !streq(type, "vfat"))
                return error_set(error, -EIO, "partition 1 of %s shows no FAT file system after mkfs.vfat", t->path);
        progress(o, STEP_ESP, STEP_DONE, NULL);
        return 0;
}

int disk_need_zfs(const DiskTarget *t, const char *s, char **error) {
        if (t->is_image)
                return error_set(error, -EMEDIUMTYPE,
                                 "%s needs the disk as a block device; attach the image with "
                                 "`losetup -P -f --show %s` and use --device /dev/loopN", s,
                                 t->path);
        if (access("/dev/zfs", F_OK) == 0)
                return 0;
        return error_set(error, -ENOPKG,
                         "%s needs ZFS, and this machine has no /dev/zfs (the zfs kernel module is not loaded); "
                         "run `modprobe zfs`, or run it inside the Keystone installer where ZFS is available "
                         "(apply can stop before the ZFS steps with --until esp)", s);
}

int disk_pool_identify(const DiskLayout *l, const char *part, ZfsLabel *label, bool *ret_imported, char **error) {
        *ret_imported = false;
        int r = zfs_label_read(part, label);
        if (r < 0)
                return error_set(error, r, "cannot read the ZFS label of %s: %s", part,
                                 r == -ENOTUNIQ ? "it holds signatures of several kinds" :
                                 r == -EBADMSG ? "the label names no pool GUID" : strerror(-r));
        r = zpool_imported(l->pool);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return error_set(error, r, "cannot ask zpool whether a pool %s is imported: %s", l->pool,
                                 strerror(-r));
        char guid[32];
        r = zpool_guid(l->pool, guid, sizeof guid);
        if (r < 0)
                return error_set(error, r, "cannot read the GUID of the imported pool %s (zpool get guid %s): %s",
                                 l->pool, l->pool, strerror(-r));
        if (label->found && streq(label->guid, guid)) {
                *ret_imported = true;
                return 0;
        }
        /* same name, another pool: never take it by name */
        char vdevs[1024];
        if (zpool_vdev_paths(l->pool, vdevs, sizeof vdevs) < 0 || !*vdevs)
                snprintf(vdevs, sizeof vdevs, "devices zpool does not list");
        char here[400];
        if (label->found)
                snprintf(here, sizeof here, "%s holds another pool, %s (GUID %s)", part, label->name, label->guid);
        else
                snprintf(here, sizeof here, "%s holds no ZFS pool yet", part);
        return error_set(error, -EEXIST, "a pool named %s is already imported on this machine, but it is not the "
                         "target's: the imported %s (GUID %s) is on %s, and %s. Keystone identifies a pool by its "
                         "GUID, never by its name alone, so it touches neither. If the imported pool is not in use, "
                         "export it (zpool export %s) and run this again; if it is the running system's own pool, "
                         "run this from another system (the Keystone installer) or give the host file another "
                         "pool name", l->pool, l->pool, guid, vdevs, here, l->pool);
}

int disk_pool_import(const char *part, const ZfsLabel *label, const char *root, char **error) {
        /* by GUID: the pool on this partition, whatever else has the name */
        char *why = NULL;
        int r = zpool_import_guid(label->guid, part, root, &why);
        if (r < 0)
                error_set(error, r, "%s holds the pool %s (GUID %s), and importing it failed: %s. Nothing was "
                          "written to it. See `zpool import -d %s` for its state; to destroy it and start over, "
                          "run apply again with --force", part, label->name, label->guid, why ? why : strerror(-r),
                          part);
        free(why);
        return r;
}

static int step_pool(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o, char **error) {
        int r = disk_need_zfs(t, "step pool", error);
        if (r < 0)
                return r;
        r = wait_for_partitions(l, t, o, error);
        if (r < 0)
                return r;
        char part[4200];
        snprintf(part, sizeof part, "%s", disk_partition_path(t, 2));
        ZfsLabel label;
        bool imported;
        r = disk_pool_identify(l, part, &label, &imported, error);
        if (r < 0)
                return r;
        if (imported) {
                progress(o, STEP_POOL, STEP_ALREADY_DONE, "the pool on partition 2 is imported");
                return 0;
        }
        if (label.found && streq(label.name, l->pool)) {
                r = disk_pool_import(part, &label, o->root, error);
                if (r == 0) {
                        progress(o, STEP_POOL, STEP_ALREADY_DONE, "imported the pool from partition 2");
                        return 0;
                }
                if (!o->force)
                        return r;
                log_debug("--force: creating a new pool over %s: %s", label.guid, *error);
                free(TAKE_PTR(*error));
        } else if (label.found && !o->force)
                return error_set(error, -EEXIST, "%s holds the ZFS pool %s (GUID %s), not the host file's %s; "
                                 "nothing was written to it. To destroy it and start over, run apply again with "
                                 "--force", part, label.name, label.guid, l->pool);
        progress(o, STEP_POOL, STEP_RUNNING, "zpool create");
        r = zfs_run_argv(disk_zpool_create_argv(l, part, o->root), error);
        if (r < 0)
                return r;
        /* done when the imported pool is the one the partition's label names */
        r = disk_pool_identify(l, part, &label, &imported, error);
        if (r < 0)
                return r;
        if (!imported)
                return error_set(error, -EIO, "after zpool create, the pool %s is not imported from %s", l->pool,
                                 part);
        progress(o, STEP_POOL, STEP_DONE, NULL);
        return 0;
}

static void credstore_paths(const DiskApplyOptions *o, char *mnt, size_t msize, char *key, size_t ksize) {
        snprintf(mnt, msize, "%s%s", o->root, CREDSTORE_MOUNT);
        snprintf(key, ksize, "%s%s/%s", o->root, CREDSTORE_MOUNT, CREDSTORE_KEY_FILE);
}

/* The credstore's secret: the existing one, or a new one written (0600) to
 * the file the caller named. */
static int credstore_secret(DiskApplyOptions *o, bool formatted, char **ret, size_t *ret_size, char **error) {
        if (o->key_file) {
                int r = secret_read_file(o->key_file, ret, ret_size);
                if (r < 0)
                        return error_set(error, r, "cannot read the credstore secret from %s: %s", o->key_file,
                                         strerror(-r));
                return 0;
        }
        if (formatted)
                return error_set(error, -ENOKEY, "the credstore is already formatted: give its secret with "
                                 "--credstore-key-file FILE to finish the remaining steps");
        if (!o->new_key_file)
                return error_set(error, -ENOKEY,
                                 "the credstore needs its first secret: --credstore-key-file FILE (a secret you "
                                 "have) or --credstore-new-key-file FILE (Keystone generates one and writes it "
                                 "there, mode 0600); there is no built-in default password");
        uint8_t raw[32];
        if (getrandom(raw, sizeof raw, 0) != sizeof raw)
                return error_set(error, -EIO, "getrandom failed");
        char *hex = NULL;
        int r = hex_encode(raw, sizeof raw, &hex);
        explicit_bzero(raw, sizeof raw);
        if (r < 0)
                return r;
        size_t n = strlen(hex);
        /* durable (file and name) before the LUKS2 format uses it: after a
         * power cut the caller still has the secret of what was formatted */
        r = write_file_bytes_excl(o->new_key_file, hex, n, 0600);
        if (r < 0) {
                erase_and_free(hex, n);
                return error_set(error, r, "cannot create %s for the new credstore secret: %s%s",
                                 o->new_key_file, strerror(-r),
                                 r == -EEXIST ? " (it exists: pass it with --credstore-key-file instead)" : "");
        }
        *ret = hex;
        *ret_size = n;
        return 0;
}

static void credstore_changing(DiskApplyOptions *o, bool *changed) {
        if (!*changed)
                progress(o, STEP_CREDSTORE, STEP_RUNNING, "zvol, LUKS2, ext4, key");
        *changed = true;
}

/* The ZFS key in the mounted credstore: done only when it is a file of
 * exactly CREDSTORE_KEY_BYTES.  A short one (a cut while an older Keystone
 * wrote it) is replaced while no encryption root uses it yet. */
static int write_zfs_key(const DiskLayout *l, const char *key, DiskApplyOptions *o, bool *changed, char **error) {
        off_t size;
        int r = credstore_key_check(key, CREDSTORE_KEY_BYTES, &size);
        if (r == 1)
                return 0;
        if (r < 0 && r != -EBADMSG)
                return error_set(error, r, "cannot examine the ZFS key %s: %s", key, strerror(-r));
        if (r == -EBADMSG) {
                char crypt[512];
                snprintf(crypt, sizeof crypt, "%s/crypt", l->pool);
                int e = zfs_exists(crypt);
                if (e == 0)
                        return error_set(error, -EBADMSG, "the ZFS key %s is not a file of %d bytes (it has "
                                         "%lld), and %s already exists, encrypted with the key it should hold: "
                                         "that key is lost, and so is what %s holds. Start over: destroy the "
                                         "pool (zpool destroy %s) and apply again with --force", key,
                                         CREDSTORE_KEY_BYTES, (long long) size, crypt, crypt, l->pool);
                if (e != -ENOENT)
                        return error_set(error, e, "cannot examine %s: %s", crypt, strerror(-e));
                /* nothing was ever encrypted with it: a new key replaces it */
                char what[160];
                snprintf(what, sizeof what, "replacing the ZFS key: it has %lld bytes, not %d (cut while being "
                         "written)", (long long) size, CREDSTORE_KEY_BYTES);
                progress(o, STEP_CREDSTORE, STEP_RUNNING, what);
                *changed = true;
                if (unlink(key) < 0)
                        return error_set(error, -errno, "cannot remove the short ZFS key %s: %s", key,
                                         strerror(errno));
        }
        credstore_changing(o, changed);
        r = credstore_write_random_key(key, CREDSTORE_KEY_BYTES);
        if (r < 0)
                return error_set(error, r, "writing the ZFS key %s failed: %s", key, strerror(-r));
        r = credstore_key_check(key, CREDSTORE_KEY_BYTES, &size);
        if (r != 1)
                return error_set(error, -EIO, "the ZFS key %s reads back as %lld bytes, not %d", key,
                                 (long long) size, CREDSTORE_KEY_BYTES);
        return 0;
}

static int step_credstore(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o, char **error) {
        char name[512], dev[512], mapper[512], mnt[4200], key[4300];
        snprintf(name, sizeof name, "%s/credstore", l->pool);
        snprintf(mapper, sizeof mapper, "/dev/mapper/%s", CREDSTORE_DM_NAME);
        credstore_paths(o, mnt, sizeof mnt, key, sizeof key);
        off_t key_size;
        int k = credstore_key_check(key, CREDSTORE_KEY_BYTES, &key_size);
        if (k == 1) {
                progress(o, STEP_CREDSTORE, STEP_ALREADY_DONE, "the credstore is open and holds the key");
                return 0;
        }
        if (k < 0 && k != -EBADMSG)
                return error_set(error, k, "cannot examine the ZFS key %s: %s", key, strerror(-k));
        /* "running" is said before the first change: a finished disk only
         * has its credstore opened and mounted, and that is "already done" */
        bool changed = false;
        int r = zfs_exists(name);
        if (r == -ENOENT) {
                credstore_changing(o, &changed);
                r = zfs_run_argv(disk_credstore_create_argv(l), error);
        }
        if (r < 0)
                return *error ? r : error_set(error, r, "cannot examine %s: %s", name, strerror(-r));
        r = zvol_device(name, dev, sizeof dev, 10000);
        if (r < 0)
                return error_set(error, r, "the zvol %s has no device node after 10 s (no /dev/zvol link and "
                                 "no /dev/zdN named by zvol_id)", name);

        if (access(mapper, F_OK) < 0) {
                int luks = credstore_is_luks(dev);
                if (luks < 0)
                        return error_set(error, luks, "cannot read %s: %s", dev, strerror(-luks));
                char *secret = NULL;
                size_t n = 0;
                r = credstore_secret(o, luks == 1, &secret, &n, error);
                if (r < 0)
                        return r;
                if (luks == 0) {
                        credstore_changing(o, &changed);
                        r = credstore_format(dev, secret, n);
                        if (r < 0) {
                                erase_and_free(secret, n);
                                return error_set(error, r, "LUKS2 format of %s (%s) failed: %s", name, dev,
                                                 strerror(-r));
                        }
                }
                r = credstore_open(dev, CREDSTORE_DM_NAME, secret, n);
                erase_and_free(secret, n);
                if (r < 0)
                        return error_set(error, r, "opening the credstore %s failed: %s", dev,
                                         r == -EPERM ? "the secret opens no keyslot" : strerror(-r));
        }

        char type[32];
        r = disk_probe_at(mapper, 0, 0, type, sizeof type, NULL, 0);
        if (r < 0)
                return error_set(error, r, "cannot examine %s: %s", mapper, strerror(-r));
        if (!*type) {
                credstore_changing(o, &changed);
                const char *argv[] = { "mkfs.ext4", "-q", "-L", "credstore", "-m", "0", mapper, NULL };
                RunResult res = {};
                r = run(argv, NULL, &res);
                if (r < 0) {
                        error_set(error, r, "mkfs.ext4 on %s failed: %s", mapper,
                                  r == -EPROTO ? run_result_describe(&res) :
                                  r == -ENOENT ? "mkfs.ext4 is not installed (Debian package e2fsprogs)" : strerror(-r));
                        run_result_done(&res);
                        return r;
                }
                run_result_done(&res);
        } else if (!streq(type, "ext4"))
                return error_set(error, -EEXIST, "the credstore %s holds %s, not ext4; the disk contradicts "
                                 "the plan: start over with --force", name, type);

        const char *mkdir_argv[] = { "mkdir", "-p", "-m", "0700", mnt, NULL };
        r = run(mkdir_argv, NULL, NULL);
        if (r < 0)
                return error_set(error, r, "cannot create %s", mnt);
        if (mount(mapper, mnt, "ext4", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 && errno != EBUSY)
                return error_set(error, -errno, "mounting the credstore on %s failed: %s", mnt, strerror(errno));
        r = write_zfs_key(l, key, o, &changed, error);
        if (r < 0)
                return r;
        progress_end(o, STEP_CREDSTORE, changed, "opened it; it holds the key");
        return 0;
}

/* A property of the encryption root, which must be readable. */
static int crypt_get(const char *name, const char *prop, char *v, size_t size, char **error) {
        int r = zfs_get(name, prop, v, size);
        if (r < 0)
                return error_set(error, r, "cannot read %s of %s (zfs get %s %s): %s", prop, name, prop, name,
                                 strerror(-r));
        return 0;
}

#define CRYPT_KEYLOCATION "file://" CREDSTORE_MOUNT "/" CREDSTORE_KEY_FILE

/* rpool/crypt exists: done only when it is as planned.  Its keylocation may
 * still name the key below apply's altroot (cut between zfs create and zfs
 * set): repaired.  The key file must open it (zfs load-key -n). */
static int crypt_verify(const DiskLayout *l, const char *name, const char *url, DiskApplyOptions *o, char **error) {
        char v[4400];
        int r;
        const struct { const char *prop, *want; } props[] = {
                { "encryption", l->encryption }, { "keyformat", "raw" }, { "encryptionroot", name },
        };
        for (size_t i = 0; i < ELEMENTSOF(props); i++) {
                if ((r = crypt_get(name, props[i].prop, v, sizeof v, error)) < 0)
                        return r;
                if (!streq(v, props[i].want))
                        return error_set(error, -EEXIST, "%s has %s=%s, the host file wants %s; the disk "
                                         "contradicts the plan", name, props[i].prop, v, props[i].want);
        }
        bool repaired = false;
        if ((r = crypt_get(name, "keylocation", v, sizeof v, error)) < 0)
                return r;
        if (streq(v, url)) {
                progress(o, STEP_CRYPT, STEP_RUNNING, "repairing keylocation: it still names apply's altroot");
                const char *set[] = { "zfs", "set", "keylocation=" CRYPT_KEYLOCATION, name, NULL };
                r = zfs_run((char **) set, error);
                if (r < 0)
                        return r;
                if ((r = crypt_get(name, "keylocation", v, sizeof v, error)) < 0)
                        return r;
                repaired = true;
        }
        if (!streq(v, CRYPT_KEYLOCATION))
                return error_set(error, -EEXIST, "%s has keylocation=%s, the plan wants %s; the disk contradicts "
                                 "the plan (zfs set keylocation=%s %s to follow it)", name, v, CRYPT_KEYLOCATION,
                                 CRYPT_KEYLOCATION, name);
        /* the key in the credstore is the one that opens it, loaded or not */
        const char *check[] = { "zfs", "load-key", "-n", "-L", url, name, NULL };
        r = zfs_run((char **) check, error);
        if (r < 0) {
                char *e = TAKE_PTR(*error);
                error_set(error, r, "the ZFS key in the credstore does not open %s (%s). The credstore was "
                          "made again after %s was created: its key is lost; start over (zpool destroy %s, then "
                          "apply with --force)", name, e ? e : strerror(-r), name, l->pool);
                free(e);
                return r;
        }
        if ((r = crypt_get(name, "keystatus", v, sizeof v, error)) < 0)
                return r;
        if (!streq(v, "available")) {
                const char *load[] = { "zfs", "load-key", "-L", url, name, NULL };
                r = zfs_run((char **) load, error);
                if (r < 0)
                        return r;
        }
        progress_end(o, STEP_CRYPT, repaired, "the encryption root is as planned, its key opens it");
        return 0;
}

static int step_crypt(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o, char **error) {
        char name[512], mnt[4200], key[4300], url[4400];
        snprintf(name, sizeof name, "%s/crypt", l->pool);
        credstore_paths(o, mnt, sizeof mnt, key, sizeof key);
        snprintf(url, sizeof url, "file://%s", key);
        int r = zfs_exists(name);
        if (r == 0)
                return crypt_verify(l, name, url, o, error);
        if (r != -ENOENT)
                return error_set(error, r, "cannot examine %s: %s", name, strerror(-r));
        off_t size;
        if (credstore_key_check(key, CREDSTORE_KEY_BYTES, &size) != 1)
                return error_set(error, -EBADMSG, "the ZFS key %s is not a file of %d bytes; run apply again "
                                 "so that the credstore step writes it", key, CREDSTORE_KEY_BYTES);
        progress(o, STEP_CRYPT, STEP_RUNNING, "zfs create");
        r = zfs_run_argv(disk_crypt_create_argv(l, url), error);
        if (r < 0)
                return r;
        /* from now on the key is where the installed system finds it */
        const char *set[] = { "zfs", "set", "keylocation=" CRYPT_KEYLOCATION, name, NULL };
        r = zfs_run((char **) set, error);
        if (r < 0)
                return r;
        char v[4400];
        if ((r = crypt_get(name, "keylocation", v, sizeof v, error)) < 0)
                return r;
        if (!streq(v, CRYPT_KEYLOCATION))
                return error_set(error, -EIO, "%s reads back keylocation=%s after zfs set, not %s", name, v,
                                 CRYPT_KEYLOCATION);
        progress(o, STEP_CRYPT, STEP_DONE, NULL);
        return 0;
}

static size_t depth(const char *s) {
        size_t n = 0;
        for (; *s; s++)
                n += *s == '/';
        return n;
}

static int step_datasets(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o, char **error) {
        bool created = false;
        /* parents before children, whatever order the host file lists them in */
        for (size_t d = 0; d <= 16; d++)
                for (size_t i = 0; i < l->n_datasets; i++) {
                        const DiskDataset *ds = &l->datasets[i];
                        if (depth(ds->name) != d || streq(ds->name, "crypt"))
                                continue;
                        char name[1024], v[4096];
                        snprintf(name, sizeof name, "%s/%s", l->pool, ds->name);
                        int r = zfs_exists(name);
                        if (r == 0) {
                                r = zfs_get(name, "mountpoint", v, sizeof v);
                                if (r < 0)
                                        return error_set(error, r, "cannot read the mountpoint of %s: %s",
                                                         name, strerror(-r));
                                /* an imported pool shows mountpoints below its altroot */
                                const char *have = v, *below = startswith(v, o->root);
                                if (below && (*below == '/' || !*below))
                                        have = *below ? below : "/";
                                if (!streq(have, ds->mountpoint))
                                        return error_set(error, -EEXIST, "%s has mountpoint=%s, the host file "
                                                         "wants %s; the disk contradicts the plan (zfs set "
                                                         "mountpoint=%s %s to follow the host file)", name, have,
                                                         ds->mountpoint, ds->mountpoint, name);
                                continue;
                        }
                        if (r != -ENOENT)
                                return error_set(error, r, "cannot examine %s: %s", name, strerror(-r));
                        if (!created)
                                progress(o, STEP_DATASETS, STEP_RUNNING, "zfs create");
                        created = true;
                        r = zfs_run_argv(disk_dataset_create_argv(l, ds), error);
                        if (r < 0)
                                return r;
                }
        progress_end(o, STEP_DATASETS, created, "every dataset exists");
        return 0;
}

/* Leaves the disk closed: credstore unmounted and closed, pool exported. */
static int step_finish(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o, char **error) {
        char mnt[4200], key[4300];
        credstore_paths(o, mnt, sizeof mnt, key, sizeof key);
        progress(o, STEP_FINISH, STEP_RUNNING, "closing");
        if (umount2(mnt, 0) < 0 && errno != EINVAL && errno != ENOENT)
                return error_set(error, -errno, "unmounting the credstore %s failed: %s", mnt, strerror(errno));
        int r = credstore_close(CREDSTORE_DM_NAME);
        if (r < 0)
                return error_set(error, r, "closing the credstore /dev/mapper/" CREDSTORE_DM_NAME " failed: %s%s", strerror(-r),
                                 r == -EBUSY ? "; something still holds it open (fuser -vm /dev/mapper/" CREDSTORE_DM_NAME "), stop it and run this again" : "");
        if (zpool_imported(l->pool) == 0) {
                r = zpool_export(l->pool);
                if (r < 0)
                        return error_set(error, r, "zpool export %s failed; something still uses it", l->pool);
        }
        progress(o, STEP_FINISH, STEP_DONE, NULL);
        return 0;
}

static int apply(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o, char **error) {
        if (!l->disk_bytes)
                return error_set(error, -EINVAL, "the size of %s is unknown", t->path);
        if (!o->root)
                o->root = "/run/keystone/disk";
        char *why = NULL;
        int r = disk_check_target(l, t, &why);
        if (r == -EEXIST && o->force) {
                log_debug("--force: %s", why);
                r = 0;
        }
        if (r < 0) {
                free(*error);
                *error = why;
                o->preflight_refused = true;
                return r;
        }
        free(why);

        typedef int (*StepFn)(const DiskLayout *, const DiskTarget *, DiskApplyOptions *, char **);
        static const StepFn steps[_STEP_MAX] = {
                [STEP_PARTITION] = step_partition,
                [STEP_ESP] = step_esp,
                [STEP_POOL] = step_pool,
                [STEP_CREDSTORE] = step_credstore,
                [STEP_CRYPT] = step_crypt,
                [STEP_DATASETS] = step_datasets,
                [STEP_FINISH] = step_finish,
        };
        for (DiskStep s = 0; s <= o->until && s < _STEP_MAX; s++) {
                r = steps[s](l, t, o, error);
                if (r < 0) {
                        /* leave no key mounted behind a failure; the disk's state says where to resume */
                        if (s > STEP_POOL && s != STEP_FINISH) {
                                char *e = TAKE_PTR(*error);
                                (void) step_finish(l, t, o, error);
                                free(*error);
                                *error = e;
                        }
                        return r;
                }
        }
        return 0;
}

int disk_apply(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o, char **ret_error) {
        _cleanup_free_ char *error = NULL;
        int r = apply(l, t, o, &error);
        if (r < 0 && ret_error) {
                free(*ret_error);
                *ret_error = TAKE_PTR(error);
        }
        return r;
}
