/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "init/cmdline.h"

static void test_defaults(void **state) {
        InitConfig c;
        char *e = NULL;
        assert_int_equal(init_config_parse("BOOT_IMAGE=/vmlinuz root=ZFS=rpool quiet keystone.generation=3\n", &c, &e), 0);
        assert_null(e);
        assert_string_equal(c.pool, "rpool");
        assert_string_equal(c.credstore, "rpool/credstore");
        assert_string_equal(c.encryptionroot, "rpool/crypt");
        assert_string_equal(c.keyfile, "zfs-sysroot.mount");
        assert_string_equal(c.generation, "rpool/crypt/system/generations/3");
        assert_string_equal(c.init, "/sbin/init");
        assert_string_equal(c.tpm2_device, "auto");
        assert_false(c.tpm_disabled);
        assert_false(c.emergency_shell);
        assert_false(c.debug);
        assert_int_equal(c.n_unknown, 0);
}

static void expect_error(const char *cmdline, const char *needle);

/* tpm.enable = false puts keystone.tpm=0 on the generation's command line */
static void test_tpm_off(void **state) {
        InitConfig c;
        char *e = NULL;
        assert_int_equal(init_config_parse("keystone.generation=1 keystone.tpm=0", &c, &e), 0);
        assert_true(c.tpm_disabled);
        assert_int_equal(c.n_unknown, 0);
        assert_int_equal(init_config_parse("keystone.generation=1 keystone.tpm=0 keystone.tpm=1", &c, &e), 0);
        assert_false(c.tpm_disabled);
        expect_error("keystone.generation=1 keystone.tpm=maybe", "keystone.tpm=maybe is not a boolean");
}

static void test_all_parameters(void **state) {
        InitConfig c;
        char *e = NULL;
        assert_int_equal(init_config_parse("keystone.pool=tank keystone.generation=1 keystone.debug "
                                           "keystone.credstore=tank/keys/cs keystone.encryptionroot=tank/enc "
                                           "\"keystone.generation=tank/enc/be/blue\" keystone.keyfile=k.bin "
                                           "keystone.init=\"/usr/lib/systemd/systemd\" keystone.tpm2-device=swtpm:port=2321 "
                                           "keystone.emergency=shell keystone.colour=red keystone.x=1", &c, &e), 0);
        assert_string_equal(c.pool, "tank");
        assert_string_equal(c.credstore, "tank/keys/cs");
        assert_string_equal(c.encryptionroot, "tank/enc");
        assert_string_equal(c.generation, "tank/enc/be/blue");   /* the last one wins */
        assert_string_equal(c.keyfile, "k.bin");
        assert_string_equal(c.init, "/usr/lib/systemd/systemd");
        assert_string_equal(c.tpm2_device, "swtpm:port=2321");
        assert_true(c.emergency_shell);
        assert_true(c.debug);
        assert_int_equal(c.n_unknown, 2);
        assert_string_equal(c.unknown, "keystone.colour");
}

/* Each bad command line fails with -EINVAL and a message containing the words given. */
static void expect_error(const char *cmdline, const char *needle) {
        InitConfig c;
        char *e = NULL;
        assert_int_equal(init_config_parse(cmdline, &c, &e), -EINVAL);
        assert_non_null(e);
        if (!strstr(e, needle))
                fail_msg("'%s': message '%s' lacks '%s'", cmdline, e, needle);
        free(e);
}

