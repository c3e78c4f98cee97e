/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init/initrd-ssh.h"
#include "init/network.h"
#include "init/sshd.h"
#include "init/step-line.h"
#include "init/unlock.h"
#include "util/error-message.h"
#include "util/file-bytes.h"
#include "util/fs.h"
#include "util/macro.h"

#define PREFIX "keystone-init"

/* root by key, nobody else; no PAM (the initrd has no PAM stack); nothing
 * forwarded: the session is for `keystone-init --unlock`. */
static const char sshd_config_fmt[] =
        "# Written by keystone-init: sshd for unlocking over SSH in the initrd (docs/init.md).\n"
        "HostKey " INITRD_SSH_HOST_KEY "\n"
        "AuthorizedKeysFile " INITRD_SSH_AUTHORIZED_KEYS "\n"
        "ListenAddress %s\n"
        "AllowUsers root\n"
        "PermitRootLogin prohibit-password\n"
        "PubkeyAuthentication yes\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "DisableForwarding yes\n"
        "PermitTunnel no\n"
        "PermitUserEnvironment no\n"
        "PrintMotd no\n"
        "PidFile " INITRD_SSH_PID_FILE "\n"
        /* `keystone-init --unlock` in the session finds the initrd's keystone-init */
        "SetEnv PATH=/usr/lib/keystone:/usr/sbin:/usr/bin:/sbin:/bin\n";

/* Our lines come in the middle of a boot step's line (auto: in step 2). */
static void own_line(InitContext *c) {
        if (c->line_open && !c->line_broken)
                fputc('\n', c->console);
        if (c->line_open)
                c->line_broken = true;
}

static int write_config(InitContext *c, char **ret_error) {
        char path[4200], text[2048];
        snprintf(path, sizeof path, "%s" INITRD_SSH_CONFIG, c->root);
        int r = mkdir_parents(path, 0700, ret_error);
        if (r < 0)
                return r;
        snprintf(text, sizeof text, sshd_config_fmt, c->ssh_address);
        (void) unlink(path);
        r = write_file_bytes_excl(path, text, strlen(text), 0600);
        if (r < 0)
                return error_set(ret_error, r, "cannot write %s: %s", path, strerror(-r));
        return 0;
}

int init_ssh_start(InitContext *c) {
        if (c->ssh_on)
                return 0;
        own_line(c);
        const InitNetwork *net = &c->cfg.initrd_ssh_net;
        snprintf(c->ssh_address, sizeof c->ssh_address, "%.*s", (int) strcspn(net->address, "/"), net->address);
        const char *need[] = { INITRD_SSH_HOST_KEY, INITRD_SSH_AUTHORIZED_KEYS };
        for (size_t i = 0; i < ELEMENTSOF(need); i++) {
                char path[4200];
                snprintf(path, sizeof path, "%s%s", c->root, need[i]);
                if (access(path, R_OK) == 0)
                        continue;
                int k = errno;
                InitStepLine s = init_step_line_begin(c->console, PREFIX, "initrd-ssh sshd", c->dry);
                return init_step_line_end(&s, -ENOKEY, "refused: %s is not in the initrd (%s), so nobody could %s; "
                                          "unlocking over SSH is off in this boot, the console prompt still works "
                                          "(docs/init.md says what the initrd must hold)", need[i], strerror(k),
                                          i == 0 ? "trust this machine's SSH host key" : "log in");
        }
        InitStepLine s = init_step_line_begin(c->console, PREFIX, "initrd-ssh network", c->dry);
        _cleanup_free_ char *e = NULL;
        char ifname[64] = "";
        int r = init_network_up(net, "keystone.initrd-ssh", c->root, c->dry, c->console, ifname, sizeof ifname, &e);
        if (*ifname && r >= 0)
                snprintf(c->ssh_ifname, sizeof c->ssh_ifname, "%s", ifname);
        if (r < 0)
                return init_step_line_end(&s, r, "%s; unlocking over SSH is off in this boot, the console prompt "
                                          "still works", e ? e : strerror(-r));
        init_step_line_end(&s, 0, "%s %s%s%s", ifname, net->address, *net->gateway ? ", via " : "", net->gateway);

        s = init_step_line_begin(c->console, PREFIX, "initrd-ssh sshd", c->dry);
        char key[4200];
        snprintf(key, sizeof key, "%s" INITRD_SSH_HOST_KEY, c->root);
        /* sshd refuses a private key others may read */
        if ((r = write_config(c, &e)) < 0 || (!c->dry && chmod(key, 0600) < 0 && (r = -errno) < 0))
                return init_step_line_end(&s, r, "%s; the console prompt still works", e ? e : strerror(-r));
        if (c->dry)
                fprintf(c->console, "  (dry run) " INIT_SSHD " -D -e -f " INITRD_SSH_CONFIG "\n");
        else if ((r = init_sshd_start(INITRD_SSH_CONFIG, &c->sshd, &e)) < 0)
                return init_step_line_end(&s, r, "%s; the console prompt still works", e ? e : strerror(-r));
        c->ssh_on = true;
        char pid[32] = "";
        if (!c->dry)
                snprintf(pid, sizeof pid, "pid %d, ", (int) c->sshd);
        init_step_line_end(&s, 0, "root@%s by key only (%sits log on this console); unlock with: ssh -t root@%s "
                           "keystone-init --unlock", c->ssh_address, pid, c->ssh_address);
        return 0;
}

void init_ssh_stop(InitContext *c) {
        if (!c->ssh_on && !*c->ssh_ifname)
                return;
        own_line(c);
        InitStepLine s = init_step_line_begin(c->console, PREFIX, "initrd-ssh stop", c->dry);
        char sshd[64] = "", path[4200];
        if (c->dry && c->ssh_on)
                fprintf(c->console, "  (dry run) stop sshd and its sessions (SIGTERM, after 3 s SIGKILL)\n");
        else if (c->sshd > 0) {
                int r = init_sshd_stop(c->sshd, 3000);
                snprintf(sshd, sizeof sshd, r < 0 ? "sshd (pid %d) not stopped: %s, " : "sshd (pid %d) ended, ",
                         (int) c->sshd, strerror(-r));
        }
        c->sshd = 0;
        c->ssh_on = false;
        /* what the real system finds in /run: nothing of ours */
        static const char *const leftovers[] = { INITRD_SSH_CONFIG, INITRD_SSH_PID_FILE };
        for (size_t i = 0; i < ELEMENTSOF(leftovers); i++) {
                snprintf(path, sizeof path, "%s%s", c->root, leftovers[i]);
                (void) unlink(path);
        }
        snprintf(path, sizeof path, "%s" INIT_UNLOCK_DIR, c->root);
        (void) rmdir(path);
        _cleanup_free_ char *e = NULL;
        int r = *c->ssh_ifname ? init_network_down(c->ssh_ifname, c->dry, c->console, &e) : 0;
        if (r < 0)
                init_step_line_end(&s, r, "%s%s", sshd, e ? e : strerror(-r));
        else
                init_step_line_end(&s, 0, "%s%s%s: port 22 is left to the real system's sshd", sshd,
                                   *c->ssh_ifname ? c->ssh_ifname : "no interface was up",
                                   *c->ssh_ifname ? " down" : "");
        *c->ssh_ifname = 0;
}
