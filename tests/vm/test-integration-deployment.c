/* SPDX-License-Identifier: MIT */
/* integration-deployment: the plan's full-stack test.
 *
 * `keystone vm examples/server.toml` (its library, vm_deploy(), with a
 * state directory of the test's own): the owner's keys, the build, an
 * installer VM under Secure Boot firmware in setup mode that lays out the
 * blank disk, installs the generation and enrolls the keys, the first boot
 * with the install secret typed at keystone-init's prompt, `keystone tpm
 * enroll` and `keystone tpm recovery`, and a reboot that must unlock with
 * the TPM alone.  No install secret is left behind: after install it opens
 * nothing (its keyslot is gone, the state's copy erased), the recovery key
 * and the TPM do (the TPM at boot; after it, PCR 15 extended, it refuses), `keystone tpm status` lists exactly the tpm2 keyslot
 * (PCRs 1+7+15) and the recovery keyslot, and the login banner that said
 * "not yet protected" at the first boot is gone.  Then, on that machine:
 *   (b) an extra certificate appended to db (`keystone secureboot enroll
 *       --append db`): PCR 7 changes, the next boot stops at the prompt
 *       naming PCR 7, and the recovery key opens the credstore;
 *   (c) `keystone tpm enroll` again: the next boot is automatic again;
 *   (a) the UKI on the ESP replaced by the unsigned one of the same build:
 *       the firmware refuses it and keystone-init never runs. */
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

#include "install/guest-ssh.h"
#include "util/file-bytes.h"
#include "install/vm-deploy.h"
#include "secureboot/keys.h"
#include "util/fs.h"
#include "util/run.h"
#include "vmtest.h"

#define MIN_MS (60 * 1000)

static VmDeployResult res;
static char state[PATH_MAX];
static char install_secret[128]; /* read from the state before first-boot erases it */

static void assert_contains(const char *what, const char *text, const char *needle) {
        if (!text || !strstr(text, needle))
                vmtest_fail("%s does not show \"%s\":\n%s", what, needle, text ? text : "(nothing)");
}

static void progress(void *userdata, VmDeployStage s, bool done, int r, double seconds, const char *log) {
        if (s == VM_STAGE_FIRST_BOOT && !done) {
                char p[PATH_MAX + 32];
                snprintf(p, sizeof p, "%s/credstore.secret", state);
                int fd = open(p, O_RDONLY | O_CLOEXEC);
                ssize_t n = fd >= 0 ? read(fd, install_secret, sizeof install_secret - 1) : -1;
                if (fd >= 0)
                        close(fd);
                if (n > 0)
                        install_secret[strcspn(install_secret, "\n")] = 0;
        }
        if (done)
                fprintf(stderr, "vmtest: keystone vm stage %s: %s in %.1f s (log %s)\n", vm_deploy_stage_name(s),
                        r < 0 ? "FAILED" : "ok", seconds, log);
        else
                vmtest_step("keystone vm stage %s", vm_deploy_stage_name(s));
}

/* A command as the host's sudo user over SSH; fails the test unless it exits 0. */
static char *gsh(Vm *vm, const char *cmd, const void *input, size_t input_size) {
        GuestSsh g = { .host = "127.0.0.1", .port = vm_ssh_port(vm), .user = res.user, .key = res.ssh_key };
        RunResult rr = {};
        int r = guest_ssh_run(&g, cmd, input, input_size, 10 * MIN_MS, true, &rr);
        if (r < 0)
                vmtest_fail("ssh %s@ `%s` failed: %s\nstdout: %s\nstderr: %s", res.user, cmd,
                            r == -EPROTO ? run_result_describe(&rr) : strerror(-r), rr.out ? rr.out : "",
                            rr.err ? rr.err : "");
        char *out = strdup(rr.out ? rr.out : "");
        run_result_done(&rr);
        return out;
}

static int alive(void *userdata, int ms) {
        for (int left = ms; left > 0; left -= 200)
                (void) vm_pump(200);
        return vm_running(userdata) ? 0 : -ESHUTDOWN;
}

