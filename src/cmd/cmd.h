/* SPDX-License-Identifier: MIT */
#pragma once

#include <getopt.h>
#include <stdbool.h>

#include "util/exit-code.h"
#include "util/log.h"

/* The command layer: one file per subcommand, `int cmd_NAME(int argc, char
 * **argv)` with argv[0] the subcommand's name.  Handlers return 0 or -errno
 * (-KS_EUSAGE for a usage error); main() maps that to the exit code. */

typedef struct Command {
        const char *name;
        int min_args, max_args; /* positional arguments; -1: no maximum */
        int (*handler)(int argc, char **argv);
        const char *summary;
} Command;

extern const Command keystone_commands[];
extern const char keystone_version[];

/* Prints "keystone CMD: MESSAGE" and a pointer to --help; returns -KS_EUSAGE. */
int cmd_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Checks the number of positional arguments left after option parsing
 * against the command table. */
int cmd_check_args(const char *cmd, int n);

/* Prints help text and returns 0 (for `--help`). */
int cmd_help(const char *text);

int cmd_tpm(int argc, char **argv);
int cmd_cache(int argc, char **argv);

/* Options every subcommand accepts, for getopt_long tables. */
#define CMD_COMMON_OPTIONS { "help", no_argument, NULL, 'h' }

int cmd_eval(int argc, char **argv);
int cmd_options(int argc, char **argv);
int cmd_disk(int argc, char **argv);
int cmd_secureboot(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_vm(int argc, char **argv);
int cmd_lock(int argc, char **argv);
int cmd_initrd(int argc, char **argv);
