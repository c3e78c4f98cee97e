/* SPDX-License-Identifier: MIT */
/* toml-test decoder: TOML on stdin (or in FILE) → toml-test's tagged JSON
 * on stdout.  Exit 0 ok; 1 invalid TOML ("line L, column C: reason" on
 * stderr) or I/O error; 2 usage.  --no-output only parses (for bench/). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"
#include "util/file-bytes.h"
#include "util/macro.h"

static void help(void) {
        printf("Usage: toml-test-decoder [--no-output] [FILE]\n"
               "Reads TOML from FILE or stdin and prints it as toml-test tagged JSON.\n"
               "  --no-output  only parse (for benchmarks)\n"
               "Exit status: 0 ok, 1 invalid TOML or I/O error, 2 usage.\n");
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "no-output", no_argument, NULL, 'n' },
                {}
        };
        bool output = true;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'n':
                        output = false;
                        break;
                default:
                        return 2;
                }
        if (argc - optind > 1) {
                fprintf(stderr, "toml-test-decoder: too many arguments (see --help)\n");
                return 2;
        }

        const char *name = optind < argc ? argv[optind] : "<stdin>";
        _cleanup_fclose_ FILE *file = NULL;
        FILE *in = stdin;
        if (optind < argc) {
                file = fopen(name, "re");
                if (!file) {
                        fprintf(stderr, "toml-test-decoder: cannot open %s: %m\n", name);
                        return 1;
                }
                in = file;
        }

        _cleanup_free_ uint8_t *bytes = NULL;
        size_t size;
        int r = read_fd_bytes(fileno(in), 0, &bytes, &size);
        if (r < 0) {
                fprintf(stderr, "toml-test-decoder: cannot read %s: %s\n", name, strerror(-r));
                return 1;
        }

        TomlValue *root = NULL;
        TomlPos pos = {};
        _cleanup_free_ char *error = NULL;
        r = toml_parse((const char *) bytes, size, &root, &pos, &error);
        if (r == -EINVAL) {
                fprintf(stderr, "line %u, column %u: %s\n", pos.line, pos.column, error);
                return 1;
        }
        if (r < 0) {
                fprintf(stderr, "toml-test-decoder: cannot parse %s: %s\n", name, strerror(-r));
                return 1;
        }
        if (output) {
                r = toml_write_tagged_json(root, stdout);
                if (r < 0) {
                        fprintf(stderr, "toml-test-decoder: cannot write JSON: %s\n", strerror(-r));
                        toml_free(root);
                        return 1;
                }
        }
        toml_free(root);
        return 0;
}
