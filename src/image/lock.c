/* SPDX-License-Identifier: MIT */
/* keystone.lock: parse, write, and compare with what the archive serves
 * (see lock.h for the format). */
#include <ctype.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "image/lock.h"
#include "util/error-message.h"
#include "util/file-bytes.h"
#include "util/macro.h"

void image_lock_done(ImageLock *l) {
        if (!l)
                return;
        free(l->suite);
        free(l->mirror);
        free(l->components);
        free(l->architecture);
        free(l->release);
        free(l->resolved);
        for (size_t i = 0; i < l->n_packages; i++) {
                free(l->packages[i].name);
                free(l->packages[i].version);
        }
        free(l->packages);
        *l = (ImageLock) {};
}

bool debian_package_name_valid(const char *s) {
        /* deb-control(5): lower case letters, digits, + - . ; at least two,
         * starting with an alphanumeric */
        size_t n = strlen(s);
        if (n < 2 || n > 128 || !(islower((unsigned char) s[0]) || isdigit((unsigned char) s[0])))
                return false;
        for (; *s; s++)
                if (!islower((unsigned char) *s) && !isdigit((unsigned char) *s) && !strchr("+-.", *s))
                        return false;
        return true;
}

bool debian_version_valid(const char *s) {
        /* [epoch:]upstream[-revision]; upstream starts with a digit */
        size_t n = strlen(s);
        if (n == 0 || n > 128)
                return false;
        const char *up = s;
        const char *colon = strchr(s, ':');
        if (colon) {
                if (colon == s)
                        return false;
                for (const char *p = s; p < colon; p++)
                        if (!isdigit((unsigned char) *p))
                                return false;
                up = colon + 1;
        }
        if (!isdigit((unsigned char) up[0]))
                return false;
        for (const char *p = up; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr(".+~-:", *p))
                        return false;
        return true;
}

/* deb-version(7): letters sort before non-letters, '~' before everything,
 * even the end of the part */
static int order(int c) {
        if (isdigit(c))
                return 0;
        if (isalpha(c))
                return c;
        if (c == '~')
                return -1;
        if (c)
                return c + 256;
        return 0;
}

static int verrevcmp(const char *a, const char *b) {
        while (*a || *b) {
                int first_diff = 0;
                while ((*a && !isdigit((unsigned char) *a)) || (*b && !isdigit((unsigned char) *b))) {
                        int ac = order((unsigned char) *a), bc = order((unsigned char) *b);
                        if (ac != bc)
                                return ac - bc;
                        a++;
                        b++;
                }
                while (*a == '0')
                        a++;
                while (*b == '0')
                        b++;
                while (isdigit((unsigned char) *a) && isdigit((unsigned char) *b)) {
                        if (!first_diff)
                                first_diff = *a - *b;
                        a++;
                        b++;
                }
                if (isdigit((unsigned char) *a))
                        return 1;
                if (isdigit((unsigned char) *b))
                        return -1;
                if (first_diff)
                        return first_diff;
        }
        return 0;
}

/* splits "E:U-R" into parts inside buf (size ≥ strlen(v)+1) */
static void split_version(const char *v, char *buf, unsigned long *epoch, const char **up, const char **rev) {
        strcpy(buf, v);
        char *colon = strchr(buf, ':');
        *epoch = 0;
        char *u = buf;
        if (colon) {
                *colon = 0;
                *epoch = strtoul(buf, NULL, 10);
                u = colon + 1;
        }
        char *dash = strrchr(u, '-');
        if (dash) {
                *dash = 0;
                *rev = dash + 1;
        } else
                *rev = "";
        *up = u;
}

int debian_version_compare(const char *a, const char *b) {
        size_t na = strlen(a) + 1, nb = strlen(b) + 1;
        char *ba = malloc(na), *bb = malloc(nb);
        if (!ba || !bb) {
                free(ba);
                free(bb);
                return strcmp(a, b);
        }
        unsigned long ea, eb;
        const char *ua, *ub, *ra, *rb;
        split_version(a, ba, &ea, &ua, &ra);
        split_version(b, bb, &eb, &ub, &rb);
        int r = ea < eb ? -1 : ea > eb ? 1 : 0;
        if (r == 0)
                r = verrevcmp(ua, ub);
        if (r == 0)
                r = verrevcmp(ra, rb);
        free(ba);
        free(bb);
        return r < 0 ? -1 : r > 0 ? 1 : 0;
}

