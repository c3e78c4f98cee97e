/* SPDX-License-Identifier: MIT */
/* keystone-init's two parsers of untrusted text: the kernel command line
 * (any bytes) and the `zfs list` listing the mount plan is made from (the
 * same bytes, as the listing, with the generation taken from the command
 * line when it parsed).  A failure must always come with a message; a
 * success must give only valid dataset names and a plan led by the
 * generation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "init/cmdline.h"
#include "init/datasets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = strndup((const char *) data, size);
        if (!s)
                return 0;
        InitConfig c;
        char *e = NULL;
        const char *gen = "rpool/crypt/system/generations/3", *er = "rpool/crypt";
        if (init_config_parse(s, &c, &e) < 0) {
                if (!e)
                        abort();
                free(e);
                e = NULL;
        } else {
                if (!init_dataset_name_valid(c.generation) || !init_dataset_name_valid(c.credstore) ||
                    !init_dataset_name_valid(c.encryptionroot) || c.init[0] != '/' || strchr(c.keyfile, '/'))
                        abort();
                gen = c.generation;
                er = c.encryptionroot;
        }
        InitMountPlan p = {};
        if (init_mount_plan(s, gen, er, &p, &e) < 0) {
                if (!e)
                        abort();
                free(e);
        } else {
                if (p.n == 0 || strcmp(p.mounts[0].name, gen) != 0 || strcmp(p.mounts[0].mountpoint, "/") != 0)
                        abort();
                for (size_t i = 0; i < p.n; i++)
                        if (strcmp(p.mounts[i].encryptionroot, er) != 0)
                                abort();
                init_mount_plan_done(&p);
        }
        free(s);
        return 0;
}
