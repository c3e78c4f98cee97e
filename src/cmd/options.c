/* SPDX-License-Identifier: MIT */
/* keystone options [PREFIX] [--json]: the option reference, from the schema. */
#include <json-c/json.h>

#include "cmd/cmd.h"
#include "config/schema.h"

#define OPTIONS_OPTIONS(X)                                                                                    \
        X(OPTIONS_OPT_JSON, "json", 0, NULL, NULL,                                                               \
          "print a JSON array of {name, type, default,\n"                                                        \
          "required, description, example}")
enum { OPTIONS_OPTIONS(CMD_OPTION_ID) };
const CmdOption options_options[] = { OPTIONS_OPTIONS(CMD_OPTION_ENTRY) {} };

const char options_description[] =
        "Print every option a host file can set: its type, default, description and\n"
        "an example. With PREFIX (such as `disk` or `users.<name>`), only the options\n"
        "below it.";

typedef struct Walk {
        const char *prefix;
        json_object *array; /* NULL: text */
        size_t count;
} Walk;

static bool matches(const char *name, const char *prefix) {
        if (!prefix || !*prefix)
                return true;
        size_t l = strlen(prefix);
        /* "users.alice.shell" selects "users.<name>.shell" too */
        if (strneq(name, prefix, l) && (name[l] == 0 || name[l] == '.'))
                return true;
        return false;
}

static void emit(Walk *w, const OptionDef *o, const char *name) {
        _cleanup_free_ char *type = schema_type_describe(o);
        w->count++;
        if (w->array) {
                json_object *j = json_object_new_object();
                json_object_object_add(j, "name", json_object_new_string(name));
                json_object_object_add(j, "type", json_object_new_string(type ? type : "?"));
                json_object_object_add(j, "default", o->default_toml ? json_object_new_string(o->default_toml) : NULL);
                json_object_object_add(j, "required", json_object_new_boolean(o->required));
                json_object_object_add(j, "description", json_object_new_string(o->description ? o->description : ""));
                json_object_object_add(j, "example", o->example ? json_object_new_string(o->example) : NULL);
                json_object_array_add(w->array, j);
                return;
        }
        printf("%s\n", name);
        printf("    type: %s", type ? type : "?");
        if (o->required)
                printf("    required");
        else if (o->default_toml)
                printf("    default: %s", o->default_toml);
        else
                printf("    default: (not set)");
        printf("\n");
        if (o->description)
                printf("    %s\n", o->description);
        if (o->example)
                printf("    example: %s = %s\n", o->name, o->example);
        printf("\n");
}

static void walk(Walk *w, const OptionDef *group, const char *prefix) {
        for (const OptionDef *o = group->children; o->name; o++) {
                char name[512];
                snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", o->name);
                if (o->type == OPT_GROUP) {
                        walk(w, o, name);
                        continue;
                }
                if (matches(name, w->prefix))
                        emit(w, o, name);
                if (o->type == OPT_ATTRS && o->elem->type == OPT_GROUP) {
                        char sub[600];
                        snprintf(sub, sizeof sub, "%s.<name>", name);
                        walk(w, o->elem, sub);
                }
        }
}

int cmd_options(const CmdArgs *a) {
        bool json = cmd_flag(a, OPTIONS_OPT_JSON);
        /* users.alice.shell → users.<name>.shell */
        char prefix[512] = "";
        if (a->n_args > 0) {
                const char *p = a->args[0];
                const OptionDef *o = schema_root();
                char *out = prefix;
                while (*p && (size_t) (out - prefix) < sizeof prefix - 16) {
                        size_t l = strcspn(p, ".");
                        char part[256];
                        snprintf(part, sizeof part, "%.*s", (int) l, p);
                        if (o && o->type == OPT_ATTRS) {
                                out += sprintf(out, "%s<name>", out == prefix ? "" : ".");
                                o = o->elem;
                        } else {
                                out += snprintf(out, prefix + sizeof prefix - out, "%s%s", out == prefix ? "" : ".", part);
                                o = o ? schema_child(o, part) : NULL;
                        }
                        p += l;
                        if (*p == '.')
                                p++;
                }
        }

        Walk w = { .prefix = prefix, .array = json ? json_object_new_array() : NULL };
        walk(&w, schema_root(), "");
        if (w.count == 0) {
                json_object_put(w.array);
                return log_error_errno(-ENOENT, "No option is named %s or starts with %s.; "
                                       "run 'keystone options' for the whole list", a->args[0], a->args[0]);
        }
        if (json) {
                puts(json_object_to_json_string_ext(w.array, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(w.array);
        }
        return 0;
}
