/* SPDX-License-Identifier: MIT */
/* keystone vm HOST.toml: the host installed into a blank VM with Secure Boot
 * and a TPM, the way a real machine is (src/install/vm-deploy.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/config-load.h"
#include "cmd/image-common.h"
#include "install/vm-deploy.h"
#include "util/progress.h"

const char vm_description[] =
        "Install the host into a blank virtual machine (qemu under TCG, UEFI firmware\n"
        "with Secure Boot in setup mode, a software TPM, one blank disk) and prove\n"
        "that it comes up unlocking itself:\n"
        "  1 keys        the owner's Secure Boot keys (the host's secure-boot.key-dir\n"
        "                when it has them, else new ones) and an SSH key for this VM\n"
        "  2 build       keystone build: the generation, signed, with the VM's SSH key\n"
        "                added to every user (its steps shown as they run)\n"
        "  3 installer   the installer UKI (the generation's kernel, an initrd with\n"
        "                keystone, ZFS and sshd, this VM's SSH key; runs in RAM) on a\n"
        "                small ESP image, the build on a second disk image, a blank\n"
        "                20 GiB sparse disk\n"
        "  4 install     the VM boots the installer UKI; over SSH as root: keystone\n"
        "                disk apply, keystone disk install, keystone secureboot enroll\n"
        "                (the firmware leaves setup mode), power off\n"
        "  5 first-boot  the disk boots alone; the install secret is typed at the\n"
        "                console prompt; keystone tpm enroll (the host file's tpm.pcrs\n"
        "                and tpm.bind-pcr15; skipped when tpm.enable = false) and\n"
        "                keystone tpm recovery (the recovery key is printed once and\n"
        "                kept in the state); then the install secret is removed: its\n"
        "                keyslot, the machine's copy and the state's\n"
        "  6 verify      reboot: the TPM opens the credstore with no input (with\n"
        "                tpm.enable = false the recovery key is typed), every\n"
        "                encryptionroot is checked, Secure Boot is on in user mode, SSH\n"
        "                logs in; then the machine is powered off\n"
        "The state directory (0700) keeps the keys, the recovery key, the disk, the UEFI\n"
        "variables and the TPM; run again, the installed machine is booted and checked\n"
        "again.";

static void on_signal(int sig) {
        vm_kill_all_from_signal();
        signal(sig, SIG_DFL);
        raise(sig);
}

static void progress(void *userdata, VmDeployStage s, bool done, int r, double seconds, const char *log) {
        progress_disable();
        if (!done) {
                printf("[%d/%d] %-10s ... (log: %s)\n", (int) s + 1, _VM_STAGE_MAX, vm_deploy_stage_name(s), log);
        } else
                printf("[%d/%d] %-10s ... %s (%.1f s)\n", (int) s + 1, _VM_STAGE_MAX, vm_deploy_stage_name(s),
                       r < 0 ? "FAILED" : "ok", seconds);
        fflush(stdout);
        /* the build's steps under its line: one updating line on a terminal */
        if (!done && s == VM_STAGE_BUILD)
                progress_enable(stdout, NULL);
}

static void detail(void *userdata, VmDeployStage s, const char *line) {
        if (startswith(line, "keystone build: warning: ") || startswith(line, "keystone: warning: ")) {
                /* a warning stays on the screen */
                progress_disable();
                printf("      %s\n", line);
                progress_enable(stdout, NULL);
                return;
        }
        char text[512];
        snprintf(text, sizeof text, "      %s", line);
        progress_line(text);
}

/* What the last boot measured, and how long each stage took. */
static void print_result(const VmDeployResult *res, const char *host) {
        if (res->recovery_key) {
                printf("\nRecovery key for the credstore of %s (shown only now; also in %s/recovery-key, 0600).\n"
                       "Store it somewhere safe: it unlocks the disk when the TPM will not.\n\n    %s\n",
                       res->hostname, res->state_dir, res->recovery_key);
        }
        char t[32];
        printf("\n%s, measured in the last boot:\n", res->hostname);
        printf("  Secure Boot:     %s (keystone secureboot status in the guest: SecureBoot %s, SetupMode %s)\n",
               res->secure_boot && res->user_mode ? "enabled, user mode" : "NOT enabled",
               res->secure_boot ? "enabled" : "disabled", res->user_mode ? "0 (user mode)" : "1");
        printf("  credstore:       %s\n", res->tpm_line[0] ? res->tpm_line : "(not seen)");
        printf("  encryptionroot:  %s\n", res->encroot_line[0] ? res->encroot_line : "(not seen)");
        printf("  root:            %s\n", res->root_line);
        printf("  SSH:             %s\n", res->ssh_line);
        printf("  time:\n");
        for (int s = 0; s < _VM_STAGE_MAX; s++) {
                if (!res->ran[s])
                        continue;
                progress_format_seconds(res->seconds[s], t, sizeof t);
                printf("    %-12s %s\n", vm_deploy_stage_name(s), t);
        }
        progress_format_seconds(res->total_seconds, t, sizeof t);
        printf("    %-12s %s\n", "total", t);
        printf("State: %s (run `keystone vm %s --state %s` to boot it again)\n", res->state_dir, host,
               res->state_dir);
}

int cmd_vm(const CmdArgs *a) {
        uint64_t disk_gib = 0, cpus = 0;
        int r = cmd_opt_uint_range(a, IMAGE_OPT_DISK_SIZE, 4, 4096, &disk_gib);
        if (r >= 0)
                r = cmd_opt_uint_range(a, IMAGE_OPT_CPUS, 1, 16, &cpus);
        if (r < 0)
                return r;
        const char *host = a->args[0];
        ImageSpec spec = {}; /* a bad host file stops here, as it does every command */
        if ((r = cmd_host_load(host, NULL, &spec)) < 0)
                return r;
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n < 0) {
                r = -errno;
                image_spec_done(&spec);
                return log_error_errno(r, "Cannot find this keystone binary (/proc/self/exe): %m");
        }
        self[n] = 0;
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGHUP, on_signal);
        signal(SIGPIPE, SIG_IGN);

        VmDeployOptions o = { .host_path = host, .state_dir = cmd_opt(a, IMAGE_OPT_STATE),
                              .fresh = cmd_flag(a, IMAGE_OPT_FRESH), .keystone = self,
                              .cache_dir = cmd_opt(a, IMAGE_OPT_CACHE_DIR), .disk_bytes = disk_gib << 30,
                              .cpus = (unsigned) cpus, .progress = progress, .detail = detail,
                              .spec = &spec };
        VmDeployResult res = {};
        printf("keystone vm %s\n", host);
        fflush(stdout);
        _cleanup_free_ char *error = NULL;
        r = vm_deploy(&o, &res, &error);
        vm_destroy_all();
        image_spec_done(&spec);
        if (r < 0) {
                log_error_errno(r, "Installing %s into the VM failed: %s", host, error ? error : strerror(-r));
                if (res.state_dir[0])
                        fprintf(stderr, "The state is in %s (logs/, installer/console.log, machine/console.log); "
                                        "run again to start the install over.\n", res.state_dir);
                vm_deploy_result_done(&res);
                return r;
        }
        print_result(&res, host);
        vm_deploy_result_done(&res);
        return 0;
}
