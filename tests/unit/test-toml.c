/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"

/* ---------------------------------------------------------------------- */
/* helpers */

static TomlValue *parse_ok_n(const char *doc, size_t n) {
        TomlValue *root = NULL;
        TomlPos e = {};
        char *message = NULL;
        int r = toml_parse(doc, n, &root, &e, &message);
        if (r < 0)
                fail_msg("unexpected error for <%s>: line %u, column %u: %s", doc, e.line, e.column, message);
        assert_null(message);
        assert_non_null(root);
        assert_int_equal(root->type, TOML_TABLE);
        return root;
}

static TomlValue *parse_ok(const char *doc) {
        return parse_ok_n(doc, strlen(doc));
}

/* Parses doc, which must fail at line:column with a message containing
 * `reason`. */
static void check_error_n(const char *doc, size_t n, unsigned line, unsigned column, const char *reason) {
        TomlValue *root = NULL;
        TomlPos e = {};
        char *message = NULL;
        int r = toml_parse(doc, n, &root, &e, &message);
        if (r != -EINVAL)
                fail_msg("<%s> was accepted (r=%d), expected an error at %u:%u", doc, r, line, column);
        assert_null(root);
        assert_non_null(message);
        if (e.line != line || (column > 0 && e.column != column))
                fail_msg("<%s>: error at %u:%u (%s), expected %u:%u", doc, e.line, e.column, message, line,
                         column);
        if (reason && !strstr(message, reason))
                fail_msg("<%s>: message \"%s\" does not mention \"%s\"", doc, message, reason);
        free(message);
}

static void check_error(const char *doc, unsigned line, unsigned column, const char *reason) {
        check_error_n(doc, strlen(doc), line, column, reason);
}

static char *to_json(const TomlValue *v) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        assert_int_equal(toml_write_tagged_json(v, f), 0);
        fclose(f);
        /* drop the trailing newline */
        assert_true(len > 0 && buf[len - 1] == '\n');
        buf[len - 1] = 0;
        return buf;
}

static void check_json_n(const char *doc, size_t n, const char *json) {
        TomlValue *root = parse_ok_n(doc, n);
        char *out = to_json(root);
        if (strcmp(out, json) != 0)
                fail_msg("<%s>\n  gave %s\n  want %s", doc, out, json);
        free(out);
        toml_free(root);
}

static void check_json(const char *doc, const char *json) {
        check_json_n(doc, strlen(doc), json);
}

#define I(v) "{\"type\":\"integer\",\"value\":\"" v "\"}"
#define F(v) "{\"type\":\"float\",\"value\":\"" v "\"}"
#define S(v) "{\"type\":\"string\",\"value\":\"" v "\"}"
#define B(v) "{\"type\":\"bool\",\"value\":\"" v "\"}"

/* ---------------------------------------------------------------------- */
/* positions */

static void test_positions(void **state) {
        TomlValue *root = parse_ok(
                "# comment\n"                   /* line 1 */
                "title = \"x\"\n"               /* line 2 */
                "\tname\t=  'üü'\n"             /* line 3 */
                "\"ü\" = 1 # ok\n"              /* line 4 */
                "a.\"b\" . c = [ 1,\n"          /* line 5 */
                "  2 ]\n"                       /* line 6 */
                "[srv]  # table\n"              /* line 7 */
                "x = {y = 1}\n"                 /* line 8 */
                "[[users]]\n"                   /* line 9 */
                "[[users]]\n"                   /* line 10 */
                "k = \"ö\"\n");                 /* line 11 */

        const TomlKeyValue *kv = toml_table_get_kv(root, "title");
        assert_non_null(kv);
        assert_int_equal(kv->key_pos.line, 2);
        assert_int_equal(kv->key_pos.column, 1);
        assert_int_equal(kv->value->pos.line, 2);
        assert_int_equal(kv->value->pos.column, 9);

        /* a tab counts as one column; ü is one character */
        kv = toml_table_get_kv(root, "name");
        assert_int_equal(kv->key_pos.line, 3);
        assert_int_equal(kv->key_pos.column, 2);
        assert_int_equal(kv->value->pos.column, 10);
        assert_int_equal(kv->value->string.len, 4); /* two 2-byte characters */

        kv = toml_table_get_kv(root, "ü");
        assert_non_null(kv);
        assert_int_equal(kv->key_pos.line, 4);
        assert_int_equal(kv->key_pos.column, 1);
        assert_int_equal(kv->value->pos.column, 7);

        /* dotted key: each part where it is written */
        kv = toml_table_get_kv(root, "a");
        assert_int_equal(kv->key_pos.line, 5);
        assert_int_equal(kv->key_pos.column, 1);
        kv = toml_table_get_kv(kv->value, "b");
        assert_int_equal(kv->key_pos.column, 3);
        kv = toml_table_get_kv(kv->value, "c");
        assert_int_equal(kv->key_pos.column, 9);
        TomlValue *arr = kv->value;
        assert_int_equal(arr->type, TOML_ARRAY);
        assert_int_equal(arr->pos.line, 5);
        assert_int_equal(arr->pos.column, 13);
        assert_int_equal(arr->array.n, 2);
        assert_int_equal(arr->array.items[0]->pos.column, 15);
        assert_int_equal(arr->array.items[1]->pos.line, 6);
        assert_int_equal(arr->array.items[1]->pos.column, 3);

        /* a table defined by a header is where its header is */
        kv = toml_table_get_kv(root, "srv");
        assert_int_equal(kv->key_pos.line, 7);
        assert_int_equal(kv->key_pos.column, 2);
        assert_int_equal(kv->value->pos.line, 7);
        assert_int_equal(kv->value->pos.column, 1);
        TomlValue *x = toml_table_get(kv->value, "x");
        assert_int_equal(x->pos.line, 8);
        assert_int_equal(x->pos.column, 5);
        kv = toml_table_get_kv(x, "y");
        assert_int_equal(kv->key_pos.column, 6);
        assert_int_equal(kv->value->pos.column, 10);

        /* array of tables: each element at its own header */
        TomlValue *users = toml_table_get(root, "users");
        assert_int_equal(users->type, TOML_ARRAY);
        assert_int_equal(users->array.n, 2);
        assert_int_equal(users->array.items[0]->pos.line, 9);
        assert_int_equal(users->array.items[1]->pos.line, 10);
        kv = toml_table_get_kv(users->array.items[1], "k");
        assert_int_equal(kv->key_pos.line, 11);
        assert_int_equal(kv->value->pos.column, 5);
        toml_free(root);
}

