/* SPDX-License-Identifier: MIT */
/* The image spec: what the image builder needs from a host's configuration. */
#include <ctype.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config/config.h"
#include "image/image.h"
#include "util/log.h"
#include "util/run.h"

/* 2025-01-01T00:00:00Z: the default for reproducible builds */
#define DEFAULT_SOURCE_DATE_EPOCH UINT64_C(1735689600)

static void strv_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

void image_spec_done(ImageSpec *s) {
        if (!s)
                return;
        free(s->hostname);
        free(s->role);
        free(s->kernel_flavour);
        strv_free(s->packages, s->n_packages);
        for (size_t i = 0; i < s->n_users; i++) {
                free(s->users[i].name);
                strv_free(s->users[i].ssh_keys, s->users[i].n_ssh_keys);
                strv_free(s->users[i].groups, s->users[i].n_groups);
                free(s->users[i].shell);
                free(s->users[i].description);
        }
        free(s->users);
        free(s->suite);
        free(s->mirror);
        free(s->time_zone);
        free(s->ssh_permit_root_login);
        for (size_t i = 0; i < s->n_datasets; i++) {
                free(s->datasets[i].name);
                free(s->datasets[i].mountpoint);
        }
        free(s->datasets);
        free(s->pool);
        strv_free(s->kernel_params, s->n_kernel_params);
        free(s->sb_key_dir);
        *s = (ImageSpec) {};
}

static int set_default(char **field, const char *value) {
        if (*field)
                return 0;
        *field = strdup(value);
        return *field ? 0 : -ENOMEM;
}

/* a hostname label: what /etc/hostname may hold */
static bool hostname_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
                return false;
        for (; *s; s++)
                if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-", *s))
                        return false;
        return true;
}

static bool username_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 32 || !strchr("abcdefghijklmnopqrstuvwxyz_", s[0]))
                return false;
        for (; *s; s++)
                if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789_-", *s))
                        return false;
        return true;
}

/* Debian package names: [a-z0-9][a-z0-9+.-]+ */
static bool package_valid(const char *s) {
        if (strlen(s) < 2 || !strchr("abcdefghijklmnopqrstuvwxyz0123456789", s[0]))
                return false;
        for (; *s; s++)
                if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789+.-", *s))
                        return false;
        return true;
}

static bool ssh_key_valid(const char *s) {
        /* one line, a key type we know, and a body */
        if (strchr(s, '\n') || strchr(s, '\r'))
                return false;
        return startswith(s, "ssh-ed25519 ") || startswith(s, "ssh-rsa ") || startswith(s, "ecdsa-sha2-") ||
               startswith(s, "sk-ssh-ed25519@openssh.com ") || startswith(s, "sk-ecdsa-sha2-");
}

/* a tz database name (the config layer checks the same; the JSON may come
 * from elsewhere) */
static bool time_zone_valid(const char *s) {
        if (!*s || s[0] == '/' || strstr(s, ".."))
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("/_+-", *s))
                        return false;
        return true;
}

/* what may stand in one field of passwd, fstab or a comment line */
static bool field_valid(const char *s, const char *also_forbidden) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f || strchr(also_forbidden, *s))
                        return false;
        return true;
}

