/* SPDX-License-Identifier: MIT */
#pragma once

#include "init/steps.h"

/* Unlocking over SSH in the boot flow (keystone.initrd-ssh=auto|always,
 * docs/init.md): the network of keystone.initrd-ssh.*, then OpenSSH's sshd
 * in the background with a configuration keystone-init writes, so that an
 * owner can log in as root with a key of /etc/keystone-initrd/authorized_keys
 * and run `keystone-init --unlock` (init/unlock.h).  Each part is a console
 * line:
 *
 *   [keystone-init] initrd-ssh network ... ok (0.02 s): eth0 192.0.2.7/24, via 192.0.2.1
 *   [keystone-init] initrd-ssh sshd ... ok (0.31 s): root@192.0.2.7 by key only (pid 212) …
 *   [keystone-init] initrd-ssh stop ... ok (0.05 s): sshd (pid 212) ended, eth0 down …
 *
 * In a dry run (c->dry) the programs are printed, not run; the files are
 * still checked and the configuration written under c->root. */

#define INITRD_SSH_DIR "/etc/keystone-initrd"
#define INITRD_SSH_HOST_KEY INITRD_SSH_DIR "/ssh_host_ed25519_key"
#define INITRD_SSH_AUTHORIZED_KEYS INITRD_SSH_DIR "/authorized_keys"
#define INITRD_SSH_CONFIG "/run/keystone-init/sshd_config"
#define INITRD_SSH_PID_FILE "/run/keystone-init/sshd.pid"

/* Starts it (once).  A refusal (no host key, no authorized_keys, no
 * network) is printed and returned as -errno: the console prompt still
 * works, so the caller goes on without. */
int init_ssh_start(InitContext *c);

/* Stops sshd, takes the interface down and removes the configuration, so
 * that the real system's sshd gets port 22: before switch_root, and on
 * every way out.  Nothing when it was not started. */
void init_ssh_stop(InitContext *c);
