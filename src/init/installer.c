/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init/installer.h"
#include "util/clock.h"
#include "util/macro.h"
#include "util/run.h"
#include "util/spawn.h"

#define HOST_KEY "/etc/ssh/ssh_host_ed25519_key"
#define SSHD_CONFIG "/etc/keystone-installer/sshd_config"
/* sshd's log (every login, every refusal) on the console: the installer
 * has no other place an operator could read it */
#define SSHD_LOG "/dev/console"

typedef struct Step {
        FILE *console;
        const char *name;
        double t0;
        bool dry;
} Step;

/* A dry run prints the step's programs first, then its line. */
static Step step_begin(FILE *console, const char *name, bool dry) {
        if (!dry) {
                fprintf(console, "[installer] %s ... ", name);
                fflush(console);
        }
        return (Step) { console, name, monotonic_seconds(), dry };
}

static int step_end(const Step *s, int r, const char *fmt, ...) _printf_(3, 4);
static int step_end(const Step *s, int r, const char *fmt, ...) {
        if (s->dry)
                fprintf(s->console, "[installer] %s ... ", s->name);
        fprintf(s->console, "%s (%.2f s): ", r < 0 ? "failed" : "ok", monotonic_seconds() - s->t0);
        va_list ap;
        va_start(ap, fmt);
        vfprintf(s->console, fmt, ap);
        va_end(ap);
        fputc('\n', s->console);
        fflush(s->console);
        return r;
}

/* Runs argv (or, dry, prints it); on failure *why describes it. */
static int run_step(const char *const *argv, bool dry, FILE *console, char *why, size_t why_size, RunResult *keep) {
        if (dry) {
                fprintf(console, "  (dry run)");
                for (const char *const *a = argv; *a; a++)
                        fprintf(console, " %s", **a ? *a : "''");
                fputc('\n', console);
                return 0;
        }
        RunResult res = {};
        int r = run(argv, &(RunOptions) { .timeout_ms = 60000 }, &res);
        if (r < 0)
                snprintf(why, why_size, "%s: %s", argv[0], r == -EPROTO ? run_result_describe(&res) : strerror(-r));
        if (keep && r >= 0)
                *keep = res;
        else
                run_result_done(&res);
        return r;
}

/* Whether the interface name in dir (ROOT/sys/class/net) is the one the
 * command line asks for: by name, by hardware address, or (neither given)
 * the first in name order that is not lo. */
static bool interface_wanted(const InitConfig *cfg, const char *dir, const char *name, bool found, const char *best) {
        if (*cfg->installer_interface)
                return streq(name, cfg->installer_interface);
        if (*cfg->installer_mac) {
                char path[4400], mac[64] = "";
                snprintf(path, sizeof path, "%s/%s/address", dir, name);
                FILE *f = fopen(path, "re");
                if (!f)
                        return false;
                bool ok = fgets(mac, sizeof mac, f) != NULL;
                fclose(f);
                mac[strcspn(mac, "\n")] = 0;
                return ok && strcasecmp(mac, cfg->installer_mac) == 0;
        }
        return !found || strcmp(name, best) < 0;
}

/* The interface the command line names (keystone.installer.interface or
 * .mac), or the first one in /sys/class/net that is not lo (drivers may
 * still be probing: up to 10 s). */
static int find_interface(const InitConfig *cfg, const char *root, bool dry, char *out, size_t size) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/sys/class/net", root);
        for (int waited = 0;; waited += 100) {
                DIR *d = opendir(dir);
                struct dirent *de;
                bool found = false;
                while (d && (de = readdir(d))) {
                        if (de->d_name[0] == '.' || streq(de->d_name, "lo"))
                                continue;
                        if (interface_wanted(cfg, dir, de->d_name, found, out)) {
                                snprintf(out, size, "%s", de->d_name);
                                found = true;
                        }
                }
                if (d)
                        closedir(d);
                if (found)
                        return 0;
                if (dry || waited >= 10000)
                        return -ENODEV;
                nanosleep(&(struct timespec) { 0, 100 * 1000000 }, NULL);
        }
}

static int step_network(const InitConfig *cfg, const char *root, bool dry, FILE *console) {
        Step s = step_begin(console, "network", dry);
        char ifname[64] = "", why[600] = "";
        int r = find_interface(cfg, root, dry, ifname, sizeof ifname);
        if (r < 0) {
                if (*cfg->installer_interface)
                        return step_end(&s, r, "no network interface %s (keystone.installer.interface); the "
                                        "kernel has no driver for it, or it has another name (see ip link)",
                                        cfg->installer_interface);
                if (*cfg->installer_mac)
                        return step_end(&s, r, "no network interface with the hardware address %s "
                                        "(keystone.installer.mac) after 10 s: the kernel has no driver for that "
                                        "card (see ip link)", cfg->installer_mac);
                return step_end(&s, r, "no network interface besides lo after 10 s: the kernel has no driver for "
                                "the machine's network card (the installer loads virtio_net, e1000e, e1000, igb, "
                                "r8169)");
        }
        const char *lo[] = { "ip", "link", "set", "dev", "lo", "up", NULL };
        const char *up[] = { "ip", "link", "set", "dev", ifname, "up", NULL };
        const char *addr[] = { "ip", "address", "add", cfg->installer_address, "dev", ifname, NULL };
        const char *route[] = { "ip", "route", "add", "default", "via", cfg->installer_gateway, "dev", ifname, NULL };
        const char *const *cmds[] = { lo, up, addr, *cfg->installer_gateway ? route : NULL };
        for (size_t i = 0; i < ELEMENTSOF(cmds); i++)
                if (cmds[i] && (r = run_step(cmds[i], dry, console, why, sizeof why, NULL)) < 0)
                        return step_end(&s, r, "%s", why);
        return step_end(&s, 0, "%s %s%s%s", ifname, cfg->installer_address, *cfg->installer_gateway ? ", via " : "",
                        cfg->installer_gateway);
}

