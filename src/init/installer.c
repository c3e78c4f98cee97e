/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init/installer.h"
#include "init/network.h"
#include "init/sshd.h"
#include "init/step-line.h"
#include "util/macro.h"
#include "util/run.h"
#include "util/spawn.h"

#define HOST_KEY "/etc/ssh/ssh_host_ed25519_key"
#define SSHD_CONFIG "/etc/keystone-installer/sshd_config"
#define STEP(name) init_step_line_begin(console, "installer", name, dry)

/* Runs argv (or, dry, prints it); on failure *why describes it. */
static int run_step(const char *const *argv, bool dry, FILE *console, char *why, size_t why_size, RunResult *keep) {
        _cleanup_free_ char *e = NULL;
        int r = init_run_or_print(argv, dry, console, keep, &e);
        if (r < 0)
                snprintf(why, why_size, "%s", e ? e : strerror(-r));
        return r;
}

static int step_network(const InitConfig *cfg, const char *root, bool dry, FILE *console) {
        InitStepLine s = STEP("network");
        const InitNetwork *net = &cfg->installer_net;
        char ifname[64] = "";
        _cleanup_free_ char *e = NULL;
        int r = init_network_up(net, "keystone.installer", root, dry, console, ifname, sizeof ifname, &e);
        if (r < 0)
                return init_step_line_end(&s, r, "%s", e ? e : strerror(-r));
        return init_step_line_end(&s, 0, "%s %s%s%s", ifname, net->address, *net->gateway ? ", via " : "",
                                  net->gateway);
}

/* The host key: the one the UKI brought (keystone install makes it on the
 * operator's side and pins it, so the first connection is verified), or
 * else a new one. */
static int step_host_key(const char *root, bool dry, FILE *console) {
        InitStepLine s = STEP("ssh-host-key");
        char why[600] = "", path[4200];
        snprintf(path, sizeof path, "%s" HOST_KEY, root);
        bool given = access(path, F_OK) == 0;
        if (!given && !dry && mkdir("/etc/ssh", 0755) < 0 && errno != EEXIST)
                return init_step_line_end(&s, -errno, "cannot create /etc/ssh: %s", strerror(errno));
        const char *gen[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "keystone-installer", "-f",
                              HOST_KEY, NULL };
        int r = given ? 0 : run_step(gen, dry, console, why, sizeof why, NULL);
        if (r < 0)
                return init_step_line_end(&s, r, "%s", why);
        if (given && !dry && chmod(HOST_KEY, 0600) < 0)
                return init_step_line_end(&s, -errno, "chmod 0600 %s failed: %s", HOST_KEY, strerror(errno));
        const char *fpr[] = { "ssh-keygen", "-l", "-f", HOST_KEY ".pub", NULL };
        RunResult res = {};
        if ((r = run_step(fpr, dry, console, why, sizeof why, &res)) < 0)
                return init_step_line_end(&s, r, "%s", why);
        const char *out = dry ? "(dry run)" : res.out ? res.out : "";
        r = init_step_line_end(&s, 0, "%.*s%s", (int) strcspn(out, "\n"), out, given ? " (the key this UKI brought)" : "");
        run_result_done(&res);
        return r;
}

static int step_sshd(const InitConfig *cfg, bool dry, FILE *console, pid_t *ret) {
        InitStepLine s = STEP("sshd");
        if (dry) {
                fprintf(console, "  (dry run) " INIT_SSHD " -D -e -f " SSHD_CONFIG "\n");
                return init_step_line_end(&s, 0, "root by key");
        }
        if (access("/etc/keystone-installer/authorized_keys", R_OK) < 0)
                return init_step_line_end(&s, -ENOKEY, "no /etc/keystone-installer/authorized_keys in the initrd: "
                                          "this UKI carries no operator key, so nobody could log in (build it "
                                          "with keystone vm)");
        _cleanup_free_ char *e = NULL;
        int r = init_sshd_start(SSHD_CONFIG, ret, &e);
        if (r < 0)
                return init_step_line_end(&s, r, "%s", e ? e : strerror(-r));
        char addr[INIT_NAME_MAX];
        snprintf(addr, sizeof addr, "%s", cfg->installer_net.address);
        addr[strcspn(addr, "/")] = 0;
        return init_step_line_end(&s, 0, "root@%s by key only (pid %d, its log on this console)", addr, (int) *ret);
}

/* PID 1 from here on: children are reaped, signals end the machine. */
static _Noreturn void serve(pid_t sshd, FILE *console) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigaddset(&set, SIGUSR2);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigprocmask(SIG_BLOCK, &set, NULL);
        (void) reboot(RB_DISABLE_CAD); /* Ctrl-Alt-Del: SIGINT to us */
        fprintf(console, "keystone-installer: ready. `kill -USR2 1` powers off, `kill -TERM 1` reboots.\n");
        fflush(console);
        unsigned restarts = 0;
        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&set, &si);
                if (sig == SIGCHLD) {
                        pid_t p;
                        int status;
                        while ((p = waitpid(-1, &status, WNOHANG)) > 0)
                                if (p == sshd) {
                                        fprintf(console, "keystone-installer: sshd ended (status %d)%s\n", status,
                                                restarts < 5 ? "; starting it again" : "; not again (5 restarts)");
                                        sshd = 0;
                                        if (restarts++ < 5 && init_sshd_spawn(SSHD_CONFIG, &sshd) < 0)
                                                sshd = 0;
                                }
                        continue;
                }
                if (sig != SIGUSR2 && sig != SIGTERM && sig != SIGINT)
                        continue;
                bool off = sig == SIGUSR2;
                fprintf(console, "keystone-installer: %s\n", off ? "powering off" : "rebooting");
                fflush(console);
                if (sshd > 0)
                        (void) spawn_stop(sshd, 2000);
                sync();
                (void) umount2("/sys/firmware/efi/efivars", MNT_DETACH);
                (void) reboot(off ? RB_POWER_OFF : RB_AUTOBOOT);
                fprintf(console, "keystone-installer: reboot(2) failed: %s\n", strerror(errno));
        }
}

int init_installer_run(const InitConfig *cfg, const char *root, bool dry, FILE *console) {
        InitStepLine s = STEP("efivarfs");
        if (dry)
                init_step_line_end(&s, 0, "(dry run) mount efivarfs on /sys/firmware/efi/efivars");
        else if (access("/sys/firmware/efi", F_OK) < 0)
                init_step_line_end(&s, 0, "not an EFI boot: keystone secureboot enroll will not work here");
        else if (mount("efivarfs", "/sys/firmware/efi/efivars", "efivarfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       NULL) < 0 && errno != EBUSY)
                init_step_line_end(&s, -errno, "mounting efivarfs on /sys/firmware/efi/efivars: %s; keystone secureboot "
                         "enroll will not work", strerror(errno));
        else
                init_step_line_end(&s, 0, "/sys/firmware/efi/efivars");
        int r = step_network(cfg, root, dry, console);
        if (r < 0)
                return r;
        if ((r = step_host_key(root, dry, console)) < 0)
                return r;
        pid_t sshd = 0;
        if ((r = step_sshd(cfg, dry, console, &sshd)) < 0)
                return r;
        if (dry)
                return 0;
        serve(sshd, console);
}
