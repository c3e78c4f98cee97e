/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "config/schema.h"
#include "util/macro.h"

const OptionDef *schema_child(const OptionDef *group, const char *name) {
        if (!group || group->type != OPT_GROUP)
                return NULL;
        for (const OptionDef *o = group->children; o->name; o++)
                if (streq(o->name, name))
                        return o;
        return NULL;
}

const OptionDef *schema_lookup(const char *dotted) {
        const OptionDef *o = schema_root();
        _cleanup_free_ char *copy = strdup(dotted);
        if (!copy)
                return NULL;
        char *save = NULL;
        for (char *part = strtok_r(copy, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
                if (o->type == OPT_ATTRS)
                        o = o->elem; /* any name (or "<name>") selects the entry */
                else if (o->type == OPT_GROUP)
                        o = schema_child(o, part);
                else
                        return NULL;
                if (!o)
                        return NULL;
        }
        return o;
}

char *schema_type_describe(const OptionDef *o) {
        char *s = NULL;
        switch (o->type) {
        case OPT_BOOL: return strdup("bool");
        case OPT_STRING: return strdup("string");
        case OPT_SIZE: return strdup("size");
        case OPT_PATH: return strdup("path");
        case OPT_GROUP: return strdup("table");
        case OPT_INT:
                if (o->min < o->max) {
                        if (asprintf(&s, "int (%" PRId64 "..%" PRId64 ")", o->min, o->max) < 0)
                                return NULL;
                        return s;
                }
                return strdup("int");
        case OPT_ENUM: {
                size_t n = 8;
                for (const char *const *e = o->enum_values; *e; e++)
                        n += strlen(*e) + 3;
                s = malloc(n);
                if (!s)
                        return NULL;
                char *p = stpcpy(s, "one of ");
                for (const char *const *e = o->enum_values; *e; e++)
                        p += sprintf(p, "%s%s", e == o->enum_values ? "" : ", ", *e);
                return s;
        }
        case OPT_LIST: {
                _cleanup_free_ char *e = schema_type_describe(o->elem);
                if (!e || asprintf(&s, "list of %s", e) < 0)
                        return NULL;
                return s;
        }
        case OPT_ATTRS: {
                const char *what = o->elem->type == OPT_GROUP ? o->elem->name : NULL;
                _cleanup_free_ char *e = what ? NULL : schema_type_describe(o->elem);
                if (asprintf(&s, "table of %s keyed by name", what ? what : e) < 0)
                        return NULL;
                return s;
        }
        }
        return NULL;
}

int size_parse(const char *s, uint64_t *ret) {
        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        unsigned shift = 0;
        switch (*end) {
        case 0: break;
        case 'K': shift = 10; end++; break;
        case 'M': shift = 20; end++; break;
        case 'G': shift = 30; end++; break;
        case 'T': shift = 40; end++; break;
        default: return -EINVAL;
        }
        if (*end == 'i' && shift)  /* accept "8GiB"-style spellings too */
                end++;
        if (*end == 'B' && shift)
                end++;
        if (*end)
                return -EINVAL;
        if (shift && v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = (uint64_t) v << shift;
        return 0;
}

unsigned edit_distance(const char *a, const char *b, unsigned cap) {
        size_t la = strlen(a), lb = strlen(b);
        if (la > 64 || lb > 64)
                return cap + 1;
        if ((la > lb ? la - lb : lb - la) > cap)
                return cap + 1;
        unsigned row[65];
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                unsigned diag = row[0];
                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned up = row[j];
                        unsigned best = diag + (a[i - 1] != b[j - 1]);
                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb] > cap ? cap + 1 : row[lb];
}

const char *validate_hostname(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 63)
                return "a host name has 1 to 63 characters";
        if (s[0] == '-' || s[n - 1] == '-')
                return "a host name neither starts nor ends with '-'";
        for (const char *p = s; *p; p++)
                if (!islower((unsigned char) *p) && !isdigit((unsigned char) *p) && *p != '-')
                        return "a host name has only lower-case letters, digits and '-' (no dots: it is one "
                               "DNS label)";
        return NULL;
}

bool text_has_control_or(const char *s, const char *also) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f || strchr(also, *s))
                        return true;
        return false;
}

const char *validate_package_name(const char *s) {
        /* Debian policy 5.6.1: [a-z0-9][a-z0-9+.-]+ */
        if (strlen(s) < 2 || !(islower((unsigned char) s[0]) || isdigit((unsigned char) s[0])))
                return "a Debian package name has two or more characters and starts with a lower-case "
                       "letter or a digit";
        for (const char *p = s; *p; p++)
                if (!islower((unsigned char) *p) && !isdigit((unsigned char) *p) && !strchr("+.-", *p))
                        return "a Debian package name has only lower-case letters, digits, '+', '-' and '.'";
        return NULL;
}

const char *validate_gecos(const char *s) {
        if (text_has_control_or(s, ":"))
                return "the description is a field of /etc/passwd: no ':' and no control characters";
        return NULL;
}

