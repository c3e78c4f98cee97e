/* SPDX-License-Identifier: MIT */
/* install/remote.h: the network the installer takes over after kexec,
 * picked from a probe report (the interface holding the address the
 * operator used, else the IPv4 default route's; its MAC, not its name),
 * and the installer's command line made from it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "install/remote.h"

static const char two_cards[] =
        "keystone-probe 1\n"
        "arch x86_64\n"
        "mem.total-kib 2014892\n"
        "efi yes\n"
        "net.if enp1s0\n"
        "net.if.mac 52:54:00:12:34:56\n"
        "net.if.state up\n"
        "net.if.addr 10.0.2.15/24\n"
        "net.if.addr 2001:db8::15/64\n"
        "net.if eno2\n"
        "net.if.mac 52:54:00:aa:bb:cc\n"
        "net.if.state up\n"
        "net.if.addr 2001:db8:1::9/64\n"
        "net.if.addr 198.51.100.9/25\n"
        "net.ip yes\n"
        "net.gateway 2001:db8::1 enp1s0\n"
        "net.gateway 10.0.2.2 enp1s0\n"
        "end\n";

static ProbeReport *parse(const char *text) {
        ProbeReport *r = NULL;
        char *e = NULL;
        if (probe_parse(text, strlen(text), &r, &e) < 0) {
                print_error("fixture does not parse: %s\n", e);
                free(e);
                fail();
        }
        return r;
}

static void test_network(void **state) {
        ProbeReport *r = parse(two_cards);
        RemoteNet n;
        char *e = NULL;
        /* through a port forward (or a name): the default route's card */
        assert_int_equal(remote_installer_network(r, "127.0.0.1", &n, &e), 0);
        assert_string_equal(n.ifname, "enp1s0");
        assert_string_equal(n.mac, "52:54:00:12:34:56");
        assert_string_equal(n.address, "10.0.2.15/24");
        assert_string_equal(n.gateway, "10.0.2.2");
        /* reached at the second card's address: that card, its IPv4 address; the
         * gateway is the default route's only when it goes through that card */
        assert_int_equal(remote_installer_network(r, "198.51.100.9", &n, &e), 0);
        assert_string_equal(n.ifname, "eno2");
        assert_string_equal(n.mac, "52:54:00:aa:bb:cc");
        assert_string_equal(n.address, "198.51.100.9/25");
        assert_string_equal(n.gateway, "");
        assert_null(e);

        char *cmd = remote_installer_cmdline(&n);
        assert_non_null(cmd);
        assert_string_equal(cmd, "keystone.installer keystone.installer.address=198.51.100.9/25 "
                                 "keystone.installer.mac=52:54:00:aa:bb:cc console=tty0 console=ttyS0,115200");
        free(cmd);
        assert_int_equal(remote_installer_network(r, NULL, &n, &e), 0);
        cmd = remote_installer_cmdline(&n);
        assert_non_null(strstr(cmd, "keystone.installer.address=10.0.2.15/24 keystone.installer.gateway=10.0.2.2 "
                                    "keystone.installer.mac=52:54:00:12:34:56"));
        free(cmd);
        probe_report_free(r);

        /* IPv6 only: the installer could not be reached again */
        r = parse("keystone-probe 1\narch x86_64\nmem.total-kib 2014892\nefi yes\nnet.if enp1s0\nnet.if.mac 52:54:00:12:34:56\nnet.if.addr 2001:db8::15/64\n"
                  "net.ip yes\nnet.gateway 2001:db8::1 enp1s0\nend\n");
        assert_int_equal(remote_installer_network(r, "2001:db8::15", &n, &e), -ENETUNREACH);
        assert_non_null(e);
        assert_non_null(strstr(e, "IPv4"));
        free(e);
        probe_report_free(r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_network),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
