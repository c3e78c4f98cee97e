/* SPDX-License-Identifier: MIT */
/* The image spec: what the image builder needs from a host's configuration. */
#include <ctype.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "image/image.h"
#include "init/cmdline.h"
#include "util/error-message.h"
#include "util/log.h"
#include "util/run.h"

/* 2025-01-01T00:00:00Z: the default for reproducible builds */
#define DEFAULT_SOURCE_DATE_EPOCH UINT64_C(1735689600)

/* The spec's lists are counted, not NULL-ended (util/strv.h is for those). */
static void strn_free(char **v, size_t n) {
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
        strn_free(s->packages, s->n_packages);
        strn_free(s->system_packages, s->n_system_packages);
        for (size_t i = 0; i < s->n_users; i++) {
                free(s->users[i].name);
                strn_free(s->users[i].ssh_keys, s->users[i].n_ssh_keys);
                strn_free(s->users[i].groups, s->users[i].n_groups);
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
        strn_free(s->kernel_params, s->n_kernel_params);
        free(s->sb_key_dir);
        free(s->initrd_ssh_address);
        free(s->initrd_ssh_gateway);
        free(s->initrd_ssh_interface);
        free(s->initrd_ssh_mac);
        *s = (ImageSpec) {};
}

static int set_default(char **field, const char *value) {
        if (*field)
                return 0;
        *field = strdup(value);
        return *field ? 0 : -ENOMEM;
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

static bool ssh_key_valid(const char *s) {
        /* one line, a key type we know, and a body */
        if (strchr(s, '\n') || strchr(s, '\r'))
                return false;
        return startswith(s, "ssh-ed25519 ") || startswith(s, "ssh-rsa ") || startswith(s, "ecdsa-sha2-") ||
               startswith(s, "sk-ssh-ed25519@openssh.com ") || startswith(s, "sk-ecdsa-sha2-");
}

int image_spec_fill_defaults(ImageSpec *s) {
        int r;
        if ((r = set_default(&s->hostname, "keystone")) < 0 || (r = set_default(&s->role, "server")) < 0 ||
            (r = set_default(&s->kernel_flavour, "cloud")) < 0 || (r = set_default(&s->suite, "trixie")) < 0 ||
            (r = set_default(&s->mirror, "http://deb.debian.org/debian")) < 0)
                return r;
        if (s->source_date_epoch == 0)
                s->source_date_epoch = DEFAULT_SOURCE_DATE_EPOCH;
        if (validate_hostname(s->hostname))
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
                if (sh && (sh[0] != '/' || text_has_control_or(sh, ": ")))
                        return -EINVAL;
                if (s->users[i].description && text_has_control_or(s->users[i].description, ":"))
                        return -EINVAL;
                if (s->users[i].uid != 0 && (s->users[i].uid < 1000 || s->users[i].uid > 59999))
                        return -EINVAL;
        }
        if (s->time_zone && validate_time_zone(s->time_zone))
                return -EINVAL;
        if (s->ssh_port > 65535)
                return -EINVAL;
        if (s->ssh_permit_root_login && !streq(s->ssh_permit_root_login, "no") &&
            !streq(s->ssh_permit_root_login, "prohibit-password"))
                return -EINVAL;
        if (s->pool && (!*s->pool || text_has_control_or(s->pool, " /")))
                return -EINVAL;
        for (size_t i = 0; i < s->n_datasets; i++)
                if (!*s->datasets[i].name || text_has_control_or(s->datasets[i].name, " ") ||
                    text_has_control_or(s->datasets[i].mountpoint, " "))
                        return -EINVAL;
        for (size_t i = 0; i < s->n_packages; i++)
                if (validate_package_name(s->packages[i]))
                        return -EINVAL;
        for (size_t i = 0; i < s->n_system_packages; i++)
                if (validate_package_name(s->system_packages[i]))
                        return -EINVAL;
        if (!streq(s->role, "server") && !streq(s->role, "workstation"))
                return -EINVAL;
        return image_kernel_package(s->kernel_flavour) ? 0 : -EINVAL;
}

/* boot.kernel's meaning: the flavour's Debian metapackage */
const char *image_kernel_package(const char *flavour) {
        if (!flavour || streq(flavour, "cloud"))
                return "linux-image-cloud-amd64";
        if (streq(flavour, "standard"))
                return "linux-image-amd64";
        return NULL;
}

/* ---- the typed configuration → spec ---- */

static const ConfigNode *child(const ConfigNode *n, const char *name) {
        for (size_t i = 0; n && i < n->n_items; i++)
                if (streq(n->items[i]->name, name))
                        return n->items[i];
        return NULL;
}

/* a string option, copied (NULL stays NULL) */
static int take_string(const ConfigNode *n, char **field) {
        if (!n || !n->set || !n->s)
                return 0;
        free(*field);
        *field = strdup(n->s);
        return *field ? 0 : -ENOMEM;
}

/* a list of strings, copied as a NULL-terminated strv */
static int take_strv(const ConfigNode *n, char ***ret, size_t *ret_n) {
        size_t k = n ? n->n_items : 0;
        char **v = calloc(k + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < k; i++)
                if (!(v[i] = strdup(n->items[i]->s))) {
                        strn_free(v, i);
                        return -ENOMEM;
                }
        *ret = v;
        *ret_n = k;
        return 0;
}

static int take_user(ImageSpec *s, const ConfigNode *u) {
        ImageUser *nu = realloc(s->users, (s->n_users + 1) * sizeof *nu);
        if (!nu)
                return -ENOMEM;
        s->users = nu;
        ImageUser *user = &s->users[s->n_users];
        *user = (ImageUser) { .name = strdup(u->name) };
        if (!user->name)
                return -ENOMEM;
        s->n_users++;
        const ConfigNode *uid = child(u, "uid");
        if (uid && uid->set)
                user->uid = (unsigned) uid->i;
        int r;
        if ((r = take_strv(child(u, "ssh-keys"), &user->ssh_keys, &user->n_ssh_keys)) < 0 ||
            (r = take_strv(child(u, "groups"), &user->groups, &user->n_groups)) < 0 ||
            (r = take_string(child(u, "shell"), &user->shell)) < 0)
                return r;
        return take_string(child(u, "description"), &user->description);
}

/* disk.*: the layout matters to the image only when it has datasets */
static int take_disk(ImageSpec *s, const Config *c) {
        const ConfigNode *ds = config_get(c, "disk.datasets");
        if (!ds || ds->n_items == 0)
                return 0;
        int r = take_string(config_get(c, "disk.pool"), &s->pool);
        if (r < 0)
                return r;
        if (!s->pool && !(s->pool = strdup("rpool")))
                return -ENOMEM;
        const ConfigNode *sw = config_get(c, "disk.swap-size");
        s->swap = !sw || !sw->set || sw->size > 0;
        s->datasets = calloc(ds->n_items, sizeof(ImageDataset));
        if (!s->datasets)
                return -ENOMEM;
        for (size_t i = 0; i < ds->n_items; i++) {
                const ConfigNode *mp = child(ds->items[i], "mountpoint");
                ImageDataset *x = &s->datasets[s->n_datasets++];
                x->name = strdup(ds->items[i]->name);
                x->mountpoint = strdup(mp && mp->s ? mp->s : "none");
                if (!x->name || !x->mountpoint)
                        return -ENOMEM;
        }
        /* a ZFS layout: the image carries zfsutils-linux and the ZFS modules */
        s->zfs = true;
        return 0;
}

static int take_tpm(ImageSpec *s, const Config *c) {
        s->tpm_disabled = !config_bool(c, "tpm.enable");
        const ConfigNode *b = config_get(c, "tpm.bind-pcr15");
        s->tpm_no_pcr15 = b && b->set && !b->b;
        const ConfigNode *pcrs = config_get(c, "tpm.pcrs");
        if (!pcrs || !pcrs->set)
                return 0;
        uint32_t mask = 0;
        for (size_t i = 0; i < pcrs->n_items; i++)
                if (pcrs->items[i]->i >= 0 && pcrs->items[i]->i <= 23)
                        mask |= UINT32_C(1) << pcrs->items[i]->i;
        s->tpm_pcrs = mask;
        s->tpm_pcrs_none = mask == 0;
        return 0;
}

/* boot.initrd-ssh.*: the mode, and the network checked by keystone-init's
 * own check (init_network_check()).  The address may be left out here:
 * `keystone build --initrd-ssh-net` can give it, and the build refuses
 * initrd-ssh without one. */
static int take_initrd_ssh(ImageSpec *s, const Config *c, char **ret_error) {
        if (config_bool(c, "boot.initrd-ssh.enable")) {
                const char *mode = config_string(c, "boot.initrd-ssh.mode");
                s->initrd_ssh = mode && streq(mode, "always") ? IMAGE_INITRD_SSH_ALWAYS : IMAGE_INITRD_SSH_AUTO;
        }
        static const char *const names[] = { "boot.initrd-ssh.address", "boot.initrd-ssh.gateway",
                                             "boot.initrd-ssh.interface", "boot.initrd-ssh.mac" };
        char **fields[] = { &s->initrd_ssh_address, &s->initrd_ssh_gateway, &s->initrd_ssh_interface,
                            &s->initrd_ssh_mac };
        const ConfigNode *nodes[ELEMENTSOF(names)];
        InitNetwork n = {};
        char *dst[] = { n.address, n.gateway, n.interface, n.mac };
        bool any = false;
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                nodes[i] = config_get(c, names[i]);
                int r = take_string(nodes[i], fields[i]);
                if (r < 0)
                        return r;
                if (*fields[i]) {
                        snprintf(dst[i], INIT_NAME_MAX, "%s", *fields[i]);
                        any = true;
                }
        }
        if (!any)
                return 0;
        /* a stand-in address, so that the other fields are checked too */
        bool no_address = !*n.address;
        if (no_address)
                snprintf(n.address, sizeof n.address, "0.0.0.0/0");
        InitNetworkProblem p;
        const char *expected = init_network_check(&n, &p);
        if (p == INIT_NETWORK_OK) {
                if (s->initrd_ssh_mac)
                        memcpy(s->initrd_ssh_mac, n.mac, strlen(s->initrd_ssh_mac) + 1); /* lower case */
                return 0;
        }
        size_t i = p == INIT_NETWORK_BAD_ADDRESS ? 0 : p == INIT_NETWORK_BAD_GATEWAY ? 1
                 : p == INIT_NETWORK_BAD_INTERFACE ? 2 : 3;
        const ConfigOrigin *o = &nodes[i]->origin;
        int k;
        if (p == INIT_NETWORK_INTERFACE_AND_MAC)
                k = asprintf(ret_error, "%s:%u:%u: boot.initrd-ssh.mac: boot.initrd-ssh.interface and "
                             "boot.initrd-ssh.mac both name the interface; give one", o->file ? o->file : "(default)",
                             (unsigned) o->line, (unsigned) o->column);
        else
                k = asprintf(ret_error, "%s:%u:%u: %s: \"%s\" is not %s", o->file ? o->file : "(default)",
                             (unsigned) o->line, (unsigned) o->column, names[i], *fields[i], expected);
        if (k < 0)
                *ret_error = NULL;
        return -EINVAL;
}

