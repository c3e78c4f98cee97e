/* SPDX-License-Identifier: MIT */
/* The probe's report (probe.h): parsed as hostile input, then judged. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "install/probe.h"
#include "secureboot/esl.h"
#include "secureboot/guid.h"
#include "util/error-message.h"
#include "util/format-bytes.h"
#include "util/hex.h"
#include "util/macro.h"
#include "util/strv.h"

typedef enum Scope {
        SCOPE_TOP,
        SCOPE_DISK,
        SCOPE_IF,
} Scope;

typedef enum KeyId {
        K_ARCH, K_MEM, K_EFI, K_EFIVARS, K_SB, K_SETUP, K_PK, K_TPM, K_TPM_VERSION, K_KEXEC,
        K_LOCKDOWN, K_BLKID, K_DISK, K_DISK_SIZE, K_DISK_MODEL, K_DISK_SERIAL, K_DISK_WWID,
        K_DISK_ROT, K_DISK_REMOVABLE, K_DISK_ID, K_DISK_PART, K_DISK_MOUNT, K_DISK_SWAP,
        K_DISK_HOLDER, K_DISK_PTTYPE, K_DISK_FS, K_DISK_ZERO, K_IF, K_IF_MAC, K_IF_STATE,
        K_IF_ADDR, K_IF_DYNAMIC, K_IP, K_GATEWAY, K_DNS, K_END, _K_MAX,
} KeyId;

typedef struct Key {
        const char *name;
        Scope scope;
        bool repeat;
} Key;

static const Key keys[_K_MAX] = {
        [K_ARCH] = { "arch", SCOPE_TOP, false },
        [K_MEM] = { "mem.total-kib", SCOPE_TOP, false },
        [K_EFI] = { "efi", SCOPE_TOP, false },
        [K_EFIVARS] = { "efivars", SCOPE_TOP, false },
        [K_SB] = { "sb.secure-boot", SCOPE_TOP, false },
        [K_SETUP] = { "sb.setup-mode", SCOPE_TOP, false },
        [K_PK] = { "sb.pk", SCOPE_TOP, false },
        [K_TPM] = { "tpm", SCOPE_TOP, false },
        [K_TPM_VERSION] = { "tpm.version-major", SCOPE_TOP, false },
        [K_KEXEC] = { "kexec.load-disabled", SCOPE_TOP, false },
        [K_LOCKDOWN] = { "lockdown", SCOPE_TOP, false },
        [K_BLKID] = { "blkid", SCOPE_TOP, false },
        [K_DISK] = { "disk", SCOPE_TOP, true },
        [K_DISK_SIZE] = { "disk.size", SCOPE_DISK, false },
        [K_DISK_MODEL] = { "disk.model", SCOPE_DISK, false },
        [K_DISK_SERIAL] = { "disk.serial", SCOPE_DISK, false },
        [K_DISK_WWID] = { "disk.wwid", SCOPE_DISK, false },
        [K_DISK_ROT] = { "disk.rotational", SCOPE_DISK, false },
        [K_DISK_REMOVABLE] = { "disk.removable", SCOPE_DISK, false },
        [K_DISK_ID] = { "disk.id", SCOPE_DISK, true },
        [K_DISK_PART] = { "disk.part", SCOPE_DISK, true },
        [K_DISK_MOUNT] = { "disk.mount", SCOPE_DISK, true },
        [K_DISK_SWAP] = { "disk.swap", SCOPE_DISK, true },
        [K_DISK_HOLDER] = { "disk.holder", SCOPE_DISK, true },
        [K_DISK_PTTYPE] = { "disk.pttype", SCOPE_DISK, false },
        [K_DISK_FS] = { "disk.fs", SCOPE_DISK, true },
        [K_DISK_ZERO] = { "disk.zero", SCOPE_DISK, false },
        [K_IF] = { "net.if", SCOPE_TOP, true },
        [K_IF_MAC] = { "net.if.mac", SCOPE_IF, false },
        [K_IF_STATE] = { "net.if.state", SCOPE_IF, false },
        [K_IF_ADDR] = { "net.if.addr", SCOPE_IF, true },
        [K_IF_DYNAMIC] = { "net.if.dynamic", SCOPE_IF, true },
        [K_IP] = { "net.ip", SCOPE_TOP, false },
        [K_GATEWAY] = { "net.gateway", SCOPE_TOP, true },
        [K_DNS] = { "net.dns", SCOPE_TOP, true },
        [K_END] = { "end", SCOPE_TOP, false },
};

static void disk_done(ProbeDisk *d) {
        free(d->name);
        free(d->model);
        free(d->serial);
        free(d->wwid);
        free(d->pttype);
        strv_free(d->ids);
        strv_free(d->partitions);
        strv_free(d->mounts);
        strv_free(d->swaps);
        strv_free(d->holders);
        strv_free(d->filesystems);
}

static void interface_done(ProbeInterface *i) {
        free(i->name);
        free(i->mac);
        free(i->state);
        strv_free(i->addresses);
        strv_free(i->dynamic);
}

void probe_report_free(ProbeReport *r) {
        if (!r)
                return;
        free(r->arch);
        free(r->pk);
        free(r->lockdown);
        for (size_t i = 0; i < r->n_disks; i++)
                disk_done(&r->disks[i]);
        free(r->disks);
        for (size_t i = 0; i < r->n_interfaces; i++)
                interface_done(&r->interfaces[i]);
        free(r->interfaces);
        strv_free(r->gateways);
        strv_free(r->nameservers);
        free(r);
}
DEFINE_POINTER_CLEANUP(ProbeReport, probe_report_free);

static int strv_new(char ***ret) {
        *ret = calloc(1, sizeof(char *));
        return *ret ? 0 : -ENOMEM;
}

/* Appends a copy of s; -E2BIG past PROBE_MAX_ITEMS. */
static int strv_push_copy(char ***v, const char *s) {
        size_t n = strv_length(*v);
        if (n >= PROBE_MAX_ITEMS)
                return -E2BIG;
        char *c = strdup(s);
        if (!c)
                return -ENOMEM;
        char **nv = realloc(*v, (n + 2) * sizeof(char *));
        if (!nv) {
                free(c);
                return -ENOMEM;
        }
        nv[n] = c;
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}

