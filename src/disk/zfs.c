/* SPDX-License-Identifier: MIT */
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

int zpool_imported(const char *pool) {
        return zfs_exists(pool);
}

int zpool_import_bare(const char *pool, const char *device, const char *altroot) {
        const char *argv[] = { "zpool", "import", "-N", "-R", altroot, "-d", device, pool, NULL };
        RunResult r = {};
        int k = run(argv, NULL, &r);
        if (k == -EPROTO && (strstr(r.err, "no such pool") || strstr(r.err, "cannot import")))
                k = -ENOENT;
        run_result_done(&r);
        return k;
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
