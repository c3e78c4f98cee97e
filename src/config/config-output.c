/* SPDX-License-Identifier: MIT */
/* The merged configuration as JSON (`keystone eval --json`) and as TOML. */
#include <inttypes.h>

#include <json-c/json.h>

#include "config/config.h"
#include "util/macro.h"

static json_object *node_to_json(const ConfigNode *n) {
        if (!n->set)
                return NULL; /* json null */
        switch (n->def->type) {
        case OPT_BOOL: return json_object_new_boolean(n->b);
        case OPT_INT: return json_object_new_int64(n->i);
        case OPT_STRING:
        case OPT_ENUM:
        case OPT_PATH:
        case OPT_SIZE: return json_object_new_string(n->s);
        case OPT_LIST: {
                json_object *a = json_object_new_array();
                for (size_t i = 0; a && i < n->n_items; i++)
                        json_object_array_add(a, node_to_json(n->items[i]));
                return a;
        }
        case OPT_GROUP:
        case OPT_ATTRS: {
                json_object *o = json_object_new_object();
                for (size_t i = 0; o && i < n->n_items; i++)
                        json_object_object_add(o, n->items[i]->name, node_to_json(n->items[i]));
                return o;
        }
        }
        return NULL;
}

json_object *config_to_json(const Config *c) {
        return node_to_json(c->root);
}

static void origins_add(json_object *o, const ConfigNode *n, const char *path) {
        if (n->def->type == OPT_GROUP || n->def->type == OPT_ATTRS) {
                for (size_t i = 0; i < n->n_items; i++) {
                        char sub[1024];
                        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", n->items[i]->name);
                        origins_add(o, n->items[i], sub);
                }
                return;
        }
        char buf[1200];
        if (!n->set)
                snprintf(buf, sizeof buf, "unset");
        else if (!n->origin.file)
                snprintf(buf, sizeof buf, "default");
        else
                snprintf(buf, sizeof buf, "%s:%" PRIu32 ":%" PRIu32, n->origin.file, n->origin.line,
                         n->origin.column);
        json_object_object_add(o, path, json_object_new_string(buf));
}

json_object *config_origins_to_json(const Config *c) {
        json_object *o = json_object_new_object();
        if (o)
                origins_add(o, c->root, "");
        return o;
}

static bool bare_key(const char *k) {
        if (!*k)
                return false;
        for (const char *p = k; *p; p++)
                if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') ||
                      *p == '-' || *p == '_'))
                        return false;
        return true;
}

static void write_string(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                switch (*p) {
                case '"': fputs("\\\"", f); break;
                case '\\': fputs("\\\\", f); break;
                case '\n': fputs("\\n", f); break;
                case '\t': fputs("\\t", f); break;
                case '\r': fputs("\\r", f); break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(f, "\\u%04x", *p);
                        else
                                fputc(*p, f);
                }
        }
        fputc('"', f);
}

static void write_key(FILE *f, const char *k) {
        if (bare_key(k))
                fputs(k, f);
        else
                write_string(f, k);
}

static void write_scalar(FILE *f, const ConfigNode *n) {
        switch (n->def->type) {
        case OPT_BOOL: fputs(n->b ? "true" : "false", f); break;
        case OPT_INT: fprintf(f, "%" PRId64, n->i); break;
        default: write_string(f, n->s); break;
        }
}

static void write_origin(FILE *f, const ConfigNode *n) {
        if (!n->origin.file)
                fputs("  # default", f);
        else
                fprintf(f, "  # %s:%" PRIu32 ":%" PRIu32, n->origin.file, n->origin.line, n->origin.column);
}

/* `header` is the TOML table path of n (already quoted). */
static void write_table(FILE *f, const ConfigNode *n, const char *header, bool show_origin) {
        bool any = false;
        for (size_t i = 0; i < n->n_items; i++) {
                const ConfigNode *c = n->items[i];
                if (c->def->type == OPT_GROUP || c->def->type == OPT_ATTRS)
                        continue;
                if (!any && *header)
                        fprintf(f, "\n[%s]\n", header);
                any = true;
                if (!c->set) {
                        fputs("# ", f);
                        write_key(f, c->name);
                        fputs(" is not set\n", f);
                        continue;
                }
                write_key(f, c->name);
                fputs(" = ", f);
                if (c->def->type == OPT_LIST) {
                        fputc('[', f);
                        for (size_t j = 0; j < c->n_items; j++) {
                                if (j)
                                        fputs(", ", f);
                                write_scalar(f, c->items[j]);
                        }
                        fputc(']', f);
                } else
                        write_scalar(f, c);
                if (show_origin)
                        write_origin(f, c);
                fputc('\n', f);
        }
        for (size_t i = 0; i < n->n_items; i++) {
                const ConfigNode *c = n->items[i];
                if (c->def->type != OPT_GROUP && c->def->type != OPT_ATTRS)
                        continue;
                _cleanup_free_ char *sub = NULL;
                size_t len = 0;
                FILE *m = open_memstream(&sub, &len);
                if (!m)
                        continue;
                fprintf(m, "%s%s", header, *header ? "." : "");
                write_key(m, c->name);
                fclose(m);
                if (c->def->type == OPT_ATTRS && c->n_items == 0)
                        fprintf(f, "\n# [%s] has no entries\n", sub);
                write_table(f, c, sub, show_origin);
        }
}

int config_write_toml(const Config *c, FILE *f, bool show_origin) {
        fprintf(f, "# Merged from:");
        for (size_t i = 0; i < c->n_files; i++)
                fprintf(f, " %s", c->files[i]);
        fputc('\n', f);
        write_table(f, c->root, "", show_origin);
        return ferror(f) ? -EIO : 0;
}
