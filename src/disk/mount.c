/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <mntent.h>
#include <stdlib.h>
#include <sys/mount.h>

#include "disk/apply.h"
#include "disk/credstore.h"
#include "disk/mount.h"
#include "disk/zfs.h"
#include "tpm/luks-tpm2.h"
#include "util/error-message.h"
#include "util/macro.h"
#include "util/run.h"
#include "util/secret-input.h"

static int set_str(char **p, const char *s) {
        free(*p);
        *p = strdup(s);
        return *p ? 0 : -ENOMEM;
}

/* Opens the credstore as CREDSTORE_DM_NAME: key file, else TPM2, else a
 * passphrase or recovery key read from stdin. */
static int open_credstore(const char *dev, DiskMountOptions *o, char **error) {
        char *pass = NULL;
        size_t n = 0;
        int r;
        if (o->key_file) {
                r = secret_read_file(o->key_file, &pass, &n);
                if (r < 0)
                        return error_set(error, r, "cannot read %s: %s", o->key_file, strerror(-r));
                r = credstore_open(dev, CREDSTORE_DM_NAME, pass, n);
                erase_and_free(pass, n);
                if (r < 0)
                        return error_set(error, r, "the credstore %s did not open with %s: %s", dev, o->key_file,
                                         r == -EPERM ? "no keyslot accepts it" : strerror(-r));
                return set_str(&o->unlocked_by, "key file");
        }
        char why[512] = "";
        if (!o->no_tpm) {
                _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
                _cleanup_(tpm2_context_freep) Tpm2Context *c = NULL;
                Tpm2UnlockReport rep = {};
                r = luks_open(dev, &cd);
                if (r >= 0)
                        r = tpm2_context_new(o->tpm2_device ? o->tpm2_device : "auto", &c);
                if (r >= 0)
                        r = luks_tpm2_unlock(cd, c, CREDSTORE_DM_NAME, NULL, NULL, &rep);
                if (r >= 0) {
                        char s[64];
                        snprintf(s, sizeof s, "TPM2 token %d", rep.token);
                        return set_str(&o->unlocked_by, s);
                }
                if (r == -EPERM && rep.changed) {
                        char *p = why + snprintf(why, sizeof why, "the TPM refused: PCR");
                        for (int i = 0; i < 24; i++)
                                if (rep.changed & (1u << i))
                                        p += snprintf(p, why + sizeof why - p, " %d", i);
                        snprintf(p, why + sizeof why - p, " changed since enrollment");
                } else
                        snprintf(why, sizeof why, "the TPM did not unlock it: %s", strerror(-r));
        }
        char prompt[700];
        snprintf(prompt, sizeof prompt, "%s%sPassphrase or recovery key for the credstore %s: ", why,
                 *why ? "\n" : "", dev);
        r = secret_read_line(prompt, &pass, &n);
        if (r < 0)
                return error_set(error, r, "%s%sno passphrase on standard input for the credstore %s; give "
                                 "--credstore-key-file", why, *why ? "; " : "", dev);
        r = credstore_open(dev, CREDSTORE_DM_NAME, pass, n);
        erase_and_free(pass, n);
        if (r < 0)
                return error_set(error, r, "the credstore %s did not open: %s", dev,
                                 r == -EPERM ? "no keyslot accepts that passphrase or recovery key" : strerror(-r));
        return set_str(&o->unlocked_by, "passphrase");
}

static int check_encryptionroot(const DiskLayout *l, const char *name, char **error) {
        char v[512], want[512];
        snprintf(want, sizeof want, "%s/crypt", l->pool);
        int r = zfs_get(name, "encryptionroot", v, sizeof v);
        if (r < 0)
                return error_set(error, r, "cannot read the encryptionroot of %s", name);
        if (!streq(v, want))
                return error_set(error, -EPERM, "refusing to mount %s: its encryptionroot is %s, not %s, so its "
                                 "contents are not protected by the credstore's key (zfs get encryptionroot %s)",
                                 name, streq(v, "-") ? "none (unencrypted)" : v, want, name);
        return 0;
}

static int mount_dataset(const char *name, const char *where, char **error) {
        const char *mk[] = { "mkdir", "-p", where, NULL };
        int r = run(mk, NULL, NULL);
        if (r < 0)
                return error_set(error, r, "cannot create %s", where);
        if (mount(name, where, "zfs", 0, "zfsutil") < 0)
                return error_set(error, -errno, "mounting %s on %s failed: %s", name, where, strerror(errno));
        return 0;
}

