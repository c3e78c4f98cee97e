/* SPDX-License-Identifier: MIT */
/* keystone initrd: Keystone's small initrd from a root tree (the piece of
 * `keystone build` that makes it; useful alone for inspection). */
#include <inttypes.h>
#include <stdlib.h>

#include "image/initrd.h"
#include "cmd/cmd.h"
#include "util/format-bytes.h"

#define INITRD_OPTIONS(X)                                                                                     \
        X(INITRD_OPT_ROOT, "root", 0, "DIR", NULL, "the tree programs, libraries and files come from")           \
        X(INITRD_OPT_KVER, "kver", 0, "RELEASE", NULL, "kernel release of the modules")                          \
        X(INITRD_OPT_MODULES_DIR, "modules-dir", 0, "DIR", NULL, "take modules from DIR instead of the root tree") \
        X(INITRD_OPT_MODULE, "module", 0, "M", NULL, "a module name or alias (repeatable)")                      \
        X(INITRD_OPT_PROGRAM, "program", 0, "PATH", NULL, "a program inside the root tree (repeatable)")         \
        X(INITRD_OPT_FILE, "file", 0, "PATH", NULL,                                                              \
          "a file inside the root tree, copied as it is\n(repeatable)")                                          \
        X(INITRD_OPT_INIT, "init", 0, "FILE", NULL, "a program on this machine to install as /init")             \
        X(INITRD_OPT_NO_COMPRESS, "no-compress", 0, NULL, NULL, "write a plain cpio")                            \
        X(INITRD_OPT_OUTPUT, "output", 'o', "OUT", NULL, "the initrd to write")
enum { INITRD_OPTIONS(CMD_OPTION_ID) };
const CmdOption initrd_options[] = { INITRD_OPTIONS(CMD_OPTION_ENTRY) {} };

const char initrd_description[] =
        "Build an initrd holding only what is named: kernel modules (with their\n"
        "dependencies, resolved by libkmod in DIR/usr/lib/modules/RELEASE), programs\n"
        "(with every shared library they need, found inside DIR), files, and /init.\n"
        "A newc cpio, entries sorted, owned by root, one timestamp\n"
        "(SOURCE_DATE_EPOCH, default 0), zstd-compressed: same inputs, same bytes.\n"
        "\n"
        "--root and -o are required, and --kver with --module; --module, --program\n"
        "and --file may be given many times.";

/* Every value of a repeatable option, NULL-terminated (free the array only). */
static const char **values(const CmdArgs *a, int id) {
        const char **v = calloc((size_t) a->n_given + 1, sizeof *v);
        size_t n = 0;
        int i = 0;
        for (const char *s; v && (s = cmd_opt_next(a, id, &i));)
                v[n++] = s;
        return v;
}

int cmd_initrd(const CmdArgs *a) {
        _cleanup_free_ const char **modules = values(a, INITRD_OPT_MODULE);
        _cleanup_free_ const char **programs = values(a, INITRD_OPT_PROGRAM);
        _cleanup_free_ const char **files = values(a, INITRD_OPT_FILE);
        if (!modules || !programs || !files)
                return log_error_errno(-ENOMEM, "Out of memory.");
        InitrdSpec s = {
                .root = cmd_opt(a, INITRD_OPT_ROOT),
                .kver = cmd_opt(a, INITRD_OPT_KVER),
                .modules_dir = cmd_opt(a, INITRD_OPT_MODULES_DIR),
                .init = cmd_opt(a, INITRD_OPT_INIT),
                .compress = !cmd_flag(a, INITRD_OPT_NO_COMPRESS),
        };
        const char *out = cmd_opt(a, INITRD_OPT_OUTPUT);
        if (!s.root || !out || (modules[0] && !s.kver))
                return cmd_usage(a, "needs --root and -o (and --kver with --module)");
        for (size_t i = 0; programs[i]; i++)
                if (programs[i][0] != '/')
                        return cmd_usage(a, "--program %s: give the absolute path inside the root tree", programs[i]);
        const char *epoch = getenv("SOURCE_DATE_EPOCH");
        s.mtime = epoch ? strtoll(epoch, NULL, 10) : 0;
        s.modules = modules;
        s.programs = programs;
        s.files = files;

        InitrdReport rep = {};
        _cleanup_free_ char *error = NULL;
        int r = initrd_build(&s, out, &rep, &error);
        if (r < 0)
                return log_error_errno(r, "Failed to build the initrd %s: %s", out, error ? error : strerror(-r));
        char b1[32], b2[32];
        printf("%s: %s (%s uncompressed): %zu modules, %zu programs with %zu libraries, %zu files\n", out,
               format_bytes(rep.bytes, b1, sizeof b1), format_bytes(rep.uncompressed_bytes, b2, sizeof b2),
               rep.n_modules, rep.n_programs, rep.n_libraries, rep.n_files);
        return 0;
}
