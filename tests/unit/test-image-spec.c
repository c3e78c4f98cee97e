/* SPDX-License-Identifier: MIT */
/* The image builder's pure parts: host configuration JSON → spec (with bad
 * input refused), the rootfs inputs text (the cache key), and the generated
 * files (users, sshd keys-only, test shell only in test images). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/cache.h"
#include "image/etc.h"
#include "image/files.h"
#include "image/image.h"

static const char good[] =
        "{\"host\":{\"name\":\"terminal\",\"role\":\"server\"},\"kernel\":{\"flavour\":\"cloud\"},"
        "\"users\":{\"alice\":{\"ssh_keys\":[\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBB alice@x\"]}},"
        "\"packages\":[\"tmux\"]}";

static void test_from_json(void **state) {
        ImageSpec s = {};
        char *err = NULL;
        assert_int_equal(image_spec_from_json(good, &s, &err), 0);
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

static void test_users_array(void **state) {
        ImageSpec s = {};
        const char *j = "{\"host\":{\"name\":\"a\"},\"users\":[{\"name\":\"bob\",\"authorized_keys\":[]}]}";
        assert_int_equal(image_spec_from_json(j, &s, NULL), 0);
        assert_int_equal(s.n_users, 1);
        assert_string_equal(s.users[0].name, "bob");
        assert_string_equal(s.kernel_flavour, "cloud");
        image_spec_done(&s);
}

static void test_bad_input(void **state) {
        const char *bad[] = {
                "",
                "[]",
                "{\"host\":{\"name\":5}}",
                "{\"host\":{\"name\":\"UPPER\"}}",
                "{\"host\":{\"name\":\"a/b\"}}",
                "{\"host\":{\"role\":\"toaster\"}}",
                "{\"kernel\":{\"flavour\":\"rt\"}}",
                "{\"users\":{\"root;x\":{}}}",
                "{\"users\":{\"bob\":{\"ssh_keys\":[\"not a key\"]}}}",
                "{\"users\":{\"bob\":{\"ssh_keys\":[\"ssh-ed25519 AAAA\\nPermitRootLogin yes\"]}}}",
                "{\"users\":{\"bob\":{\"ssh_keys\":\"ssh-ed25519 AAAA\"}}}",
                "{\"users\":[{\"ssh_keys\":[]}]}",
                "{\"users\":7}",
                "{\"packages\":[\"-oops\"]}",
                "{\"packages\":[\"a,b\"]}",
                "{\"packages\":[1]}",
                "{\"zfs\":\"yes\"}",
                "{\"zfs\":{\"enable\":1}}",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                ImageSpec s = {};
                char *err = NULL;
                int r = image_spec_from_json(bad[i], &s, &err);
                if (r != -EINVAL)
                        fail_msg("accepted or wrong error %d for %s", r, bad[i]);
                assert_non_null(err);
                free(err);
        }
}

static void test_zfs(void **state) {
        ImageSpec s = {};
        assert_int_equal(image_spec_from_json("{\"zfs\":{\"enable\":true}}", &s, NULL), 0);
        assert_true(s.zfs);
        char *in;
        assert_int_equal(image_rootfs_inputs(&s, &in), 0);
        /* the tools go into the rootfs, never dkms or headers */
        assert_non_null(strstr(in, ",zfsutils-linux\n"));
        assert_null(strstr(in, "dkms"));
        assert_null(strstr(in, "headers"));
        free(in);
        image_spec_done(&s);
        assert_int_equal(image_spec_from_json("{\"zfs\":false}", &s, NULL), 0);
        assert_false(s.zfs);
        image_spec_done(&s);
}

static void test_rootfs_inputs(void **state) {
        ImageSpec a = {}, b = {};
        assert_int_equal(image_spec_from_json(good, &a, NULL), 0);
        assert_int_equal(image_spec_from_json(good, &b, NULL), 0);
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
        assert_int_equal(image_spec_from_json(good, &s, NULL), 0);
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_from_json),   cmocka_unit_test(test_users_array),
                cmocka_unit_test(test_bad_input),   cmocka_unit_test(test_rootfs_inputs),
                cmocka_unit_test(test_generated),   cmocka_unit_test(test_gen_paths),
                cmocka_unit_test(test_sha256),      cmocka_unit_test(test_zfs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
