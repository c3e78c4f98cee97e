/* SPDX-License-Identifier: MIT */
/* LUKS2 on image files, no TPM: the credstore's install-secret mark
 * (credstore_format), the keyslot kinds, wipe + verify, the two header
 * copies (luks_header_check against damaged, truncated and foreign files),
 * and secret_file_erase. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk/credstore.h"
#include "tpm/luks.h"
#include "util/secret-erase.h"

static char dir[64];

static int setup(void **state) {
        snprintf(dir, sizeof dir, "/tmp/keystone-luks-XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static void path_in(char *buf, size_t size, const char *name) {
        snprintf(buf, size, "%s/%s", dir, name);
}

static void make_image(const char *path, off_t size) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, size), 0);
        close(fd);
}

static void scribble(const char *path, off_t offset) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, "XXXX", 4, offset), 4);
        close(fd);
}

static void copy(const char *from, const char *to, off_t limit) {
        uint8_t *buf = malloc(1 << 20);
        assert_non_null(buf);
        int in = open(from, O_RDONLY | O_CLOEXEC), out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(in >= 0 && out >= 0);
        off_t done = 0;
        ssize_t n;
        while ((limit == 0 || done < limit) &&
               (n = read(in, buf, limit && limit - done < (1 << 20) ? (size_t) (limit - done) : 1 << 20)) > 0) {
                assert_int_equal(write(out, buf, (size_t) n), n);
                done += n;
        }
        close(in);
        close(out);
        free(buf);
}

/* credstore_format: keyslot 0 is the install secret's, marked by a token */
static void test_credstore_marks_install_secret(void **state) {
        char img[128];
        path_in(img, sizeof img, "credstore.img");
        make_image(img, 32 << 20);
        static const char secret[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        /* the default PBKDF (argon2id, benchmarked) takes seconds: format
         * once, keep a pristine copy for the header tests */
        assert_int_equal(credstore_format(img, secret, strlen(secret)), 0);
        char pristine[128];
        path_in(pristine, sizeof pristine, "pristine.img");
        copy(img, pristine, 0);

        struct crypt_device *cd = NULL;
        assert_int_equal(luks_open(img, &cd), 0);
        LuksSlotKind kinds[LUKS_SLOTS_MAX];
        assert_int_equal(luks_slot_kinds(cd, kinds), 0);
        assert_int_equal(kinds[0], LUKS_SLOT_INSTALL);
        assert_string_equal(luks_slot_kind_to_string(kinds[0]), "install-secret");
        for (int i = 1; i < LUKS_SLOTS_MAX; i++)
                assert_int_equal(kinds[i], LUKS_SLOT_NONE);
        char *type = NULL;
        uint32_t slots = 0;
        assert_int_equal(luks_token_info(cd, 0, NULL, &type, &slots), 0);
        assert_string_equal(type, LUKS_TOKEN_INSTALL_SECRET);
        assert_int_equal(slots, 1);
        free(type);

        /* a second keyslot, then the install secret's wiped: gone when the
         * header is read again, token included */
        uint8_t *vk = NULL;
        size_t vk_size = 0;
        assert_int_equal(luks_volume_key_get(cd, 0, secret, strlen(secret), &vk, &vk_size), 0); /* it opens slot 0 */
        int slot = luks_keyslot_add(cd, vk, vk_size, "other", 5, true);
        free(vk);
        assert_int_equal(slot, 1);
        assert_int_equal(luks_keyslots_verify_gone(img, 1), -EEXIST);
        assert_int_equal(luks_keyslot_wipe(cd, 0), 0);
        crypt_free(cd);
        assert_int_equal(luks_keyslots_verify_gone(img, 1), 0);
        assert_int_equal(luks_keyslots_verify_gone(img, 2), -EEXIST);
        assert_int_equal(luks_open(img, &cd), 0);
        assert_int_equal(luks_activate(cd, NULL, -1, secret, strlen(secret)), -EPERM);
        assert_int_equal(luks_activate(cd, NULL, -1, "other", 5), 1);
        assert_int_equal(luks_token_info(cd, 0, NULL, NULL, NULL), -ENOENT);
        crypt_free(cd);
}

static void test_header_check(void **state) {
        char img[128], bad[128], short_[128], zero[128];
        path_in(img, sizeof img, "pristine.img"); /* test_credstore_marks_install_secret's */

        LuksHeaderCheck hc;
        assert_int_equal(luks_header_check(img, &hc), 0);
        assert_true(hc.primary_ok && hc.secondary_ok);
        assert_int_equal(hc.hdr_size, 16384);
        assert_int_equal(hc.secondary_offset, 16384);

        /* the primary's JSON area changed: its checksum no longer matches */
        path_in(bad, sizeof bad, "bad-primary.img");
        copy(img, bad, 0);
        scribble(bad, 5000);
        assert_int_equal(luks_header_check(bad, &hc), 0);
        assert_false(hc.primary_ok);
        assert_string_equal(hc.primary_problem, "bad checksum");
        assert_true(hc.secondary_ok);
        assert_int_equal(hc.secondary_offset, 16384);
        /* the primary's magic gone: the secondary is found at its offset */
        copy(img, bad, 0);
        scribble(bad, 0);
        assert_int_equal(luks_header_check(bad, &hc), 0);
        assert_string_equal(hc.primary_problem, "no LUKS2 magic");
        assert_true(hc.secondary_ok);
        assert_int_equal(hc.hdr_size, 16384);
        /* the secondary damaged */
        copy(img, bad, 0);
        scribble(bad, 16384 + 5000);
        assert_int_equal(luks_header_check(bad, &hc), 0);
        assert_true(hc.primary_ok);
        assert_false(hc.secondary_ok);
        assert_string_equal(hc.secondary_problem, "bad checksum");

        /* truncated inside the primary: no copy is whole */
        path_in(short_, sizeof short_, "short.img");
        copy(img, short_, 3000);
        assert_int_equal(luks_header_check(short_, &hc), 0);
        assert_false(hc.primary_ok || hc.secondary_ok);
        assert_string_equal(hc.primary_problem, "truncated");
        struct crypt_device *cd = NULL;
        assert_int_equal(luks_open(short_, &cd), -EMEDIUMTYPE);

        /* zeros and a missing file */
        path_in(zero, sizeof zero, "zero.img");
        make_image(zero, 1 << 20);
        assert_int_equal(luks_header_check(zero, &hc), -EMEDIUMTYPE);
        assert_int_equal(luks_open(zero, &cd), -EMEDIUMTYPE);
        char missing[128];
        path_in(missing, sizeof missing, "missing.img");
        assert_int_equal(luks_header_check(missing, &hc), -ENOENT);
        assert_int_equal(luks_open(missing, &cd), -ENOENT);
}

static void test_secret_file_erase(void **state) {
        char f[128], link_[128], sym[128];
        path_in(f, sizeof f, "secret");
        path_in(link_, sizeof link_, "secret.hardlink");
        path_in(sym, sizeof sym, "secret.symlink");
        int fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        char data[6000];
        memset(data, 'S', sizeof data);
        assert_int_equal(write(fd, data, sizeof data), (ssize_t) sizeof data);
        close(fd);
        /* a second name for the same bytes shows they were overwritten */
        assert_int_equal(link(f, link_), 0);
        assert_int_equal(symlink(f, sym), 0);
        assert_int_equal(secret_file_erase(sym), -EINVAL); /* not through a symlink */
        assert_int_equal(secret_file_erase(f), 0);
        assert_int_equal(access(f, F_OK), -1);
        fd = open(link_, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        char back[sizeof data];
        assert_int_equal(read(fd, back, sizeof back), (ssize_t) sizeof back);
        close(fd);
        for (size_t i = 0; i < sizeof back; i++)
                assert_int_equal(back[i], 0);
        assert_int_equal(secret_file_erase(f), -ENOENT);
        assert_int_equal(secret_file_erase(dir), -EISDIR);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_credstore_marks_install_secret),
                cmocka_unit_test(test_header_check),
                cmocka_unit_test(test_secret_file_erase),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
