/* SPDX-License-Identifier: MIT */
/* remote-install: `keystone install --target` against the stock Debian 12
 * target of remote-target (tests/lib/vmtest-debian.h), reached over SSH
 * through the VM's port forward.  What the install decides before it
 * changes anything:
 *
 *   the plan (--dry-run): UEFI in setup mode, a TPM 2.0, the blank disk to
 *     erase by its /dev/disk/by-id name, size and serial; nothing changes
 *   a disk with data (a swap signature on it) is refused, naming what was found,
 *     and accepted with --force; the disk the running system is on is
 *     refused as not blank, and accepted with --force (kexec releases it)
 *   too little memory (the same machine with 1024 MB) is refused with the
 *     figure
 *   no UEFI (the same image started by qemu's BIOS, direct kernel boot) is
 *     refused, saying how to switch the firmware to UEFI
 *
 * After every refusal the blank disk is as it was (blkid finds nothing, or
 * only the signature this test made).  Then the first phase, on a fresh
 * machine of the same kind:
 *
 *   --phases kexec --yes: the generation and the installer built, the
 *     installer uploaded and kexec'd; OpenSSH (StrictHostKeyChecking=yes, a
 *     known_hosts line made from STATE/ssh/installer_host_key.pub) reaches
 *     it on the same forwarded port with the state's key; the console says
 *     it kept the host key the initrd brought; its /proc/cmdline holds
 *     keystone.installer.mac=<the target's MAC> (virtio-net, its driver in
 *     the initrd); the blank disk is still blank; STATE/phases starts
 *     with "kexec "
 *   the same command again: nothing to do
 *
 * Then every phase (the firmware tries the install's disk first, as on a
 * machine whose owner installs onto the disk it boots from):
 *
 *   disk, then install until the build is uploaded; there the link goes
 *     down (QMP set_link) and keystone install is killed; the same command
 *     again goes on with the install phase (the disk is not erased again)
 *     and finishes: the owner's keys enrolled, the pool exported, the
 *     first boot's initrd reached with the host's own key and given the
 *     install secret over SSH, TPM and recovery key enrolled, and a reboot
 *     the TPM alone unlocks; the summary's lines are asserted
 *   over OpenSSH as the host's user, its host key the one the state made:
 *     the install secret opens no keyslot (and is gone from the state),
 *     the recovery key (0600 in the state) opens the credstore, and
 *     /run/keystone-boot.log says this boot's TPM opened it */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/fs.h"

#include "util/macro.h"
#include "util/run.h"
#include "util/spawn.h"
#include "vmtest.h"
#include "vmtest-debian.h"
#include "vmtest-image.h"

#define BLANK_SIZE (8ULL << 30)
#define DISK_ID "/dev/disk/by-id/virtio-" VMTEST_DEBIAN_SERIAL

static char keystone[PATH_MAX], host_dir[PATH_MAX], known_hosts[PATH_MAX], state_dir[PATH_MAX];

/* A host file for the target whose disk.device is DEVICE (its path stays
 * valid for the next three calls too). */
static const char *host_file(const char *name, const char *device) {
        static char paths[4][PATH_MAX + 64];
        static unsigned k;
        char *path = paths[k++ % 4];
        snprintf(path, sizeof paths[0], "%s/%s.toml", host_dir, name);
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fprintf(f, "imports = [\"disk-single-root\", \"secure-boot\", \"tpm\", \"server\"]\n"
                   "[host]\nname = \"remote\"\n"
                   "[disk]\ndevice = \"%s\"\nesp-size = \"256M\"\nswap-size = \"256M\"\n"
                   "[users.admin]\ngroups = [\"sudo\"]\n", device);
        fclose(f);
        return path;
}

/* keystone install HOST --target root@127.0.0.1:PORT --dry-run [EXTRA]; its
 * exit status, stdout and stderr in res. */
static int install_dry_run(Vm *vm, const char *host, const char *extra, RunResult *res) {
        const char *key;
        vmtest_ssh_key(&key, NULL);
        char target[64];
        snprintf(target, sizeof target, "root@127.0.0.1:%d", vm_ssh_port(vm));
        const char *argv[] = { keystone, "install", host, "--target", target, "-i", key, "--known-hosts", known_hosts,
                               "--accept-new-host-key", "--state", state_dir, "--dry-run", extra, NULL };
        *res = (RunResult) {};
        int r = run(argv, &(RunOptions) { .timeout_ms = 300000 }, res);
        vmtest_step("keystone install --dry-run%s%s: %s\n--- stdout\n%s--- stderr\n%s", extra ? " " : "",
                    extra ? extra : "", r == 0 ? "ok" : "refused", res->out ? res->out : "", res->err ? res->err : "");
        return r;
}

