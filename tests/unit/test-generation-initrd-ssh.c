/* SPDX-License-Identifier: MIT */
/* Unlock over SSH in the initrd, the build's settings: the host file's
 * boot.initrd-ssh.* (refused where keystone-init would refuse it, with the
 * file and line), --initrd-ssh-net (what it replaces, what it turns on, 11
 * bad values each with its message), the refusals before a build (no
 * address: both ways named; no --host-keys), the command line, and who may
 * log in (sudo users' keys and --ssh-key, once each; nobody refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/spec-toml.h"
#include "config/config.h"
#include "generation/initrd-ssh.h"
#include "image/image.h"

static char *dir;

static int spec_from_toml(const char *toml, ImageSpec *ret, char **ret_error) {
        return test_spec_from_toml(dir, toml, ret, ret_error);
}

#define HOST "[host]\nname = \"h\"\n"

static void test_host_file(void **state) {
        ImageSpec s = {};
        char *err = NULL;
        /* off by default, nothing set */
        assert_int_equal(spec_from_toml(HOST, &s, &err), 0);
        assert_int_equal(s.initrd_ssh, IMAGE_INITRD_SSH_OFF);
        assert_null(s.initrd_ssh_address);
        image_spec_done(&s);

        assert_int_equal(spec_from_toml(HOST "[boot.initrd-ssh]\nenable = true\naddress = \"192.0.2.7/24\"\n"
                                             "gateway = \"192.0.2.1\"\nmac = \"52:54:00:AB:cd:EF\"\n", &s, &err), 0);
        assert_int_equal(s.initrd_ssh, IMAGE_INITRD_SSH_AUTO);
        assert_string_equal(s.initrd_ssh_address, "192.0.2.7/24");
        assert_string_equal(s.initrd_ssh_gateway, "192.0.2.1");
        assert_string_equal(s.initrd_ssh_mac, "52:54:00:ab:cd:ef"); /* as /sys/class/net has it */
        assert_null(s.initrd_ssh_interface);
        char *cmd = NULL;
        assert_int_equal(generation_initrd_ssh_cmdline(&s, &cmd), 0);
        assert_string_equal(cmd, " keystone.initrd-ssh=auto keystone.initrd-ssh.address=192.0.2.7/24 "
                                 "keystone.initrd-ssh.gateway=192.0.2.1 keystone.initrd-ssh.mac=52:54:00:ab:cd:ef");
        free(cmd);
        image_spec_done(&s);

        assert_int_equal(spec_from_toml(HOST "[boot]\ninitrd-ssh.enable = true\ninitrd-ssh.mode = \"always\"\n"
                                             "initrd-ssh.interface = \"eth1\"\n", &s, &err), 0);
        assert_int_equal(s.initrd_ssh, IMAGE_INITRD_SSH_ALWAYS);
        assert_string_equal(s.initrd_ssh_interface, "eth1");
        assert_null(s.initrd_ssh_address); /* --initrd-ssh-net may give it */
        image_spec_done(&s);

        static const struct { const char *toml, *want; } bad[] = {
                { "address = \"192.0.2.7\"\n",
                  "host.toml:5:11: boot.initrd-ssh.address: \"192.0.2.7\" is not an IPv4 address with a prefix length" },
                { "address = \"192.0.2.7/33\"\n", "boot.initrd-ssh.address: \"192.0.2.7/33\" is not" },
                { "address = \"192.0.2.7/24\"\ngateway = \"192.0.2.1/24\"\n",
                  "host.toml:6:11: boot.initrd-ssh.gateway: \"192.0.2.1/24\" is not an IPv4 address" },
                /* checked even without an address */
                { "mac = \"52:54:00:ab:cd\"\n", "boot.initrd-ssh.mac: \"52:54:00:ab:cd\" is not a hardware address" },
                { "interface = \"../x\"\n", "boot.initrd-ssh.interface: \"../x\" is not a network interface name" },
                { "address = \"192.0.2.7/24\"\nmac = \"52:54:00:ab:cd:ef\"\ninterface = \"eth0\"\n",
                  "boot.initrd-ssh.interface and boot.initrd-ssh.mac both name the interface; give one" },
                { "mode = \"sometimes\"\n", "boot.initrd-ssh.mode" },
                { "enable = \"yes\"\n", "boot.initrd-ssh.enable" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                char toml[512];
                snprintf(toml, sizeof toml, HOST "[boot.initrd-ssh]\nenable = true\n%s", bad[i].toml);
                /* "enable" twice is a TOML error of its own: the last case
                 * has it alone */
                if (strstr(bad[i].toml, "enable"))
                        snprintf(toml, sizeof toml, HOST "[boot.initrd-ssh]\n%s", bad[i].toml);
                err = NULL;
                assert_int_equal(spec_from_toml(toml, &s, &err), -EINVAL);
                assert_non_null(err);
                if (!strstr(err, bad[i].want))
                        fail_msg("case %zu: %s\nwanted: %s", i, err, bad[i].want);
                free(err);
        }
}