/* Unescapes a value in place (\xHH only); -EBADMSG on anything else or a
 * NUL byte. */
static int unescape(char *s) {
        char *w = s;
        for (const char *p = s; *p; p++) {
                if (*p != '\\') {
                        *w++ = *p;
                        continue;
                }
                if (p[1] != 'x' || !isxdigit((unsigned char) p[2]) || !isxdigit((unsigned char) p[3]))
                        return -EBADMSG;
                char h[3] = { p[2], p[3], 0 };
                unsigned long b = strtoul(h, NULL, 16);
                if (b == 0)
                        return -EBADMSG;
                *w++ = (char) b;
                p += 3;
        }
        *w = 0;
        return 0;
}

static char *trim(char *s) {
        while (*s == ' ' || *s == '\t')
                s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                s[--n] = 0;
        return s;
}

static int parse_u64(const char *s, uint64_t *ret) {
        if (!*s || strlen(s) > 20)
                return -EBADMSG;
        uint64_t v = 0;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EBADMSG;
                unsigned d = (unsigned) (*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -EBADMSG;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

static int parse_small(const char *s, int max, int *ret) {
        uint64_t v;
        if (parse_u64(s, &v) < 0 || v > (uint64_t) max)
                return -EBADMSG;
        *ret = (int) v;
        return 0;
}

static int parse_yes_no(const char *s, bool *ret) {
        if (streq(s, "yes"))
                *ret = true;
        else if (streq(s, "no"))
                *ret = false;
        else
                return -EBADMSG;
        return 0;
}

static int parse_tri(const char *s, bool numeric, ProbeTri *ret) {
        if (streq(s, numeric ? "1" : "yes"))
                *ret = PROBE_YES;
        else if (streq(s, numeric ? "0" : "no"))
                *ret = PROBE_NO;
        else if (!numeric && streq(s, "unknown"))
                *ret = PROBE_UNKNOWN;
        else
                return -EBADMSG;
        return 0;
}

/* A device or interface name: what /sys/block or /sys/class/net can hold
 * and "/dev/" may be put before. */
static bool name_ok(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 64 || streq(s, ".") || streq(s, ".."))
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("._:-@+!", *p))
                        return false;
        return true;
}

/* A by-id link name: one path component of printable ASCII. */
static bool id_ok(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 255 || streq(s, ".") || streq(s, ".."))
                return false;
        for (const char *p = s; *p; p++)
                if (*p <= ' ' || *p > '~' || *p == '/')
                        return false;
        return true;
}