static void ssh_up(Vm *vm) {
        vmtest_step("wait for SSH on the machine");
        GuestSsh g = { .host = "127.0.0.1", .port = vm_ssh_port(vm), .user = res.user, .key = res.ssh_key };
        int r = guest_ssh_wait(&g, 20 * MIN_MS, alive, vm);
        if (r < 0)
                vmtest_fail("SSH to the machine never answered: %s", strerror(-r));
}

static void reboot(Vm *vm) {
        vm_console_mark_end(vm);
        GuestSsh g = { .host = "127.0.0.1", .port = vm_ssh_port(vm), .user = res.user, .key = res.ssh_key };
        (void) guest_ssh_run(&g, "sudo systemctl reboot", NULL, 0, MIN_MS, true, NULL);
}

static char *read_file(const char *path) {
        char *line = NULL;
        int r = read_first_line(path, &line);
        if (r < 0)
                vmtest_fail("cannot read %s: %s", path, strerror(-r));
        return line;
}

static char *host_out(const char *what, const char *const *argv) {
        vmtest_step("%s", what);
        RunResult rr = {};
        int r = run(argv, &(RunOptions) { .timeout_ms = 10 * MIN_MS }, &rr);
        if (r < 0)
                vmtest_fail("%s failed: %s", what, run_result_describe(&rr));
        char *out = strdup(rr.out ? rr.out : "");
        run_result_done(&rr);
        return out;
}

