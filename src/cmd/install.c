/* SPDX-License-Identifier: MIT */
/* keystone install HOST.toml --target [USER@]ADDRESS[:PORT]: install a host
 * onto a machine reached over SSH (install/remote.h): connect (the host key
 * checked), probe, refuse what cannot be installed, print the plan, ask,
 * then run the phases asked for that have not ended (install_phases[]). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/config-load.h"
#include "image/lock.h"
#include "install/phases.h"
#include "install/probe.h"
#include "install/remote.h"
#include "install/remote-phases.h"
#include "install/ssh.h"
#include "secureboot/keys.h"
#include "util/fs.h"
#include "util/macro.h"

#define INSTALL_OPTIONS(X)                                                                                          \
        X(INSTALL_OPT_TARGET, "target", 't', "[USER@]ADDRESS[:PORT]", NULL,                                         \
          "the machine, running any Linux with sshd (root,\n"                                                       \
          "or a user with sudo without a password)")                                                                \
        X(INSTALL_OPT_IDENTITY, "identity", 'i', "KEY", NULL, "log in with this private key (default: the agent's)") \
        X(INSTALL_OPT_KNOWN_HOSTS, "known-hosts", 0, "FILE", NULL, "default ~/.ssh/known_hosts")                    \
        X(INSTALL_OPT_ACCEPT_NEW, "accept-new-host-key", 0, NULL, NULL,                                             \
          "trust an unknown host key on first use (and add\n"                                                       \
          "it to known_hosts); a changed key is always refused")                                                    \
        X(INSTALL_OPT_PHASES, "phases", 0, "LIST", NULL,                                                            \
          "some of kexec,disk,install,reboot,enroll, in\n"                                                          \
          "this order (default: all)")                                                                              \
        X(INSTALL_OPT_DRY_RUN, "dry-run", 0, NULL, NULL, "probe and print the plan; change nothing")                \
        X(INSTALL_OPT_YES, "yes", 'y', NULL, NULL, "do not ask before erasing the disk")                           \
        X(INSTALL_OPT_FORCE, "force", 0, NULL, NULL, "erase a disk that holds data")                                \
        X(INSTALL_OPT_NO_TPM, "no-tpm", 0, NULL, NULL, "install on a machine without a TPM 2.0")                    \
        X(INSTALL_OPT_SECURE_BOOT, "secure-boot", 0, "later", NULL,                                                 \
          "'later': install although the firmware is not in\n"                                                      \
          "setup mode nor holds the owner's keys")                                                                  \
        X(INSTALL_OPT_FRESH, "fresh", 0, NULL, NULL, "forget what an earlier run of this host did")                 \
        X(INSTALL_OPT_STATE, "state", 0, "DIR", NULL, "default /var/lib/keystone/install/HOSTNAME")                 \
        X(INSTALL_OPT_EXTRA_FILES, "extra-files", 0, "DIR", NULL,                                                   \
          "copy DIR's tree into the installed system (DIR/etc/x\n"                                                  \
          "becomes /etc/x)")                                                                                        \
        X(INSTALL_OPT_CHOWN, "chown", 0, "USER:GROUP", NULL, "the owner of the extra files (default: root:root)")

enum { INSTALL_OPTIONS(CMD_OPTION_ID) };
const CmdOption install_options[] = { INSTALL_OPTIONS(CMD_OPTION_ENTRY) {} };

const char install_description[] =
        "Install a host onto a machine reached over SSH, as `keystone vm` installs it\n"
        "into a VM.  Before anything on the machine changes, it is probed (as root):\n"
        "architecture, memory (1.5 GB at least), UEFI, the Secure Boot state, the\n"
        "TPM, the disk the host file's disk.device names and whether it holds data or\n"
        "is in use; what cannot be installed is refused, saying what was found and\n"
        "what to do.  Then the plan is printed: what will be erased (the disk by id)\n"
        "and which phases run.\n"
        "\n"
        "The host key is checked against known_hosts; an unknown one is trusted only\n"
        "with --accept-new-host-key.  Each phase's end is recorded in the state\n"
        "directory, so the same command after a dropped connection goes on where it\n"
        "stopped (--fresh starts over).\n"
        "\n"
        "Before the first phase the install is confirmed: \"yes\" typed on the\n"
        "terminal, or --yes.  kexec builds the generation and the installer (in the\n"
        "state directory), uploads the installer with keystone-kexec to\n"
        "/run/keystone-kexec there and starts it, then reaches it again over SSH on\n"
        "the same address, its host key pinned (STATE/ssh/installer_host_key.pub).\n"
        "disk lays out the disk (found again by its serial), install puts the\n"
        "generation, the extra files and the owner's Secure Boot keys there and\n"
        "exports the pool, reboot unlocks the first boot over SSH in its initrd\n"
        "(the host's own key, STATE/ssh/host), enroll enrolls the TPM and the\n"
        "recovery key, removes the install secret and checks that a reboot opens\n"
        "with the TPM alone.  The summary and the recovery key are printed once.";

static int install_connect(const CmdArgs *a, const SshTarget *t, SshClient **ret) {
        SshConnectOptions o = {
                .identity = cmd_opt(a, INSTALL_OPT_IDENTITY),
                .known_hosts = cmd_opt(a, INSTALL_OPT_KNOWN_HOSTS),
                .accept_new_host_key = cmd_flag(a, INSTALL_OPT_ACCEPT_NEW),
        };
        _cleanup_free_ char *err = NULL;
        int r = ssh_client_connect(t, &o, ret, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err ? err : strerror(-r));
        return 0;
}

/* What the host wants of the machine, with the owner's PK when it is known
 * (the state's keys, else the host's secure-boot.key-dir). */
