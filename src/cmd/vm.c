/* SPDX-License-Identifier: MIT */
/* keystone vm HOST.toml: the host installed into a blank VM with Secure Boot
 * and a TPM, the way a real machine is (src/install/vm-deploy.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/config-load.h"
#include "install/vm-deploy.h"
#include "util/progress.h"

static const char help[] =
        "Usage: keystone vm [OPTIONS] HOST.toml\n"
        "\n"
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
        "again.\n"
        "\n"
        "Options:\n"
        "      --state=DIR       default /var/lib/keystone/vm/HOSTNAME\n"
        "      --fresh           install again: new disk, UEFI variables and TPM (the\n"
        "                        Secure Boot and SSH keys are kept)\n"
        "      --disk-size=GIB   the blank disk's size in GiB (default 20, sparse)\n"
        "      --cpus=N          virtual CPUs of each VM, 1 to 16 (default: 2, or 1 on a\n"
        "                        one-core host); under TCG a second CPU shortens the\n"
        "                        machine's boots by about a third\n"
        "      --cache-dir=DIR   default $KEYSTONE_CACHE_DIR or /var/cache/keystone\n"
        "  -h, --help            this text\n";

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
        if (startswith(line, "keystone: warning: ")) {
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

int cmd_vm(int argc, char **argv) {
        static const struct option opts[] = {
                CMD_COMMON_OPTIONS,
                { "state", required_argument, NULL, 's' },
                { "fresh", no_argument, NULL, 'f' },
                { "disk-size", required_argument, NULL, 'd' },
                { "cache-dir", required_argument, NULL, 'c' },
                { "cpus", required_argument, NULL, 'C' },
                {}
        };
        const char *state = NULL, *cache = NULL;
        bool fresh = false;
        unsigned long long disk_bytes = 0;
        unsigned cpus = 0;
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(help);
                case 's':
                        state = optarg;
                        break;
                case 'f':
                        fresh = true;
                        break;
                case 'd': {
                        char *end = NULL;
                        unsigned long n = strtoul(optarg, &end, 10);
                        if (!*optarg || *end || n < 4 || n > 4096)
                                return cmd_usage_error("vm", "--disk-size: expected GiB from 4 to 4096, not '%s'",
                                                       optarg);
                        disk_bytes = (unsigned long long) n << 30;
                        break;
                }
                case 'c':
                        cache = optarg;
                        break;
                case 'C': {
                        char *end = NULL;
                        unsigned long n = strtoul(optarg, &end, 10);
                        if (!*optarg || *end || n < 1 || n > 16)
                                return cmd_usage_error("vm", "--cpus: expected 1 to 16, not '%s'", optarg);
                        cpus = (unsigned) n;
                        break;
                }
                default:
                        return cmd_usage_error("vm", "unknown option");
                }
        int r = cmd_check_args("vm", argc - optind);
        if (r < 0)
                return r;
        ImageSpec spec = {}; /* a bad host file stops here, as it does every command */
        if ((r = cmd_host_load(argv[optind], NULL, &spec)) < 0)
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

        VmDeployOptions o = { .host_path = argv[optind], .state_dir = state, .fresh = fresh, .keystone = self,
                              .cache_dir = cache, .disk_bytes = disk_bytes, .cpus = cpus,
                              .progress = progress, .detail = detail, .spec = &spec };
        VmDeployResult res = {};
        printf("keystone vm %s\n", argv[optind]);
        fflush(stdout);
        _cleanup_free_ char *error = NULL;
        r = vm_deploy(&o, &res, &error);
        vm_destroy_all();
        image_spec_done(&spec);
        if (r < 0) {
                log_error_errno(r, "keystone vm %s failed: %s", argv[optind], error);
                if (res.state_dir[0])
                        fprintf(stderr, "The state is in %s (logs/, installer/console.log, machine/console.log); "
                                        "run again to start the install over.\n", res.state_dir);
                vm_deploy_result_done(&res);
                return r;
        }
        if (res.recovery_key) {
                printf("\nRecovery key for the credstore of %s (shown only now; also in %s/recovery-key, 0600).\n"
                       "Store it somewhere safe: it unlocks the disk when the TPM will not.\n\n    %s\n",
                       res.hostname, res.state_dir, res.recovery_key);
        }
        char t[32];
        printf("\n%s, measured in the last boot:\n", res.hostname);
        printf("  Secure Boot:     %s (keystone secureboot status in the guest: SecureBoot %s, SetupMode %s)\n",
               res.secure_boot && res.user_mode ? "enabled, user mode" : "NOT enabled",
               res.secure_boot ? "enabled" : "disabled", res.user_mode ? "0 (user mode)" : "1");
        printf("  credstore:       %s\n", res.tpm_line[0] ? res.tpm_line : "(not seen)");
        printf("  encryptionroot:  %s\n", res.encroot_line[0] ? res.encroot_line : "(not seen)");
        printf("  root:            %s\n", res.root_line);
        printf("  SSH:             %s\n", res.ssh_line);
        printf("  time:\n");
        for (int s = 0; s < _VM_STAGE_MAX; s++) {
                if (!res.ran[s])
                        continue;
                progress_format_seconds(res.seconds[s], t, sizeof t);
                printf("    %-12s %s\n", vm_deploy_stage_name(s), t);
        }
        progress_format_seconds(res.total_seconds, t, sizeof t);
        printf("    %-12s %s\n", "total", t);
        printf("State: %s (run `keystone vm %s --state %s` to boot it again)\n", res.state_dir, argv[optind],
               res.state_dir);
        vm_deploy_result_done(&res);
        return 0;
}
