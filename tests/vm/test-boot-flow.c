/* SPDX-License-Identifier: MIT */
/* boot-flow: an installed generation boots through the plan's boot flow.
 *
 * On the host: the owner's Secure Boot keys (sb_keys_generate) and
 * `keystone build tests/vm/hosts/boot-flow.toml --keys … -o GEN` (the
 * generation: rootfs, Keystone's initrd, signed UKI and systemd-boot),
 * copied into an ext4 image with mkfs.ext4 -d.
 *
 * The installer VM (the "installer" test image: keystone, ZFS, avahi) under
 * Secure Boot OVMF in setup mode, with a blank target disk and the build
 * image: `keystone disk apply` with a new credstore secret, `keystone disk
 * install --from` the build, `keystone secureboot enroll`, power off.
 *
 * The target VM boots that disk alone, with the installer's UEFI variables
 * (user mode, Secure Boot on) and a swtpm: firmware → signed systemd-boot →
 * signed UKI → keystone-init, which asks on the console for the credstore
 * secret (the TPM has no token yet); the test types it.  Then, in the
 * booted generation: / is generations/1, /var and /home are their datasets,
 * the credstore is closed, PCR 15 is not zero, swap is on dm-crypt, Secure
 * Boot is on, sshd lets alice in with her key and no one with another.
 * boot-flow.local resolves over mDNS from the other end of the target's LAN
 * NIC, a network namespace on this host (vmtest_netns()); from there SSH
 * answers and port 2222 (a second sshd listens on it) gets no answer at
 * all, dropped by the server role's nftables, and answers once the ruleset
 * is flushed.
 * `keystone tpm enroll`, reboot: keystone-init unlocks with the TPM and
 * nothing is typed.  Last, a dataset with an encryption root of its own is
 * planted: the next boot stops at the encryptionroot check, naming it.
 *
 * With KEYSTONE_BENCH_BOOT=DIR (bench/boot.sh) the scenario also times the
 * boot: DIR holds Debian's own initrd for this disk (bench/boot-dracut.sh:
 * vmlinuz, initrd-dracut.img, cmdline), made with the ZFS modules the
 * generation carries, signed by the keys in KEYSTONE_BENCH_KEYS (which the
 * scenario then uses: with Secure Boot on the kernel loads no others).  A second UKI around it, signed with
 * the same db key, goes on the ESP (mtools, before the target first boots);
 * after `keystone tpm enroll` the target boots each way three times,
 * alternating (loader.conf's default), both unlocking with the TPM, and
 * prints "bench: ..." lines: seconds from the kernel's first console line
 * to the switch into the generation, and the initrd sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "secureboot/keys.h"
#include "secureboot/uki.h"
#include "util/clock.h"
#include "util/run.h"
#include "vmtest.h"
#include "vmtest-esp.h"
#include "vmtest-image.h"
#include "vmtest-net.h"

#define HOSTNAME "boot-flow"

static void assert_contains(const char *what, const char *text, const char *needle) {
        if (!strstr(text, needle))
                vmtest_fail("%s does not show \"%s\":\n%s", what, needle, text);
}

static void host_run(const char *what, const char *const *argv, char **ret_out) {
        vmtest_step("%s", what);
        RunResult res = {};
        int r = run(argv, &(RunOptions) { .timeout_ms = 60 * 60 * 1000 }, &res);
        if (r < 0)
                vmtest_fail("%s failed: %s", what, run_result_describe(&res));
        if (res.out)
                fprintf(stderr, "%s", res.out);
        if (ret_out)
                *ret_out = res.out ? strdup(res.out) : strdup("");
        run_result_done(&res);
}

static void blank_disk(const char *path, long long bytes) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, bytes), 0);
        close(fd);
}

/* ssh as USER with KEY to the VM's forwarded port; the exit status */
static int ssh_as(Vm *vm, const char *user, const char *key, const char *command, char **ret_out) {
        char port[16], who[64];
        snprintf(port, sizeof port, "%d", vm_ssh_port(vm));
        snprintf(who, sizeof who, "%s@127.0.0.1", user);
        const char *argv[] = { "ssh", "-F", "/dev/null", "-p", port, "-o", "BatchMode=yes", "-o",
                               "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o",
                               "ConnectTimeout=20", "-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes", "-i", key,
                               who, command, NULL };
        RunResult res = {};
        int r = run(argv, &(RunOptions) { .timeout_ms = 60000 }, &res);
        if (ret_out)
                *ret_out = strdup(res.out ? res.out : "");
        run_result_done(&res);
        return r;
}