static int install_wants(const Config *c, const ImageSpec *spec, const char *state, ProbeWants *w, uint8_t **pk) {
        probe_wants_from_config(c, w);
        char keys[PATH_MAX];
        snprintf(keys, sizeof keys, "%s/keys", state);
        const char *dirs[] = { keys, spec->sb_key_dir ? spec->sb_key_dir : SB_KEYS_DEFAULT_DIR };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *err = NULL;
                int r = remote_owner_pk(dirs[i], pk, &w->owner_pk_size, &err);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return log_error_errno(r, "%s", err ? err : strerror(-r));
                w->owner_pk = *pk;
                break;
        }
        return 0;
}

static int install_probe(const CmdArgs *a, SshClient *c, const SshTarget *t, const ProbeWants *w,
                         bool kexec_releases, ProbeReport **ret) {
        const char *target = cmd_opt(a, INSTALL_OPT_TARGET);
        _cleanup_free_ char *err = NULL;
        bool sudo = *t->user && !streq(t->user, "root");
        int r = remote_probe(c, sudo, target, ret, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err ? err : strerror(-r));
        const char *sb = cmd_opt(a, INSTALL_OPT_SECURE_BOOT);
        ProbeOptions po = { .force = cmd_flag(a, INSTALL_OPT_FORCE), .no_tpm = cmd_flag(a, INSTALL_OPT_NO_TPM),
                            .secure_boot_later = sb != NULL, .kexec_releases = kexec_releases };
        free(err);
        err = NULL;
        r = probe_check(*ret, w, &po, &err);
        if (r < 0)
                return log_error_errno(r, "%s cannot be installed as it is; nothing on it was changed:\n%s", target,
                                       err ? err : strerror(-r));
        return 0;
}

static int install_record(const CmdArgs *a, const char *state, InstallRecord *rec) {
        _cleanup_free_ char *err = NULL;
        int r = cmd_flag(a, INSTALL_OPT_FRESH) && !cmd_flag(a, INSTALL_OPT_DRY_RUN) ?
                        install_record_reset(state, rec, &err) : install_record_load(state, rec, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err ? err : strerror(-r));
        if (cmd_flag(a, INSTALL_OPT_FRESH))
                *rec = (InstallRecord) {};
        return 0;
}

/* The phases in their order; the ones without a function are not in this
 * version yet (remote_phases_run() says so). */
