/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "install/guest-ssh.h"
#include "util/clock.h"
#include "util/log-file.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/shell-quote.h"

static void log_append(const GuestSsh *g, const char *command, int r, const RunResult *res, bool log_output) {
        _cleanup_close_ int fd = log_file_open(g->log_path);
        log_file_command(fd, command, NULL, res, log_output,
                         r >= 0 ? "ok" : r == -EPROTO ? run_result_describe(res) : strerror(-r));
}

int guest_ssh_run(const GuestSsh *g, const char *command, const void *input, size_t input_size, int timeout_ms,
                  bool log_output, RunResult *ret) {
        if (!g || !g->user || !g->key || g->port <= 0 || !command)
                return -EINVAL;
        char port[16], who[256];
        snprintf(port, sizeof port, "%d", g->port);
        if (snprintf(who, sizeof who, "%s@%s", g->user, g->host ? g->host : "127.0.0.1") >= (int) sizeof who)
                return -ENAMETOOLONG;
        const char *argv[] = { "ssh", "-F", "/dev/null", "-p", port, "-i", g->key, "-o", "IdentitiesOnly=yes",
                               "-o", "IdentityAgent=none", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                               "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o",
                               "ConnectTimeout=30", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=8",
                               who, command, NULL };
        RunResult res = {};
        int r = run(argv, &(RunOptions) { .input = input, .input_size = input_size, .timeout_ms = timeout_ms,
                                          .ignore_dry_run = true },
                    &res);
        log_append(g, command, r, &res, log_output);
        if (ret)
                *ret = res;
        else
                run_result_done(&res);
        return r;
}

int guest_ssh_run_argv(const GuestSsh *g, const char *const argv[], const void *input, size_t input_size,
                       int timeout_ms, bool log_output, RunResult *ret) {
        if (!argv || !argv[0])
                return -EINVAL;
        _cleanup_free_ char *command = shell_join(argv);
        if (!command)
                return -ENOMEM;
        return guest_ssh_run(g, command, input, input_size, timeout_ms, log_output, ret);
}

int guest_ssh_wait(const GuestSsh *g, int timeout_ms, int (*alive)(void *userdata, int ms), void *userdata) {
        int64_t end = monotonic_ms() + timeout_ms;
        GuestSsh quiet = *g;
        quiet.log_path = NULL;
        for (;;) {
                int r = guest_ssh_run(&quiet, "true", NULL, 0, 60000, false, NULL);
                if (r >= 0)
                        return 0;
                if (monotonic_ms() >= end)
                        return -ETIMEDOUT;
                if (alive) {
                        r = alive(userdata, 3000);
                        if (r < 0)
                                return r;
                } else
                        usleep(3000 * 1000);
        }
}
