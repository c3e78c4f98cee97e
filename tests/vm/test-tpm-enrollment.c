/* SPDX-License-Identifier: MIT */
/* tpm-enrollment: keystone's TPM2 unlock on a real boot (issue 5).
 *
 * A trixie guest (tests/vm/hosts/tpm.toml) under Secure Boot OVMF in setup
 * mode with a swtpm of its own and a second, empty virtual disk.  In the
 * guest: cryptsetup makes a LUKS2 volume (small PBKDF), `keystone tpm
 * enroll --pcrs=1+7` binds it to the TPM and `keystone tpm recovery` adds a
 * recovery key.  Then:
 *   - `keystone tpm unlock DEV NAME` activates it: data written through
 *     /dev/mapper/NAME is not on the disk in clear and reads back;
 *   - systemd-cryptsetup (trixie's, 257) activates it with the token
 *     keystone wrote (tpm2-device=auto,headless=1: no password fallback)
 *     and reads the same data;
 *   - after a reboot keystone still unlocks it;
 *   - a db key enrolled in setup mode (another Secure Boot configuration;
 *     nothing enforced yet, so the direct kernel boot still works) and a
 *     reboot: PCR 7 differs, keystone exits 1 naming PCR 7 and pointing at
 *     the recovery key, systemd-cryptsetup fails too, a wrong recovery key
 *     is refused and the right one opens the volume with the data intact.
 *
 * PCR 15: keystone binds it at zero by default (so `keystone tpm measure`
 * can lock the secret for the rest of a boot).  systemd extends PCR 15
 * only on a measured-UKI boot (systemd-pcrmachine/-pcrfs have
 * ConditionSecurity=measured-uki); these VMs boot the kernel directly, so
 * PCR 15 is still zero after the full systemd boot — the test checks that
 * before enrolling, since otherwise the token could never unseal in this
 * boot and enroll would need --no-pcr15. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>

#include "vmtest.h"
#include "vmtest-image.h"

#define DEV "/dev/vdb"
#define ZERO64 "0000000000000000000000000000000000000000000000000000000000000000"
#define MIB 1048576

/* sha256 value of one PCR, 64 hex digits */
static void read_pcr(Vm *vm, int pcr, char out[static 65]) {
        const char *o = vm_succeed(vm, "tpm2_pcrread -Q -o /run/pcr sha256:%d && od -An -v -tx1 /run/pcr | tr -d ' \\n'",
                                   pcr);
        if (strlen(o) != 64)
                vmtest_fail("PCR %d: expected 32 bytes, got '%s'", pcr, o);
        memcpy(out, o, 65);
}

/* data.bin (on the root disk, so it survives reboots) equals the first MiB
 * of the mapping */
static void check_data(Vm *vm, const char *mapper) {
        vm_succeed(vm, "test -b /dev/mapper/%s", mapper);
        vm_succeed(vm, "cmp -n %d /root/data.bin /dev/mapper/%s", MIB, mapper);
}

static void keystone_unlock(Vm *vm) {
        vmtest_step("tpm-enrollment: keystone tpm unlock " DEV " ks");
        vm_succeed(vm, "keystone tpm unlock " DEV " ks");
        check_data(vm, "ks");
        vm_succeed(vm, "cryptsetup close ks && test ! -e /dev/mapper/ks");
}

static void systemd_unlock(Vm *vm) {
        vmtest_step("tpm-enrollment: systemd-cryptsetup attach with keystone's token");
        vm_succeed(vm, "timeout 120 /usr/lib/systemd/systemd-cryptsetup attach sd " DEV
                       " - tpm2-device=auto,headless=1");
        check_data(vm, "sd");
        vm_succeed(vm, "/usr/lib/systemd/systemd-cryptsetup detach sd && test ! -e /dev/mapper/sd");
}

static bool mask_has(const char *list, int pcr) {
        /* "7", "1+7", "1+7+15" */
        for (const char *p = list; *p;) {
                char *end;
                long v = strtol(p, &end, 10);
                if (end == p)
                        return false;
                if (v == pcr)
                        return true;
                p = *end == '+' ? end + 1 : end;
        }
        return false;
}

