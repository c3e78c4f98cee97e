/* SPDX-License-Identifier: MIT */
/* vm-terminal: the plan's fast iteration VM (no encryption).  Boots the
 * host file tests/vm/hosts/terminal.toml to multi-user, checks that the
 * system is "running" (no failed unit), that the user from the host file
 * logs in over SSH with its key, and that a password login is refused.
 * Keystone itself is installed (built in the trixie build chroot from this
 * tree): `keystone --version` in the guest is this tree's version and
 * `keystone eval` of the host file gives the same JSON as on the host.
 * Also exercises the driver: copy in/out, screenshot, clean shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>

#include <json-c/json.h>

#include "config/config.h"
#include "image/image.h"
#include "util/run.h"
#include "vmtest.h"
#include "vmtest-image.h"

static void check_keystone_in_guest(Vm *vm, const ImageArtifacts *a) {
        vmtest_step("terminal: keystone from this tree runs in the guest");
        /* the tree's version now (git describe, as the image builder took it
         * for the .deb), which is what build/keystone --version prints */
        char want[256];
        snprintf(want, sizeof want, "keystone %s\n", a->keystone_version);
        assert_string_equal(vm_succeed(vm, "keystone --version"), want);
        assert_string_equal(vm_succeed(vm, "dpkg-query -W -f '${Status}' keystone"), "install ok installed");

        const char *src = getenv("SRCDIR");
        char host[PATH_MAX];
        snprintf(host, sizeof host, "%s/tests/vm/hosts/terminal.toml", src && *src ? src : ".");
        _cleanup_free_ char *err = NULL;
        Config *cfg = NULL;
        int r = config_load(host, &cfg, &err);
        if (r < 0)
                vmtest_fail("cannot evaluate %s on the host: %s", host, err ? err : strerror(-r));
        json_object *hj = config_to_json(cfg);
        config_free(cfg);
        if (!hj)
                vmtest_fail("out of memory");
        const char *json = json_object_to_json_string_ext(hj, JSON_C_TO_STRING_PLAIN);
        vm_copy_to(vm, host, "/root/terminal.toml");
        /* the same document: json-c's pretty printer differs between bookworm
         * and trixie (empty arrays), so compare parsed values */
        const char *guest = vm_succeed(vm, "keystone eval /root/terminal.toml --json");
        json_object *g = json_tokener_parse(guest), *h = json_tokener_parse(json);
        if (!g || !h || !json_object_equal(g, h))
                vmtest_fail("keystone eval in the guest differs from the host's:\n--- guest\n%s\n--- host\n%s", guest,
                            json);
        assert_non_null(json_object_object_get(g, "host"));
        json_object_put(g);
        json_object_put(h);
        json_object_put(hj);
        /* and it can fail there too: an unknown option is refused with exit 1 */
        vm_succeed(vm, "printf '[host]\\nname = \"x\"\\nno-such-option = 1\\n' > /root/bad.toml");
        const char *bad = vm_fail(vm, "keystone eval /root/bad.toml; echo \"exit=$?\" >&2; exit 1");
        if (!strstr(bad, "exit=1") || !strstr(bad, "no-such-option"))
                vmtest_fail("keystone eval of a bad host file in the guest did not fail naming the option:\n%s", bad);
}

static int ssh_run(Vm *vm, const char *key, const char *const extra[], const char *command, RunResult *res) {
        char port[16];
        snprintf(port, sizeof port, "%d", vm_ssh_port(vm));
        const char *argv[32] = { "ssh", "-F", "/dev/null", "-p", port, "-o", "BatchMode=yes", "-o",
                                 "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o",
                                 "ConnectTimeout=20", "-o", "LogLevel=ERROR" };
        size_t n = 15;
        if (key) {
                argv[n++] = "-o";
                argv[n++] = "IdentitiesOnly=yes";
                argv[n++] = "-i";
                argv[n++] = key;
        }
        for (size_t i = 0; extra && extra[i]; i++)
                argv[n++] = extra[i];
        argv[n++] = "alice@127.0.0.1";
        argv[n++] = command;
        argv[n] = NULL;
        return run(argv, &(RunOptions) { .timeout_ms = 60000 }, res);
}