static void test_integration_deployment(void **unused) {
        vmtest_init("integration-deployment");
        const char *src = getenv("SRCDIR"), *build = getenv("BUILD");
        src = src && *src ? src : ".";
        char keystone[PATH_MAX], host[PATH_MAX];
        snprintf(keystone, sizeof keystone, "%s/keystone", build && *build ? build : "build");
        if (keystone[0] != '/') {
                char cwd[PATH_MAX / 2];
                assert_non_null(getcwd(cwd, sizeof cwd));
                char k[PATH_MAX];
                snprintf(k, sizeof k, "%s/%s", cwd, keystone);
                snprintf(keystone, sizeof keystone, "%s", k);
        }
        snprintf(host, sizeof host, "%s/examples/server.toml", src);
        snprintf(state, sizeof state, "%s/state", vmtest_dir());

        /* 1. keystone vm, end to end */
        VmDeployOptions o = { .host_path = host, .state_dir = state, .fresh = true, .keystone = keystone,
                              .keep_running = true, .progress = progress };
        _cleanup_free_ char *error = NULL;
        int r = vm_deploy(&o, &res, &error);
        if (r < 0)
                vmtest_fail("keystone vm failed: %s", error);
        Vm *vm = res.machine;
        assert_non_null(vm);
        if (!res.secure_boot || !res.user_mode)
                vmtest_fail("Secure Boot is not on in user mode after keystone vm");
        assert_contains("the credstore line of the last boot", res.tpm_line, "opened with TPM2 token");
        assert_contains("the encryptionroot line", res.encroot_line, "all with encryptionroot rpool/crypt");
        assert_contains("the root file system", res.root_line, "rpool/crypt/system/generations/1 zfs");
        assert_non_null(res.recovery_key);
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/recovery-key", state);
        _cleanup_free_ char *rk = read_file(p);
        assert_string_equal(rk, res.recovery_key);
        /* no install secret left behind */
        vmtest_step("the install secret is gone; the recovery key and the TPM open the credstore");
        if (strlen(install_secret) != 64)
                vmtest_fail("the state's credstore.secret was not 64 hex digits before the first boot: '%s'",
                            install_secret);
        snprintf(p, sizeof p, "%s/credstore.secret", state);
        struct stat gone;
        if (stat(p, &gone) == 0 || errno != ENOENT)
                vmtest_fail("%s is still there after install: the install secret must be erased", p);
        assert_contains("the login banner at the first boot", res.banner_first_boot, "NOT yet protected");
        assert_contains("the login banner at the first boot", res.banner_first_boot, "the install secret still opens it");
        assert_contains("the login banner at the first boot", res.banner_first_boot, "sudo keystone tpm enroll --auto");
        free(gsh(vm, "sudo sh -c 'umask 077 && cat > /run/ks.try'", install_secret, strlen(install_secret)));
        {
                GuestSsh g = { .host = "127.0.0.1", .port = vm_ssh_port(vm), .user = res.user, .key = res.ssh_key };
                RunResult rr = {};
                r = guest_ssh_run(&g, "sudo keystone tpm status /dev/zvol/rpool/credstore --no-tpm --key-file=/run/ks.try",
                                  NULL, 0, 10 * MIN_MS, true, &rr);
                if (r != -EPROTO || !rr.err || !strstr(rr.err, "opens no keyslot"))
                        vmtest_fail("the install secret still opens the credstore (or status failed otherwise): %s\n%s%s",
                                    r == -EPROTO ? run_result_describe(&rr) : strerror(-r), rr.out ? rr.out : "",
                                    rr.err ? rr.err : "");
                run_result_done(&rr);
        }
        free(gsh(vm, "sudo shred -z -u /run/ks.try && sudo sh -c 'umask 077 && cat > /run/ks.rk'", res.recovery_key,
                 strlen(res.recovery_key)));
        _cleanup_free_ char *st_rk = gsh(vm, "sudo keystone tpm status /dev/zvol/rpool/credstore --no-tpm "
                                             "--key-file=/run/ks.rk && sudo shred -z -u /run/ks.rk", NULL, 0);
        assert_contains("keystone tpm status --key-file=RECOVERY-KEY", st_rk, "(recovery)");
        /* the TPM opened it at this boot (res.tpm_line above: "opened with
         * TPM2 token"); now, after keystone-init extended PCR 15, it must
         * refuse, naming PCR 15 */
        {
                GuestSsh g = { .host = "127.0.0.1", .port = vm_ssh_port(vm), .user = res.user, .key = res.ssh_key };
                RunResult rr = {};
                r = guest_ssh_run(&g, "sudo keystone tpm unlock /dev/zvol/rpool/credstore --test", NULL, 0,
                                  10 * MIN_MS, true, &rr);
                if (r != -EPROTO || !rr.err || !strstr(rr.err, "PCR 15 changed"))
                        vmtest_fail("after the boot the TPM should refuse the token (PCR 15 extended): %s\n%s%s",
                                    r == -EPROTO ? run_result_describe(&rr) : strerror(-r), rr.out ? rr.out : "",
                                    rr.err ? rr.err : "");
                run_result_done(&rr);
        }
        _cleanup_free_ char *status = gsh(vm, "sudo keystone tpm status /dev/zvol/rpool/credstore 2>&1", NULL, 0);
        fprintf(stderr, "vmtest: keystone tpm status after install:\n%s", status);
        {
                /* exactly: one tpm2 keyslot bound to 1+7+15, one recovery keyslot */
                const char *ks = strstr(status, "Keyslots:\n"), *tk = strstr(status, "Tokens:");
                if (!ks || !tk)
                        vmtest_fail("keystone tpm status shows no keyslot list:\n%s", status);
                char kinds[512] = "";
                size_t kn = 0;
                for (const char *l = ks + strlen("Keyslots:\n"); l < tk; l = strchr(l, '\n') + 1) {
                        int slot;
                        char one[256], kind[32] = "", kdf[32] = "", pcrw[16] = "", pcrs[64] = "";
                        snprintf(one, sizeof one, "%.*s", (int) strcspn(l, "\n"), l); /* this line only */
                        int got = sscanf(one, " %d %31s %31s %15s %63s", &slot, kind, kdf, pcrw, pcrs);
                        if (got >= 2)
                                kn += (size_t) snprintf(kinds + kn, sizeof kinds - kn, "%s%s%s%s", kn ? "," : "", kind,
                                                        got == 5 ? ":" : "", got == 5 ? pcrs : "");
                }
                if (!streq(kinds, "tpm2:1+7+15,recovery"))
                        vmtest_fail("keystone tpm status lists keyslots '%s', not exactly tpm2 (PCRs 1+7+15) and "
                                    "recovery:\n%s", kinds, status);
                if (strstr(status, "install secret"))
                        vmtest_fail("keystone tpm status still warns about an install secret:\n%s", status);
        }
        _cleanup_free_ char *motd = gsh(vm, "cat /run/motd.d/keystone-protection /etc/issue.d/keystone-protection.issue "
                                            "2>/dev/null; true", NULL, 0);
        if (strstr(motd, "NOT yet protected"))
                vmtest_fail("the login banner still says the machine is not protected:\n%s", motd);
        /* the installer was the UKI in RAM: keystone-init's installer mode
         * let root in by the state's key, and no systemd ever ran in it */
        char ip[PATH_MAX + 64];
        snprintf(ip, sizeof ip, "%s/installer/console.log", state);
        uint8_t *bytes = NULL;
        size_t n_bytes = 0;
        if ((r = read_file_bytes(ip, 64 << 20, &bytes, &n_bytes)) < 0)
                vmtest_fail("cannot read %s: %s", ip, strerror(-r));
        _cleanup_free_ char *inst = strndup((const char *) bytes, n_bytes);
        free(bytes);
        assert_non_null(inst);
        assert_contains("the installer's console", inst, "[installer] sshd ... ");
        assert_contains("the installer's console", inst, "keystone-installer: ready.");
        assert_contains("the installer's console", inst, "Accepted publickey for root");
        assert_contains("the installer's console", inst, "reboot: Power down");
        if (strstr(inst, "systemd[1]") || strstr(inst, "Welcome to"))
                vmtest_fail("the installer booted systemd: it should be keystone-init's installer mode (see %s)", ip);
        snprintf(ip, sizeof ip, "%s/installer-uki/keystone-installer.efi", state);
        if ((r = read_file_bytes(ip, 256 << 20, &bytes, &n_bytes)) < 0)
                vmtest_fail("cannot read %s: %s", ip, strerror(-r));
        static const char want[] = "keystone.installer keystone.installer.address=10.0.2.15/24";
        bool has_cmdline = memmem(bytes, n_bytes, want, strlen(want)) != NULL;
        free(bytes);
        if (!has_cmdline)
                vmtest_fail("%s has no installer command line (%s)", ip, want);

        /* the secrets are 0600, the state 0700 */
        struct stat st;
        snprintf(p, sizeof p, "%s/recovery-key", state);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(stat(state, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);

        /* (b) an extra db certificate: PCR 7 changes, the recovery key opens */
        char extra[PATH_MAX], pem[PATH_MAX + 32];
        snprintf(extra, sizeof extra, "%s/extra-keys", vmtest_dir());
        vmtest_step("(b) an extra db certificate");
        if ((r = sb_keys_generate(extra, 2048, "Extra db certificate")) < 0)
                vmtest_fail("keygen in %s: %s", extra, strerror(-r));
        snprintf(pem, sizeof pem, "%s/keys/db/db.pem", extra);
        char keys[PATH_MAX + 8];
        snprintf(keys, sizeof keys, "%s/keys", state);
        const char *tar_argv[] = { "tar", "-C", keys, "-cf", "-", ".", NULL };
        RunResult tr = {};
        if ((r = run(tar_argv, NULL, &tr)) < 0)
                vmtest_fail("tar of %s: %s", keys, run_result_describe(&tr));
        free(gsh(vm, "sudo sh -c 'umask 077 && mkdir -p /run/ks-sb && tar -x -C /run/ks-sb'", tr.out, tr.out_size));
        run_result_done(&tr);
        _cleanup_free_ char *pem_text = NULL;
        {
                const char *cat[] = { "cat", pem, NULL };
                pem_text = host_out("read the extra certificate", cat);
        }
        free(gsh(vm, "cat > /tmp/extra.pem", pem_text, strlen(pem_text)));
        _cleanup_free_ char *appended = gsh(vm, "sudo keystone secureboot enroll --append db --cert /tmp/extra.pem "
                                                "--dir /run/ks-sb && sudo rm -rf /run/ks-sb", NULL, 0);
        assert_contains("enroll --append", appended, "appended");
        vmtest_step("(b) reboot: PCR 7 changed");
        reboot(vm);
        vm_wait_for_console(vm, "keystone-init [^ ]+$", 1200);
        vm_wait_for_console(vm, "PCR 7 changed", 600);
        vm_wait_for_console(vm, "Password or recovery key for the credstore:", 120);
        char line[256];
        snprintf(line, sizeof line, "%s\r", res.recovery_key);
        if ((r = vm_console_type_r(vm, line)) < 0)
                vmtest_fail("typing the recovery key: %s", strerror(-r));
        explicit_bzero(line, sizeof line);
        vm_wait_for_console(vm, "ok \\([0-9.]+ s\\): opened with password or recovery key", 600);
        vm_wait_for_console(vm, "switch-root", 600);
        ssh_up(vm);

        /* (c) enroll again (with the recovery key: the install secret is
         * gone), replacing the TPM2 keyslot that no longer unseals:
         * automatic again */
        vmtest_step("(c) keystone tpm enroll again");
        free(gsh(vm, "sudo sh -c 'umask 077 && cat > /run/ks.secret'", res.recovery_key, strlen(res.recovery_key)));
        free(gsh(vm, "sudo keystone tpm enroll /dev/zvol/rpool/credstore --replace --unlock-key-file=/run/ks.secret && "
                     "sudo shred -z -u /run/ks.secret", NULL, 0));
        reboot(vm);
        vm_wait_for_console(vm, "keystone-init [^ ]+$", 1200);
        vm_wait_for_console(vm, "(opened with TPM2 token|Password or recovery key for the credstore:)", 600);
        {
                _cleanup_free_ char *c = vm_console_copy(vm);
                const char *boot = c;
                for (const char *q; (q = strstr(boot + 1, "keystone-init "));)
                        boot = q;
                if (strstr(boot, "Password or recovery key"))
                        vmtest_fail("(c) after enrolling again the boot still asks for the password:\n%s", boot);
        }
        vm_wait_for_console(vm, "switch-root", 600);
        ssh_up(vm);
        free(gsh(vm, "sudo systemctl poweroff", NULL, 0));
        if ((r = vm_wait_exit_r(vm, 5 * MIN_MS)) < 0)
                vm_stop(vm);

        /* (a) the unsigned UKI of the same build on the ESP: refused */
        vmtest_step("(a) the UKI replaced by the unsigned one");
        char disk[PATH_MAX + 16], unsigned_uki[PATH_MAX + 64];
        snprintf(disk, sizeof disk, "%s/disk.img", state);
        snprintf(unsigned_uki, sizeof unsigned_uki, "%s/media/generation/uki-unsigned.efi", state);
        const char *dump[] = { "sfdisk", "--dump", disk, NULL };
        _cleanup_free_ char *table = host_out("sfdisk --dump", dump);
        const char *esp = strstr(table, "name=\"ESP\"");
        if (!esp)
                esp = strstr(table, "name=ESP");
        if (!esp)
                vmtest_fail("no ESP in the partition table:\n%s", table);
        const char *ls = esp;
        while (ls > table && ls[-1] != '\n')
                ls--;
        const char *st_ = strstr(ls, "start=");
        assert_non_null(st_);
        unsigned long long start = strtoull(st_ + 6, NULL, 10);
        char img[PATH_MAX + 64];
        snprintf(img, sizeof img, "%s@@%llu", disk, start * 512);
        char *const env[] = { "MTOOLS_SKIP_CHECK=1", NULL };
        const char *mcopy[] = { "mcopy", "-o", "-i", img, unsigned_uki, "::EFI/Linux/keystone-1.efi", NULL };
        RunResult mr = {};
        if ((r = run(mcopy, &(RunOptions) { .env_extra = env }, &mr)) < 0)
                vmtest_fail("mcopy of the unsigned UKI: %s", run_result_describe(&mr));
        run_result_done(&mr);
        vm_start(vm);
        vm_wait_for_console(vm, "Error loading .EFI.Linux.keystone-1\\.efi: ([Aa]ccess [Dd]enied|[Ss]ecurity [Vv]iolation)", 600);
        r = vm_console_wait_r(vm, "keystone-init", 60 * 1000);
        if (r != -ETIMEDOUT && r != -ESHUTDOWN)
                vmtest_fail("(a) the unsigned UKI ran: keystone-init started");
        vm_stop(vm);
        vm_deploy_result_done(&res);
}

int main(void) {
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_integration_deployment) };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
