/* SPDX-License-Identifier: MIT */
/* toml-test's tagged JSON for a TomlValue tree, and TOML float spelling. */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"
#include "util/c-locale.h"

const char *toml_format_float(double d, char *buf, size_t size) {
        if (isnan(d)) {
                snprintf(buf, size, "nan");
                return buf;
        }
        if (isinf(d)) {
                snprintf(buf, size, "%s", d < 0 ? "-inf" : "inf");
                return buf;
        }

        /* Shortest of 15, 16, 17 significant digits that reads back as d:
         * a shorter exact spelling, if any, is what %.15g prints.  Subnormal
         * numbers have fewer significant bits, so try every precision. */
        locale_t loc = c_locale(), old = loc ? uselocale(loc) : (locale_t) 0;
        for (int prec = fabs(d) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
                snprintf(buf, size, "%.*g", prec, d);
                if (strtod(buf, NULL) == d)
                        break;
        }
        if (old)
                uselocale(old);

        if (!strpbrk(buf, ".e")) {
                size_t l = strlen(buf);
                if (l + 3 <= size)
                        memcpy(buf + l, ".0", 3);
        }
        return buf;
}

/* Length of the well-formed UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s, size_t avail) {
        unsigned char c = s[0];
        size_t n;
        if (c < 0x80)
                return 1;
        if (c >= 0xC2 && c < 0xE0)
                n = 2;
        else if (c >= 0xE0 && c < 0xF0)
                n = 3;
        else if (c >= 0xF0 && c < 0xF5)
                n = 4;
        else
                return 0;
        if (avail < n)
                return 0;
        for (size_t i = 1; i < n; i++)
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0) || (c == 0xF0 && s[1] < 0x90) ||
            (c == 0xF4 && s[1] >= 0x90))
                return 0;
        return n;
}

/* A JSON string for any bytes: control characters escaped, bytes that
 * are not UTF-8 replaced by U+FFFD (parsed TOML never has those). */
static void json_string(FILE *f, const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s;
        putc_unlocked('"', f);
        for (size_t i = 0; i < n;) {
                unsigned char c = p[i];
                if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
                        /* a run of plain ASCII */
                        size_t j = i + 1;
                        while (j < n && p[j] >= 0x20 && p[j] < 0x7F && p[j] != '"' && p[j] != '\\')
                                j++;
                        fwrite_unlocked(p + i, 1, j - i, f);
                        i = j;
                        continue;
                }
                switch (c) {
                case '"': fputs_unlocked("\\\"", f); break;
                case '\\': fputs_unlocked("\\\\", f); break;
                case '\b': fputs_unlocked("\\b", f); break;
                case '\f': fputs_unlocked("\\f", f); break;
                case '\n': fputs_unlocked("\\n", f); break;
                case '\r': fputs_unlocked("\\r", f); break;
                case '\t': fputs_unlocked("\\t", f); break;
                default:
                        if (c < 0x80) {
                                fprintf(f, "\\u%04x", c);
                                break;
                        }
                        size_t l = utf8_len(p + i, n - i);
                        if (l == 0) {
                                fputs_unlocked("\\ufffd", f);
                                l = 1;
                        } else
                                fwrite_unlocked(p + i, 1, l, f);
                        i += l;
                        continue;
                }
                i++;
        }
        putc_unlocked('"', f);
}

static void json_scalar(FILE *f, const char *type, const char *value, size_t len) {
        fputs_unlocked("{\"type\":\"", f);
        fputs_unlocked(type, f);
        fputs_unlocked("\",\"value\":", f);
        json_string(f, value, len);
        putc_unlocked('}', f);
}

static void json_value(const TomlValue *v, FILE *f) {
        char buf[64];

        switch (v->type) {
        case TOML_TABLE:
                putc_unlocked('{', f);
                for (size_t i = 0; i < v->table.n; i++) {
                        const TomlKeyValue *kv = &v->table.items[i];
                        if (i > 0)
                                putc_unlocked(',', f);
                        json_string(f, kv->key, kv->key_len);
                        putc_unlocked(':', f);
                        json_value(kv->value, f);
                }
                putc_unlocked('}', f);
                break;
        case TOML_ARRAY:
                putc_unlocked('[', f);
                for (size_t i = 0; i < v->array.n; i++) {
                        if (i > 0)
                                putc_unlocked(',', f);
                        json_value(v->array.items[i], f);
                }
                putc_unlocked(']', f);
                break;
        case TOML_STRING:
                json_scalar(f, "string", v->string.ptr, v->string.len);
                break;
        case TOML_INTEGER:
                snprintf(buf, sizeof(buf), "%" PRId64, v->integer);
                json_scalar(f, "integer", buf, strlen(buf));
                break;
        case TOML_FLOAT:
                toml_format_float(v->floating, buf, sizeof(buf));
                json_scalar(f, "float", buf, strlen(buf));
                break;
        case TOML_BOOL:
                json_scalar(f, "bool", v->boolean ? "true" : "false", v->boolean ? 4 : 5);
                break;
        case TOML_DATETIME:
        case TOML_DATETIME_LOCAL:
        case TOML_DATE_LOCAL:
        case TOML_TIME_LOCAL:
                json_scalar(f, toml_type_name(v->type), v->datetime.text,
                            v->datetime.text ? strlen(v->datetime.text) : 0);
                break;
        }
}

int toml_write_tagged_json(const TomlValue *v, FILE *f) {
        if (!v || !f)
                return -EINVAL;
        flockfile(f);
        json_value(v, f);
        putc_unlocked('\n', f);
        funlockfile(f);
        if (fflush(f) != 0 || ferror(f))
                return errno > 0 ? -errno : -EIO;
        return 0;
}
