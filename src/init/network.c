/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "init/network.h"
#include "init/step-line.h"
#include "util/error-message.h"
#include "util/macro.h"

/* Whether the interface name in dir (ROOT/sys/class/net) is the one net
 * asks for: by name, by hardware address, or (neither given) the first in
 * name order that is not lo. */
static bool interface_wanted(const InitNetwork *net, const char *dir, const char *name, bool found, const char *best) {
        if (*net->interface)
                return streq(name, net->interface);
        if (*net->mac) {
                char path[4400], mac[64] = "";
                snprintf(path, sizeof path, "%s/%s/address", dir, name);
                _cleanup_fclose_ FILE *f = fopen(path, "re");
                if (!f || !fgets(mac, sizeof mac, f))
                        return false;
                mac[strcspn(mac, "\n")] = 0;
                return strcasecmp(mac, net->mac) == 0;
        }
        return !found || strcmp(name, best) < 0;
}

static int find_interface(const InitNetwork *net, const char *root, bool dry, char *out, size_t size) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/sys/class/net", root);
        for (int waited = 0;; waited += 100) {
                DIR *d = opendir(dir);
                struct dirent *de;
                bool found = false;
                while (d && (de = readdir(d))) {
                        if (de->d_name[0] == '.' || streq(de->d_name, "lo"))
                                continue;
                        if (interface_wanted(net, dir, de->d_name, found, out)) {
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

int init_network_up(const InitNetwork *net, const char *prefix, const char *root, bool dry, FILE *out,
                    char *ifname, size_t size, char **ret_error) {
        int r = find_interface(net, root, dry, ifname, size);
        if (r < 0) {
                if (*net->interface)
                        return error_set(ret_error, r, "no network interface %s (%s.interface); the kernel has no "
                                         "driver for it, or it has another name (see ip link)", net->interface,
                                         prefix);
                if (*net->mac)
                        return error_set(ret_error, r, "no network interface with the hardware address %s "
                                         "(%s.mac) after 10 s: the kernel has no driver for that card (see ip link)",
                                         net->mac, prefix);
                return error_set(ret_error, r, "no network interface besides lo after 10 s: the kernel has no "
                                 "driver for the machine's network card (the installer loads virtio_net, e1000e, "
                                 "e1000, igb, r8169; the boot flow those in /etc/keystone-init/modules)");
        }
        const char *lo[] = { "ip", "link", "set", "dev", "lo", "up", NULL };
        const char *up[] = { "ip", "link", "set", "dev", ifname, "up", NULL };
        const char *addr[] = { "ip", "address", "add", net->address, "dev", ifname, NULL };
        const char *route[] = { "ip", "route", "add", "default", "via", net->gateway, "dev", ifname, NULL };
        const char *const *cmds[] = { lo, up, addr, *net->gateway ? route : NULL };
        for (size_t i = 0; i < ELEMENTSOF(cmds); i++)
                if (cmds[i] && (r = init_run_or_print(cmds[i], dry, out, NULL, ret_error)) < 0)
                        return r;
        return 0;
}

int init_network_down(const char *ifname, bool dry, FILE *out, char **ret_error) {
        const char *flush[] = { "ip", "address", "flush", "dev", ifname, NULL };
        const char *down[] = { "ip", "link", "set", "dev", ifname, "down", NULL };
        int r = init_run_or_print(flush, dry, out, NULL, ret_error);
        if (r >= 0)
                r = init_run_or_print(down, dry, out, NULL, ret_error);
        return r;
}
