/* SPDX-License-Identifier: MIT */
/* ssh_target_parse() (install/ssh.h): `--target [USER@]ADDRESS[:PORT]` as a
 * user types it, IPv6 in brackets, and the malformed and hostile shapes
 * refused with a message that names the wrong part (and shows control
 * bytes escaped, never raw). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "install/ssh.h"

static void ok(const char *s, const char *user, const char *host, unsigned port, bool ipv6) {
        SshTarget t;
        char *e = NULL;
        int r = ssh_target_parse(s, &t, &e);
        if (r < 0)
                fail_msg("'%s' refused: %s", s, e);
        assert_null(e);
        assert_string_equal(t.user, user);
        assert_string_equal(t.host, host);
        assert_int_equal(t.port, port);
        assert_int_equal(t.ipv6, ipv6);
}

static void bad(const char *s, const char *needle) {
        SshTarget t = { .port = 4242 };
        char *e = NULL;
        int r = ssh_target_parse(s, &t, &e);
        if (r != -EINVAL)
                fail_msg("'%s' gave %d, want -EINVAL", s, r);
        assert_non_null(e);
        if (!strstr(e, needle))
                fail_msg("'%s': message '%s' does not say '%s'", s, e, needle);
        /* the message never carries a raw control byte */
        for (const char *p = e; *p; p++)
                assert_true((unsigned char) *p >= 0x20 && (unsigned char) *p < 0x7f);
        assert_int_equal(t.port, 4242); /* ret untouched */
        free(e);
}

static void test_accepted(void **state) {
        ok("192.0.2.7", "", "192.0.2.7", 22, false);
        ok("root@192.0.2.7", "root", "192.0.2.7", 22, false);
        ok("admin@192.0.2.7:2222", "admin", "192.0.2.7", 2222, false);
        ok("host.example.org", "", "host.example.org", 22, false);
        ok("Deploy_1.x-y@Web-01.Example.ORG:65535", "Deploy_1.x-y", "Web-01.Example.ORG", 65535, false);
        ok("machine$@localhost:1", "machine$", "localhost", 1, false);
        ok("[::1]", "", "::1", 22, true);
        ok("[::1]:2222", "", "::1", 2222, true);
        ok("root@[2001:db8::42]:22", "root", "2001:db8::42", 22, true);
        ok("[fe80::1%eth0]:22", "", "fe80::1%eth0", 22, true);
        ok("[::ffff:192.0.2.1]", "", "::ffff:192.0.2.1", 22, true);
        ok("1host", "", "1host", 22, false);
        char longest[300];
        static const char l63[] = "a123456789012345678901234567890123456789012345678901234567890bc";
        snprintf(longest, sizeof longest, "%s.%s.%s.%.61s", l63, l63, l63, l63);
        assert_int_equal(strlen(longest), 253);
        ok(longest, "", longest, 22, false);
}

static void test_refused(void **state) {
        bad("", "empty");
        bad("root@", "empty");
        bad("@host", "user name before '@' is empty");
        bad("a@b@host", "more than one '@'");
        bad("-oProxyCommand=touch@host", "user name");
        bad("ro ot@host", "user name");
        bad("r$oot@host", "user name");
        bad("abcdefghijklmnopqrstuvwxyz0123456@host", "user name");
        bad("::1", "IPv6 address goes in brackets");
        bad("2001:db8::1:22", "IPv6 address goes in brackets");
        bad("[::1", "without its ']'");
        bad("[::1]x", "after ']' only ':PORT'");
        bad("[::1]:", "port after ':' is missing");
        bad("[]", "not an IPv6 address");
        bad("[192.0.2.1]", "not an IPv6 address");
        bad("[fe80::1%]", "zone");
        bad("[fe80::1%eth0;id]", "zone");
        bad("host[1]", "only encloses an IPv6");
        bad("host:", "port after ':' is missing");
        bad("host:0", "1 to 65535");
        bad("host:65536", "1 to 65535");
        bad("host:022", "leading zeros");
        bad("host:22a", "1 to 65535");
        bad("host:+22", "1 to 65535");
        bad("host:-1", "1 to 65535");
        bad("host: 22", "1 to 65535");
        bad("host..example", "empty labels");
        bad(".host", "empty labels");
        bad("host.", "empty labels");
        bad("-host", "begins and ends");
        bad("host-.example", "begins and ends");
        bad("ho_st", "only letters, digits");
        bad("host;reboot", "only letters, digits");
        bad("$(reboot)", "only letters, digits");
        bad("ho st", "only letters, digits");
        bad("999.1.1.1", "IPv4");
        bad("1.2.3", "IPv4");
        bad("12345", "IPv4");
        bad("h\x1b[31mred", "\\x1b");
        bad("host\n", "\\x0a");
        bad("h\xc3\xa9llo", "\\xc3");
        char label[80];
        memset(label, 'a', 64);
        label[64] = 0;
        bad(label, "63 characters");
        char big[300];
        memset(big, 'a', 299);
        for (int i = 50; i < 299; i += 50)
                big[i] = '.';
        big[299] = 0;
        bad(big, "253 characters");
        char huge[1000];
        memset(huge, 'a', 999);
        huge[999] = 0;
        bad(huge, "too long");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_accepted),
                cmocka_unit_test(test_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
