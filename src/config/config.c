/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>

#include "config/config.h"
#include "util/fs.h"
#include "config/toml.h"
#include "util/macro.h"

#define MAX_FILES 256
#define MAX_FILE_SIZE (16u << 20)
#define MAX_DIAGNOSTICS 50

/* Every problem found, each "FILE:LINE:COLUMN: what; what to do"; joined
 * into one message, a line each, for the caller. */
typedef struct Diagnostics {
        char **messages;
        size_t n;
} Diagnostics;

/* One definition of an option by one file. */
typedef struct ConfigDef {
        size_t file;          /* index into Eval.files */
        ConfigNode *value;    /* a converted leaf, or a list node with elements */
} ConfigDef;

typedef struct SourceFile {
        char *display;        /* how messages name it */
        char *key;            /* identity: realpath, or "builtin:NAME" */
        char *dir;            /* for relative imports; NULL for built-in modules */
        char *data;
        size_t size;
        TomlValue *toml;
        int state;            /* 0 new, 1 loading (on the import stack), 2 loaded */
        size_t *imports;      /* direct imports (indices) */
        size_t n_imports;
} SourceFile;

typedef struct Eval {
        SourceFile files[MAX_FILES];
        size_t n_files;
        size_t order[MAX_FILES];  /* post-order: imports before importers */
        size_t n_order;
        bool *reach;              /* reach[a * n + b]: a imports b, transitively */
        Diagnostics *diag;
        bool module_only;         /* config_load_module(): no host file, nothing required */
        char *root_dir;           /* the host file's directory (real path): imports stay below it */
} Eval;

static void diag_add(Diagnostics *d, const char *file, uint32_t line, uint32_t col,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void diag_add(Diagnostics *d, const char *file, uint32_t line, uint32_t col,
                     const char *fmt, ...) {
        if (d->n >= MAX_DIAGNOSTICS)
                return;
        char *msg = NULL, *full = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg)
                return;
        int r;
        if (line > 0)
                r = asprintf(&full, "%s:%" PRIu32 ":%" PRIu32 ": %s", file, line, col, msg);
        else
                r = asprintf(&full, "%s: %s", file, msg);
        free(msg);
        if (r < 0)
                return;
        char **n = realloc(d->messages, (d->n + 1) * sizeof(char *));
        if (!n) {
                free(full);
                return;
        }
        d->messages = n;
        d->messages[d->n++] = full;
}

static void diag_done(Diagnostics *d) {
        for (size_t i = 0; i < d->n; i++)
                free(d->messages[i]);
        free(d->messages);
        *d = (Diagnostics) {};
}

/* The messages as one text, a line each (no newline at the end); NULL
 * when out of memory. */
static char *diag_join(const Diagnostics *d) {
        size_t len = 0;
        for (size_t i = 0; i < d->n; i++)
                len += strlen(d->messages[i]) + 1;
        char *text = malloc(len + 1), *p = text;
        if (!text)
                return NULL;
        *p = 0;
        for (size_t i = 0; i < d->n; i++)
                p = stpcpy(stpcpy(p, i ? "\n" : ""), d->messages[i]);
        return text;
}

/* ---- nodes ---------------------------------------------------------------- */

static void node_free(ConfigNode *n) {
        if (!n)
                return;
        for (size_t i = 0; i < n->n_items; i++)
                node_free(n->items[i]);
        for (size_t i = 0; i < n->n_defs; i++)
                node_free(n->defs[i].value);
        free(n->items);
        free(n->defs);
        free(n->name);
        free(n->s);
        free(n);
}

DEFINE_POINTER_CLEANUP(ConfigNode, node_free)

static int node_append(ConfigNode *parent, ConfigNode *child) {
        ConfigNode **items = realloc(parent->items, (parent->n_items + 1) * sizeof(ConfigNode *));
        if (!items)
                return -ENOMEM;
        parent->items = items;
        parent->items[parent->n_items++] = child;
        return 0;
}

/* A node for def; groups get their children at once. */
static ConfigNode *node_new(const OptionDef *def, const char *name) {
        ConfigNode *n = calloc(1, sizeof(*n));
        if (!n)
                return NULL;
        n->def = def;
        n->name = strdup(name);
        if (!n->name) {
                free(n);
                return NULL;
        }
        if (def->type == OPT_GROUP)
                for (const OptionDef *c = def->children; c->name; c++) {
                        ConfigNode *k = node_new(c, c->name);
                        if (!k || node_append(n, k) < 0) {
                                node_free(k);
                                node_free(n);
                                return NULL;
                        }
                }
        return n;
}

static ConfigNode *node_child(const ConfigNode *n, const char *name) {
        for (size_t i = 0; i < n->n_items; i++)
                if (streq(n->items[i]->name, name))
                        return n->items[i];
        return NULL;
}