/* A new boot environment: mounted only when asked (canmount=noauto), on /
 * (below the altroot while installing). */
static int create_generation(const char *gen, DiskMountOptions *o, char **error) {
        int r;
        if (zfs_exists(gen) == 0) {
                if (!o->replace_generation)
                        return error_set(error, -EEXIST, "the generation %s already exists; build another "
                                                             "number (keystone build -g N) or pass --force to "
                                                             "replace it", gen);
                const char *destroy[] = { "zfs", "destroy", "-r", gen, NULL };
                if ((r = zfs_run((char **) destroy, error)) < 0)
                        return r;
        }
        const char *create[] = { "zfs", "create", "-p", "-o", "canmount=noauto", "-o", "mountpoint=/", gen, NULL };
        return zfs_run((char **) create, error);
}

int disk_mount(const DiskLayout *l, const DiskTarget *t, DiskMountOptions *o, char **ret_error) {
        int r = disk_need_zfs(t, "mount", ret_error);
        if (r < 0)
                return r;
        char part[4200];
        snprintf(part, sizeof part, "%s", disk_partition_path(t, 2));
        ZfsLabel label;
        bool imported;
        r = disk_pool_identify(l, part, &label, &imported, ret_error);
        if (r < 0)
                return r;
        if (!imported) {
                if (!label.found || !streq(label.name, l->pool))
                        return error_set(ret_error, -ENOENT, "cannot import the pool %s from %s: %s (run keystone "
                                         "disk apply first)", l->pool, part,
                                         label.found ? "it holds another pool" : "it holds no ZFS pool");
                r = disk_pool_import(part, &label, o->root, ret_error);
                if (r < 0)
                        return r;
        }
        o->pool_ours = true;
        char zv[512], dev[512], mnt[4200], key[4300], url[4400];
        snprintf(zv, sizeof zv, "%s/credstore", l->pool);
        r = zvol_device(zv, dev, sizeof dev, 10000);
        if (r < 0)
                return error_set(ret_error, r, "the credstore zvol %s has no device node", zv);
        if (access("/dev/mapper/" CREDSTORE_DM_NAME, F_OK) < 0) {
                r = open_credstore(dev, o, ret_error);
                if (r < 0)
                        return r;
        }
        snprintf(mnt, sizeof mnt, "%s%s", o->root, CREDSTORE_MOUNT);
        snprintf(key, sizeof key, "%s/%s", mnt, CREDSTORE_KEY_FILE);
        snprintf(url, sizeof url, "file://%s", key);
        const char *mk[] = { "mkdir", "-p", "-m", "0700", mnt, NULL };
        if ((r = run(mk, NULL, NULL)) < 0)
                return error_set(ret_error, r, "cannot create %s", mnt);
        if (mount("/dev/mapper/" CREDSTORE_DM_NAME, mnt, "ext4", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  NULL) < 0 && errno != EBUSY)
                return error_set(ret_error, -errno, "mounting the credstore on %s failed: %s", mnt, strerror(errno));

        char crypt[512], v[256];
        snprintf(crypt, sizeof crypt, "%s/crypt", l->pool);
        r = zfs_get(crypt, "keystatus", v, sizeof v);
        if (r < 0)
                return error_set(ret_error, r, "cannot read the keystatus of %s: %s", crypt, strerror(-r));
        if (!streq(v, "available")) {
                const char *argv[] = { "zfs", "load-key", "-L", url, crypt, NULL };
                r = zfs_run((char **) argv, ret_error);
                if (r < 0)
                        return r;
        }

        if (o->generation) {
                /* The generation goes on ROOT and would hide the credstore
                 * mounted below it (nothing could unmount it by path then);
                 * with the key loaded it is not needed: unmounted and closed,
                 * as keystone-init does before switch_root. */
                if (umount(mnt) < 0)
                        return error_set(ret_error, -errno, "unmounting the credstore from %s failed: %s", mnt,
                                         strerror(errno));
                if ((r = credstore_close(CREDSTORE_DM_NAME)) < 0)
                        return error_set(ret_error, r, "closing the credstore failed: %s", strerror(-r));
                char gen[1024];
                snprintf(gen, sizeof gen, "%s/crypt/system/generations/%s", l->pool, o->generation);
                if (o->create_generation && (r = create_generation(gen, o, ret_error)) < 0)
                        return r;
                if ((r = check_encryptionroot(l, gen, ret_error)) < 0)
                        return r;
                if ((r = mount_dataset(gen, o->root, ret_error)) < 0)
                        return r;
        }
        /* shallow mountpoints first: /var before /var/lib */
        for (size_t d = 1; d < 32; d++)
                for (size_t i = 0; i < l->n_datasets; i++) {
                        const DiskDataset *ds = &l->datasets[i];
                        size_t depth = 0;
                        for (const char *p = ds->mountpoint; *p; p++)
                                depth += *p == '/';
                        if (streq(ds->mountpoint, "none") || depth != d)
                                continue;
                        char name[1024], where[4200];
                        snprintf(name, sizeof name, "%s/%s", l->pool, ds->name);
                        snprintf(where, sizeof where, "%s%s", o->root, ds->mountpoint);
                        if ((r = check_encryptionroot(l, name, ret_error)) < 0)
                                return r;
                        if ((r = mount_dataset(name, where, ret_error)) < 0)
                                return r;
                }

        char boot[4200];
        snprintf(boot, sizeof boot, "%s/boot", o->root);
        const char *mkb[] = { "mkdir", "-p", boot, NULL };
        if ((r = run(mkb, NULL, NULL)) < 0)
                return error_set(ret_error, r, "cannot create %s", boot);
        if (mount(disk_partition_path(t, 1), boot, "vfat", MS_NOSUID | MS_NODEV, "umask=0077") < 0)
                return error_set(ret_error, -errno, "mounting the ESP %s on %s failed: %s", disk_partition_path(t, 1),
                                 boot, strerror(errno));
        return 0;
}