static const RemotePhase install_phases[] = {
        { INSTALL_PHASE_KEXEC, remote_phase_kexec },
        { INSTALL_PHASE_DISK, remote_phase_disk },
        { INSTALL_PHASE_INSTALL, remote_phase_install },
        { INSTALL_PHASE_REBOOT, remote_phase_reboot },
        { INSTALL_PHASE_ENROLL, remote_phase_enroll },
};

/* "kexec: uploading … ok (12.3 s)"; the build's own lines indented
 * between */
static bool line_open;
static void progress(void *userdata, InstallPhase phase, const char *step, int r, double seconds) {
        (void) userdata;
        if (seconds < 0) {
                printf("%s: %s … ", install_phase_name(phase), step);
                line_open = true;
        } else {
                if (!line_open)
                        printf("%s: %s: ", install_phase_name(phase), step);
                printf("%s (%.1f s)\n", r < 0 ? "failed" : "ok", seconds);
                line_open = false;
        }
        fflush(stdout);
}

static void detail(void *userdata, const char *line) {
        (void) userdata;
        if (line_open)
                putchar('\n');
        line_open = false;
        printf("  %s\n", line);
        fflush(stdout);
}

static int install_confirm(const CmdArgs *a, unsigned phases, const RemotePlanInput *in) {
        char q[512];
        if (phases & ~(1u << INSTALL_PHASE_KEXEC))
                snprintf(q, sizeof q, "Erase %s on %s and install %s?", in->wants->disk_device, in->target,
                         in->hostname);
        else
                snprintf(q, sizeof q, "Stop the system running on %s and start the installer there (in RAM)?",
                         in->target);
        _cleanup_free_ char *err = NULL;
        int r = remote_confirm(STDIN_FILENO, stdout, cmd_flag(a, INSTALL_OPT_YES), q, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err ? err : strerror(-r));
        return 0;
}

/* What the phases need that is found on this side, before connecting: a
 * state directory of our own, this binary, keystone-kexec. */
typedef struct InstallLocal {
        char self[PATH_MAX], host_abs[PATH_MAX], kexec[PATH_MAX], log[PATH_MAX];
        bool locked;
} InstallLocal;

static int install_local(const char *path, const char *state, InstallLocal *l) {
        ssize_t n = readlink("/proc/self/exe", l->self, sizeof l->self - 1);
        if (n < 0)
                return log_error_errno(-errno, "Cannot find this keystone binary (/proc/self/exe): %m");
        l->self[n] = 0;
        if (!realpath(path, l->host_abs))
                return log_error_errno(-errno, "Cannot read host file %s: %m", path);
        char lock[PATH_MAX];
        l->locked = image_lock_path(l->host_abs, lock, sizeof lock) >= 0 && access(lock, F_OK) == 0;
        _cleanup_free_ char *err = NULL;
        int r = remote_kexec_binary(l->self, REMOTE_KEXEC_INSTALLED, l->kexec, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err);
        char logs[PATH_MAX];
        PATHF(logs, "%s/logs", state);
        PATHF(l->log, "%s/kexec.log", logs);
        free(err);
        err = NULL;
        if ((r = mkdir_p(logs, 0700, &err)) < 0 || (r = chmod(state, 0700) < 0 ? -errno : 0) < 0)
                return log_error_errno(r, "Cannot create the state directory %s: %s", state, err ? err : strerror(-r));
        return 0;
}

/* What enroll measured, the time of each phase, and the recovery key,
 * shown this once (it is also in STATE/recovery-key, 0600). */