int image_spec_fill_defaults(ImageSpec *s) {
        int r;
        if ((r = set_default(&s->hostname, "keystone")) < 0 || (r = set_default(&s->role, "server")) < 0 ||
            (r = set_default(&s->kernel_flavour, "cloud")) < 0 || (r = set_default(&s->suite, "trixie")) < 0 ||
            (r = set_default(&s->mirror, "http://deb.debian.org/debian")) < 0)
                return r;
        if (s->source_date_epoch == 0)
                s->source_date_epoch = DEFAULT_SOURCE_DATE_EPOCH;
        if (!hostname_valid(s->hostname))
                return -EINVAL;
        for (size_t i = 0; i < s->n_users; i++) {
                if (!username_valid(s->users[i].name))
                        return -EINVAL;
                for (size_t j = 0; j < s->users[i].n_ssh_keys; j++)
                        if (!ssh_key_valid(s->users[i].ssh_keys[j]))
                                return -EINVAL;
                for (size_t j = 0; j < s->users[i].n_groups; j++)
                        if (!username_valid(s->users[i].groups[j]))
                                return -EINVAL;
                const char *sh = s->users[i].shell;
                if (sh && (sh[0] != '/' || !field_valid(sh, ": ")))
                        return -EINVAL;
                if (s->users[i].description && !field_valid(s->users[i].description, ":"))
                        return -EINVAL;
                if (s->users[i].uid != 0 && (s->users[i].uid < 1000 || s->users[i].uid > 59999))
                        return -EINVAL;
        }
        if (s->time_zone && !time_zone_valid(s->time_zone))
                return -EINVAL;
        if (s->ssh_port > 65535)
                return -EINVAL;
        if (s->ssh_permit_root_login && !streq(s->ssh_permit_root_login, "no") &&
            !streq(s->ssh_permit_root_login, "prohibit-password"))
                return -EINVAL;
        if (s->pool && (!*s->pool || !field_valid(s->pool, " /")))
                return -EINVAL;
        for (size_t i = 0; i < s->n_datasets; i++)
                if (!*s->datasets[i].name || !field_valid(s->datasets[i].name, " ") ||
                    !field_valid(s->datasets[i].mountpoint, " "))
                        return -EINVAL;
        for (size_t i = 0; i < s->n_packages; i++)
                if (!package_valid(s->packages[i]))
                        return -EINVAL;
        return image_role_packages(s->role, s->kernel_flavour, NULL, NULL);
}

/* ---- JSON → spec ---- */

static int error_set(char **ret_error, const char *fmt, ...) _printf_(2, 3);
static int error_set(char **ret_error, const char *fmt, ...) {
        if (ret_error) {
                va_list ap;
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return -EINVAL;
}

static json_object *get_path(json_object *root, const char *a, const char *b) {
        json_object *o = NULL;
        if (!json_object_object_get_ex(root, a, &o))
                return NULL;
        if (!b)
                return o;
        if (!json_object_is_type(o, json_type_object))
                return NULL;
        json_object *v = NULL;
        return json_object_object_get_ex(o, b, &v) ? v : NULL;
}

static int get_string(json_object *root, const char *a, const char *b, char **field, char **ret_error) {
        json_object *v = get_path(root, a, b);
        if (!v)
                return 0;
        if (!json_object_is_type(v, json_type_string))
                return error_set(ret_error, "%s%s%s: expected a string", a, b ? "." : "", b ? b : "");
        free(*field);
        *field = strdup(json_object_get_string(v));
        return *field ? 0 : -ENOMEM;
}

static int get_strv(json_object *v, const char *what, char ***ret, size_t *ret_n, char **ret_error) {
        if (!json_object_is_type(v, json_type_array))
                return error_set(ret_error, "%s: expected an array of strings", what);
        size_t n = json_object_array_length(v);
        char **out = calloc(n + 1, sizeof(char *));
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(v, i);
                if (!json_object_is_type(e, json_type_string)) {
                        strv_free(out, i);
                        return error_set(ret_error, "%s[%zu]: expected a string", what, i);
                }
                out[i] = strdup(json_object_get_string(e));
                if (!out[i]) {
                        strv_free(out, i);
                        return -ENOMEM;
                }
        }
        *ret = out;
        *ret_n = n;
        return 0;
}

