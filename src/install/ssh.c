/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <openssl/evp.h>

#include "install/ssh.h"
#include "secureboot/ossl-util.h"
#include "util/clock.h"
#include "util/error-message.h"
#include "util/fs.h"
#include "util/grow.h"
#include "util/log-file.h"
#include "util/log.h"
#include "util/shell-quote.h"

/* libssh is used only through API that 0.10 (bookworm) and 0.11 (trixie)
 * both have, none of it deprecated in either: the exit status comes from a
 * channel callback, not ssh_channel_get_exit_status() (deprecated in 0.11)
 * nor ssh_channel_get_exit_state() (new in 0.11). */

#define DEFAULT_USER "root"
#define DEFAULT_CONNECT_TIMEOUT_MS 30000
#define DEFAULT_MAX_OUTPUT (16u << 20)
#define CHUNK (64u << 10)

struct SshClient {
        ssh_session session;
        char *label;            /* user@host:port, for messages */
        char user[33];
        char *log_path;
        char fingerprint[128];
};

DEFINE_POINTER_CLEANUP(struct ssh_key_struct, ssh_key_free)
static inline void ssh_string_free_charp(char **p) { ssh_string_free_char(*p); }

/* ---- the target ---------------------------------------------------------- */

/* S (untrusted) made printable for a message: at most 80 bytes, control
 * and non-ASCII bytes as \xNN. */
static const char *printable(const char *s, char buf[static 400]) {
        size_t n = 0;
        for (size_t i = 0; s[i] && n < 396; i++) {
                unsigned char ch = (unsigned char) s[i];
                if (i == 80) {
                        n += (size_t) snprintf(buf + n, 400 - n, "...");
                        break;
                }
                if (ch >= 0x20 && ch < 0x7f)
                        buf[n++] = (char) ch;
                else
                        n += (size_t) snprintf(buf + n, 400 - n, "\\x%02x", ch);
        }
        buf[n < 400 ? n : 399] = 0;
        return buf;
}

static bool user_valid(const char *u, size_t n) {
        if (n == 0 || n > 32 || u[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++) {
                char ch = u[i];
                bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                          ch == '.' || ch == '_' || ch == '-' || (ch == '$' && i == n - 1);
                if (!ok)
                        return false;
        }
        return true;
}

static bool is_alnum(char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* 0 when H (NUL-terminated) is a host name or, all digits and dots, an
 * IPv4 address; else what is wrong. */
static const char *hostname_problem(const char *h) {
        size_t n = strlen(h);
        if (n == 0)
                return "the address is empty";
        if (n > 253)
                return "a host name has at most 253 characters";
        bool numeric = true;
        for (const char *label = h;;) {
                const char *dot = strchr(label, '.');
                size_t l = dot ? (size_t) (dot - label) : strlen(label);
                if (l == 0)
                        return "a host name has no empty labels (two dots, or a dot at either end)";
                if (l > 63)
                        return "a label of a host name has at most 63 characters";
                for (size_t i = 0; i < l; i++) {
                        if (!is_alnum(label[i]) && label[i] != '-')
                                return "a host name holds only letters, digits, '-' and '.'";
                        if (!(label[i] >= '0' && label[i] <= '9'))
                                numeric = false;
                }
                if (!is_alnum(label[0]) || !is_alnum(label[l - 1]))
                        return "a label of a host name begins and ends with a letter or digit";
                if (!dot)
                        break;
                label = dot + 1;
        }
        struct in_addr a;
        if (numeric && inet_pton(AF_INET, h, &a) != 1)
                return "an address of digits and dots must be an IPv4 address (four numbers 0-255)";
        return NULL;
}

/* 0 when H is an IPv6 address with an optional %zone (an interface name). */
static const char *ipv6_problem(const char *h) {
        char addr[64];
        const char *pct = strchr(h, '%');
        size_t l = pct ? (size_t) (pct - h) : strlen(h);
        if (l == 0 || l >= sizeof addr)
                return "not an IPv6 address";
        memcpy(addr, h, l);
        addr[l] = 0;
        struct in6_addr a;
        if (inet_pton(AF_INET6, addr, &a) != 1)
                return "not an IPv6 address";
        if (pct) {
                const char *z = pct + 1;
                size_t zl = strlen(z);
                if (zl == 0 || zl > 15)
                        return "the zone after '%' is an interface name of 1-15 characters";
                for (size_t i = 0; i < zl; i++)
                        if (!is_alnum(z[i]) && !strchr("._-", z[i]))
                                return "the zone after '%' is an interface name (letters, digits, '.', '_', '-')";
        }
        return NULL;
}

static const char *port_problem(const char *p, uint16_t *ret) {
        size_t n = strlen(p);
        if (n == 0)
                return "the port after ':' is missing";
        if (n > 5 || strspn(p, "0123456789") != n)
                return "the port is a number from 1 to 65535";
        if (p[0] == '0')
                return "the port is a number from 1 to 65535, without leading zeros";
        unsigned long v = strtoul(p, NULL, 10);
        if (v < 1 || v > 65535)
                return "the port is a number from 1 to 65535";
        *ret = (uint16_t) v;
        return NULL;
}

int ssh_target_parse(const char *s, SshTarget *ret, char **ret_error) {
        char shown[400];
        if (!s || !*s)
                return error_set(ret_error, -EINVAL, "empty SSH target: expected [USER@]ADDRESS[:PORT]");
        if (strlen(s) > 400)
                return error_set(ret_error, -EINVAL, "SSH target '%s' is too long", printable(s, shown));
        SshTarget t = { .port = 22 };
        const char *rest = s, *at = strchr(s, '@'), *problem = NULL;
        if (at) {
                if (strchr(at + 1, '@'))
                        problem = "more than one '@'";
                else if (!user_valid(s, (size_t) (at - s)))
                        problem = at == s ? "the user name before '@' is empty"
                                          : "the user name is 1-32 of letters, digits, '.', '_', '-' "
                                            "(not first), and a final '$'";
                else {
                        memcpy(t.user, s, (size_t) (at - s));
                        rest = at + 1;
                }
        }
        char host[300] = "";
        const char *port = NULL;
        if (!problem && rest[0] == '[') {
                const char *close = strchr(rest, ']');
                size_t l = close ? (size_t) (close - rest - 1) : 0;
                if (!close)
                        problem = "'[' without its ']': an IPv6 address is written [2001:db8::1] or [2001:db8::1]:22";
                else if (close[1] && close[1] != ':')
                        problem = "after ']' only ':PORT' may follow";
                else if (l >= sizeof host)
                        problem = "not an IPv6 address";
                else {
                        memcpy(host, rest + 1, l);
                        port = close[1] ? close + 2 : NULL;
                        problem = ipv6_problem(host);
                        t.ipv6 = true;
                }
        } else if (!problem) {
                const char *colon = strchr(rest, ':');
                if (colon && strchr(colon + 1, ':'))
                        problem = "an IPv6 address goes in brackets: [2001:db8::1] or [2001:db8::1]:22";
                else if (strpbrk(rest, "[]"))
                        problem = "a '[' or ']' only encloses an IPv6 address";
                else if ((colon ? (size_t) (colon - rest) : strlen(rest)) >= sizeof host)
                        problem = "a host name has at most 253 characters";
                else {
                        memcpy(host, rest, colon ? (size_t) (colon - rest) : strlen(rest));
                        port = colon ? colon + 1 : NULL;
                        problem = hostname_problem(host);
                }
        }
        if (!problem && port)
                problem = port_problem(port, &t.port);
        if (problem)
                return error_set(ret_error, -EINVAL, "bad SSH target '%s': %s (expected [USER@]ADDRESS[:PORT])",
                                 printable(s, shown), problem);
        snprintf(t.host, sizeof t.host, "%s", host);
        *ret = t;
        return 0;
}

/* ---- keys and known_hosts ------------------------------------------------ */

static int key_fingerprint(ssh_key key, char *buf, size_t size) {
        unsigned char *hash = NULL;
        size_t len = 0;
        if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) < 0)
                return -EIO;
        _cleanup_(ssh_string_free_charp) char *fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len);
        ssh_clean_pubkey_hash(&hash);
        if (!fp)
                return -ENOMEM;
        snprintf(buf, size, "%s", fp);
        return 0;
}

