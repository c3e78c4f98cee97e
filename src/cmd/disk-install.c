/* SPDX-License-Identifier: MIT */
/* keystone disk install HOST.toml --from BUILD: the generation a build made,
 * put on the disk (src/generation/install.h). */
#include <stdlib.h>
#include <string.h>

#include "cmd/disk.h"
#include "generation/install.h"

static void on_install_progress(const char *step, const char *detail, void *userdata) {
        (void) userdata;
        printf("  %-8s %s\n", step, detail);
        fflush(stdout);
}

int cmd_disk_install(const CmdArgs *a) {
        const char *from = cmd_opt(a, DISK_OPT_FROM), *root = NULL;
        if (!from)
                return cmd_usage(a, "needs --from BUILD (the directory `keystone build -o BUILD` wrote)");
        int r = disk_cmd_root(a, DISK_OPT_ROOT_INSTALL, "/run/keystone/install", false, &root);
        if (r < 0)
                return r;
        DiskCmd d;
        if ((r = disk_cmd_open(a, DISK_NEED_DEVICE, &d)) < 0)
                return r;
        GenerationInstallOptions io = {
                .from = from, .force = cmd_flag(a, DISK_OPT_FORCE_GENERATION), .progress = on_install_progress,
                .mount = disk_cmd_mount_options(a, root),
        };
        printf("Installing the generation in %s on %s:\n", from, d.target.path);
        fflush(stdout);
        _cleanup_free_ char *error = NULL;
        r = generation_install(d.layout, &d.target, &io, &error);
        if (r < 0)
                log_error("Installing %s on %s failed: %s.%s", from, d.target.path, error ? error : strerror(-r),
                          io.left_open ? "" : " Nothing is left mounted or open.");
        else
                printf("Generation %u is installed on %s: the firmware boots it through systemd-boot.\n", io.number,
                       d.target.path);
        free(io.mount.unlocked_by);
        disk_cmd_close(&d);
        return r;
}
