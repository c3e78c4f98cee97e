/* SPDX-License-Identifier: MIT */
/* ssh_target_parse() (install/ssh.h) on any bytes: `--target` is typed by
 * a user and may come from a script or a host file.  A refusal always
 * comes with a printable message; an acceptance gives a target that parses
 * again, written back, to the same user, host and port, with a port in
 * 1-65535, no byte in the host that could reach a shell or an option
 * (ssh(1) or libssh) unquoted, and a user that is not an option. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "install/ssh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = strndup((const char *) data, size);
        if (!s)
                return 0;
        SshTarget t;
        char *e = NULL;
        if (ssh_target_parse(s, &t, &e) < 0) {
                if (!e)
                        abort();
                for (const char *p = e; *p; p++)
                        if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f)
                                abort();
                free(e);
                free(s);
                return 0;
        }
        if (e || t.port == 0 || !t.host[0] || t.user[0] == '-' || t.host[0] == '-')
                abort();
        for (const char *p = t.host; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:%_", *p))
                        abort();
        if (!t.ipv6 && strpbrk(t.host, ":%_"))
                abort();
        char again[400];
        snprintf(again, sizeof again, t.ipv6 ? "%s%s[%s]:%u" : "%s%s%s:%u", t.user, t.user[0] ? "@" : "", t.host,
                 t.port);
        SshTarget u;
        if (ssh_target_parse(again, &u, &e) < 0 || strcmp(u.user, t.user) || strcmp(u.host, t.host) ||
            u.port != t.port || u.ipv6 != t.ipv6)
                abort();
        free(s);
        return 0;
}
