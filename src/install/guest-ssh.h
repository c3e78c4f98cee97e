/* SPDX-License-Identifier: MIT */
#pragma once

/* Commands on a machine being installed, over SSH: the channel `keystone
 * vm` drives its installer and the installed machine with, and the one
 * remote install reuses.  ssh(1) through run(): argv only, a key of our
 * own (IdentitiesOnly), no agent, no config file; the command's stdin
 * carries any secret, never its argv.  Host keys are not checked: the
 * installer makes new ones at every boot, and the only route to the guest
 * is a port forward on 127.0.0.1 that this process set up. */

#include <stddef.h>

#include "util/run.h"

typedef struct GuestSsh {
        const char *host;         /* "127.0.0.1" */
        int port;
        const char *user;
        const char *key;          /* private key file */
        const char *log_path;     /* each command, its exit and its stderr are appended here; NULL: none */
} GuestSsh;

/* Runs command (a shell line in the guest) with input (may be NULL) on its
 * stdin; 0 when it exited 0, else as run().  ret (may be NULL) as run()'s.
 * log_secret_output: false leaves stdout out of the log (secrets). */
int guest_ssh_run(const GuestSsh *g, const char *command, const void *input, size_t input_size, int timeout_ms,
                  bool log_output, RunResult *ret);

/* guest_ssh_run() of ARGV (NULL-ended) made one command line with
 * shell_join() (util/shell-quote.h): how a command that names a file, a
 * pool or anything not a constant is sent, never pasted into a string.
 * -ENOMEM when the line cannot be made. */
int guest_ssh_run_argv(const GuestSsh *g, const char *const argv[], const void *input, size_t input_size,
                       int timeout_ms, bool log_output, RunResult *ret);

/* Polls until `true` runs over SSH, every 3 s, up to timeout_ms.  alive
 * (may be NULL) is asked between tries and stops the wait with its error
 * when it returns < 0 (the VM stopped). */
int guest_ssh_wait(const GuestSsh *g, int timeout_ms, int (*alive)(void *userdata, int ms), void *userdata);
