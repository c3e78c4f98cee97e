/* SPDX-License-Identifier: MIT */
/* For tests/host/test-install-probe.sh: runs the embedded probe script on
 * this machine (`sh -s`, the script on stdin, as a remote install sends it)
 * and prints what probe_parse() made of the report, one fact a line:
 *
 *   arch ARCH / mem-kib N / efi yes|no / tpm yes|no
 *   disk NAME SIZE data=yes|no ids=A,B parts=P,Q mounts=N pttype=T fs=NAME TYPE,…
 *   check DEVICE: 0 | -ERRNO, then each refusal line  (with --check DEVICE)
 *   plan …                                            (with --check DEVICE)
 *
 * Usage: probe-report [--with-loop] [--no-blkid] [--raw] [--check DEVICE [--force]] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "install/probe.h"
#include "util/macro.h"
#include "util/run.h"
#include "util/strv.h"

static void print_list(const char *label, char **v) {
        printf(" %s=", label);
        for (char **p = v; *p; p++)
                printf("%s%s", p == v ? "" : ",", *p);
}

int main(int argc, char **argv) {
        bool with_loop = false, no_blkid = false, raw = false, force = false;
        const char *check = NULL;
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--with-loop"))
                        with_loop = true;
                else if (streq(argv[i], "--no-blkid"))
                        no_blkid = true;
                else if (streq(argv[i], "--raw"))
                        raw = true;
                else if (streq(argv[i], "--force"))
                        force = true;
                else if (streq(argv[i], "--check") && i + 1 < argc)
                        check = argv[++i];
                else {
                        fprintf(stderr, "usage: probe-report [--with-loop] [--no-blkid] [--raw] [--check DEVICE [--force]]\n");
                        return 2;
                }
        }

        const char *sh[6] = { "sh", "-s", "--" };   /* and NULL after the arguments */
        size_t n = 3;
        if (with_loop)
                sh[n++] = "with-loop";
        if (no_blkid)
                sh[n++] = "no-blkid";
        RunOptions o = { .input = probe_script, .input_size = probe_script_size, .timeout_ms = 60000,
                         .ignore_dry_run = true };
        RunResult res = { 0 };
        int r = run(sh, &o, &res);
        if (r < 0) {
                fprintf(stderr, "probe script: %s\n", run_result_describe(&res));
                run_result_done(&res);
                return 1;
        }
        if (raw)
                fputs(res.out, stdout);

        ProbeReport *rep = NULL;
        _cleanup_free_ char *error = NULL;
        r = probe_parse(res.out, res.out_size, &rep, &error);
        run_result_done(&res);
        if (r < 0) {
                fprintf(stderr, "probe_parse: %s\n", error ? error : strerror(-r));
                return 1;
        }

        printf("arch %s\nmem-kib %llu\nefi %s\ntpm %s\n", rep->arch, (unsigned long long) (rep->mem_total / 1024),
               rep->efi ? "yes" : "no", rep->tpm ? "yes" : "no");
        for (size_t i = 0; i < rep->n_disks; i++) {
                const ProbeDisk *d = &rep->disks[i];
                printf("disk %s %llu data=%s", d->name, (unsigned long long) d->size,
                       probe_disk_holds_data(d, NULL) ? "yes" : "no");
                print_list("ids", d->ids);
                print_list("parts", d->partitions);
                printf(" mounts=%zu pttype=%s", strv_length(d->mounts), d->pttype ? d->pttype : "-");
                print_list("fs", d->filesystems);
                putchar('\n');
        }
        for (size_t i = 0; i < rep->n_interfaces; i++)
                printf("if %s %s\n", rep->interfaces[i].name, rep->interfaces[i].mac ? rep->interfaces[i].mac : "-");

        if (check) {
                ProbeWants w = { .disk_device = check };
                ProbeOptions po = { .force = force };
                _cleanup_free_ char *why = NULL;
                r = probe_check(rep, &w, &po, &why);
                printf("check %s: %d\n%s%s", check, r, why ? why : "", why ? "\n" : "");
                const ProbeDisk *d = NULL;
                if (probe_find_disk(rep, check, &d, NULL) == 0) {
                        _cleanup_free_ char *plan = NULL;
                        if (probe_format_plan(d, check, &plan) == 0)
                                printf("plan %s", plan);
                }
        }
        probe_report_free(rep);
        return 0;
}
