/* SPDX-License-Identifier: MIT */
/* install/remote.h: the network the installer takes over after kexec,
 * picked from a probe report (the interface holding the address the
 * operator used, else the IPv4 default route's; its MAC, not its name),
 * and the installer's command line made from it; where keystone-kexec is
 * looked for (beside this binary, then the package's); the confirmation
 * (refused without a terminal unless --yes; only "yes" goes on); the
 * phase runner (recorded phases skipped, each marked when it ends, a
 * phase not in this version stops it) and the ordering rule; the
 * installer's host key made once and kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static char tmp[64];

static void touch_exec(const char *dir, const char *name, mode_t mode) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, name);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(chmod(p, mode), 0);
}

static void test_kexec_binary(void **state) {
        snprintf(tmp, sizeof tmp, "/tmp/test-install-remote-XXXXXX");
        assert_non_null(mkdtemp(tmp));
        char bin[PATH_MAX], pkg[PATH_MAX], self[PATH_MAX], installed[PATH_MAX], found[PATH_MAX], want[PATH_MAX];
        snprintf(bin, sizeof bin, "%s/build", tmp);
        snprintf(pkg, sizeof pkg, "%s/usr-lib-keystone", tmp);
        assert_int_equal(mkdir(bin, 0755), 0);
        assert_int_equal(mkdir(pkg, 0755), 0);
        snprintf(self, sizeof self, "%s/keystone", bin);
        snprintf(installed, sizeof installed, "%s/keystone-kexec", pkg);
        touch_exec(bin, "keystone", 0755);
        touch_exec(bin, "keystone-kexec", 0755);
        touch_exec(pkg, "keystone-kexec", 0755);
        char *e = NULL;
        /* beside this binary first */
        assert_int_equal(remote_kexec_binary(self, installed, found, &e), 0);
        snprintf(want, sizeof want, "%s/keystone-kexec", bin);
        assert_string_equal(found, want);
        /* one that cannot run there does not count: the package's */
        assert_int_equal(chmod(want, 0644), 0);
        assert_int_equal(remote_kexec_binary(self, installed, found, &e), 0);
        assert_string_equal(found, installed);
        unlink(want);
        assert_int_equal(remote_kexec_binary(self, installed, found, &e), 0);
        assert_string_equal(found, installed);
        /* neither: both places named */
        unlink(installed);
        assert_int_equal(remote_kexec_binary(self, installed, found, &e), -ENOENT);
        assert_non_null(e);
        assert_non_null(strstr(e, want));
        assert_non_null(strstr(e, installed));
        free(e);
        unlink(self);
        rmdir(bin);
        rmdir(pkg);
        rmdir(tmp);
}

static void test_confirm(void **state) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        char *e = NULL;
        /* not a terminal: refused, saying --yes; nothing is read */
        assert_int_equal(write(p[1], "yes\n", 4), 4);
        assert_int_equal(remote_confirm_possible(p[0], false, &e), -ENOTTY);
        assert_non_null(strstr(e, "--yes"));
        free(e);
        e = NULL;
        FILE *out = tmpfile();
        assert_non_null(out);
        assert_int_equal(remote_confirm(p[0], out, false, "Go?", &e), -ENOTTY);
        free(e);
        e = NULL;
        assert_int_equal(ftell(out), 0); /* not even asked */
        /* --yes: not asked */
        assert_int_equal(remote_confirm_possible(p[0], true, &e), 0);
        assert_int_equal(remote_confirm(p[0], out, true, "Go?", &e), 0);
        assert_int_equal(ftell(out), 0);
        char b[8];
        assert_int_equal(read(p[0], b, sizeof b), 4); /* the "yes" is still unread */
        close(p[0]);
        close(p[1]);

        /* a terminal: only "yes" goes on */
        int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        assert_true(m >= 0);
        assert_int_equal(grantpt(m), 0);
        assert_int_equal(unlockpt(m), 0);
        int t = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
        assert_true(t >= 0);
        assert_int_equal(remote_confirm_possible(t, false, &e), 0);
        assert_int_equal(write(m, "yes\n", 4), 4);
        assert_int_equal(remote_confirm(t, out, false, "Erase it?", &e), 0);
        assert_int_equal(write(m, "y\n", 2), 2);
        assert_int_equal(remote_confirm(t, out, false, "Erase it?", &e), -ECANCELED);
        assert_non_null(strstr(e, "nothing was changed"));
        free(e);
        e = NULL;
        assert_int_equal(write(m, "yes please\n", 11), 11);
        assert_int_equal(remote_confirm(t, out, false, "Erase it?", &e), -ECANCELED);
        free(e);
        char asked[256] = "";
        rewind(out);
        assert_non_null(fgets(asked, sizeof asked, out));
        assert_non_null(strstr(asked, "Erase it? Type yes to go on: "));
        fclose(out);
        close(t);
        close(m);
}

