/* SPDX-License-Identifier: MIT */
/* keystone: one binary, one file per subcommand under src/cmd/. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "util/run.h"

static int cmd_help_command(int argc, char **argv);
static int cmd_version(int argc, char **argv);

const Command keystone_commands[] = {
        { "eval",    1, 1, cmd_eval,    "print the merged configuration of a host file" },
        { "options", 0, 1, cmd_options, "print the option reference (type, default, description)" },
        { "image",   1, 1, cmd_image,   "build a host's bootable image (cached rootfs + disk)" },
        { "build",   1, 1, cmd_build,   "build a generation: rootfs, Keystone initrd, signed UKI and systemd-boot, manifest" },
        { "vm",      1, 1, cmd_vm,      "install a host into a blank VM (Secure Boot, TPM) and prove it unlocks itself" },
        { "lock",    1, 1, cmd_lock,    "pin the exact Debian package versions of a host's image in keystone.lock" },
        { "disk",    2, 2, cmd_disk,    "lay out a disk as the host file says: plan, apply, status, mount" },
        { "cache",   1, 1, cmd_cache,   "keep the artifact cache under a size limit, least recently used first" },
        { "initrd",  0, 0, cmd_initrd,  "build a small initrd: modules (libkmod), programs and libraries, cpio+zstd" },
        { "tpm",     1, -1, cmd_tpm,     "TPM2-bound LUKS2 unlock: enroll, unlock, recovery, password, wipe, status, measure" },
        { "secureboot", 1, -1, cmd_secureboot, "Secure Boot keys, enrollment, UKIs, Authenticode signing" },
        { "help",    0, 1, cmd_help_command, "show help for keystone or one command" },
        { "version", 0, 0, cmd_version, "print the version" },
        {}
};

static const Command *command_find(const char *name) {
        for (const Command *c = keystone_commands; c->name; c++)
                if (streq(c->name, name))
                        return c;
        return NULL;
}

int cmd_usage_error(const char *cmd, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "keystone %s: ", cmd);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'keystone %s --help'.\n", cmd);
        return -KS_EUSAGE;
}

int cmd_check_args(const char *cmd, int n) {
        const Command *c = command_find(cmd);
        if (!c)
                return 0;
        if (n < c->min_args)
                return cmd_usage_error(cmd, "missing argument (expects at least %d, got %d)", c->min_args, n);
        if (c->max_args >= 0 && n > c->max_args)
                return cmd_usage_error(cmd, "too many arguments (expects at most %d, got %d)", c->max_args, n);
        return 0;
}

int cmd_help(const char *text) {
        fputs(text, stdout);
        return 0;
}

static void usage(FILE *f) {
        fprintf(f,
                "Usage: keystone [--verbose] [--dry-run] COMMAND [ARGS...]\n"
                "       keystone help COMMAND | keystone COMMAND --help\n"
                "\n"
                "Keystone builds a secure machine from one declarative host file.\n"
                "\n"
                "Commands:\n");
        for (const Command *c = keystone_commands; c->name; c++)
                fprintf(f, "  %-12s %s\n", c->name, c->summary);
        fprintf(f,
                "\n"
                "Global options:\n"
                "  -v, --verbose   show debug messages, including every external command run\n"
                "  -n, --dry-run   print external commands instead of running them\n"
                "  -h, --help      this text\n"
                "      --version   print the version\n"
                "\n"
                "Exit status:\n"
                "  0  success\n"
                "  1  the command failed (the message says what, on what, and what to do next)\n"
                "  2  usage error\n"
                "\n"
                "Environment: KEYSTONE_LOG_FILE=PATH appends every message, at every level, to PATH.\n");
}

static int cmd_version(int argc, char **argv) {
        if (argc > 1 && (streq(argv[1], "--help") || streq(argv[1], "-h")))
                return cmd_help("Usage: keystone version\n\nPrint Keystone's version (from git describe).\n");
        if (argc > 1)
                return cmd_usage_error("version", "takes no arguments");
        printf("keystone %s\n", keystone_version);
        return 0;
}

static int cmd_help_command(int argc, char **argv) {
        if (argc > 2)
                return cmd_usage_error("help", "too many arguments");
        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
                usage(stdout);
                return 0;
        }
        const Command *c = command_find(argv[1]);
        if (!c)
                return cmd_usage_error("help", "unknown command '%s'", argv[1]);
        char *hargv[] = { (char *) c->name, (char *) "--help", NULL };
        return c->handler(2, hargv);
}

int main(int argc, char **argv) {
        int i = 1;
        for (; i < argc && argv[i][0] == '-'; i++) {
                const char *a = argv[i];
                if (streq(a, "-v") || streq(a, "--verbose"))
                        log_set_max_level(LOG_DEBUG);
                else if (streq(a, "-n") || streq(a, "--dry-run"))
                        run_set_dry_run(true);
                else if (streq(a, "-h") || streq(a, "--help")) {
                        usage(stdout);
                        return EXIT_OK;
                } else if (streq(a, "--version"))
                        return exit_code_from_errno(cmd_version(1, argv));
                else {
                        fprintf(stderr, "keystone: unknown option '%s'\n", a);
                        usage(stderr);
                        return EXIT_USAGE;
                }
        }
        if (i >= argc) {
                usage(stderr);
                return EXIT_USAGE;
        }
        const Command *c = command_find(argv[i]);
        if (!c) {
                fprintf(stderr, "keystone: unknown command '%s'; 'keystone --help' lists them\n", argv[i]);
                return EXIT_USAGE;
        }
        return exit_code_from_errno(c->handler(argc - i, argv + i));
}