static void test_net_option(void **state) {
        ImageSpec s = { .initrd_ssh_gateway = strdup("10.0.0.1"), .initrd_ssh_interface = strdup("eth3") };
        char *err = NULL;
        /* off in the host file: the option turns it on, and replaces the whole network */
        assert_int_equal(generation_initrd_ssh_apply_net(&s, "address=192.0.2.7/24,mac=52:54:00:AA:BB:CC", &err), 0);
        assert_int_equal(s.initrd_ssh, IMAGE_INITRD_SSH_AUTO);
        assert_string_equal(s.initrd_ssh_address, "192.0.2.7/24");
        assert_string_equal(s.initrd_ssh_mac, "52:54:00:aa:bb:cc");
        assert_null(s.initrd_ssh_gateway);
        assert_null(s.initrd_ssh_interface);
        assert_int_equal(generation_initrd_ssh_apply_net(&s, "mode=always,address=10.1.2.3/8,gateway=10.0.0.1", &err),
                         0);
        assert_int_equal(s.initrd_ssh, IMAGE_INITRD_SSH_ALWAYS);
        assert_null(s.initrd_ssh_mac);
        char *cmd = NULL;
        assert_int_equal(generation_initrd_ssh_cmdline(&s, &cmd), 0);
        assert_string_equal(cmd, " keystone.initrd-ssh=always keystone.initrd-ssh.address=10.1.2.3/8 "
                                 "keystone.initrd-ssh.gateway=10.0.0.1");
        free(cmd);
        /* "always" from the host file stays without mode= */
        assert_int_equal(generation_initrd_ssh_apply_net(&s, "address=10.1.2.4/8", &err), 0);
        assert_int_equal(s.initrd_ssh, IMAGE_INITRD_SSH_ALWAYS);

        static const struct { const char *value, *want; } bad[] = {
                { "", "--initrd-ssh-net needs address=A.B.C.D/N" },
                { "gateway=192.0.2.1", "--initrd-ssh-net needs address=" },
                { "address=192.0.2.7", "--initrd-ssh-net: address=192.0.2.7 is not an IPv4 address with a prefix length" },
                { "address=192.0.2.700/24", "address=192.0.2.700/24 is not" },
                { "address=192.0.2.7/24,gateway=gw", "--initrd-ssh-net: gateway=gw is not an IPv4 address" },
                { "address=192.0.2.7/24,mac=52-54-00-ab-cd-ef", "mac=52-54-00-ab-cd-ef is not a hardware address" },
                { "address=192.0.2.7/24,interface=a/b", "interface=a/b is not a network interface name" },
                { "address=192.0.2.7/24,mac=52:54:00:ab:cd:ef,interface=eth0", "interface= and mac= both name" },
                { "address=192.0.2.7/24,colour=red", "unknown key 'colour'" },
                { "address=192.0.2.7/24,address=192.0.2.8/24", "address= is given twice" },
                { "address=192.0.2.7/24,gateway=", "gateway= has no value" },
                { "address=192.0.2.7/24,mode=sometimes", "mode=sometimes: expected auto or always" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                ImageSpec t = {};
                err = NULL;
                assert_int_equal(generation_initrd_ssh_apply_net(&t, bad[i].value, &err), -EINVAL);
                assert_non_null(err);
                if (!strstr(err, bad[i].want))
                        fail_msg("case %zu (%s): %s\nwanted: %s", i, bad[i].value, err, bad[i].want);
                free(err);
                /* nothing is half applied */
                assert_int_equal(t.initrd_ssh, IMAGE_INITRD_SSH_OFF);
                assert_null(t.initrd_ssh_address);
                image_spec_done(&t);
        }
        image_spec_done(&s);
}

static void test_check(void **state) {
        ImageSpec s = {};
        char *err = NULL;
        assert_int_equal(generation_initrd_ssh_check(&s, NULL, &err), 0); /* off: nothing needed */
        char *cmd = NULL;
        assert_int_equal(generation_initrd_ssh_cmdline(&s, &cmd), 0);
        assert_string_equal(cmd, "");
        free(cmd);
        s.initrd_ssh = IMAGE_INITRD_SSH_AUTO;
        assert_int_equal(generation_initrd_ssh_check(&s, "/keys", &err), -EINVAL);
        assert_non_null(strstr(err, "boot.initrd-ssh.address"));
        assert_non_null(strstr(err, "--initrd-ssh-net address="));
        free(err);
        s.initrd_ssh_address = strdup("192.0.2.7/24");
        err = NULL;
        assert_int_equal(generation_initrd_ssh_check(&s, NULL, &err), -EINVAL);
        assert_non_null(strstr(err, "pass --host-keys DIR"));
        assert_non_null(strstr(err, "known_hosts"));
        free(err);
        assert_int_equal(generation_initrd_ssh_check(&s, "/keys", &err), 0);
        image_spec_done(&s);
}

static void test_authorized_keys(void **state) {
        char *alice[] = { "ssh-ed25519 AAAA alice@a", "ssh-ed25519 SHARED op@x", NULL };
        char *bob[] = { "ssh-ed25519 BBBB bob@b", NULL };
        char *sudo[] = { "sudo", NULL }, *users_g[] = { "users", NULL };
        ImageUser users[] = {
                { .name = "alice", .ssh_keys = alice, .n_ssh_keys = 2, .groups = sudo, .n_groups = 1 },
                { .name = "bob", .ssh_keys = bob, .n_ssh_keys = 1, .groups = users_g, .n_groups = 1 },
        };
        ImageSpec s = { .users = users, .n_users = 2 };
        const char *extra[] = { "ssh-ed25519 SHARED op@x", "ssh-ed25519 CCCC install@state", NULL };
        char *text = NULL;
        assert_int_equal(generation_initrd_ssh_authorized_keys(&s, extra, &text), 0);
        /* sudo users' keys, then --ssh-key; bob (not in sudo) is not root in the initrd */
        assert_string_equal(text, "ssh-ed25519 AAAA alice@a\nssh-ed25519 SHARED op@x\n"
                                  "ssh-ed25519 CCCC install@state\n");
        free(text);
        assert_int_equal(generation_initrd_ssh_authorized_keys(&s, NULL, &text), 0);
        free(text);
        s.n_users = 1;
        users[0].n_groups = 0;
        assert_int_equal(generation_initrd_ssh_authorized_keys(&s, NULL, &text), -ENOKEY);
}

int main(void) {
        dir = test_tmpdir();
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_host_file),
                cmocka_unit_test(test_net_option),
                cmocka_unit_test(test_check),
                cmocka_unit_test(test_authorized_keys),
        };
        int r = cmocka_run_group_tests(tests, NULL, NULL);
        test_rm_rf(dir);
        return r;
}