static int add_user(ImageSpec *s, const char *name, json_object *u, char **ret_error) {
        if (!json_object_is_type(u, json_type_object))
                return error_set(ret_error, "users.%s: expected a table", name);
        ImageUser *nu = realloc(s->users, (s->n_users + 1) * sizeof *nu);
        if (!nu)
                return -ENOMEM;
        s->users = nu;
        ImageUser *user = &s->users[s->n_users];
        *user = (ImageUser) { .name = strdup(name) };
        if (!user->name)
                return -ENOMEM;
        s->n_users++;
        int r;
        const char *key_fields[] = { "ssh-keys", "ssh_keys", "authorized_keys", "sshKeys" };
        for (size_t i = 0; i < ELEMENTSOF(key_fields); i++) {
                json_object *k = NULL;
                if (json_object_object_get_ex(u, key_fields[i], &k)) {
                        char what[128];
                        snprintf(what, sizeof what, "users.%s.%s", name, key_fields[i]);
                        if ((r = get_strv(k, what, &user->ssh_keys, &user->n_ssh_keys, ret_error)) < 0)
                                return r;
                        break;
                }
        }
        json_object *v = NULL;
        char what[128];
        if (json_object_object_get_ex(u, "groups", &v)) {
                snprintf(what, sizeof what, "users.%s.groups", name);
                if ((r = get_strv(v, what, &user->groups, &user->n_groups, ret_error)) < 0)
                        return r;
        }
        const char *sfields[] = { "shell", "description" };
        char **sdest[] = { &user->shell, &user->description };
        for (size_t i = 0; i < ELEMENTSOF(sfields); i++)
                if (json_object_object_get_ex(u, sfields[i], &v) && !json_object_is_type(v, json_type_null)) {
                        if (!json_object_is_type(v, json_type_string))
                                return error_set(ret_error, "users.%s.%s: expected a string", name, sfields[i]);
                        if (!(*sdest[i] = strdup(json_object_get_string(v))))
                                return -ENOMEM;
                }
        if (json_object_object_get_ex(u, "uid", &v) && !json_object_is_type(v, json_type_null)) {
                if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1000 ||
                    json_object_get_int64(v) > 59999)
                        return error_set(ret_error, "users.%s.uid: expected a number from 1000 to 59999", name);
                user->uid = (unsigned) json_object_get_int64(v);
        }
        return 0;
}

/* "0", "0G", "0MiB": no swap */
static bool size_is_zero(const char *s) {
        size_t n = strspn(s, "0");
        return n > 0 && !isdigit((unsigned char) s[n]) && s[n] != '.';
}

static int get_disk_layout(json_object *root, ImageSpec *s, char **ret_error) {
        json_object *ds = get_path(root, "disk", "datasets");
        if (!ds || !json_object_is_type(ds, json_type_object) || json_object_object_length(ds) == 0)
                return 0;
        int r = get_string(root, "disk", "pool", &s->pool, ret_error);
        if (r < 0)
                return r;
        if (!s->pool && !(s->pool = strdup("rpool")))
                return -ENOMEM;
        json_object *sw = get_path(root, "disk", "swap-size");
        if (sw && !json_object_is_type(sw, json_type_string))
                return error_set(ret_error, "disk.swap-size: expected a size such as \"8G\"");
        s->swap = !sw || !size_is_zero(json_object_get_string(sw));
        s->datasets = calloc(json_object_object_length(ds), sizeof(ImageDataset));
        if (!s->datasets)
                return -ENOMEM;
        json_object_object_foreach(ds, name, d) {
                json_object *mp = NULL;
                const char *m = "none";
                if (json_object_is_type(d, json_type_object) && json_object_object_get_ex(d, "mountpoint", &mp)) {
                        if (!json_object_is_type(mp, json_type_string))
                                return error_set(ret_error, "disk.datasets.%s.mountpoint: expected a string", name);
                        m = json_object_get_string(mp);
                }
                ImageDataset *x = &s->datasets[s->n_datasets];
                x->name = strdup(name);
                x->mountpoint = strdup(m);
                s->n_datasets++;
                if (!x->name || !x->mountpoint)
                        return -ENOMEM;
        }
        return 0;
}

static int get_bool(json_object *root, const char *a, const char *b, bool *ret, char **ret_error) {
        json_object *v = get_path(root, a, b);
        if (!v)
                return 0;
        if (!json_object_is_type(v, json_type_boolean))
                return error_set(ret_error, "%s.%s: expected true or false", a, b);
        *ret = json_object_get_boolean(v);
        return 0;
}

/* boot.kernel-params, boot.emergency-access, secure-boot.enable/key-dir */
static int get_boot(json_object *root, ImageSpec *s, char **ret_error) {
        int r;
        json_object *v = get_path(root, "boot", "kernel-params");
        if (v && (r = get_strv(v, "boot.kernel-params", &s->kernel_params, &s->n_kernel_params, ret_error)) < 0)
                return r;
        if ((r = get_bool(root, "boot", "emergency-access", &s->emergency_access, ret_error)) < 0 ||
            (r = get_bool(root, "secure-boot", "enable", &s->secure_boot, ret_error)) < 0)
                return r;
        return get_string(root, "secure-boot", "key-dir", &s->sb_key_dir, ret_error);
}

