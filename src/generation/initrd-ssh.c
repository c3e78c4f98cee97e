/* SPDX-License-Identifier: MIT */
/* Unlock over SSH in the initrd: the build's settings (initrd-ssh.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generation/initrd-ssh.h"
#include "init/cmdline.h"
#include "util/error-message.h"
#include "util/macro.h"

/* docs/init.md, "What the initrd must hold for it": sshd (OpenSSH >= 9.8
 * splits it into sshd, sshd-session and sshd-auth), ip for the network,
 * sh for the session's command (keystone-init --unlock: keystone-init is
 * in every generation's initrd already). */
const char *const generation_initrd_ssh_programs[] = {
        "/usr/sbin/sshd", "/usr/lib/openssh/sshd-session", "/usr/lib/openssh/sshd-auth", "/usr/bin/ip", "/bin/sh",
        NULL,
};

/* the network cards keystone-init may have to bring up (as the installer's) */
const char *const generation_initrd_ssh_modules[] = {
        "?virtio_net", "?e1000e", "?e1000", "?igb", "?r8169", NULL,
};

/* root by key only (no password: "*"), sshd's privilege separation user;
 * the real system's files are not taken: root's shell there is bash, which
 * the initrd does not have. */
static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "sshd:x:100:65534:sshd privilege separation:/run/sshd:/usr/sbin/nologin\n";
static const char group[] = "root:x:0:\nnogroup:x:65534:\n";
static const char shadow[] = "root:*:1::::::\nsshd:*:1::::::\n";
const InitrdData generation_initrd_ssh_files[] = {
        { "etc/passwd", 0644, passwd, sizeof passwd - 1 },
        { "etc/group", 0644, group, sizeof group - 1 },
        { "etc/shadow", 0600, shadow, sizeof shadow - 1 },
};
const size_t generation_initrd_ssh_n_files = ELEMENTSOF(generation_initrd_ssh_files);

static int set_field(char **field, const char *value) {
        char *v = strdup(value);
        if (!v)
                return -ENOMEM;
        free(*field);
        *field = v;
        return 0;
}

int generation_initrd_ssh_apply_net(ImageSpec *s, const char *value, char **error) {
        static const char *const keys[] = { "address", "gateway", "interface", "mac", "mode" };
        InitNetwork n = {};
        char *dst[] = { n.address, n.gateway, n.interface, n.mac, NULL };
        char mode[16] = "";
        bool given[ELEMENTSOF(keys)] = {};
        _cleanup_free_ char *copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        char *save = NULL;
        for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(item, '=');
                if (eq)
                        *eq = 0;
                size_t k = 0;
                while (k < ELEMENTSOF(keys) && !streq(keys[k], item))
                        k++;
                if (k == ELEMENTSOF(keys))
                        return error_set(error, -EINVAL, "--initrd-ssh-net: unknown key '%s' (the keys are address, "
                                         "gateway, interface, mac and mode, e.g. address=192.0.2.7/24,gateway=192.0.2.1)",
                                         item);
                if (!eq || !eq[1])
                        return error_set(error, -EINVAL, "--initrd-ssh-net: %s= has no value", item);
                if (given[k])
                        return error_set(error, -EINVAL, "--initrd-ssh-net: %s= is given twice", item);
                given[k] = true;
                char *v = eq + 1;
                size_t size = dst[k] ? INIT_NAME_MAX : sizeof mode;
                if (strlen(v) >= size)
                        return error_set(error, -EINVAL, "--initrd-ssh-net: the value of %s= is too long", item);
                snprintf(dst[k] ? dst[k] : mode, size, "%s", v);
        }
        if (*mode && !streq(mode, "auto") && !streq(mode, "always"))
                return error_set(error, -EINVAL, "--initrd-ssh-net: mode=%s: expected auto or always", mode);
        InitNetworkProblem p;
        const char *expected = init_network_check(&n, &p);
        if (p == INIT_NETWORK_NO_ADDRESS)
                return error_set(error, -EINVAL, "--initrd-ssh-net needs address=A.B.C.D/N (the IPv4 address sshd "
                                 "listens on in the initrd, e.g. address=192.0.2.7/24,gateway=192.0.2.1)");
        if (p == INIT_NETWORK_INTERFACE_AND_MAC)
                return error_set(error, -EINVAL, "--initrd-ssh-net: interface= and mac= both name the interface; "
                                 "give one");
        if (p != INIT_NETWORK_OK)
                return error_set(error, -EINVAL, "--initrd-ssh-net: %s=%s is not %s", init_network_field_name(p),
                                 init_network_field(&n, p), expected);
        char **fields[] = { &s->initrd_ssh_address, &s->initrd_ssh_gateway, &s->initrd_ssh_interface,
                            &s->initrd_ssh_mac };
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                int r = *dst[i] ? set_field(fields[i], dst[i]) : 0;
                if (r < 0)
                        return r;
                if (!*dst[i]) {
                        free(*fields[i]);
                        *fields[i] = NULL;
                }
        }
        if (*mode)
                s->initrd_ssh = streq(mode, "always") ? IMAGE_INITRD_SSH_ALWAYS : IMAGE_INITRD_SSH_AUTO;
        else if (s->initrd_ssh == IMAGE_INITRD_SSH_OFF)
                s->initrd_ssh = IMAGE_INITRD_SSH_AUTO;
        return 0;
}