/* What every Keystone machine runs, whatever its role: host.packages of the
 * built-in module `base` (modules/base.toml). */
static int take_system_packages(ImageSpec *s, char **ret_error) {
        Config *base = NULL;
        _cleanup_free_ char *err = NULL;
        int r = config_load_module("base", &base, &err);
        if (r < 0)
                return error_set(ret_error, r, "Keystone's built-in module `base` does not load: %s",
                                 err ? err : strerror(-r));
        r = take_strv(config_get(base, "host.packages"), &s->system_packages, &s->n_system_packages);
        config_free(base);
        return r;
}

uint32_t image_spec_tpm_pcrs(const ImageSpec *s) {
        if (s->tpm_pcrs_none)
                return 0;
        return s->tpm_pcrs ? s->tpm_pcrs : (UINT32_C(1) << 1) | (UINT32_C(1) << 7);
}

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

int image_spec_from_config(const Config *c, ImageSpec *ret, char **ret_error) {
        ImageSpec s = {};
        int r = image_check_time_zone(c, ret_error);
        if (r < 0)
                return r;
        const ConfigNode *users = config_get(c, "users");
        if ((r = take_string(config_get(c, "host.name"), &s.hostname)) < 0 ||
            (r = take_string(config_get(c, "host.role"), &s.role)) < 0 ||
            (r = take_string(config_get(c, "boot.kernel"), &s.kernel_flavour)) < 0 ||
            (r = take_string(config_get(c, "host.time-zone"), &s.time_zone)) < 0 ||
            (r = take_strv(config_get(c, "host.packages"), &s.packages, &s.n_packages)) < 0 ||
            (r = take_string(config_get(c, "ssh.permit-root-login"), &s.ssh_permit_root_login)) < 0 ||
            (r = take_strv(config_get(c, "boot.kernel-params"), &s.kernel_params, &s.n_kernel_params)) < 0 ||
            (r = take_string(config_get(c, "secure-boot.key-dir"), &s.sb_key_dir)) < 0 ||
            (r = take_disk(&s, c)) < 0 || (r = take_tpm(&s, c)) < 0)
                goto fail;
        if ((r = take_initrd_ssh(&s, c, ret_error)) < 0) {
                image_spec_done(&s);
                if (r == -EINVAL)
                        return r;
                return error_set(ret_error, r, "Out of memory while reading the configuration");
        }
        for (size_t i = 0; users && i < users->n_items; i++)
                if ((r = take_user(&s, users->items[i])) < 0)
                        goto fail;
        const ConfigNode *en = config_get(c, "ssh.enable");
        s.ssh_disabled = en && en->set && !en->b;
        s.ssh_password_authentication = config_bool(c, "ssh.password-authentication");
        s.ssh_port = (unsigned) config_int(c, "ssh.port");
        s.emergency_access = config_bool(c, "boot.emergency-access");
        s.secure_boot = config_bool(c, "secure-boot.enable");
        if ((r = take_system_packages(&s, ret_error)) < 0) {
                image_spec_done(&s);
                return r;
        }
        r = image_spec_fill_defaults(&s);
        if (r == -EINVAL) {
                /* the schema's checks are the image's: a value they let by is a Keystone bug */
                image_spec_done(&s);
                return error_set(ret_error, r, "%s: the configuration passed its checks but not the image "
                                 "builder's (host name, users, SSH keys, packages, datasets); please report this",
                                 c->n_files ? c->files[c->n_files - 1] : "the host file");
        }
        if (r < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        image_spec_done(&s);
        return error_set(ret_error, r, "Out of memory while reading the configuration");
}

int image_spec_load(const char *host_path, ImageSpec *ret, char **ret_error) {
        Config *c = NULL;
        int r = config_load(host_path, &c, ret_error);
        if (r < 0)
                return r;
        r = image_spec_from_config(c, ret, ret_error);
        config_free(c);
        return r;
}
