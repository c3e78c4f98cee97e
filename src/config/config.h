/* SPDX-License-Identifier: MIT */
#pragma once

/* The module system: a host file and what it imports, merged into one
 * configuration checked against the option schema.
 *
 *  - `imports = [...]` lists built-in modules by name ("server") and other
 *    files by path relative to the importing file ("./users.toml").
 *  - Tables merge recursively; lists concatenate in import order (imports
 *    before the importing file); a file's value overrides the values of the
 *    files it imports (so the host file overrides every module); two files
 *    of which neither imports the other setting one scalar differently is an
 *    error naming both places.
 *  - Options nobody sets take the schema's default.
 *
 * Errors are collected (all of them, not only the first) as lines of the
 * form "FILE:LINE:COLUMN: OPTION: what is wrong; what to do", returned as
 * one message (the -errno + message convention of util/error-message.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/schema.h"

typedef struct ConfigOrigin {
        const char *file; /* NULL: the schema's default */
        uint32_t line, column;
} ConfigOrigin;

typedef struct ConfigNode ConfigNode;
struct ConfigNode {
        const OptionDef *def;
        char *name;            /* option name, attrs key, or "" for list elements */
        bool set;              /* has a value (from a file or a default) */
        ConfigOrigin origin;   /* where the value came from */
        bool b;                /* OPT_BOOL */
        int64_t i;             /* OPT_INT */
        char *s;               /* OPT_STRING, OPT_ENUM, OPT_PATH, OPT_SIZE (as written) */
        uint64_t size;         /* OPT_SIZE in bytes */
        ConfigNode **items;    /* OPT_GROUP children (schema order), OPT_ATTRS entries,
                                * OPT_LIST elements */
        size_t n_items;
        /* private to config.c */
        struct ConfigDef *defs;
        size_t n_defs;
};

typedef struct Config {
        ConfigNode *root;
        char **files;          /* every file that took part, host file last */
        size_t n_files;
} Config;

/* Loads and evaluates a host file.  Returns 0 and *ret, or -EINVAL with
 * every problem in *ret_error (malloc'd; one line each, "FILE:LINE:COLUMN:
 * OPTION: what is wrong; what to do", no newline at the end), or
 * -ENOENT/-EIO/... when the host file itself cannot be read (also
 * described in *ret_error, as one line).  ret_error may be NULL; it is
 * left NULL only when out of memory. */
int config_load(const char *host_path, Config **ret, char **ret_error);

/* One built-in module (and what it imports) evaluated alone, as if a host
 * file imported only it: required options are not demanded.  For what
 * Keystone adds to every host (the `base` module).  Errors as above. */
int config_load_module(const char *name, Config **ret, char **ret_error);

void config_free(Config *c);

/* Lookup by dotted name ("disk.swap-size", "users.alice.shell"). */
const ConfigNode *config_get(const Config *c, const char *dotted);
bool config_bool(const Config *c, const char *dotted);
int64_t config_int(const Config *c, const char *dotted);
const char *config_string(const Config *c, const char *dotted); /* NULL when unset */
uint64_t config_size(const Config *c, const char *dotted);

/* Output. */
struct json_object;
struct json_object *config_to_json(const Config *c);
struct json_object *config_origins_to_json(const Config *c);
int config_write_toml(const Config *c, FILE *f, bool show_origin);

/* Built-in modules (the files in modules/, embedded at build time; the directory
 * $KEYSTONE_MODULES_DIR replaces them when set). */
typedef struct BuiltinModule {
        const char *name;
        const char *data;
        size_t size;
} BuiltinModule;
extern const BuiltinModule builtin_modules[];  /* ends with name NULL */