static int cmp_package(const void *x, const void *y) {
        const LockPackage *a = x, *b = y;
        int r = strcmp(a->name, b->name);
        if (r == 0 && a->version && b->version)
                r = debian_version_compare(a->version, b->version);
        return r;
}

void image_lock_sort(ImageLock *l) {
        if (l->n_packages > 1)
                qsort(l->packages, l->n_packages, sizeof(LockPackage), cmp_package);
}

static LockPackage *find(const LockPackage *v, size_t n, const char *name) {
        LockPackage key = { .name = (char *) name };
        return n ? bsearch(&key, v, n, sizeof(LockPackage), cmp_package) : NULL;
}

const char *image_lock_version(const ImageLock *l, const char *name) {
        /* cmp_package compares versions only when both are set: the key has none */
        const LockPackage *p = find(l->packages, l->n_packages, name);
        return p ? p->version : NULL;
}

/* n bytes of s as a string; s need not be NUL-terminated (a mapped file:
 * strndup may look for the NUL, all the way through 56 MB of index) */
static char *memdup_str(const char *s, size_t n) {
        char *p = malloc(n + 1);
        if (p) {
                memcpy(p, s, n);
                p[n] = 0;
        }
        return p;
}

/* p holds copies of name and version, or nothing (-ENOMEM) */
static int lock_package_init(LockPackage *p, const char *name, size_t nn, const char *version, size_t vn) {
        *p = (LockPackage) { .name = memdup_str(name, nn), .version = memdup_str(version, vn) };
        if (!p->name || !p->version) {
                free(p->name);
                free(p->version);
                return -ENOMEM;
        }
        return 0;
}

