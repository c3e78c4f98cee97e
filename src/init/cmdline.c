/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "init/cmdline.h"
#include "util/error-message.h"
#include "util/log.h"
#include "util/macro.h"

bool init_dataset_name_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n >= INIT_NAME_MAX || s[0] == '/' || s[n - 1] == '/')
                return false;
        for (size_t i = 0; i < n; i++) {
                char ch = s[i];
                if (ch == '/') {
                        if (s[i + 1] == '/')
                                return false;
                        continue;
                }
                if (!isalnum((unsigned char) ch) && !strchr("_.:-", ch))
                        return false;
        }
        /* "." and ".." are not components */
        for (const char *p = s; p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL) {
                size_t l = strcspn(p, "/");
                if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
        }
        return true;
}

static bool endswith_dotdot(const char *s) {
        size_t n = strlen(s);
        return n >= 3 && streq(s + n - 3, "/..");
}

/* Copies the next word of the command line into buf without its quotes;
 * returns the position after it, or NULL at the end. */
static const char *next_word(const char *p, char *buf, size_t size, bool *ret_truncated) {
        while (*p && isspace((unsigned char) *p))
                p++;
        if (!*p)
                return NULL;
        size_t n = 0;
        bool quoted = false;
        *ret_truncated = false;
        for (; *p && (quoted || !isspace((unsigned char) *p)); p++) {
                if (*p == '"') {
                        quoted = !quoted;
                        continue;
                }
                if (n + 1 < size)
                        buf[n++] = *p;
                else
                        *ret_truncated = true;
        }
        buf[n] = 0;
        return p;
}

static int set_value(char *dst, const char *key, const char *value, char **ret_error) {
        if (!*value)
                return error_set(ret_error, -EINVAL, "kernel command line: %s= has an empty value", key);
        if (strlen(value) >= INIT_NAME_MAX)
                return error_set(ret_error, -EINVAL, "kernel command line: the value of %s is longer than %d bytes",
                                 key, INIT_NAME_MAX - 1);
        snprintf(dst, INIT_NAME_MAX, "%s", value);
        return 0;
}

static int parse_bool(const char *key, const char *v, bool *ret, char **ret_error) {
        if (!v || streq(v, "1") || streq(v, "yes") || streq(v, "true") || streq(v, "on"))
                *ret = true;
        else if (streq(v, "0") || streq(v, "no") || streq(v, "false") || streq(v, "off"))
                *ret = false;
        else
                return error_set(ret_error, -EINVAL, "kernel command line: %s=%s is not a boolean (use 1 or 0)",
                                 key, v);
        return 0;
}

/* The index of v in names (NULL-terminated), or -EINVAL naming what is expected. */
static int parse_choice(const char *key, const char *v, const char *const *names, const char *expected,
                        char **ret_error) {
        for (int i = 0; names[i]; i++)
                if (streq(v, names[i]))
                        return i;
        return error_set(ret_error, -EINVAL, "kernel command line: %s=%s: expected %s", key, v, expected);
}

/* a.b.c.d, with "/N" (0-32) when with_prefix */
static bool ipv4_valid(const char *s, bool with_prefix) {
        char buf[64];
        if (strlen(s) >= sizeof buf)
                return false;
        snprintf(buf, sizeof buf, "%s", s);
        char *slash = strchr(buf, '/');
        if (with_prefix != (slash != NULL))
                return false;
        if (slash) {
                *slash = 0;
                char *end = NULL;
                errno = 0;
                long n = strtol(slash + 1, &end, 10);
                if (errno || end == slash + 1 || *end || n < 0 || n > 32)
                        return false;
        }
        struct in_addr a;
        return inet_pton(AF_INET, buf, &a) == 1;
}

/* aa:bb:cc:dd:ee:ff (either case); made lower case, as /sys/class/net/X/address is. */
static bool mac_normalize(char *s) {
        if (strlen(s) != 17)
                return false;
        for (size_t i = 0; i < 17; i++) {
                if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char) s[i]))
                        return false;
                s[i] = (char) tolower((unsigned char) s[i]);
        }
        return true;
}

