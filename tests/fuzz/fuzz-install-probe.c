/* SPDX-License-Identifier: MIT */
/* The probe's report (install/probe.h) on any bytes: what a target sends
 * back.  What parses is then judged as a remote install would: probe_check()
 * with and without the options, every disk found by name and by id, its
 * plan formatted. */
#include <stdint.h>
#include <stdlib.h>

#include "install/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ProbeReport *r = NULL;
        char *error = NULL;
        if (probe_parse((const char *) data, size, &r, &error) < 0) {
                free(error);
                return 0;
        }
        static const uint8_t owner[] = "keystone-owner-pk-certificate";
        ProbeWants w = { .disk_device = "/dev/vda", .secure_boot = true, .tpm = true,
                         .owner_pk = owner, .owner_pk_size = sizeof owner - 1 };
        ProbeOptions o = { 0 };
        (void) probe_check(r, &w, &o, &error);
        free(error);
        error = NULL;
        o = (ProbeOptions) { .force = true, .no_tpm = true, .secure_boot_later = true };
        w.secure_boot = false;
        (void) probe_check(r, &w, &o, &error);
        free(error);
        error = NULL;
        for (size_t i = 0; i < r->n_disks; i++) {
                const ProbeDisk *d = NULL;
                char *plan = NULL, *what = NULL;
                (void) probe_find_disk(r, r->disks[i].name, &d, &error);
                free(error);
                error = NULL;
                if (r->disks[i].ids[0]) {
                        (void) probe_find_disk(r, r->disks[i].ids[0], &d, &error);
                        free(error);
                        error = NULL;
                }
                (void) probe_disk_holds_data(&r->disks[i], &what);
                free(what);
                if (probe_format_plan(&r->disks[i], "/dev/vda", &plan) == 0)
                        free(plan);
        }
        probe_report_free(r);
        return 0;
}
