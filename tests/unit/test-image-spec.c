/* SPDX-License-Identifier: MIT */
/* The image builder's pure parts: a host file → its typed configuration →
 * spec (with bad input refused), the rootfs inputs text (the cache key), and
 * the generated files (users, sshd keys-only, test shell only in test
 * images). */
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
#include "image/cache.h"
#include "image/etc.h"
#include "image/files.h"
#include "image/image.h"

static char *dir;

static int spec_from_toml(const char *toml, ImageSpec *ret, char **ret_error) {
        return test_spec_from_toml(dir, toml, ret, ret_error);
}

static const char good[] =
        "[host]\nname = \"terminal\"\nrole = \"server\"\npackages = [\"tmux\"]\n"
        "[boot]\nkernel = \"cloud\"\n"
        "[users.alice]\nssh-keys = [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBB alice@x\"]\n";

static void test_from_config(void **state) {
        ImageSpec s = {};
        char *err = NULL;
        assert_int_equal(spec_from_toml(good, &s, &err), 0);
        assert_string_equal(s.hostname, "terminal");
        assert_string_equal(s.role, "server");
        assert_string_equal(s.kernel_flavour, "cloud");
        assert_string_equal(s.suite, "trixie");
        assert_int_equal(s.n_users, 1);
        assert_string_equal(s.users[0].name, "alice");
        assert_int_equal(s.users[0].n_ssh_keys, 1);
        assert_int_equal(s.n_packages, 1);
        assert_false(s.test_instrumentation);
        image_spec_done(&s);
}

static void test_user_without_keys(void **state) {
        ImageSpec s = {};
        const char *j = "[host]\nname = \"a\"\n[users.bob]\nssh-keys = []\n";
        assert_int_equal(spec_from_toml(j, &s, NULL), 0);
        assert_int_equal(s.n_users, 1);
        assert_string_equal(s.users[0].name, "bob");
        assert_string_equal(s.kernel_flavour, "cloud");
        image_spec_done(&s);
}

static void test_bad_input(void **state) {
        const char *bad[] = {
                "",
                "[]",
                "[host]\nname = 5\n",
                "[host]\nname = \"UPPER\"\n",
                "[host]\nname = \"a/b\"\n",
                "[host]\nname = \"a\"\nrole = \"toaster\"\n",
                "[host]\nname = \"a\"\n[boot]\nkernel = \"rt\"\n",
                "[host]\nname = \"a\"\n[users.\"root;x\"]\n",
                "[host]\nname = \"a\"\n[users.bob]\nssh-keys = [\"not a key\"]\n",
                "[host]\nname = \"a\"\n[users.bob]\n"
                "ssh-keys = [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBB x\\nPermitRootLogin yes\"]\n",
                "[host]\nname = \"a\"\n[users.bob]\nssh-keys = \"ssh-ed25519 AAAA\"\n",
                "[host]\nname = \"a\"\nusers = [{ ssh-keys = [] }]\n",
                "users = 7\n[host]\nname = \"a\"\n",
                "[host]\nname = \"a\"\npackages = [\"-oops\"]\n",
                "[host]\nname = \"a\"\npackages = [\"a,b\"]\n",
                "[host]\nname = \"a\"\npackages = [1]\n",
                /* one shape per option: the ZFS layout is disk.datasets, not a zfs switch */
                "zfs = \"yes\"\n[host]\nname = \"a\"\n",
                "[host]\nname = \"a\"\n[zfs]\nenable = 1\n",
                "[host]\nname = \"a\"\n[kernel]\nflavour = \"cloud\"\n",
                "[host]\nname = \"a\"\nkernel = \"cloud\"\n",
                "[host]\nname = \"a\"\n[packages]\nextra = [\"tmux\"]\n",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                ImageSpec s = {};
                char *err = NULL;
                int r = spec_from_toml(bad[i], &s, &err);
                if (r != -EINVAL)
                        fail_msg("accepted or wrong error %d for %s", r, bad[i]);
                assert_non_null(err);
                free(err);
        }
}

static void test_zfs(void **state) {
        ImageSpec s = {};
        assert_int_equal(spec_from_toml("[host]\nname = \"z\"\n[disk.datasets.crypt]\n", &s, NULL), 0);
        assert_true(s.zfs);
        char *in;
        assert_int_equal(image_rootfs_inputs(&s, &in), 0);
        /* the tools go into the rootfs, never dkms or headers */
        assert_non_null(strstr(in, ",zfsutils-linux\n"));
        assert_null(strstr(in, "dkms"));
        assert_null(strstr(in, "headers"));
        free(in);
        image_spec_done(&s);
        assert_int_equal(spec_from_toml("[host]\nname = \"z\"\n", &s, NULL), 0);
        assert_false(s.zfs);
        image_spec_done(&s);
}