static int runs[_INSTALL_PHASE_MAX];
static int phase_kexec(RemoteInstall *ri, char **ret_error) {
        runs[INSTALL_PHASE_KEXEC]++;
        return 0;
}
static int phase_disk(RemoteInstall *ri, char **ret_error) {
        runs[INSTALL_PHASE_DISK]++;
        return 0;
}
static int phase_fails(RemoteInstall *ri, char **e) {
        (void) ri;
        *e = strdup("the disk is gone");
        return -ENODEV;
}

static void test_phases_run(void **state) {
        snprintf(tmp, sizeof tmp, "/tmp/test-install-remote-XXXXXX");
        assert_non_null(mkdtemp(tmp));
        const RemotePhase table[] = {
                { INSTALL_PHASE_KEXEC, phase_kexec }, { INSTALL_PHASE_DISK, phase_disk },
                { INSTALL_PHASE_INSTALL, NULL },      { INSTALL_PHASE_REBOOT, NULL },
                { INSTALL_PHASE_ENROLL, NULL },
        };
        RemoteInstall ri = {};
        InstallRecord rec = {};
        char *e = NULL;
        /* kexec alone: run and marked */
        assert_int_equal(remote_phases_run(table, 5, 1u << INSTALL_PHASE_KEXEC, &rec, tmp, &ri, &e), 1);
        assert_int_equal(runs[INSTALL_PHASE_KEXEC], 1);
        assert_true(rec.done & (1u << INSTALL_PHASE_KEXEC));
        InstallRecord loaded;
        assert_int_equal(install_record_load(tmp, &loaded, &e), 0);
        assert_int_equal(loaded.done, 1u << INSTALL_PHASE_KEXEC);
        /* again: skipped */
        assert_int_equal(remote_phases_run(table, 5, 1u << INSTALL_PHASE_KEXEC, &rec, tmp, &ri, &e), 0);
        assert_int_equal(runs[INSTALL_PHASE_KEXEC], 1);
        /* all: kexec skipped, disk run and marked, install not in this version */
        assert_int_equal(remote_phases_run(table, 5, INSTALL_PHASES_ALL, &rec, tmp, &ri, &e), -EOPNOTSUPP);
        assert_int_equal(runs[INSTALL_PHASE_KEXEC], 1);
        assert_int_equal(runs[INSTALL_PHASE_DISK], 1);
        assert_non_null(strstr(e, "the install phase is not in this version of keystone install yet"));
        assert_non_null(strstr(e, "kexec, disk ended"));
        assert_non_null(strstr(e, "`--phases kexec,disk` runs only the phases before it"));
        free(e);
        e = NULL;
        assert_int_equal(install_record_load(tmp, &loaded, &e), 0);
        assert_int_equal(loaded.done, (1u << INSTALL_PHASE_KEXEC) | (1u << INSTALL_PHASE_DISK));
        /* the lead's table today: kexec, then nothing */
        const RemotePhase today[] = {
                { INSTALL_PHASE_KEXEC, phase_kexec }, { INSTALL_PHASE_DISK, NULL },
        };
        rec = (InstallRecord) {};
        assert_int_equal(remote_phases_run(today, 2, INSTALL_PHASES_ALL, &rec, tmp, &ri, &e), -EOPNOTSUPP);
        assert_int_equal(runs[INSTALL_PHASE_KEXEC], 2);
        assert_true(rec.done & (1u << INSTALL_PHASE_KEXEC));
        assert_non_null(strstr(e, "the disk phase is not in this version"));
        assert_non_null(strstr(e, "`--phases kexec` runs only the first"));
        free(e);
        e = NULL;
        /* a phase that fails: not marked, nothing after it */
        const RemotePhase failing[] = {
                { INSTALL_PHASE_KEXEC, phase_fails }, { INSTALL_PHASE_DISK, phase_disk },
        };
        rec = (InstallRecord) {};
        assert_int_equal(remote_phases_run(failing, 2, INSTALL_PHASES_ALL, &rec, tmp, &ri, &e), -ENODEV);
        assert_string_equal(e, "the disk is gone");
        free(e);
        e = NULL;
        assert_int_equal(rec.done, 0);
        assert_int_equal(runs[INSTALL_PHASE_DISK], 1);
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/phases", tmp);
        unlink(p);
        rmdir(tmp);
}

