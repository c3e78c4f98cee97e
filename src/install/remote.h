/* SPDX-License-Identifier: MIT */
#pragma once

/* keystone install's work on a target reached over SSH (install/ssh.h),
 * step by step.  The first: ask the target what it is before anything on
 * it changes (install/probe.h), and say what the install would do. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "install/phases.h"
#include "install/probe.h"
#include "install/ssh.h"

/* Runs the probe script on the far side as root (`sudo -n sh -s` when the
 * login is not root: a password prompt cannot be answered there) and
 * parses its report.  -EACCES when sudo would ask for a password; else as
 * ssh_client_run() and probe_parse(), with the target in the message. */
int remote_probe(SshClient *c, bool sudo, const char *target, ProbeReport **ret, char **ret_error);

/* The owner's PK certificate (DER) from a Secure Boot key directory as
 * `keystone secureboot keys` makes it; -ENOENT when it holds none. */
int remote_owner_pk(const char *key_dir, uint8_t **ret, size_t *ret_size, char **ret_error);

typedef struct RemotePlanInput {
        const char *host_path;
        const char *hostname;
        const char *target;             /* as given: "root@192.0.2.7:22" */
        const ProbeReport *report;
        const ProbeWants *wants;
        unsigned phases;                /* asked for */
        const InstallRecord *record;    /* what a run before ended */
        const char *state_dir;
        const char *extra_files;        /* --extra-files DIR, or NULL */
        const char *chown;              /* --chown USER:GROUP, or NULL */
} RemotePlanInput;

/* The plan, as the dry run prints it and the real run before it starts:
 * the target and what it is, the disk that will be erased (by id), the
 * phases (which ended before and are skipped), and which files go where. */
int remote_plan_format(const RemotePlanInput *in, char **ret, char **ret_error);

/* The network the installer takes over after kexec (keystone-init's
 * keystone.installer.* parameters): the interface that holds ADDRESS when
 * the operator reached the target at one of its addresses, else the one of
 * the IPv4 default route; its first IPv4 address, the gateway, its MAC (the
 * name may differ in the installer, which has no udev). */
typedef struct RemoteNet {
        char ifname[64];
        char mac[32];
        char address[64];               /* "192.0.2.7/24" */
        char gateway[64];               /* "" when none */
} RemoteNet;

/* -ENETUNREACH with *ret_error saying what the target has when no
 * interface with an IPv4 address fits (the installer speaks IPv4 only). */
int remote_installer_network(const ProbeReport *r, const char *address, RemoteNet *ret, char **ret_error);

/* The installer's kernel command line for NET (malloc'd). */
char *remote_installer_cmdline(const RemoteNet *net);

typedef struct RemoteKexecFiles {
        const char *kexec;              /* keystone-kexec (static) */
        const char *kernel;             /* the installer's vmlinuz */
        const char *initrd;             /* installer_initrd() */
} RemoteKexecFiles;

#define REMOTE_KEXEC_DIR "/run/keystone-kexec"

/* Uploads the three files into REMOTE_KEXEC_DIR on the target (verified),
 * loads the kernel with `keystone-kexec load … CMDLINE`, and starts it:
 * `systemctl kexec` (a clean shutdown) when systemd runs there, else
 * `keystone-kexec exec`, detached, so that the session ends by itself.  The
 * caller then reaches the installer (ssh_client_connect() with the pinned
 * installer host key).  sudo as remote_probe(). */
int remote_kexec(SshClient *c, bool sudo, const RemoteKexecFiles *f, const char *cmdline, char **ret_error);
