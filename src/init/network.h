/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "init/cmdline.h"

/* One network interface with a static IPv4 address, for sshd in the initrd:
 * the installer (keystone.installer.*) and unlocking over SSH in the boot
 * flow (keystone.initrd-ssh.*).  The interface is the one net names, by name
 * or by hardware address, else the first in name order in ROOT/sys/class/net
 * that is not lo (drivers may still be probing: up to 10 s; a dry run looks
 * once).  Programs are ip(8) through run(); a dry run prints them on out
 * instead (init_run_or_print()). */

/* lo up, the interface up, its address and (with a gateway) the default
 * route.  0 and the interface's name in ifname, or -errno and *ret_error
 * (what is missing and what to check, with prefix, e.g.
 * "keystone.initrd-ssh", naming the parameters). */
int init_network_up(const InitNetwork *net, const char *prefix, const char *root, bool dry, FILE *out,
                    char *ifname, size_t size, char **ret_error);

/* Its addresses (and so its routes) flushed, the interface down: what the
 * initrd leaves for the real system's network setup. */
int init_network_down(const char *ifname, bool dry, FILE *out, char **ret_error);