/* ---- suggestions ---------------------------------------------------------- */

static bool find_by_leaf_name(const OptionDef *g, const char *prefix, const char *key,
                              char *out, size_t size) {
        for (const OptionDef *o = g->children; o->name; o++) {
                char full[256];
                snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "." : "", o->name);
                if (streq(o->name, key)) {
                        snprintf(out, size, "%s", full);
                        return true;
                }
                if (o->type == OPT_GROUP && find_by_leaf_name(o, full, key, out, size))
                        return true;
                if (o->type == OPT_ATTRS && o->elem->type == OPT_GROUP) {
                        char sub[300];
                        snprintf(sub, sizeof sub, "%s.<name>", full);
                        if (find_by_leaf_name(o->elem, sub, key, out, size))
                                return true;
                }
        }
        return false;
}

/* "did you mean `disk.swap-size`?" or "" */
static void suggest(const OptionDef *group, const char *prefix, const char *key, char *out, size_t size) {
        *out = 0;
        const OptionDef *best = NULL;
        unsigned best_d = UINT_MAX, cap = strlen(key) / 3 > 2 ? strlen(key) / 3 : 2;
        for (const OptionDef *o = group->children; o->name; o++) {
                unsigned d = edit_distance(key, o->name, cap);
                if (d <= cap && d < best_d) {
                        best = o;
                        best_d = d;
                }
        }
        char found[300];
        if (best)
                snprintf(out, size, "; did you mean `%s%s%s`?", prefix, *prefix ? "." : "", best->name);
        else if (find_by_leaf_name(schema_root(), "", key, found, sizeof found))
                snprintf(out, size, "; did you mean `%s`?", found);
}

/* ---- converting TOML values ----------------------------------------------- */

static const char *toml_kind(const TomlValue *v) {
        switch (v->type) {
        case TOML_TABLE: return "a table";
        case TOML_ARRAY: return "a list";
        case TOML_STRING: return "a string";
        case TOML_INTEGER: return "an integer";
        case TOML_FLOAT: return "a float";
        case TOML_BOOL: return "a bool";
        default: return "a date/time";
        }
}

static const char *expected(const OptionDef *o, char *buf, size_t size) {
        switch (o->type) {
        case OPT_BOOL: return "true or false";
        case OPT_INT: return "an integer";
        case OPT_STRING: return "a string";
        case OPT_ENUM: {
                char *p = buf;
                p += snprintf(p, size, "one of");
                for (const char *const *e = o->enum_values; *e && (size_t) (p - buf) < size - 40; e++)
                        p += sprintf(p, "%s\"%s\"", e == o->enum_values ? " " : ", ", *e);
                return buf;
        }
        case OPT_SIZE: return "a size such as \"8G\", \"100M\" or \"512K\"";
        case OPT_PATH: return "an absolute path (a string starting with '/')";
        case OPT_LIST: return "a list [ ... ]";
        case OPT_GROUP: return "a table";
        case OPT_ATTRS: return "a table of named entries";
        }
        return "?";
}

/* Converts a scalar TOML value for option o; NULL (with a diagnostic) when
 * it does not fit. */
