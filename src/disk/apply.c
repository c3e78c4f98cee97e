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
static int wait_for_partitions(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o) {
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
        return error_set(&o->error, -ENODEV, "the kernel shows no %s after the new partition table on %s; "
                         "run `partx -u %s` (or reboot) and apply again", last, t->path, t->path);
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
                return error_set(&o->error, r, "writing the GPT on %s failed: %s", t->path, strerror(-r));
        /* read back what the disk now says */
        r = gpt_read(t->path, &g);
        if (r < 0 || gpt_matches(&g, l, diff, sizeof diff) < 0)
                return error_set(&o->error, r < 0 ? r : -EIO, "the GPT read back from %s is not the one written%s%s",
                                 t->path, r < 0 ? "" : ": ", r < 0 ? "" : diff);
        r = wait_for_partitions(l, t, o);
        if (r < 0)
                return r;
        progress(o, STEP_PARTITION, STEP_DONE, NULL);
        return 0;
}

static int step_esp(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o) {
        const DiskPartition *esp = disk_layout_part(l, PART_ESP);
        char type[32], label[64];
        uint64_t off = esp->start * DISK_SECTOR, size = esp->size * DISK_SECTOR;
        int r = disk_probe_at(t->path, off, size, type, sizeof type, label, sizeof label);
        if (r < 0)
                return error_set(&o->error, r, "cannot examine partition 1 of %s: %s", t->path, strerror(-r));
        if (streq(type, "vfat")) {
                progress(o, STEP_ESP, STEP_ALREADY_DONE, "partition 1 holds a FAT file system");
                return 0;
        }
        if (*type)
                return error_set(&o->error, -EEXIST, "partition 1 of %s holds a %s file system, not the ESP; "
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
                error_set(&o->error, r, "mkfs.vfat on partition 1 of %s failed: %s", t->path,
                          r == -EPROTO ? run_result_describe(&res) :
                          r == -ENOENT ? "mkfs.vfat is not installed (Debian package dosfstools)" : strerror(-r));
                run_result_done(&res);
                return r;
        }
        run_result_done(&res);
        r = disk_probe_at(t->path, off, size, type, sizeof type, NULL, 0);
        if (r < 0 || !streq(type, "vfat"))
                return error_set(&o->error, -EIO, "partition 1 of %s shows no FAT file system after mkfs.vfat", t->path);
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

static int step_pool(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o) {
        int r = disk_need_zfs(t, "step pool", &o->error);
        if (r < 0)
                return r;
        r = wait_for_partitions(l, t, o);
        if (r < 0)
                return r;
        if (zpool_imported(l->pool) == 0) {
                progress(o, STEP_POOL, STEP_ALREADY_DONE, "the pool is imported");
                return 0;
        }
        char part[4200];
        snprintf(part, sizeof part, "%s", disk_partition_path(t, 2));
        if (zpool_import_bare(l->pool, part, o->root) == 0) {
                progress(o, STEP_POOL, STEP_ALREADY_DONE, "imported the pool from partition 2");
                return 0;
        }
        progress(o, STEP_POOL, STEP_RUNNING, "zpool create");
        char **argv = disk_zpool_create_argv(l, part, o->root);
        if (!argv)
                return -ENOMEM;
        r = zfs_run(argv, &o->error);
        strv_free(argv);
        if (r < 0)
                return r;
        progress(o, STEP_POOL, STEP_DONE, NULL);
        return 0;
}

static void credstore_paths(const DiskApplyOptions *o, char *mnt, size_t msize, char *key, size_t ksize) {
        snprintf(mnt, msize, "%s%s", o->root, CREDSTORE_MOUNT);
        snprintf(key, ksize, "%s%s/%s", o->root, CREDSTORE_MOUNT, CREDSTORE_KEY_FILE);
}

/* The credstore's secret: the existing one, or a new one written (0600) to
 * the file the caller named. */
static int credstore_secret(DiskApplyOptions *o, bool formatted, char **ret, size_t *ret_size) {
        if (o->key_file) {
                int r = secret_read_file(o->key_file, ret, ret_size);
                if (r < 0)
                        return error_set(&o->error, r, "cannot read the credstore secret from %s: %s", o->key_file,
                                         strerror(-r));
                return 0;
        }
        if (formatted)
                return error_set(&o->error, -ENOKEY, "the credstore is already formatted: give its secret with "
                                 "--credstore-key-file FILE to finish the remaining steps");
        if (!o->new_key_file)
                return error_set(&o->error, -ENOKEY,
                                 "the credstore needs its first secret: --credstore-key-file FILE (a secret you "
                                 "have) or --credstore-new-key-file FILE (Keystone generates one and writes it "
                                 "there, mode 0600); there is no built-in default password");
        uint8_t raw[32];
        if (getrandom(raw, sizeof raw, 0) != sizeof raw)
                return error_set(&o->error, -EIO, "getrandom failed");
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
                return error_set(&o->error, r, "cannot create %s for the new credstore secret: %s%s",
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

static int step_credstore(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o) {
        char name[512], dev[512], mapper[512], mnt[4200], key[4300];
        snprintf(name, sizeof name, "%s/credstore", l->pool);
        snprintf(mapper, sizeof mapper, "/dev/mapper/%s", CREDSTORE_DM_NAME);
        credstore_paths(o, mnt, sizeof mnt, key, sizeof key);
        if (access(key, F_OK) == 0) {
                progress(o, STEP_CREDSTORE, STEP_ALREADY_DONE, "the credstore is open and holds the key");
                return 0;
        }
        /* "running" is said before the first change: a finished disk only
         * has its credstore opened and mounted, and that is "already done" */
        bool changed = false;
        int r = zfs_exists(name);
        if (r == -ENOENT) {
                credstore_changing(o, &changed);
                char **argv = disk_credstore_create_argv(l);
                if (!argv)
                        return -ENOMEM;
                r = zfs_run(argv, &o->error);
                strv_free(argv);
        }
        if (r < 0)
                return o->error ? r : error_set(&o->error, r, "cannot examine %s: %s", name, strerror(-r));
        r = zvol_device(name, dev, sizeof dev, 10000);
        if (r < 0)
                return error_set(&o->error, r, "the zvol %s has no device node after 10 s (no /dev/zvol link and "
                                 "no /dev/zdN named by zvol_id)", name);

        if (access(mapper, F_OK) < 0) {
                int luks = credstore_is_luks(dev);
                if (luks < 0)
                        return error_set(&o->error, luks, "cannot read %s: %s", dev, strerror(-luks));
                char *secret = NULL;
                size_t n = 0;
                r = credstore_secret(o, luks == 1, &secret, &n);
                if (r < 0)
                        return r;
                if (luks == 0) {
                        credstore_changing(o, &changed);
                        r = credstore_format(dev, secret, n);
                        if (r < 0) {
                                erase_and_free(secret, n);
                                return error_set(&o->error, r, "LUKS2 format of %s (%s) failed: %s", name, dev,
                                                 strerror(-r));
                        }
                }
                r = credstore_open(dev, CREDSTORE_DM_NAME, secret, n);
                erase_and_free(secret, n);
                if (r < 0)
                        return error_set(&o->error, r, "opening the credstore %s failed: %s", dev,
                                         r == -EPERM ? "the secret opens no keyslot" : strerror(-r));
        }

        char type[32];
        r = disk_probe_at(mapper, 0, 0, type, sizeof type, NULL, 0);
        if (r < 0)
                return error_set(&o->error, r, "cannot examine %s: %s", mapper, strerror(-r));
        if (!*type) {
                credstore_changing(o, &changed);
                const char *argv[] = { "mkfs.ext4", "-q", "-L", "credstore", "-m", "0", mapper, NULL };
                RunResult res = {};
                r = run(argv, NULL, &res);
                if (r < 0) {
                        error_set(&o->error, r, "mkfs.ext4 on %s failed: %s", mapper,
                                  r == -EPROTO ? run_result_describe(&res) :
                                  r == -ENOENT ? "mkfs.ext4 is not installed (Debian package e2fsprogs)" : strerror(-r));
                        run_result_done(&res);
                        return r;
                }
                run_result_done(&res);
        } else if (!streq(type, "ext4"))
                return error_set(&o->error, -EEXIST, "the credstore %s holds %s, not ext4; the disk contradicts "
                                 "the plan: start over with --force", name, type);

        const char *mkdir_argv[] = { "mkdir", "-p", "-m", "0700", mnt, NULL };
        r = run(mkdir_argv, NULL, NULL);
        if (r < 0)
                return error_set(&o->error, r, "cannot create %s", mnt);
        if (mount(mapper, mnt, "ext4", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 && errno != EBUSY)
                return error_set(&o->error, -errno, "mounting the credstore on %s failed: %s", mnt, strerror(errno));
        if (access(key, F_OK) < 0) {
                credstore_changing(o, &changed);
                r = credstore_write_random_key(key, CREDSTORE_KEY_BYTES);
                if (r < 0)
                        return error_set(&o->error, r, "writing the ZFS key %s failed: %s", key, strerror(-r));
        }
        if (!changed) {
                progress(o, STEP_CREDSTORE, STEP_ALREADY_DONE, "opened it; it holds the key");
                return 0;
        }
        progress(o, STEP_CREDSTORE, STEP_DONE, NULL);
        return 0;
}

static int step_crypt(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o) {
        char name[512], mnt[4200], key[4300], url[4400], v[256];
        snprintf(name, sizeof name, "%s/crypt", l->pool);
        credstore_paths(o, mnt, sizeof mnt, key, sizeof key);
        snprintf(url, sizeof url, "file://%s", key);
        int r = zfs_exists(name);
        if (r == 0) {
                if (zfs_get(name, "encryption", v, sizeof v) == 0 && !streq(v, l->encryption))
                        return error_set(&o->error, -EEXIST, "%s has encryption=%s, the host file wants %s; the disk "
                                         "contradicts the plan", name, v, l->encryption);
                if (zfs_get(name, "keystatus", v, sizeof v) == 0 && !streq(v, "available")) {
                        const char *argv[] = { "zfs", "load-key", "-L", url, name, NULL };
                        r = zfs_run((char **) argv, &o->error);
                        if (r < 0)
                                return r;
                }
                progress(o, STEP_CRYPT, STEP_ALREADY_DONE, "the encryption root exists, key loaded");
                return 0;
        }
        if (r != -ENOENT)
                return error_set(&o->error, r, "cannot examine %s: %s", name, strerror(-r));
        progress(o, STEP_CRYPT, STEP_RUNNING, "zfs create");
        char **argv = disk_crypt_create_argv(l, url);
        if (!argv)
                return -ENOMEM;
        r = zfs_run(argv, &o->error);
        strv_free(argv);
        if (r < 0)
                return r;
        /* from now on the key is where the installed system finds it */
        const char *set[] = { "zfs", "set", "keylocation=file://" CREDSTORE_MOUNT "/" CREDSTORE_KEY_FILE, name, NULL };
        r = zfs_run((char **) set, &o->error);
        if (r < 0)
                return r;
        progress(o, STEP_CRYPT, STEP_DONE, NULL);
        return 0;
}

static size_t depth(const char *s) {
        size_t n = 0;
        for (; *s; s++)
                n += *s == '/';
        return n;
}

static int step_datasets(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o) {
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
                                if (zfs_get(name, "mountpoint", v, sizeof v) < 0)
                                        continue;
                                /* an imported pool shows mountpoints below its altroot */
                                const char *have = v, *below = startswith(v, o->root);
                                if (below && (*below == '/' || !*below))
                                        have = *below ? below : "/";
                                if (!streq(have, ds->mountpoint))
                                        return error_set(&o->error, -EEXIST, "%s has mountpoint=%s, the host file "
                                                         "wants %s; the disk contradicts the plan (zfs set "
                                                         "mountpoint=%s %s to follow the host file)", name, have,
                                                         ds->mountpoint, ds->mountpoint, name);
                                continue;
                        }
                        if (r != -ENOENT)
                                return error_set(&o->error, r, "cannot examine %s: %s", name, strerror(-r));
                        if (!created)
                                progress(o, STEP_DATASETS, STEP_RUNNING, "zfs create");
                        created = true;
                        char **argv = disk_dataset_create_argv(l, ds);
                        if (!argv)
                                return -ENOMEM;
                        r = zfs_run(argv, &o->error);
                        strv_free(argv);
                        if (r < 0)
                                return r;
                }
        if (created)
                progress(o, STEP_DATASETS, STEP_DONE, NULL);
        else
                progress(o, STEP_DATASETS, STEP_ALREADY_DONE, "every dataset exists");
        return 0;
}

/* Leaves the disk closed: credstore unmounted and closed, pool exported. */
static int step_finish(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o) {
        char mnt[4200], key[4300];
        credstore_paths(o, mnt, sizeof mnt, key, sizeof key);
        progress(o, STEP_FINISH, STEP_RUNNING, "closing");
        if (umount2(mnt, 0) < 0 && errno != EINVAL && errno != ENOENT)
                return error_set(&o->error, -errno, "unmounting the credstore %s failed: %s", mnt, strerror(errno));
        int r = credstore_close(CREDSTORE_DM_NAME);
        if (r < 0)
                return error_set(&o->error, r, "closing the credstore /dev/mapper/" CREDSTORE_DM_NAME " failed: %s%s", strerror(-r),
                                 r == -EBUSY ? "; something still holds it open (fuser -vm /dev/mapper/" CREDSTORE_DM_NAME "), stop it and run this again" : "");
        if (zpool_imported(l->pool) == 0) {
                r = zpool_export(l->pool);
                if (r < 0)
                        return error_set(&o->error, r, "zpool export %s failed; something still uses it", l->pool);
        }
        progress(o, STEP_FINISH, STEP_DONE, NULL);
        return 0;
}

int disk_apply(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *o) {
        if (!l->disk_bytes)
                return error_set(&o->error, -EINVAL, "the size of %s is unknown", t->path);
        if (!o->root)
                o->root = "/run/keystone/disk";
        char *why = NULL;
        int r = disk_check_target(l, t, &why);
        if (r == -EEXIST && o->force) {
                log_debug("--force: %s", why);
                r = 0;
        }
        if (r < 0) {
                free(o->error);
                o->error = why;
                o->preflight_refused = true;
                return r;
        }
        free(why);

        typedef int (*StepFn)(const DiskLayout *, const DiskTarget *, DiskApplyOptions *);
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
                r = steps[s](l, t, o);
                if (r < 0) {
                        /* leave no key mounted behind a failure; the disk's state says where to resume */
                        if (s > STEP_POOL && s != STEP_FINISH) {
                                char *e = TAKE_PTR(o->error);
                                (void) step_finish(l, t, o);
                                free(o->error);
                                o->error = e;
                        }
                        return r;
                }
        }
        return 0;
}
