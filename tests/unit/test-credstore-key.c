/* SPDX-License-Identifier: MIT */
/* The ZFS key file in the credstore: written whole or not at all
 * (write_file_bytes_new), never over an existing file, and counted as done
 * only at exactly its size (credstore_key_check); what an older cut left
 * (a short file, a stale temporary file) is recognised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk/credstore.h"
#include "util/file-bytes.h"

static char dir[64];

static int setup(void **state) {
        snprintf(dir, sizeof dir, "/tmp/keystone-key-XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static size_t count_tmp(const char *path) {
        char pattern[256];
        snprintf(pattern, sizeof pattern, "%s.tmp-*", path);
        glob_t g = {};
        size_t n = glob(pattern, 0, NULL, &g) == 0 ? g.gl_pathc : 0;
        globfree(&g);
        return n;
}

static void test_new_file(void **state) {
        char path[128];
        snprintf(path, sizeof path, "%s/new", dir);
        assert_int_equal(write_file_bytes_new(path, "abc", 3, 0400), 0);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, 3);
        assert_int_equal(st.st_mode & 07777, 0400);
        /* never over an existing file, and nothing left behind */
        assert_int_equal(write_file_bytes_new(path, "defg", 4, 0400), -EEXIST);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, 3);
        assert_int_equal(count_tmp(path), 0);
}

static void test_key_check(void **state) {
        char path[128];
        off_t size;
        snprintf(path, sizeof path, "%s/zfs-sysroot.mount", dir);
        assert_int_equal(credstore_key_check(path, 32, &size), 0);
        /* what a cut in the middle of an O_EXCL write left: a short file */
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0400);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "0123456789", 10), 10);
        close(fd);
        assert_int_equal(credstore_key_check(path, 32, &size), -EBADMSG);
        assert_int_equal(size, 10);
        /* a link is not the key either */
        char link[160];
        snprintf(link, sizeof link, "%s/link", dir);
        assert_int_equal(symlink(path, link), 0);
        assert_int_equal(credstore_key_check(link, 10, &size), -EBADMSG);
        assert_int_equal(unlink(path), 0);
        /* a stale temporary file from a cut is removed; the key is whole */
        char stale[192];
        snprintf(stale, sizeof stale, "%s.tmp-AbC123", path);
        fd = open(stale, O_WRONLY | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(credstore_write_random_key(path, 32), 0);
        assert_int_equal(credstore_key_check(path, 32, &size), 1);
        assert_int_equal(size, 32);
        assert_int_equal(count_tmp(path), 0);
        assert_int_equal(credstore_write_random_key(path, 32), -EEXIST);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_new_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_key_check, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
