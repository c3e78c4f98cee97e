/* SPDX-License-Identifier: MIT */
#pragma once

/* The command framework: one nested table of verbs.
 *
 * Every command is a Verb: its name, the positional arguments it takes, a
 * one-line summary, and either a handler or a table of sub-verbs (keystone →
 * tpm → enroll).  Help is generated from the table at every level, so
 * `keystone --help`, `keystone tpm --help` and `keystone tpm enroll --help`
 * come out the same way and always list what exists.
 *
 * Options belong to a family (the tpm verbs, the disk verbs…): each family
 * declares its option set once, as an X-macro list in the style of
 * cryptsetup's cryptsetup_arg_list.h, each option with the verbs that allow
 * it.  The parser builds the getopt_long table from the set, refuses an
 * option the verb does not allow ("--yes is for apply"), checks the number
 * of positional arguments against the verb's bounds, and hands the handler a
 * CmdArgs it reads options from by their identifiers:
 *
 *     #define DISK_OPTIONS(X) \
 *             X(DISK_OPT_DEVICE, "device", 0, "DEV", "plan apply status", "a block device") \
 *             X(DISK_OPT_YES,    "yes",    'y', NULL, "apply",           "do not ask")
 *     enum { DISK_OPTIONS(CMD_OPTION_ID) };
 *     static const CmdOption disk_options[] = { DISK_OPTIONS(CMD_OPTION_ENTRY) {} };
 *
 *     if (cmd_flag(a, DISK_OPT_YES)) …      cmd_opt(a, DISK_OPT_DEVICE) → NULL or the value
 *
 * Where verbs describe one option differently (--output OUTDIR of export,
 * --output OUT of sign), the set holds it once per group of verbs, each
 * entry with its own identifier; and one letter may stand for different
 * options in different verbs (-f: --format of export, --force of enroll).
 * A verb gets the entry it allows, and "--output is for …" lists the verbs
 * of every entry of that name.
 *
 * Handlers return 0 or -errno (-KS_EUSAGE for a usage error; cmd_usage()
 * prints it); main() maps that to the exit code.  Every message printed with
 * log_error() while a verb runs carries "keystone VERB: " (the full path, as
 * "keystone disk apply: "), added here once: message texts never repeat it. */

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/exit-code.h"
#include "util/log.h"

typedef struct CmdOption {
        const char *name;       /* the long name, without "--" */
        int short_name;         /* a letter, or 0 */
        const char *arg;        /* the argument's name in help ("DEV"); NULL: a flag */
        const char *verbs;      /* the verbs that allow it, space-separated; NULL: all of the family */
                                /* (a name twice in a set: verbs that describe it differently) */
        const char *help;       /* one line; "\n" continues it, indented, on the next */
} CmdOption;

/* For the X-macro lists: X(ID, name, short_name, arg, verbs, help). */
#define CMD_OPTION_ID(id, ...) id,
#define CMD_OPTION_ENTRY(id, name, short_name, arg, verbs, help) { name, short_name, arg, verbs, help },

#define CMD_MAX_GIVEN 256  /* options on one command line (initrd repeats --module, --program, --file) */

struct Verb;

typedef struct CmdArgs {
        const struct Verb *verb;
        const CmdOption *options;  /* the verb's option set */
        char path[96];             /* "keystone disk apply", for messages */
        int n_given;               /* options in the order given */
        struct { int id; const char *value; } given[CMD_MAX_GIVEN];
        int n_args;                /* positional arguments */
        char **args;
} CmdArgs;

typedef struct Verb {
        const char *name;
        const char *synopsis;   /* positional arguments for the usage line: "HOST.toml" */
        const char *summary;    /* one line, in the parent's list of verbs */
        int min_args, max_args; /* positional arguments; max -1: no maximum */
        int (*run)(const CmdArgs *a);
        const struct Verb *verbs;    /* sub-verbs ({}-terminated); then run is NULL */
        const CmdOption *options;    /* the option set; NULL: the parent's */
        const char *description;     /* the help text after the usage line (NULL: the summary) */
        const char *epilog;          /* printed at the end of the help, after a blank line */
} Verb;

/* Runs argv against the tree under root (argv[0] stands for root itself,
 * whatever it says): a sub-verb by name, or the handler after parsing.
 * `--help`/`-h` (and `help VERB…` where there are sub-verbs) print the
 * generated help on stdout and return 0. */
int cmd_run(const Verb *root, int argc, char **argv);

/* The generated help of a verb (path: "keystone tpm"). */
void cmd_print_help(const Verb *v, const char *path, const CmdOption *options, FILE *f);

/* Prints "PATH: MESSAGE" and "Try 'PATH --help'." on stderr; returns -KS_EUSAGE. */
int cmd_usage(const CmdArgs *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last value given for option id, or NULL; for a flag "" when given. */
const char *cmd_opt(const CmdArgs *a, int id);
static inline bool cmd_flag(const CmdArgs *a, int id) {
        return cmd_opt(a, id) != NULL;
}
/* Every value given for option id, in order: start with *i = 0; returns
 * NULL after the last. */
const char *cmd_opt_next(const CmdArgs *a, int id, int *i);
/* An unsigned number option (decimal) from min to max; usage error when it
 * is not one or is out of range.  Leaves *ret unchanged when the option is
 * not given. */
int cmd_opt_uint_range(const CmdArgs *a, int id, uint64_t min, uint64_t max, uint64_t *ret);
static inline int cmd_opt_uint(const CmdArgs *a, int id, uint64_t max, uint64_t *ret) {
        return cmd_opt_uint_range(a, id, 0, max, ret);
}

/* `keystone help tpm enroll`: the help of the verb the names lead to from
 * root.  A usage error for a name that is not a verb there. */
int cmd_help_path(const Verb *root, int n, char **names);

/* Prints text on stdout and returns 0. */
int cmd_help(const char *text);

/* keystone tpm (cmd/tpm.c) */
extern const Verb tpm_verbs[];
extern const CmdOption tpm_options[];
extern const char tpm_description[], tpm_epilog[];
/* keystone cache (cmd/cache.c), eval, options */
extern const Verb cache_verbs[];
extern const CmdOption cache_options[];
int cmd_eval(const CmdArgs *a);
extern const CmdOption eval_options[];
extern const char eval_description[], eval_epilog[];
int cmd_options(const CmdArgs *a);
extern const CmdOption options_options[];
extern const char options_description[];
/* keystone disk (cmd/disk.c) */
extern const Verb disk_verbs[];
extern const char disk_description[];
extern const Verb secureboot_verbs[];
extern const CmdOption secureboot_options[];
/* keystone image, build, lock, vm (cmd/image.c, build.c, lock.c, vm.c): one
 * option set (cmd/image-common.h) */
extern const CmdOption image_options[];
int cmd_image(const CmdArgs *a);
extern const char image_description[], image_epilog[];
int cmd_build(const CmdArgs *a);
extern const char build_description[];
int cmd_lock(const CmdArgs *a);
extern const char lock_description[], lock_epilog[];
/* keystone install (cmd/install.c) */
int cmd_install(const CmdArgs *a);
extern const CmdOption install_options[];
extern const char install_description[];
/* keystone unlock (cmd/unlock.c) */
int cmd_unlock(const CmdArgs *a);
extern const CmdOption unlock_options[];
extern const char unlock_description[];
int cmd_vm(const CmdArgs *a);
extern const char vm_description[];
/* keystone initrd (cmd/initrd.c) */
int cmd_initrd(const CmdArgs *a);
extern const CmdOption initrd_options[];
extern const char initrd_description[];

extern const Verb keystone_verb;
extern const char keystone_version[];