/* An address, a MAC: one word of printable ASCII. */
static bool word_ok(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 255)
                return false;
        for (const char *p = s; *p; p++)
                if (*p <= ' ' || *p > '~')
                        return false;
        return true;
}

/* "NAME REST" with NAME a name and REST non-empty. */
static bool pair_ok(const char *s) {
        const char *sp = strchr(s, ' ');
        if (!sp || !sp[1])
                return false;
        char name[65];
        size_t n = (size_t) (sp - s);
        if (n >= sizeof name)
                return false;
        memcpy(name, s, n);
        name[n] = 0;
        return name_ok(name);
}

static int set_string(char **field, const char *v) {
        char *c = strdup(v);
        if (!c)
                return -ENOMEM;
        free(*field);
        *field = c;
        return 0;
}

static int parse_hex_byte(const char *v, int *ret) {
        _cleanup_free_ uint8_t *b = NULL;
        size_t n;
        if (hex_decode(v, &b, &n) < 0 || n != 1)
                return -EBADMSG;
        *ret = b[0];
        return 0;
}

typedef struct Parser {
        ProbeReport *r;
        bool seen[_K_MAX];
        ProbeDisk *disk;        /* the current one */
        ProbeInterface *iface;
} Parser;

/* Room for one more zeroed element at the end of *array (*n elements of
 * SIZE bytes, at most MAX): -EBADMSG when NAME is not a name, -E2BIG past
 * MAX.  *n is not counted up: the caller does, once the element is one
 * its destructor can free. */
static int grow(void **array, size_t n, size_t max, size_t size, const char *name, void **ret) {
        if (!name_ok(name))
                return -EBADMSG;
        if (n >= max)
                return -E2BIG;
        uint8_t *a = realloc(*array, (n + 1) * size);
        if (!a)
                return -ENOMEM;
        *array = a;
        memset(a + n * size, 0, size);
        *ret = a + n * size;
        return 0;
}

/* A new disk or interface: the keys of its scope may be given again. */
static void scope_reset(Parser *p, Scope scope) {
        for (size_t k = 0; k < _K_MAX; k++)
                if (keys[k].scope == scope)
                        p->seen[k] = false;
}

static int add_disk(Parser *p, const char *v) {
        ProbeReport *r = p->r;
        for (size_t i = 0; i < r->n_disks; i++)
                if (streq(r->disks[i].name, v))
                        return -EBADMSG;
        ProbeDisk *d;
        int q = grow((void **) &r->disks, r->n_disks, PROBE_MAX_DISKS, sizeof *d, v, (void **) &d);
        if (q < 0)
                return q;
        *d = (ProbeDisk) { .rotational = PROBE_UNKNOWN, .removable = PROBE_UNKNOWN, .zero = PROBE_UNKNOWN };
        r->n_disks++;       /* from here on disk_done() frees what it has */
        if (!(d->name = strdup(v)) || strv_new(&d->ids) < 0 || strv_new(&d->partitions) < 0 ||
            strv_new(&d->mounts) < 0 || strv_new(&d->swaps) < 0 || strv_new(&d->holders) < 0 ||
            strv_new(&d->filesystems) < 0)
                return -ENOMEM;
        p->disk = d;
        scope_reset(p, SCOPE_DISK);
        return 0;
}

static int add_interface(Parser *p, const char *v) {
        ProbeReport *r = p->r;
        for (size_t i = 0; i < r->n_interfaces; i++)
                if (streq(r->interfaces[i].name, v))
                        return -EBADMSG;
        ProbeInterface *i;
        int q = grow((void **) &r->interfaces, r->n_interfaces, PROBE_MAX_INTERFACES, sizeof *i, v, (void **) &i);
        if (q < 0)
                return q;
        r->n_interfaces++;
        if (!(i->name = strdup(v)) || strv_new(&i->addresses) < 0 || strv_new(&i->dynamic) < 0)
                return -ENOMEM;
        p->iface = i;
        scope_reset(p, SCOPE_IF);
        return 0;
}

