/* SPDX-License-Identifier: MIT */
/* installer_uki(): the installer UKI made from a cached installer entry and
 * an operator's key.  Checks the bytes: the .initrd section is a newc cpio
 * (etc/, etc/keystone-installer/, authorized_keys 0644 holding the key),
 * 4-byte aligned, followed by the cached zstd initrd unchanged (the kernel
 * reads no archive after a compressed one, so the key must come first);
 * .cmdline carries keystone.installer and the address; .linux is the
 * kernel; a key with a newline is refused and nothing is written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "install/installer.h"
#include "secureboot/pe.h"
#include "secureboot/uki.h"
#include "util/file-bytes.h"
#include "util/macro.h"

static char dir[256];

static void put(const char *name, const void *data, size_t n) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, name);
        (void) unlink(p);
        assert_int_equal(write_file_bytes_excl(p, data, n, 0644), 0);
}

static uint8_t *get(const char *name, size_t *n) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, name);
        uint8_t *d = NULL;
        assert_int_equal(read_file_bytes(p, 256 << 20, &d, n), 0);
        return d;
}

static const uint8_t *section(const PeImage *img, const char *name, size_t *n) {
        for (size_t i = 0; i < img->n_sections; i++)
                if (streq(img->sections[i].name, name)) {
                        *n = img->sections[i].virtual_size;
                        return img->data + img->sections[i].pointer_to_raw_data;
                }
        fail_msg("no section %s", name);
        return NULL;
}

static void test_uki(void **state) {
        static const char key[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeystoneTestKeyOnly operator@test";
        /* a cached entry: the "initrd" is a real zstd frame of some bytes */
        static const uint8_t zstd_initrd[] = { 0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x05, 0x29, 0x00, 0x00,
                                               'h', 'e', 'l', 'l', 'o', 0x9a, 0x1b, 0x3c, 0x4d };
        put("initrd.img", zstd_initrd, sizeof zstd_initrd);
        put("vmlinuz", "not really a kernel", 19);
        put("os-release", "ID=debian\n", 10);
        char stub[512], p[512];
        snprintf(stub, sizeof stub, "%s/stub.efi", dir);
        snprintf(p, sizeof p, "cp %s %s", UKI_DEFAULT_STUB, stub);
        assert_int_equal(system(p), 0);
        Installer inst = {};
        snprintf(inst.dir, sizeof inst.dir, "%s", dir);
        snprintf(inst.kernel_version, sizeof inst.kernel_version, "6.12.0-test-amd64");
        char out[512], work[512];
        snprintf(out, sizeof out, "%s/installer.efi", dir);
        snprintf(work, sizeof work, "%s/work", dir);
        assert_int_equal(mkdir(work, 0700), 0);
        char *error = NULL;
        assert_int_equal(installer_uki(&inst, key, "192.0.2.7/24", "console=ttyS0,115200", work, out, &error), 0);
        assert_null(error);

        size_t n = 0;
        uint8_t *uki = get("installer.efi", &n);
        PeImage img;
        char *perr = NULL;
        assert_int_equal(pe_parse(uki, n, &img, &perr), 0);
        free(perr);
        size_t k = 0;
        const uint8_t *cmd = section(&img, ".cmdline", &k);
        static const char want_cmd[] =
                "keystone.installer keystone.installer.address=192.0.2.7/24 console=ttyS0,115200";
        assert_int_equal(k, strlen(want_cmd));
        assert_memory_equal(cmd, want_cmd, k);
        const uint8_t *lx = section(&img, ".linux", &k);
        assert_int_equal(k, 19);
        assert_memory_equal(lx, "not really a kernel", 19);
        const uint8_t *un = section(&img, ".uname", &k);
        assert_int_equal(k, strlen("6.12.0-test-amd64"));
        assert_memory_equal(un, "6.12.0-test-amd64", k);

        const uint8_t *ird = section(&img, ".initrd", &k);
        assert_memory_equal(ird, "070701", 6);
        /* the cached archive, unchanged, last and 4-byte aligned */
        assert_true(k > sizeof zstd_initrd);
        size_t at = k - sizeof zstd_initrd;
        assert_memory_equal(ird + at, zstd_initrd, sizeof zstd_initrd);
        assert_int_equal(at % 4, 0);
        assert_non_null(memmem(ird, at, "TRAILER!!!", 10));

        /* the first archive, read by an independent reader */
        struct archive *a = archive_read_new();
        assert_non_null(a);
        archive_read_support_format_cpio(a);
        assert_int_equal(archive_read_open_memory(a, ird, at), ARCHIVE_OK);
        struct archive_entry *e;
        const char *names[4] = {};
        size_t n_names = 0;
        bool key_ok = false;
        while (archive_read_next_header(a, &e) == ARCHIVE_OK && n_names < 4) {
                names[n_names++] = strdup(archive_entry_pathname(e));
                assert_int_equal(archive_entry_uid(e), 0);
                assert_int_equal(archive_entry_gid(e), 0);
                if (streq(archive_entry_pathname(e), "etc/keystone-installer/authorized_keys")) {
                        assert_int_equal(archive_entry_perm(e), 0644);
                        char buf[256] = "";
                        la_ssize_t r = archive_read_data(a, buf, sizeof buf - 1);
                        assert_int_equal(r, (la_ssize_t) strlen(key) + 1);
                        assert_memory_equal(buf, key, strlen(key));
                        assert_int_equal(buf[strlen(key)], '\n');
                        key_ok = true;
                } else
                        assert_int_equal(archive_entry_filetype(e), AE_IFDIR);
        }
        archive_read_free(a);
        assert_int_equal(n_names, 3);
        assert_string_equal(names[0], "etc");
        assert_string_equal(names[1], "etc/keystone-installer");
        assert_true(key_ok);
        for (size_t i = 0; i < n_names; i++)
                free((char *) names[i]);
        pe_image_done(&img);
        free(uki);

        /* remote install's initrd: the host key it pins rides along, 0600,
         * byte for byte, with its .pub; the whole file is 0600 */
        char hk[600], cmdk[1400], ird_path[600];
        snprintf(hk, sizeof hk, "%s/installer_host_key", dir);
        snprintf(cmdk, sizeof cmdk, "ssh-keygen -q -t ed25519 -N '' -C pinned -f %s", hk);
        assert_int_equal(system(cmdk), 0);
        snprintf(ird_path, sizeof ird_path, "%s/remote-initrd.img", dir);
        assert_int_equal(installer_initrd(&inst, &(InstallerAccess) { .authorized_key = key, .host_key = hk },
                                          ird_path, &error), 0);
        struct stat st;
        assert_int_equal(stat(ird_path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        size_t ird_size = 0, hk_size = 0;
        uint8_t *ird2 = get("remote-initrd.img", &ird_size);
        uint8_t *hk_bytes = get("installer_host_key", &hk_size);
        assert_memory_equal(ird2 + ird_size - sizeof zstd_initrd, zstd_initrd, sizeof zstd_initrd);
        a = archive_read_new();
        archive_read_support_format_cpio(a);
        assert_int_equal(archive_read_open_memory(a, ird2, ird_size - sizeof zstd_initrd), ARCHIVE_OK);
        bool priv_ok = false, pub_ok = false, auth_ok = false;
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                const char *name = archive_entry_pathname(e);
                char buf[4096] = "";
                la_ssize_t got = archive_read_data(a, buf, sizeof buf);
                if (streq(name, "etc/ssh/ssh_host_ed25519_key")) {
                        assert_int_equal(archive_entry_perm(e), 0600);
                        assert_int_equal(got, (la_ssize_t) hk_size);
                        assert_memory_equal(buf, hk_bytes, hk_size);
                        priv_ok = true;
                } else if (streq(name, "etc/ssh/ssh_host_ed25519_key.pub")) {
                        assert_int_equal(archive_entry_perm(e), 0644);
                        assert_non_null(strstr(buf, "ssh-ed25519 "));
                        assert_non_null(strstr(buf, " pinned"));
                        pub_ok = true;
                } else if (streq(name, "etc/keystone-installer/authorized_keys"))
                        auth_ok = got == (la_ssize_t) strlen(key) + 1 && !memcmp(buf, key, strlen(key));
        }
        archive_read_free(a);
        assert_true(priv_ok && pub_ok && auth_ok);
        free(ird2);
        free(hk_bytes);

        /* a second line in the key is refused, and nothing is written */
        char bad_out[600];
        snprintf(bad_out, sizeof bad_out, "%s/bad.efi", dir);
        assert_int_equal(installer_uki(&inst, "ssh-ed25519 AAAA x\ncommand=\"sh\" ssh-ed25519 BBBB", "192.0.2.7/24",
                                       NULL, work, bad_out, &error), -EINVAL);
        assert_non_null(error);
        assert_non_null(strstr(error, "one line"));
        free(error);
        assert_int_equal(access(bad_out, F_OK), -1);
}

int main(void) {
        if (access(UKI_DEFAULT_STUB, R_OK) < 0) {
                printf("skip: no %s (package systemd-boot-efi)\n", UKI_DEFAULT_STUB);
                return 77;
        }
        snprintf(dir, sizeof dir, "/tmp/test-installer-uki.XXXXXX");
        if (!mkdtemp(dir))
                return 1;
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_uki) };
        int r = cmocka_run_group_tests(tests, NULL, NULL);
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
                r = r ? r : 1;
        return r;
}