/* The name known_hosts files use for a host: lower-case, [host]:port
 * unless the port is 22 (libssh's and OpenSSH's rule). */
static int known_hosts_name(const SshTarget *t, char **ret) {
        char lower[sizeof t->host];
        size_t i = 0;
        for (; t->host[i]; i++)
                lower[i] = (char) (t->host[i] >= 'A' && t->host[i] <= 'Z' ? t->host[i] + 32 : t->host[i]);
        lower[i] = 0;
        int k = t->port == 22 ? asprintf(ret, "%s", lower) : asprintf(ret, "[%s]:%u", lower, t->port);
        return k < 0 ? -ENOMEM : 0;
}

typedef enum KnownHost { KNOWN_HOST_UNKNOWN, KNOWN_HOST_OK, KNOWN_HOST_CHANGED } KnownHost;

/* Looks up NAME in the known_hosts file PATH (absent: unknown) with
 * libssh's own line parser (patterns, hashed names).  *ret_changed gets,
 * for KNOWN_HOST_CHANGED, one line per recorded key that differs
 * ("  line 3: ssh-ed25519 SHA256:…"). */
static int known_hosts_lookup(const char *path, const char *name, ssh_key server, KnownHost *ret,
                              char **ret_changed, char **ret_error) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f) {
                if (errno == ENOENT) {
                        *ret = KNOWN_HOST_UNKNOWN;
                        return 0;
                }
                return error_set(ret_error, negative_errno(), "cannot read %s: %s", path, strerror(errno));
        }
        _cleanup_free_ char *line = NULL, *changed = NULL;
        size_t cap = 0, changed_len = 0;
        bool ok = false;
        for (unsigned lineno = 1;; lineno++) {
                ssize_t n = getline(&line, &cap, f);
                if (n < 0)
                        break;
                while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                        line[--n] = 0;
                const char *p = line + strspn(line, " \t");
                if (!*p || *p == '#' || *p == '@')
                        continue;
                struct ssh_knownhosts_entry *e = NULL;
                if (ssh_known_hosts_parse_line(name, p, &e) != SSH_OK || !e)
                        continue;
                if (ssh_key_cmp(server, e->publickey, SSH_KEY_CMP_PUBLIC) == 0)
                        ok = true;
                else {
                        char fp[128] = "?";
                        (void) key_fingerprint(e->publickey, fp, sizeof fp);
                        char *add = NULL;
                        if (asprintf(&add, "%s  line %u: %s %s", changed ? "\n" : "", lineno,
                                     ssh_key_type_to_char(ssh_key_type(e->publickey)), fp) >= 0) {
                                char *grown = realloc(changed, changed_len + strlen(add) + 1);
                                if (grown) {
                                        strcpy(grown + changed_len, add);
                                        changed_len += strlen(add);
                                        changed = grown;
                                }
                                free(add);
                        }
                }
                ssh_knownhosts_entry_free(e);
        }
        if (ferror(f))
                return error_set(ret_error, -EIO, "cannot read %s", path);
        /* OpenSSH's rule: any recorded key that matches is enough */
        *ret = ok ? KNOWN_HOST_OK : changed ? KNOWN_HOST_CHANGED : KNOWN_HOST_UNKNOWN;
        if (*ret == KNOWN_HOST_CHANGED)
                *ret_changed = TAKE_PTR(changed);
        return 0;
}