/* ARGV in the background, its stdout and stderr in LOG, while the VMs are
 * served (a guest that reboots is a qemu that exits: vm_pump() starts it
 * again); res->out and res->err both hold the log.  0 when it exited 0,
 * -EPROTO otherwise. */
static int run_pumped(const char *const argv[], const char *log, int timeout_s, RunResult *res) {
        (void) unlink(log);
        pid_t pid;
        assert_int_equal(spawn_background(argv, &(SpawnOptions) { .log_path = log }, &pid), 0);
        double t0 = monotonic_seconds();
        int status = 0;
        while (spawn_poll(pid, &status) == 0) {
                if (monotonic_seconds() - t0 > timeout_s) {
                        (void) kill(pid, SIGKILL);
                        while (spawn_poll(pid, &status) == 0)
                                usleep(100 * 1000);
                        fail_msg("%s %s did not end within %d s; see %s", argv[0], argv[1], timeout_s, log);
                }
                (void) vm_pump(500);
        }
        *res = (RunResult) {};
        size_t n = 0;
        if (read_file_text(log, 0, &res->out, &n) < 0)
                res->out = strdup("");
        res->err = strdup(res->out);
        res->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPROTO;
}

/* keystone install HOST --target root@127.0.0.1:PORT --phases PHASES
 * --yes, its state in STATE */
static int install_phases(Vm *vm, const char *host, const char *state, const char *phases, RunResult *res) {
        const char *key;
        vmtest_ssh_key(&key, NULL);
        char target[64], log[PATH_MAX + 32];
        snprintf(target, sizeof target, "root@127.0.0.1:%d", vm_ssh_port(vm));
        static unsigned n_run;
        snprintf(log, sizeof log, "%s/install-%u.log", vmtest_dir(), ++n_run);
        const char *argv[] = { keystone, "install", host, "--target", target, "-i", key, "--known-hosts", known_hosts,
                               "--accept-new-host-key", "--state", state, "--phases", phases, "--yes", NULL };
        double t0 = monotonic_seconds();
        int r = run_pumped(argv, log, 60 * 60, res);
        vmtest_step("keystone install --phases %s --yes: %s in %.1f s\n--- output (%s)\n%s", phases,
                    r == 0 ? "ok" : "failed", monotonic_seconds() - t0, log, res->out ? res->out : "");
        return r;
}

/* KH_PATH: one known_hosts line for the forwarded port, the key of PUB_PATH. */
static void pinned_known_hosts(Vm *vm, const char *pub_path, const char *kh_path) {
        _cleanup_free_ char *pub = NULL;
        assert_int_equal(read_first_line(pub_path, &pub), 0);
        FILE *f = fopen(kh_path, "we");
        assert_non_null(f);
        fprintf(f, "[127.0.0.1]:%d %s\n", vm_ssh_port(vm), pub);
        fclose(f);
}

/* COMMAND as USER over OpenSSH, the host key checked against KNOWN
 * (StrictHostKeyChecking=yes), logged in with KEY, INPUT (may be NULL) on
 * stdin. */
static int openssh(Vm *vm, const char *user, const char *key, const char *known, const char *command,
                   const char *input, RunResult *res) {
        char port[16], kh[PATH_MAX + 32], who[64];
        snprintf(port, sizeof port, "%d", vm_ssh_port(vm));
        snprintf(kh, sizeof kh, "UserKnownHostsFile=%s", known);
        snprintf(who, sizeof who, "%s@127.0.0.1", user);
        const char *argv[] = { "ssh", "-F", "/dev/null", "-p", port, "-o", "BatchMode=yes", "-o",
                               "StrictHostKeyChecking=yes", "-o", kh, "-o", "ConnectTimeout=20", "-o",
                               "IdentitiesOnly=yes", "-i", key, who, command, NULL };
        *res = (RunResult) {};
        int r = run(argv, &(RunOptions) { .timeout_ms = 300000, .input = input, .input_size = input ? strlen(input) : 0 },
                    res);
        vmtest_step("%s over OpenSSH: %s: %s\n%s%s", who, command, r == 0 ? "ok" : run_result_describe(res),
                    res->out ? res->out : "", res->err ? res->err : "");
        return r;
}