const char *validate_shell(const char *s) {
        if (text_has_control_or(s, ": "))
                return "a login shell is a path in /etc/passwd: no ':', spaces or control characters";
        return NULL;
}

const char *validate_pool_name(const char *s) {
        if (strchr(s, '/'))
                return "a pool name has no '/' (datasets below it go in disk.datasets)";
        return validate_dataset_name(s);
}

const char *validate_user_name(const char *s) {
        /* Debian's adduser default NAME_REGEX, roughly: lower-case, starts with a letter */
        size_t n = strlen(s);
        if (n == 0 || n > 32)
                return "a user or group name has 1 to 32 characters";
        if (!(islower((unsigned char) s[0]) || s[0] == '_'))
                return "a user or group name starts with a lower-case letter or '_'";
        for (const char *p = s; *p; p++)
                if (!(islower((unsigned char) *p) || isdigit((unsigned char) *p) || *p == '_' || *p == '-'))
                        return "a user or group name has only lower-case letters, digits, '_' and '-'";
        if (streq(s, "root"))
                return "root is not a login user here; use ssh.permit-root-login";
        return NULL;
}

/* every character a letter, a digit or one of also */
static bool alnum_or(const char *s, const char *also) {
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr(also, *s))
                        return false;
        return true;
}

const char *validate_time_zone(const char *s) {
        if (!*s)
                return "the time zone is empty";
        if (s[0] == '/' || strstr(s, ".."))
                return "a time zone is a tz database name such as \"Europe/Berlin\", not a path";
        if (!alnum_or(s, "/_+-"))
                return "a time zone is a tz database name such as \"Europe/Berlin\"";
        return NULL;
}

const char *validate_dataset_name(const char *s) {
        if (!*s)
                return "a dataset name is not empty";
        if (s[0] == '/' || s[strlen(s) - 1] == '/' || strstr(s, "//"))
                return "a dataset name is relative to the pool, like \"crypt/home\"";
        if (!alnum_or(s, "/_-.:"))
                return "a ZFS name has only letters, digits and '_', '-', '.', ':', '/'";
        return NULL;
}

const char *validate_mountpoint(const char *s) {
        if (streq(s, "none"))
                return NULL;
        if (s[0] != '/')
                return "a mountpoint is an absolute path or \"none\"";
        if (strstr(s, "/../") || strstr(s, "/./") || (strlen(s) > 1 && s[strlen(s) - 1] == '/'))
                return "a mountpoint is a normalised absolute path";
        if (text_has_control_or(s, " \t"))
                return "a mountpoint has no spaces or control characters (it is a field of /etc/fstab)";
        return NULL;
}

/* Called after the size parsed, so size_parse succeeds here. */
static bool size_below(const char *s, uint64_t min) {
        uint64_t v = 0;
        return size_parse(s, &v) == 0 && v < min;
}

const char *validate_esp_size(const char *s) {
        /* FAT32 needs 65525 clusters; a UKI alone is 30-60 MiB */
        if (size_below(s, 64ull << 20))
                return "the ESP needs at least 64M (FAT32, room for two signed UKIs: use 512M or more on real disks)";
        return NULL;
}

const char *validate_credstore_size(const char *s) {
        /* the LUKS2 header and keyslot area take 16 MiB; ext4 inside needs room too */
        if (size_below(s, 64ull << 20))
                return "the credstore needs at least 64M (16 MiB of LUKS2 header and keyslots, then ext4)";
        return NULL;
}

const char *validate_ssh_public_key(const char *s) {
        static const char *const types[] = {
                "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
                "sk-ecdsa-sha2-nistp256@openssh.com", NULL,
        };
        const char *sp = strchr(s, ' ');
        if (!sp || text_has_control_or(s, ""))
                return "an SSH public key is one line: TYPE BASE64 [COMMENT], as in a .pub file";
        size_t tl = sp - s;
        bool known = false;
        for (const char *const *t = types; *t; t++)
                if (strlen(*t) == tl && strneq(*t, s, tl))
                        known = true;
        if (!known)
                return "unknown SSH key type (expected ssh-ed25519, ssh-rsa, ecdsa-sha2-*, sk-*)";
        const char *b = sp + 1;
        size_t bl = strcspn(b, " ");
        if (bl < 16 || bl % 4 != 0 || bl > 16384)
                return "the key's base64 part is malformed (copy the whole line of the .pub file)";
        unsigned char *raw = malloc(bl);
        if (!raw)
                return "out of memory";
        int n = EVP_DecodeBlock(raw, (const unsigned char *) b, (int) bl);
        const char *reason = NULL;
        /* the blob starts with the key type as an SSH string (4-byte length) */
        if (n < 4 + (int) tl)
                reason = "the key's base64 part is malformed (copy the whole line of the .pub file)";
        else {
                uint32_t l = (uint32_t) raw[0] << 24 | raw[1] << 16 | raw[2] << 8 | raw[3];
                if (l != tl || memcmp(raw + 4, s, tl) != 0)
                        reason = "the key's data does not match its type (a damaged or edited key?)";
        }
        free(raw);
        return reason;
}