/* The field of n that "address", "gateway", "interface" or "mac" names. */
static char *network_field(InitNetwork *n, const char *name) {
        return streq(name, "address") ? n->address : streq(name, "gateway") ? n->gateway
               : streq(name, "interface") ? n->interface : streq(name, "mac") ? n->mac : NULL;
}

const char *init_network_check(InitNetwork *n, InitNetworkProblem *ret) {
        InitNetworkProblem p = INIT_NETWORK_OK;
        if (!*n->address)
                p = INIT_NETWORK_NO_ADDRESS;
        else if (!ipv4_valid(n->address, true))
                p = INIT_NETWORK_BAD_ADDRESS;
        else if (*n->gateway && !ipv4_valid(n->gateway, false))
                p = INIT_NETWORK_BAD_GATEWAY;
        else if (*n->interface && (strchr(n->interface, '/') || strlen(n->interface) >= 16 ||
                                   streq(n->interface, ".") || streq(n->interface, "..")))
                p = INIT_NETWORK_BAD_INTERFACE;
        else if (*n->mac && !mac_normalize(n->mac))
                p = INIT_NETWORK_BAD_MAC;
        else if (*n->mac && *n->interface)
                p = INIT_NETWORK_INTERFACE_AND_MAC;
        if (ret)
                *ret = p;
        static const char *const expected[] = {
                [INIT_NETWORK_BAD_ADDRESS] = "an IPv4 address with a prefix length (e.g. 10.0.2.15/24)",
                [INIT_NETWORK_BAD_GATEWAY] = "an IPv4 address",
                [INIT_NETWORK_BAD_INTERFACE] = "a network interface name",
                [INIT_NETWORK_BAD_MAC] = "a hardware address (six hex pairs joined by ':', e.g. 52:54:00:12:34:56)",
        };
        return p < ELEMENTSOF(expected) ? expected[p] : NULL;
}

const char *init_network_field(const InitNetwork *n, InitNetworkProblem p) {
        switch (p) {
        case INIT_NETWORK_NO_ADDRESS:
        case INIT_NETWORK_BAD_ADDRESS: return n->address;
        case INIT_NETWORK_BAD_GATEWAY: return n->gateway;
        case INIT_NETWORK_BAD_INTERFACE: return n->interface;
        case INIT_NETWORK_BAD_MAC: return n->mac;
        default: return NULL;
        }
}

const char *init_network_field_name(InitNetworkProblem p) {
        switch (p) {
        case INIT_NETWORK_NO_ADDRESS:
        case INIT_NETWORK_BAD_ADDRESS: return "address";
        case INIT_NETWORK_BAD_GATEWAY: return "gateway";
        case INIT_NETWORK_BAD_INTERFACE:
        case INIT_NETWORK_INTERFACE_AND_MAC: return "interface";
        case INIT_NETWORK_BAD_MAC: return "mac";
        default: return NULL;
        }
}

/* PREFIX.address (required), .gateway, .interface and .mac; for what tells
 * why the address is needed. */
static int network_validate(const char *prefix, const char *what, InitNetwork *n, char **ret_error) {
        InitNetworkProblem p;
        const char *expected = init_network_check(n, &p);
        if (p == INIT_NETWORK_OK)
                return 0;
        if (p == INIT_NETWORK_NO_ADDRESS)
                return error_set(ret_error, -EINVAL, "kernel command line: %s needs %s.address=ADDRESS/PREFIX "
                                 "(the IPv4 address sshd listens on, e.g. 10.0.2.15/24)", what, prefix);
        if (p == INIT_NETWORK_INTERFACE_AND_MAC)
                return error_set(ret_error, -EINVAL, "kernel command line: %s.interface and %s.mac both name the "
                                 "interface; give one", prefix, prefix);
        return error_set(ret_error, -EINVAL, "kernel command line: %s.%s=%s is not %s", prefix,
                         init_network_field_name(p), init_network_field(n, p), expected);
}

