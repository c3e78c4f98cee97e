/* SPDX-License-Identifier: MIT */
/* keystone install HOST.toml --target [USER@]ADDRESS[:PORT]: install a host
 * onto a machine reached over SSH (install/remote.h).  This step: connect
 * (the host key checked), probe, refuse what cannot be installed, print the
 * plan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/config-load.h"
#include "install/phases.h"
#include "install/probe.h"
#include "install/remote.h"
#include "install/ssh.h"
#include "secureboot/keys.h"
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
        "This version probes and plans (--dry-run); the phases that change the\n"
        "machine follow.";

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
                         ProbeReport **ret) {
        const char *target = cmd_opt(a, INSTALL_OPT_TARGET);
        _cleanup_free_ char *err = NULL;
        bool sudo = *t->user && !streq(t->user, "root");
        int r = remote_probe(c, sudo, target, ret, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err ? err : strerror(-r));
        const char *sb = cmd_opt(a, INSTALL_OPT_SECURE_BOOT);
        ProbeOptions po = { .force = cmd_flag(a, INSTALL_OPT_FORCE), .no_tpm = cmd_flag(a, INSTALL_OPT_NO_TPM),
                            .secure_boot_later = sb != NULL };
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

        SshClient *client = NULL;
        ProbeReport *report = NULL;
        ProbeWants w = {};
        _cleanup_free_ uint8_t *pk = NULL;
        _cleanup_free_ char *plan = NULL;
        InstallRecord rec = {};
        if ((r = install_wants(c, &spec, state, &w, &pk)) < 0 || (r = install_record(a, state, &rec)) < 0 ||
            (r = install_connect(a, &t, &client)) < 0 || (r = install_probe(a, client, &t, &w, &report)) < 0)
                goto done;
        RemotePlanInput in = { .host_path = path, .hostname = spec.hostname, .target = target, .report = report,
                               .wants = &w, .phases = phases, .record = &rec, .state_dir = state,
                               .extra_files = cmd_opt(a, INSTALL_OPT_EXTRA_FILES),
                               .chown = cmd_opt(a, INSTALL_OPT_CHOWN) };
        if ((r = remote_plan_format(&in, &plan, &err)) < 0) {
                log_error_errno(r, "%s", err ? err : strerror(-r));
                goto done;
        }
        fputs(plan, stdout);
        if (cmd_flag(a, INSTALL_OPT_DRY_RUN))
                printf("Dry run: nothing on %s was changed.\n", target);
        else
                r = log_error_errno(-EOPNOTSUPP, "%s can be installed, but this version of keystone install only "
                                                 "probes and plans: run it with --dry-run (the phases that change "
                                                 "the machine follow)", target);
done:
        probe_report_free(report);
        ssh_client_free(client);
        image_spec_done(&spec);
        config_free(c);
        return r;
}