/* COMMAND in the installer as root; its stdout (the test fails otherwise). */
static char *installer_ssh(Vm *vm, const char *key, const char *known, const char *command) {
        RunResult res;
        int r = openssh(vm, "root", key, known, command, NULL, &res);
        if (r < 0)
                fail_msg("ssh to the installer (%s) failed: %s\n%s", command, run_result_describe(&res),
                         res.err ? res.err : "");
        char *out = strdup(res.out ? res.out : "");
        run_result_done(&res);
        return out;
}

static void assert_has(const char *text, const char *needle) {
        if (!text || !strstr(text, needle))
                fail_msg("expected \"%s\" in:\n%s", needle, text ? text : "(nothing)");
}

static void boot(Vm *vm) {
        vm_start(vm);
        vm_wait_for_console(vm, "Linux version [0-9.]+-[0-9]+-cloud-amd64", 300);
        vmtest_debian_wait_for_ssh(vm, 300);
}

#define ALL_PHASES "kexec,disk,install,reboot,enroll"

static char install_secret[128];        /* the state's, kept before enroll erases it */

static bool file_has(const char *path, const char *needle) {
        _cleanup_free_ char *text = NULL;
        size_t n = 0;
        return read_file_text(path, 0, &text, &n) >= 0 && strstr(text, needle);
}

/* keystone install (every phase) in the background until the install
 * phase has uploaded the build; then the link goes down, the command is
 * killed, the link comes back; the same command again resumes at the
 * install phase and finishes. */
static void install_cut_and_resume(Vm *vm, const char *host, const char *state) {
        const char *key;
        vmtest_ssh_key(&key, NULL);
        char target[64], log[PATH_MAX + 32], phases[PATH_MAX + 16], secret[PATH_MAX + 32];
        snprintf(target, sizeof target, "root@127.0.0.1:%d", vm_ssh_port(vm));
        snprintf(log, sizeof log, "%s/install-cut.log", vmtest_dir());
        snprintf(phases, sizeof phases, "%s/phases", state);
        snprintf(secret, sizeof secret, "%s/credstore.secret", state);
        (void) unlink(log);
        const char *argv[] = { keystone, "install", host, "--target", target, "-i", key, "--known-hosts", known_hosts,
                               "--state", state, "--phases", ALL_PHASES, "--yes", NULL };
        pid_t pid;
        assert_int_equal(spawn_background(argv, &(SpawnOptions) { .log_path = log }, &pid), 0);
        double t0 = monotonic_seconds();
        while (!file_has(log, "install: the build uploaded")) {
                int status;
                if (spawn_poll(pid, &status) == 1) {
                        _cleanup_free_ char *text = NULL;
                        size_t n = 0;
                        (void) read_file_text(log, 0, &text, &n);
                        fail_msg("keystone install ended before the install phase uploaded the build:\n%s",
                                 text ? text : "");
                }
                if (monotonic_seconds() - t0 > 40 * 60)
                        fail_msg("the install phase did not upload the build within 40 min; see %s", log);
                if (!*install_secret) {
                        _cleanup_free_ char *sec = NULL;
                        size_t n = 0;
                        if (read_file_text(secret, 256, &sec, &n) >= 0 && n >= 64)
                                snprintf(install_secret, sizeof install_secret, "%.64s", sec);
                }
                (void) vm_pump(500);
        }
        vmtest_step("the install phase uploaded the build after %.0f s: cutting the link and killing keystone install",
                    monotonic_seconds() - t0);
        assert_int_equal(strlen(install_secret), 64);
        assert_true(file_has(phases, "disk "));
        assert_int_equal(vm_qmp_r(vm, "set_link", "{\"name\": \"net0\", \"up\": false}", NULL), 0);
        sleep(3);
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status;
        while (spawn_poll(pid, &status) == 0)
                usleep(100 * 1000);
        assert_int_equal(vm_qmp_r(vm, "set_link", "{\"name\": \"net0\", \"up\": true}", NULL), 0);
        assert_false(file_has(phases, "install "));

        RunResult res;
        t0 = monotonic_seconds();
        assert_int_equal(install_phases(vm, host, state, ALL_PHASES, &res), 0);
        fprintf(stderr, "vmtest: the resumed keystone install took %.1f s\n", monotonic_seconds() - t0);
        assert_has(res.out, "going on with the install phase");
        assert_has(res.out, "install: keystone disk install onto /dev/vdb");
        assert_has(res.out, "install: the owner's Secure Boot keys enrolled (user mode)");
        assert_has(res.out, "install: rpool exported");
        assert_has(res.out, "reboot: the initrd answers (the host's own key)");
        assert_has(res.out, "reboot: the installed system answers to admin; the credstore was opened over SSH");
        assert_has(res.out, "enroll: the TPM opened the credstore with nothing typed");
        assert_has(res.out, "remote is installed on root@127.0.0.1:");
        assert_has(res.out, "secure boot     Secure Boot enabled, user mode");
        assert_has(res.out, "tpm unlock      [ 2/8] cryptsetup-credstore ... ok (");
        assert_has(res.out, "opened with TPM2 token");
        assert_has(res.out, "encryptionroot  [ ");
        assert_has(res.out, "all with encryptionroot");
        assert_has(res.out, "ssh             ssh admin@127.0.0.1 -p ");
        assert_has(res.out, "Recovery key (shown once");
        run_result_done(&res);
}