static void test_errors(void **state) {
        expect_error("quiet", "keystone.generation= is missing");
        expect_error("keystone.generaton=3", "it has an unknown parameter keystone.generaton (a typo?)");
        expect_error("keystone.generation=", "keystone.generation= has an empty value");
        expect_error("keystone.generation", "keystone.generation needs a value");
        expect_error("keystone.generation=../3", "is not a dataset below the encryption root rpool/crypt");
        expect_error("keystone.generation=a..b/c", "not a dataset below");
        expect_error("keystone.generation=3/", "not a dataset below");
        expect_error("keystone.generation=other/crypt/x", "not a dataset below the encryption root rpool/crypt");
        expect_error("keystone.generation=rpool/cryptx/y", "not a dataset below");
        expect_error("keystone.generation=x;y", "not a generation number or name");
        expect_error("keystone.generation=1 keystone.pool=a/b", "keystone.pool=a/b is not a pool name");
        expect_error("keystone.generation=1 keystone.pool=\"a b\"", "keystone.pool=a b is not a pool name");
        expect_error("keystone.generation=1 keystone.credstore=other/cs", "keystone.credstore=other/cs is not a dataset of the pool rpool");
        expect_error("keystone.generation=1 keystone.credstore=rpool", "is not a dataset of the pool");
        expect_error("keystone.generation=1 keystone.encryptionroot=rpool//c", "keystone.encryptionroot=rpool//c");
        expect_error("keystone.generation=1 keystone.keyfile=../etc/shadow", "must be a file name inside /etc/credstore");
        expect_error("keystone.generation=1 keystone.init=sbin/init", "must be an absolute path");
        expect_error("keystone.generation=1 keystone.init=/sysroot/../x", "without '..'");
        expect_error("keystone.generation=1 keystone.emergency=maybe", "expected 'halt' or 'shell'");
        expect_error("keystone.generation=1 keystone.debug=perhaps", "is not a boolean");
        char long_line[2000];
        memset(long_line, 'a', sizeof long_line);
        memcpy(long_line, "keystone.pool=", 14);
        long_line[sizeof long_line - 1] = 0;
        expect_error(long_line, "longer than 255 bytes");
        char huge[6000];
        memset(huge, 'a', sizeof huge);
        memcpy(huge, "keystone.pool=", 14);
        huge[sizeof huge - 1] = 0;
        expect_error(huge, "is too long");
}

static void test_odd_input(void **state) {
        InitConfig c;
        char *e = NULL;
        /* an unterminated quote ends with the line; other parameters with quotes are skipped */
        assert_int_equal(init_config_parse("foo=\"a b keystone.generation=9\" keystone.generation=\"4", &c, &e), 0);
        assert_string_equal(c.generation, "rpool/crypt/system/generations/4");
        assert_int_equal(init_config_parse("\t keystone.generation=5 \n\n", &c, &e), 0);
        assert_string_equal(c.generation, "rpool/crypt/system/generations/5");
        assert_int_equal(init_config_parse("keystone.debug=0 keystone.generation=5", &c, &e), 0);
        assert_false(c.debug);
        assert_int_equal(init_config_parse("", &c, &e), -EINVAL);
        free(e);
}