int image_lock_set(ImageLock *l, const char *name, const char *version) {
        for (size_t i = 0; i < l->n_packages; i++)
                if (streq(l->packages[i].name, name)) {
                        char *v = strdup(version);
                        if (!v)
                                return -ENOMEM;
                        free(l->packages[i].version);
                        l->packages[i].version = v;
                        return 0;
                }
        LockPackage *n = realloc(l->packages, (l->n_packages + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        l->packages = n;
        int r = lock_package_init(&l->packages[l->n_packages], name, strlen(name), version, strlen(version));
        if (r < 0)
                return r;
        l->n_packages++;
        return 0;
}

/* ---- the file ---- */

static int fail(unsigned line, const char *reason, unsigned *ret_line, char **ret_error) {
        if (ret_line)
                *ret_line = line;
        return error_set(ret_error, -EINVAL, "%s", reason);
}

/* a "quoted" string without escapes at *p; advances *p */
static char *quoted(const char **p) {
        if (**p != '"')
                return NULL;
        const char *s = *p + 1, *e = s;
        while (*e && *e != '"' && *e != '\\' && *e != '\n' && (unsigned char) *e >= 0x20)
                e++;
        if (*e != '"')
                return NULL;
        *p = e + 1;
        return strndup(s, (size_t) (e - s));
}

static const char *skip_ws(const char *p) {
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

int image_lock_parse(const char *text, ImageLock *ret, unsigned *ret_line, char **ret_error) {
        ImageLock l = {};
        enum { NONE, ARCHIVE, PACKAGES } section = NONE;
        unsigned line = 0;
        int r = 0;
        for (const char *p = text; *p;) {
                line++;
                const char *eol = strchr(p, '\n');
                size_t len = eol ? (size_t) (eol - p) : strlen(p);
                _cleanup_free_ char *buf = strndup(p, len);
                p = eol ? eol + 1 : p + len;
                if (!buf) {
                        r = -ENOMEM;
                        goto done;
                }
                if (len > 0 && buf[len - 1] == '\r')
                        buf[--len] = 0;
                const char *s = skip_ws(buf);
                if (!*s || *s == '#')
                        continue;
                if (*s == '[') {
                        if (streq(s, "[archive]") && section == NONE)
                                section = ARCHIVE;
                        else if (streq(s, "[packages]") && section == ARCHIVE)
                                section = PACKAGES;
                        else {
                                r = fail(line, "expected [archive] first, then [packages]", ret_line, ret_error);
                                goto done;
                        }
                        continue;
                }
                _cleanup_free_ char *key = NULL, *value = NULL;
                if (*s == '"')
                        key = quoted(&s);
                else {
                        const char *k = s;
                        while (isalnum((unsigned char) *s) || *s == '-' || *s == '_')
                                s++;
                        key = s > k ? strndup(k, (size_t) (s - k)) : NULL;
                }
                s = skip_ws(s);
                if (!key || *s != '=') {
                        r = fail(line, "expected KEY = \"VALUE\"", ret_line, ret_error);
                        goto done;
                }
                s = skip_ws(s + 1);
                value = quoted(&s);
                s = skip_ws(s);
                if (!value || (*s && *s != '#')) {
                        r = fail(line, "expected a \"quoted\" value (no escapes) and nothing after it", ret_line,
                                 ret_error);
                        goto done;
                }
                if (section == ARCHIVE) {
                        struct {
                                const char *name;
                                char **field;
                        } fields[] = {
                                { "suite", &l.suite },           { "mirror", &l.mirror },
                                { "components", &l.components }, { "architecture", &l.architecture },
                                { "release", &l.release },       { "resolved", &l.resolved },
                        };
                        size_t i;
                        for (i = 0; i < ELEMENTSOF(fields); i++)
                                if (streq(key, fields[i].name))
                                        break;
                        if (i == ELEMENTSOF(fields)) {
                                r = fail(line, "unknown key in [archive]", ret_line, ret_error);
                                goto done;
                        }
                        if (*fields[i].field) {
                                r = fail(line, "key given twice", ret_line, ret_error);
                                goto done;
                        }
                        *fields[i].field = TAKE_PTR(value);
                } else if (section == PACKAGES) {
                        if (!debian_package_name_valid(key)) {
                                r = fail(line, "not a Debian package name", ret_line, ret_error);
                                goto done;
                        }
                        if (!debian_version_valid(value)) {
                                r = fail(line, "not a Debian version", ret_line, ret_error);
                                goto done;
                        }
                        for (size_t i = 0; i < l.n_packages; i++)
                                if (streq(l.packages[i].name, key)) {
                                        r = fail(line, "package listed twice", ret_line, ret_error);
                                        goto done;
                                }
                        if ((r = image_lock_set(&l, key, value)) < 0)
                                goto done;
                } else {
                        r = fail(line, "a key before any [section]", ret_line, ret_error);
                        goto done;
                }
        }
        if (!l.suite || !l.mirror || !l.components || !l.architecture) {
                r = fail(line, "[archive] lacks suite, mirror, components or architecture", ret_line, ret_error);
                goto done;
        }
        if (l.n_packages == 0) {
                r = fail(line, "[packages] is missing or empty", ret_line, ret_error);
                goto done;
        }
        image_lock_sort(&l);
        *ret = l;
        return 0;
done:
        image_lock_done(&l);
        return r;
}

int image_lock_write(ImageLock *l, FILE *f) {
        image_lock_sort(l);
        fprintf(f,
                "# keystone.lock: the exact Debian packages of this host's image.\n"
                "# Written by `keystone lock HOST.toml`; `keystone image`/`build` install these\n"
                "# versions and stop when the archive no longer serves one.  Commit it.\n"
                "\n[archive]\n");
        const char *names[] = { "suite", "mirror", "components", "architecture", "release", "resolved" };
        const char *values[] = { l->suite, l->mirror, l->components, l->architecture, l->release, l->resolved };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (values[i])
                        fprintf(f, "%s = \"%s\"\n", names[i], values[i]);
        fprintf(f, "\n[packages]\n");
        for (size_t i = 0; i < l->n_packages; i++)
                fprintf(f, "\"%s\" = \"%s\"\n", l->packages[i].name, l->packages[i].version);
        return ferror(f) ? -EIO : 0;
}

/* ---- apt and dpkg output ---- */

int image_lock_add_apt_simulation(ImageLock *l, const char *out) {
        int r;
        size_t added = 0;
        for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
                if (strncmp(p, "Inst ", 5) != 0)
                        continue;
                size_t len = strcspn(p, "\n");
                _cleanup_free_ char *line = strndup(p, len);
                if (!line)
                        return -ENOMEM;
                char *name = line + 5, *s = name + strcspn(name, " ");
                if (!*s)
                        return -EBADMSG;
                *s++ = 0;
                if (*s == '[') { /* the installed version of an upgrade */
                        s = strchr(s, ']');
                        if (!s)
                                return -EBADMSG;
                        s = (char *) skip_ws(s + 1);
                }
                if (*s != '(')
                        return -EBADMSG;
                char *version = s + 1, *e = version + strcspn(version, " )");
                if (!*e)
                        return -EBADMSG;
                char after = *e;
                *e = 0;
                /* "name:arch" for foreign architectures */
                char *colon = strchr(name, ':');
                if (colon)
                        *colon = 0;
                if (!debian_package_name_valid(name) || !debian_version_valid(version))
                        return -EBADMSG;
                if ((r = image_lock_set(l, name, version)) < 0)
                        return r;
                added++;
                if (!l->release && after == ' ') {
                        /* "Debian:13.8/stable [amd64])" */
                        const char *rel = strchr(e + 1, ':');
                        if (rel && rel < line + len) {
                                size_t n = strcspn(rel + 1, "/ )");
                                if (n > 0 && n < 32 && (l->release = strndup(rel + 1, n)) == NULL)
                                        return -ENOMEM;
                        }
                }
        }
        image_lock_sort(l);
        return (int) added;
}

/* the value of "Field: value" when line starts with field */
static const char *field(const char *line, const char *name) {
        size_t n = strlen(name);
        if (strncmp(line, name, n) != 0 || line[n] != ':')
                return NULL;
        return skip_ws(line + n + 1);
}

static int status_stanza_end(ImageLock *l, char **name, char **version, bool *installed) {
        int r = 0;
        if (*name && *version && *installed) {
                if (!debian_package_name_valid(*name) || !debian_version_valid(*version))
                        r = -EBADMSG;
                else
                        r = image_lock_set(l, *name, *version);
        }
        free(*name);
        free(*version);
        *name = *version = NULL;
        *installed = false;
        return r;
}

int image_lock_add_dpkg_status(ImageLock *l, const char *status) {
        char *name = NULL, *version = NULL;
        bool installed = false;
        int r = 0;
        for (const char *p = status;;) {
                size_t len = strcspn(p, "\n");
                bool last = p[len] == 0;
                if (len > 0) {
                        char *line = strndup(p, len);
                        if (!line) {
                                r = -ENOMEM;
                                break;
                        }
                        const char *v;
                        char **dst = NULL;
                        if ((v = field(line, "Package")))
                                dst = &name;
                        else if ((v = field(line, "Version")))
                                dst = &version;
                        else if ((v = field(line, "Status")))
                                installed = streq(v, "install ok installed");
                        if (dst) {
                                free(*dst);
                                *dst = strdup(v);
                                if (!*dst)
                                        r = -ENOMEM;
                        }
                        free(line);
                        if (r < 0)
                                break;
                }
                if ((len == 0 || last) && (r = status_stanza_end(l, &name, &version, &installed)) < 0)
                        break;
                if (last)
                        break;
                p += len + 1;
        }
        free(name);
        free(version);
        image_lock_sort(l);
        return r;
}

/* ---- the archive's index ---- */

void apt_index_done(AptIndex *x) {
        for (size_t i = 0; i < x->n; i++) {
                free(x->entries[i].name);
                free(x->entries[i].version);
        }
        free(x->entries);
        *x = (AptIndex) {};
}

static int index_add(AptIndex *x, const char *name, size_t nn, const char *version, size_t vn) {
        if (x->n % 4096 == 0) {
                LockPackage *e = realloc(x->entries, (x->n + 4096) * sizeof *e);
                if (!e)
                        return -ENOMEM;
                x->entries = e;
        }
        int r = lock_package_init(&x->entries[x->n], name, nn, version, vn);
        if (r < 0)
                return r;
        x->n++;
        return 0;
}

int apt_index_add_packages_file(AptIndex *x, const char *text, size_t size) {
        const char *end = text + size, *name = NULL, *version = NULL;
        size_t nn = 0, vn = 0;
        for (const char *p = text; p <= end;) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);
                if (len == 0) {
                        if (name && version) {
                                int r = index_add(x, name, nn, version, vn);
                                if (r < 0)
                                        return r;
                        }
                        name = version = NULL;
                } else if (len > 9 && memcmp(p, "Package: ", 9) == 0) {
                        name = p + 9;
                        nn = len - 9;
                } else if (len > 9 && memcmp(p, "Version: ", 9) == 0) {
                        version = p + 9;
                        vn = len - 9;
                }
                if (!nl)
                        break;
                p = nl + 1;
        }
        if (name && version)
                return index_add(x, name, nn, version, vn);
        return 0;
}