/* Appends the session's host key as a known_hosts line to PATH, made (with
 * its directory, 0700) when missing. */
static int known_hosts_append(ssh_session s, const char *path, char **ret_error) {
        _cleanup_(ssh_string_free_charp) char *entry = NULL;
        if (ssh_session_export_known_hosts_entry(s, &entry) != SSH_OK || !entry)
                return error_set(ret_error, -EIO, "cannot make a known_hosts line: %s", ssh_get_error(s));
        int r = mkdir_parents(path, 0700, ret_error);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return error_set(ret_error, negative_errno(), "cannot open %s to record the host key: %s", path,
                                 strerror(errno));
        struct stat st;
        char last = '\n';
        if (fstat(fd, &st) == 0 && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
                last = '\n';
        size_t n = strlen(entry);
        if (dprintf(fd, "%s%s%s", last == '\n' ? "" : "\n", entry, n && entry[n - 1] == '\n' ? "" : "\n") < 0 ||
            fsync(fd) < 0)
                return error_set(ret_error, negative_errno(), "cannot write the host key to %s: %s", path,
                                 strerror(errno));
        return 0;
}

static int default_known_hosts(char **ret) {
        const char *home = getenv("HOME");
        if (!home || home[0] != '/') {
                struct passwd *pw = getpwuid(getuid());
                if (!pw || !pw->pw_dir)
                        return -ENOENT;
                home = pw->pw_dir;
        }
        return asprintf(ret, "%s/.ssh/known_hosts", home) < 0 ? -ENOMEM : 0;
}

/* PATH as an absolute path (libssh expands a leading ~), and the same with
 * each '%' doubled (libssh expands %d, %h, …). */
static int absolute_path(const char *path, char **ret, char **ret_escaped) {
        _cleanup_free_ char *abs = NULL;
        if (path[0] == '/')
                abs = strdup(path);
        else {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);
                if (!cwd)
                        return negative_errno();
                if (asprintf(&abs, "%s/%s", cwd, path) < 0)
                        abs = NULL;
        }
        if (!abs)
                return -ENOMEM;
        char *esc = malloc(strlen(abs) * 2 + 1), *q = esc;
        if (!esc)
                return -ENOMEM;
        for (const char *p = abs; *p; p++)
                if ((*q++ = *p) == '%')
                        *q++ = '%';
        *q = 0;
        *ret = TAKE_PTR(abs);
        *ret_escaped = esc;
        return 0;
}

/* ---- connect -------------------------------------------------------------- */

/* The log, opened to append; -1 when there is none (or it cannot be). */
#define client_log(c, ...) log_file_printf((c)->log_path, __VA_ARGS__)

/* The host key algorithms that make the server show a key of KEY's type. */
static const char *hostkey_algorithms(ssh_key key) {
        enum ssh_keytypes_e t = ssh_key_type(key);
        if (t == SSH_KEYTYPE_RSA)
                return "rsa-sha2-512,rsa-sha2-256";
        return ssh_key_type_to_char(t);
}

static int verify_pinned(SshClient *c, ssh_key server, ssh_key pinned, const char *pinned_path,
                         char **ret_error) {
        if (ssh_key_cmp(server, pinned, SSH_KEY_CMP_PUBLIC) == 0)
                return 0;
        char want[128] = "?";
        (void) key_fingerprint(pinned, want, sizeof want);
        return error_set(ret_error, -EKEYREJECTED,
                         "%s is not the expected host: it showed the host key %s %s, but %s pins %s %s. "
                         "Nothing was sent. Check that the address is right and that the machine runs the "
                         "system that key belongs to (for the installer: the one booted from this image).",
                         c->label, ssh_key_type_to_char(ssh_key_type(server)), c->fingerprint, pinned_path,
                         ssh_key_type_to_char(ssh_key_type(pinned)), want);
}

static int verify_known_hosts(SshClient *c, const SshTarget *t, ssh_key server, const char *known_hosts,
                              bool accept_new, char **ret_error) {
        _cleanup_free_ char *name = NULL, *changed = NULL;
        int r = known_hosts_name(t, &name);
        if (r < 0)
                return r;
        KnownHost k = KNOWN_HOST_UNKNOWN;
        r = known_hosts_lookup(known_hosts, name, server, &k, &changed, ret_error);
        if (r < 0)
                return r;
        const char *type = ssh_key_type_to_char(ssh_key_type(server));
        switch (k) {
        case KNOWN_HOST_OK:
                return 0;
        case KNOWN_HOST_CHANGED: {
                _cleanup_free_ char *quoted_name = shell_quote(name), *quoted_path = shell_quote(known_hosts);
                return error_set(ret_error, -EKEYREJECTED,
                                 "the host key of %s has changed: it showed %s %s, but %s records for %s:\n%s\n"
                                 "Someone may be intercepting the connection, or the machine was reinstalled "
                                 "or booted another system (an installer makes keys of its own). Nothing was "
                                 "sent. If you know why the key changed, remove the old entry with\n"
                                 "  ssh-keygen -R %s -f %s\n"
                                 "and connect again with --accept-new-host-key.",
                                 c->label, type, c->fingerprint, known_hosts, name, changed,
                                 quoted_name ? quoted_name : name, quoted_path ? quoted_path : known_hosts);
        }
        case KNOWN_HOST_UNKNOWN:
                break;
        }
        if (!accept_new)
                return error_set(ret_error, -EPERM,
                                 "the host key of %s is not known (%s has no entry for %s): it is %s %s. "
                                 "Check that fingerprint on the machine itself (ssh-keygen -lf "
                                 "/etc/ssh/ssh_host_%s_key.pub), then run again with --accept-new-host-key "
                                 "to trust it on first use and record it in %s.",
                                 c->label, known_hosts, name, type, c->fingerprint,
                                 streq(type, "ssh-ed25519") ? "ed25519" : strneq(type, "ecdsa", 5) ? "ecdsa" : "rsa",
                                 known_hosts);
        r = known_hosts_append(c->session, known_hosts, ret_error);
        if (r < 0)
                return r;
        client_log(c, "# %s: new host key %s %s recorded in %s\n", c->label, type, c->fingerprint, known_hosts);
        return 0;
}