static void config_defaults(InitConfig *c) {
        *c = (InitConfig) {};
        snprintf(c->pool, sizeof c->pool, "rpool");
        snprintf(c->keyfile, sizeof c->keyfile, "zfs-sysroot.mount");
        snprintf(c->init, sizeof c->init, "/sbin/init");
        snprintf(c->tpm2_device, sizeof c->tpm2_device, "auto");
}

void init_config_fallback(const char *cmdline, InitConfig *ret) {
        InitConfig c;
        config_defaults(&c);
        char word[4096];
        bool truncated;
        for (const char *p = cmdline; p && (p = next_word(p, word, sizeof word, &truncated));) {
                if (truncated)
                        continue;
                const char *v;
                if ((v = startswith(word, "keystone.tpm2-device=")) && *v && strlen(v) < sizeof c.tpm2_device)
                        snprintf(c.tpm2_device, sizeof c.tpm2_device, "%s", v);
                else if ((v = startswith(word, "keystone.emergency=")))
                        c.emergency_shell = streq(v, "shell");
        }
        *ret = c;
}

int init_config_parse(const char *cmdline, InitConfig *ret, char **ret_error) {
        InitConfig c;
        char gen[INIT_NAME_MAX] = "", word[4096];
        bool truncated;
        int r;
        config_defaults(&c);

        for (const char *p = cmdline; (p = next_word(p, word, sizeof word, &truncated));) {
                if (memcmp(word, "keystone.", 9) != 0 || strnlen(word, 9) < 9)
                        continue;
                const char *param = word + 9;
                if (truncated)
                        return error_set(ret_error, -EINVAL, "kernel command line: parameter %.40s… is too long", word);
                char *eq = strchr(word, '=');
                const char *v = NULL;
                if (eq) {
                        *eq = 0;
                        v = eq + 1;
                }
                const char *key = word;
                if (streq(param, "debug")) {
                        if ((r = parse_bool(key, v, &c.debug, ret_error)) < 0)
                                return r;
                        continue;
                }
                if (streq(param, "tpm")) {
                        bool on;
                        if ((r = parse_bool(key, v, &on, ret_error)) < 0)
                                return r;
                        c.tpm_disabled = !on;
                        continue;
                }
                if (streq(param, "installer")) {
                        if ((r = parse_bool(key, v, &c.installer, ret_error)) < 0)
                                return r;
                        continue;
                }
                struct { const char *name; char *dst; } strs[] = {
                        { "pool", c.pool }, { "credstore", c.credstore }, { "encryptionroot", c.encryptionroot },
                        { "keyfile", c.keyfile }, { "generation", gen }, { "init", c.init },
                        { "tpm2-device", c.tpm2_device }, { "emergency", NULL }, { "initrd-ssh", NULL },
                };
                const char *field;
                char *dst = NULL;
                if ((field = startswith(param, "installer.")))
                        dst = network_field(&c.installer_net, field);
                else if ((field = startswith(param, "initrd-ssh.")))
                        dst = network_field(&c.initrd_ssh_net, field);
                size_t i;
                for (i = 0; !dst && i < ELEMENTSOF(strs); i++)
                        if (streq(param, strs[i].name)) {
                                dst = strs[i].dst;
                                break;
                        }
                if (!dst && i == ELEMENTSOF(strs)) {
                        if (c.n_unknown++ == 0)
                                snprintf(c.unknown, sizeof c.unknown, "%s", key);
                        continue;
                }
                if (!v)
                        return error_set(ret_error, -EINVAL, "kernel command line: %s needs a value (%s=…)", key, key);
                if (streq(param, "emergency")) {
                        static const char *const modes[] = { "halt", "shell", NULL };
                        int m = parse_choice(key, v, modes, "'halt' or 'shell'", ret_error);
                        if (m < 0)
                                return m;
                        c.emergency_shell = m == 1;
                        continue;
                }
                if (streq(param, "initrd-ssh")) {
                        static const char *const modes[] = {
                                [INIT_SSH_OFF] = "0", [INIT_SSH_AUTO] = "auto", [INIT_SSH_ALWAYS] = "always", NULL,
                        };
                        int m = parse_choice(key, v, modes, "'auto', 'always' or '0'", ret_error);
                        if (m < 0)
                                return m;
                        c.initrd_ssh = (InitSshMode) m;
                        continue;
                }
                if ((r = set_value(dst, key, v, ret_error)) < 0)
                        return r;
        }

        if (!init_dataset_name_valid(c.pool) || strchr(c.pool, '/'))
                return error_set(ret_error, -EINVAL, "kernel command line: keystone.pool=%s is not a pool name "
                                 "(letters, digits, _ . : -, no '/')", c.pool);
        if (!*c.credstore)
                snprintf(c.credstore, sizeof c.credstore, "%.*s/credstore", INIT_NAME_MAX - 16, c.pool);
        if (!*c.encryptionroot)
                snprintf(c.encryptionroot, sizeof c.encryptionroot, "%.*s/crypt", INIT_NAME_MAX - 16, c.pool);
        const struct { const char *key, *v; } ds[] = {
                { "keystone.credstore", c.credstore }, { "keystone.encryptionroot", c.encryptionroot },
        };
        for (size_t i = 0; i < ELEMENTSOF(ds); i++) {
                const char *rest = startswith(ds[i].v, c.pool);
                if (!init_dataset_name_valid(ds[i].v) || !rest || *rest != '/')
                        return error_set(ret_error, -EINVAL, "kernel command line: %s=%s is not a dataset of the "
                                         "pool %s (expected %s/NAME)", ds[i].key, ds[i].v, c.pool, c.pool);
        }
        if (strchr(c.keyfile, '/') || streq(c.keyfile, ".") || streq(c.keyfile, ".."))
                return error_set(ret_error, -EINVAL, "kernel command line: keystone.keyfile=%s must be a file name "
                                 "inside /etc/credstore, without '/'", c.keyfile);
        if (c.init[0] != '/' || strstr(c.init, "/../") || endswith_dotdot(c.init))
                return error_set(ret_error, -EINVAL, "kernel command line: keystone.init=%s must be an absolute "
                                 "path without '..' (e.g. /sbin/init)", c.init);

        if (c.installer) {
                if ((r = network_validate("keystone.installer", "keystone.installer", &c.installer_net,
                                          ret_error)) < 0)
                        return r;
                *ret = c;
                return 0;
        }
        if (c.initrd_ssh != INIT_SSH_OFF &&
            (r = network_validate("keystone.initrd-ssh", c.initrd_ssh == INIT_SSH_AUTO ? "keystone.initrd-ssh=auto" :
                                  "keystone.initrd-ssh=always", &c.initrd_ssh_net, ret_error)) < 0)
                return r;
        if (!*gen)
                return error_set(ret_error, -EINVAL, "kernel command line: keystone.generation= is missing, so "
                                 "keystone-init does not know which root file system to boot. Add "
                                 "keystone.generation=N (the boot entry of a generation made by keystone build "
                                 "sets it)%s%s%s", c.n_unknown ? "; it has an unknown parameter " : "",
                                 c.n_unknown ? c.unknown : "", c.n_unknown ? " (a typo?)" : "");
        if (!strchr(gen, '/')) {
                if (!init_dataset_name_valid(gen))
                        return error_set(ret_error, -EINVAL, "kernel command line: keystone.generation=%s is not a "
                                         "generation number or name", gen);
                int n = snprintf(c.generation, sizeof c.generation, "%s/system/generations/%s", c.encryptionroot, gen);
                if (n < 0 || (size_t) n >= sizeof c.generation)
                        return error_set(ret_error, -EINVAL, "kernel command line: keystone.generation=%s makes "
                                         "a dataset name that is too long", gen);
        } else {
                const char *rest = startswith(gen, c.encryptionroot);
                if (!init_dataset_name_valid(gen) || !rest || *rest != '/')
                        return error_set(ret_error, -EINVAL, "kernel command line: keystone.generation=%s is not a "
                                         "dataset below the encryption root %s (give N for %s/system/generations/N, "
                                         "or a full name %s/…)", gen, c.encryptionroot, c.encryptionroot,
                                         c.encryptionroot);
                snprintf(c.generation, sizeof c.generation, "%s", gen);
        }
        *ret = c;
        return 0;
}