/* One KEY VALUE line; v is unescaped. */
static int parse_one(Parser *p, KeyId k, char *v) {
        ProbeReport *r = p->r;
        ProbeDisk *d = p->disk;
        ProbeInterface *i = p->iface;
        uint64_t u;
        int x;

        switch (k) {
        case K_ARCH:
                return name_ok(v) ? set_string(&r->arch, v) : -EBADMSG;
        case K_MEM:
                if (parse_u64(v, &u) < 0 || u > UINT64_MAX / 1024)
                        return -EBADMSG;
                r->mem_total = u * 1024;
                return 0;
        case K_EFI:
                return parse_yes_no(v, &r->efi);
        case K_EFIVARS:
                return parse_tri(v, false, &r->efivars);
        case K_SB:
                return parse_hex_byte(v, &r->secure_boot);
        case K_SETUP:
                return parse_hex_byte(v, &r->setup_mode);
        case K_PK:
                if (!*v) {
                        r->pk = malloc(1);
                        r->pk_size = 0;
                        return r->pk ? 0 : -ENOMEM;
                }
                x = hex_decode(v, &r->pk, &r->pk_size);
                return x == -ENOMEM ? x : x < 0 ? -EBADMSG : 0;
        case K_TPM:
                return parse_yes_no(v, &r->tpm);
        case K_TPM_VERSION:
                return parse_small(v, 1000, &r->tpm_version);
        case K_KEXEC:
                return parse_small(v, 1000, &r->kexec_load_disabled);
        case K_LOCKDOWN:
                return name_ok(v) ? set_string(&r->lockdown, v) : -EBADMSG;
        case K_BLKID:
                return parse_tri(v, false, &r->blkid);
        case K_DISK:
                return add_disk(p, v);
        case K_DISK_SIZE:
                if (parse_u64(v, &u) < 0)
                        return -EBADMSG;
                d->size = u;
                return 0;
        case K_DISK_MODEL:
                return set_string(&d->model, trim(v));
        case K_DISK_SERIAL:
                return set_string(&d->serial, trim(v));
        case K_DISK_WWID:
                return set_string(&d->wwid, trim(v));
        case K_DISK_ROT:
                return parse_tri(v, true, &d->rotational);
        case K_DISK_REMOVABLE:
                return parse_tri(v, true, &d->removable);
        case K_DISK_ID:
                return id_ok(v) ? strv_push_copy(&d->ids, v) : -EBADMSG;
        case K_DISK_PART:
                return name_ok(v) ? strv_push_copy(&d->partitions, v) : -EBADMSG;
        case K_DISK_MOUNT:
                return pair_ok(v) ? strv_push_copy(&d->mounts, v) : -EBADMSG;
        case K_DISK_SWAP:
                return name_ok(v) ? strv_push_copy(&d->swaps, v) : -EBADMSG;
        case K_DISK_HOLDER:
                return pair_ok(v) ? strv_push_copy(&d->holders, v) : -EBADMSG;
        case K_DISK_PTTYPE:
                return name_ok(v) ? set_string(&d->pttype, v) : -EBADMSG;
        case K_DISK_FS:
                return pair_ok(v) ? strv_push_copy(&d->filesystems, v) : -EBADMSG;
        case K_DISK_ZERO:
                return parse_tri(v, false, &d->zero);
        case K_IF:
                return add_interface(p, v);
        case K_IF_MAC:
                return word_ok(v) ? set_string(&i->mac, v) : -EBADMSG;
        case K_IF_STATE:
                return name_ok(v) ? set_string(&i->state, v) : -EBADMSG;
        case K_IF_ADDR:
                return word_ok(v) ? strv_push_copy(&i->addresses, v) : -EBADMSG;
        case K_IF_DYNAMIC:
                return word_ok(v) ? strv_push_copy(&i->dynamic, v) : -EBADMSG;
        case K_IP:
                return parse_yes_no(v, &r->ip);
        case K_GATEWAY:
                return pair_ok(v) && word_ok(strchr(v, ' ') + 1) ? strv_push_copy(&r->gateways, v) : -EBADMSG;
        case K_DNS:
                return word_ok(v) ? strv_push_copy(&r->nameservers, v) : -EBADMSG;
        case K_END:
        case _K_MAX:
                break;
        }
        return 0;
}

static int line_error(char **ret_error, int r, size_t line, const char *what) {
        if (r == -ENOMEM)
                return r;
        return error_set(ret_error, r, "probe report line %zu: %s", line, what);
}

