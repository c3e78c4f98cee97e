/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "init/cmdline.h"

/* keystone-init's installer mode (keystone.installer on the command line):
 * instead of booting a generation, it makes the machine reachable for the
 * install steps and waits:
 *
 *   1. efivarfs on /sys/firmware/efi/efivars (keystone secureboot enroll)
 *   2. the network: lo and the interface up (named, or found by its
 *      hardware address), the address (and the default route) from
 *      keystone.installer.* (docs/vm.md)
 *   3. the ed25519 host key the UKI brought in /etc/ssh (keystone install
 *      pins it), else a new one; its fingerprint is printed; sshd: root by
 *      the key in /etc/keystone-installer/authorized_keys only
 *   4. as PID 1: reaps children and restarts sshd should it end; SIGUSR2
 *      powers the machine off, SIGTERM and SIGINT (Ctrl-Alt-Del) reboot it,
 *      after sync.
 *
 * Each step prints "[installer] STEP ... ok/failed (T s): detail".  dry:
 * print the programs each step would run and return 0.  Otherwise returns
 * only on failure (-errno, the reason printed). */
int init_installer_run(const InitConfig *cfg, const char *root, bool dry, FILE *console);