static void install_summary(const RemoteInstall *ri, const ImageSpec *spec, const InstallRecord *rec,
                            const char *state) {
        printf("\n%s is installed on %s:\n", spec->hostname, ri->target_text);
        printf("  secure boot     %s\n", ri->sb_line);
        printf("  tpm unlock      %s\n", *ri->tpm_line ? ri->tpm_line : "(tpm.enable = false)");
        printf("  encryptionroot  %s\n", ri->encroot_line);
        printf("  ssh             %s\n", ri->ssh_line);
        printf("  time           ");
        double total = 0;
        for (InstallPhase ph = 0; ph < _INSTALL_PHASE_MAX; ph++)
                if (rec->done & (1u << ph)) {
                        printf(" %s %.0f s,", install_phase_name(ph), rec->seconds[ph]);
                        total += rec->seconds[ph];
                }
        printf(" total %.0f s\n", total);
        printf("\nRecovery key (shown once; keep it somewhere safe, then remove %s/recovery-key):\n\n    %s\n\n",
               state, ri->recovery_key);
        fflush(stdout);
}

/* The phases asked for, in order, from the first that has not ended. */
static int install_run(const CmdArgs *a, RemoteInstall *ri, unsigned phases, InstallRecord *rec, const char *state) {
        _cleanup_free_ char *err = NULL;
        int r = remote_phases_run(install_phases, ELEMENTSOF(install_phases), phases, rec, state, ri, &err);
        if (ri->installer)
                printf("The installer runs on %s (in RAM; log in: ssh -i %s root@%s -p %u, its host key %s/ssh/"
                       "installer_host_key.pub).\n", cmd_opt(a, INSTALL_OPT_TARGET), ri->keys.ssh_key, ri->target->host,
                       ri->target->port, state);
        if (r < 0)
                return log_error_errno(r, "%s", err ? err : strerror(-r));
        printf("Phases ended (recorded in %s/phases).\n", state);
        return 0;
}

/* What can be said before connecting, without --dry-run: the order of the
 * phases, whether anything is left to do, whether the next phase is in
 * this version; then what is needed on this side.  1: nothing to do. */
static int install_ready(const CmdArgs *a, const char *path, const char *state, unsigned phases, InstallRecord *rec,
                         InstallLocal *local) {
        _cleanup_free_ char *err = NULL;
        int r = remote_phases_check(phases, rec, state, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err);
        InstallPhase next = install_record_next(rec, phases);
        if (next == _INSTALL_PHASE_MAX) {
                printf("Every phase asked for ended before (%s/phases): nothing to do (--fresh starts over).\n",
                       state);
                return 1;
        }
        /* install_phases[] is in the phases' order */
        if (!install_phases[next].run) {
                RemoteInstall none = {};
                return install_run(a, &none, phases, rec, state);
        }
        return install_local(path, state, local);
}

/* Before the phases: the machine probed, refused or planned.  After kexec
 * the machine is the installer (then the installed system): the phases
 * reach it themselves, each pinning the host key the state holds for it;
 * the system that was probed is gone, so it is not connected to. */
static int install_survey(const CmdArgs *a, const SshTarget *t, const char *state, unsigned phases,
                          const InstallRecord *rec, const ProbeWants *w, RemotePlanInput *in, SshClient **client,
                          ProbeReport **report, const ProbeDisk **disk) {
        const char *target = cmd_opt(a, INSTALL_OPT_TARGET);
        bool kexec_ended = rec->done & (1u << INSTALL_PHASE_KEXEC);
        bool kexec_now = (phases & (1u << INSTALL_PHASE_KEXEC)) && !kexec_ended;
        if (kexec_ended) {
                InstallPhase next = install_record_next(rec, phases);
                printf("%s: the installer took over by kexec in an earlier run (%s/phases); going on with the %s "
                       "phase.\n", target, state, next < _INSTALL_PHASE_MAX ? install_phase_name(next) : "next");
                return 0;
        }
        int r;
        if ((r = install_connect(a, t, client)) < 0 || (r = install_probe(a, *client, t, w, kexec_now, report)) < 0)
                return r;
        in->report = *report;
        _cleanup_free_ char *plan = NULL, *err = NULL;
        if ((r = remote_plan_format(in, &plan, &err)) < 0)
                return log_error_errno(r, "%s", err ? err : strerror(-r));
        fputs(plan, stdout);
        if (probe_find_disk(*report, w->disk_device, disk, NULL) < 0)
                *disk = NULL;
        return 0;
}

