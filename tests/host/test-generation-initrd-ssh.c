/* SPDX-License-Identifier: MIT */
/* Unlock over SSH in the initrd, what the build makes: the generation's
 * initrd (generation_initrd_build(), the function `keystone build` runs)
 * from a small tree made of this machine's sshd, ip and sh, in a cache
 * entry; then the build directory (generation_write_output(), what
 * `keystone build -o` runs), with --host-keys, --ssh-key and the db key.
 * Read back with libarchive and the PE reader:
 *
 *   - the cached initrd has sshd, sshd-session, sshd-auth, ip, sh and every
 *     library sshd needs (its DT_NEEDED, by objdump -p), passwd/group/shadow
 *     for root and sshd, and nothing of etc/keystone-initrd;
 *   - DIR/initrd.img (0600) is a cpio of etc/keystone-initrd/ (authorized_keys
 *     with the sudo user's key and --ssh-key, not the other user's; the host
 *     key byte for byte, 0600; its .pub) then the cached initrd unchanged;
 *   - DIR/uki-unsigned.efi and the ESP's UKI (both 0600; the latter signed
 *     by the db key) carry that initrd and keystone.initrd-ssh=… with the
 *     address, gateway and mac; DIR/cmdline too;
 *   - DIR/host-keys.tar (0600) holds ./etc/ssh/ssh_host_ed25519_key (0600,
 *     the same bytes) and .pub;
 *   - with DIR/initrd_ssh_host_ed25519_key, the initrd gets that one and the
 *     system keeps its own; without its .pub it is refused, not skipped;
 *     a key others can read is refused;
 *   - no line of either private key is anywhere under the cache directory;
 *   - a build without host keys removes the earlier host-keys.tar; initrd-ssh
 *     without them is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "generation/build.h"
#include "generation/output.h"
#include "image/initrd.h"
#include "secureboot/authenticode.h"
#include "secureboot/keys.h"
#include "secureboot/pe.h"
#include "secureboot/uki.h"
#include "util/file-bytes.h"
#include "util/macro.h"

static char dir[256];

#define ALICE "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAliceInSudoGroupTestKeyOnly alice@laptop"
#define BOB "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobNotInSudoTestKeyOnly bob@desk"
#define OPERATOR "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperatorSshKeyTestKeyOnly op@install"
#define KVER "6.12.0-test-amd64"

static void sh(const char *fmt, ...) {
        char cmd[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof cmd, fmt, ap);
        va_end(ap);
        if (system(cmd) != 0)
                fail_msg("failed: %s", cmd);
}

static uint8_t *get(const char *path, size_t *n) {
        uint8_t *d = NULL;
        int r = read_file_bytes(path, 512 << 20, &d, n);
        if (r < 0)
                fail_msg("cannot read %s: %s", path, strerror(-r));
        return d;
}

static mode_t mode_of(const char *path) {
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        return st.st_mode & 07777;
}

/* A file of an archive in memory: its bytes (malloc'd) and mode; NULL when absent. */
static uint8_t *archive_file(const uint8_t *data, size_t size, const char *name, size_t *ret_size, mode_t *ret_mode) {
        struct archive *a = archive_read_new();
        archive_read_support_filter_all(a);
        archive_read_support_format_all(a);
        assert_int_equal(archive_read_open_memory(a, data, size), ARCHIVE_OK);
        struct archive_entry *e;
        uint8_t *out = NULL;
        while (!out && archive_read_next_header(a, &e) == ARCHIVE_OK) {
                if (!streq(archive_entry_pathname(e), name))
                        continue;
                assert_int_equal(archive_entry_uid(e), 0);
                size_t n = (size_t) archive_entry_size(e);
                out = malloc(n + 1);
                assert_int_equal(archive_read_data(a, out, n), (la_ssize_t) n);
                out[n] = 0;
                *ret_size = n;
                *ret_mode = archive_entry_perm(e);
        }
        archive_read_free(a);
        return out;
}

/* Every entry's name, one per line (malloc'd). */
static char *archive_names(const uint8_t *data, size_t size) {
        struct archive *a = archive_read_new();
        archive_read_support_filter_all(a);
        archive_read_support_format_all(a);
        assert_int_equal(archive_read_open_memory(a, data, size), ARCHIVE_OK);
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        struct archive_entry *e;
        while (archive_read_next_header(a, &e) == ARCHIVE_OK)
                fprintf(f, "%s\n", archive_entry_pathname(e));
        archive_read_free(a);
        fclose(f);
        return text;
}

