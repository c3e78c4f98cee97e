/* SPDX-License-Identifier: MIT */
/* install/probe.h: the probe's report parsed from fixture reports
 * (the files of tests/unit/probe/: a BIOS machine, 1 GiB of memory, aarch64, UEFI
 * in setup mode with a TPM and a blank disk, user mode with another owner's
 * PK and with the owner's, Secure Boot off, a TPM 1.2, disks with data, a
 * mounted disk, a PK made and listed by Keystone's own secureboot code)
 * and judged by probe_check(), whose every refusal is
 * asserted by what it says; then malformed reports, each refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "../lib/tmpdir.h"
#include "config/config.h"
#include "install/probe.h"
#include "secureboot/keys.h"
#include "secureboot/sbvars.h"
#include "util/hex.h"
#include "util/file-bytes.h"
#include "util/macro.h"
#include "util/strv.h"

static const char owner_pk[] = "keystone-owner-pk-certificate";

/* REL (below the source tree, $SRCDIR) as a path in buf */
static const char *src_path(char *buf, size_t size, const char *rel) {
        const char *src = getenv("SRCDIR");
        snprintf(buf, size, "%s/%s", src ? src : ".", rel);
        return buf;
}

static uint8_t *read_src(const char *rel, size_t *ret_size) {
        char path[4096];
        uint8_t *data = NULL;
        assert_int_equal(read_file_bytes(src_path(path, sizeof path, rel), 0, &data, ret_size), 0);
        return data;
}

static ProbeReport *load(const char *name) {
        char rel[256];
        snprintf(rel, sizeof rel, "tests/unit/probe/%s", name);
        size_t size = 0;
        uint8_t *data = read_src(rel, &size);
        ProbeReport *r = NULL;
        char *error = NULL;
        int q = probe_parse((const char *) data, size, &r, &error);
        if (q < 0)
                fail_msg("%s: %s", name, error ? error : strerror(-q));
        assert_null(error);
        free(data);
        return r;
}

/* What the server example wants: Secure Boot, TPM, /dev/vda. */
static const ProbeWants server = {
        .disk_device = "/dev/vda", .secure_boot = true, .tpm = true,
        .owner_pk = (const uint8_t *) owner_pk, .owner_pk_size = sizeof owner_pk - 1,
};
static const ProbeOptions none = { 0 };

/* probe_check() returns want; the message holds each fragment (NULL-ended) */
static void check(const char *name, const ProbeWants *w, const ProbeOptions *o, int want, const char *const *frags) {
        ProbeReport *r = load(name);
        char *error = NULL;
        int q = probe_check(r, w, o, &error);
        if (q != want)
                fail_msg("%s: probe_check %d, expected %d: %s", name, q, want, error ? error : "(no message)");
        for (const char *const *f = frags; *f; f++)
                if (!error || !strstr(error, *f))
                        fail_msg("%s: expected \"%s\" in: %s", name, *f, error ? error : "(no message)");
        if (want == 0)
                assert_null(error);
        free(error);
        probe_report_free(r);
}
#define CHECK(name, w, o, want, ...) check(name, w, o, want, (const char *const[]) { __VA_ARGS__, NULL })