static void test_positions_crlf_bom_implicit(void **state) {
        /* BOM skipped, CRLF counts as one line end */
        TomlValue *root = parse_ok("\xEF\xBB\xBF" "a = 1\r\n"
                                   "[x.y.z]\r\n"
                                   "  k = 2\r\n"
                                   "[x]\r\n"
                                   "m = 3\r\n");
        const TomlKeyValue *kv = toml_table_get_kv(root, "a");
        assert_int_equal(kv->key_pos.line, 1);
        assert_int_equal(kv->key_pos.column, 1);
        /* x was created implicitly on line 2 and defined on line 4: the
         * definition is what counts */
        kv = toml_table_get_kv(root, "x");
        assert_int_equal(kv->key_pos.line, 4);
        assert_int_equal(kv->key_pos.column, 2);
        assert_int_equal(kv->value->pos.line, 4);
        kv = toml_table_get_kv(kv->value, "y");
        assert_int_equal(kv->key_pos.line, 2);
        assert_int_equal(kv->key_pos.column, 4);
        kv = toml_table_get_kv(kv->value, "z");
        assert_int_equal(kv->value->pos.line, 2);
        assert_int_equal(kv->value->pos.column, 1);
        kv = toml_table_get_kv(kv->value, "k");
        assert_int_equal(kv->key_pos.line, 3);
        assert_int_equal(kv->key_pos.column, 3);
        toml_free(root);
}

static void test_positions_long_line(void **state) {
        /* many values on one long line: positions stay exact (and cheap) */
        size_t n = 20000;
        size_t cap = n * 8 + 16;
        char *doc = malloc(cap);
        size_t len = (size_t) snprintf(doc, cap, "a = [");
        for (size_t i = 0; i < n; i++)
                len += (size_t) snprintf(doc + len, cap - len, "\"é\", ");
        len += (size_t) snprintf(doc + len, cap - len, "]\n");
        TomlValue *root = parse_ok_n(doc, len);
        TomlValue *a = toml_table_get(root, "a");
        assert_int_equal(a->array.n, n);
        for (size_t i = 0; i < n; i += 997)
                assert_int_equal(a->array.items[i]->pos.column, 6 + 5 * i);
        toml_free(root);
        free(doc);
}

/* ---------------------------------------------------------------------- */
/* error positions */

static void test_error_positions(void **state) {
        check_error("a = 1\nb = 2\na = 3\n", 3, 1, "duplicate key a");
        check_error("a = 1\nb = \n", 2, 5, "expected a value");
        check_error("a = 1\n  b = 'x\n", 2, 9, "unterminated");
        check_error("[t]\nx = 1\n[t]\n", 3, 2, "defined twice");
        check_error("a = 1 2\n", 1, 7, "expected a newline");
        check_error("x = \"é\\q\"\n", 1, 7, "invalid escape");
        check_error("key = 0x\n", 1, 9, "hexadecimal digit");
        check_error("k = 1__0\n", 1, 6, "between two digits");
        check_error("d = 2023-02-29\n", 1, 13, "does not exist");
        check_error("t = 24:00:00\n", 1, 5, "hour");
        check_error("# ok\n# bad \x01 control\n", 2, 7, "control character U+0001");
        check_error("a = [1, 2\n", 2, 1, "unterminated array");
        check_error("a = {b = 1,\n c = 2}\n", 1, 12, "one line");
        /* columns count characters, not bytes */
        check_error("\"ééé\" = ä\n", 1, 9, "expected a value, found U+00E4");
        check_error("a = \"x\"\r\rb = 1\n", 1, 8, "carriage return");
        /* the error names where the first definition was */
        check_error("a.b = 1\n\n[a]\n", 3, 2, "dotted keys (line 1)");
}