int generation_initrd_ssh_check(const ImageSpec *s, const char *host_keys, char **error) {
        if (s->initrd_ssh == IMAGE_INITRD_SSH_OFF)
                return 0;
        if (!s->initrd_ssh_address)
                return error_set(error, -EINVAL, "unlock over SSH in the initrd is on, but sshd there has no address: "
                                 "set boot.initrd-ssh.address = \"A.B.C.D/N\" in the host file, or pass "
                                 "--initrd-ssh-net address=A.B.C.D/N[,gateway=G][,mac=M] (the network of the "
                                 "first boot)");
        if (!host_keys)
                return error_set(error, -EINVAL, "unlock over SSH in the initrd is on, but no host key was given: "
                                 "pass --host-keys DIR with DIR/ssh_host_ed25519_key and its .pub (made with "
                                 "`ssh-keygen -t ed25519 -N '' -f DIR/ssh_host_ed25519_key`); the build does not "
                                 "make one, since a key made here would not be the one you pin in known_hosts");
        return 0;
}

int generation_initrd_ssh_cmdline(const ImageSpec *s, char **ret) {
        if (s->initrd_ssh == IMAGE_INITRD_SSH_OFF || !s->initrd_ssh_address) {
                *ret = strdup("");
                return *ret ? 0 : -ENOMEM;
        }
        const struct { const char *name, *value; } f[] = {
                { "gateway", s->initrd_ssh_gateway }, { "interface", s->initrd_ssh_interface },
                { "mac", s->initrd_ssh_mac },
        };
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        if (!m)
                return -ENOMEM;
        fprintf(m, " keystone.initrd-ssh=%s keystone.initrd-ssh.address=%s",
                s->initrd_ssh == IMAGE_INITRD_SSH_ALWAYS ? "always" : "auto", s->initrd_ssh_address);
        for (size_t i = 0; i < ELEMENTSOF(f); i++)
                if (f[i].value)
                        fprintf(m, " keystone.initrd-ssh.%s=%s", f[i].name, f[i].value);
        if (fclose(m) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}

static bool in_group(const ImageUser *u, const char *g) {
        for (size_t i = 0; i < u->n_groups; i++)
                if (streq(u->groups[i], g))
                        return true;
        return false;
}

int generation_initrd_ssh_authorized_keys(const ImageSpec *s, const char *const *extra, char **ret) {
        size_t n = 0;
        for (size_t i = 0; i < s->n_users; i++)
                n += s->users[i].n_ssh_keys;
        for (size_t i = 0; extra && extra[i]; i++)
                n++;
        const char **all = calloc(n + 1, sizeof(char *));
        if (!all)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < s->n_users; i++)
                for (size_t j = 0; in_group(&s->users[i], "sudo") && j < s->users[i].n_ssh_keys; j++)
                        all[k++] = s->users[i].ssh_keys[j];
        for (size_t i = 0; extra && extra[i]; i++)
                all[k++] = extra[i];
        char *text = NULL;
        size_t len = 0, lines = 0;
        FILE *m = open_memstream(&text, &len);
        if (!m) {
                free(all);
                return -ENOMEM;
        }
        for (size_t i = 0; i < k; i++) {
                bool dup = false;
                for (size_t j = 0; j < i && !dup; j++)
                        dup = streq(all[i], all[j]);
                if (!dup && !strchr(all[i], '\n')) {
                        fprintf(m, "%s\n", all[i]);
                        lines++;
                }
        }
        free(all);
        if (fclose(m) != 0) {
                free(text);
                return -ENOMEM;
        }
        if (lines == 0) {
                free(text);
                return -ENOKEY;
        }
        *ret = text;
        return 0;
}