int cmd_install(const CmdArgs *a) {
        const char *path = a->args[0], *target = cmd_opt(a, INSTALL_OPT_TARGET);
        if (!target)
                return cmd_usage(a, "--target [USER@]ADDRESS[:PORT] is needed: the machine to install onto");
        SshTarget t;
        _cleanup_free_ char *err = NULL;
        int r = ssh_target_parse(target, &t, &err);
        if (r < 0)
                return cmd_usage(a, "--target %s: %s", target, err);
        unsigned phases = INSTALL_PHASES_ALL;
        const char *ph = cmd_opt(a, INSTALL_OPT_PHASES);
        if (ph && install_phases_parse(ph, &phases, &err) < 0)
                return cmd_usage(a, "%s", err);
        const char *sb = cmd_opt(a, INSTALL_OPT_SECURE_BOOT);
        if (sb && !streq(sb, "later"))
                return cmd_usage(a, "--secure-boot takes 'later', not '%s'", sb);

        Config *c = NULL;
        ImageSpec spec = {};
        if ((r = cmd_host_load(path, &c, &spec)) < 0)
                return r;
        char state[PATH_MAX];
        snprintf(state, sizeof state, "%s", cmd_opt(a, INSTALL_OPT_STATE) ?: "");
        if (!*state)
                snprintf(state, sizeof state, "/var/lib/keystone/install/%s", spec.hostname);

        bool dry = cmd_flag(a, INSTALL_OPT_DRY_RUN);
        SshClient *client = NULL;
        ProbeReport *report = NULL;
        ProbeWants w = {};
        _cleanup_free_ uint8_t *pk = NULL;
        InstallRecord rec = {};
        InstallLocal local = {};
        RemoteInstall ri = {};
        const ProbeDisk *disk = NULL;
        RemotePlanInput in = { .host_path = path, .hostname = spec.hostname, .target = target, .wants = &w,
                               .phases = phases, .record = &rec, .state_dir = state,
                               .extra_files = cmd_opt(a, INSTALL_OPT_EXTRA_FILES),
                               .chown = cmd_opt(a, INSTALL_OPT_CHOWN) };
        if (!dry && (r = remote_confirm_possible(STDIN_FILENO, cmd_flag(a, INSTALL_OPT_YES), &err)) < 0) {
                log_error_errno(r, "%s", err);
                goto done;
        }
        if ((r = install_wants(c, &spec, state, &w, &pk)) < 0 || (r = install_record(a, state, &rec)) < 0)
                goto done;
        if (!dry && (r = install_ready(a, path, state, phases, &rec, &local)) != 0) {
                r = r > 0 ? 0 : r;
                goto done;
        }
        if ((r = install_survey(a, &t, state, phases, &rec, &w, &in, &client, &report, &disk)) < 0)
                goto done;
        if (dry) {
                printf("Dry run: nothing on %s was changed.\n", target);
                goto done;
        }
        if ((r = install_confirm(a, phases & ~rec.done, &in)) < 0)
                goto done;
        ri = (RemoteInstall) {
                .target = &t, .target_text = target, .client = client, .sudo = *t.user && !streq(t.user, "root"),
                .report = report, .disk = disk, .kexec_binary = local.kexec, .progress = progress,
                .extra_files = cmd_opt(a, INSTALL_OPT_EXTRA_FILES), .chown = cmd_opt(a, INSTALL_OPT_CHOWN),
                .secure_boot_later = sb != NULL,
                .prepare = { .host_abs = local.host_abs, .spec = &spec, .locked = local.locked, .state_dir = state,
                             .keystone = local.self, .who = "keystone install", .log_path = local.log,
                             .detail = detail },
        };
        r = install_run(a, &ri, phases, &rec, state);
        if (r >= 0 && ri.recovery_key)
                install_summary(&ri, &spec, &rec, state);
done:
        remote_install_done(&ri);
        ssh_client_free(ri.installer);
        probe_report_free(report);
        ssh_client_free(client);
        image_spec_done(&spec);
        config_free(c);
        return r;
}