/* ---------------------------------------------------------------------- */
/* lookups and the API */

static void test_api(void **state) {
        TomlValue *root = parse_ok("s = \"a\\u0000b\"\n"
                                   "i = -9223372036854775808\n"
                                   "j = 9223372036854775807\n"
                                   "f = -0.0\n"
                                   "b = false\n"
                                   "odt = 1979-05-27 07:32:00.1234567891-07:30\n"
                                   "ldt = 2000-02-29t23:59:60\n"
                                   "ld = 2024-12-31\n"
                                   "lt = 00:00:00.5\n"
                                   "\"\" = 'empty key'\n"
                                   "'a.b' = 1\n");
        TomlValue *v = toml_table_get(root, "s");
        assert_int_equal(v->type, TOML_STRING);
        assert_int_equal(v->string.len, 3);
        assert_memory_equal(v->string.ptr, "a\0b", 4); /* NUL-terminated too */

        assert_int_equal(toml_table_get(root, "i")->integer, INT64_MIN);
        assert_int_equal(toml_table_get(root, "j")->integer, INT64_MAX);
        v = toml_table_get(root, "f");
        assert_true(v->floating == 0.0 && signbit(v->floating));
        assert_false(toml_table_get(root, "b")->boolean);

        v = toml_table_get(root, "odt");
        assert_int_equal(v->type, TOML_DATETIME);
        assert_string_equal(v->datetime.text, "1979-05-27T07:32:00.1234567891-07:30");
        assert_int_equal(v->datetime.dt.year, 1979);
        assert_int_equal(v->datetime.dt.month, 5);
        assert_int_equal(v->datetime.dt.day, 27);
        assert_int_equal(v->datetime.dt.hour, 7);
        assert_int_equal(v->datetime.dt.second, 0);
        assert_int_equal(v->datetime.dt.nanosecond, 123456789); /* truncated, not rounded */
        assert_int_equal(v->datetime.dt.offset_minutes, -450);

        v = toml_table_get(root, "ldt");
        assert_int_equal(v->type, TOML_DATETIME_LOCAL);
        assert_string_equal(v->datetime.text, "2000-02-29T23:59:60");
        assert_int_equal(v->datetime.dt.second, 60);

        v = toml_table_get(root, "ld");
        assert_int_equal(v->type, TOML_DATE_LOCAL);
        assert_int_equal(v->datetime.dt.hour, 0);
        v = toml_table_get(root, "lt");
        assert_int_equal(v->type, TOML_TIME_LOCAL);
        assert_int_equal(v->datetime.dt.year, 0);
        assert_int_equal(v->datetime.dt.nanosecond, 500000000);

        assert_string_equal(toml_table_get(root, "")->string.ptr, "empty key");
        assert_non_null(toml_table_get(root, "a.b"));
        assert_null(toml_table_get(root, "a"));
        assert_null(toml_table_get(root, "missing"));
        assert_null(toml_table_get(toml_table_get(root, "i"), "x")); /* not a table */
        assert_null(toml_table_get(NULL, "x"));
        assert_null(toml_table_get_kv(root, NULL));

        /* document order is kept */
        assert_string_equal(root->table.items[0].key, "s");
        assert_string_equal(root->table.items[root->table.n - 1].key, "a.b");

        assert_string_equal(toml_type_name(TOML_TABLE), "table");
        assert_string_equal(toml_type_name(TOML_DATETIME_LOCAL), "datetime-local");
        assert_string_equal(toml_type_name(TOML_TIME_LOCAL), "time-local");
        toml_free(root);

        /* bad arguments; NULL error pointer is allowed */
        TomlValue *out = NULL;
        assert_int_equal(toml_parse("a = ", 4, &out, NULL, NULL), -EINVAL);
        assert_null(out);
        assert_int_equal(toml_parse(NULL, 0, &out, NULL, NULL), 0); /* empty document */
        assert_int_equal(out->table.n, 0);
        toml_free(out);
        toml_free(NULL);

        /* a tree built by hand can be freed and written */
        TomlValue *t = calloc(1, sizeof(TomlValue));
        t->type = TOML_TABLE;
        t->table.items = calloc(1, sizeof(TomlKeyValue));
        t->table.n = 1;
        t->table.items[0].key = strdup("k");
        t->table.items[0].key_len = 1;
        TomlValue *s = calloc(1, sizeof(TomlValue));
        s->type = TOML_STRING;
        s->string.ptr = strdup("v");
        s->string.len = 1;
        t->table.items[0].value = s;
        char *json = to_json(t);
        assert_string_equal(json, "{\"k\":" S("v") "}");
        free(json);
        toml_free(t);
}

