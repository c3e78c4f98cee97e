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

static bool address_is(const char *addr_prefix, const char *address) {
        size_t n = strcspn(addr_prefix, "/");
        return address && strlen(address) == n && strncmp(addr_prefix, address, n) == 0;
}

static const char *first_ipv4(char **addresses) {
        for (size_t i = 0; addresses && addresses[i]; i++)
                if (!strchr(addresses[i], ':'))
                        return addresses[i];
        return NULL;
}

int remote_installer_network(const ProbeReport *r, const char *address, RemoteNet *ret, char **ret_error) {
        const ProbeInterface *pick = NULL;
        const char *addr = NULL;
        for (size_t i = 0; i < r->n_interfaces && !pick; i++)
                for (size_t j = 0; r->interfaces[i].addresses && r->interfaces[i].addresses[j]; j++)
                        if (address_is(r->interfaces[i].addresses[j], address) &&
                            !strchr(r->interfaces[i].addresses[j], ':')) {
                                pick = &r->interfaces[i];
                                addr = pick->addresses[j];
                                break;
                        }
        const char *gw = "";
        for (size_t i = 0; r->gateways && r->gateways[i]; i++) {
                char g[64], ifn[64];
                if (sscanf(r->gateways[i], "%63s %63s", g, ifn) != 2 || strchr(g, ':'))
                        continue;
                for (size_t k = 0; k < r->n_interfaces && !pick; k++)
                        if (streq(r->interfaces[k].name, ifn) && first_ipv4(r->interfaces[k].addresses)) {
                                pick = &r->interfaces[k];
                                addr = first_ipv4(pick->addresses);
                        }
                if (pick && streq(pick->name, ifn)) {
                        gw = r->gateways[i];
                        break;
                }
        }
        if (!pick || !pick->mac)
                return error_set(ret_error, -ENETUNREACH, "the target has no interface with an IPv4 address and a "
                                 "hardware address%s (the installer it is started into speaks IPv4: give the "
                                 "target one, or use the installer image)", address ? " that holds it" : "");
        RemoteNet n = {};
        snprintf(n.ifname, sizeof n.ifname, "%s", pick->name);
        snprintf(n.mac, sizeof n.mac, "%s", pick->mac);
        snprintf(n.address, sizeof n.address, "%s", addr);
        snprintf(n.gateway, sizeof n.gateway, "%.*s", (int) strcspn(gw, " "), gw);
        *ret = n;
        return 0;
}

char *remote_installer_cmdline(const RemoteNet *net) {
        char *s = NULL;
        if (asprintf(&s, "keystone.installer keystone.installer.address=%s%s%s keystone.installer.mac=%s "
                     "console=tty0 console=ttyS0,115200", net->address, *net->gateway ? " keystone.installer.gateway=" : "",
                     net->gateway, net->mac) < 0)
                return NULL;
        return s;
}

/* argv, through `sudo -n` when not root */
static int remote_run(SshClient *c, bool sudo, const char *const *argv, int timeout_ms, char **ret_error) {
        const char *full[16] = { "sudo", "-n" };
        size_t n = sudo ? 2 : 0;
        for (size_t i = 0; argv[i] && n < ELEMENTSOF(full) - 1; i++)
                full[n++] = argv[i];
        full[n] = NULL;
        RunResult rr = {};
        int r = ssh_client_run(c, full, &(SshRunOptions) { .log_output = true, .timeout_ms = timeout_ms }, &rr,
                               ret_error);
        run_result_done(&rr);
        return r;
}

int remote_kexec(SshClient *c, bool sudo, const RemoteKexecFiles *f, const char *cmdline, char **ret_error) {
        const char *mk[] = { "mkdir", "-p", "-m", "0700", REMOTE_KEXEC_DIR, NULL };
        int r = remote_run(c, sudo, mk, 60000, ret_error);
        if (r < 0)
                return r;
        const struct { const char *local, *name; mode_t mode; } up[] = {
                { f->kexec, REMOTE_KEXEC_DIR "/keystone-kexec", 0700 },
                { f->kernel, REMOTE_KEXEC_DIR "/vmlinuz", 0600 },
                { f->initrd, REMOTE_KEXEC_DIR "/initrd.img", 0600 },
        };
        for (size_t i = 0; i < ELEMENTSOF(up); i++)
                if ((r = ssh_client_upload(c, up[i].local, up[i].name, up[i].mode, 10 * 60000, ret_error)) < 0)
                        return r;
        const char *load[] = { REMOTE_KEXEC_DIR "/keystone-kexec", "load", REMOTE_KEXEC_DIR "/vmlinuz",
                               REMOTE_KEXEC_DIR "/initrd.img", cmdline, NULL };
        if ((r = remote_run(c, sudo, load, 120000, ret_error)) < 0)
                return r;
        /* detached: the session (and sshd) go down with the machine */
        const char *start[] = { "sh", "-c",
                                "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then "
                                "setsid -f sh -c 'sleep 1; exec systemctl kexec' </dev/null >/dev/null 2>&1; "
                                "else setsid -f sh -c 'sleep 1; exec \"$0\" exec' \"$0\" </dev/null >/dev/null 2>&1; fi",
                                REMOTE_KEXEC_DIR "/keystone-kexec", NULL };
        return remote_run(c, sudo, start, 60000, ret_error);
}