static void test_installer(void **state) {
        InitConfig c;
        char *e = NULL;
        /* no generation needed; the address is */
        assert_int_equal(init_config_parse("keystone.installer keystone.installer.address=10.0.2.15/24 "
                                           "keystone.installer.gateway=10.0.2.2 keystone.installer.interface=eth1",
                                           &c, &e), 0);
        assert_null(e);
        assert_true(c.installer);
        assert_string_equal(c.installer_net.address, "10.0.2.15/24");
        assert_string_equal(c.installer_net.gateway, "10.0.2.2");
        assert_string_equal(c.installer_net.interface, "eth1");
        assert_int_equal(c.n_unknown, 0);
        assert_int_equal(init_config_parse("keystone.installer=0 keystone.generation=2", &c, &e), 0);
        assert_false(c.installer);
        /* the card by its hardware address (remote install: names change across kexec) */
        assert_int_equal(init_config_parse("keystone.installer keystone.installer.address=192.0.2.7/24 "
                                           "keystone.installer.mac=52:54:00:AB:cd:0F", &c, &e), 0);
        assert_string_equal(c.installer_net.mac, "52:54:00:ab:cd:0f");
        assert_string_equal(c.installer_net.interface, "");

        static const struct { const char *line, *needle; } bad[] = {
                { "keystone.installer", "needs keystone.installer.address" },
                { "keystone.installer keystone.installer.address=10.0.2.15", "prefix length" },
                { "keystone.installer keystone.installer.address=10.0.2.15/33", "prefix length" },
                { "keystone.installer keystone.installer.address=10.0.2/24", "not an IPv4" },
                { "keystone.installer keystone.installer.address=10.0.2.15/2x", "not an IPv4" },
                { "keystone.installer keystone.installer.address=10.0.2.15/24 keystone.installer.gateway=10.0.2.2/8",
                  "keystone.installer.gateway=10.0.2.2/8" },
                { "keystone.installer keystone.installer.address=10.0.2.15/24 keystone.installer.interface=../x",
                  "not a network interface" },
                { "keystone.installer keystone.installer.address=10.0.2.15/24 "
                  "keystone.installer.interface=abcdefghijklmnopq", "not a network interface" },
                { "keystone.installer=maybe keystone.installer.address=10.0.2.15/24", "not a boolean" },
                { "keystone.installer keystone.installer.address=10.0.2.15/24 keystone.installer.mac=52:54:00:ab:cd",
                  "not a hardware address" },
                { "keystone.installer keystone.installer.address=10.0.2.15/24 keystone.installer.mac=52-54-00-ab-cd-ef",
                  "not a hardware address" },
                { "keystone.installer keystone.installer.address=10.0.2.15/24 keystone.installer.mac=52:54:00:ab:cd:eg",
                  "not a hardware address" },
                { "keystone.installer keystone.installer.address=10.0.2.15/24 keystone.installer.mac=52:54:00:ab:cd:ef "
                  "keystone.installer.interface=eth0", "give one" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                e = NULL;
                assert_int_equal(init_config_parse(bad[i].line, &c, &e), -EINVAL);
                assert_non_null(e);
                if (!strstr(e, bad[i].needle))
                        fail_msg("'%s': error '%s' lacks '%s'", bad[i].line, e, bad[i].needle);
                free(e);
        }
}

/* keystone.initrd-ssh: its mode, and its network read and checked by the
 * same code as the installer's, each message naming its own prefix */
static void test_initrd_ssh(void **state) {
        InitConfig c;
        char *e = NULL;
        assert_int_equal(init_config_parse("keystone.generation=3", &c, &e), 0);
        assert_int_equal(c.initrd_ssh, INIT_SSH_OFF);
        assert_int_equal(init_config_parse("keystone.generation=3 keystone.initrd-ssh=auto "
                                           "keystone.initrd-ssh.address=192.0.2.7/24 "
                                           "keystone.initrd-ssh.gateway=192.0.2.1 "
                                           "keystone.initrd-ssh.mac=52:54:00:AA:bb:01", &c, &e), 0);
        assert_null(e);
        assert_int_equal(c.initrd_ssh, INIT_SSH_AUTO);
        assert_string_equal(c.initrd_ssh_net.address, "192.0.2.7/24");
        assert_string_equal(c.initrd_ssh_net.gateway, "192.0.2.1");
        assert_string_equal(c.initrd_ssh_net.mac, "52:54:00:aa:bb:01");
        assert_string_equal(c.initrd_ssh_net.interface, "");
        /* the installer's keys are not the boot flow's */
        assert_string_equal(c.installer_net.address, "");
        assert_int_equal(c.n_unknown, 0);
        assert_int_equal(init_config_parse("keystone.generation=3 keystone.initrd-ssh=always "
                                           "keystone.initrd-ssh.address=10.0.2.15/24 "
                                           "keystone.initrd-ssh.interface=eth1", &c, &e), 0);
        assert_int_equal(c.initrd_ssh, INIT_SSH_ALWAYS);
        assert_string_equal(c.initrd_ssh_net.interface, "eth1");
        assert_string_equal(c.initrd_ssh_net.gateway, "");
        /* the last one wins; 0 needs no network */
        assert_int_equal(init_config_parse("keystone.generation=3 keystone.initrd-ssh=always keystone.initrd-ssh=0",
                                           &c, &e), 0);
        assert_int_equal(c.initrd_ssh, INIT_SSH_OFF);
        /* off: its network is read but not required */
        assert_int_equal(init_config_parse("keystone.generation=3 keystone.initrd-ssh.address=10.0.2.15/24", &c, &e), 0);
        assert_int_equal(c.initrd_ssh, INIT_SSH_OFF);
        /* an unknown field of the prefix is an unknown parameter, not an error */
        assert_int_equal(init_config_parse("keystone.generation=3 keystone.initrd-ssh.colour=red", &c, &e), 0);
        assert_int_equal(c.n_unknown, 1);
        assert_string_equal(c.unknown, "keystone.initrd-ssh.colour");

        static const struct { const char *line, *needle; } bad[] = {
                { "keystone.generation=3 keystone.initrd-ssh=auto",
                  "keystone.initrd-ssh=auto needs keystone.initrd-ssh.address=ADDRESS/PREFIX" },
                { "keystone.generation=3 keystone.initrd-ssh=always",
                  "keystone.initrd-ssh=always needs keystone.initrd-ssh.address=" },
                { "keystone.generation=3 keystone.initrd-ssh", "keystone.initrd-ssh needs a value" },
                { "keystone.generation=3 keystone.initrd-ssh=1", "expected 'auto', 'always' or '0'" },
                { "keystone.generation=3 keystone.initrd-ssh=yes", "expected 'auto', 'always' or '0'" },
                { "keystone.generation=3 keystone.initrd-ssh=auto keystone.initrd-ssh.address=10.0.2.15",
                  "keystone.initrd-ssh.address=10.0.2.15 is not an IPv4 address with a prefix length" },
                { "keystone.generation=3 keystone.initrd-ssh=auto keystone.initrd-ssh.address=300.0.2.15/24",
                  "keystone.initrd-ssh.address=300.0.2.15/24 is not" },
                { "keystone.generation=3 keystone.initrd-ssh=auto keystone.initrd-ssh.address=10.0.2.15/24 "
                  "keystone.initrd-ssh.gateway=10.0.2.2/8", "keystone.initrd-ssh.gateway=10.0.2.2/8 is not" },
                { "keystone.generation=3 keystone.initrd-ssh=auto keystone.initrd-ssh.address=10.0.2.15/24 "
                  "keystone.initrd-ssh.interface=../x", "keystone.initrd-ssh.interface=../x is not a network" },
                { "keystone.generation=3 keystone.initrd-ssh=auto keystone.initrd-ssh.address=10.0.2.15/24 "
                  "keystone.initrd-ssh.mac=52:54:00:ab:cd", "keystone.initrd-ssh.mac=52:54:00:ab:cd is not a hardware" },
                { "keystone.generation=3 keystone.initrd-ssh=auto keystone.initrd-ssh.address=10.0.2.15/24 "
                  "keystone.initrd-ssh.mac=52:54:00:ab:cd:ef keystone.initrd-ssh.interface=eth0",
                  "keystone.initrd-ssh.interface and keystone.initrd-ssh.mac both name" },
                { "keystone.generation=3 keystone.initrd-ssh=auto keystone.initrd-ssh.address=", "empty value" },
                /* the installer's address does not serve the boot flow */
                { "keystone.generation=3 keystone.initrd-ssh=auto keystone.installer.address=10.0.2.15/24",
                  "needs keystone.initrd-ssh.address" },
                /* the generation is still required */
                { "keystone.initrd-ssh=auto keystone.initrd-ssh.address=10.0.2.15/24", "keystone.generation= is missing" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                expect_error(bad[i].line, bad[i].needle);
}

/* A refused command line still names the TPM that PCR 15 is extended on
 * and whether a shell was asked for. */
static void test_fallback(void **state) {
        InitConfig c;
        init_config_fallback("keystone.pool=a/b keystone.tpm2-device=\"swtpm:port=2321\" keystone.emergency=shell", &c);
        assert_string_equal(c.tpm2_device, "swtpm:port=2321");
        assert_true(c.emergency_shell);
        assert_string_equal(c.pool, "rpool");
        init_config_fallback("keystone.emergency=shell keystone.emergency=halt keystone.tpm2-device=", &c);
        assert_string_equal(c.tpm2_device, "auto");
        assert_false(c.emergency_shell);
        init_config_fallback(NULL, &c);
        assert_string_equal(c.tpm2_device, "auto");
        assert_false(c.emergency_shell);
}

static void test_dataset_names(void **state) {
        assert_true(init_dataset_name_valid("rpool/crypt/system/generations/3"));
        assert_true(init_dataset_name_valid("a.b:c-d_e"));
        assert_false(init_dataset_name_valid(""));
        assert_false(init_dataset_name_valid("/rpool"));
        assert_false(init_dataset_name_valid("rpool/"));
        assert_false(init_dataset_name_valid("rpool//x"));
        assert_false(init_dataset_name_valid("rpool/./x"));
        assert_false(init_dataset_name_valid("rpool/.."));
        assert_false(init_dataset_name_valid("rpool/a b"));
        assert_false(init_dataset_name_valid("rpool/a@snap"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_all_parameters),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_tpm_off),
                cmocka_unit_test(test_odd_input),
                cmocka_unit_test(test_installer),
                cmocka_unit_test(test_initrd_ssh),
                cmocka_unit_test(test_dataset_names),
                cmocka_unit_test(test_fallback),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