/* tpm.enable, tpm.pcrs, tpm.bind-pcr15 */
static int get_tpm(json_object *root, ImageSpec *s, char **ret_error) {
        bool enable = true, pcr15 = true;
        int r;
        if ((r = get_bool(root, "tpm", "enable", &enable, ret_error)) < 0 ||
            (r = get_bool(root, "tpm", "bind-pcr15", &pcr15, ret_error)) < 0)
                return r;
        s->tpm_disabled = !enable;
        s->tpm_no_pcr15 = !pcr15;
        json_object *v = get_path(root, "tpm", "pcrs");
        if (!v)
                return 0;
        if (!json_object_is_type(v, json_type_array))
                return error_set(ret_error, "tpm.pcrs: expected a list of PCR numbers");
        uint32_t mask = 0;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i);
                int64_t n = json_object_is_type(e, json_type_int) ? json_object_get_int64(e) : -1;
                if (n < 0 || n > 23)
                        return error_set(ret_error, "tpm.pcrs[%zu]: expected a PCR number from 0 to 23", i);
                mask |= UINT32_C(1) << n;
        }
        s->tpm_pcrs = mask;
        s->tpm_pcrs_none = mask == 0;
        return 0;
}

uint32_t image_spec_tpm_pcrs(const ImageSpec *s) {
        if (s->tpm_pcrs_none)
                return 0;
        return s->tpm_pcrs ? s->tpm_pcrs : (UINT32_C(1) << 1) | (UINT32_C(1) << 7);
}

static int get_ssh(json_object *root, ImageSpec *s, char **ret_error) {
        json_object *v;
        if ((v = get_path(root, "ssh", "enable"))) {
                if (!json_object_is_type(v, json_type_boolean))
                        return error_set(ret_error, "ssh.enable: expected true or false");
                s->ssh_disabled = !json_object_get_boolean(v);
        }
        if ((v = get_path(root, "ssh", "password-authentication"))) {
                if (!json_object_is_type(v, json_type_boolean))
                        return error_set(ret_error, "ssh.password-authentication: expected true or false");
                s->ssh_password_authentication = json_object_get_boolean(v);
        }
        if ((v = get_path(root, "ssh", "port"))) {
                if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
                    json_object_get_int64(v) > 65535)
                        return error_set(ret_error, "ssh.port: expected a port number from 1 to 65535");
                s->ssh_port = (unsigned) json_object_get_int64(v);
        }
        return get_string(root, "ssh", "permit-root-login", &s->ssh_permit_root_login, ret_error);
}

