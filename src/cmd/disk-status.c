/* SPDX-License-Identifier: MIT */
/* keystone disk status HOST.toml: whether the disk matches the host file. */
#include <stdlib.h>
#include <string.h>

#include "cmd/disk.h"
#include "cmd/tpm.h"
#include "disk/apply.h"
#include "disk/credstore.h"
#include "disk/gpt.h"

/* The credstore, when its pool is imported: a damaged copy of its LUKS2
 * header would be used (and rewritten) silently. */
static void credstore_header_status(const DiskLayout *l) {
        char cs[300], csdev[512];
        snprintf(cs, sizeof cs, "%s/credstore", l->pool ? l->pool : "rpool");
        LuksHeaderCheck hc;
        if (zvol_device(cs, csdev, sizeof csdev, 0) == 0 && luks_header_check(csdev, &hc) == 0 &&
            !tpm_cmd_header_warn(csdev, &hc))
                printf("%s (%s): both copies of the LUKS2 header are intact\n", cs, csdev);
}

int cmd_disk_status(const CmdArgs *a) {
        DiskCmd d;
        int r = disk_cmd_open(a, DISK_NEED_EXISTING, &d);
        if (r < 0)
                return r;
        const char *path = d.target.path;
        _cleanup_free_ char *why = NULL;
        r = disk_check_target(d.layout, &d.target, &why);
        GptTable g;
        int gr = gpt_read(path, &g);
        if (r == 0 && gr == 0)
                printf("%s: the GPT matches the host file\n", path);
        else if (r == 0)
                printf("%s: blank, nothing applied yet\n", path);
        else
                printf("%s: %s\n", path, why ? why : strerror(-r));
        credstore_header_status(d.layout);
        disk_cmd_close(&d);
        return r == -EBUSY || r == 0 ? 0 : r;
}
