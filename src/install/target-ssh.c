/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "install/target-ssh.h"
#include "util/error-message.h"
#include "util/macro.h"

static int ssh_target_run(InstallTarget *it, InstallRole role, const char *const argv[], const void *input,
                          size_t input_size, int timeout_ms, bool log_output, RunResult *ret, char **ret_error) {
        SshInstallTarget *t = it->userdata;
        if (role < 0 || role > INSTALL_ROLE_MACHINE || !t->session[role])
                return error_set(ret_error, -ENOTCONN, "%s: no session to the %s", t->name,
                                 role == INSTALL_ROLE_MACHINE ? "installed system" : "installer");
        const char *full[48] = { "sudo", "-n" };
        size_t n = t->sudo[role] ? 2 : 0;
        for (size_t i = 0; argv[i]; i++) {
                if (n >= ELEMENTSOF(full) - 1)
                        return -E2BIG;
                full[n++] = argv[i];
        }
        full[n] = NULL;
        RunResult rr = {};
        _cleanup_free_ char *err = NULL;
        int r = ssh_client_run(t->session[role], full,
                               &(SshRunOptions) { .input = input, .input_size = input_size, .log_output = log_output,
                                                  .timeout_ms = timeout_ms },
                               &rr, &err);
        if (r < 0)
                error_set(ret_error, r, "On %s (%s), %s. See %s", t->name,
                          role == INSTALL_ROLE_MACHINE ? "the installed system" : "the installer",
                          err ? err : strerror(-r), t->log_path);
        if (ret)
                *ret = rr;
        else
                run_result_done(&rr);
        return r;
}

static const InstallTargetOps ssh_target_ops = { .run = ssh_target_run };

void ssh_install_target_init(SshInstallTarget *t, const char *name, const char *log_path) {
        *t = (SshInstallTarget) {};
        snprintf(t->name, sizeof t->name, "%s", name);
        snprintf(t->log_path, sizeof t->log_path, "%s", log_path ? log_path : "");
        t->target = (InstallTarget) { .ops = &ssh_target_ops, .name = t->name, .log_path = t->log_path,
                                      .userdata = t };
}
