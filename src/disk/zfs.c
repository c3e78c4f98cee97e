/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <unistd.h>

#include <blkid/blkid.h>

#include "disk/zfs.h"
#include "util/macro.h"
#include "util/run.h"

/* Commands that only look are safe under --dry-run. */
static const RunOptions query = { .ignore_dry_run = true, .timeout_ms = 120000 };

int zfs_exists(const char *name) {
        const char *argv[] = { strchr(name, '/') ? "zfs" : "zpool", "list", "-H", "-o", "name", name, NULL };
        RunResult r = {};
        int k = run(argv, &query, &r);
        if (k == -EPROTO && (strstr(r.err, "does not exist") || strstr(r.err, "no such pool")))
                k = -ENOENT;
        run_result_done(&r);
        return k;
}

int zfs_get(const char *name, const char *prop, char *buf, size_t size) {
        const char *argv[] = { "zfs", "get", "-H", "-p", "-o", "value", prop, name, NULL };
        RunResult r = {};
        int k = run(argv, &query, &r);
        if (k == 0)
                snprintf(buf, size, "%.*s", (int) strcspn(r.out, "\n"), r.out);
        run_result_done(&r);
        return k;
}

int zfs_label_read(const char *device, ZfsLabel *ret) {
        *ret = (ZfsLabel) {};
        _cleanup_close_ int fd = open(device, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        /* ZFS writes its labels past the page cache, and keeps the device
         * open while the pool is imported: pages an earlier probe read (the
         * blank partition before zpool create) would still be served */
        (void) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        blkid_probe pr = blkid_new_probe();
        if (!pr)
                return -ENOMEM;
        int r = blkid_probe_set_device(pr, fd, 0, 0) < 0 ? -EIO : 0;
        if (r == 0) {
                blkid_probe_enable_superblocks(pr, 1);
                blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID);
                int k = blkid_do_safeprobe(pr);
                const char *v;
                if (k < 0)
                        r = k == -2 ? -ENOTUNIQ : -EIO;  /* -2: signatures of several kinds */
                else if (k == 0 && blkid_probe_lookup_value(pr, "TYPE", &v, NULL) == 0 && streq(v, "zfs_member")) {
                        ret->found = true;
                        if (blkid_probe_lookup_value(pr, "UUID", &v, NULL) == 0)
                                snprintf(ret->guid, sizeof ret->guid, "%s", v);
                        if (blkid_probe_lookup_value(pr, "LABEL", &v, NULL) == 0)
                                snprintf(ret->name, sizeof ret->name, "%s", v);
                        if (!*ret->guid)
                                r = -EBADMSG;   /* a ZFS label without a pool GUID */
                }
        }
        blkid_free_probe(pr);
        return r;
}

int zpool_guid(const char *pool, char *buf, size_t size) {
        const char *argv[] = { "zpool", "get", "-H", "-p", "-o", "value", "guid", pool, NULL };
        RunResult r = {};
        int k = run(argv, &query, &r);
        if (k == 0) {
                snprintf(buf, size, "%.*s", (int) strcspn(r.out, "\n"), r.out);
                if (!*buf || strspn(buf, "0123456789") != strlen(buf))
                        k = -EBADMSG;
        }
        run_result_done(&r);
        return k;
}

int zpool_vdev_paths(const char *pool, char *buf, size_t size) {
        const char *argv[] = { "zpool", "list", "-H", "-v", "-P", "-o", "name", pool, NULL };
        RunResult r = {};
        *buf = 0;
        int k = run(argv, &query, &r);
        if (k == 0)
                /* the pool's line, then one indented line per vdev */
                for (const char *p = r.out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
                        const char *q = p + strspn(p, "\t ");
                        if (q == p || *q != '/')
                                continue;
                        size_t l = strlen(buf), n = strcspn(q, "\t \n");
                        snprintf(buf + l, size - l, "%s%.*s", l ? ", " : "", (int) n, q);
                }
        run_result_done(&r);
        return k;
}

int zpool_imported(const char *pool) {
        return zfs_exists(pool);
}

int zpool_import_guid(const char *guid, const char *device, const char *altroot, char **error) {
        const char *argv[] = { "zpool", "import", "-N", "-R", altroot, "-d", device, guid, NULL };
        return zfs_run((char **) argv, error);
}

int zpool_export(const char *pool) {
        const char *argv[] = { "zpool", "export", pool, NULL };
        return run(argv, NULL, NULL);
}

int zfs_run(char **argv, char **error) {
        RunResult r = {};
        int k = run((const char *const *) argv, NULL, &r);
        if (k < 0 && error) {
                _cleanup_free_ char *cmd = argv_to_string((const char *const *) argv);
                free(*error);
                if (asprintf(error, "%s: %s", cmd ? cmd : argv[0],
                             k == -EPROTO ? run_result_describe(&r) : strerror(-k)) < 0)
                        *error = NULL;
        }
        run_result_done(&r);
        return k;
}