static void test_terminal(void **state) {
        vmtest_init("vm-terminal");
        ImageArtifacts a;
        vmtest_build_host("terminal", &a);

        VmConfig c = vmtest_config_for(&a, "terminal");
        c.ssh = true;
        Vm *vm = vm_create(&c);
        vm_start(vm);
        vm_wait_for_shell(vm, 180);
        vm_wait_for_unit(vm, "multi-user.target", 300);
        const char *st = vm_succeed(vm, "s=$(systemctl is-system-running --wait); echo \"$s\"; "
                                        "[ \"$s\" = running ] || { systemctl --failed --no-pager; exit 1; }");
        assert_string_equal(st, "running\n");
        assert_string_equal(vm_succeed(vm, "hostname"), "terminal\n");
        check_keystone_in_guest(vm, &a);

        /* the image carried no host keys: they were made on this boot */
        vm_succeed(vm, "test -s /etc/ssh/ssh_host_ed25519_key && "
                       "systemctl show -P ActiveState sshd-keygen.service | grep -qx active");
        vm_wait_for_unit(vm, "ssh.service", 60);

        const char *key;
        vmtest_ssh_key(&key, NULL);
        vmtest_step("terminal: alice logs in over SSH with her key");
        RunResult res = {};
        int r = -1;
        for (int i = 0; i < 10; i++) { /* sshd may still be generating keys */
                run_result_done(&res);
                r = ssh_run(vm, key, NULL, "id -un; hostname", &res);
                if (r == 0)
                        break;
                sleep(3);
        }
        if (r != 0)
                vmtest_fail("ssh with alice's key failed: %s", run_result_describe(&res));
        assert_string_equal(res.out, "alice\nterminal\n");
        run_result_done(&res);

        vmtest_step("terminal: a password login is refused");
        const char *pw[] = { "-o", "PubkeyAuthentication=no", "-o",
                             "PreferredAuthentications=password,keyboard-interactive", NULL };
        r = ssh_run(vm, NULL, pw, "true", &res);
        if (r != -EPROTO || res.exit_status != 255 || !strstr(res.err, "Permission denied (publickey)"))
                vmtest_fail("password login was not refused as expected: %s\n%s", run_result_describe(&res), res.err);
        run_result_done(&res);
        /* and sshd says so itself */
        const char *cfg = vm_succeed(vm, "sshd -T | grep -E '^(passwordauthentication|kbdinteractiveauthentication) '");
        assert_string_equal(cfg, "passwordauthentication no\nkbdinteractiveauthentication no\n");

        /* the driver: copy a file in and out, byte for byte */
        char in[PATH_MAX], out[PATH_MAX];
        snprintf(in, sizeof in, "%s/copy-in.bin", vm_dir(vm));
        snprintf(out, sizeof out, "%s/copy-out.bin", vm_dir(vm));
        unsigned char data[3000];
        for (size_t i = 0; i < sizeof data; i++)
                data[i] = (unsigned char) (i * 7 + 3);
        FILE *f = fopen(in, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, sizeof data, f), sizeof data);
        fclose(f);
        vm_copy_to(vm, in, "/root/copy.bin");
        assert_string_equal(vm_succeed(vm, "stat -c %%s /root/copy.bin"), "3000\n");
        vm_copy_from(vm, "/root/copy.bin", out);
        unsigned char back[4000];
        f = fopen(out, "re");
        assert_non_null(f);
        assert_int_equal(fread(back, 1, sizeof back, f), sizeof data);
        fclose(f);
        assert_memory_equal(back, data, sizeof data);

        vm_screenshot(vm, "multi-user");
        vm_shutdown(vm, 120);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_terminal),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
