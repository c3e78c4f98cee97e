/* SPDX-License-Identifier: MIT */
/* keystone disk plan HOST.toml: every step apply would take; changes nothing. */
#include "cmd/disk.h"

int cmd_disk_plan(const CmdArgs *a) {
        DiskCmd d;
        int r = disk_cmd_open(a, DISK_NEED_PLAN, &d);
        if (r < 0)
                return r;
        r = disk_plan_write(d.layout, &d.target, stdout);
        disk_cmd_close(&d);
        return r;
}
