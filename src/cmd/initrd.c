/* SPDX-License-Identifier: MIT */
/* keystone initrd: Keystone's small initrd from a root tree (the piece of
 * `keystone build` that makes it; useful alone for inspection). */
#include <inttypes.h>
#include <stdlib.h>

#include "image/initrd.h"
#include "cmd/cmd.h"
#include "util/format-bytes.h"

static const char help[] =
        "Usage: keystone initrd --root DIR --kver RELEASE -o OUT [--init FILE]\n"
        "                       [--module M]... [--program PATH]... [--file PATH]...\n"
        "                       [--modules-dir DIR] [--no-compress]\n"
        "\n"
        "Build an initrd holding only what is named: kernel modules (with their\n"
        "dependencies, resolved by libkmod in DIR/usr/lib/modules/RELEASE), programs\n"
        "(with every shared library they need, found inside DIR), files, and /init.\n"
        "A newc cpio, entries sorted, owned by root, one timestamp\n"
        "(SOURCE_DATE_EPOCH, default 0), zstd-compressed: same inputs, same bytes.\n"
        "\n"
        "  --root DIR          the tree programs, libraries and files come from\n"
        "  --kver RELEASE      kernel release of the modules\n"
        "  --modules-dir DIR   take modules from DIR instead of the root tree\n"
        "  --module M          a module name or alias (repeatable)\n"
        "  --program PATH      a program inside the root tree (repeatable)\n"
        "  --file PATH         a file inside the root tree, copied as it is (repeatable)\n"
        "  --init FILE         a program on this machine to install as /init\n"
        "  --no-compress       write a plain cpio\n"
        "  -o, --output OUT    the initrd to write\n";

#define MAX_ARGS 256

int cmd_initrd(int argc, char **argv) {
        static const struct option options[] = {
                { "root", required_argument, NULL, 'r' },
                { "kver", required_argument, NULL, 'k' },
                { "modules-dir", required_argument, NULL, 'M' },
                { "module", required_argument, NULL, 'm' },
                { "program", required_argument, NULL, 'p' },
                { "file", required_argument, NULL, 'f' },
                { "init", required_argument, NULL, 'i' },
                { "no-compress", no_argument, NULL, 'n' },
                { "output", required_argument, NULL, 'o' },
                CMD_COMMON_OPTIONS,
                {}
        };
        const char *modules[MAX_ARGS + 1] = {}, *programs[MAX_ARGS + 1] = {}, *files[MAX_ARGS + 1] = {};
        size_t nm = 0, np = 0, nf = 0;
        InitrdSpec s = { .compress = true };
        const char *out = NULL;
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "ho:", options, NULL)) >= 0)
                switch (c) {
                case 'r': s.root = optarg; break;
                case 'k': s.kver = optarg; break;
                case 'M': s.modules_dir = optarg; break;
                case 'm': if (nm < MAX_ARGS) modules[nm++] = optarg; break;
                case 'p': if (np < MAX_ARGS) programs[np++] = optarg; break;
                case 'f': if (nf < MAX_ARGS) files[nf++] = optarg; break;
                case 'i': s.init = optarg; break;
                case 'n': s.compress = false; break;
                case 'o': out = optarg; break;
                case 'h': return cmd_help(help);
                default: return cmd_usage_error("initrd", "unknown option");
                }
        if (optind != argc)
                return cmd_usage_error("initrd", "takes no positional arguments");
        if (!s.root || !out || (nm && !s.kver))
                return cmd_usage_error("initrd", "needs --root and -o (and --kver with --module)");
        for (size_t i = 0; i < np; i++)
                if (programs[i][0] != '/')
                        return cmd_usage_error("initrd", "--program %s: give the absolute path inside the root tree",
                                               programs[i]);
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