/* COMMAND as USER on the installed system over OpenSSH, its host key the
 * one the state made (STATE/ssh/host), INPUT on stdin. */
static int machine_ssh(Vm *vm, const char *state, const char *command, const char *input, RunResult *res) {
        char kh_path[PATH_MAX + 32], pub_path[PATH_MAX + 64], id[PATH_MAX + 32];
        snprintf(pub_path, sizeof pub_path, "%s/ssh/host/ssh_host_ed25519_key.pub", state);
        snprintf(kh_path, sizeof kh_path, "%s/machine_known_hosts", vmtest_dir());
        snprintf(id, sizeof id, "%s/ssh/id_ed25519", state);
        pinned_known_hosts(vm, pub_path, kh_path);
        return openssh(vm, "admin", id, kh_path, command, input, res);
}

/* What the install left: the install secret opens nothing and is gone
 * from the state; the recovery key opens the credstore; the state's
 * secrets are 0600. */
static void check_installed(Vm *vm, const char *state) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/credstore.secret", state);
        if (access(path, F_OK) == 0)
                fail_msg("%s is still there after enroll", path);
        RunResult res;
        assert_int_equal(machine_ssh(vm, state, "sudo sh -c 'umask 077 && cat > /run/ks.try'", install_secret, &res), 0);
        run_result_done(&res);
        assert_int_equal(machine_ssh(vm, state, "sudo keystone tpm status /dev/zvol/rpool/credstore --no-tpm "
                                                "--key-file=/run/ks.try", NULL, &res), -EPROTO);
        assert_has(res.err, "opens no keyslot");
        run_result_done(&res);
        snprintf(path, sizeof path, "%s/recovery-key", state);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        _cleanup_free_ char *rk = NULL;
        assert_int_equal(read_first_line(path, &rk), 0);
        assert_int_equal(machine_ssh(vm, state, "sudo shred -z -u /run/ks.try && sudo sh -c 'umask 077 && cat > "
                                                "/run/ks.rk'", rk, &res), 0);
        run_result_done(&res);
        assert_int_equal(machine_ssh(vm, state, "sudo keystone tpm status /dev/zvol/rpool/credstore --no-tpm "
                                                "--key-file=/run/ks.rk && sudo shred -z -u /run/ks.rk", NULL, &res), 0);
        assert_has(res.out, "(recovery)");
        run_result_done(&res);
        /* the first boot took the secret over SSH, this one nothing: both lines were read from the boot log */
        assert_int_equal(machine_ssh(vm, state, "sudo cat /run/keystone-boot.log", NULL, &res), 0);
        assert_has(res.out, "opened with TPM2 token");
        run_result_done(&res);
}