static void test_parse_values(void **state) {
        ProbeReport *r = load("setup-tpm-blank.txt");
        assert_string_equal(r->arch, "x86_64");
        assert_int_equal(r->mem_total, 2014892ULL * 1024);
        assert_true(r->efi);
        assert_int_equal(r->efivars, PROBE_YES);
        assert_int_equal(r->secure_boot, 0);
        assert_int_equal(r->setup_mode, 1);
        assert_null(r->pk);
        assert_true(r->tpm);
        assert_int_equal(r->tpm_version, 2);
        assert_int_equal(r->kexec_load_disabled, 0);
        assert_string_equal(r->lockdown, "none");
        assert_int_equal(r->n_disks, 1);
        const ProbeDisk *d = &r->disks[0];
        assert_string_equal(d->name, "vda");
        assert_int_equal(d->size, 20ULL << 30);
        assert_null(d->model);
        assert_string_equal(d->serial, "ks-test-1");
        assert_int_equal(d->rotational, PROBE_YES);
        assert_int_equal(d->removable, PROBE_NO);
        assert_int_equal(strv_length(d->ids), 1);
        assert_string_equal(d->ids[0], "virtio-ks-test-1");
        assert_int_equal(d->zero, PROBE_YES);
        assert_false(probe_disk_holds_data(d, NULL));
        /* the network item 4 keeps */
        assert_int_equal(r->n_interfaces, 1);
        assert_string_equal(r->interfaces[0].name, "enp1s0");
        assert_string_equal(r->interfaces[0].mac, "52:54:00:12:34:56");
        assert_int_equal(strv_length(r->interfaces[0].addresses), 2);
        assert_string_equal(r->interfaces[0].addresses[0], "10.0.2.15/24");
        assert_string_equal(r->interfaces[0].dynamic[0], "fec0::5054:ff:fe12:3456/64");
        assert_true(r->ip);
        assert_string_equal(r->gateways[0], "10.0.2.2 enp1s0");
        assert_int_equal(strv_length(r->nameservers), 2);
        assert_string_equal(r->nameservers[1], "2001:db8::53");
        probe_report_free(r);

        /* escapes undone, trailing blanks of sysfs cut */
        r = load("bios.txt");
        assert_string_equal(r->disks[0].model, "Samsung SSD 860 EVO 500GB");
        probe_report_free(r);
        r = load("mounted.txt");
        assert_string_equal(r->disks[0].mounts[2], "sda2 /mnt/a\\b c");
        probe_report_free(r);
        r = load("user-other-keys.txt");
        assert_non_null(r->pk);
        assert_int_equal(r->pk_size, 28 + 16 + 29);
        probe_report_free(r);
}

static void test_check_ok(void **state) {
        /* setup mode, TPM 2.0, a blank disk named by name or by id */
        CHECK("setup-tpm-blank.txt", &server, &none, 0, NULL);
        ProbeWants w = server;
        w.disk_device = "/dev/disk/by-id/virtio-ks-test-1";
        CHECK("setup-tpm-blank.txt", &w, &none, 0, NULL);
        w.disk_device = "vda";
        CHECK("setup-tpm-blank.txt", &w, &none, 0, NULL);
        /* user mode, but the PK is the owner's */
        CHECK("user-owner-pk.txt", &server, &none, 0, NULL);
}

static void test_refuse_machine(void **state) {
        CHECK("bios.txt", &server, &none, -EOPNOTSUPP, "booted through BIOS", "Keystone needs UEFI",
              "set the boot mode to UEFI", "/sys/firmware/efi");
        CHECK("small-memory.txt", &server, &none, -EPERM, "the target has 981.3 MiB of memory (MemTotal)",
              "at least 1.5 GB");
        CHECK("aarch64.txt", &server, &none, -EOPNOTSUPP, "the target is aarch64; Keystone installs only x86_64");
        /* every refusal, one line each */
        ProbeReport *r = load("bios.txt");
        char *error = NULL;
        ProbeWants w = server;
        w.disk_device = "/dev/disk/by-id/wwn-0x5002538e40a1b2c3";
        assert_int_equal(probe_check(r, &w, &none, &error), -EOPNOTSUPP);
        assert_non_null(strstr(error, "\nthe target has no TPM"));
        assert_null(strchr(strchr(error, '\n') + 1, '\n'));
        free(error);
        probe_report_free(r);
}

static void test_secure_boot(void **state) {
        CHECK("user-other-keys.txt", &server, &none, -EPERM, "user mode with another owner's keys",
              "a PK of 1 certificate that is not this host's, Secure Boot on", "put the firmware in setup mode",
              "clear or delete all keys", "--secure-boot=later");
        ProbeOptions later = { .secure_boot_later = true };
        CHECK("user-other-keys.txt", &server, &later, 0, NULL);
        /* with no owner's PK known, the owner's own PK is not recognised */
        ProbeWants w = server;
        w.owner_pk = NULL;
        CHECK("user-owner-pk.txt", &w, &none, -EPERM, "another owner's keys");
        /* off and not in setup mode; the TPM refusal too */
        CHECK("sb-off.txt", &server, &none, -EPERM, "Secure Boot is off and the firmware is not in setup mode",
              "--secure-boot=later", "no TPM", "--no-tpm");
        /* a host without Secure Boot: it must be off */
        w = server;
        w.secure_boot = false;
        CHECK("user-other-keys.txt", &w, &none, -EPERM, "Secure Boot is on and the host file does not enable it");
        CHECK("setup-tpm-blank.txt", &w, &none, 0, NULL);
}

