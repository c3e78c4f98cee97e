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