void apt_index_sort(AptIndex *x) {
        if (x->n > 1)
                qsort(x->entries, x->n, sizeof(LockPackage), cmp_package);
}

int image_lock_check(const ImageLock *l, const AptIndex *x, LockMismatch **ret) {
        LockMismatch *out = NULL;
        size_t n = 0;
        for (size_t i = 0; i < l->n_packages; i++) {
                const LockPackage *p = &l->packages[i];
                /* the first entry of this name, then walk its versions */
                LockPackage key = { .name = p->name };
                size_t lo = 0, hi = x->n;
                while (lo < hi) {
                        size_t mid = (lo + hi) / 2;
                        if (strcmp(x->entries[mid].name, key.name) < 0)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                const char *newest = NULL;
                bool served = false;
                for (size_t j = lo; j < x->n && streq(x->entries[j].name, p->name); j++) {
                        if (streq(x->entries[j].version, p->version))
                                served = true;
                        newest = x->entries[j].version;
                }
                if (served)
                        continue;
                LockMismatch *m = realloc(out, (n + 1) * sizeof *m);
                if (!m) {
                        free(out);
                        return -ENOMEM;
                }
                out = m;
                out[n++] = (LockMismatch) { .name = p->name, .locked = p->version, .available = newest,
                                            .order = newest ? debian_version_compare(newest, p->version) : 0 };
        }
        *ret = out;
        return (int) n;
}

/* ---- files ---- */

int image_lock_path(const char *host_path, char *out, size_t size) {
        _cleanup_free_ char *copy = strdup(host_path);
        if (!copy)
                return -ENOMEM;
        if (snprintf(out, size, "%s/keystone.lock", dirname(copy)) >= (int) size)
                return -ENAMETOOLONG;
        return 0;
}

#define LOCK_MAX_BYTES (16u << 20)

int image_lock_load(const char *path, ImageLock *ret, char **ret_error) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t got = 0;
        int r = read_file_bytes(path, LOCK_MAX_BYTES, &data, &got);
        if (r == -EFBIG || r == -EISDIR || r == -EBADFD) {
                if (ret_error && asprintf(ret_error, "%s: not a regular file of at most 16 MiB", path) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        if (r < 0)
                return r;
        const char *text = (const char *) data;
        if (strlen(text) != got) {
                if (ret_error && asprintf(ret_error, "%s: holds a NUL byte; not a lock file", path) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        unsigned line = 0;
        _cleanup_free_ char *why = NULL;
        r = image_lock_parse(text, ret, &line, &why);
        if (r == -EINVAL && ret_error && asprintf(ret_error, "%s:%u: %s", path, line, why ? why : strerror(-r)) < 0)
                *ret_error = NULL;
        return r;
}

int image_lock_save(ImageLock *l, const char *path) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        int r = image_lock_write(l, f);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        return write_file_bytes_atomic(path, text, size, 0644);
}
