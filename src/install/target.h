/* SPDX-License-Identifier: MIT */
#pragma once

/* The machine an install works on, whatever it is: the VM that `keystone
 * vm` starts (install/vm-deploy.c) or a machine reached over SSH
 * (`keystone install --target`, install/remote.c).  The install sequence
 * (install/sequence.h) only runs commands on it, as root, in one of two
 * roles:
 *
 *   installer  the installer running in RAM (root by the state's key)
 *   machine    the installed system after its first boot (the host's sudo
 *              user, each command through `sudo -n`)
 *
 * How the target is started, rebooted and unlocked differs (a console to
 * type on, or sshd in the initrd) and stays with its driver. */

#include <stdbool.h>
#include <stddef.h>

#include "util/run.h"

typedef enum InstallRole {
        INSTALL_ROLE_INSTALLER,
        INSTALL_ROLE_MACHINE,
} InstallRole;

typedef struct InstallTarget InstallTarget;

typedef struct InstallTargetOps {
        /* ARGV (NULL-ended) as root in ROLE, INPUT (INPUT_SIZE bytes, may be
         * NULL) on its stdin.  0 when it exited 0; else -errno with
         * *ret_error naming the command, the target and its log.  ret (may be
         * NULL) as run()'s: stdout and stderr; log_output false keeps stdout
         * out of the log (a secret). */
        int (*run)(InstallTarget *t, InstallRole role, const char *const argv[], const void *input,
                   size_t input_size, int timeout_ms, bool log_output, RunResult *ret, char **ret_error);
} InstallTargetOps;

struct InstallTarget {
        const InstallTargetOps *ops;
        const char *name;               /* for messages: "the installer VM", "root@192.0.2.7" */
        const char *log_path;           /* the current step's log (each command is appended) */
        void *userdata;                 /* the driver's */
};

static inline int install_target_run(InstallTarget *t, InstallRole role, const char *const argv[], const void *input,
                                     size_t input_size, int timeout_ms, bool log_output, RunResult *ret,
                                     char **ret_error) {
        return t->ops->run(t, role, argv, input, input_size, timeout_ms, log_output, ret, ret_error);
}