static void test_ownership(void **state) {
        TomlValue *root = parse_ok("[a]\nb = 'x'\nc = [1, {d = 2}]\n");
        TomlValue *a = toml_table_get(root, "a");

        /* freeing a node of a parsed document does nothing: the document
         * owns it (ASan would report a double free or use after free) */
        toml_free(a);
        toml_free(toml_table_get(a, "c"));
        assert_string_equal(toml_table_get(a, "b")->string.ptr, "x");

        /* a hand-built table may point at parsed nodes; freeing it frees
         * only what was built by hand */
        TomlValue *t = calloc(1, sizeof(TomlValue));
        t->type = TOML_TABLE;
        t->table.items = calloc(2, sizeof(TomlKeyValue));
        t->table.n = 2;
        t->table.items[0] = (TomlKeyValue) { .key = strdup("parsed"), .key_len = 6, .value = a };
        TomlValue *arr = calloc(1, sizeof(TomlValue));
        arr->type = TOML_ARRAY;
        arr->array.items = calloc(1, sizeof(TomlValue *));
        arr->array.n = 1;
        arr->array.items[0] = toml_table_get(a, "b");
        t->table.items[1] = (TomlKeyValue) { .key = strdup("list"), .key_len = 4, .value = arr };
        char *json = to_json(t);
        assert_string_equal(json, "{\"parsed\":{\"b\":" S("x") ",\"c\":[" I("1") ",{\"d\":" I("2") "}]},"
                                  "\"list\":[" S("x") "]}");
        free(json);
        toml_free(t);
        assert_int_equal(toml_table_get(toml_table_get(root, "a"), "c")->array.n, 2);

        /* even a parsed root inside a hand-built node stays with its owner */
        t = calloc(1, sizeof(TomlValue));
        t->type = TOML_ARRAY;
        t->array.items = calloc(1, sizeof(TomlValue *));
        t->array.n = 1;
        t->array.items[0] = root;
        toml_free(t);
        assert_non_null(toml_table_get(root, "a"));

        /* the root frees everything */
        toml_free(root);
}

static void test_large_table_lookup(void **state) {
        /* big tables go through the hash index: duplicates are still found,
         * wherever they are, and keys that only share a hash are not */
        size_t n = 50000, cap = n * 24 + 64;
        char *doc = malloc(cap);
        size_t len = 0;
        for (size_t i = 0; i < n; i++)
                len += (size_t) snprintf(doc + len, cap - len, "k%zu = %zu\n", i, i);
        TomlValue *root = parse_ok_n(doc, len);
        assert_int_equal(root->table.n, n);
        assert_int_equal(toml_table_get(root, "k49999")->integer, 49999);
        toml_free(root);

        len += (size_t) snprintf(doc + len, cap - len, "k12345 = 0\n");
        check_error_n(doc, len, (unsigned) n + 1, 1, "duplicate key k12345 (first defined on line 12346)");

        /* the same keys in many tables do not collide */
        len = 0;
        for (size_t t = 0; t < 200; t++) {
                len += (size_t) snprintf(doc + len, cap - len, "[t%zu]\n", t);
                for (size_t i = 0; i < 40; i++)
                        len += (size_t) snprintf(doc + len, cap - len, "k%zu = %zu\n", i, t);
        }
        root = parse_ok_n(doc, len);
        assert_int_equal(root->table.n, 200);
        assert_int_equal(toml_table_get(toml_table_get(root, "t199"), "k39")->integer, 199);
        toml_free(root);
        len += (size_t) snprintf(doc + len, cap - len, "k39 = 1\n");
        check_error_n(doc, len, 200 * 41 + 1, 1, "duplicate key k39");
        free(doc);
}

/* ---------------------------------------------------------------------- */
/* floats and JSON */

static void test_format_float(void **state) {
        char buf[64];
        assert_string_equal(toml_format_float(0.1, buf, sizeof(buf)), "0.1");
        assert_string_equal(toml_format_float(1.0, buf, sizeof(buf)), "1.0");
        assert_string_equal(toml_format_float(-0.0, buf, sizeof(buf)), "-0.0");
        assert_string_equal(toml_format_float(1e300, buf, sizeof(buf)), "1e+300");
        assert_string_equal(toml_format_float(0.1 + 0.2, buf, sizeof(buf)), "0.30000000000000004");
        assert_string_equal(toml_format_float(5e-324, buf, sizeof(buf)), "5e-324");
        assert_string_equal(toml_format_float(INFINITY, buf, sizeof(buf)), "inf");
        assert_string_equal(toml_format_float(-INFINITY, buf, sizeof(buf)), "-inf");
        assert_string_equal(toml_format_float(NAN, buf, sizeof(buf)), "nan");
        assert_string_equal(toml_format_float(-NAN, buf, sizeof(buf)), "nan");
        /* every printed value reads back exactly */
        double vals[] = { 1.7976931348623157e308, 2.2250738585072014e-308, 123456789.123456789, 1.0 / 3 };
        for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
                assert_true(strtod(toml_format_float(vals[i], buf, sizeof(buf)), NULL) == vals[i]);
}

