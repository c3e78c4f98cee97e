/* SPDX-License-Identifier: MIT */
#pragma once

/* A machine reached over SSH (install/ssh.h) as the install sequence's
 * target (install/target.h): one session for each role, made by the
 * caller (the installer after kexec, pinned to the installer's host key;
 * the installed system, pinned to the host's own key).  A login that is
 * not root runs each command through `sudo -n`. */

#include <stdbool.h>

#include "install/ssh.h"
#include "install/target.h"

typedef struct SshInstallTarget {
        InstallTarget target;           /* .userdata is this */
        SshClient *session[2];          /* by InstallRole; NULL: not connected */
        bool sudo[2];                   /* the login of that session is not root */
        char name[300];                 /* "root@192.0.2.7:22" */
        char log_path[4200];
} SshInstallTarget;

/* NAME and LOG_PATH copied; sessions are set by the caller (and freed by it). */
void ssh_install_target_init(SshInstallTarget *t, const char *name, const char *log_path);
