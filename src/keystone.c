/* SPDX-License-Identifier: MIT */
/* keystone: one binary; the verb table below, one file per command under
 * src/cmd/ (the framework: cmd/cmd.h). */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "util/run.h"

static int cmd_help_command(const CmdArgs *a) {
        return cmd_help_path(&keystone_verb, a->n_args, a->args);
}

static int cmd_version(const CmdArgs *a) {
        printf("keystone %s\n", keystone_version);
        return 0;
}

static const Verb verbs[] = {
        { "eval",    "HOST.toml", "print the merged configuration of a host file", 1, 1, cmd_eval,
          .options = eval_options, .description = eval_description, .epilog = eval_epilog },
        { "options", "[PREFIX]", "print the option reference (type, default, description)", 0, 1, cmd_options,
          .options = options_options, .description = options_description },
        { "image",   "HOST.toml", "build a host's bootable image (cached rootfs + disk)", 1, 1, cmd_image,
          .options = image_options, .description = image_description, .epilog = image_epilog },
        { "build",   "HOST.toml", "build a generation: rootfs, Keystone initrd, signed UKI and systemd-boot, manifest",
          1, 1, cmd_build, .options = image_options, .description = build_description },
        { "vm",      "HOST.toml", "install a host into a blank VM (Secure Boot, TPM) and prove it unlocks itself",
          1, 1, cmd_vm, .options = image_options, .description = vm_description },
        { "lock",    "HOST.toml", "pin the exact Debian package versions of a host's image in keystone.lock",
          1, 1, cmd_lock, .options = image_options, .description = lock_description, .epilog = lock_epilog },
        { "install", "HOST.toml --target [USER@]ADDRESS[:PORT]",
          "install a host onto a machine over SSH: probe, refuse what cannot work, plan", 1, 1, cmd_install,
          .options = install_options, .description = install_description },
        { "unlock",  "[USER@]ADDRESS[:PORT]",
          "hand the credstore's password or recovery key to a machine waiting in its initrd, over SSH", 1, 1,
          cmd_unlock, .options = unlock_options, .description = unlock_description },
        { "disk",    "VERB HOST.toml [OPTIONS]", "lay out a disk as the host file says: plan, apply, status, mount, install",
          2, 2, .verbs = disk_verbs, .description = disk_description },
        { "cache",   "VERB", "keep the artifact cache under a size limit, least recently used first", 1, 1,
          .verbs = cache_verbs, .options = cache_options,
          .description = "Keep the artifact cache under a size limit, least recently used first." },
        { "initrd",  NULL, "build a small initrd: modules (libkmod), programs and libraries, cpio+zstd", 0, 0,
          cmd_initrd, .options = initrd_options, .description = initrd_description },
        { "tpm",     "VERB [DEVICE] [OPTIONS]",
          "TPM2-bound LUKS2 unlock: enroll, unlock, recovery, password, wipe, status, measure, banner", 1, -1,
          .verbs = tpm_verbs, .options = tpm_options, .description = tpm_description, .epilog = tpm_epilog },
        { "secureboot", NULL, "Secure Boot keys, enrollment, UKIs, Authenticode signing", 0, -1,
          .verbs = secureboot_verbs, .options = secureboot_options,
          .description = "The owner's Secure Boot keys, their enrollment in the firmware, and\n"
                         "signed unified kernel images.  'keystone secureboot VERB --help' for each." },
        { "help",    "[COMMAND [VERB]]", "show help for keystone or one command", 0, 2, cmd_help_command,
          .description = "Show the help of keystone, of one command, or of one verb of a command\n"
                         "(the same text as 'keystone COMMAND [VERB] --help')." },
        { "version", NULL, "print the version", 0, 0, cmd_version,
          .description = "Print Keystone's version (from git describe)." },
        {}
};

const Verb keystone_verb = {
        "keystone", "[--verbose] [--dry-run] COMMAND [ARGS...]", "Keystone builds a secure machine from one declarative host file.", 0, -1,
        .verbs = verbs,
        .description = "Keystone builds a secure machine from one declarative host file.",
        .epilog = "Global options (before the command):\n"
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
                  "Environment: KEYSTONE_LOG_FILE=PATH appends every message, at every level, to PATH.\n",
};

int main(int argc, char **argv) {
        int i = 1;
        for (; i < argc && argv[i][0] == '-'; i++) {
                const char *a = argv[i];
                if (streq(a, "-v") || streq(a, "--verbose"))
                        log_set_max_level(LOG_DEBUG);
                else if (streq(a, "-n") || streq(a, "--dry-run"))
                        run_set_dry_run(true);
                else if (streq(a, "-h") || streq(a, "--help")) {
                        cmd_print_help(&keystone_verb, "keystone", NULL, stdout);
                        return EXIT_OK;
                } else if (streq(a, "--version")) {
                        printf("keystone %s\n", keystone_version);
                        return EXIT_OK;
                } else {
                        fprintf(stderr, "keystone: unknown option '%s'\nTry 'keystone --help'.\n", a);
                        return EXIT_USAGE;
                }
        }
        /* argv[i - 1] stands for "keystone" itself: the table starts there */
        return exit_code_from_errno(cmd_run(&keystone_verb, argc - i + 1, argv + i - 1));
}