static void test_json_write_error(void **state) {
        TomlValue *root = parse_ok("a = 'x'\n");
        FILE *f = fopen("/dev/full", "we");
        if (!f)
                skip();
        assert_int_equal(toml_write_tagged_json(root, f), -ENOSPC);
        fclose(f);
        assert_int_equal(toml_write_tagged_json(NULL, stdout), -EINVAL);
        toml_free(root);
}

static void test_json_escaping(void **state) {
        /* NUL, control characters, quotes, backslashes, DEL and non-ASCII */
        check_json("\"k\\u0000\\n\" = \"\\u0000\\u0001\\b\\t\\n\\f\\r\\\"\\\\\\u007f\\u00e9\\U0001F600\"\n",
                   "{\"k\\u0000\\n\":" S("\\u0000\\u0001\\b\\t\\n\\f\\r\\\"\\\\\\u007f\xc3\xa9\xf0\x9f\x98\x80") "}");
}

/* ---------------------------------------------------------------------- */
/* tricky valid documents */

static void test_valid_tricky(void **state) {
        /* integers */
        check_json("a = +0\nb = -0\nc = 0x00ff\nd = 0o0_7\ne = 0b1_0\nf = 1_2_3\n",
                   "{\"a\":" I("0") ",\"b\":" I("0") ",\"c\":" I("255") ",\"d\":" I("7") ",\"e\":" I("2")
                   ",\"f\":" I("123") "}");
        check_json("max = 0x7FFFFFFFFFFFFFFF\n", "{\"max\":" I("9223372036854775807") "}");
        /* floats */
        check_json("a = 0e0\nb = 1E+2_0\nc = -1_0.0_1e-0_1\nd = +inf\ne = -nan\nf = 1e-400\n",
                   "{\"a\":" F("0.0") ",\"b\":" F("1e+20") ",\"c\":" F("-1.001") ",\"d\":" F("inf")
                   ",\"e\":" F("nan") ",\"f\":" F("0.0") "}");
        /* bare keys that look like other things */
        check_json("true = 1\ninf = 2\n1.2 = 3\n-_- = 4\n0x1 = 5\n",
                   "{\"true\":" I("1") ",\"inf\":" I("2") ",\"1\":{\"2\":" I("3") "},\"-_-\":" I("4")
                   ",\"0x1\":" I("5") "}");
        /* whitespace around dots, quoted parts, empty quoted key */
        check_json("a . \"b.c\" .\t'd' = 1\n\"\" = 2\n[ x . ''  ]\n",
                   "{\"a\":{\"b.c\":{\"d\":" I("1") "}},\"\":" I("2") ",\"x\":{\"\":{}}}");
        /* multi-line strings: first newline trimmed, line-ending backslash,
         * up to two quotes before the closing delimiter */
        check_json("a = \"\"\"\nx\\  \n\n   y\"\"\"\n", "{\"a\":" S("xy") "}");
        check_json("a = \"\"\"\"\"\"\"\"\n", "{\"a\":" S("\\\"\\\"") "}");
        check_json("a = '''''x'''''\n", "{\"a\":" S("''x''") "}");
        check_json("a = \"\"\"a\\\r\n b\"\"\"\n", "{\"a\":" S("ab") "}");
        check_json("a = '''\r\nl1\r\nl2'''\n", "{\"a\":" S("l1\\nl2") "}");
        check_json("a = \"\"\"\\\n\"\"\"\n", "{\"a\":" S("") "}");
        check_json("a = \"\"\"tab\there\"\"\"\n", "{\"a\":" S("tab\\there") "}");
        /* literal strings keep backslashes */
        check_json("a = 'C:\\n\\u'\n", "{\"a\":" S("C:\\\\n\\\\u") "}");
        /* arrays: mixed types, comments and newlines, trailing comma */
        check_json("a = [ # c\n 1, 'x', [ ], {},\n# c\n]\n",
                   "{\"a\":[" I("1") "," S("x") ",[],{}]}");
        /* tables: implicit then explicit, subtables of dotted tables,
         * arrays of tables with subtables */
        check_json("[a.b]\n[a]\nc = 1\n", "{\"a\":{\"b\":{},\"c\":" I("1") "}}");
        check_json("[f]\napple.color = 1\n[f.apple.texture]\nsmooth = true\n",
                   "{\"f\":{\"apple\":{\"color\":" I("1") ",\"texture\":{\"smooth\":" B("true") "}}}}");
        check_json("[[p]]\n[p.d]\nx = 1\n[[p]]\n[[p.v]]\n[[p.v]]\n",
                   "{\"p\":[{\"d\":{\"x\":" I("1") "}},{\"v\":[{},{}]}]}");
        /* dotted keys in inline tables */
        check_json("t = { a.b = 1, a.c = 2, d = { e = 3 } }\n",
                   "{\"t\":{\"a\":{\"b\":" I("1") ",\"c\":" I("2") "},\"d\":{\"e\":" I("3") "}}}");
        /* empty documents and comments only; no newline at the end */
        check_json("\"\".'' = 1\n", "{\"\":{\"\":" I("1") "}}");
        check_json("", "{}");
        check_json("# only\n  # comments", "{}");
        check_json("a=1", "{\"a\":" I("1") "}");
        check_json("a=1#c", "{\"a\":" I("1") "}");
        /* comments may hold any non-control character, including DEL-adjacent ones */
        check_json("# \xc2\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf\ta=1\n", "{}");
        /* date-times: space separator, lower-case t and z, leap day, leap second */
        check_json("a = 2000-02-29 12:00:00z\nb = 1900-02-28t00:00:00\n",
                   "{\"a\":{\"type\":\"datetime\",\"value\":\"2000-02-29T12:00:00Z\"},"
                   "\"b\":{\"type\":\"datetime-local\",\"value\":\"1900-02-28T00:00:00\"}}");
        check_json("a = 1987-07-05 # date then comment\n",
                   "{\"a\":{\"type\":\"date-local\",\"value\":\"1987-07-05\"}}");
}