static void test_phases_check(void **state) {
        InstallRecord rec = {};
        char *e = NULL;
        const unsigned K = 1u << INSTALL_PHASE_KEXEC, D = 1u << INSTALL_PHASE_DISK, I = 1u << INSTALL_PHASE_INSTALL;
        assert_int_equal(remote_phases_check(INSTALL_PHASES_ALL, &rec, "/st", &e), 0);
        assert_int_equal(remote_phases_check(K, &rec, "/st", &e), 0);
        assert_int_equal(remote_phases_check(K | D, &rec, "/st", &e), 0);
        /* disk on a fresh state: kexec must run first */
        assert_int_equal(remote_phases_check(D, &rec, "/st", &e), -EINVAL);
        assert_non_null(strstr(e, "the disk phase needs the kexec phase first"));
        assert_non_null(strstr(e, "/st/phases"));
        free(e);
        e = NULL;
        assert_int_equal(remote_phases_check(K | I, &rec, "/st", &e), -EINVAL);
        assert_non_null(strstr(e, "the install phase needs the disk phase first"));
        free(e);
        e = NULL;
        /* once kexec ended, disk alone is fine; a recorded phase asked again is skipped, not checked */
        rec.done = K;
        assert_int_equal(remote_phases_check(D, &rec, "/st", &e), 0);
        rec.done = K | D;
        assert_int_equal(remote_phases_check(I, &rec, "/st", &e), 0);
        rec.done = D;
        assert_int_equal(remote_phases_check(D, &rec, "/st", &e), 0);
        assert_null(e);
}

static void test_installer_host_key(void **state) {
        if (access("/usr/bin/ssh-keygen", X_OK) < 0)
                skip();
        snprintf(tmp, sizeof tmp, "/tmp/test-install-remote-XXXXXX");
        assert_non_null(mkdtemp(tmp));
        char key[PATH_MAX], again[PATH_MAX], want[PATH_MAX], pub[PATH_MAX + 8];
        char *e = NULL;
        assert_int_equal(remote_installer_host_key(tmp, key, &e), 0);
        snprintf(want, sizeof want, "%s/ssh/installer_host_key", tmp);
        assert_string_equal(key, want);
        struct stat st;
        assert_int_equal(stat(key, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        snprintf(pub, sizeof pub, "%s.pub", key);
        FILE *f = fopen(pub, "re");
        assert_non_null(f);
        char line[512], line2[512];
        assert_non_null(fgets(line, sizeof line, f));
        fclose(f);
        assert_true(strncmp(line, "ssh-ed25519 ", 12) == 0);
        /* kept: the installer of a run after this one is pinned to the same key */
        assert_int_equal(remote_installer_host_key(tmp, again, &e), 0);
        f = fopen(pub, "re");
        assert_non_null(fgets(line2, sizeof line2, f));
        fclose(f);
        assert_string_equal(line, line2);
        /* half a pair is made again */
        unlink(pub);
        assert_int_equal(remote_installer_host_key(tmp, again, &e), 0);
        assert_int_equal(access(pub, R_OK), 0);
        unlink(pub);
        unlink(key);
        char d[PATH_MAX];
        snprintf(d, sizeof d, "%s/ssh", tmp);
        rmdir(d);
        rmdir(tmp);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_network),
                cmocka_unit_test(test_kexec_binary),
                cmocka_unit_test(test_confirm),
                cmocka_unit_test(test_phases_run),
                cmocka_unit_test(test_phases_check),
                cmocka_unit_test(test_installer_host_key),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
