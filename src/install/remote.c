/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "install/remote.h"
#include "install/remote-phases.h"
#include "secureboot/keys.h"
#include "util/clock.h"
#include "util/error-message.h"
#include "util/fs.h"
#include "util/log-file.h"
#include "util/format-bytes.h"
#include "util/macro.h"
#include "util/run.h"

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

int remote_kexec_upload(SshClient *c, bool sudo, const RemoteKexecFiles *f, char **ret_error) {
        /* a tmpfs of its own: /run is often mounted noexec (Debian 12's
         * is), and keystone-kexec must run from there */
        const char *mk[] = { "sh", "-c",
                             "mkdir -p -m 0700 \"$1\" && { mountpoint -q \"$1\" || "
                             "mount -t tmpfs -o mode=0700,nosuid,nodev keystone-kexec \"$1\"; }",
                             "sh", REMOTE_KEXEC_DIR, NULL };
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
        return 0;
}

int remote_kexec_load(SshClient *c, bool sudo, const char *cmdline, char **ret_error) {
        const char *load[] = { REMOTE_KEXEC_DIR "/keystone-kexec", "load", REMOTE_KEXEC_DIR "/vmlinuz",
                               REMOTE_KEXEC_DIR "/initrd.img", cmdline, NULL };
        return remote_run(c, sudo, load, 120000, ret_error);
}

int remote_kexec_start(SshClient *c, bool sudo, char **ret_error) {
        /* detached: the session (and sshd) go down with the machine */
        const char *start[] = { "sh", "-c",
                                "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then "
                                "setsid -f sh -c 'sleep 1; exec systemctl kexec' </dev/null >/dev/null 2>&1; "
                                "else setsid -f sh -c 'sleep 1; exec \"$0\" exec' \"$0\" </dev/null >/dev/null 2>&1; fi",
                                REMOTE_KEXEC_DIR "/keystone-kexec", NULL };
        return remote_run(c, sudo, start, 60000, ret_error);
}

int remote_kexec(SshClient *c, bool sudo, const RemoteKexecFiles *f, const char *cmdline, char **ret_error) {
        int r = remote_kexec_upload(c, sudo, f, ret_error);
        if (r >= 0)
                r = remote_kexec_load(c, sudo, cmdline, ret_error);
        if (r >= 0)
                r = remote_kexec_start(c, sudo, ret_error);
        return r;
}

/* ---- the kexec phase ---- */

int remote_kexec_binary(const char *self_exe, const char *installed, char *ret, char **ret_error) {
        char beside[PATH_MAX];
        const char *slash = self_exe ? strrchr(self_exe, '/') : NULL;
        if (slash && snprintf(beside, sizeof beside, "%.*s/keystone-kexec", (int) (slash - self_exe), self_exe) <
                             (int) sizeof beside &&
            access(beside, X_OK) == 0) {
                snprintf(ret, PATH_MAX, "%s", beside);
                return 0;
        }
        if (access(installed, X_OK) == 0) {
                snprintf(ret, PATH_MAX, "%s", installed);
                return 0;
        }
        return error_set(ret_error, -ENOENT, "keystone-kexec (the static loader keystone install uploads to the "
                         "target) is neither beside this keystone binary (%s) nor at %s: build it (make "
                         "build/keystone-kexec) or install the keystone package", slash ? beside : "?", installed);
}

int remote_installer_host_key(const char *state_dir, char *ret, char **ret_error) {
        char dir[PATH_MAX], key[PATH_MAX], pub[PATH_MAX + 8];
        PATHF(dir, "%s/ssh", state_dir);
        PATHF(key, "%s/installer_host_key", dir);
        snprintf(pub, sizeof pub, "%s.pub", key);
        int r;
        if (access(key, R_OK) == 0 && access(pub, R_OK) == 0) {
                snprintf(ret, PATH_MAX, "%s", key);
                return 0;
        }
        if ((r = mkdir_p(dir, 0700, ret_error)) < 0)
                return r;
        /* half a pair (a run killed in ssh-keygen) is made again */
        (void) unlink(key);
        (void) unlink(pub);
        const char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "keystone-installer", "-f", key,
                               NULL };
        RunResult rr = {};
        r = run(argv, NULL, &rr);
        if (r < 0) {
                r = error_set(ret_error, r, "ssh-keygen for the installer's host key %s failed: %s (package "
                              "openssh-client)", key, r == -EPROTO ? run_result_describe(&rr) : strerror(-r));
                run_result_done(&rr);
                return r;
        }
        run_result_done(&rr);
        if (chmod(key, 0600) < 0)
                return error_set(ret_error, -errno, "cannot make %s 0600: %s", key, strerror(errno));
        snprintf(ret, PATH_MAX, "%s", key);
        return 0;
}