/* tpm.* reach the spec, and an installed machine's /etc */
static void test_tpm(void **state) {
        ImageSpec s = {};
        /* the tpm module: enabled, and the defaults of tpm.pcrs and tpm.bind-pcr15 */
        assert_int_equal(spec_from_toml("imports = [\"tpm\"]\n[host]\nname = \"t\"\n", &s, NULL), 0);
        assert_false(s.tpm_disabled);
        assert_int_equal(image_spec_tpm_pcrs(&s), (1u << 1) | (1u << 7));
        assert_false(s.tpm_no_pcr15);
        image_spec_done(&s);
        static const char j[] = "[host]\nname = \"t\"\n[tpm]\nenable = false\npcrs = [7]\nbind-pcr15 = false\n"
                                "[disk]\npool = \"tank\"\n[disk.datasets.crypt]\nmountpoint = \"none\"\n";
        assert_int_equal(spec_from_toml(j, &s, NULL), 0);
        assert_true(s.tpm_disabled);
        assert_int_equal(image_spec_tpm_pcrs(&s), 1u << 7);
        assert_true(s.tpm_no_pcr15);
        s.installed = true;
        GenList l = {};
        char *text = NULL;
        assert_int_equal(image_etc_tpm(&s, &l), 0);
        assert_int_equal(gen_list_serialize(&l, &text), 0);
        assert_non_null(strstr(text, "/etc/keystone/tpm.toml"));
        assert_non_null(strstr(text, "pool = \"tank\""));
        assert_non_null(strstr(text, "enable = false"));
        assert_non_null(strstr(text, "pcrs = [7]"));
        assert_non_null(strstr(text, "bind-pcr15 = false"));
        assert_non_null(strstr(text, "keystone-protection-banner.service"));
        assert_null(strstr(text, "ExecStart=/usr/bin/keystone tpm enroll")); /* tpm.enable = false: no enrollment unit */
        free(text);
        gen_list_done(&l);
        s.tpm_disabled = false;
        l = (GenList) {};
        assert_int_equal(image_etc_tpm(&s, &l), 0);
        assert_int_equal(gen_list_serialize(&l, &text), 0);
        assert_non_null(strstr(text, "ExecStart=/usr/bin/keystone tpm enroll --auto"));
        assert_non_null(strstr(text, "multi-user.target.wants/keystone-tpm-enroll.service"));
        free(text);
        gen_list_done(&l);
        image_spec_done(&s);
        const char *bad[] = { "[host]\nname = \"t\"\n[tpm]\npcrs = [24]\n",
                              "[host]\nname = \"t\"\n[tpm]\npcrs = \"7\"\n",
                              "[host]\nname = \"t\"\n[tpm]\nenable = 1\n" };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                char *e = NULL;
                assert_int_equal(spec_from_toml(bad[i], &s, &e), -EINVAL);
                assert_non_null(e);
                assert_non_null(strstr(e, "tpm."));
                free(e);
        }
}

static void test_rootfs_inputs(void **state) {
        ImageSpec a = {}, b = {};
        assert_int_equal(spec_from_toml(good, &a, NULL), 0);
        assert_int_equal(spec_from_toml(good, &b, NULL), 0);
        char *ia, *ib;
        assert_int_equal(image_rootfs_inputs(&a, &ia), 0);
        /* users and host name do not change the rootfs: one rootfs for many hosts */
        free(b.hostname);
        b.hostname = strdup("other");
        b.test_instrumentation = true;
        assert_int_equal(image_rootfs_inputs(&b, &ib), 0);
        assert_string_equal(ia, ib);
        assert_non_null(strstr(ia, "packages=dbus,iproute2,linux-image-cloud-amd64,openssh-server,"
                                   "systemd-sysv,tmux,tpm2-tools,udev\n"));
        free(ib);
        /* packages and the kernel do */
        free(b.kernel_flavour);
        b.kernel_flavour = strdup("standard");
        assert_int_equal(image_rootfs_inputs(&b, &ib), 0);
        assert_string_not_equal(ia, ib);
        assert_non_null(strstr(ib, ",linux-image-amd64,"));
        free(ia);
        free(ib);
        image_spec_done(&a);
        image_spec_done(&b);
}

static const GenFile *find(const GenList *l, const char *path) {
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->items[i].path, path) == 0)
                        return &l->items[i];
        return NULL;
}

