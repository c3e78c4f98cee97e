/* SPDX-License-Identifier: MIT */
#pragma once

/* Keystone's exit codes, the same for every subcommand:
 *   0  success
 *   1  the command failed (the message says what, on what, and what next)
 *   2  usage error (bad options or arguments)
 * Library and command code return 0 or -errno; the command line being wrong
 * is the pseudo-errno KS_EUSAGE, outside the range of real errno values. */

enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,
        EXIT_USAGE = 2,
};

#define KS_EUSAGE 4096

int exit_code_from_errno(int r);