static int cmp_longer_first(const void *a, const void *b) {
        size_t la = strlen(*(char *const *) a), lb = strlen(*(char *const *) b);
        return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Unmounts root and every mount below it, deepest first.  root itself need
 * not be a mount point (mount without --generation leaves it a plain
 * directory with the datasets, the ESP and the credstore below it), which
 * is why this does not use umount -R. */
static int unmount_below(const char *root, char **error) {
        size_t rl = strlen(root);
        while (rl > 1 && root[rl - 1] == '/')
                rl--;
        FILE *f = setmntent("/proc/self/mounts", "re");
        if (!f)
                return error_set(error, -errno, "cannot read /proc/self/mounts: %s", strerror(errno));
        char **v = NULL;
        size_t n = 0;
        int r = 0;
        struct mntent *m;
        while ((m = getmntent(f))) {
                const char *d = m->mnt_dir;
                if (strncmp(d, root, rl) != 0 || (d[rl] != 0 && d[rl] != '/'))
                        continue;
                char **nv = realloc(v, (n + 1) * sizeof *v);
                if (!nv || !(nv[n] = strdup(d))) {
                        v = nv ? nv : v;
                        r = -ENOMEM;
                        break;
                }
                v = nv;
                n++;
        }
        endmntent(f);
        if (r == 0 && n > 0)
                qsort(v, n, sizeof *v, cmp_longer_first);
        for (size_t i = 0; r == 0 && i < n; i++)
                if (umount2(v[i], UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
                        r = error_set(error, -errno, "unmounting %s failed: %s%s", v[i], strerror(errno),
                                      errno == EBUSY ? " (a process still uses it: see fuser -vm)" : "");
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
        return r;
}

int disk_unmount_below(const char *root, char **error) {
        return unmount_below(root, error);
}

int disk_unmount(const DiskLayout *l, const char *root, char **error) {
        int r = unmount_below(root, error);
        if (r < 0)
                return r;
        r = credstore_close(CREDSTORE_DM_NAME);
        if (r < 0)
                return error_set(error, r, "closing the credstore /dev/mapper/" CREDSTORE_DM_NAME " failed: %s%s", strerror(-r),
                                 r == -EBUSY ? "; something still holds it open (fuser -vm /dev/mapper/" CREDSTORE_DM_NAME "), stop it and run this again" : "");
        if (zpool_imported(l->pool) == 0 && (r = zpool_export(l->pool)) < 0)
                return error_set(error, r, "zpool export %s failed; something still uses it", l->pool);
        return 0;
}