/* libssh asks for a passphrase through this: we never have one (-i keys
 * without one; others belong in an agent). */
static int no_passphrase(const char *prompt, char *buf, size_t len, int echo, int verify, void *userdata) {
        *(bool *) userdata = true;
        return -1;
}

static int authenticate(SshClient *c, const SshConnectOptions *o, char **ret_error) {
        if (!o->identity) {
                const char *sock = getenv("SSH_AUTH_SOCK");
                if (!sock || !*sock)
                        return error_set(ret_error, -ENOKEY,
                                         "no key to log in to %s with: give -i KEY, or start an ssh-agent and "
                                         "add a key (SSH_AUTH_SOCK is not set)", c->label);
                if (access(sock, F_OK) < 0)
                        return error_set(ret_error, -ENOKEY,
                                         "no key to log in to %s with: no agent at SSH_AUTH_SOCK=%s (%s); give "
                                         "-i KEY, or start an ssh-agent and add a key", c->label, sock,
                                         strerror(errno));
                int rc = ssh_userauth_agent(c->session, NULL);
                if (rc == SSH_AUTH_SUCCESS)
                        return 0;
                if (rc == SSH_AUTH_ERROR && ssh_is_connected(c->session) == 0)
                        return error_set(ret_error, -ECONNRESET, "%s: the connection ended during login: %s",
                                         c->label, ssh_get_error(c->session));
                return error_set(ret_error, -EACCES,
                                 "%s refused every key of the agent at %s (ssh-add -l lists them): none is in "
                                 "the authorized_keys of the user there. Add the right key to the agent, or "
                                 "give it with -i KEY.", c->label, sock);
        }
        bool encrypted = false;
        _cleanup_(ssh_key_freep) ssh_key key = NULL;
        if (ssh_pki_import_privkey_file(o->identity, NULL, no_passphrase, &encrypted, &key) != SSH_OK) {
                if (encrypted)
                        return error_set(ret_error, -ENOKEY,
                                         "-i %s: the key is protected by a passphrase; add it to an agent "
                                         "(ssh-add %s) and leave out -i", o->identity, o->identity);
                if (access(o->identity, R_OK) < 0)
                        return error_set(ret_error, negative_errno(), "-i %s: cannot read the key: %s", o->identity,
                                         strerror(errno));
                return error_set(ret_error, -EINVAL,
                                 "-i %s: not a private key (OpenSSH or PEM format; a .pub file is only its "
                                 "public half)", o->identity);
        }
        int rc = ssh_userauth_publickey(c->session, NULL, key);
        if (rc == SSH_AUTH_SUCCESS)
                return 0;
        if (rc == SSH_AUTH_ERROR && ssh_is_connected(c->session) == 0)
                return error_set(ret_error, -ECONNRESET, "%s: the connection ended during login: %s", c->label,
                                 ssh_get_error(c->session));
        char fp[128] = "?";
        (void) key_fingerprint(key, fp, sizeof fp);
        return error_set(ret_error, -EACCES,
                         "%s refused the key %s (%s %s): it is not in ~%s/.ssh/authorized_keys there. "
                         "Add its public half (%s.pub) to that file on the machine, or use another key.",
                         c->label, o->identity, ssh_key_type_to_char(ssh_key_type(key)), fp, c->user,
                         o->identity);
}