int probe_parse(const char *data, size_t size, ProbeReport **ret, char **ret_error) {
        if (size > PROBE_REPORT_MAX)
                return error_set(ret_error, -E2BIG, "probe report of %zu bytes is larger than the %d bytes allowed",
                                 size, PROBE_REPORT_MAX);

        _cleanup_(probe_report_freep) ProbeReport *r = calloc(1, sizeof *r);
        _cleanup_free_ char *buf = malloc(size + 1);
        if (!r || !buf)
                return -ENOMEM;
        memcpy(buf, data, size);
        buf[size] = 0;
        *r = (ProbeReport) { .efivars = PROBE_UNKNOWN, .secure_boot = -1, .setup_mode = -1, .tpm_version = -1,
                             .kexec_load_disabled = -1, .blkid = PROBE_UNKNOWN };
        if (strv_new(&r->gateways) < 0 || strv_new(&r->nameservers) < 0)
                return -ENOMEM;

        Parser p = { .r = r };
        bool ended = false;
        size_t lineno = 0;
        char *s = buf, *end = buf + size;
        while (s < end) {
                char *nl = memchr(s, '\n', (size_t) (end - s));
                char *line = s;
                if (nl)
                        *nl = 0;
                s = nl ? nl + 1 : end;
                lineno++;

                for (const char *c = line; c < (nl ? nl : end); c++)
                        if ((unsigned char) *c < 0x20 || (unsigned char) *c > 0x7e)
                                return line_error(ret_error, -EBADMSG, lineno,
                                                  "a byte that is not printable ASCII (values escape them as \\xHH)");
                if (ended)
                        return line_error(ret_error, -EBADMSG, lineno, "text after \"end\"");
                if (lineno == 1) {
                        if (!streq(line, "keystone-probe 1"))
                                return line_error(ret_error, -EBADMSG, lineno,
                                                  "not \"keystone-probe 1\": not a report of this Keystone's probe");
                        continue;
                }

                char *v = strchr(line, ' ');
                if (v)
                        *v++ = 0;
                else
                        v = line + strlen(line);
                if (!*line)
                        return line_error(ret_error, -EBADMSG, lineno, "no key");
                for (const char *c = line; *c; c++)
                        if (!islower((unsigned char) *c) && !isdigit((unsigned char) *c) && *c != '.' && *c != '-')
                                return line_error(ret_error, -EBADMSG, lineno, "a key of other characters than a-z 0-9 . -");
                if (unescape(v) < 0)
                        return line_error(ret_error, -EBADMSG, lineno, "a backslash not followed by xHH, or \\x00");

                KeyId k = _K_MAX;
                for (size_t j = 0; j < _K_MAX; j++)
                        if (streq(keys[j].name, line)) {
                                k = (KeyId) j;
                                break;
                        }
                if (k == _K_MAX)
                        continue;   /* a newer probe's key */
                if (keys[k].scope == SCOPE_DISK && !p.disk)
                        return line_error(ret_error, -EBADMSG, lineno, "a disk line before any \"disk NAME\"");
                if (keys[k].scope == SCOPE_IF && !p.iface)
                        return line_error(ret_error, -EBADMSG, lineno, "an interface line before any \"net.if NAME\"");
                if (!keys[k].repeat && p.seen[k])
                        return line_error(ret_error, -EBADMSG, lineno, "a key given twice");
                p.seen[k] = true;
                if (k == K_END) {
                        ended = true;
                        continue;
                }
                int q = parse_one(&p, k, v);
                if (q == -E2BIG)
                        return line_error(ret_error, q, lineno, "more entries than allowed");
                if (q < 0)
                        return line_error(ret_error, q, lineno, "a value that does not fit its key");
        }
        if (lineno == 0)
                return error_set(ret_error, -EBADMSG, "probe report is empty");
        if (!ended)
                return error_set(ret_error, -EBADMSG, "probe report has no \"end\" line: it was cut short");
        if (!r->arch || r->mem_total == 0 || !p.seen[K_EFI])
                return error_set(ret_error, -EBADMSG, "probe report lacks arch, mem.total-kib or efi");
        *ret = TAKE_PTR(r);
        return 0;
}

static bool strv_contains(char *const *v, const char *s) {
        for (; v && *v; v++)
                if (streq(*v, s))
                        return true;
        return false;
}