/* The PK Keystone itself enrolls (sb_var_esl of keys made by
 * sb_keys_generate), read back from a report, is recognised by the owner's
 * certificate; another owner's keys are not. */
static void test_owner_pk_enrolled(void **state) {
        char *dirs[2] = { test_tmpdir(), test_tmpdir() };
        assert_int_equal(sb_keys_generate(dirs[0], 2048, "Owner"), 0);
        assert_int_equal(sb_keys_generate(dirs[1], 2048, "Other"), 0);
        X509 *cert = NULL;
        assert_int_equal(sb_cert_load(dirs[0], SB_KEY_PK, &cert), 0);
        uint8_t *der = NULL;
        int der_size = i2d_X509(cert, &der);
        assert_true(der_size > 0);
        ProbeWants w = server;
        w.owner_pk = der;
        w.owner_pk_size = (size_t) der_size;
        for (int i = 0; i < 2; i++) {
                uint8_t *esl = NULL;
                size_t esl_size = 0;
                assert_int_equal(sb_var_esl(dirs[i], SB_KEY_PK, &esl, &esl_size), 0);
                char *hex = NULL, *rep = NULL;
                assert_int_equal(hex_encode(esl, esl_size, &hex), 0);
                assert_true(asprintf(&rep, "keystone-probe 1\narch x86_64\nmem.total-kib 4000000\nefi yes\n"
                                           "efivars yes\nsb.secure-boot 01\nsb.setup-mode 00\nsb.pk %s\ntpm yes\n"
                                           "tpm.version-major 2\ndisk vda\ndisk.zero yes\nend\n", hex) > 0);
                ProbeReport *r = NULL;
                assert_int_equal(probe_parse(rep, strlen(rep), &r, NULL), 0);
                assert_int_equal(r->pk_size, esl_size);
                assert_memory_equal(r->pk, esl, esl_size);
                char *error = NULL;
                int q = probe_check(r, &w, &none, &error);
                if (i == 0) {
                        assert_int_equal(q, 0);
                        assert_null(error);
                } else {
                        assert_int_equal(q, -EPERM);
                        assert_non_null(strstr(error, "another owner's keys"));
                }
                free(error);
                probe_report_free(r);
                free(rep);
                free(hex);
                free(esl);
        }
        OPENSSL_free(der);
        X509_free(cert);
        test_rm_rf(dirs[0]);
        test_rm_rf(dirs[1]);
}

static void test_tpm(void **state) {
        CHECK("tpm12.txt", &server, &none, -EPERM, "TPM is version 1, not 2.0", "--no-tpm", "tpm.enable = false");
        ProbeOptions no_tpm = { .no_tpm = true };
        CHECK("tpm12.txt", &server, &no_tpm, 0, NULL);
        ProbeWants w = server;
        w.tpm = false;
        CHECK("tpm12.txt", &w, &none, 0, NULL);
        CHECK("bios.txt", &w, &none, -EOPNOTSUPP, "BIOS");

        /* a TPM that does not say its version is not taken for 2.0 */
        const char rep[] = "keystone-probe 1\narch x86_64\nmem.total-kib 4000000\nefi yes\nefivars yes\n"
                           "sb.setup-mode 01\ntpm yes\ndisk cciss!c0d0\ndisk.zero yes\nend\n";
        ProbeReport *r = NULL;
        assert_int_equal(probe_parse(rep, sizeof rep - 1, &r, NULL), 0);
        assert_int_equal(r->tpm_version, -1);
        char *error = NULL;
        w = server;
        w.disk_device = "cciss!c0d0";
        assert_int_equal(probe_check(r, &w, &none, &error), -EPERM);
        assert_non_null(strstr(error, "the target's TPM does not say its version"));
        free(error);
        probe_report_free(r);
}