static int session_setup(SshClient *c, const SshTarget *t, const SshConnectOptions *o, const char *kh_escaped,
                         ssh_key pinned, char **ret_error) {
        const char *user = t->user[0] ? t->user : DEFAULT_USER;
        char host[300];
        snprintf(host, sizeof host, t->ipv6 ? "[%s]" : "%s", t->host);
        int port = t->port, verbosity = SSH_LOG_NOLOG, no = 0;
        int ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
        long sec = ms / 1000, usec = (ms % 1000) * 1000L;
        if (ssh_options_set(c->session, SSH_OPTIONS_LOG_VERBOSITY, &verbosity) < 0 ||
            /* nothing from ~/.ssh/config or /etc/ssh/ssh_config: what we are told, only */
            ssh_options_set(c->session, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
            ssh_options_set(c->session, SSH_OPTIONS_HOST, host) < 0 ||
            ssh_options_set(c->session, SSH_OPTIONS_PORT, &port) < 0 ||
            ssh_options_set(c->session, SSH_OPTIONS_USER, user) < 0 ||
            ssh_options_set(c->session, SSH_OPTIONS_TIMEOUT, &sec) < 0 ||
            ssh_options_set(c->session, SSH_OPTIONS_TIMEOUT_USEC, &usec) < 0 ||
            /* known_hosts also orders the host key algorithms (a recorded type first) */
            ssh_options_set(c->session, SSH_OPTIONS_KNOWNHOSTS, pinned ? "/dev/null" : kh_escaped) < 0 ||
            ssh_options_set(c->session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") < 0 ||
            (pinned && ssh_options_set(c->session, SSH_OPTIONS_HOSTKEYS, hostkey_algorithms(pinned)) < 0))
                return error_set(ret_error, -EINVAL, "%s: cannot set up the SSH session: %s", c->label,
                                 ssh_get_error(c->session));
        return 0;
}

static int client_new(const SshTarget *t, const SshConnectOptions *o, SshClient **ret) {
        _cleanup_(ssh_client_freep) SshClient *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        snprintf(c->user, sizeof c->user, "%s", t->user[0] ? t->user : DEFAULT_USER);
        if (asprintf(&c->label, t->ipv6 ? "%s@[%s]:%u" : "%s@%s:%u", c->user, t->host, t->port) < 0) {
                c->label = NULL;
                return -ENOMEM;
        }
        if (o->log_path && !(c->log_path = strdup(o->log_path)))
                return -ENOMEM;
        if (!(c->session = ssh_new()))
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

int ssh_client_connect(const SshTarget *t, const SshConnectOptions *o, SshClient **ret, char **ret_error) {
        static const SshConnectOptions defaults = {};
        if (!o)
                o = &defaults;
        if (!t || !t->host[0] || t->port == 0 || !ret)
                return error_set(ret_error, -EINVAL, "no SSH target");
        _cleanup_free_ char *kh = NULL, *kh_escaped = NULL, *kh_default = NULL;
        _cleanup_(ssh_key_freep) ssh_key pinned = NULL;
        if (o->pinned_host_key) {
                if (ssh_pki_import_pubkey_file(o->pinned_host_key, &pinned) != SSH_OK) {
                        if (access(o->pinned_host_key, R_OK) < 0)
                                return error_set(ret_error, negative_errno(), "cannot read the pinned host key %s: %s",
                                                 o->pinned_host_key, strerror(errno));
                        return error_set(ret_error, -EINVAL,
                                         "%s is not a public key in OpenSSH format (TYPE BASE64 [COMMENT])",
                                         o->pinned_host_key);
                }
        } else {
                int r = o->known_hosts ? 0 : default_known_hosts(&kh_default);
                if (r < 0)
                        return error_set(ret_error, r, "cannot tell where ~/.ssh/known_hosts is: no home directory");
                r = absolute_path(o->known_hosts ? o->known_hosts : kh_default, &kh, &kh_escaped);
                if (r < 0)
                        return error_set(ret_error, r, "known_hosts path: %s", strerror(-r));
        }
        _cleanup_(ssh_client_freep) SshClient *c = NULL;
        int r = client_new(t, o, &c);
        if (r < 0)
                return error_set(ret_error, r, "cannot set up an SSH session: %s", strerror(-r));
        r = session_setup(c, t, o, kh_escaped, pinned, ret_error);
        if (r < 0)
                return r;

        int64_t start = monotonic_ms();
        if (ssh_connect(c->session) != SSH_OK) {
                int ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
                const char *why = ssh_get_error(c->session);
                bool timed_out = strcasestr(why, "timeout") || strcasestr(why, "timed out") ||
                                 monotonic_ms() - start >= ms;
                client_log(c, "# %s: cannot connect: %s\n", c->label, why);
                if (timed_out)
                        return error_set(ret_error, -ETIMEDOUT, "%s did not answer within %d.%03d s: %s", c->label,
                                         ms / 1000, ms % 1000, why);
                return error_set(ret_error, -EHOSTUNREACH, "cannot connect to %s: %s", c->label, why);
        }
        _cleanup_(ssh_key_freep) ssh_key server = NULL;
        if (ssh_get_server_publickey(c->session, &server) != SSH_OK || key_fingerprint(server, c->fingerprint,
                                                                                       sizeof c->fingerprint) < 0)
                return error_set(ret_error, -EIO, "%s: no host key: %s", c->label, ssh_get_error(c->session));
        r = pinned ? verify_pinned(c, server, pinned, o->pinned_host_key, ret_error)
                   : verify_known_hosts(c, t, server, kh, o->accept_new_host_key, ret_error);
        if (r < 0) {
                client_log(c, "# %s: host key %s refused\n", c->label, c->fingerprint);
                return r;
        }
        r = authenticate(c, o, ret_error);
        if (r < 0) {
                client_log(c, "# %s: login refused (%s)\n", c->label, o->identity ? o->identity : "agent");
                return r;
        }
        client_log(c, "# %s: connected, host key %s (%s), logged in with %s\n", c->label, c->fingerprint,
                   pinned ? o->pinned_host_key : kh, o->identity ? o->identity : "the agent's keys");
        *ret = TAKE_PTR(c);
        return 0;
}

void ssh_client_free(SshClient *c) {
        if (!c)
                return;
        if (c->session) {
                if (ssh_is_connected(c->session))
                        ssh_disconnect(c->session);
                ssh_free(c->session);
        }
        free(c->label);
        free(c->log_path);
        free(c);
}

const char *ssh_client_host_key_fingerprint(const SshClient *c) {
        return c->fingerprint;
}

/* ---- commands ------------------------------------------------------------- */

/* What a command wrote on one stream: kept up to a limit (then counted
 * only), wiped before it is freed (it may be a secret). */
typedef struct Capture {
        char *data;
        size_t size, alloc, limit;
        bool over, eof;
} Capture;

static void capture_done(Capture *b) {
        if (b->data)
                explicit_bzero(b->data, b->alloc);
        free(b->data);
        *b = (Capture) {};
}

static int capture_add(Capture *b, const char *p, size_t n) {
        if (b->size + n > b->limit) {
                b->over = true;
                n = b->limit - b->size;
        }
        if (b->size + n + 1 > b->alloc) {
                size_t na = grow_size(b->alloc, b->size + n + 1, 8192);
                /* not realloc: the old block is wiped before it goes */
                char *d = na ? malloc(na) : NULL;
                if (!d)
                        return -ENOMEM;
                if (b->data)
                        memcpy(d, b->data, b->size);
                capture_done(&(Capture) { .data = b->data, .alloc = b->alloc });
                b->data = d;
                b->alloc = na;
        }
        memcpy(b->data + b->size, p, n);
        b->size += n;
        b->data[b->size] = 0;
        return 0;
}

static char *capture_take(Capture *b) {
        if (!b->data)
                return strdup("");
        char *d = b->data;
        b->data = NULL;
        return d;
}

/* One command on one channel: what the exit callbacks set. */
typedef struct Exec {
        bool exited;
        int exit_status;
        int signal;
} Exec;

static int signal_from_name(const char *name) {
        for (int s = 1; s < NSIG; s++) {
                const char *n = sigabbrev_np(s);
                if (n && streq(n, name))
                        return s;
        }
        return SIGKILL; /* a name we do not know: still "killed" */
}

static void on_exit_status(ssh_session s, ssh_channel ch, int status, void *userdata) {
        Exec *e = userdata;
        e->exited = true;
        e->exit_status = status;
}

static void on_exit_signal(ssh_session s, ssh_channel ch, const char *sig, int core, const char *errmsg,
                           const char *lang, void *userdata) {
        Exec *e = userdata;
        e->exited = true;
        e->exit_status = -1;
        e->signal = signal_from_name(sig ? sig : "");
}

/* Where a command's stdin comes from, and the digest of what was sent. */
typedef struct Input {
        const SshRunOptions *opts;
        size_t offset;          /* of the buffer */
        uint64_t sent;
        bool done;
        EVP_MD_CTX *digest;     /* NULL: none wanted */
        char chunk[CHUNK];
} Input;

/* Drains what the channel holds of stdout and stderr; 0, or -ECONNRESET. */
static int channel_drain(ssh_channel ch, Capture *out, Capture *err) {
        char buf[16384];
        int r = 0;
        for (int is_err = 0; is_err < 2 && r == 0; is_err++) {
                Capture *b = is_err ? err : out;
                while (!b->eof) {
                        int k = ssh_channel_read_nonblocking(ch, buf, sizeof buf, is_err);
                        if (k == SSH_EOF)
                                b->eof = true;
                        else if (k < 0)
                                r = -ECONNRESET;
                        else if (k == 0 && (ssh_channel_is_eof(ch) || ssh_channel_is_closed(ch)))
                                b->eof = true;
                        else if (k > 0)
                                r = capture_add(b, buf, (size_t) k);
                        if (k <= 0 || r < 0)
                                break;
                }
        }
        explicit_bzero(buf, sizeof buf);
        return r;
}

/* Sends the next piece of stdin, as much as the remote window takes (so
 * the write never waits for the window while the far side waits for us to
 * read).  1 when something was sent, 0 when nothing could be, -errno. */
static int channel_feed(ssh_channel ch, Input *in) {
        if (in->done)
                return 0;
        uint32_t window = ssh_channel_window_size(ch);
        if (window == 0)
                return 0;
        size_t want = window < CHUNK ? window : CHUNK;
        const char *p;
        size_t n;
        if (in->opts->input_from_fd) {
                struct pollfd pfd = { .fd = in->opts->input_fd, .events = POLLIN };
                if (poll(&pfd, 1, 0) == 0)
                        return 0;
                ssize_t k = read(in->opts->input_fd, in->chunk, want);
                if (k < 0)
                        return errno == EINTR || errno == EAGAIN ? 0 : -errno;
                p = in->chunk;
                n = (size_t) k;
        } else {
                p = (const char *) in->opts->input + in->offset;
                n = in->opts->input_size - in->offset;
                if (n > want)
                        n = want;
        }
        if (n == 0) {
                in->done = true;
                return ssh_channel_send_eof(ch) == SSH_OK ? 1 : -ECONNRESET;
        }
        if (in->digest && EVP_DigestUpdate(in->digest, p, n) != 1)
                return -EIO;
        int w = ssh_channel_write(ch, p, (uint32_t) n);
        if (in->opts->input_from_fd)
                explicit_bzero(in->chunk, n);
        if (w < 0 || (size_t) w != n) {
                /* the far side closed its stdin: what it did not take is dropped */
                in->done = true;
                return ssh_is_connected(ssh_channel_get_session(ch)) ? 1 : -ECONNRESET;
        }
        in->offset += n;
        in->sent += n;
        return 1;
}

static void log_command(const SshClient *c, const char *command, const SshRunOptions *o, const Input *in,
                        const RunResult *res, const char *outcome) {
        _cleanup_close_ int fd = log_file_open(c->log_path);
        char note[96];
        snprintf(note, sizeof note, "(stdin: %llu bytes %s, not logged)", (unsigned long long) in->sent,
                 o->input_from_fd ? "streamed" : "given");
        log_file_command(fd, command, o->input || o->input_from_fd ? note : NULL, res, o->log_output, outcome);
}

/* The I/O loop of one command until it ended or the deadline passed. */
static int channel_loop(ssh_session s, ssh_event ev, ssh_channel ch, Input *in, Exec *e, Capture *out,
                        Capture *err, int64_t deadline) {
        int fd = ssh_get_fd(s);
        for (;;) {
                if (ssh_get_status(s) & (SSH_CLOSED | SSH_CLOSED_ERROR))
                        return -ECONNRESET;
                int r = channel_drain(ch, out, err);
                if (r < 0)
                        return r;
                if (out->eof && err->eof && (e->exited || ssh_channel_is_closed(ch)))
                        return 0;
                r = channel_feed(ch, in);
                if (r < 0)
                        return r;
                if (deadline && monotonic_ms() >= deadline)
                        return -ETIMEDOUT;
                if (r > 0)
                        continue;
                /* nothing to do: wait for the server (or our input), at most
                 * 100 ms so that libssh also flushes what it holds back, then
                 * let libssh take in what came: once both streams ended,
                 * reading no longer does that, and the exit status is still
                 * to come */
                struct pollfd p[2] = { { .fd = fd, .events = POLLIN } };
                int np = 1;
                if (!in->done && in->opts->input_from_fd && ssh_channel_window_size(ch) > 0)
                        p[np++] = (struct pollfd) { .fd = in->opts->input_fd, .events = POLLIN };
                int t = 100;
                if (deadline && deadline - monotonic_ms() < t)
                        t = (int) (deadline - monotonic_ms() > 0 ? deadline - monotonic_ms() : 0);
                if (poll(p, np, t) < 0 && errno != EINTR)
                        return -errno;
                if (ssh_event_dopoll(ev, 0) == SSH_ERROR)
                        return -ECONNRESET;
        }
}

static const char *outcome(int r, const RunResult *res, const SshRunOptions *o, bool out_over, char *buf,
                           size_t size) {
        switch (r) {
        case 0:
                return "ok";
        case -EPROTO:
                return run_result_describe(res);
        case -ETIMEDOUT:
                snprintf(buf, size, "timed out after %d ms", o->timeout_ms);
                return buf;
        case -EFBIG:
                snprintf(buf, size, "wrote more than %zu bytes on %s",
                         o->max_output ? o->max_output : DEFAULT_MAX_OUTPUT, out_over ? "stdout" : "stderr");
                return buf;
        default:
                snprintf(buf, size, "%s", strerror(-r));
                return buf;
        }
}

/* ARGV as one line for the far side's shell; under timeout(1) when there
 * is a timeout (see ssh.h). */
static char *command_line(const char *const argv[], int timeout_ms) {
        if (timeout_ms <= 0)
                return shell_join(argv);
        size_t n = 0;
        while (argv[n])
                n++;
        _cleanup_free_ const char **wrapped = calloc(n + 5, sizeof(char *));
        if (!wrapped)
                return NULL;
        char seconds[32];
        snprintf(seconds, sizeof seconds, "%d", (timeout_ms + 999) / 1000 + 2);
        wrapped[0] = "timeout";
        wrapped[1] = "-s";
        wrapped[2] = "KILL";
        wrapped[3] = seconds;
        memcpy(wrapped + 4, argv, n * sizeof(char *));
        return shell_join(wrapped);
}

/* ssh_client_run() with, when digest is given, the digest of the bytes sent
 * on stdin fed into it. */
static int client_exec(SshClient *c, const char *const argv[], const SshRunOptions *o, EVP_MD_CTX *digest,
                       RunResult *ret, char **ret_error) {
        static const SshRunOptions defaults = {};
        if (!o)
                o = &defaults;
        if (!c || !argv || !argv[0])
                return error_set(ret_error, -EINVAL, "no command to run");
        _cleanup_free_ char *command = command_line(argv, o->timeout_ms);
        _cleanup_free_ Input *in = calloc(1, sizeof *in);
        if (!command || !in)
                return error_set(ret_error, -ENOMEM, "out of memory");
        *in = (Input) { .opts = o, .digest = digest, .done = !o->input && !o->input_from_fd };
        Exec e = { .exit_status = -1 };
        struct ssh_channel_callbacks_struct cb = {
                .userdata = &e,
                .channel_exit_status_function = on_exit_status,
                .channel_exit_signal_function = on_exit_signal,
        };
        ssh_callbacks_init(&cb);
        log_debug("+ ssh %s %s", c->label, command);

        ssh_channel ch = ssh_channel_new(c->session);
        if (!ch || ssh_channel_open_session(ch) != SSH_OK || ssh_set_channel_callbacks(ch, &cb) != SSH_OK ||
            ssh_channel_request_exec(ch, command) != SSH_OK) {
                int r = error_set(ret_error, ssh_is_connected(c->session) ? -EIO : -ECONNRESET,
                                  "%s: cannot start '%s': %s", c->label, argv[0], ssh_get_error(c->session));
                if (ch) {
                        ssh_remove_channel_callbacks(ch, &cb);
                        ssh_channel_free(ch);
                }
                return r;
        }
        size_t limit = o->max_output ? o->max_output : DEFAULT_MAX_OUTPUT;
        Capture out = { .limit = limit }, err = { .limit = limit };
        if (in->done)
                (void) ssh_channel_send_eof(ch); /* a broken session shows in the loop */
        int64_t deadline = o->timeout_ms > 0 ? monotonic_ms() + o->timeout_ms : 0;
        int r = -ENOMEM;
        ssh_event ev = ssh_event_new();
        if (ev && ssh_event_add_session(ev, c->session) == SSH_OK) {
                r = channel_loop(c->session, ev, ch, in, &e, &out, &err, deadline);
                ssh_event_remove_session(ev, c->session);
        }
        if (ev)
                ssh_event_free(ev);
        if (r == -ETIMEDOUT)
                (void) ssh_channel_request_send_signal(ch, "KILL");
        /* the channel may outlive this call in libssh until the far side
         * closes it too: it must not call back into this stack frame */
        ssh_remove_channel_callbacks(ch, &cb);
        ssh_channel_close(ch);
        ssh_channel_free(ch);

        RunResult res = { .exit_status = e.exit_status, .signal = e.signal, .out_size = out.size,
                          .err_size = err.size };
        bool over = out.over || err.over, out_over = out.over;
        res.out = capture_take(&out);
        res.err = capture_take(&err);
        capture_done(&out);
        capture_done(&err);
        if (r == 0 && !e.exited)
                r = -ECONNRESET;
        if (r == 0 && over)
                r = -EFBIG;
        if (r == 0 && (e.signal || e.exit_status != 0))
                r = -EPROTO;
        char buf[256];
        const char *how = r == -ECONNRESET ? ssh_get_error(c->session) : outcome(r, &res, o, out_over, buf, sizeof buf);
        log_command(c, command, o, in, &res, how);
        explicit_bzero(in, sizeof *in);
        if (r == -ECONNRESET)
                error_set(ret_error, r, "%s: %s lost its connection: %s", c->label, argv[0], how);
        else if (r < 0)
                error_set(ret_error, r, "%s: %s %s", c->label, argv[0], how);
        if (ret)
                *ret = res;
        else
                run_result_done(&res);
        return r;
}

int ssh_client_run(SshClient *c, const char *const argv[], const SshRunOptions *opts, RunResult *ret,
                   char **ret_error) {
        return client_exec(c, argv, opts, NULL, ret, ret_error);
}

/* ---- upload ------------------------------------------------------------- */

/* $1 the destination, $2 the mode: the bytes on stdin land in a temporary
 * file beside it; prints the file's sha256sum line, then its name. */
static const char upload_script[] =
        "set -eu\n"
        "umask 077\n"
        "case $1 in */*) d=${1%/*} b=${1##*/} ;; *) d=. b=$1 ;; esac\n"
        "t=$(mktemp \"${d:-/}/.$b.keystone-XXXXXX\")\n"
        "trap 'rm -f \"$t\"' EXIT\n"
        "cat >\"$t\"\n"
        "chmod \"$2\" \"$t\"\n"
        "sha256sum <\"$t\"\n"
        "trap - EXIT\n"
        "printf '%s\\n' \"$t\"\n";

static int remove_remote(SshClient *c, const char *path) {
        const char *argv[] = { "rm", "-f", "--", path, NULL };
        return client_exec(c, argv, &(SshRunOptions) { .timeout_ms = 60000, .log_output = true }, NULL, NULL, NULL);
}

int ssh_client_upload(SshClient *c, const char *local_path, const char *remote_path, mode_t mode,
                      int timeout_ms, char **ret_error) {
        if (!c || !local_path || !remote_path || !*remote_path)
                return error_set(ret_error, -EINVAL, "upload: no file");
        const char *base = strrchr(remote_path, '/');
        base = base ? base + 1 : remote_path;
        if (!*base || streq(base, ".") || streq(base, ".."))
                return error_set(ret_error, -EINVAL, "upload: %s does not name a file", remote_path);
        if (mode & ~(mode_t) 07777)
                return error_set(ret_error, -EINVAL, "upload: mode %o is not a file mode", (unsigned) mode);
        _cleanup_close_ int fd = open(local_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return error_set(ret_error, negative_errno(), "cannot read %s: %s", local_path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return error_set(ret_error, -EINVAL, "%s is not a regular file", local_path);
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
        if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
                return error_set(ret_error, -ENOMEM, "cannot set up SHA-256");

        char mode_str[8];
        snprintf(mode_str, sizeof mode_str, "%04o", (unsigned) mode);
        const char *argv[] = { "sh", "-c", upload_script, "sh", remote_path, mode_str, NULL };
        RunResult res = {};
        int r = client_exec(c, argv,
                            &(SshRunOptions) { .input_from_fd = true, .input_fd = fd, .timeout_ms = timeout_ms,
                                               .log_output = true, .max_output = 64 << 10 },
                            md, &res, ret_error);
        if (r < 0) {
                run_result_done(&res);
                return r;
        }
        /* "<64 hex>  -\n<temporary name>\n" */
        const char *out = res.out;
        size_t n = strlen(out);
        if (n < 64 + 4 + 2 || strspn(out, "0123456789abcdef") != 64 || !strneq(out + 64, "  -\n", 4) ||
            out[n - 1] != '\n') {
                run_result_done(&res);
                return error_set(ret_error, -EIO, "%s: upload of %s: unexpected answer from the far side",
                                 c->label, remote_path);
        }
        _cleanup_free_ char *tmp = strndup(out + 68, n - 68 - 1);
        char remote_hex[65];
        memcpy(remote_hex, out, 64);
        remote_hex[64] = 0;
        run_result_done(&res);
        if (!tmp)
                return error_set(ret_error, -ENOMEM, "out of memory");

        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        char local_hex[65];
        if (EVP_DigestFinal_ex(md, digest, &len) != 1 || len != 32) {
                (void) remove_remote(c, tmp);
                return error_set(ret_error, -EIO, "cannot compute SHA-256");
        }
        for (unsigned i = 0; i < 32; i++)
                snprintf(local_hex + 2 * i, 3, "%02x", digest[i]);
        if (!streq(local_hex, remote_hex)) {
                (void) remove_remote(c, tmp);
                return error_set(ret_error, -EIO,
                                 "%s: upload of %s to %s is corrupt: sent SHA-256 %s, the far side has %s; "
                                 "nothing was put in place", c->label, local_path, remote_path, local_hex, remote_hex);
        }
        const char *mv[] = { "mv", "-f", "--", tmp, remote_path, NULL };
        r = client_exec(c, mv, &(SshRunOptions) { .timeout_ms = 60000, .log_output = true }, NULL, NULL, ret_error);
        if (r < 0) {
                (void) remove_remote(c, tmp);
                return r;
        }
        client_log(c, "# %s: %s -> %s (%04o, sha256 %s)\n", c->label, local_path, remote_path, (unsigned) mode,
                   local_hex);
        return 0;
}
