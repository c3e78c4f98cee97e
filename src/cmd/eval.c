/* SPDX-License-Identifier: MIT */
/* keystone eval HOST.toml [--json] [--show-origin]: the merged configuration. */
#include <json-c/json.h>

#include "cmd/cmd.h"
#include "cmd/config-load.h"

#define EVAL_OPTIONS(X)                                                                                       \
        X(EVAL_OPT_JSON, "json", 0, NULL, NULL, "print JSON")                                                    \
        X(EVAL_OPT_SHOW_ORIGIN, "show-origin", 0, NULL, NULL,                                                    \
          "say where each value came from (FILE:LINE:COLUMN\n"                                                   \
          "or default); with --json: {\"config\": ...,\n"                                                       \
          "\"origins\": {option: origin}}")
enum { EVAL_OPTIONS(CMD_OPTION_ID) };
const CmdOption eval_options[] = { EVAL_OPTIONS(CMD_OPTION_ENTRY) {} };

const char eval_description[] =
        "Evaluate a host file: load it and everything it imports, merge the modules,\n"
        "fill in defaults, check every option against the schema, and print the\n"
        "merged configuration (as TOML, or JSON with --json).";

const char eval_epilog[] =
        "Exit status: 0 the host file is valid, 1 it is not (every problem is listed\n"
        "as FILE:LINE:COLUMN: OPTION: problem; what to do), 2 usage error.\n";

int cmd_eval(const CmdArgs *a) {
        bool json = cmd_flag(a, EVAL_OPT_JSON), origin = cmd_flag(a, EVAL_OPT_SHOW_ORIGIN);
        Config *cfg = NULL;
        int r = cmd_config_load(a->args[0], &cfg);
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