static void test_disk(void **state) {
        ProbeWants w = server;
        ProbeOptions force = { .force = true };
        /* a disk that is not there: what there is, with ids and sizes */
        w.disk_device = "/dev/sda";
        CHECK("data-disk.txt", &w, &none, -ENODEV, "disk.device /dev/sda is not a disk of the target",
              "/dev/nvme0n1 (931.5 GiB, WDC WDS100T2B0C; /dev/disk/by-id/nvme-WDC_WDS100T2B0C_2111AB123456, "
              "/dev/disk/by-id/nvme-eui.e8238fa6bf530001001b448b4a1b2c3d)",
              "/dev/vda (20 GiB; /dev/disk/by-id/virtio-ks-test-1)");
        CHECK("data-disk.txt", &w, &force, -ENODEV, "not a disk of the target");
        w.disk_device = "/dev/nvme0n1p2";
        CHECK("data-disk.txt", &w, &none, -ENODEV, "a partition of /dev/nvme0n1", "Keystone takes a whole disk");
        w.disk_device = "/dev/disk/by-id/virtio-ks-test-2";
        CHECK("data-disk.txt", &w, &none, -ENODEV, "not a disk of the target");
        /* data: what was found; --force lets it by */
        w.disk_device = "/dev/disk/by-id/nvme-WDC_WDS100T2B0C_2111AB123456";
        CHECK("data-disk.txt", &w, &none, -EEXIST,
              "/dev/disk/by-id/nvme-WDC_WDS100T2B0C_2111AB123456 (/dev/nvme0n1, 931.5 GiB) is not blank (found: a "
              "gpt partition table, vfat on nvme0n1p1, crypto_LUKS on nvme0n1p2)", "then pass --force");
        CHECK("data-disk.txt", &w, &force, 0, NULL);
        w.disk_device = "/dev/sdb";
        CHECK("data-disk.txt", &w, &none, -EEXIST, "data in its first MiB");
        w.disk_device = "/dev/sdc";
        CHECK("data-disk.txt", &w, &none, -EEXIST, "could not be read");
        w.disk_device = "/dev/vda";
        CHECK("data-disk.txt", &w, &none, 0, NULL);
        /* in use: refused even with --force */
        w.disk_device = "/dev/sda";
        CHECK("mounted.txt", &w, &force, -EBUSY, "is in use on the target", "/dev/sda1 mounted on /boot/efi",
              "/dev/sda2 mounted on /;", "/dev/sda5 is swap", "/dev/sda3 held by dm-0", "even with --force");
        CHECK("mounted.txt", &w, &none, -EBUSY, "in use", "\n/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001 (/dev/sda, "
              "40 GiB) is not blank");
        /* the one disk of a machine the installer takes over by kexec: released
         * then, but it holds the running system's data */
        ProbeOptions kexec = { .kexec_releases = true }, kexec_force = { .kexec_releases = true, .force = true };
        CHECK("mounted.txt", &w, &kexec, -EEXIST, "is not blank", "then pass --force");
        CHECK("mounted.txt", &w, &kexec_force, 0, NULL);
        /* no disk.device */
        w.disk_device = NULL;
        CHECK("mounted.txt", &w, &none, -ENODEV, "sets no disk.device");
}

static void test_kexec_disabled(void **state) {
        const char rep[] = "keystone-probe 1\narch x86_64\nmem.total-kib 4000000\nefi yes\nefivars yes\n"
                           "sb.setup-mode 01\ntpm yes\ntpm.version-major 2\nkexec.load-disabled 1\n"
                           "disk vda\ndisk.zero yes\nend\n";
        ProbeReport *r = NULL;
        assert_int_equal(probe_parse(rep, sizeof rep - 1, &r, NULL), 0);
        char *error = NULL;
        assert_int_equal(probe_check(r, &server, &none, &error), -EPERM);
        assert_non_null(strstr(error, "kexec is disabled on the target"));
        assert_null(strchr(error, '\n'));
        free(error);
        error = NULL;
        r->kexec_load_disabled = 0;
        assert_int_equal(probe_check(r, &server, &none, &error), 0);
        probe_report_free(r);
}

static void test_wants_from_config(void **state) {
        char path[4096];
        Config *c = NULL;
        assert_int_equal(config_load(src_path(path, sizeof path, "examples/server.toml"), &c, NULL), 0);
        ProbeWants w;
        probe_wants_from_config(c, &w);
        assert_string_equal(w.disk_device, "/dev/vda");
        assert_true(w.secure_boot);
        assert_true(w.tpm);
        assert_null(w.owner_pk);
        config_free(c);
}

static void test_disk_ambiguous(void **state) {
        const char rep[] = "keystone-probe 1\narch x86_64\nmem.total-kib 4000000\nefi no\n"
                           "disk sda\ndisk.id same\ndisk sdb\ndisk.id same\nend\n";
        ProbeReport *r = NULL;
        assert_int_equal(probe_parse(rep, sizeof rep - 1, &r, NULL), 0);
        const ProbeDisk *d = NULL;
        char *error = NULL;
        assert_int_equal(probe_find_disk(r, "/dev/disk/by-id/same", &d, &error), -ENOTUNIQ);
        assert_non_null(strstr(error, "names more than one disk"));
        assert_null(d);
        free(error);
        probe_report_free(r);
}

