/* SPDX-License-Identifier: MIT */
/* keystone unlock [USER@]ADDRESS[:PORT]: hand the credstore's password or
 * recovery key to a machine waiting in its initrd (keystone-init with
 * keystone.initrd-ssh), over SSH, as `keystone-init --unlock` there takes
 * it: on stdin, never in argv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "install/ssh.h"
#include "util/macro.h"
#include "util/secret-input.h"

#define UNLOCK_OPTIONS(X)                                                                                           \
        X(UNLOCK_OPT_IDENTITY, "identity", 'i', "KEY", NULL, "log in with this private key (default: the agent's)")  \
        X(UNLOCK_OPT_HOST_KEY, "host-key", 0, "FILE.pub", NULL,                                                     \
          "the initrd's host key must be this one (keystone\n"                                                      \
          "install keeps it in its state); known_hosts unused")                                                     \
        X(UNLOCK_OPT_KNOWN_HOSTS, "known-hosts", 0, "FILE", NULL, "default ~/.ssh/known_hosts")                     \
        X(UNLOCK_OPT_ACCEPT_NEW, "accept-new-host-key", 0, NULL, NULL, "trust an unknown host key on first use")    \
        X(UNLOCK_OPT_KEY_FILE, "key-file", 0, "FILE", NULL,                                                         \
          "the password or recovery key from FILE (its exact\n"                                                     \
          "bytes) instead of a prompt")

enum { UNLOCK_OPTIONS(CMD_OPTION_ID) };
const CmdOption unlock_options[] = { UNLOCK_OPTIONS(CMD_OPTION_ENTRY) {} };

const char unlock_description[] =
        "Unlock a machine that waits in its initrd for the credstore's password or\n"
        "recovery key (after a firmware change the TPM no longer unlocks, or the host\n"
        "file has boot.initrd-ssh): logs in to keystone-init's sshd as root and hands\n"
        "the secret to `keystone-init --unlock` on its standard input.  The secret is\n"
        "asked for here (echo off), or read from --key-file; it never appears in a\n"
        "command line or a log.";

#define KEYSTONE_INIT "/usr/lib/keystone/keystone-init"

int cmd_unlock(const CmdArgs *a) {
        SshTarget t;
        _cleanup_free_ char *err = NULL;
        int r = ssh_target_parse(a->args[0], &t, &err);
        if (r < 0)
                return cmd_usage(a, "%s: %s", a->args[0], err);
        if (!*t.user)
                snprintf(t.user, sizeof t.user, "root");
        char *secret = NULL;
        size_t size = 0;
        const char *file = cmd_opt(a, UNLOCK_OPT_KEY_FILE);
        r = file ? secret_read_file(file, &secret, &size) :
                   secret_read_line("Password or recovery key for the credstore: ", &secret, &size);
        if (r < 0)
                return log_error_errno(r, "No password or recovery key%s%s: %m", file ? " in " : "", file ? file : "");

        SshConnectOptions o = {
                .identity = cmd_opt(a, UNLOCK_OPT_IDENTITY),
                .pinned_host_key = cmd_opt(a, UNLOCK_OPT_HOST_KEY),
                .known_hosts = cmd_opt(a, UNLOCK_OPT_KNOWN_HOSTS),
                .accept_new_host_key = cmd_flag(a, UNLOCK_OPT_ACCEPT_NEW),
        };
        SshClient *c = NULL;
        r = ssh_client_connect(&t, &o, &c, &err);
        if (r < 0) {
                erase_and_free(secret, size);
                return log_error_errno(r, "%s", err ? err : strerror(-r));
        }
        const char *argv[] = { KEYSTONE_INIT, "--unlock", NULL };
        RunResult rr = {};
        free(err);
        err = NULL;
        /* no timeout: that would wrap the command in timeout(1), which an
         * initrd need not have; keystone-init --unlock ends when PID 1 says */
        r = ssh_client_run(c, argv, &(SshRunOptions) { .input = secret, .input_size = size }, &rr, &err);
        erase_and_free(secret, size);
        ssh_client_free(c);
        if (r == -EPROTO)
                r = log_error_errno(r, "%s did not open the credstore: %s", a->args[0],
                                    rr.err && *rr.err ? rr.err : err ? err : "keystone-init --unlock failed");
        else if (r < 0)
                r = log_error_errno(r, "%s: %s", a->args[0], err ? err : strerror(-r));
        else
                printf("%s: %s", a->args[0], rr.out && *rr.out ? rr.out : "opened\n");
        run_result_done(&rr);
        return r;
}