static void test_tpm_enrollment(void **state) {
        vmtest_init("tpm-enrollment");
        ImageArtifacts a;
        vmtest_build_host("tpm", &a);

        char disk[PATH_MAX];
        snprintf(disk, sizeof disk, "%s/credstore.img", vmtest_dir());
        (void) unlink(disk);
        int fd = open(disk, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || ftruncate(fd, 64 * MIB) < 0)
                vmtest_fail("cannot create %s: %m", disk);
        close(fd);

        VmConfig c = vmtest_config_for(&a, "tpm");
        c.secure_boot = true;
        c.tpm = true;
        c.disks[1] = (VmDisk) { .path = disk, .format = "raw" };
        Vm *vm = vm_create(&c);
        vm_start(vm);
        vm_wait_for_shell(vm, 420);
        vm_wait_for_unit(vm, "multi-user.target", 420);
        vm_succeed(vm, "test -c /dev/tpmrm0");
        assert_string_equal(vm_succeed(vm, "blockdev --getsize64 " DEV), "67108864\n");

        /* keystone from this tree, as vm-terminal checks in detail */
        assert_true(strstr(vm_succeed(vm, "keystone --version"), a.keystone_version) != NULL);

        vmtest_step("tpm-enrollment: PCR 15 is still zero after the full boot");
        char pcr1_sb[65], pcr7_sb[65], pcr15[65];
        read_pcr(vm, 15, pcr15);
        if (!streq(pcr15, ZERO64))
                vmtest_fail("PCR 15 is %s after boot: systemd measured into it, so a token binding PCR 15 at zero "
                            "could not unseal in this boot (enroll with --no-pcr15)", pcr15);
        read_pcr(vm, 1, pcr1_sb);
        read_pcr(vm, 7, pcr7_sb);

        vmtest_step("tpm-enrollment: LUKS2 on " DEV ", enrolled by keystone");
        vm_succeed(vm, "umask 077 && printf %%s test-passphrase > /root/pw && "
                       "cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 "
                       "--key-file /root/pw " DEV);
        vm_succeed(vm, "keystone tpm enroll " DEV " --pcrs=1+7 --unlock-key-file=/root/pw");
        const char *meta = vm_succeed(vm, "cryptsetup luksDump --dump-json-metadata " DEV " | tr -d ' \\n'");
        if (!strstr(meta, "\"type\":\"systemd-tpm2\"") || !strstr(meta, "\"tpm2-pcrs\":[1,7,15]"))
                vmtest_fail("no systemd-tpm2 token bound to PCRs 1+7+15 in the LUKS2 header:\n%s", meta);

        const char *rk = vm_succeed(vm, "keystone tpm recovery " DEV " --unlock-key-file=/root/pw");
        regex_t re;
        assert_int_equal(regcomp(&re, "^[cbdefghijklnrtuv]{8}(-[cbdefghijklnrtuv]{8}){7}\n$", REG_EXTENDED), 0);
        int m = regexec(&re, rk, 0, NULL, 0);
        regfree(&re);
        if (m != 0)
                vmtest_fail("keystone tpm recovery printed no recovery key on stdout: '%s'", rk);
        char recovery[72];
        snprintf(recovery, sizeof recovery, "%.71s", rk);
        char wrong[72];
        memcpy(wrong, recovery, sizeof wrong);
        wrong[0] = wrong[0] == 'c' ? 'b' : 'c';

        /* write through keystone's mapping; the disk must not hold it in clear */
        vmtest_step("tpm-enrollment: keystone unlock, write, read back");
        vm_succeed(vm, "head -c %d /dev/urandom > /root/data.bin && sync", MIB);
        vm_succeed(vm, "keystone tpm unlock " DEV " ks");
        vm_succeed(vm, "dd if=/root/data.bin of=/dev/mapper/ks bs=1M count=1 oflag=direct status=none");
        check_data(vm, "ks");
        vm_succeed(vm, "cryptsetup close ks");
        vm_fail(vm, "cmp -s -n %d /root/data.bin " DEV " 0 16777216", MIB);
        keystone_unlock(vm);
        systemd_unlock(vm);

        vmtest_step("tpm-enrollment: after a reboot");
        vm_reboot(vm, 480);
        vm_wait_until_succeeds(vm, 60, "test -c /dev/tpmrm0");
        char pcr[65];
        read_pcr(vm, 7, pcr);
        assert_string_equal(pcr, pcr7_sb);
        keystone_unlock(vm);
        systemd_unlock(vm);

        /* Another Secure Boot state.  Debian builds both OVMF_CODE_4M.fd and
         * the .secboot one with Secure Boot support, so booting the plain one
         * measures the same PCR 7 (tried: identical).  Instead db gets an
         * entry: still setup mode (no PK), so nothing is enforced and the
         * unsigned direct kernel boot still works, but OVMF measures db into
         * PCR 7. */
        vmtest_step("tpm-enrollment: a db key enrolled in setup mode, reboot");
        vm_succeed(vm, "keystone secureboot keygen --dir /root/sb && "
                       "keystone secureboot export --dir /root/sb --format auth -o /root/sbx && "
                       "{ printf '\\047\\000\\000\\000'; cat /root/sbx/db.auth; } > /root/db.var && "
                       "dd if=/root/db.var of=/sys/firmware/efi/efivars/db-d719b2cb-3d3a-4596-a3bc-dad00e67656f "
                       "bs=1M status=none");
        vm_reboot(vm, 480);
        vm_wait_until_succeeds(vm, 120, "test -c /dev/tpmrm0 && test -b " DEV);
        assert_string_equal(vm_succeed(vm, "od -An -tx1 -j4 /sys/firmware/efi/efivars/"
                                           "SetupMode-8be4df61-93ca-11d2-aa0d-00e098032b8c | tr -d ' \\n'"),
                            "01");
        vm_succeed(vm, "test -s /sys/firmware/efi/efivars/db-d719b2cb-3d3a-4596-a3bc-dad00e67656f");
        read_pcr(vm, 7, pcr);
        if (streq(pcr, pcr7_sb))
                vmtest_fail("PCR 7 is the same (%s) after a db key was enrolled", pcr);
        char pcr1[65];
        read_pcr(vm, 1, pcr1);
        fprintf(stderr, "tpm-enrollment: PCR 7 %.16s… → %.16s…, PCR 1 %s\n", pcr7_sb, pcr,
                streq(pcr1, pcr1_sb) ? "unchanged" : "changed too");

        const char *o = vm_fail(vm, "keystone tpm unlock " DEV " ks; echo \"exit=$?\" >&2; exit 1");
        regex_t pr;
        regmatch_t g[2];
        assert_int_equal(regcomp(&pr, "PCR ([0-9+]+) changed since enrollment", REG_EXTENDED), 0);
        m = regexec(&pr, o, 2, g, 0);
        regfree(&pr);
        char changed[32] = "";
        if (m == 0)
                snprintf(changed, sizeof changed, "%.*s", (int) (g[1].rm_eo - g[1].rm_so), o + g[1].rm_so);
        if (!strstr(o, "exit=1\n") || m != 0 || !mask_has(changed, 7) || !strstr(o, "recovery key"))
                vmtest_fail("keystone tpm unlock did not exit 1 naming PCR 7 and the recovery key:\n%s", o);
        vm_succeed(vm, "test ! -e /dev/mapper/ks");
        vm_fail(vm, "timeout 120 /usr/lib/systemd/systemd-cryptsetup attach sd " DEV " - tpm2-device=auto,headless=1");
        vm_succeed(vm, "test ! -e /dev/mapper/sd");

        vmtest_step("tpm-enrollment: the recovery key opens it");
        vm_fail(vm, "printf %%s '%s' | cryptsetup open --key-file=- " DEV " rk", wrong);
        vm_succeed(vm, "test ! -e /dev/mapper/rk");
        vm_succeed(vm, "printf %%s '%s' | cryptsetup open --key-file=- " DEV " rk", recovery);
        check_data(vm, "rk");
        vm_succeed(vm, "cryptsetup close rk");
        vm_shutdown(vm, 180);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tpm_enrollment),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
