/* SPDX-License-Identifier: MIT */
/* keystone eval HOST.toml [--json] [--show-origin] */
#include <json-c/json.h>

#include "cmd/cmd.h"
#include "cmd/config-load.h"

static const char help[] =
        "Usage: keystone eval HOST.toml [--json] [--show-origin]\n"
        "\n"
        "Evaluate a host file: load it and everything it imports, merge the modules,\n"
        "fill in defaults, check every option against the schema, and print the\n"
        "merged configuration (as TOML, or JSON with --json).\n"
        "\n"
        "  --json          print JSON\n"
        "  --show-origin   say where each value came from (FILE:LINE:COLUMN or default);\n"
        "                  with --json: {\"config\": ..., \"origins\": {option: origin}}\n"
        "  -h, --help      this text\n"
        "\n"
        "Exit status: 0 the host file is valid, 1 it is not (every problem is listed\n"
        "as FILE:LINE:COLUMN: OPTION: problem; what to do), 2 usage error.\n";

int cmd_eval(int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "show-origin", no_argument, NULL, 'o' },
                CMD_COMMON_OPTIONS,
                {}
        };
        bool json = false, origin = false;
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'j': json = true; break;
                case 'o': origin = true; break;
                case 'h': return cmd_help(help);
                default: return cmd_usage_error("eval", "unknown option");
                }
        int r = cmd_check_args("eval", argc - optind);
        if (r < 0)
                return r;

        Config *cfg = NULL;
        r = cmd_config_load(argv[optind], &cfg);
        if (r < 0)
                return r;

        if (json) {
                json_object *o = config_to_json(cfg);
                if (origin) {
                        json_object *w = json_object_new_object();
                        json_object_object_add(w, "config", o);
                        json_object_object_add(w, "origins", config_origins_to_json(cfg));
                        o = w;
                }
                puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
        } else
                r = config_write_toml(cfg, stdout, origin);
        config_free(cfg);
        if (fflush(stdout) != 0 || r < 0)
                return log_error_errno(r < 0 ? r : -EIO, "Failed to write the configuration: %m");
        return 0;
}
