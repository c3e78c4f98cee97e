/* SPDX-License-Identifier: MIT */
/* keystone disk mount HOST.toml --device DEV --root DIR: the pool imported,
 * the credstore opened, the ZFS key loaded, the tree mounted on DIR. */
#include <stdlib.h>
#include <string.h>

#include "cmd/disk.h"

int cmd_disk_mount(const CmdArgs *a) {
        const char *root = NULL;
        int r = disk_cmd_root(a, DISK_OPT_ROOT, NULL, true, &root);
        if (r < 0)
                return r;
        DiskCmd d;
        if ((r = disk_cmd_open(a, DISK_NEED_DEVICE, &d)) < 0)
                return r;
        DiskMountOptions mo = disk_cmd_mount_options(a, root);
        mo.generation = cmd_opt(a, DISK_OPT_GENERATION);
        _cleanup_free_ char *error = NULL;
        r = disk_mount(d.layout, &d.target, &mo, &error);
        if (r < 0) {
                log_error("Failed to mount %s on %s: %s", d.target.path, root, error ? error : strerror(-r));
                _cleanup_free_ char *e2 = NULL;
                /* leave nothing half open, but never export a pool that is not the target's */
                if (mo.pool_ours)
                        (void) disk_unmount(d.layout, root, &e2);
        } else
                printf("%s mounted on %s (credstore opened by %s; every dataset's encryptionroot is %s/crypt)\n",
                       d.target.path, root, mo.unlocked_by, d.layout->pool);
        free(mo.unlocked_by);
        disk_cmd_close(&d);
        return r;
}