/* Which disks there are, for messages: "vda (20 GiB; virtio-abc), sda (…)". */
static char *disks_list(const ProbeReport *r) {
        char *s = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&s, &n);
        if (!f)
                return NULL;
        if (r->n_disks == 0)
                fputs("none", f);
        for (size_t i = 0; i < r->n_disks; i++) {
                const ProbeDisk *d = &r->disks[i];
                char b[32];
                fprintf(f, "%s/dev/%s (%s", i ? ", " : "", d->name, format_bytes(d->size, b, sizeof b));
                if (d->model)
                        fprintf(f, ", %s", d->model);
                for (char **id = d->ids; id && *id; id++)
                        fprintf(f, "%s/dev/disk/by-id/%s", id == d->ids ? "; " : ", ", *id);
                fputc(')', f);
        }
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

int probe_find_disk(const ProbeReport *r, const char *device, const ProbeDisk **ret, char **ret_error) {
        const char *name = startswith(device, "/dev/disk/by-id/");
        bool by_id = name;
        if (!name)
                name = startswith(device, "/dev/");
        if (!name)
                name = device;

        const ProbeDisk *found = NULL, *parent = NULL;
        size_t n = 0;
        for (size_t i = 0; i < r->n_disks; i++) {
                const ProbeDisk *d = &r->disks[i];
                bool match = by_id ? strv_contains(d->ids, name)
                                   : streq(d->name, name) || (!strchr(device, '/') && strv_contains(d->ids, name));
                if (match) {
                        found = d;
                        n++;
                }
                if (!by_id && strv_contains(d->partitions, name))
                        parent = d;
        }
        if (n == 1) {
                *ret = found;
                return 0;
        }
        _cleanup_free_ char *list = disks_list(r);
        if (!list)
                return -ENOMEM;
        if (n > 1)
                return error_set(ret_error, -ENOTUNIQ,
                                 "disk.device %s names more than one disk of the target; its disks: %s; "
                                 "name one by /dev/disk/by-id in the host file", device, list);
        if (parent)
                return error_set(ret_error, -ENODEV,
                                 "disk.device %s is a partition of /dev/%s on the target; Keystone takes a "
                                 "whole disk: set disk.device to /dev/%s or one of its /dev/disk/by-id names; "
                                 "its disks: %s", device, parent->name, parent->name, list);
        return error_set(ret_error, -ENODEV,
                         "disk.device %s is not a disk of the target; its disks: %s; set disk.device in the "
                         "host file to one of them (a /dev/disk/by-id name stays right when names move)",
                         device, list);
}

bool probe_disk_holds_data(const ProbeDisk *d, char **ret_what) {
        char *s = NULL;
        size_t n = 0;
        FILE *f = ret_what ? open_memstream(&s, &n) : NULL;
        bool found = false;
        if (d->pttype) {
                if (f)
                        fprintf(f, "a %s partition table", d->pttype);
                found = true;
        }
        for (char **fs = d->filesystems; fs && *fs; fs++) {
                const char *sp = strchr(*fs, ' ');
                if (f)
                        fprintf(f, "%s%s on %.*s", found ? ", " : "", sp + 1, (int) (sp - *fs), *fs);
                found = true;
        }
        if (!found && d->zero == PROBE_NO) {
                if (f)
                        fputs("data in its first MiB (no signature Keystone knows)", f);
                found = true;
        }
        if (!found && d->zero == PROBE_UNKNOWN) {
                if (f)
                        fputs("a first MiB that could not be read (whether it holds data is not known)", f);
                found = true;
        }
        if (f) {
                if (fclose(f) != 0) {
                        free(s);
                        s = NULL;
                }
                if (found)
                        *ret_what = s;
                else {
                        free(s);
                        *ret_what = NULL;
                }
        }
        return found;
}

const char *probe_disk_id(const ProbeDisk *d, const char *device) {
        const char *named = device ? startswith(device, "/dev/disk/by-id/") : NULL;
        if (named && strv_contains(d->ids, named))
                return named;
        for (char **id = d->ids; id && *id; id++)
                if (startswith(*id, "wwn-"))
                        return *id;
        return d->ids && d->ids[0] ? d->ids[0] : NULL;
}

typedef struct PkMatch {
        const uint8_t *der;
        size_t size;
} PkMatch;

static int pk_entry_matches(const EslEntry *e, void *userdata) {
        const PkMatch *m = userdata;
        return efi_guid_equal(&e->type, &EFI_CERT_X509_GUID) && e->size == m->size &&
               memcmp(e->data, m->der, m->size) == 0;
}

/* 1 when the target's PK holds the owner's certificate, 0 when not (or
 * malformed). */