static void test_plan(void **state) {
        ProbeReport *r = load("data-disk.txt");
        char *plan = NULL;
        assert_int_equal(probe_format_plan(&r->disks[0], "/dev/nvme0n1", &plan), 0);
        assert_string_equal(plan, "erase  /dev/disk/by-id/nvme-WDC_WDS100T2B0C_2111AB123456\n"
                                  "       /dev/nvme0n1, WDC WDS100T2B0C, 931.5 GiB, serial 2111AB123456\n");
        free(plan);
        /* the id the host file names is the one shown */
        assert_int_equal(probe_format_plan(&r->disks[0],
                                           "/dev/disk/by-id/nvme-eui.e8238fa6bf530001001b448b4a1b2c3d", &plan), 0);
        assert_non_null(strstr(plan, "erase  /dev/disk/by-id/nvme-eui.e8238fa6bf530001001b448b4a1b2c3d\n"));
        free(plan);
        /* sdc: no model, no serial */
        assert_int_equal(probe_format_plan(&r->disks[2], "/dev/sdc", &plan), 0);
        assert_string_equal(plan, "erase  /dev/disk/by-id/usb-Generic_Flash_Disk_ABCD1234-0:0\n"
                                  "       /dev/sdc, model unknown, 7.5 GiB\n");
        free(plan);
        probe_report_free(r);
        /* wwn- is preferred over other ids */
        r = load("bios.txt");
        assert_string_equal(probe_disk_id(&r->disks[0], "/dev/sda"), "wwn-0x5002538e40a1b2c3");
        probe_report_free(r);
}

/* A valid report around LINES (inserted after the header lines). */
static int parse_with(const char *lines, char **ret_error) {
        char *rep = NULL;
        assert_true(asprintf(&rep, "keystone-probe 1\narch x86_64\nmem.total-kib 4000000\nefi yes\n%send\n", lines) > 0);
        ProbeReport *r = NULL;
        int q = probe_parse(rep, strlen(rep), &r, ret_error);
        probe_report_free(r);
        free(rep);
        return q;
}

