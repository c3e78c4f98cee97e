/* SPDX-License-Identifier: MIT */
#pragma once

/* The phases of a remote install after kexec (install/phases.h), each on
 * the machine at the operator's address, which the installer, the
 * installed system's initrd and the installed system answer on in turn,
 * each with a host key the state holds:
 *
 *   disk      the installer (STATE/ssh/installer_host_key.pub): the host
 *             file uploaded (verified), the disk found again by what the
 *             probe before kexec recorded (STATE/target-disk: the installer
 *             has no udev and may name it differently), install/sequence.h's
 *             disk step; the credstore secret kept in STATE/credstore.secret
 *             (0600) until enroll erases it
 *   install   the installer: the build uploaded (verified), the generation
 *             installed, the extra files placed (their owners and modes, or
 *             --chown's), the owner's Secure Boot keys enrolled when the
 *             firmware is in setup mode, the pool checked exported
 *   reboot    the installer reboots; the installed system's initrd answers
 *             (STATE/ssh/host/ssh_host_ed25519_key.pub, the host's own key)
 *             and takes the install secret (keystone-init --unlock); the
 *             installed system answers to the host's sudo user
 *   enroll    install/sequence.h's enroll (TPM, recovery key, the secret's
 *             keyslot removed); a reboot that the TPM alone unlocks, read
 *             from /run/keystone-boot.log; Secure Boot checked
 *
 * Each returns 0 or -errno with *ret_error saying what failed, where, and
 * what to do; each appends to STATE/logs/install-PHASE.log. */

#include <stdbool.h>
#include <stdint.h>

#include "image/image.h"
#include "install/probe.h"
#include "install/remote.h"
#include "install/ssh.h"

/* What the probe before kexec saw of the disk to install onto. */
typedef struct RemoteDiskId {
        char id[256];                   /* its /dev/disk/by-id name, or "" */
        char serial[128], wwid[256];    /* "" when not reported */
        uint64_t size;
} RemoteDiskId;

/* STATE/target-disk ("size N", "serial S", "wwid W", "id NAME" lines, 0600). */
int remote_disk_id_save(const char *state_dir, const ProbeDisk *d, char **ret_error);
int remote_disk_id_load(const char *state_dir, RemoteDiskId *ret, char **ret_error);
/* The disk of R that is ID: the same size and the same serial or wwid
 * (one of them must be known).  -ENODEV naming what was looked for and
 * what R has; -ENOTUNIQ when two fit. */
int remote_disk_find(const ProbeReport *r, const RemoteDiskId *id, const ProbeDisk **ret, char **ret_error);

int remote_phase_disk(RemoteInstall *ri, char **ret_error);
int remote_phase_install(RemoteInstall *ri, char **ret_error);
int remote_phase_reboot(RemoteInstall *ri, char **ret_error);
int remote_phase_enroll(RemoteInstall *ri, char **ret_error);
/* frees what the phases left in RI (the recovery key, erased) */
void remote_install_done(RemoteInstall *ri);