static bool has_name(const char *names, const char *name) {
        char line[600];
        snprintf(line, sizeof line, "\n%s\n", name);
        return !strncmp(names, line + 1, strlen(line + 1)) || strstr(names, line);
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

/* The cache directory must not hold this line anywhere. */
static const char *secret_line;
static char found_in[4096];
static int no_secret(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        if (type != FTW_F)
                return 0;
        size_t n = 0;
        uint8_t *d = NULL;
        if (read_file_bytes(path, 1 << 30, &d, &n) < 0)
                return 0;
        if (memmem(d, n, secret_line, strlen(secret_line)))
                snprintf(found_in, sizeof found_in, "%s", path);
        free(d);
        return 0;
}

static void assert_not_in_cache(const char *cache, const char *key_path) {
        /* the second line of the key file: base64 of the key itself */
        size_t n = 0;
        char *k = (char *) get(key_path, &n);
        char *line = strchr(k, '\n') + 1;
        *strchr(line, '\n') = 0;
        assert_true(strlen(line) > 40);
        secret_line = line;
        found_in[0] = 0;
        assert_int_equal(nftw(cache, no_secret, 16, FTW_PHYS), 0);
        if (found_in[0])
                fail_msg("the private host key is in %s, under the cache", found_in);
        free(k);
}

/* A tree like a generation's, from this machine's programs: what
 * initrd_build() stages from / (plain cpio), unpacked, and stand-ins for
 * what this machine lacks. */
static void make_tree(const char *tree) {
        char seed[600];
        snprintf(seed, sizeof seed, "%s/seed.cpio", dir);
        const char *programs[] = { "/usr/sbin/sshd", "/usr/bin/ip", "/bin/sh", "/usr/bin/true", NULL };
        InitrdSpec spec = { .root = "/", .kver = KVER, .programs = programs, .compress = false };
        char *error = NULL;
        assert_int_equal(initrd_build(&spec, seed, NULL, &error), 0);
        sh("mkdir -p %s && cd %s && cpio -idm --quiet < %s", tree, tree, seed);
        sh("mkdir -p %s/usr/lib/keystone %s/usr/lib/openssh %s/etc", tree, tree, tree);
        sh("cp %s/usr/bin/true %s/usr/lib/keystone/keystone-init", tree, tree);
        /* OpenSSH >= 9.8 (trixie) has these; bookworm's 9.2 does not */
        static const char *const split[] = { "sshd-session", "sshd-auth" };
        for (size_t i = 0; i < ELEMENTSOF(split); i++) {
                char p[600];
                snprintf(p, sizeof p, "/usr/lib/openssh/%s", split[i]);
                if (access(p, X_OK) == 0)
                        sh("cp %s %s%s", p, tree, p);
                else
                        sh("printf '#!/bin/sh\\n' > %s%s && chmod 755 %s%s", tree, p, tree, p);
        }
        sh("printf '#!/bin/sh\\n' > %s/usr/sbin/zpool && cp %s/usr/sbin/zpool %s/usr/sbin/zfs", tree, tree, tree);
        sh("printf '\\1\\2\\3\\4' > %s/etc/hostid", tree);
        sh("mkdir -p %s/usr/lib/x86_64-linux-gnu && printf 'tcti' > %s/usr/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0",
           tree, tree);
}

static void test_build_directory(void **state) {
        char tree[600], cache[600], entry[700], out[600], hk[600], sbkeys[600], p[1400], q[1400];
        snprintf(tree, sizeof tree, "%s/tree", dir);
        snprintf(cache, sizeof cache, "%s/cache", dir);
        snprintf(entry, sizeof entry, "%s/generation-0123", cache);
        snprintf(out, sizeof out, "%s/out", dir);
        snprintf(hk, sizeof hk, "%s/host-keys", dir);
        snprintf(sbkeys, sizeof sbkeys, "%s/sb", dir);
        make_tree(tree);
        sh("mkdir -p %s/esp/EFI/Linux %s", entry, hk);

        char *alice_keys[] = { ALICE, NULL }, *bob_keys[] = { BOB, NULL }, *sudo[] = { "sudo", NULL };
        ImageUser users[] = {
                { .name = "alice", .ssh_keys = alice_keys, .n_ssh_keys = 1, .groups = sudo, .n_groups = 1 },
                { .name = "bob", .ssh_keys = bob_keys, .n_ssh_keys = 1 },
        };
        ImageSpec s = {
                .hostname = "h", .users = users, .n_users = 2, .source_date_epoch = 1735689600,
                .initrd_ssh = IMAGE_INITRD_SSH_AUTO, .initrd_ssh_address = "192.0.2.7/24",
                .initrd_ssh_gateway = "192.0.2.1", .initrd_ssh_mac = "52:54:00:ab:cd:ef",
        };

        /* the cache entry: the initrd as the generation stage makes it */
        static const char *const no_modules[] = { NULL };
        char base[800];
        snprintf(base, sizeof base, "%s/" GENERATION_INITRD, entry);
        InitrdReport rep = {};
        char *error = NULL;
        if (generation_initrd_build(&s, tree, KVER, no_modules, base, &rep, &error) < 0)
                fail_msg("generation_initrd_build: %s", error);
        size_t base_size = 0;
        uint8_t *base_bytes = get(base, &base_size);
        char *names = archive_names(base_bytes, base_size);
        static const char *const want[] = {
                "init", "usr/lib/keystone/keystone-init", "usr/sbin/sshd", "usr/lib/openssh/sshd-session",
                "usr/lib/openssh/sshd-auth", "usr/bin/ip", "usr/bin/sh", "etc/passwd", "etc/group", "etc/shadow",
                "etc/hostid",
        };
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                if (!has_name(names, want[i]))
                        fail_msg("the cached initrd has no %s:\n%s", want[i], names);
        assert_null(strstr(names, "keystone-initrd"));
        /* every library sshd asks for */
        FILE *f = popen("objdump -p /usr/sbin/sshd | sed -n 's/^ *NEEDED *//p'", "r");
        assert_non_null(f);
        char lib[256];
        size_t n_libs = 0;
        while (fgets(lib, sizeof lib, f)) {
                lib[strcspn(lib, "\n")] = 0;
                char path[300];
                snprintf(path, sizeof path, "usr/lib/x86_64-linux-gnu/%s", lib);
                if (!has_name(names, path))
                        fail_msg("sshd needs %s, which the initrd lacks", lib);
                n_libs++;
        }
        pclose(f);
        assert_true(n_libs >= 3);
        size_t n = 0;
        mode_t mode = 0;
        uint8_t *pw = archive_file(base_bytes, base_size, "etc/passwd", &n, &mode);
        assert_non_null(pw);
        assert_non_null(strstr((char *) pw, "root:x:0:0:root:/root:/bin/sh\n"));
        assert_non_null(strstr((char *) pw, "\nsshd:x:100:65534:"));
        free(pw);
        uint8_t *sw = archive_file(base_bytes, base_size, "etc/shadow", &n, &mode);
        assert_int_equal(mode, 0600);
        free(sw);
        free(names);

        /* the rest of the entry */
        sh("printf 'not a kernel' > %s/vmlinuz && cp %s %s/stub.efi && printf 'ID=debian\\n' > %s/os-release",
           entry, UKI_DEFAULT_STUB, entry, entry);
        sh("printf 'public' > %s/uki-unsigned.efi && cp %s/uki-unsigned.efi %s/esp/EFI/Linux/keystone-1.efi", entry,
           entry, entry);
        sh("printf 'keystone.generation=1 console=ttyS0,115200\\n' > %s/cmdline && printf 'inputs\\n' > %s/inputs.txt",
           entry, entry);
        sh("ssh-keygen -q -t ed25519 -N '' -C pinned-system -f %s/ssh_host_ed25519_key", hk);
        assert_int_equal(sb_keys_generate(sbkeys, 2048, "test"), 0);

        Generation g = { .number = 1 };
        snprintf(g.dir, sizeof g.dir, "%s", entry);
        snprintf(g.cmdline, sizeof g.cmdline, "keystone.generation=1 console=ttyS0,115200");
        snprintf(g.kernel_version, sizeof g.kernel_version, KVER);
        const char *extra[] = { OPERATOR, NULL };
        GenerationMachine m = { .host_keys = hk, .ssh_keys = extra, .key_dir = sbkeys };
        if (generation_write_output(&g, &s, &m, out, &error) < 0)
                fail_msg("generation_write_output: %s", error);

        static const char want_cmd[] = "keystone.generation=1 console=ttyS0,115200 keystone.initrd-ssh=auto "
                                       "keystone.initrd-ssh.address=192.0.2.7/24 keystone.initrd-ssh.gateway=192.0.2.1 "
                                       "keystone.initrd-ssh.mac=52:54:00:ab:cd:ef";
        assert_string_equal(g.cmdline, want_cmd);
        snprintf(p, sizeof p, "%s/cmdline", out);
        uint8_t *cl = get(p, &n);
        assert_int_equal(n, strlen(want_cmd) + 1);
        assert_memory_equal(cl, want_cmd, n - 1);
        free(cl);

        /* the initrd: keys first, then the cached archive unchanged */
        snprintf(p, sizeof p, "%s/initrd.img", out);
        assert_int_equal(mode_of(p), 0600);
        size_t ird_size = 0;
        uint8_t *ird = get(p, &ird_size);
        assert_memory_equal(ird, "070701", 6);
        assert_true(ird_size > base_size);
        size_t at = ird_size - base_size;
        assert_int_equal(at % 4, 0);
        assert_memory_equal(ird + at, base_bytes, base_size);
        uint8_t *auth = archive_file(ird, at, "etc/keystone-initrd/authorized_keys", &n, &mode);
        assert_non_null(auth);
        assert_string_equal((char *) auth, ALICE "\n" OPERATOR "\n");
        free(auth);
        snprintf(q, sizeof q, "%s/ssh_host_ed25519_key", hk);
        size_t key_size = 0;
        uint8_t *key = get(q, &key_size);
        uint8_t *ikey = archive_file(ird, at, "etc/keystone-initrd/ssh_host_ed25519_key", &n, &mode);
        assert_non_null(ikey);
        assert_int_equal(mode, 0600);
        assert_int_equal(n, key_size);
        assert_memory_equal(ikey, key, key_size);
        free(ikey);
        uint8_t *ipub = archive_file(ird, at, "etc/keystone-initrd/ssh_host_ed25519_key.pub", &n, &mode);
        assert_non_null(ipub);
        assert_int_equal(mode, 0644);
        assert_non_null(strstr((char *) ipub, " pinned-system"));
        free(ipub);

        /* the UKIs: that initrd and command line; the ESP's signed by db */
        X509 *db = NULL;
        assert_int_equal(sb_cert_load(sbkeys, SB_KEY_DB, &db), 0);
        static const char *const ukis[] = { "uki-unsigned.efi", "esp/EFI/Linux/keystone-1.efi" };
        for (size_t i = 0; i < ELEMENTSOF(ukis); i++) {
                snprintf(p, sizeof p, "%s/%s", out, ukis[i]);
                assert_int_equal(mode_of(p), 0600);
                size_t uki_size = 0;
                uint8_t *uki = get(p, &uki_size);
                PeImage img;
                char *perr = NULL;
                assert_int_equal(pe_parse(uki, uki_size, &img, &perr), 0);
                size_t k = 0;
                const uint8_t *c = section(&img, ".cmdline", &k);
                assert_int_equal(k, strlen(want_cmd));
                assert_memory_equal(c, want_cmd, k);
                const uint8_t *in = section(&img, ".initrd", &k);
                assert_int_equal(k, ird_size);
                assert_memory_equal(in, ird, ird_size);
                assert_int_equal(authenticode_verify(&img, db), i == 0 ? -ENOKEY : 0);
                pe_image_done(&img);
                free(uki);
        }
        X509_free(db);

        /* the system's host key, for /etc/ssh */
        snprintf(p, sizeof p, "%s/host-keys.tar", out);
        assert_int_equal(mode_of(p), 0600);
        size_t tar_size = 0;
        uint8_t *tar = get(p, &tar_size);
        uint8_t *tkey = archive_file(tar, tar_size, "./etc/ssh/ssh_host_ed25519_key", &n, &mode);
        assert_non_null(tkey);
        assert_int_equal(mode, 0600);
        assert_int_equal(n, key_size);
        assert_memory_equal(tkey, key, key_size);
        free(tkey);
        uint8_t *tpub = archive_file(tar, tar_size, "./etc/ssh/ssh_host_ed25519_key.pub", &n, &mode);
        assert_non_null(tpub);
        assert_int_equal(mode, 0644);
        free(tpub);
        free(tar);
        free(ird);
        free(key);

        /* the cache entry is as it was, and holds no key */
        size_t k2 = 0;
        uint8_t *again = get(base, &k2);
        assert_int_equal(k2, base_size);
        assert_memory_equal(again, base_bytes, base_size);
        free(again);
        assert_int_equal(mode_of(base), 0644);
        assert_not_in_cache(cache, q);

        /* an initrd key of its own: the initrd gets it, the system keeps its key */
        sh("ssh-keygen -q -t ed25519 -N '' -C pinned-initrd -f %s/initrd_ssh_host_ed25519_key", hk);
        assert_int_equal(generation_host_keys_check(hk, &error), 0);
        snprintf(g.cmdline, sizeof g.cmdline, "keystone.generation=1 console=ttyS0,115200");
        assert_int_equal(generation_write_output(&g, &s, &m, out, &error), 0);
        snprintf(p, sizeof p, "%s/initrd.img", out);
        ird = get(p, &ird_size);
        char ik[700];
        snprintf(ik, sizeof ik, "%s/initrd_ssh_host_ed25519_key", hk);
        size_t ik_size = 0;
        uint8_t *ikb = get(ik, &ik_size);
        ikey = archive_file(ird, ird_size - base_size, "etc/keystone-initrd/ssh_host_ed25519_key", &n, &mode);
        assert_int_equal(n, ik_size);
        assert_memory_equal(ikey, ikb, ik_size);
        ipub = archive_file(ird, ird_size - base_size, "etc/keystone-initrd/ssh_host_ed25519_key.pub", &n, &mode);
        assert_non_null(strstr((char *) ipub, " pinned-initrd"));
        snprintf(p, sizeof p, "%s/host-keys.tar", out);
        tar = get(p, &tar_size);
        tkey = archive_file(tar, tar_size, "./etc/ssh/ssh_host_ed25519_key", &n, &mode);
        assert_int_equal(n, key_size);
        key = get(q, &n);
        assert_memory_equal(tkey, key, key_size);
        free(key);
        free(ikey);
        free(ipub);
        free(ikb);
        free(tkey);
        free(tar);
        free(ird);
        assert_not_in_cache(cache, ik);
        assert_not_in_cache(cache, q);

        /* a key others may read is refused before anything is written */
        sh("chmod 640 %s", ik);
        assert_int_equal(generation_host_keys_check(hk, &error), -EPERM);
        assert_non_null(strstr(error, "chmod 600"));
        sh("chmod 600 %s", ik);
        /* an initrd key without its .pub is an error, not a fall back to the system's */
        sh("mv %s.pub %s.pub.away", ik, ik);
        free(error);
        error = NULL;
        assert_int_equal(generation_write_output(&g, &s, &m, out, &error), -ENOENT);
        assert_non_null(strstr(error, "initrd_ssh_host_ed25519_key.pub (the public half"));
        sh("mv %s.pub.away %s.pub", ik, ik);

        /* initrd-ssh without host keys: refused */
        m.host_keys = NULL;
        free(error);
        error = NULL;
        assert_int_equal(generation_write_output(&g, &s, &m, out, &error), -EINVAL);
        assert_non_null(strstr(error, "--host-keys"));
        /* no initrd-ssh, no host keys: the earlier host-keys.tar goes, the
         * initrd is the cache's again */
        s.initrd_ssh = IMAGE_INITRD_SSH_OFF;
        snprintf(g.cmdline, sizeof g.cmdline, "keystone.generation=1 console=ttyS0,115200");
        assert_int_equal(generation_write_output(&g, &s, &m, out, &error), 0);
        assert_int_equal(access(p, F_OK), -1);
        snprintf(p, sizeof p, "%s/initrd.img", out);
        ird = get(p, &ird_size);
        assert_int_equal(ird_size, base_size);
        assert_memory_equal(ird, base_bytes, base_size);
        free(ird);
        free(error);
        free(base_bytes);
}

int main(void) {
        if (access(UKI_DEFAULT_STUB, R_OK) < 0 || access("/usr/sbin/sshd", X_OK) < 0) {
                printf("skip: no %s (systemd-boot-efi) or /usr/sbin/sshd (openssh-server)\n", UKI_DEFAULT_STUB);
                return 77;
        }
        snprintf(dir, sizeof dir, "/tmp/test-generation-initrd-ssh.XXXXXX");
        if (!mkdtemp(dir))
                return 1;
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_build_directory) };
        int r = cmocka_run_group_tests(tests, NULL, NULL);
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
                r = r ? r : 1;
        return r;
}