/* The host key: the one the UKI brought (keystone install makes it on the
 * operator's side and pins it, so the first connection is verified), or
 * else a new one. */
static int step_host_key(const char *root, bool dry, FILE *console) {
        Step s = step_begin(console, "ssh-host-key", dry);
        char why[600] = "", path[4200];
        snprintf(path, sizeof path, "%s" HOST_KEY, root);
        bool given = access(path, F_OK) == 0;
        if (!given && !dry && mkdir("/etc/ssh", 0755) < 0 && errno != EEXIST)
                return step_end(&s, -errno, "cannot create /etc/ssh: %s", strerror(errno));
        const char *gen[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "keystone-installer", "-f",
                              HOST_KEY, NULL };
        int r = given ? 0 : run_step(gen, dry, console, why, sizeof why, NULL);
        if (r < 0)
                return step_end(&s, r, "%s", why);
        if (given && !dry && chmod(HOST_KEY, 0600) < 0)
                return step_end(&s, -errno, "chmod 0600 %s failed: %s", HOST_KEY, strerror(errno));
        const char *fpr[] = { "ssh-keygen", "-l", "-f", HOST_KEY ".pub", NULL };
        RunResult res = {};
        if ((r = run_step(fpr, dry, console, why, sizeof why, &res)) < 0)
                return step_end(&s, r, "%s", why);
        const char *out = dry ? "(dry run)" : res.out ? res.out : "";
        r = step_end(&s, 0, "%.*s%s", (int) strcspn(out, "\n"), out, given ? " (the key this UKI brought)" : "");
        run_result_done(&res);
        return r;
}

static int start_sshd(pid_t *ret) {
        const char *argv[] = { "/usr/sbin/sshd", "-D", "-e", "-f", SSHD_CONFIG, NULL };
        return spawn_background(argv, &(SpawnOptions) { .log_path = SSHD_LOG }, ret);
}

static int step_sshd(const InitConfig *cfg, bool dry, FILE *console, pid_t *ret) {
        Step s = step_begin(console, "sshd", dry);
        if (dry) {
                fprintf(console, "  (dry run) /usr/sbin/sshd -D -e -f " SSHD_CONFIG "\n");
                return step_end(&s, 0, "root by key");
        }
        static const struct { const char *path; mode_t mode; } dirs[] = {
                { "/run/sshd", 0755 }, { "/root", 0700 }, { "/var", 0755 }, { "/var/tmp", 01777 },
        };
        /* the initramfs's / is world-writable, and sshd (StrictModes) then
         * refuses every key below it */
        if (chmod("/", 0755) < 0)
                return step_end(&s, -errno, "chmod 0755 / failed: %s", strerror(errno));
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (mkdir(dirs[i].path, dirs[i].mode) < 0 && errno != EEXIST)
                        return step_end(&s, -errno, "cannot create %s: %s", dirs[i].path, strerror(errno));
        if (access("/etc/keystone-installer/authorized_keys", R_OK) < 0)
                return step_end(&s, -ENOKEY, "no /etc/keystone-installer/authorized_keys in the initrd: this UKI "
                                "carries no operator key, so nobody could log in (build it with keystone vm)");
        int r = start_sshd(ret);
        if (r < 0)
                return step_end(&s, r, "cannot start /usr/sbin/sshd: %s", strerror(-r));
        /* a configuration error ends it at once */
        nanosleep(&(struct timespec) { 0, 300 * 1000000 }, NULL);
        int status = 0;
        if (spawn_poll(*ret, &status) == 1)
                return step_end(&s, -EIO, "sshd ended at once (status %d); its reason is above", status);
        char addr[INIT_NAME_MAX];
        snprintf(addr, sizeof addr, "%s", cfg->installer_address);
        addr[strcspn(addr, "/")] = 0;
        return step_end(&s, 0, "root@%s by key only (pid %d, its log on this console)", addr, (int) *ret);
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
                                        if (restarts++ < 5 && start_sshd(&sshd) < 0)
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
        Step s = step_begin(console, "efivarfs", dry);
        if (dry)
                step_end(&s, 0, "(dry run) mount efivarfs on /sys/firmware/efi/efivars");
        else if (access("/sys/firmware/efi", F_OK) < 0)
                step_end(&s, 0, "not an EFI boot: keystone secureboot enroll will not work here");
        else if (mount("efivarfs", "/sys/firmware/efi/efivars", "efivarfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       NULL) < 0 && errno != EBUSY)
                step_end(&s, -errno, "mounting efivarfs on /sys/firmware/efi/efivars: %s; keystone secureboot "
                         "enroll will not work", strerror(errno));
        else
                step_end(&s, 0, "/sys/firmware/efi/efivars");
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