/* The target booted through a BIOS: refused before any write, saying so. */
static void bios_refused(const char *image, const char *blank, const char *host) {
        char kernel[PATH_MAX + 32], initrd[PATH_MAX + 32], esp[PATH_MAX + 32], cmdline_path[PATH_MAX + 32];
        snprintf(kernel, sizeof kernel, "%s/bios-vmlinuz", vmtest_dir());
        snprintf(initrd, sizeof initrd, "%s/bios-initrd.img", vmtest_dir());
        snprintf(esp, sizeof esp, "%s@@1048576", image);
        const char *cp[] = { "mcopy", "-o", "-i", esp, "::/debian/vmlinuz", kernel, NULL };
        const char *ci[] = { "mcopy", "-o", "-i", esp, "::/debian/initrd.img", initrd, NULL };
        setenv("MTOOLS_SKIP_CHECK", "1", 1);
        assert_int_equal(run(cp, NULL, NULL), 0);
        assert_int_equal(run(ci, NULL, NULL), 0);
        /* the image's own command line, beside it in its cache entry */
        snprintf(cmdline_path, sizeof cmdline_path, "%s", image);
        char *slash = strrchr(cmdline_path, '/');
        assert_non_null(slash);
        snprintf(slash, sizeof cmdline_path - (size_t) (slash - cmdline_path), "/cmdline");
        _cleanup_free_ char *cmdline = NULL;
        assert_int_equal(read_first_line(cmdline_path, &cmdline), 0);
        VmConfig c = vmtest_debian_target_config("bios", blank);
        c.secure_boot = false;
        c.bios = true;
        c.kernel = kernel;
        c.initrd = initrd;
        c.cmdline = cmdline;
        Vm *vm = vm_create(&c);
        boot(vm);
        (void) unlink(known_hosts);
        vmtest_debian_fail(vm, "test -d /sys/firmware/efi");
        RunResult res;
        assert_int_equal(install_dry_run(vm, host, NULL, &res), -EPROTO);
        assert_has(res.err, "cannot be installed as it is; nothing on it was changed");
        assert_has(res.err, "the target booted through BIOS (legacy/CSM: no /sys/firmware/efi); Keystone needs UEFI");
        run_result_done(&res);
        vmtest_debian_fail(vm, "blkid -p /dev/vdb");
        vmtest_debian_succeed(vm, "systemctl poweroff || true");
        assert_int_equal(vm_wait_exit_r(vm, 120000), 0);
}

/* bench/install.sh remote: every phase in one run, nothing cut; each
 * phase's time as STATE/phases recorded it. */
static void bench_remote(const char *blank) {
        VmConfig c = vmtest_debian_target_config("bench", blank);
        c.disks[0].boot_index = 2;
        c.disks[1].boot_index = 1;
        Vm *vm = vm_create(&c);
        boot(vm);
        char state[PATH_MAX + 32], phases[PATH_MAX + 48];
        snprintf(state, sizeof state, "%s/bench-state", vmtest_dir());
        snprintf(phases, sizeof phases, "%s/phases", state);
        const char *good = host_file("remote", DISK_ID);
        RunResult res;
        double t0 = monotonic_seconds();
        assert_int_equal(install_phases(vm, good, state, ALL_PHASES, &res), 0);
        double total = monotonic_seconds() - t0;
        run_result_done(&res);
        _cleanup_free_ char *text = NULL;
        size_t n = 0;
        assert_int_equal(read_file_text(phases, 0, &text, &n), 0);
        printf("bench: remote install, every phase: %.0f s\n", total);
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char name[32];
                long long when;
                double secs;
                if (sscanf(l, "%31s %lld %lf", name, &when, &secs) == 3)
                        printf("bench:   %-8s %6.0f s\n", name, secs);
        }
        fflush(stdout);
        vm_stop(vm);
}