static int pk_is_owners(const ProbeReport *r, const ProbeWants *w) {
        if (!r->pk || r->pk_size == 0 || !w->owner_pk || w->owner_pk_size == 0)
                return 0;
        PkMatch m = { w->owner_pk, w->owner_pk_size };
        return esl_foreach(r->pk, r->pk_size, pk_entry_matches, &m) == 1;
}

/* The Secure Boot part of probe_check(): NULL when it may go on. */
static const char *secure_boot_refusal(const ProbeReport *r, const ProbeWants *w, const ProbeOptions *o,
                                       char *buf, size_t size) {
        if (!w->secure_boot) {
                if (r->secure_boot == 1)
                        return "Secure Boot is on and the host file does not enable it (secure-boot.enable = "
                               "false), so the unsigned system would not start: turn Secure Boot off in the "
                               "firmware settings, or set secure-boot.enable = true";
                return NULL;
        }
        if (o->secure_boot_later)
                return NULL;
        if (r->setup_mode == 1)
                return NULL;    /* the owner's keys will be enrolled */
        if (pk_is_owners(r, w))
                return NULL;
        if (r->efivars != PROBE_YES || r->setup_mode < 0)
                return "the firmware's Secure Boot state could not be read (no efivarfs or no SetupMode "
                       "variable): mount efivarfs on /sys/firmware/efi/efivars, or pass --secure-boot=later "
                       "to install without Secure Boot and enroll the keys afterwards";
        if (r->pk && r->pk_size > 0) {
                int c = esl_count(r->pk, r->pk_size);
                snprintf(buf, size,
                         "Secure Boot is in user mode with another owner's keys (a PK of %d certificate%s that is "
                         "not this host's, Secure Boot %s): put the firmware in setup mode (in its settings, "
                         "Secure Boot → clear or delete all keys, or \"reset to setup mode\"), or pass "
                         "--secure-boot=later to install without Secure Boot and enroll later",
                         c < 0 ? 0 : c, c == 1 ? "" : "s", r->secure_boot == 1 ? "on" : "off");
                return buf;
        }
        return "Secure Boot is off and the firmware is not in setup mode, so Keystone cannot enroll its keys: "
               "put the firmware in setup mode (in its settings, Secure Boot → clear or delete all keys), or "
               "pass --secure-boot=later";
}

void probe_wants_from_config(const Config *c, ProbeWants *ret) {
        *ret = (ProbeWants) {
                .disk_device = config_string(c, "disk.device"),
                .secure_boot = config_bool(c, "secure-boot.enable"),
                .tpm = config_bool(c, "tpm.enable"),
        };
}

