/* SPDX-License-Identifier: MIT */
#pragma once

/* The option schema: every option a host file may set, with its type,
 * default, description and example.  The declared options live in
 * options.c; this file holds the types and the checks on values. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum OptionType {
        OPT_BOOL,
        OPT_INT,     /* with a range: min..max */
        OPT_STRING,
        OPT_ENUM,    /* a string from enum_values */
        OPT_SIZE,    /* "8G", "100M", "512K", "1T" or a byte count "4096" (binary units) */
        OPT_PATH,    /* an absolute path */
        OPT_LIST,    /* list of `elem` */
        OPT_GROUP,   /* a table with the fixed options in `children` */
        OPT_ATTRS,   /* a table of `elem` keyed by a name the user chooses (users.<name>) */
} OptionType;

typedef struct OptionDef OptionDef;

struct OptionDef {
        const char *name;              /* one component: "swap-size" */
        OptionType type;
        const char *description;
        const char *default_toml;      /* the default as a TOML value ("\"8G\"", "[1, 7]"); NULL: none */
        const char *example;           /* a TOML value, shown by `keystone options` */
        bool required;
        bool unique;                   /* lists: drop repeated elements (first one wins) */
        int64_t min, max;              /* OPT_INT (when min < max) */
        const char *const *enum_values;/* OPT_ENUM, NULL-terminated */
        const OptionDef *elem;         /* OPT_LIST element, OPT_ATTRS entry */
        const OptionDef *children;     /* OPT_GROUP: array ended by an entry with name NULL */
        /* extra check on strings / attrs names: returns NULL or a reason */
        const char *(*validate)(const char *value);
};

/* The root of the schema (an OPT_GROUP). */
const OptionDef *schema_root(void);

/* The child of a group by name, NULL when unknown. */
const OptionDef *schema_child(const OptionDef *group, const char *name);

/* Looks an option up by dotted name; "users.<name>.shell" and
 * "users.alice.shell" both find the shell option.  NULL when unknown. */
const OptionDef *schema_lookup(const char *dotted);

/* "size", "list of int (0..23)", "table of group keyed by name", … ; the
 * result is malloc'd. */
char *schema_type_describe(const OptionDef *o);

/* Parses a size ("8G", "100M", "512K", "1T", "4096"); binary units.
 * Returns 0 or -EINVAL / -ERANGE. */
int size_parse(const char *s, uint64_t *ret);

/* Levenshtein distance, capped for speed (returns cap+1 when larger). */
unsigned edit_distance(const char *a, const char *b, unsigned cap);

/* Whether s holds a control character or one of the characters of also:
 * what may not stand in one field of passwd, fstab or a comment line. */
bool text_has_control_or(const char *s, const char *also);

/* Validators usable by options (NULL: valid; else what is wrong). */
const char *validate_hostname(const char *s);
const char *validate_user_name(const char *s);
const char *validate_time_zone(const char *s);
const char *validate_dataset_name(const char *s);
const char *validate_mountpoint(const char *s);
const char *validate_ssh_public_key(const char *s);
const char *validate_esp_size(const char *s);
const char *validate_credstore_size(const char *s);
const char *validate_package_name(const char *s);
const char *validate_gecos(const char *s);
const char *validate_shell(const char *s);
const char *validate_pool_name(const char *s);
