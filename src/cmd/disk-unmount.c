/* SPDX-License-Identifier: MIT */
/* keystone disk unmount HOST.toml --root DIR: nothing of the host's disk
 * mounted or open any more. */
#include <string.h>

#include "cmd/disk.h"

int cmd_disk_unmount(const CmdArgs *a) {
        const char *root = NULL;
        int r = disk_cmd_root(a, DISK_OPT_ROOT, NULL, true, &root);
        if (r < 0)
                return r;
        DiskCmd d;
        if ((r = disk_cmd_open(a, DISK_NEED_NOTHING, &d)) < 0)
                return r;
        _cleanup_free_ char *error = NULL;
        r = disk_unmount(d.layout, root, &error);
        if (r < 0)
                log_error("Failed to unmount %s: %s", root, error ? error : strerror(-r));
        else
                printf("Nothing of %s is mounted on %s or open any more (credstore closed, pool exported)\n",
                       d.layout->pool, root);
        disk_cmd_close(&d);
        return r;
}