static ConfigNode *convert_scalar(Eval *e, const OptionDef *o, const char *path, const TomlValue *v,
                                  const char *file, bool *oom) {
        char buf[512];
        const char *why = NULL;
        _cleanup_(node_freep) ConfigNode *n = NULL;
        n = calloc(1, sizeof(*n));
        if (!n || !(n->name = strdup(""))) {
                *oom = true;
                return NULL;
        }
        n->def = o;
        n->set = true;
        n->origin = (ConfigOrigin) { file, v->pos.line, v->pos.column };

        switch (o->type) {
        case OPT_BOOL:
                if (v->type != TOML_BOOL)
                        goto wrong_type;
                n->b = v->boolean;
                break;
        case OPT_INT:
                if (v->type != TOML_INTEGER)
                        goto wrong_type;
                if (o->min < o->max && (v->integer < o->min || v->integer > o->max)) {
                        diag_add(e->diag, file, v->pos.line, v->pos.column,
                                 "%s: %" PRId64 " is out of range; use a value from %" PRId64 " to %" PRId64,
                                 path, v->integer, o->min, o->max);
                        return NULL;
                }
                n->i = v->integer;
                break;
        case OPT_STRING:
        case OPT_ENUM:
        case OPT_PATH:
        case OPT_SIZE:
                if (v->type != TOML_STRING) {
                        if (o->type == OPT_SIZE && v->type == TOML_INTEGER) {
                                diag_add(e->diag, file, v->pos.line, v->pos.column,
                                         "%s: a size is a string with a unit; write \"%" PRId64 "G\" for "
                                         "gibibytes, \"%" PRId64 "M\" for mebibytes (got the bare number %" PRId64 ")",
                                         path, v->integer, v->integer, v->integer);
                                return NULL;
                        }
                        goto wrong_type;
                }
                if (strlen(v->string.ptr) != v->string.len) {
                        diag_add(e->diag, file, v->pos.line, v->pos.column,
                                 "%s: the string contains a NUL character; remove it", path);
                        return NULL;
                }
                n->s = strdup(v->string.ptr);
                if (!n->s) {
                        *oom = true;
                        return NULL;
                }
                if (o->type == OPT_ENUM) {
                        bool ok = false;
                        for (const char *const *x = o->enum_values; *x; x++)
                                ok = ok || streq(*x, n->s);
                        if (!ok) {
                                diag_add(e->diag, file, v->pos.line, v->pos.column,
                                         "%s: \"%s\" is not allowed; use %s", path, n->s,
                                         expected(o, buf, sizeof buf));
                                return NULL;
                        }
                } else if (o->type == OPT_PATH) {
                        if (n->s[0] != '/')
                                why = "a path here is absolute (it names a file on the installed "
                                      "machine); start it with '/'";
                } else if (o->type == OPT_SIZE) {
                        int r = size_parse(n->s, &n->size);
                        if (r == -ERANGE)
                                why = "the size is too large";
                        else if (r < 0)
                                why = "a size is a number with an optional unit K, M, G or T "
                                      "(binary: 1G = 1024M), such as \"8G\"";
                }
                if (!why && o->validate)
                        why = o->validate(n->s);
                if (why) {
                        diag_add(e->diag, file, v->pos.line, v->pos.column, "%s: \"%s\": %s", path, n->s, why);
                        return NULL;
                }
                break;
        default:
                goto wrong_type;
        }
        return TAKE_PTR(n);

wrong_type:
        if (o->example)
                diag_add(e->diag, file, v->pos.line, v->pos.column, "%s: expected %s, got %s; for example: %s = %s",
                         path, expected(o, buf, sizeof buf), toml_kind(v), o->name, o->example);
        else
                diag_add(e->diag, file, v->pos.line, v->pos.column, "%s: expected %s, got %s",
                         path, expected(o, buf, sizeof buf), toml_kind(v));
        return NULL;
}

static int add_def(ConfigNode *node, size_t file, ConfigNode *value) {
        ConfigDef *d = realloc(node->defs, (node->n_defs + 1) * sizeof(ConfigDef));
        if (!d)
                return -ENOMEM;
        node->defs = d;
        node->defs[node->n_defs++] = (ConfigDef) { file, value };
        return 0;
}

/* ---- walking one file against the schema ---------------------------------- */

static int walk(Eval *e, size_t fi, ConfigNode *node, const char *path, const TomlValue *v, TomlPos key_pos);