static void test_generated(void **state) {
        ImageSpec s = {};
        assert_int_equal(spec_from_toml(good, &s, NULL), 0);
        GenList l = {};
        assert_int_equal(image_etc_generate(&s, "00000000-0000-4000-8000-000000000000", &l), 0);
        assert_string_equal(find(&l, "/etc/hostname")->content, "terminal\n");
        const GenFile *k = find(&l, "/home/alice/.ssh/authorized_keys");
        assert_non_null(k);
        assert_int_equal(k->mode, 0600);
        assert_int_equal(k->uid, 1000);
        assert_string_equal(k->content, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBB alice@x\n");
        assert_non_null(strstr(find(&l, "/etc/ssh/sshd_config.d/50-keystone.conf")->content,
                               "PasswordAuthentication no\n"));
        assert_non_null(strstr(find(&l, "/etc/fstab")->content, "UUID=00000000-0000-4000-8000-000000000000\t/\t"));
        assert_null(find(&l, "/usr/lib/keystone/test-shell"));
        /* no SSH host key is ever generated into an image */
        for (size_t i = 0; i < l.n; i++)
                assert_null(strstr(l.items[i].path, "ssh_host_"));
        char *t1;
        assert_int_equal(gen_list_serialize(&l, &t1), 0);
        gen_list_done(&l);

        s.test_instrumentation = true;
        assert_int_equal(image_etc_generate(&s, "00000000-0000-4000-8000-000000000000", &l), 0);
        assert_non_null(find(&l, "/usr/lib/keystone/test-shell"));
        char *t2;
        assert_int_equal(gen_list_serialize(&l, &t2), 0);
        assert_string_not_equal(t1, t2);
        free(t1);
        free(t2);
        gen_list_done(&l);
        image_spec_done(&s);
}

/* A server with a disk layout */
static const char server[] =
        "[host]\nname = \"srv\"\ntime-zone = \"Europe/Berlin\"\nrole = \"server\"\npackages = [\"nftables\"]\n"
        "[users.admin]\nuid = 1500\ngroups = [\"sudo\"]\nshell = \"/bin/zsh\"\ndescription = \"Ad Min\"\n"
        "ssh-keys = []\n"
        "[ssh]\nenable = true\nport = 2200\npassword-authentication = false\n"
        "permit-root-login = \"prohibit-password\"\n"
        "[disk]\npool = \"tank\"\nswap-size = \"0\"\n"
        "[disk.datasets.crypt]\nmountpoint = \"none\"\n"
        "[disk.datasets.\"crypt/home\"]\nmountpoint = \"/home\"\n";

static void test_server_spec(void **state) {
        ImageSpec s = {};
        char *err = NULL;
        assert_int_equal(spec_from_toml(server, &s, &err), 0);
        assert_string_equal(s.time_zone, "Europe/Berlin");
        assert_int_equal(s.ssh_port, 2200);
        assert_string_equal(s.ssh_permit_root_login, "prohibit-password");
        assert_int_equal(s.users[0].uid, 1500);
        assert_string_equal(s.users[0].groups[0], "sudo");
        assert_int_equal(s.n_datasets, 2);
        assert_string_equal(s.pool, "tank");
        assert_false(s.swap);
        assert_true(s.zfs);
        /* a time zone other than UTC brings the tz database */
        char *in;
        assert_int_equal(image_rootfs_inputs(&s, &in), 0);
        assert_non_null(strstr(in, ",tzdata,"));
        free(in);

        /* a disk image booted from root.img keeps its ext4 root */
        GenList l = {};
        assert_int_equal(image_etc_generate(&s, "00000000-0000-4000-8000-000000000000", &l), 0);
        assert_non_null(strstr(find(&l, "/etc/fstab")->content, "UUID=00000000-0000-4000-8000-000000000000\t/\text4"));
        gen_list_done(&l);
        /* the installed generation (keystone build) gets the layout's */
        s.installed = true;
        assert_int_equal(image_etc_generate(&s, "00000000-0000-4000-8000-000000000000", &l), 0);
        const GenFile *f = find(&l, "/etc/fstab");
        assert_null(strstr(f->content, "ext4"));
        assert_non_null(strstr(f->content, "PARTLABEL=ESP\t/boot\tvfat\tumask=0077"));
        assert_null(strstr(f->content, "swap")); /* swap-size 0 */
        assert_non_null(strstr(f->content, "tank/crypt/home on /home"));
        f = find(&l, "/etc/crypttab");
        assert_non_null(f);
        assert_null(strstr(f->content, "\nswap"));
        assert_non_null(strstr(find(&l, "/etc/ssh/sshd_config.d/50-keystone.conf")->content, "Port 2200\n"));
        assert_non_null(strstr(find(&l, "/etc/nftables.conf")->content, "tcp dport 2200 accept"));
        assert_non_null(find(&l, "/etc/systemd/system/sysinit.target.wants/nftables.service"));
        assert_string_equal(find(&l, "/etc/localtime")->content, "../usr/share/zoneinfo/Europe/Berlin");
        assert_int_equal(find(&l, "/home/admin/.ssh/authorized_keys")->uid, 1500);
        bool passwd = false;
        for (size_t i = 0; i < l.n; i++)
                if (strcmp(l.items[i].path, "/etc/passwd") == 0 &&
                    strcmp(l.items[i].content, "admin:x:1500:1500:Ad Min:/home/admin:/bin/zsh\n") == 0)
                        passwd = true;
        assert_true(passwd);
        gen_list_done(&l);
        image_spec_done(&s);

        /* ssh off: no drop-in, sshd masked, no SSH port in the firewall */
        assert_int_equal(spec_from_toml("[host]\nname = \"k\"\n[ssh]\nenable = false\n", &s, NULL), 0);
        assert_int_equal(image_etc_generate(&s, "00000000-0000-4000-8000-000000000000", &l), 0);
        assert_null(find(&l, "/etc/ssh/sshd_config.d/50-keystone.conf"));
        assert_string_equal(find(&l, "/etc/systemd/system/ssh.service")->content, "/dev/null");
        assert_null(strstr(find(&l, "/etc/nftables.conf")->content, "tcp dport"));
        /* UTC: no tzdata, so the VM bench's rootfs keys stay */
        assert_int_equal(image_rootfs_inputs(&s, &in), 0);
        assert_null(strstr(in, "tzdata"));
        free(in);
        gen_list_done(&l);
        image_spec_done(&s);

        const char *bad[] = {
                "[host]\nname = \"k\"\ntime-zone = \"../../etc/shadow\"\n",
                "[host]\nname = \"k\"\ntime-zone = 5\n",
                "[host]\nname = \"k\"\n[ssh]\nport = 0\n",
                "[host]\nname = \"k\"\n[ssh]\nport = 70000\n",
                "[host]\nname = \"k\"\n[ssh]\npermit-root-login = \"yes\"\n",
                "[host]\nname = \"k\"\n[ssh]\nenable = \"no\"\n",
                "[host]\nname = \"k\"\n[users.a]\ngroups = [\"ro:ot\"]\n",
                "[host]\nname = \"k\"\n[users.a]\nshell = \"bash\"\n",
                "[host]\nname = \"k\"\n[users.a]\ndescription = \"x:y\"\n",
                "[host]\nname = \"k\"\n[users.a]\nuid = 0\n",
                "[host]\nname = \"k\"\n[disk.datasets.\"a b\"]\n",
                "[host]\nname = \"k\"\n[disk.datasets.crypt]\nmountpoint = 7\n",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                ImageSpec b = {};
                char *e = NULL;
                if (spec_from_toml(bad[i], &b, &e) != -EINVAL)
                        fail_msg("accepted: %s", bad[i]);
                free(e);
        }
}

static void test_gen_paths(void **state) {
        GenList l = {};
        assert_int_equal(gen_add(&l, GEN_FILE, "relative", 0644, 0, 0, "x"), -EINVAL);
        assert_int_equal(gen_add(&l, GEN_FILE, "/etc/../x", 0644, 0, 0, "x"), -EINVAL);
        assert_int_equal(gen_add(&l, GEN_FILE, "/etc//x", 0644, 0, 0, "x"), -EINVAL);
        assert_int_equal(l.n, 0);
        gen_list_done(&l);
}

static void test_sha256(void **state) {
        char h[65];
        assert_int_equal(cache_sha256_hex("abc", 3, h), 0);
        assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static int setup(void **state) {
        dir = test_tmpdir();
        return 0;
}

static int teardown(void **state) {
        test_rm_rf(dir);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_from_config),  cmocka_unit_test(test_user_without_keys),
                cmocka_unit_test(test_bad_input),    cmocka_unit_test(test_rootfs_inputs),
                cmocka_unit_test(test_generated),    cmocka_unit_test(test_gen_paths),
                cmocka_unit_test(test_sha256),       cmocka_unit_test(test_zfs),
                cmocka_unit_test(test_server_spec),  cmocka_unit_test(test_tpm),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
