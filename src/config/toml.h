/* SPDX-License-Identifier: MIT */
#pragma once

/* TOML 1.0.0 parser.  Debian has no C TOML library, so this is ours.
 *
 * toml_parse() builds a tree of TomlValue.  Every value and every key keeps
 * its source position (1-based line and column; the column counts Unicode
 * characters, a tab counts as one).  File names are not stored here: the
 * caller knows which file a document came from.
 *
 * Strings are UTF-8 and may contain NUL (from \u0000), so they carry their
 * length; they are also NUL-terminated for convenience.  Date-times are kept
 * as their normalised RFC 3339 text (as toml-test prints them: upper-case
 * 'T' and 'Z', space separator replaced by 'T') plus parsed fields. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Tables, arrays and dotted-key parts nest at most this deep; deeper input
 * is rejected with an error (this bounds the recursion of the parser and
 * of toml_write_tagged_json() on parsed trees). */
#define TOML_MAX_DEPTH 1000

typedef enum TomlType {
        TOML_TABLE,
        TOML_ARRAY,
        TOML_STRING,
        TOML_INTEGER,
        TOML_FLOAT,
        TOML_BOOL,
        TOML_DATETIME,       /* offset date-time */
        TOML_DATETIME_LOCAL, /* local date-time */
        TOML_DATE_LOCAL,
        TOML_TIME_LOCAL,
} TomlType;

typedef struct TomlPos {
        uint32_t line, column;
} TomlPos;

typedef struct TomlValue TomlValue;

typedef struct TomlKeyValue {
        char *key;           /* NUL-terminated; may contain NUL (key_len) */
        size_t key_len;
        TomlPos key_pos;     /* where the key (last part of a dotted key) is */
        TomlValue *value;
} TomlKeyValue;

typedef struct TomlDatetime {
        int year, month, day;              /* 0 for TOML_TIME_LOCAL */
        int hour, minute, second;          /* 0 for TOML_DATE_LOCAL */
        uint32_t nanosecond;               /* fraction, truncated to ns */
        int offset_minutes;                /* TOML_DATETIME only; Z is 0 */
} TomlDatetime;

struct TomlValue {
        TomlType type;
        TomlPos pos;  /* where the value starts ([table] header for tables it defines) */
        uint32_t internal; /* parser bookkeeping; 0 in nodes built by hand */
        union {
                struct {
                        char *ptr;
                        size_t len;
                } string;
                int64_t integer;
                double floating;
                bool boolean;
                struct {
                        char *text; /* normalised RFC 3339 text */
                        TomlDatetime dt;
                } datetime;
                struct {
                        TomlKeyValue *items; /* in document order */
                        size_t n;
                } table;
                struct {
                        TomlValue **items;
                        size_t n;
                } array;
        };
};

/* Parses size bytes of data (need not be NUL-terminated).  Returns 0 and a
 * root table in *ret, or -EINVAL (invalid TOML), -ENOMEM.  On failure
 * *ret_error is the reason, malloc'd, without the position (the caller
 * knows the file name and formats "FILE:LINE:COLUMN: reason"), and
 * *ret_error_pos where it is; either may be NULL.  A leading UTF-8 byte
 * order mark is skipped (positions count from after it).
 *
 * Ownership: a parsed document is one unit.  Its nodes, keys, strings and
 * items arrays live in memory owned by the root: toml_free(root) releases
 * all of it, toml_free() on any other node of it does nothing, and no part
 * of it may be free()d or realloc()ed (treat it as read-only).  To compose
 * trees, build nodes by hand with calloc() (internal = 0): such a node owns
 * its malloc()ed keys, strings and items arrays and its hand-built
 * children, and may also point at nodes of parsed documents (roots
 * included), which toml_free() of the hand-built node leaves to their
 * documents (keep those alive, free their roots yourself). */
int toml_parse(const char *data, size_t size, TomlValue **ret, TomlPos *ret_error_pos, char **ret_error);

void toml_free(TomlValue *v);

/* Lookup in a table by key (exact, NUL-terminated key); NULL when absent or
 * when v is not a table.  Linear in the number of keys of that table (the
 * parser's hash index is not kept after parsing). */
TomlValue *toml_table_get(const TomlValue *table, const char *key);
const TomlKeyValue *toml_table_get_kv(const TomlValue *table, const char *key);

/* "table", "array", "string", "integer", "float", "bool", "datetime",
 * "datetime-local", "date-local", "time-local" (toml-test's names). */
const char *toml_type_name(TomlType t);

/* Writes v as toml-test's tagged JSON to f. Returns 0 or -errno. */
#include <stdio.h>
int toml_write_tagged_json(const TomlValue *v, FILE *f);

/* Formats a float the way TOML spells it (inf, -inf, nan, shortest
 * round-trip decimal with a '.' or exponent).  buf ≥ 32 bytes. */
const char *toml_format_float(double d, char *buf, size_t size);