/* ---------------------------------------------------------------------- */
/* tricky invalid documents */

static void test_invalid_tricky(void **state) {
        static const struct {
                const char *doc;
                const char *reason;
        } cases[] = {
                /* integers */
                { "a = 01\n", "leading zeros" },
                { "a = -01\n", "leading zeros" },
                { "a = 0_1\n", "leading zeros" },
                { "a = _1\n", "invalid value" },
                { "a = 1_\n", "between two digits" },
                { "a = +0x1\n", "cannot have a sign" },
                { "a = 0x_1\n", "hexadecimal digit" },
                { "a = 0o8\n", "octal digit" },
                { "a = 0b2\n", "binary digit" },
                { "a = 0X1\n", "expected a newline" },
                { "a = 9223372036854775808\n", "64 bits" },
                { "a = -9223372036854775809\n", "64 bits" },
                { "a = 0x8000000000000000\n", "64 bits" },
                { "a = 99999999999999999999999999999999999999\n", "64 bits" },
                /* floats */
                { "a = 1.\n", "after the decimal point" },
                { "a = .1\n", "expected a value" },
                { "a = 1.e1\n", "after the decimal point" },
                { "a = 1e\n", "exponent" },
                { "a = 1e_1\n", "exponent" },
                { "a = 1._1\n", "after the decimal point" },
                { "a = 1_.1\n", "between two digits" },
                { "a = 1.1.1\n", "expected a newline" },
                { "a = 00.1\n", "leading zeros" },
                { "a = Inf\n", "invalid value" },
                { "a = in\n", "invalid value" },
                { "a = +in\n", "inf or nan" },
                { "a = 1e400\n", "too large" },
                { "a = -1.8e308\n", "too large" },
                /* booleans */
                { "a = True\n", "invalid value" },
                { "a = truee\n", "expected a newline" },
                /* strings */
                { "a = \"\\x41\"\n", "invalid escape" },
                { "a = \"\\e\"\n", "invalid escape" },
                { "a = \"\\uD800\"\n", "not a Unicode scalar value" },
                { "a = \"\\U00110000\"\n", "not a Unicode scalar value" },
                { "a = \"\\u12\"\n", "hexadecimal digits" },
                { "a = \"\x7f\"\n", "control character" },
                { "a = 'tab\tok \x1f'\n", "control character" },
                { "a = \"\"\"\r\"\"\"\n", "carriage return" },
                { "a = '''x\r'''\n", "carriage return" },
                { "a = \"\"\"x\"\"\"\"\"\"\n", "too many quotes" },
                { "a = \"\"\"x\\ y\"\"\"\n", "invalid escape" },
                { "a = \"x\" \"y\"\n", "expected a newline" },
                { "a = \"\"\"unclosed\n", "unterminated multi-line" },
                /* keys */
                { "\"\"\"a\"\"\" = 1\n", "multi-line string cannot be a key" },
                { "a. = 1\n", "expected a key" },
                { ".a = 1\n", "expected a key" },
                { "a..b = 1\n", "expected a key" },
                { "a b = 1\n", "expected '='" },
                { "a\n= 1\n", "expected '='" },
                { "a =\n1\n", "expected a value" },
                { "ü = 1\n", "expected a key" },
                { "a = 1 b = 2\n", "expected a newline" },
                /* tables */
                { "[]\n", "expected a key" },
                { "[a]b = 1\n", "expected a newline" },
                { "[ [a] ]\n", "expected a key" },
                { "[[a]\n", "expected ']]'" },
                { "[a\n", "expected ']'" },
                { "a = 1\n[a]\n", "already an integer" },
                { "a = {}\n[a]\n", "inline table" },
                { "a = {}\n[a.b]\n", "inline table" },
                { "a = {b = {}}\na.b.c = 1\n", "inline table" },
                { "a = [{}]\n[[a]]\n", "static array" },
                { "a = []\n[a.b]\n", "static array" },
                { "[[a]]\n[a]\n", "already an array" },
                { "[a]\n[[a]]\n", "already a table" },
                { "a.b = 1\n[a]\n", "dotted keys" },
                { "[a]\nb.c = 1\n[a.b]\n", "dotted keys" },
                { "[a.b]\n[a]\nb.c = 1\n", "defined by a [table] header" },
                { "[[a.b]]\n[a]\nb.c = 1\n", "already an array" },
                { "a = {b = 1, b = 2}\n", "duplicate key b" },
                { "\"\" = 1\n'' = 2\n", "duplicate key \"\"" },
                { "\"\".'' = 1\n[\"\"]\n", "dotted keys" },
                { "a = {b.c = 1, b = 2}\n", "duplicate key b" },
                { "a = {b = {}, b.c = 1}\n", "inline table" },
                { "a = {b = 1,}\n", "trailing comma" },
                { "a = {\nb = 1}\n", "one line" },
                { "a = {b = 1\n}\n", "one line" },
                { "a = {b = 1 c = 2}\n", "expected ',' or '}'" },
                { "a = [1 2]\n", "expected ',' or ']'" },
                { "a = [,]\n", "expected a value" },
                { "a = [1,,]\n", "expected a value" },
                /* date-times */
                { "a = 2021-02-29\n", "does not exist" },
                { "a = 1900-02-29\n", "does not exist" },
                { "a = 2000-04-31\n", "does not exist" },
                { "a = 2000-13-01\n", "month" },
                { "a = 2000-00-01\n", "month" },
                { "a = 2000-01-00\n", "does not exist" },
                { "a = 2000-1-01\n", "YYYY-MM-DD" },
                { "a = 12:60:00\n", "minute" },
                { "a = 12:00:61\n", "second" },
                { "a = 12:00\n", "HH:MM:SS" },
                { "a = 12:00:00.\n", "digits after" },
                { "a = 12:00:00Z\n", "expected a newline" },
                { "a = 2000-01-01T12:00:00+24:00\n", "offset" },
                { "a = 2000-01-01T12:00:00+01\n", "offset" },
                { "a = 2000-01-01T\n", "HH:MM:SS" },
                { "a = 2000-01-01 12:00\n", "HH:MM:SS" },
                { "a = 10000-01-01\n", "expected a newline" },
                /* control characters and encoding */
                { "a = 1\x0b\n", "expected a newline" },
                { "\x0c = 1\n", "expected a key" },
                { "# \x7f\n", "control character" },
                { "a = 1 # \r x\n", "control character" },
                { "a = 1\r", "carriage return" },
                { "\xEF\xBB\xBF\xEF\xBB\xBF" "a = 1\n", "expected a key" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                TomlValue *root = NULL;
                TomlPos e = {};
                char *message = NULL;
                const char *doc = cases[i].doc;
                if (toml_parse(doc, strlen(doc), &root, &e, &message) != -EINVAL)
                        fail_msg("case %zu <%s> was accepted", i, doc);
                assert_non_null(message);
                if (!strstr(message, cases[i].reason))
                        fail_msg("case %zu <%s>: message \"%s\" does not mention \"%s\"", i, doc, message,
                                 cases[i].reason);
                assert_true(e.line >= 1 && e.column >= 1);
                free(message);
        }
}

/* ---------------------------------------------------------------------- */
/* malicious input */

static char *repeat(const char *prefix, const char *unit, size_t n, const char *suffix_unit, const char *tail) {
        size_t lp = strlen(prefix), lu = strlen(unit), ls = strlen(suffix_unit), lt = strlen(tail);
        char *s = malloc(lp + n * (lu + ls) + lt + 1);
        char *p = mempcpy(s, prefix, lp);
        for (size_t i = 0; i < n; i++)
                p = mempcpy(p, unit, lu);
        for (size_t i = 0; i < n; i++)
                p = mempcpy(p, suffix_unit, ls);
        p = mempcpy(p, tail, lt);
        *p = 0;
        return s;
}

static void test_deep_nesting(void **state) {
        /* right at the limit: fine; one more: an error, not a crash */
        char *s = repeat("a = ", "[", TOML_MAX_DEPTH, "]", "\n");
        TomlValue *root = parse_ok(s);
        toml_free(root);
        free(s);

        s = repeat("a = ", "[", TOML_MAX_DEPTH + 1, "]", "\n");
        check_error(s, 1, 5 + TOML_MAX_DEPTH, "nesting too deep");
        free(s);

        /* a million open brackets, never closed */
        s = repeat("a = ", "[", 1000000, "", "");
        check_error(s, 1, 0, "nesting too deep");
        free(s);
        s = repeat("a = ", "{b=", 1000000, "", "");
        check_error(s, 1, 0, "nesting too deep");
        free(s);

        /* depth also counts tables from headers and dotted keys */
        s = repeat("[", "a.", 2000, "", "a]\n");
        check_error(s, 1, 0, "too many dotted parts");
        free(s);
        s = repeat("[", "a.", 600, "", "a]\n");
        char *t = repeat("", "b.", 600, "", "c = 1\n");
        char *both = malloc(strlen(s) + strlen(t) + 1);
        strcpy(stpcpy(both, s), t);
        check_error(both, 2, 0, "nesting too deep");
        free(both);
        free(t);
        free(s);
}

static void test_bad_utf8(void **state) {
        static const char *bad[] = {
                "a = \"\xc0\x80\"\n",           /* overlong NUL */
                "a = \"\xc1\xbf\"\n",           /* overlong */
                "a = \"\xe0\x80\x80\"\n",       /* overlong 3-byte */
                "a = \"\xf0\x80\x80\x80\"\n",   /* overlong 4-byte */
                "a = \"\xed\xa0\x80\"\n",       /* surrogate U+D800 */
                "a = \"\xed\xbf\xbf\"\n",       /* surrogate U+DFFF */
                "a = \"\xf4\x90\x80\x80\"\n",   /* U+110000 */
                "a = \"\xf5\x80\x80\x80\"\n",
                "a = \"\xff\"\n",
                "a = \"\x80\"\n",               /* lone continuation */
                "a = \"\xe2\x82\"\n",           /* truncated */
                "# \xe2\x82",                   /* truncated at the end */
                "\xe2\x82 = 1\n",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                check_error(bad[i], 1, 0, "invalid UTF-8");
        /* the position is that of the bad byte, counted in characters */
        check_error("x = 1\n# éé \xff\n", 2, 6, "invalid UTF-8 (byte 0xFF)");
        /* the longest valid sequences are fine */
        check_json("a = \"\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80\"\n",
                   "{\"a\":" S("\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80") "}");
}

static void test_nul_bytes(void **state) {
        check_error_n("a = \"x\0y\"\n", 10, 1, 7, "control character U+0000");
        check_error_n("a = 'x\0y'\n", 10, 1, 7, "control character U+0000");
        check_error_n("a = \"\"\"\0\"\"\"\n", 12, 1, 8, "control character U+0000");
        check_error_n("# \0\n", 4, 1, 3, "control character U+0000");
        check_error_n("a\0 = 1\n", 7, 1, 2, "expected '='");
        check_error_n("a = 1\0\n", 7, 1, 6, "expected a newline");
        check_error_n("\0", 1, 1, 1, "expected a key");
        /* the parser stops at size, not at a NUL: bytes past size are unread */
        check_json_n("a = 1\nb = 2", 5, "{\"a\":" I("1") "}");
}

static void test_huge_values(void **state) {
        /* a 1 MB digit string: rejected quickly, without overflow */
        char *s = repeat("a = ", "9", 1000000, "", "\n");
        check_error(s, 1, 5, "64 bits");
        free(s);
        /* a 1 MB float mantissa is fine (it is just a long number) */
        s = repeat("a = 0.", "1", 1000000, "", "\n");
        TomlValue *root = parse_ok(s);
        assert_true(fabs(toml_table_get(root, "a")->floating - 0.111111) < 1e-6);
        toml_free(root);
        free(s);
        /* a huge exponent */
        check_error("a = 1e99999999999999999999\n", 1, 5, "too large");
        check_json("a = 1e-99999999999999999999\n", "{\"a\":" F("0.0") "}");
        /* a document big enough for the arena's mmap()ed blocks */
        s = repeat("a = [", "1,", 600000, "", "]\n");
        root = parse_ok(s);
        assert_int_equal(toml_table_get(root, "a")->array.n, 600000);
        assert_int_equal(toml_table_get(root, "a")->array.items[599999]->integer, 1);
        toml_free(root);
        free(s);

        /* a 1 MB key and string */
        s = repeat("\"", "k", 1000000, "", "\" = '");
        char *t = repeat(s, "v", 1000000, "", "'\n");
        root = parse_ok(t);
        assert_int_equal(root->table.items[0].key_len, 1000000);
        assert_int_equal(root->table.items[0].value->string.len, 1000000);
        toml_free(root);
        free(t);
        free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_positions),
                cmocka_unit_test(test_positions_crlf_bom_implicit),
                cmocka_unit_test(test_positions_long_line),
                cmocka_unit_test(test_error_positions),
                cmocka_unit_test(test_api),
                cmocka_unit_test(test_ownership),
                cmocka_unit_test(test_large_table_lookup),
                cmocka_unit_test(test_format_float),
                cmocka_unit_test(test_json_escaping),
                cmocka_unit_test(test_json_write_error),
                cmocka_unit_test(test_valid_tricky),
                cmocka_unit_test(test_invalid_tricky),
                cmocka_unit_test(test_deep_nesting),
                cmocka_unit_test(test_bad_utf8),
                cmocka_unit_test(test_nul_bytes),
                cmocka_unit_test(test_huge_values),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