static void test_remote_install(void **state) {
        vmtest_init("remote-install");
        const char *build = getenv("BUILD");
        snprintf(keystone, sizeof keystone, "%s/keystone", build && *build ? build : "build");
        assert_int_equal(access(keystone, X_OK), 0);
        snprintf(host_dir, sizeof host_dir, "%s/hosts", vmtest_dir());
        assert_true(mkdir(host_dir, 0700) == 0 || access(host_dir, F_OK) == 0);
        /* the example server's lock: the host files here have its imports, so its
         * packages, and a locked build finds its kernel's ZFS module cached */
        const char *src = getenv("SRCDIR");
        char lock_src[PATH_MAX];
        snprintf(lock_src, sizeof lock_src, "%s/examples/keystone.lock", src && *src ? src : ".");
        const char *cp[] = { "cp", "--", lock_src, host_dir, NULL };
        assert_int_equal(run(cp, NULL, NULL), 0);
        snprintf(known_hosts, sizeof known_hosts, "%s/known_hosts", vmtest_dir());
        snprintf(state_dir, sizeof state_dir, "%s/state", vmtest_dir());
        (void) unlink(known_hosts);

        const char *image;
        vmtest_debian_target(&image);
        char blank[PATH_MAX];
        snprintf(blank, sizeof blank, "%s/blank.img", vmtest_dir());
        vmtest_blank_disk(blank, BLANK_SIZE);
        if (getenv("KEYSTONE_BENCH_REMOTE")) {
                bench_remote(blank);
                return;
        }
        VmConfig c = vmtest_debian_target_config("target", blank);
        Vm *vm = vm_create(&c);
        boot(vm);

        /* 1. the plan */
        RunResult res;
        const char *good = host_file("remote", DISK_ID);
        assert_int_equal(install_dry_run(vm, good, NULL, &res), 0);
        assert_has(res.out, "firmware     UEFI; Secure Boot setup mode");
        assert_has(res.out, "TPM          2.0");
        assert_has(res.out, "Everything on this disk will be erased:");
        assert_has(res.out, "erase  " DISK_ID);
        assert_has(res.out, "vdb");
        assert_has(res.out, "8 GiB");
        assert_has(res.out, "serial " VMTEST_DEBIAN_SERIAL);
        assert_has(res.out, "Dry run: nothing on root@127.0.0.1:");
        run_result_done(&res);
        vmtest_debian_fail(vm, "blkid -p /dev/vdb");

        /* 2. a disk with data: refused, then accepted with --force */
        /* a stock system has util-linux, not always e2fsprogs: a swap signature */
        vmtest_debian_succeed(vm, "mkswap -L precious /dev/vdb >/dev/null && sync");
        assert_int_equal(install_dry_run(vm, good, NULL, &res), -EPROTO);
        assert_has(res.err, "cannot be installed as it is; nothing on it was changed");
        assert_has(res.err, "swap");
        assert_has(res.err, "--force");
        run_result_done(&res);
        assert_string_equal(vmtest_debian_succeed(vm, "blkid -p -s LABEL -o value /dev/vdb"), "precious\n");
        assert_int_equal(install_dry_run(vm, good, "--force", &res), 0);
        assert_has(res.out, "erase  " DISK_ID);
        run_result_done(&res);
        assert_string_equal(vmtest_debian_succeed(vm, "blkid -p -s LABEL -o value /dev/vdb"), "precious\n");

        /* 3. the system's own disk (a machine with one disk): it holds the
         * running system, so only --force erases it; being in use is no
         * refusal, since the installer takes over by kexec and runs in RAM */
        const char *own = host_file("own-disk", "/dev/vda");
        assert_int_equal(install_dry_run(vm, own, NULL, &res), -EPROTO);
        assert_has(res.err, "/dev/vda (4 GiB) is not blank (found: a gpt partition table");
        assert_has(res.err, "then pass --force");
        run_result_done(&res);
        assert_int_equal(install_dry_run(vm, own, "--force", &res), 0);
        assert_has(res.out, "/dev/vda, model unknown, 4 GiB");
        run_result_done(&res);
        vmtest_debian_succeed(vm, "wipefs -q -a /dev/vdb && sync");
        vmtest_debian_fail(vm, "blkid -p /dev/vdb");

        /* 4. too little memory: the same machine with 1024 MB */
        vmtest_debian_succeed(vm, "systemctl poweroff || true");
        assert_int_equal(vm_wait_exit_r(vm, 120000), 0);
        VmConfig small = vmtest_debian_target_config("small", blank);
        small.memory_mb = 1024;
        Vm *vm2 = vm_create(&small);
        boot(vm2);
        /* a new machine: its own host key, so its own known_hosts */
        (void) unlink(known_hosts);
        assert_int_equal(install_dry_run(vm2, good, NULL, &res), -EPROTO);
        assert_has(res.err, "memory");
        assert_has(res.err, "1.5 GB");
        run_result_done(&res);
        vmtest_debian_fail(vm2, "blkid -p /dev/vdb");
        vmtest_debian_succeed(vm2, "systemctl poweroff || true");
        assert_int_equal(vm_wait_exit_r(vm2, 120000), 0);

        /* 4b. no UEFI: the same image started by qemu's BIOS with its own
         * kernel and initrd (direct boot, taken from its ESP) */
        bios_refused(image, blank, good);

        /* 5. the kexec phase, on a fresh machine and a blank disk again
         * (wipefs leaves the bytes of a swap header but its magic) */
        vmtest_blank_disk(blank, BLANK_SIZE);
        VmConfig kc = vmtest_debian_target_config("kexec", blank);
        /* the firmware tries the install's disk first: blank, it falls
         * through to the Debian disk; installed, it boots Keystone */
        kc.disks[0].boot_index = 2;
        kc.disks[1].boot_index = 1;
        Vm *vm3 = vm_create(&kc);
        boot(vm3);
        (void) unlink(known_hosts);
        char mac[64];
        snprintf(mac, sizeof mac, "%s",
                 vmtest_debian_succeed(vm3, "cat /sys/class/net/$(ip -4 route show default | "
                                            "sed -n 's/.* dev \\([^ ]*\\).*/\\1/p' | head -1)/address"));
        mac[strcspn(mac, "\n")] = 0;
        assert_int_equal(strlen(mac), 17);
        char kstate[PATH_MAX];
        snprintf(kstate, sizeof kstate, "%s/kexec-state", vmtest_dir());
        double t0 = monotonic_seconds();
        assert_int_equal(install_phases(vm3, good, kstate, "kexec", &res), 0);
        fprintf(stderr, "vmtest: keystone install --phases kexec took %.1f s\n", monotonic_seconds() - t0);
        assert_has(res.out, "kexec: uploading keystone-kexec, the kernel and the initrd to /run/keystone-kexec … ok (");
        assert_has(res.out, "kexec: waiting for the installer on 127.0.0.1:");
        assert_has(res.out, "The installer runs on root@127.0.0.1:");
        run_result_done(&res);

        /* OpenSSH, the installer's host key as keystone made it */
        char pub_path[PATH_MAX + 64], kh_path[PATH_MAX + 64], id[PATH_MAX + 64];
        snprintf(pub_path, sizeof pub_path, "%s/ssh/installer_host_key.pub", kstate);
        snprintf(kh_path, sizeof kh_path, "%s/installer_known_hosts", vmtest_dir());
        snprintf(id, sizeof id, "%s/ssh/id_ed25519", kstate);
        pinned_known_hosts(vm3, pub_path, kh_path);
        _cleanup_free_ char *cmdline = installer_ssh(vm3, id, kh_path, "cat /proc/cmdline");
        assert_has(cmdline, "keystone.installer ");
        char want[128];
        snprintf(want, sizeof want, "keystone.installer.mac=%s", mac);
        assert_has(cmdline, want);
        assert_has(cmdline, "keystone.installer.address=10.0.2.15/24");
        assert_has(cmdline, "keystone.installer.gateway=10.0.2.2");
        /* the NIC is virtio-net: its driver came in the initrd */
        free(installer_ssh(vm3, id, kh_path, "test -d /sys/module/virtio_net"));
        vm_wait_for_console(vm3, "\\(the key this UKI brought\\)", 10);
        /* the blank disk: there, untouched */
        _cleanup_free_ char *serial = installer_ssh(vm3, id, kh_path, "cat /sys/block/vdb/serial");
        assert_has(serial, VMTEST_DEBIAN_SERIAL);
        const char *blkid[] = { "blkid", "-p", blank, NULL };
        RunResult br = {};
        assert_int_equal(run(blkid, NULL, &br), -EPROTO);
        assert_int_equal(br.exit_status, 2); /* nothing found */
        run_result_done(&br);
        char phases_path[PATH_MAX + 16];
        snprintf(phases_path, sizeof phases_path, "%s/phases", kstate);
        _cleanup_free_ char *first = NULL;
        assert_int_equal(read_first_line(phases_path, &first), 0);
        assert_true(strncmp(first, "kexec ", 6) == 0);

        /* again: kexec ended, nothing to do */
        assert_int_equal(install_phases(vm3, good, kstate, "kexec", &res), 0);
        assert_has(res.out, "nothing to do");
        run_result_done(&res);

        /* 6. the rest, with the connection cut during the install phase */
        install_cut_and_resume(vm3, good, kstate);
        check_installed(vm3, kstate);
        vm_stop(vm3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_remote_install),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
