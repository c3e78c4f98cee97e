/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "install/remote.h"
#include "secureboot/keys.h"
#include "util/error-message.h"
#include "util/format-bytes.h"
#include "util/macro.h"

int remote_probe(SshClient *c, bool sudo, const char *target, ProbeReport **ret, char **ret_error) {
        const char *as_root[] = { "sh", "-s", NULL };
        const char *via_sudo[] = { "sudo", "-n", "sh", "-s", NULL };
        RunResult rr = {};
        _cleanup_free_ char *err = NULL;
        int r = ssh_client_run(c, sudo ? via_sudo : as_root,
                               &(SshRunOptions) { .input = probe_script, .input_size = probe_script_size,
                                                  .log_output = true, .timeout_ms = 120000,
                                                  .max_output = PROBE_REPORT_MAX + 1 },
                               &rr, &err);
        if (r == -EPROTO && sudo && rr.err && strstr(rr.err, "password"))
                r = error_set(ret_error, -EACCES, "%s: sudo asks for a password, which cannot be typed there: log in "
                              "as root (--target root@…), or let this user run sudo without one (NOPASSWD)",
                              target);
        else if (r < 0)
                r = error_set(ret_error, r, "%s: the probe (sh -s%s) failed: %s", target, sudo ? " through sudo" : "",
                              err ? err : strerror(-r));
        else {
                _cleanup_free_ char *perr = NULL;
                r = probe_parse(rr.out, rr.out_size, ret, &perr);
                if (r < 0)
                        r = error_set(ret_error, r, "%s: the probe's report cannot be read: %s", target,
                                      perr ? perr : strerror(-r));
        }
        run_result_done(&rr);
        return r;
}

int remote_owner_pk(const char *key_dir, uint8_t **ret, size_t *ret_size, char **ret_error) {
        X509 *cert = NULL;
        int r = sb_cert_load(key_dir, SB_KEY_PK, &cert);
        if (r == -ENOENT)
                return r;
        if (r < 0)
                return error_set(ret_error, r, "%s: cannot load the owner's PK certificate: %s", key_dir,
                                 strerror(-r));
        unsigned char *der = NULL;
        int n = i2d_X509(cert, &der);
        X509_free(cert);
        if (n <= 0)
                return error_set(ret_error, -EBADMSG, "%s: the owner's PK certificate cannot be encoded", key_dir);
        /* OpenSSL's allocation, copied to ours so that free() releases it */
        uint8_t *copy = malloc((size_t) n);
        if (copy)
                memcpy(copy, der, (size_t) n);
        OPENSSL_free(der);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        *ret_size = (size_t) n;
        return 0;
}

static const char *secure_boot_text(const ProbeReport *r) {
        if (!r->efi)
                return "none (BIOS boot)";
        if (r->setup_mode == 1)
                return "setup mode (the owner's keys will be enrolled)";
        if (r->secure_boot == 1)
                return r->pk ? "user mode, enforcing (keys enrolled)" : "user mode, enforcing";
        return r->setup_mode == 0 ? "off, user mode (keys enrolled)" : "state unknown (efivars unreadable)";
}

/* The files below --extra-files, as the plan lists them. */
static FILE *extra_out;
static const char *extra_base;
static int extra_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) ftw;
        if (flag == FTW_F || flag == FTW_SL)
                fprintf(extra_out, "  %-40s %04o%s\n", path + strlen(extra_base),
                        (unsigned) (st->st_mode & 07777), flag == FTW_SL ? " (a link)" : "");
        return 0;
}

static int plan_extra_files(FILE *f, const char *dir, const char *chown, char **ret_error) {
        fprintf(f, "Extra files from %s, into the installed system%s%s:\n", dir, chown ? " owned by " : "",
                chown ? chown : " with their owners and modes");
        extra_out = f;
        extra_base = dir;
        if (nftw(dir, extra_entry, 16, FTW_PHYS) < 0)
                return error_set(ret_error, -errno, "--extra-files %s cannot be read: %s", dir, strerror(errno));
        return 0;
}

int remote_plan_format(const RemotePlanInput *in, char **ret, char **ret_error) {
        const ProbeReport *p = in->report;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        char mem[32];
        fprintf(f, "Install %s (%s) on %s:\n", in->hostname, in->host_path, in->target);
        fprintf(f, "  machine      %s, %s of memory\n", p->arch ? p->arch : "?",
                format_bytes(p->mem_total, mem, sizeof mem));
        fprintf(f, "  firmware     %s; Secure Boot %s\n", p->efi ? "UEFI" : "BIOS", secure_boot_text(p));
        fprintf(f, "  TPM          %s\n", p->tpm ? (p->tpm_version == 2 ? "2.0" : "present, not 2.0") : "none");
        const ProbeDisk *d = NULL;
        int r = in->wants->disk_device ? probe_find_disk(p, in->wants->disk_device, &d, NULL) : -ENODEV;
        _cleanup_free_ char *disk = NULL;
        if (r >= 0 && probe_format_plan(d, in->wants->disk_device, &disk) >= 0) {
                fprintf(f, "Everything on this disk will be erased:\n");
                fputs(disk, f);
        } else
                fprintf(f, "The disk %s is not on the target.\n", in->wants->disk_device ? in->wants->disk_device : "?");
        fprintf(f, "Phases (state in %s):\n", in->state_dir);
        for (int ph = 0; ph < _INSTALL_PHASE_MAX; ph++) {
                if (!(in->phases & (1u << ph)))
                        continue;
                bool done = in->record->done & (1u << ph);
                fprintf(f, "  %-8s %s\n", install_phase_name(ph), done ? "ended before: skipped" : "to run");
        }
        if (in->extra_files && (r = plan_extra_files(f, in->extra_files, in->chown, ret_error)) < 0) {
                fclose(f);
                return r;
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}