static void test_malformed(void **state) {
        static const struct {
                const char *lines, *why;
        } bad[] = {
                { "disk.size 10\n", "a disk line before any" },
                { "net.if.mac 00:11:22:33:44:55\n", "an interface line before any" },
                { "arch aarch64\n", "a key given twice" },
                { "disk sda\ndisk.size 1\ndisk.size 2\n", "a key given twice" },
                { "disk sda\ndisk sda\n", "a value that does not fit" },
                { "disk ../etc\n", "a value that does not fit" },
                { "disk a/b\n", "a value that does not fit" },
                { "disk \n", "a value that does not fit" },
                { "disk sda\ndisk.size -1\n", "a value that does not fit" },
                { "disk sda\ndisk.size 99999999999999999999999\n", "a value that does not fit" },
                { "disk sda\ndisk.size 12a\n", "a value that does not fit" },
                { "disk sda\ndisk.id a/b\n", "a value that does not fit" },
                { "disk sda\ndisk.id ..\n", "a value that does not fit" },
                { "disk sda\ndisk.mount sda\n", "a value that does not fit" },
                { "disk sda\ndisk.fs ../x ext4\n", "a value that does not fit" },
                { "disk sda\ndisk.zero maybe\n", "a value that does not fit" },
                { "disk sda\ndisk.model a\\x00b\n", "a backslash" },
                { "disk sda\ndisk.model a\\n\n", "a backslash" },
                { "disk sda\ndisk.model a\\x4\n", "a backslash" },
                { "disk sda\ndisk.model tab\there\n", "not printable ASCII" },
                { "disk sda\ndisk.model caf\xc3\xa9\n", "not printable ASCII" },
                { "efi maybe\n", "a key given twice" },
                { "tpm maybe\n", "a value that does not fit" },
                { "sb.setup-mode 1\n", "a value that does not fit" },
                { "sb.setup-mode 0101\n", "a value that does not fit" },
                { "sb.pk abc\n", "a value that does not fit" },
                { "sb.pk zz\n", "a value that does not fit" },
                { "tpm.version-major 2000\n", "a value that does not fit" },
                { "\n", "no key" },
                { " x\n", "no key" },
                { "Arch x86_64\n", "a key of other characters" },
                { "net.gateway 10.0.0.1\n", "a value that does not fit" },
                { "end\n", "text after \"end\"" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *error = NULL;
                int q = parse_with(bad[i].lines, &error);
                if (q != -EBADMSG || !error || !strstr(error, bad[i].why))
                        fail_msg("case %zu (%s): %d %s", i, bad[i].lines, q, error ? error : "(no message)");
                assert_non_null(strstr(error, "probe report line "));
                free(error);
        }

        /* unknown keys of a newer probe are skipped */
        assert_int_equal(parse_with("probe.new-thing 42\ndisk sda\ndisk.new 1\n", NULL), 0);

        /* whole-report problems */
        static const char *const reports[] = {
                "",
                "keystone-probe 2\narch x86_64\nmem.total-kib 4000000\nefi yes\nend\n",
                "keystone-probe 1\narch x86_64\nmem.total-kib 4000000\nefi yes\n",        /* cut short */
                "keystone-probe 1\narch x86_64\nmem.total-kib 4000000\nefi yes\nend\nend\n",
                "keystone-probe 1\narch x86_64\nefi yes\nend\n",                         /* no memory */
                "keystone-probe 1\r\narch x86_64\nmem.total-kib 4000000\nefi yes\nend\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(reports); i++) {
                ProbeReport *r = NULL;
                char *error = NULL;
                int q = probe_parse(reports[i], strlen(reports[i]), &r, &error);
                if (q != -EBADMSG || !error)
                        fail_msg("report %zu: %d %s", i, q, error ? error : "(no message)");
                assert_null(r);
                free(error);
        }
        /* a NUL in the middle */
        const char nul[] = "keystone-probe 1\narch x86\0_64\nmem.total-kib 4000000\nefi yes\nend\n";
        ProbeReport *r = NULL;
        assert_int_equal(probe_parse(nul, sizeof nul - 1, &r, NULL), -EBADMSG);
        /* too large */
        char *big = calloc(1, PROBE_REPORT_MAX + 1);
        assert_non_null(big);
        assert_int_equal(probe_parse(big, PROBE_REPORT_MAX + 1, &r, NULL), -E2BIG);
        free(big);
}

static void test_limits(void **state) {
        /* more disks than PROBE_MAX_DISKS, more ids than PROBE_MAX_ITEMS */
        size_t cap = 64 * (PROBE_MAX_DISKS + PROBE_MAX_ITEMS + 8);
        char *lines = malloc(cap);
        assert_non_null(lines);
        size_t n = 0;
        for (int i = 0; i <= PROBE_MAX_DISKS; i++)
                n += (size_t) snprintf(lines + n, cap - n, "disk d%d\n", i);
        char *error = NULL;
        assert_int_equal(parse_with(lines, &error), -E2BIG);
        assert_non_null(strstr(error, "more entries than allowed"));
        free(error);
        error = NULL;
        n = (size_t) snprintf(lines, cap, "disk sda\n");
        for (int i = 0; i <= PROBE_MAX_ITEMS; i++)
                n += (size_t) snprintf(lines + n, cap - n, "disk.id id-%d\n", i);
        assert_int_equal(parse_with(lines, &error), -E2BIG);
        free(error);
        free(lines);
}

static void test_script_embedded(void **state) {
        /* the script the library carries is probe.sh, byte for byte */
        size_t size = 0;
        uint8_t *data = read_src("src/install/probe.sh", &size);
        assert_int_equal(size, probe_script_size);
        assert_memory_equal(data, probe_script, size);
        assert_int_equal(probe_script[probe_script_size], 0);
        free(data);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_values),
                cmocka_unit_test(test_check_ok),
                cmocka_unit_test(test_refuse_machine),
                cmocka_unit_test(test_secure_boot),
                cmocka_unit_test(test_owner_pk_enrolled),
                cmocka_unit_test(test_tpm),
                cmocka_unit_test(test_disk),
                cmocka_unit_test(test_kexec_disabled),
                cmocka_unit_test(test_wants_from_config),
                cmocka_unit_test(test_disk_ambiguous),
                cmocka_unit_test(test_plan),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_script_embedded),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