/* keystone.installer as a word of the kernel command line */
static bool cmdline_has_installer(const char *cmdline) {
        for (const char *p = cmdline; (p = strstr(p, "keystone.installer")); p++)
                if ((p == cmdline || p[-1] == ' ') && (!p[18] || strchr(" \n", p[18])))
                        return true;
        return false;
}

static bool wait_gives_up_on(int r) {
        return r == -EACCES || r == -ENOKEY || r == -EINVAL || r == -ENOENT || r == -ENOMEM;
}

int remote_wait_installer(const SshTarget *t, const char *identity, const char *pinned_pub, int timeout_s,
                          const char *log_path, SshClient **ret, char **ret_error) {
        SshTarget root = *t;
        snprintf(root.user, sizeof root.user, "root");
        SshConnectOptions o = { .identity = identity, .pinned_host_key = pinned_pub, .connect_timeout_ms = 10000,
                                .log_path = log_path };
        int64_t end = monotonic_ms() + (int64_t) (timeout_s > 0 ? timeout_s : REMOTE_INSTALLER_WAIT_S) * 1000;
        _cleanup_free_ char *last = NULL;
        SshClient *c = NULL;
        int r;
        for (;;) {
                (void) usleep(REMOTE_INSTALLER_POLL_S * 1000000);
                free(last);
                last = NULL;
                r = ssh_client_connect(&root, &o, &c, &last);
                if (r >= 0)
                        break;
                if (wait_gives_up_on(r))
                        return error_set(ret_error, r, "reaching the installer on %s:%u: %s", t->host, t->port,
                                         last ? last : strerror(-r));
                if (monotonic_ms() > end)
                        return error_set(ret_error, -ETIMEDOUT, "the installer did not answer on %s:%u within %d s "
                                         "(the last try: %s); its console says why, if the machine has one",
                                         t->host, t->port, timeout_s > 0 ? timeout_s : REMOTE_INSTALLER_WAIT_S,
                                         last ? last : strerror(-r));
        }
        const char *cat[] = { "cat", "/proc/cmdline", NULL };
        RunResult rr = {};
        free(last);
        last = NULL;
        r = ssh_client_run(c, cat, &(SshRunOptions) { .log_output = true, .timeout_ms = 60000 }, &rr, &last);
        if (r < 0)
                r = error_set(ret_error, r, "the installer on %s:%u answered, but `cat /proc/cmdline` failed: %s",
                              t->host, t->port, last ? last : strerror(-r));
        else if (!rr.out || !cmdline_has_installer(rr.out))
                r = error_set(ret_error, -EPROTO, "%s:%u answers with the installer's host key, but its kernel "
                              "command line has no keystone.installer: %s", t->host, t->port,
                              rr.out ? rr.out : "(empty)");
        run_result_done(&rr);
        if (r < 0) {
                ssh_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

/* ---- confirmation ---- */

int remote_confirm_possible(int in_fd, bool yes, char **ret_error) {
        if (yes || isatty(in_fd))
                return 0;
        return error_set(ret_error, -ENOTTY, "standard input is not a terminal, so the install cannot be "
                         "confirmed: run with --yes (after --dry-run, which shows what would be done)");
}

int remote_confirm(int in_fd, FILE *out, bool yes, const char *question, char **ret_error) {
        int r = remote_confirm_possible(in_fd, yes, ret_error);
        if (r < 0 || yes)
                return r;
        fprintf(out, "%s Type yes to go on: ", question);
        fflush(out);
        char line[64];
        size_t n = 0;
        bool over = false;
        for (;;) {
                char ch;
                ssize_t k = read(in_fd, &ch, 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0 || ch == '\n')
                        break;
                if (n < sizeof line - 1)
                        line[n++] = ch;
                else
                        over = true;
        }
        line[n] = 0;
        if (over || !streq(line, "yes"))
                return error_set(ret_error, -ECANCELED, "not confirmed (the answer was not \"yes\"): nothing was "
                                 "changed");
        return 0;
}

/* ---- the phases ---- */

int remote_phases_check(unsigned mask, const InstallRecord *rec, const char *state_dir, char **ret_error) {
        for (int p = 1; p < _INSTALL_PHASE_MAX; p++) {
                unsigned me = 1u << p, before = 1u << (p - 1);
                if (!(mask & me) || (rec->done & me) || (mask & before) || (rec->done & before))
                        continue;
                return error_set(ret_error, -EINVAL, "the %s phase needs the %s phase first, and %s/phases does "
                                 "not hold it as ended: add %s to --phases (the order is "
                                 "kexec,disk,install,reboot,enroll)", install_phase_name(p),
                                 install_phase_name(p - 1), state_dir, install_phase_name(p - 1));
        }
        return 0;
}

int remote_phases_run(const RemotePhase *table, size_t n, unsigned mask, InstallRecord *rec, const char *state_dir,
                      RemoteInstall *ri, char **ret_error) {
        int ran = 0;
        for (size_t i = 0; i < n; i++) {
                InstallPhase ph = table[i].phase;
                if (!(mask & (1u << ph)) || (rec->done & (1u << ph)))
                        continue;
                if (!table[i].run) {
                        /* the ones before it that this version has, and those of them that ended */
                        char before[128] = "", ended[128] = "";
                        size_t k = 0, e = 0;
                        unsigned n_before = 0;
                        for (size_t j = 0; j < i; j++) {
                                const char *name = install_phase_name(table[j].phase);
                                if (table[j].run && k < sizeof before) {
                                        k += (size_t) snprintf(before + k, sizeof before - k, "%s%s", k ? "," : "", name);
                                        n_before++;
                                }
                                if ((rec->done & (1u << table[j].phase)) && e < sizeof ended)
                                        e += (size_t) snprintf(ended + e, sizeof ended - e, "%s%s", e ? ", " : "", name);
                        }
                        _cleanup_free_ char *msg = NULL;
                        if (asprintf(&msg, "the %s phase is not in this version of keystone install yet%s%s%s%s%s%s%s",
                                     install_phase_name(ph), *ended ? " (" : "", ended,
                                     *ended ? " ended: " : "", *ended ? state_dir : "", *ended ? "/phases records it)" : "",
                                     *before ? "; `--phases " : "", *before ? before : "") < 0)
                                return -ENOMEM;
                        return error_set(ret_error, -EOPNOTSUPP, "%s%s%s", msg, *before ? "` runs only " : "",
                                         !*before ? "" : n_before == 1 ? "the first" : "the phases before it");
                }
                double t0 = monotonic_seconds();
                int r = table[i].run(ri, ret_error);
                if (r < 0)
                        return r;
                if ((r = install_record_mark(state_dir, rec, ph, monotonic_seconds() - t0, ret_error)) < 0)
                        return r;
                ran++;
        }
        return ran;
}

/* One step of the kexec phase: its start and end to ri->progress. */
static double step_begin(RemoteInstall *ri, const char *step) {
        if (ri->progress)
                ri->progress(ri->userdata, INSTALL_PHASE_KEXEC, step, 0, -1);
        return monotonic_seconds();
}

static int step_end(RemoteInstall *ri, const char *step, double t0, int r) {
        if (ri->progress)
                ri->progress(ri->userdata, INSTALL_PHASE_KEXEC, step, r, monotonic_seconds() - t0);
        return r;
}

int remote_phase_kexec(RemoteInstall *ri, char **ret_error) {
        const InstallPrepare *p = &ri->prepare;
        const char *state = p->state_dir;
        RemoteNet net;
        /* before the long build: the installer must be reachable again */
        int r = remote_installer_network(ri->report, ri->target->host, &net, ret_error);
        if (r < 0)
                return r;
        _cleanup_free_ char *cmdline = remote_installer_cmdline(&net);
        if (!cmdline)
                return -ENOMEM;

        const char *step = "keys (STATE/keys, STATE/ssh)";
        double t0 = step_begin(ri, step);
        char host_key[PATH_MAX];
        r = install_prepare_keys(p, &ri->keys, ret_error);
        if (r >= 0)
                r = remote_installer_host_key(state, host_key, ret_error);
        if ((r = step_end(ri, step, t0, r)) < 0)
                return r;

        /* what the phases after kexec need from this side: the disk as the
         * probe saw it (the installer finds it again by its serial), the
         * host's own SSH host key (the first boot's initrd and the system
         * answer with it), and the first boot's network baked into the
         * build (initrd-ssh: the signed UKI's command line) */
        step = "the disk's identity (STATE/target-disk) and the host's SSH host key (STATE/ssh/host)";
        t0 = step_begin(ri, step);
        r = ri->disk ? remote_disk_id_save(state, ri->disk, ret_error) :
                       error_set(ret_error, -EINVAL, "keystone install: no target disk was probed");
        if (r >= 0)
                r = install_prepare_host_keys(state, ret_error);
        if ((r = step_end(ri, step, t0, r)) < 0)
                return r;
        char host_keys[PATH_MAX], net_arg[256];
        PATHF(host_keys, "%s/ssh/host", state);
        snprintf(net_arg, sizeof net_arg, "address=%s%s%s,mac=%s", net.address, *net.gateway ? ",gateway=" : "",
                 net.gateway, net.mac);
        const char *build_args[] = { "--host-keys", host_keys, "--initrd-ssh-net", net_arg, NULL };
        InstallPrepare bp = *p;
        bp.build_args = build_args;
        step = "building the generation (STATE/media/generation)";
        t0 = step_begin(ri, step);
        if ((r = step_end(ri, step, t0, install_prepare_build(&bp, ri->keys.pub, ret_error))) < 0)
                return r;

        Installer inst;
        step = "the installer";
        t0 = step_begin(ri, step);
        if ((r = step_end(ri, step, t0, install_prepare_installer(p, &inst, ret_error))) < 0)
                return r;

        char dir[PATH_MAX], initrd[PATH_MAX], kernel[PATH_MAX], pub[PATH_MAX + 8];
        PATHF(dir, "%s/kexec", state);
        PATHF(initrd, "%s/initrd.img", dir);
        PATHF(kernel, "%s/vmlinuz", inst.dir);
        snprintf(pub, sizeof pub, "%s.pub", host_key);
        step = "the installer's initrd with the state's key and its host key (STATE/kexec/initrd.img)";
        t0 = step_begin(ri, step);
        _cleanup_free_ char *ierr = NULL;
        r = mkdir_p(dir, 0700, ret_error);
        if (r >= 0 && (r = installer_initrd(&inst, &(InstallerAccess) { .authorized_key = ri->keys.pub,
                                                                          .host_key = host_key },
                                            initrd, &ierr)) < 0)
                r = error_set(ret_error, r, "Making the installer's initrd %s failed: %s", initrd,
                              ierr ? ierr : strerror(-r));
        if ((r = step_end(ri, step, t0, r)) < 0)
                return r;
        log_file_printf(p->log_path, "installer network: %s (%s) %s gateway %s; command line: %s\n", net.ifname,
                        net.mac, net.address, *net.gateway ? net.gateway : "none", cmdline);

        RemoteKexecFiles files = { .kexec = ri->kexec_binary, .kernel = kernel, .initrd = initrd };
        step = "uploading keystone-kexec, the kernel and the initrd to " REMOTE_KEXEC_DIR;
        t0 = step_begin(ri, step);
        if ((r = step_end(ri, step, t0, remote_kexec_upload(ri->client, ri->sudo, &files, ret_error))) < 0)
                return r;
        step = "loading the installer's kernel (keystone-kexec load)";
        t0 = step_begin(ri, step);
        if ((r = step_end(ri, step, t0, remote_kexec_load(ri->client, ri->sudo, cmdline, ret_error))) < 0)
                return r;
        step = "starting it (systemctl kexec)";
        t0 = step_begin(ri, step);
        if ((r = step_end(ri, step, t0, remote_kexec_start(ri->client, ri->sudo, ret_error))) < 0)
                return r;

        char waiting[PATH_MAX + 128];
        snprintf(waiting, sizeof waiting, "waiting for the installer on %s:%u (host key %s)", ri->target->host,
                 ri->target->port, "STATE/ssh/installer_host_key.pub");
        t0 = step_begin(ri, waiting);
        r = remote_wait_installer(ri->target, ri->keys.ssh_key, pub, ri->installer_timeout_s, p->log_path,
                                  &ri->installer, ret_error);
        return step_end(ri, waiting, t0, r) < 0 ? r : 0;
}