/* The target's LAN NIC (VmConfig.lan_netns, MAC 52:54:00:4b:53:01) gets
 * LAN_GUEST through systemd-networkd (which would drop an address added
 * with ip behind its back), the namespace's end of the link LAN_PEER. */
#define LAN_GUEST "10.77.0.1"
#define LAN_PEER "10.77.0.2"
static void lan_up(Vm *vm) {
        vmtest_netns_lan_up(LAN_PEER "/24");
        /* udev may still be loading virtio_net, networkd still starting */
        vm_wait_until_succeeds(vm, 180, "ip -o link | grep -q 52:54:00:4b:53:01 && mkdir -p /run/systemd/network && "
                                        "printf '[Match]\\nMACAddress=52:54:00:4b:53:01\\n[Network]\\n"
                                        "Address=" LAN_GUEST "/24\\nLinkLocalAddressing=no\\nIPv6AcceptRA=no\\n' "
                                        "> /run/systemd/network/10-keystone-test-lan.network && networkctl reload");
        vm_wait_until_succeeds(vm, 120, "ip -4 -o addr | grep -q 'inet " LAN_GUEST "/24'");
        vm_wait_for_unit(vm, "avahi-daemon.service", 120);
}

/* ---- the boot benchmark (KEYSTONE_BENCH_BOOT) ---- */