int image_spec_from_json(const char *json, ImageSpec *ret, char **ret_error) {
        json_tokener *tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_object *root = json_tokener_parse_ex(tok, json, (int) strlen(json));
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        json_tokener_free(tok);
        if (!root || jerr != json_tokener_success) {
                json_object_put(root);
                return error_set(ret_error, "not valid JSON: %s", json_tokener_error_desc(jerr));
        }
        if (!json_object_is_type(root, json_type_object)) {
                json_object_put(root);
                return error_set(ret_error, "expected a JSON object at the top");
        }
        ImageSpec s = {};
        int r;
        if ((r = get_string(root, "host", "name", &s.hostname, ret_error)) < 0 ||
            (r = get_string(root, "host", "role", &s.role, ret_error)) < 0 ||
            (r = get_string(root, "host", "kernel", &s.kernel_flavour, ret_error)) < 0 ||
            (r = get_string(root, "kernel", "flavour", &s.kernel_flavour, ret_error)) < 0 ||
            (r = get_string(root, "boot", "kernel", &s.kernel_flavour, ret_error)) < 0 ||
            (r = get_string(root, "host", "time-zone", &s.time_zone, ret_error)) < 0 ||
            (r = get_ssh(root, &s, ret_error)) < 0 || (r = get_disk_layout(root, &s, ret_error)) < 0 ||
            (r = get_boot(root, &s, ret_error)) < 0 || (r = get_tpm(root, &s, ret_error)) < 0)
                goto done;
        json_object *p = get_path(root, "host", "packages");
        if (!p)
                p = get_path(root, "packages", NULL);
        if (p && json_object_is_type(p, json_type_object))
                p = get_path(root, "packages", "extra");
        if (p && (r = get_strv(p, "packages", &s.packages, &s.n_packages, ret_error)) < 0)
                goto done;
        json_object *z = get_path(root, "zfs", NULL);
        if (z && json_object_is_type(z, json_type_object))
                z = get_path(root, "zfs", "enable");
        if (z && !json_object_is_type(z, json_type_boolean)) {
                r = error_set(ret_error, "zfs: expected true or false (or zfs.enable)");
                goto done;
        }
        s.zfs = z && json_object_get_boolean(z);
        /* keystone eval's form: a host with ZFS datasets needs the ZFS modules */
        json_object *ds = get_path(root, "disk", "datasets");
        if (ds && json_object_is_type(ds, json_type_object) && json_object_object_length(ds) > 0)
                s.zfs = true;
        json_object *users = get_path(root, "users", NULL);
        if (users && json_object_is_type(users, json_type_object)) {
                json_object_object_foreach(users, name, u) {
                        if ((r = add_user(&s, name, u, ret_error)) < 0)
                                goto done;
                }
        } else if (users && json_object_is_type(users, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(users); i++) {
                        json_object *u = json_object_array_get_idx(users, i), *n = NULL;
                        if (!json_object_object_get_ex(u, "name", &n) || !json_object_is_type(n, json_type_string)) {
                                r = error_set(ret_error, "users[%zu].name: expected a string", i);
                                goto done;
                        }
                        if ((r = add_user(&s, json_object_get_string(n), u, ret_error)) < 0)
                                goto done;
                }
        } else if (users) {
                r = error_set(ret_error, "users: expected a table or an array");
                goto done;
        }
        r = image_spec_fill_defaults(&s);
        if (r == -EINVAL)
                error_set(ret_error, "invalid host name, user name, group, shell, SSH key, package name, "
                                     "time zone, SSH option, dataset, role (server, workstation) or kernel "
                                     "flavour (cloud, standard)");
done:
        json_object_put(root);
        if (r < 0) {
                image_spec_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

/* ---- the seam to the config library ---- */

/* The config layer checks a time zone's spelling; whether the tz database
 * has it needs the database, here the build machine's /usr/share/zoneinfo
 * (package tzdata; the same data the image gets).  Without a database on
 * this machine the check is skipped. */
static int image_check_time_zone(const Config *c, char **ret_error) {
        const ConfigNode *n = config_get(c, "host.time-zone");
        if (!n || !n->s)
                return 0;
        const char *dir = getenv("KEYSTONE_ZONEINFO");
        if (!dir || !*dir)
                dir = "/usr/share/zoneinfo";
        if (access(dir, F_OK) < 0)
                return 0;
        char p[PATH_MAX];
        struct stat st;
        if (snprintf(p, sizeof p, "%s/%s", dir, n->s) < (int) sizeof p && !strstr(n->s, "..") &&
            stat(p, &st) == 0 && S_ISREG(st.st_mode))
                return 0;
        if (ret_error && asprintf(ret_error,
                                  "%s:%u:%u: host.time-zone: \"%s\" is not a time zone of the tz database (no "
                                  "%s); use a name that `timedatectl list-timezones` prints, such as "
                                  "\"Europe/Berlin\" or \"UTC\"",
                                  n->origin.file ? n->origin.file : "(default)", (unsigned) n->origin.line,
                                  (unsigned) n->origin.column, n->s, p) < 0)
                *ret_error = NULL;
        return -EINVAL;
}

int image_host_file_to_json(const char *path, char **ret_json, char **ret_error) {
        Config *c = NULL;
        ConfigDiagnostics d = {};
        int r = config_load(path, &c, &d);
        if (r < 0) {
                if (ret_error) {
                        /* every problem, one per line, as keystone eval prints them */
                        size_t len = 0;
                        FILE *f = open_memstream(ret_error, &len);
                        for (size_t i = 0; f && i < d.n; i++)
                                fprintf(f, "%s%s", i ? "\n" : "", d.messages[i]);
                        if (f)
                                fclose(f);
                }
                config_diagnostics_done(&d);
                return r;
        }
        r = image_check_time_zone(c, ret_error);
        if (r < 0) {
                config_free(c);
                return r;
        }
        json_object *j = config_to_json(c);
        config_free(c);
        if (!j)
                return -ENOMEM;
        *ret_json = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        json_object_put(j);
        return *ret_json ? 0 : -ENOMEM;
}