int probe_check(const ProbeReport *r, const ProbeWants *w, const ProbeOptions *o, char **ret_error) {
        _cleanup_free_ char *msg = NULL;
        size_t msg_size = 0;
        FILE *f = open_memstream(&msg, &msg_size);
        if (!f)
                return -ENOMEM;
        int first = 0;
#define REFUSE(err, ...)                                        \
        do {                                                    \
                if (first == 0)                                 \
                        first = (err);                          \
                else                                            \
                        fputc('\n', f);                         \
                fprintf(f, __VA_ARGS__);                        \
        } while (0)

        char b[32];
        if (!streq(r->arch, "x86_64"))
                REFUSE(-EOPNOTSUPP, "the target is %s; Keystone installs only x86_64 machines", r->arch);
        if (r->mem_total < PROBE_MIN_MEMORY)
                REFUSE(-EPERM,
                       "the target has %s of memory (MemTotal); the installer runs from RAM and needs at least "
                       "1.5 GB: give the machine more memory", format_bytes(r->mem_total, b, sizeof b));
        if (!r->efi)
                REFUSE(-EOPNOTSUPP,
                       "the target booted through BIOS (legacy/CSM: no /sys/firmware/efi); Keystone needs UEFI: "
                       "in the firmware settings, set the boot mode to UEFI (disable CSM/legacy boot), then boot "
                       "the target's Linux again and check that /sys/firmware/efi exists");
        else {
                char sb[512];
                const char *why = secure_boot_refusal(r, w, o, sb, sizeof sb);
                if (why)
                        REFUSE(-EPERM, "%s", why);
        }
        if (w->tpm && !o->no_tpm && !(r->tpm && r->tpm_version == 2)) {
                if (r->tpm && r->tpm_version >= 0)
                        REFUSE(-EPERM,
                               "the target's TPM is version %d, not 2.0: enable the TPM 2.0 (fTPM, PTT) in the "
                               "firmware settings, or pass --no-tpm (or set tpm.enable = false) to unlock with "
                               "a passphrase", r->tpm_version);
                else if (r->tpm)
                        REFUSE(-EPERM,
                               "the target's TPM does not say its version (no tpm_version_major: a TPM 1.2 or "
                               "an old kernel): enable the TPM 2.0 (fTPM, PTT) in the firmware settings, or "
                               "pass --no-tpm (or set tpm.enable = false) to unlock with a passphrase");
                else
                        REFUSE(-EPERM,
                               "the target has no TPM (no /sys/class/tpm/tpm0): enable the TPM 2.0 (fTPM, PTT) "
                               "in the firmware settings, or pass --no-tpm (or set tpm.enable = false) to unlock "
                               "with a passphrase");
        }
        if (r->kexec_load_disabled == 1)
                REFUSE(-EPERM,
                       "kexec is disabled on the target (/proc/sys/kernel/kexec_load_disabled is 1, and stays so "
                       "until a reboot), and the installer is started with kexec: reboot the target without "
                       "setting kernel.kexec_load_disabled (look in /etc/sysctl.d)");

        const ProbeDisk *d = NULL;
        _cleanup_free_ char *disk_error = NULL;
        int q = w->disk_device ? probe_find_disk(r, w->disk_device, &d, &disk_error)
                               : error_set(&disk_error, -ENODEV, "the host file sets no disk.device");
        if (q == -ENOMEM) {
                fclose(f);
                return q;
        }
        if (q < 0)
                REFUSE(q, "%s", disk_error ? disk_error : "disk.device not found");
        if (d) {
                const char *id = probe_disk_id(d, w->disk_device);
                char shown[400];
                if (id)
                        snprintf(shown, sizeof shown, "/dev/disk/by-id/%s (/dev/%s, %s)", id, d->name,
                                 format_bytes(d->size, b, sizeof b));
                else
                        snprintf(shown, sizeof shown, "/dev/%s (%s)", d->name, format_bytes(d->size, b, sizeof b));
                size_t n_use = strv_length(d->mounts) + strv_length(d->swaps) + strv_length(d->holders);
                if (n_use > 0 && !o->kexec_releases) {
                        REFUSE(-EBUSY, "%s is in use on the target:", shown);
                        for (char **m = d->mounts; *m; m++) {
                                const char *sp = strchr(*m, ' ');
                                fprintf(f, " /dev/%.*s mounted on %s;", (int) (sp - *m), *m, sp + 1);
                        }
                        for (char **m = d->swaps; *m; m++)
                                fprintf(f, " /dev/%s is swap;", *m);
                        for (char **m = d->holders; *m; m++) {
                                const char *sp = strchr(*m, ' ');
                                fprintf(f, " /dev/%.*s held by %s;", (int) (sp - *m), *m, sp + 1);
                        }
                        fputs(" Keystone never erases a disk in use, even with --force: choose another disk "
                              "(disk.device), or stop what uses it on the target, or let the installer take over "
                              "by kexec first (the kexec phase), which releases it", f);
                }
                _cleanup_free_ char *what = NULL;
                if (!o->force && probe_disk_holds_data(d, &what))
                        REFUSE(-EEXIST,
                               "%s is not blank (found: %s); installing erases the whole disk: check that it "
                               "is the right one (keystone install --dry-run), then pass --force",
                               shown, what ? what : "(unknown)");
        }
#undef REFUSE
        if (fclose(f) != 0)
                return -ENOMEM;
        if (first < 0) {
                if (ret_error) {
                        free(*ret_error);
                        *ret_error = TAKE_PTR(msg);
                }
                return first;
        }
        return 0;
}

int probe_format_plan(const ProbeDisk *d, const char *device, char **ret) {
        const char *id = probe_disk_id(d, device);
        char b[32];
        char *s = NULL;
        int n = asprintf(&s, "erase  %s%s\n       /dev/%s, %s, %s%s%s\n", id ? "/dev/disk/by-id/" : "/dev/",
                         id ? id : d->name, d->name, d->model ? d->model : "model unknown",
                         format_bytes(d->size, b, sizeof b), d->serial ? ", serial " : "",
                         d->serial ? d->serial : "");
        if (n < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}