static off_t file_size(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Debian's initrd as a signed UKI on the target's ESP: EFI/Linux/dracut.efi */
static void bench_prepare(const char *dracut, const char *gen, const char *keys, const char *target) {
        char stub[PATH_MAX], initrd[PATH_MAX], cmdfile[PATH_MAX], kernel[PATH_MAX], uki[PATH_MAX], cmdline[1024] = "";
        snprintf(stub, sizeof stub, "%s/dracut-stub.efi", vmtest_dir());
        snprintf(initrd, sizeof initrd, "%s/initrd-dracut.img", dracut);
        snprintf(cmdfile, sizeof cmdfile, "%s/cmdline", dracut);
        snprintf(kernel, sizeof kernel, "%s/vmlinuz", gen);
        snprintf(uki, sizeof uki, "%s/dracut.efi", vmtest_dir());
        char rootfs[PATH_MAX], member[] = "./usr/lib/systemd/boot/efi/linuxx64.efi.stub", osrel[PATH_MAX];
        snprintf(rootfs, sizeof rootfs, "%s/rootfs.tar", gen);
        snprintf(osrel, sizeof osrel, "%s/dracut-os-release", vmtest_dir());
        /* the generation's own stub and os-release, as keystone's UKI has:
         * systemd-boot lists no UKI without an .osrel section */
        char script[PATH_MAX * 4];
        snprintf(script, sizeof script, "tar -xOf '%s' '%s' > '%s' && tar -xOf '%s' ./usr/lib/os-release > '%s'",
                 rootfs, member, stub, rootfs, osrel);
        const char *sh[] = { "sh", "-c", script, NULL };
        host_run("the generation's systemd-stub and os-release", sh, NULL);
        FILE *f = fopen(cmdfile, "re");
        if (!f || !fgets(cmdline, sizeof cmdline - 64, f))
                vmtest_fail("cannot read %s", cmdfile);
        fclose(f);
        cmdline[strcspn(cmdline, "\n")] = 0;
        strcat(cmdline, " console=tty0 console=ttyS0,115200");
        EVP_PKEY *key = NULL;
        X509 *cert = NULL;
        int r = sb_key_load(keys, SB_KEY_DB, &key, &cert);
        if (r < 0)
                vmtest_fail("cannot load the db key from %s: %s", keys, strerror(-r));
        UkiInputs in = { .stub = stub, .linux_path = kernel, .initrd_path = initrd, .cmdline = cmdline,
                         .os_release_path = osrel };
        _cleanup_free_ char *failed = NULL;
        r = uki_assemble_signed(&in, key, cert, uki, &failed);
        EVP_PKEY_free(key);
        X509_free(cert);
        if (r < 0)
                vmtest_fail("assembling the dracut UKI failed: %s", failed ? failed : strerror(-r));
        char img[PATH_MAX + 16];
        snprintf(img, sizeof img, "%s@@%d", target, 2048 * 512);
        const char *mcopy[] = { "mcopy", "-o", "-i", img, uki, "::/EFI/Linux/dracut.efi", NULL };
        host_run("dracut.efi onto the target's ESP", mcopy, NULL);
}

/* One timed boot through ENTRY: kernel's first line → switch into the generation. */
static double bench_boot_once(Vm *vm, const char *entry, const char *switch_regex) {
        /* the ESP (fstab: PARTLABEL=ESP on /boot) may still be on its way */
        vm_wait_until_succeeds(vm, 300, "mountpoint -q /boot");
        vm_succeed(vm, "printf 'timeout 0\\neditor no\\ndefault %s\\n' > /boot/loader/loader.conf && sync", entry);
        vm_console_mark_end(vm); /* the waits below must not match the last boot's lines */
        int r = vm_shell_send_r(vm, "systemctl reboot");
        if (r < 0)
                vmtest_fail("cannot ask the target to reboot: %s", strerror(-r));
        vm_wait_for_console(vm, "Linux version", 600);
        double t0 = monotonic_seconds();
        vm_wait_for_console(vm, switch_regex, 600);
        double t1 = monotonic_seconds();
        vm_wait_for_shell(vm, 600);
        /* systemd-boot says which entry it started (UTF-16LE after 4 bytes
         * of attributes): a loader.conf default that matched nothing would
         * time the other path twice */
        const char *hex = vm_succeed(vm, "od -An -v -tx1 -j4 /sys/firmware/efi/efivars/"
                                         "LoaderEntrySelected-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f");
        char sel[128] = "";
        size_t n = 0;
        unsigned byte, i = 0;
        for (int used; n + 1 < sizeof sel && sscanf(hex, " %2x%n", &byte, &used) == 1; hex += used, i++)
                if (i % 2 == 0 && byte)
                        sel[n++] = (char) byte;
        sel[n] = 0;
        if (strcmp(sel, entry) != 0)
                vmtest_fail("the bench asked systemd-boot for %s and it started \"%s\"", entry, sel);
        return t1 - t0;
}

static void bench_run(Vm *vm, const char *gen, const char *dracut) {
        double k[3], d[3];
        for (int i = 0; i < 3; i++) {
                k[i] = bench_boot_once(vm, "keystone-1.efi", "switch-root \\.\\.\\.");
                assert_string_equal(vm_succeed(vm, "findmnt -n -o SOURCE /"), "rpool/crypt/system/generations/1\n");
                d[i] = bench_boot_once(vm, "dracut.efi", "Starting .*initrd-switch-root");
                assert_string_equal(vm_succeed(vm, "findmnt -n -o SOURCE /"), "rpool/crypt/system/generations/1\n");
                printf("bench: round %d keystone-init %.2f s, dracut %.2f s\n", i + 1, k[i], d[i]);
                fflush(stdout);
        }
        /* the dracut path must have used the TPM too: no prompt was answered */
        double ks = 0, ds = 0;
        for (int i = 0; i < 3; i++)
                ks += k[i], ds += d[i];
        char ki[PATH_MAX], di[PATH_MAX];
        snprintf(ki, sizeof ki, "%s/initrd.img", gen);
        snprintf(di, sizeof di, "%s/initrd-dracut.img", dracut);
        printf("bench: mean keystone-init %.2f s, dracut %.2f s, ratio %.3f\n", ks / 3, ds / 3, ks / ds);
        printf("bench: initrd keystone %.1f MiB, dracut %.1f MiB\n", file_size(ki) / 1048576.0,
               file_size(di) / 1048576.0);
        fflush(stdout);
        vm_wait_until_succeeds(vm, 300, "mountpoint -q /boot");
        vm_succeed(vm, "printf 'timeout 0\\neditor no\\ndefault keystone-*\\n' > /boot/loader/loader.conf && sync");
}

static void test_boot_flow(void **state) {
        vmtest_init("boot-flow");
        const char *src = getenv("SRCDIR"), *build = getenv("BUILD");
        src = src && *src ? src : ".";
        char keystone[PATH_MAX], host[PATH_MAX], keys[PATH_MAX], gen[PATH_MAX], gen_img[PATH_MAX],
                target[PATH_MAX], secret_file[PATH_MAX];
        snprintf(keystone, sizeof keystone, "%s/keystone", build && *build ? build : "build");
        snprintf(host, sizeof host, "%s/tests/vm/hosts/" HOSTNAME ".toml", src);
        snprintf(keys, sizeof keys, "%s/keys", vmtest_dir());
        snprintf(gen, sizeof gen, "%s/generation", vmtest_dir());
        snprintf(gen_img, sizeof gen_img, "%s/generation.img", vmtest_dir());
        snprintf(target, sizeof target, "%s/target.img", vmtest_dir());
        snprintf(secret_file, sizeof secret_file, "%s/credstore.secret", vmtest_dir());

        /* 1. on the host: keys, the generation, the build image */
        static ImageArtifacts inst; /* the VMs' configurations point into it */
        vmtest_build_host("installer", &inst);
        const char *priv, *pub;
        vmtest_ssh_key(&priv, &pub);
        int r;
        const char *bench_keys = getenv("KEYSTONE_BENCH_KEYS");
        if (bench_keys && *bench_keys) {
                /* bench/boot.sh signed the dracut initrd's ZFS modules with these */
                snprintf(keys, sizeof keys, "%s", bench_keys);
        } else {
                vmtest_step("keygen in %s", keys);
                r = sb_keys_generate(keys, 2048, "Boot Flow Owner");
                if (r < 0)
                        vmtest_fail("generating Secure Boot keys in %s failed: %s", keys, strerror(-r));
        }
        _cleanup_free_ char *built = NULL;
        const char *b[] = { keystone, "build", host, "--keys", keys, "--test", "--ssh-key", pub, "-o", gen, NULL };
        host_run("keystone build " HOSTNAME ".toml", b, &built);
        assert_contains("keystone build", built, "initrd.img");
        assert_contains("keystone build", built, "UKI, signed with the db key");
        const char *mkfs[] = { "mkfs.ext4", "-q", "-F", "-L", "keystone-build", "-d", gen, gen_img, "1G", NULL };
        host_run("the build as an ext4 image", mkfs, NULL);
        blank_disk(target, 4LL << 30);
        const char *bench = getenv("KEYSTONE_BENCH_BOOT");

        /* 2. the installer: disk apply, install, Secure Boot keys */
        VmConfig ic = vmtest_config_for(&inst, "installer");
        ic.secure_boot = true;
        ic.disks[1] = (VmDisk) { .path = target, .format = "raw" };
        ic.disks[2] = (VmDisk) { .path = gen_img, .format = "raw" };
        ic.memory_mb = 1536;
        Vm *inst_vm = vm_create(&ic);
        vm_start(inst_vm);
        vm_wait_for_shell(inst_vm, 300);
        vm_copy_to(inst_vm, host, "/root/host.toml");
        vm_succeed(inst_vm, "mkdir -p /run/build && mount -o ro /dev/vdc /run/build && modprobe zfs");
        vmtest_step("installer: keystone disk apply");
        vm_succeed(inst_vm, "keystone disk apply /root/host.toml --device /dev/vdb --yes "
                            "--credstore-new-key-file /root/credstore.secret");
        vmtest_step("installer: keystone disk install");
        const char *o = vm_succeed(inst_vm, "keystone disk install /root/host.toml --from /run/build "
                                            "--device /dev/vdb --credstore-key-file /root/credstore.secret --no-tpm");
        assert_contains("disk install", o, "Generation 1 is installed");
        assert_contains("disk install", o, "EFI/Linux/keystone-1.efi");
        /* the ESP holds what the build signed, byte for byte */
        vm_succeed(inst_vm, "mkdir -p /run/esp && mount -o ro /dev/vdb1 /run/esp && "
                            "cmp /run/esp/EFI/Linux/keystone-1.efi /run/build/esp/EFI/Linux/keystone-1.efi && "
                            "cmp /run/esp/EFI/BOOT/BOOTX64.EFI /run/build/esp/EFI/BOOT/BOOTX64.EFI && umount /run/esp");
        /* a second install of the same generation is refused */
        o = vm_fail(inst_vm, "keystone disk install /root/host.toml --from /run/build --device /dev/vdb "
                             "--credstore-key-file /root/credstore.secret --no-tpm");
        assert_contains("a second install", o, "already exists");
        vm_succeed(inst_vm, "test ! -e /dev/mapper/keystone-credstore && ! zpool list rpool 2>/dev/null");
        _cleanup_free_ char *secret = strdup(vm_succeed(inst_vm, "cat /root/credstore.secret"));
        assert_int_equal(strlen(secret), 64);
        int fd = open(secret_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0 && write(fd, secret, 64) == 64);
        close(fd);
        vmtest_copy_sb_keys(inst_vm, keys);
        vmtest_step("installer: keystone secureboot enroll");
        vm_succeed(inst_vm, "keystone secureboot enroll --force");
        assert_contains("status after enroll", vm_succeed(inst_vm, "keystone secureboot status"),
                        "SetupMode: 0 (user mode)");
        vm_shutdown(inst_vm, 120);
        if (bench && *bench)
                bench_prepare(bench, gen, keys, target);

        /* 3. the target: first boot asks for the secret */
        char vars[PATH_MAX];
        snprintf(vars, sizeof vars, "%s/OVMF_VARS.fd", vm_dir(inst_vm));
        /* its second NIC is on a LAN whose other end is the test's network
         * namespace on this host: another machine on that LAN, for mDNS */
        VmConfig tc = { .name = "target", .secure_boot = true, .vars_file = vars, .tpm = true, .ssh = true,
                        .memory_mb = 1024, .lan_netns = vmtest_netns() };
        tc.disks[0] = (VmDisk) { .path = target, .format = "raw" };
        Vm *vm = vm_create(&tc);
        vm_start(vm);
        vm_wait_for_console(vm, "keystone-init [^ ]+$", 300);
        vm_wait_for_console(vm, "The TPM did not unlock the credstore", 120);
        vm_wait_for_console(vm, "Password or recovery key for the credstore:", 60);
        vmtest_step("target: type the credstore secret on the console");
        char line[80];
        snprintf(line, sizeof line, "%s\r", secret);
        if ((r = vm_console_type_r(vm, line)) < 0)
                vmtest_fail("typing on the console failed: %s", strerror(-r));
        explicit_bzero(line, sizeof line);
        vm_wait_for_console(vm, "cryptsetup-credstore .*ok .*opened with password or recovery key", 120);
        vm_wait_for_console(vm, "switch-root", 120);
        vm_wait_for_shell(vm, 300);

        vmtest_step("target: / is the generation, /var and /home their datasets");
        assert_string_equal(vm_succeed(vm, "findmnt -n -o SOURCE,FSTYPE /"),
                            "rpool/crypt/system/generations/1 zfs\n");
        assert_string_equal(vm_succeed(vm, "findmnt -n -o SOURCE /var"), "rpool/crypt/system/var\n");
        assert_string_equal(vm_succeed(vm, "findmnt -n -o SOURCE /home"), "rpool/crypt/home\n");
        assert_string_equal(vm_succeed(vm, "zfs get -H -o value encryptionroot rpool/crypt/system/generations/1"),
                            "rpool/crypt\n");
        vmtest_step("target: the credstore is closed, PCR 15 extended");
        vm_succeed(vm, "test ! -e /dev/mapper/keystone-credstore");
        const char *pcr = vm_succeed(vm, "tpm2_pcrread -Q -o /run/pcr15 sha256:15 && od -An -v -tx1 /run/pcr15 | "
                                         "tr -d ' \\n'");
        if (strspn(pcr, "0") == strlen(pcr))
                vmtest_fail("PCR 15 is still zero after keystone-init: '%s'", pcr);
        vmtest_step("target: swap on dm-crypt with a random key");
        o = vm_wait_until_succeeds(vm, 300, "swapon --show=NAME --noheadings | grep -q . && "
                                            "lsblk -n -o TYPE \"$(swapon --show=NAME --noheadings | head -1)\"");
        assert_string_equal(o, "crypt\n");
        vmtest_step("target: Secure Boot is on");
        o = vm_succeed(vm, "keystone secureboot status");
        assert_contains("secureboot status in the installed system", o, "SecureBoot: enabled");
        assert_contains("secureboot status in the installed system", o, "SetupMode: 0 (user mode)");
        assert_contains("secureboot status in the installed system", o, "Signature Database Key");
        assert_string_equal(vm_succeed(vm, "od -An -tx1 -j4 "
                                           "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"),
                            " 01\n");

        vmtest_step("target: sshd lets alice in with her key");
        vm_wait_for_unit(vm, "ssh.service", 120);
        _cleanup_free_ char *who = NULL;
        if (ssh_as(vm, "alice", priv, "id -un", &who) < 0 || !streq(who, "alice\n"))
                vmtest_fail("ssh alice@ with the test key did not log in (got '%s')", who ? who : "");
        char other[PATH_MAX];
        snprintf(other, sizeof other, "%s/other-key", vmtest_dir());
        const char *kg[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other, NULL };
        host_run("another ssh key", kg, NULL);
        if (ssh_as(vm, "alice", other, "id -un", NULL) >= 0)
                vmtest_fail("sshd accepted a key that is not alice's");

        vmtest_step("mDNS: " HOSTNAME ".local resolves from another machine on the LAN");
        lan_up(vm);
        const char *addr = vmtest_mdns_resolve(HOSTNAME ".local", 120);
        if (strcmp(addr, LAN_GUEST) != 0)
                vmtest_fail("mDNS answered %s for " HOSTNAME ".local, not the target's LAN address " LAN_GUEST, addr);
        /* avahi publishes the host name and nothing else */
        char none[64];
        if (vmtest_mdns_resolve_r(vmtest_netns(), "not-" HOSTNAME ".local", 5000, none, sizeof none) != -ETIMEDOUT)
                vmtest_fail("mDNS answered for not-" HOSTNAME ".local");

        /* issue 15 item 7: the server role's nftables lets SSH in from the
         * LAN and drops the rest.  Something listens on 2222 in the guest (a
         * second sshd), so that a drop there is the firewall's doing, not a
         * closed port's RST; with the ruleset flushed it answers. */
        vmtest_step("firewall: from the LAN, SSH answers and port 2222 is dropped");
        vm_succeed(vm, "/usr/sbin/sshd -p 2222 -o PidFile=/run/sshd-2222.pid && for i in $(seq 50); do "
                       "ss -Hltn 'sport = :2222' | grep -q . && exit 0; sleep 0.1; done; exit 1");
        assert_contains("the guest's ruleset", vm_succeed(vm, "nft list chain inet keystone input"), "policy drop");
        char banner[128];
        int r22 = vmtest_tcp_probe_r(vmtest_netns(), LAN_GUEST, 22, 10000, banner, sizeof banner);
        if (r22 < 0 || strncmp(banner, "SSH-2.0-", 8) != 0)
                vmtest_fail("SSH on " LAN_GUEST ":22 from the LAN: %s (banner '%s')", r22 < 0 ? strerror(-r22) : "ok",
                            banner);
        int r2222 = vmtest_tcp_probe_r(vmtest_netns(), LAN_GUEST, 2222, 3000, NULL, 0);
        if (r2222 != -ETIMEDOUT)
                vmtest_fail("port 2222 from the LAN: %s, want no answer at all (dropped)",
                            r2222 == 0 ? "connected" : strerror(-r2222));
        vm_succeed(vm, "nft flush ruleset");
        r2222 = vmtest_tcp_probe_r(vmtest_netns(), LAN_GUEST, 2222, 10000, banner, sizeof banner);
        if (r2222 < 0 || strncmp(banner, "SSH-2.0-", 8) != 0)
                vmtest_fail("port 2222 with the ruleset flushed: %s: the listener did not answer, so the drop "
                            "above proves nothing", r2222 < 0 ? strerror(-r2222) : "no banner");
        vm_succeed(vm, "kill $(cat /run/sshd-2222.pid) && systemctl restart nftables.service");

        vmtest_step("target: keystone tpm enroll");
        vm_copy_to(vm, secret_file, "/root/credstore.secret");
        vm_succeed(vm, "chmod 600 /root/credstore.secret && keystone tpm enroll /dev/zvol/rpool/credstore "
                       "--unlock-key-file=/root/credstore.secret && rm /root/credstore.secret");
        vm_reboot(vm, 600);
        _cleanup_free_ char *console = vm_console_copy(vm);
        const char *boot = console;
        for (const char *p; (p = strstr(boot + 1, "keystone-init "));)
                boot = p;
        assert_contains("the boot after tpm enroll", boot, "opened with TPM2 token");
        /* this VM's CPU has no RDRAND: the kernel's pool is seeded from the TPM */
        assert_contains("the boot after tpm enroll", boot, "256 bits from the TPM credited to the kernel's random pool");
        if (strstr(boot, "Password or recovery key"))
                vmtest_fail("the boot after tpm enroll asked for a password:\n%s", boot);
        assert_string_equal(vm_succeed(vm, "findmnt -n -o SOURCE /"), "rpool/crypt/system/generations/1\n");

        if (bench && *bench)
                bench_run(vm, gen, bench);

        vmtest_step("target: a dataset with an encryption root of its own is refused");
        /* -u: not mounted now (once, something in the guest made
         * /srv/planted between libzfs's check and its mkdir, and the create
         * failed); canmount stays on, so the next boot must refuse it */
        vm_succeed(vm, "printf 'planted-passphrase\\n' | zfs create -u -o encryption=on -o keyformat=passphrase "
                       "-o keylocation=prompt -o mountpoint=/srv/planted rpool/planted");
        if ((r = vm_shell_send_r(vm, "systemctl reboot")) < 0)
                vmtest_fail("cannot ask the target to reboot: %s", strerror(-r));
        vm_wait_for_console(vm, "refusing to mount rpool/planted on /srv/planted: its encryptionroot is "
                                "rpool/planted, not rpool/crypt", 600);
        vm_wait_for_console(vm, "PCR 15 extended", 60);
        vm_stop(vm);
}

int main(void) {
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_boot_flow) };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