static int walk_table_entries(Eval *e, size_t fi, ConfigNode *node, const char *path, const TomlValue *v,
                              bool is_root) {
        const OptionDef *o = node->def;
        const char *file = e->files[fi].display;
        for (size_t i = 0; i < v->table.n; i++) {
                const TomlKeyValue *kv = &v->table.items[i];
                if (is_root && streq(kv->key, "imports"))
                        continue; /* handled while loading */
                char sub[1024];
                snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", kv->key);
                if (strlen(kv->key) != kv->key_len) {
                        diag_add(e->diag, file, kv->key_pos.line, kv->key_pos.column,
                                 "a key contains a NUL character; remove it");
                        continue;
                }
                if (o->type == OPT_ATTRS) {
                        const char *why = o->elem->validate ? o->elem->validate(kv->key) : NULL;
                        if (why) {
                                diag_add(e->diag, file, kv->key_pos.line, kv->key_pos.column,
                                         "%s: invalid name \"%s\": %s", path, kv->key, why);
                                continue;
                        }
                        ConfigNode *entry = node_child(node, kv->key);
                        if (!entry) {
                                entry = node_new(o->elem, kv->key);
                                if (!entry || node_append(node, entry) < 0) {
                                        node_free(entry);
                                        return -ENOMEM;
                                }
                        }
                        int r = walk(e, fi, entry, sub, kv->value, kv->key_pos);
                        if (r < 0)
                                return r;
                        continue;
                }
                ConfigNode *child = node_child(node, kv->key);
                if (!child) {
                        char hint[400];
                        suggest(o, path, kv->key, hint, sizeof hint);
                        if (*hint)
                                diag_add(e->diag, file, kv->key_pos.line, kv->key_pos.column,
                                         "unknown option `%s`%s", sub, hint);
                        else
                                diag_add(e->diag, file, kv->key_pos.line, kv->key_pos.column,
                                         "unknown option `%s`; `keystone options%s%s` lists the options",
                                         sub, *path ? " " : "", path);
                        continue;
                }
                int r = walk(e, fi, child, sub, kv->value, kv->key_pos);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int walk(Eval *e, size_t fi, ConfigNode *node, const char *path, const TomlValue *v, TomlPos key_pos) {
        const OptionDef *o = node->def;
        const char *file = e->files[fi].display;
        char buf[512];
        bool oom = false;

        switch (o->type) {
        case OPT_GROUP:
        case OPT_ATTRS:
                if (v->type != TOML_TABLE) {
                        diag_add(e->diag, file, v->pos.line, v->pos.column,
                                 "%s: expected %s, got %s; write [%s] and the options below it",
                                 path, expected(o, buf, sizeof buf), toml_kind(v), path);
                        return 0;
                }
                return walk_table_entries(e, fi, node, path, v, false);
        case OPT_LIST: {
                if (v->type != TOML_ARRAY) {
                        diag_add(e->diag, file, v->pos.line, v->pos.column,
                                 "%s: expected a list [ ... ] of %s, got %s; for example: %s = %s", path,
                                 expected(o->elem, buf, sizeof buf), toml_kind(v), o->name,
                                 o->example ? o->example : "[]");
                        return 0;
                }
                _cleanup_(node_freep) ConfigNode *list = calloc(1, sizeof(ConfigNode));
                if (!list || !(list->name = strdup("")))
                        return -ENOMEM;
                list->def = o;
                list->set = true;
                list->origin = (ConfigOrigin) { file, v->pos.line, v->pos.column };
                bool ok = true;
                for (size_t i = 0; i < v->array.n; i++) {
                        char sub[1100];
                        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
                        ConfigNode *x = convert_scalar(e, o->elem, sub, v->array.items[i], file, &oom);
                        if (oom)
                                return -ENOMEM;
                        if (!x) {
                                ok = false;
                                continue;
                        }
                        if (node_append(list, x) < 0) {
                                node_free(x);
                                return -ENOMEM;
                        }
                }
                if (ok && add_def(node, fi, list) >= 0)
                        TAKE_PTR(list);
                return 0;
        }
        default: {
                ConfigNode *x = convert_scalar(e, o, path, v, file, &oom);
                if (oom)
                        return -ENOMEM;
                if (x && add_def(node, fi, x) < 0) {
                        node_free(x);
                        return -ENOMEM;
                }
                return 0;
        }
        }
}

/* ---- resolving definitions into values ------------------------------------ */

static bool same_value(const ConfigNode *a, const ConfigNode *b) {
        switch (a->def->type) {
        case OPT_BOOL: return a->b == b->b;
        case OPT_INT: return a->i == b->i;
        case OPT_SIZE: return a->size == b->size;
        default: return streq(a->s, b->s);
        }
}

static void describe_value(const ConfigNode *n, char *buf, size_t size) {
        switch (n->def->type) {
        case OPT_BOOL: snprintf(buf, size, "%s", n->b ? "true" : "false"); break;
        case OPT_INT: snprintf(buf, size, "%" PRId64, n->i); break;
        default: snprintf(buf, size, "\"%s\"", n->s); break;
        }
}

static void take_value(ConfigNode *dst, ConfigNode *src) {
        dst->set = true;
        dst->origin = src->origin;
        dst->b = src->b;
        dst->i = src->i;
        dst->size = src->size;
        free(dst->s);
        dst->s = TAKE_PTR(src->s);
        for (size_t i = 0; i < src->n_items; i++)
                if (node_append(dst, src->items[i]) >= 0)
                        src->items[i] = NULL;
}

/* Parses a schema default ("\"8G\"", "[1, 7]") into node. */
static int apply_default(Eval *e, ConfigNode *node, const char *path) {
        const OptionDef *o = node->def;
        if (!o->default_toml)
                return 0;
        _cleanup_free_ char *doc = NULL;
        if (asprintf(&doc, "v = %s\n", o->default_toml) < 0)
                return -ENOMEM;
        TomlValue *t = NULL;
        _cleanup_free_ char *err = NULL;
        if (toml_parse(doc, strlen(doc), &t, NULL, &err) < 0) {
                diag_add(e->diag, "(schema)", 0, 0, "%s: invalid default %s: %s", path, o->default_toml,
                         err ? err : "out of memory");
                return 0;
        }
        const TomlValue *v = toml_table_get(t, "v");
        if (!v) {
                toml_free(t);
                return -EINVAL;
        }
        size_t before = e->diag->n;
        int r = 0;
        bool oom = false;
        if (o->type == OPT_LIST && v->type == TOML_ARRAY) {
                for (size_t i = 0; i < v->array.n; i++) {
                        ConfigNode *x = convert_scalar(e, o->elem, path, v->array.items[i], NULL, &oom);
                        if (x && node_append(node, x) < 0) {
                                node_free(x);
                                r = -ENOMEM;
                        }
                }
                node->set = true;
        } else if (o->type != OPT_ATTRS && o->type != OPT_GROUP) {
                ConfigNode *x = convert_scalar(e, o, path, v, NULL, &oom);
                if (x) {
                        take_value(node, x);
                        node_free(x);
                }
        }
        node->origin = (ConfigOrigin) {};
        if (oom)
                r = -ENOMEM;
        if (e->diag->n > before)
                diag_add(e->diag, "(schema)", 0, 0, "%s: the built-in default does not fit its own type", path);
        toml_free(t);
        return r;
}

static bool imports(const Eval *e, size_t a, size_t b) {
        return e->reach[a * e->n_files + b];
}

static int resolve(Eval *e, ConfigNode *node, const char *path, const char *host_file) {
        const OptionDef *o = node->def;
        int r;

        if (o->type == OPT_GROUP || o->type == OPT_ATTRS) {
                for (size_t i = 0; i < node->n_items; i++) {
                        char sub[1024];
                        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", node->items[i]->name);
                        r = resolve(e, node->items[i], sub, host_file);
                        if (r < 0)
                                return r;
                }
                node->set = true;
                return 0;
        }

        if (node->n_defs == 0) {
                if (o->default_toml)
                        return apply_default(e, node, path);
                if (o->required && !e->module_only) {
                        char buf[512];
                        const char *dot = strrchr(path, '.');
                        _cleanup_free_ char *table = dot ? strndup(path, dot - path) : NULL;
                        diag_add(e->diag, host_file, 1, 1,
                                 "missing required option `%s` (%s); add it to the host file: %s%s%s%s = %s",
                                 path, expected(o, buf, sizeof buf),
                                 table ? "[" : "", table ? table : "", table ? "] " : "", o->name,
                                 o->example ? o->example : "...");
                }
                return 0;
        }

        if (o->type == OPT_LIST) {
                /* concatenate in import order; `unique` drops repeats */
                for (size_t d = 0; d < node->n_defs; d++) {
                        ConfigNode *l = node->defs[d].value;
                        for (size_t i = 0; i < l->n_items; i++) {
                                bool dup = false;
                                for (size_t j = 0; o->unique && j < node->n_items && !dup; j++)
                                        dup = same_value(node->items[j], l->items[i]);
                                if (dup)
                                        continue;
                                if (node_append(node, l->items[i]) < 0)
                                        return -ENOMEM;
                                l->items[i] = NULL;
                        }
                }
                node->set = true;
                node->origin = node->defs[node->n_defs - 1].value->origin;
                return 0;
        }

        /* Scalars: a definition is overridden by one from a file that imports
         * its file; what is left must agree. */
        ssize_t winner = -1;
        for (size_t d = 0; d < node->n_defs; d++) {
                bool overridden = false;
                for (size_t k = 0; k < node->n_defs && !overridden; k++)
                        overridden = k != d && node->defs[k].file != node->defs[d].file &&
                                imports(e, node->defs[k].file, node->defs[d].file);
                if (overridden)
                        continue;
                if (winner >= 0 && !same_value(node->defs[winner].value, node->defs[d].value)) {
                        ConfigNode *a = node->defs[winner].value, *b = node->defs[d].value;
                        char va[300], vb[300];
                        describe_value(a, va, sizeof va);
                        describe_value(b, vb, sizeof vb);
                        diag_add(e->diag, b->origin.file, b->origin.line, b->origin.column,
                                 "%s: conflicting definitions: %s here and %s at %s:%" PRIu32 ":%" PRIu32
                                 "; neither file imports the other, so set %s in the host file (%s) to choose",
                                 path, vb, va, a->origin.file, a->origin.line, a->origin.column, path, host_file);
                        return 0;
                }
                winner = d;
        }
        take_value(node, node->defs[winner].value);
        return 0;
}

/* ---- loading files and imports --------------------------------------------- */

/* -EISDIR, -EBADFD (not a regular file: a FIFO, device or socket, which
 * could block or never end), -EFBIG (over MAX_FILE_SIZE): see
 * read_error_text(). */
static int read_file(const char *path, char **ret, size_t *ret_size) {
        return read_file_text(path, MAX_FILE_SIZE, ret, ret_size);
}

static const char *read_error_text(int r) {
        if (r == -EBADFD)
                return "not a regular file (a FIFO, device or socket); give the path of a .toml file";
        if (r == -EFBIG)
                return "larger than 16 MiB, the most a host file or module may be";
        return strerror(-r);
}

static const BuiltinModule *builtin_find(const char *name) {
        for (const BuiltinModule *m = builtin_modules; m->name; m++)
                if (streq(m->name, name))
                        return m;
        return NULL;
}

static void builtin_names(char *buf, size_t size) {
        char *p = buf;
        *p = 0;
        for (const BuiltinModule *m = builtin_modules; m->name && (size_t) (p - buf) < size - 64; m++)
                p += sprintf(p, "%s%s", m == builtin_modules ? "" : ", ", m->name);
}

static bool is_path_import(const char *s) {
        return strchr(s, '/') || (strlen(s) > 5 && streq(s + strlen(s) - 5, ".toml"));
}

static int load(Eval *e, const char *name, ssize_t from, TomlPos pos, size_t *stack, size_t depth);

static int load_imports(Eval *e, size_t fi, size_t *stack, size_t depth) {
        SourceFile *f = &e->files[fi];
        const TomlKeyValue *kv = toml_table_get_kv(f->toml, "imports");
        if (!kv)
                return 0;
        const TomlValue *v = kv->value;
        if (v->type != TOML_ARRAY) {
                diag_add(e->diag, f->display, v->pos.line, v->pos.column,
                         "imports: expected a list of module names and relative paths, got %s; "
                         "for example: imports = [\"server\", \"./users.toml\"]", toml_kind(v));
                return 0;
        }
        for (size_t i = 0; i < v->array.n; i++) {
                const TomlValue *x = v->array.items[i];
                if (x->type != TOML_STRING || strlen(x->string.ptr) != x->string.len || !x->string.len) {
                        diag_add(e->diag, f->display, x->pos.line, x->pos.column,
                                 "imports[%zu]: expected a module name or a relative path (a non-empty string)", i);
                        continue;
                }
                int r = load(e, x->string.ptr, fi, x->pos, stack, depth);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_import(SourceFile *f, size_t idx) {
        size_t *n = realloc(f->imports, (f->n_imports + 1) * sizeof(size_t));
        if (!n)
                return -ENOMEM;
        f->imports = n;
        f->imports[f->n_imports++] = idx;
        return 0;
}

/* Loads `name` (a path, or a module name when imported) and, depth first,
 * what it imports. from = -1 for the host file. */
static int load(Eval *e, const char *name, ssize_t from, TomlPos pos, size_t *stack, size_t depth) {
        SourceFile *parent = from >= 0 ? &e->files[from] : NULL;
        _cleanup_free_ char *display = NULL, *key = NULL, *dir = NULL, *data = NULL;
        size_t size = 0;
        const char *pfile = parent ? parent->display : name;

        if ((parent || e->module_only) && !is_path_import(name)) {
                const char *mdir = getenv("KEYSTONE_MODULES_DIR");
                if (mdir && *mdir) {
                        if (asprintf(&display, "%s/%s.toml", mdir, name) < 0)
                                return -ENOMEM;
                        int r = read_file(display, &data, &size);
                        if (r < 0) {
                                diag_add(e->diag, pfile, pos.line, pos.column,
                                         "imports: unknown module `%s`: cannot read %s: %s; "
                                         "check KEYSTONE_MODULES_DIR", name, display, read_error_text(r));
                                return 0;
                        }
                } else {
                        const BuiltinModule *m = builtin_find(name);
                        if (!m) {
                                char names[1024], hint[256] = "";
                                builtin_names(names, sizeof names);
                                unsigned best = 3;
                                for (const BuiltinModule *b = builtin_modules; b->name; b++) {
                                        unsigned d = edit_distance(name, b->name, 2);
                                        if (d < best) {
                                                best = d;
                                                snprintf(hint, sizeof hint, "did you mean `%s`? ", b->name);
                                        }
                                }
                                diag_add(e->diag, pfile, pos.line, pos.column,
                                         "imports: unknown module `%s`; %sbuilt-in modules are: %s; "
                                         "import another file by a relative path such as \"./%s.toml\"",
                                         name, hint, names, name);
                                return 0;
                        }
                        if (asprintf(&display, "modules/%s.toml", name) < 0)
                                return -ENOMEM;
                        data = malloc(m->size + 1);
                        if (!data)
                                return -ENOMEM;
                        memcpy(data, m->data, m->size);
                        data[m->size] = 0;
                        size = m->size;
                }
                if (asprintf(&key, "builtin:%s", name) < 0)
                        return -ENOMEM;
        } else {
                if (parent && !parent->dir) {
                        diag_add(e->diag, pfile, pos.line, pos.column,
                                 "imports: a built-in module imports only other modules by name, not \"%s\"", name);
                        return 0;
                }
                if (parent && name[0] != '/') {
                        if (asprintf(&display, "%s/%s", parent->dir, name) < 0)
                                return -ENOMEM;
                } else if (!(display = strdup(name)))
                        return -ENOMEM;
                char real[PATH_MAX];
                if (!realpath(display, real)) {
                        int r = -errno;
                        if (parent)
                                diag_add(e->diag, pfile, pos.line, pos.column,
                                         "imports: cannot read \"%s\" (%s): %s; paths are relative to the importing "
                                         "file, module names have no '/' or \".toml\"",
                                         name, display, strerror(-r));
                        else
                                diag_add(e->diag, display, 0, 0, "cannot read the host file: %s", strerror(-r));
                        return parent ? 0 : r;
                }
                if (!parent) {
                        _cleanup_free_ char *rc = strdup(real);
                        if (!rc || !(e->root_dir = strdup(dirname(rc))))
                                return -ENOMEM;
                } else {
                        /* an import reads only .toml files below the host file's directory */
                        size_t rl = strlen(e->root_dir), n = strlen(real);
                        bool below = strncmp(real, e->root_dir, rl) == 0 &&
                                     (real[rl] == '/' || streq(e->root_dir, "/"));
                        if (!below || n <= 5 || !streq(real + n - 5, ".toml")) {
                                diag_add(e->diag, pfile, pos.line, pos.column,
                                         "imports: refusing \"%s\" (%s): %s; imports are .toml files in the host "
                                         "file's directory (%s) or below it", name, real,
                                         below ? "not a .toml file" : "outside the host file's directory",
                                         e->root_dir);
                                return 0;
                        }
                }
                if (!(key = strdup(real)))
                        return -ENOMEM;
                _cleanup_free_ char *copy = strdup(display);
                if (!copy || !(dir = strdup(dirname(copy))))
                        return -ENOMEM;
        }

        /* seen before? */
        for (size_t i = 0; i < e->n_files; i++) {
                if (!streq(e->files[i].key, key))
                        continue;
                if (e->files[i].state == 1) {
                        char chain[2048];
                        char *p = chain;
                        size_t s0 = 0;
                        while (s0 < depth && stack[s0] != i)
                                s0++;
                        for (size_t s = s0; s < depth && (size_t) (p - chain) < sizeof chain - 300; s++)
                                p += snprintf(p, chain + sizeof chain - p, "%s → ", e->files[stack[s]].display);
                        snprintf(p, chain + sizeof chain - p, "%s", e->files[i].display);
                        diag_add(e->diag, pfile, pos.line, pos.column,
                                 "imports: cyclic import: %s; remove one of these imports", chain);
                        return 0;
                }
                return parent ? add_import(parent, i) : 0;
        }
        if (e->n_files >= MAX_FILES) {
                diag_add(e->diag, pfile, pos.line, pos.column, "imports: more than %d files; "
                         "this looks like a runaway import chain", MAX_FILES);
                return 0;
        }
        if (!data) {
                int r = read_file(display, &data, &size);
                if (r < 0) {
                        if (parent)
                                diag_add(e->diag, pfile, pos.line, pos.column, "imports: cannot read %s: %s",
                                         display, read_error_text(r));
                        else
                                diag_add(e->diag, display, 0, 0, "cannot read the host file: %s", read_error_text(r));
                        return parent ? 0 : r;
                }
        }

        size_t fi = e->n_files++;
        SourceFile *f = &e->files[fi];
        *f = (SourceFile) {
                .display = TAKE_PTR(display), .key = TAKE_PTR(key), .dir = TAKE_PTR(dir),
                .data = TAKE_PTR(data), .size = size, .state = 1,
        };
        if (parent && add_import(&e->files[from], fi) < 0)
                return -ENOMEM;

        TomlPos err_pos = {};
        _cleanup_free_ char *err = NULL;
        int r = toml_parse(f->data, f->size, &f->toml, &err_pos, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                diag_add(e->diag, f->display, err_pos.line, err_pos.column, "invalid TOML: %s",
                         err ? err : "out of memory");
                f->state = 2;
                return 0;
        }
        stack[depth] = fi;
        r = load_imports(e, fi, stack, depth + 1);
        if (r < 0)
                return r;
        e->files[fi].state = 2;
        e->order[e->n_order++] = fi;
        return 0;
}

static void reach_from(Eval *e, size_t a, size_t x) {
        for (size_t i = 0; i < e->files[x].n_imports; i++) {
                size_t b = e->files[x].imports[i];
                if (!e->reach[a * e->n_files + b]) {
                        e->reach[a * e->n_files + b] = true;
                        reach_from(e, a, b);
                }
        }
}

static void eval_done(Eval *e) {
        for (size_t i = 0; i < e->n_files; i++) {
                free(e->files[i].display);
                free(e->files[i].key);
                free(e->files[i].dir);
                free(e->files[i].data);
                free(e->files[i].imports);
                toml_free(e->files[i].toml);
        }
        free(e->reach);
        free(e->root_dir);
}

static void node_drop_defs(ConfigNode *n) {
        for (size_t i = 0; i < n->n_defs; i++)
                node_free(n->defs[i].value);
        free(n->defs);
        n->defs = NULL;
        n->n_defs = 0;
        if (n->def->type == OPT_GROUP || n->def->type == OPT_ATTRS)
                for (size_t i = 0; i < n->n_items; i++)
                        node_drop_defs(n->items[i]);
}

/* Evaluates `name` (a host file's path, or a built-in module's name when
 * module_only) with what it imports. */
static int evaluate(const char *name, bool module_only, Config **ret, Diagnostics *diag) {
        Eval *e = calloc(1, sizeof(Eval));
        if (!e)
                return -ENOMEM;
        e->diag = diag;
        e->module_only = module_only;
        _cleanup_(node_freep) ConfigNode *root = NULL;
        size_t stack[MAX_FILES];
        int r = load(e, name, -1, (TomlPos) {}, stack, 0);
        if (r < 0 || diag->n > 0)
                goto fail;

        e->reach = calloc(e->n_files * e->n_files, sizeof(bool));
        if (!e->reach) {
                r = -ENOMEM;
                goto fail;
        }
        for (size_t a = 0; a < e->n_files; a++)
                reach_from(e, a, a);

        root = node_new(schema_root(), "");
        if (!root) {
                r = -ENOMEM;
                goto fail;
        }
        for (size_t k = 0; k < e->n_order; k++) {
                size_t fi = e->order[k];
                r = walk_table_entries(e, fi, root, "", e->files[fi].toml, true);
                if (r < 0)
                        goto fail;
        }
        const char *host_display = e->files[0].display;
        r = resolve(e, root, "", host_display);
        if (r < 0)
                goto fail;
        node_drop_defs(root);
        if (diag->n > 0)
                goto fail;

        Config *c = calloc(1, sizeof(Config));
        if (!c) {
                r = -ENOMEM;
                goto fail;
        }
        c->files = calloc(e->n_order, sizeof(char *));
        if (!c->files) {
                free(c);
                r = -ENOMEM;
                goto fail;
        }
        /* files in evaluation order (host file last); origins repointed */
        for (size_t k = 0; k < e->n_order; k++)
                c->files[k] = e->files[e->order[k]].display;
        c->n_files = e->n_order;
        for (size_t i = 0; i < e->n_files; i++)
                e->files[i].display = NULL;
        c->root = TAKE_PTR(root);
        eval_done(e);
        free(e);
        *ret = c;
        return 0;

fail:
        eval_done(e);
        free(e);
        if (r >= 0)
                r = -EINVAL;
        return r;
}

static int finish(int r, Diagnostics *d, char **ret_error) {
        if (r < 0 && ret_error) {
                free(*ret_error);
                *ret_error = d->n > 0 ? diag_join(d) : NULL;
        }
        diag_done(d);
        return r;
}

int config_load(const char *host_path, Config **ret, char **ret_error) {
        Diagnostics d = {};
        return finish(evaluate(host_path, false, ret, &d), &d, ret_error);
}

int config_load_module(const char *name, Config **ret, char **ret_error) {
        Diagnostics d = {};
        return finish(evaluate(name, true, ret, &d), &d, ret_error);
}

void config_free(Config *c) {
        if (!c)
                return;
        node_free(c->root);
        for (size_t i = 0; i < c->n_files; i++)
                free(c->files[i]);
        free(c->files);
        free(c);
}

/* ---- lookups ---------------------------------------------------------------- */

const ConfigNode *config_get(const Config *c, const char *dotted) {
        const ConfigNode *n = c->root;
        _cleanup_free_ char *copy = strdup(dotted);
        if (!copy)
                return NULL;
        char *save = NULL;
        for (char *part = strtok_r(copy, ".", &save); part && n; part = strtok_r(NULL, ".", &save))
                n = node_child(n, part);
        return n;
}

bool config_bool(const Config *c, const char *dotted) {
        const ConfigNode *n = config_get(c, dotted);
        return n && n->set && n->def->type == OPT_BOOL && n->b;
}

int64_t config_int(const Config *c, const char *dotted) {
        const ConfigNode *n = config_get(c, dotted);
        return n && n->set && n->def->type == OPT_INT ? n->i : 0;
}

const char *config_string(const Config *c, const char *dotted) {
        const ConfigNode *n = config_get(c, dotted);
        return n && n->set ? n->s : NULL;
}

uint64_t config_size(const Config *c, const char *dotted) {
        const ConfigNode *n = config_get(c, dotted);
        return n && n->set && n->def->type == OPT_SIZE ? n->size : 0;
}
