/* SPDX-License-Identifier: MIT */
/* init_switch_root() for real, in a private mount namespace: a tmpfs plays
 * the initramfs (with /dev /proc /sys /run mounted in it, junk files, and
 * another file system mounted inside), a bind mount of this machine's / is
 * the new root.  The program exec'd after the switch (/bin/sh of the new
 * root) checks that the API file systems were moved along, that / is the
 * new root, and — through a descriptor of the old root kept open for it —
 * that the initramfs was emptied except for the file system mounted inside
 * it, which must be untouched.  Needs root (skips otherwise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init/system.h"

static const char script[] =
        "set -e\n"
        "test -f /etc/debian_version                     # / is the new root\n"
        "test \"$(cat /dev/marker)\" = dev                  # /dev moved along\n"
        "test \"$(cat /run/marker)\" = run                  # /run moved along\n"
        "test -r /proc/self/mountinfo                       # /proc moved along\n"
        "test -d /sys/kernel                                # /sys moved along\n"
        "test \"$(cat /proc/self/fd/9/keep/file)\" = kept    # another fs inside: untouched\n"
        "left=$(ls -A /proc/self/fd/9 | tr '\\n' ' ')\n"
        "test \"$left\" = 'keep '  || { echo \"left in the initramfs: $left\"; exit 3; }\n"
        "echo switched\n";

static int child(const char *base, int out) {
        char p[512];
#define CHECK(x) do { if (!(x)) { dprintf(out, "setup failed: %s: %m\n", #x); return 10; } } while (0)
        CHECK(unshare(CLONE_NEWNS) == 0);
        CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
        CHECK(mount("tmpfs", base, "tmpfs", 0, "size=8m") == 0);
        const char *dirs[] = { "dev", "proc", "sys", "run", "sysroot", "keep", "junk", "junk/a", "junk/a/b" };
        for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
                snprintf(p, sizeof p, "%s/%s", base, dirs[i]);
                CHECK(mkdir(p, 0755) == 0);
        }
        snprintf(p, sizeof p, "%s/dev", base);
        CHECK(mount("tmpfs", p, "tmpfs", 0, "size=1m") == 0);
        snprintf(p, sizeof p, "%s/run", base);
        CHECK(mount("tmpfs", p, "tmpfs", 0, "size=1m") == 0);
        snprintf(p, sizeof p, "%s/keep", base);
        CHECK(mount("tmpfs", p, "tmpfs", 0, "size=1m") == 0);
        snprintf(p, sizeof p, "%s/proc", base);
        CHECK(mount("proc", p, "proc", 0, NULL) == 0);
        snprintf(p, sizeof p, "%s/sys", base);
        CHECK(mount("sysfs", p, "sysfs", 0, NULL) == 0);
        snprintf(p, sizeof p, "%s/sysroot", base);
        CHECK(mount("/", p, NULL, MS_BIND, NULL) == 0);
        const char *files[][2] = { { "dev/marker", "dev" }, { "run/marker", "run" }, { "keep/file", "kept" },
                                   { "junk/a/b/f", "x" }, { "init", "i" } };
        for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
                snprintf(p, sizeof p, "%s/%s", base, files[i][0]);
                FILE *f = fopen(p, "w");
                CHECK(f);
                fputs(files[i][1], f);
                fclose(f);
        }
        snprintf(p, sizeof p, "%s/junk/link", base);
        CHECK(symlink("/etc", p) == 0);
        CHECK(chroot(base) == 0 && chdir("/") == 0);
        int old = open("/", O_RDONLY | O_DIRECTORY);
        CHECK(old >= 0 && dup2(old, 9) == 9);
        CHECK(dup2(out, 1) == 1 && dup2(out, 2) == 2);
        char *const argv[] = { "keystone-init", "-c", (char *) script, NULL };
        int r = init_switch_root("/sysroot", "/bin/sh", argv);
        dprintf(out, "init_switch_root returned %d (%s)\n", r, strerror(-r));
        return 11;
}

static void test_switch_root(void **state) {
        if (geteuid() != 0)
                skip();
        char base[] = "/tmp/keystone-switch-root.XXXXXX";
        assert_non_null(mkdtemp(base));
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                _exit(child(base, p[1]));
        }
        close(p[1]);
        char out[4096] = "";
        size_t n = 0;
        ssize_t k;
        while (n < sizeof out - 1 && (k = read(p[0], out + n, sizeof out - 1 - n)) > 0)
                n += (size_t) k;
        out[n] = 0;
        close(p[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        rmdir(base);
        printf("%s", out);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 10 && strstr(out, "unshare"))
                skip();         /* no mount namespaces here */
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_string_equal(out, "switched\n");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_switch_root),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
