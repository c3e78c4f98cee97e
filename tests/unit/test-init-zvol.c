/* SPDX-License-Identifier: MIT */
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include "init/zvol.h"
#include "util/fs.h"

/* A fake /sys/block and /dev in a temp dir; BLKZNAME answered from a table
 * keyed by the node's name, mknod recorded. */
typedef struct Fake {
        char root[64];
        char made[8][128];
        dev_t made_dev[8];
        int n_made;
        int n_asked;
        bool create_files;
} Fake;

static void put(const char *root, const char *rel, const char *content) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", root, rel);
        assert_int_equal(mkdir_parents(p, 0755, NULL), 0);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
}

static int fake_name(void *u, const char *node, char *buf, size_t size) {
        Fake *f = u;
        f->n_asked++;
        const char *zd = strrchr(node, '/') + 1;
        if (!strcmp(zd, "zd0"))
                snprintf(buf, size, "rpool/swap");
        else if (!strcmp(zd, "zd16"))
                snprintf(buf, size, "rpool/credstore");
        else if (!strcmp(zd, "zd32"))
                snprintf(buf, size, "rpool/credstore-old");
        else
                return -ENOTTY;
        return 0;
}

static int fake_mknod(void *u, const char *path, dev_t dev) {
        Fake *f = u;
        assert_true(f->n_made < 8);
        snprintf(f->made[f->n_made], sizeof f->made[0], "%s", path + strlen(f->root));
        f->made_dev[f->n_made++] = dev;
        if (f->create_files)
                put("", path, "");
        return 0;
}

static int setup(void **state) {
        Fake *f = calloc(1, sizeof *f);
        snprintf(f->root, sizeof f->root, "/tmp/keystone-init-zvol.XXXXXX");
        assert_non_null(mkdtemp(f->root));
        put(f->root, "sys/block/zd0/dev", "230:0\n");
        put(f->root, "sys/block/zd16/dev", "230:16\n");
        put(f->root, "sys/block/zd32/dev", "230:32\n");
        put(f->root, "sys/block/zdx/dev", "230:48\n");       /* not zdN: ignored */
        put(f->root, "sys/block/loop0/dev", "7:0\n");
        put(f->root, "sys/block/sda/dev", "8:0\n");
        assert_int_equal(mkdir(strcat(strcpy((char[128]) {}, f->root), "/dev"), 0755), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fake *f = *state;
        char cmd[200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

static void test_find_creates_nodes(void **state) {
        Fake *f = *state;
        f->create_files = true;
        InitZvolLookup l = { .root = f->root, .accept_regular_files = true, .name = fake_name,
                             .mknod = fake_mknod, .userdata = f };
        char node[256];
        assert_int_equal(init_zvol_find(&l, "rpool/credstore", node, sizeof node), 0);
        char want[128];
        snprintf(want, sizeof want, "%s/dev/zd16", f->root);
        assert_string_equal(node, want);
        /* zd0 was looked at first (version order), zd32 never needed */
        assert_int_equal(f->n_made, 2);
        assert_string_equal(f->made[0], "/dev/zd0");
        assert_true(f->made_dev[0] == makedev(230, 0));
        assert_string_equal(f->made[1], "/dev/zd16");
        assert_true(f->made_dev[1] == makedev(230, 16));
        /* second scan: nodes exist now, none made */
        assert_int_equal(init_zvol_find(&l, "rpool/credstore-old", node, sizeof node), 0);
        assert_int_equal(f->n_made, 3);
        assert_string_equal(f->made[2], "/dev/zd32");
        /* a name that is a prefix of another is not a match */
        assert_int_equal(init_zvol_find(&l, "rpool/cred", node, sizeof node), -ENOENT);
        assert_int_equal(init_zvol_find(&l, "rpool/credstore-old/x", node, sizeof node), -ENOENT);
        assert_int_equal(init_zvol_find(&l, "rpool/credstore", node, 5), -ENAMETOOLONG);
}

static void test_regular_file_not_a_device(void **state) {
        Fake *f = *state;
        /* outside dry runs, a regular file at /dev/zd16 is not trusted */
        put(f->root, "dev/zd16", "");
        InitZvolLookup l = { .root = f->root, .name = fake_name, .mknod = fake_mknod, .userdata = f };
        char node[256];
        assert_int_equal(init_zvol_find(&l, "rpool/credstore", node, sizeof node), -ENOENT);
        /* zd0 and zd32 were asked (nodes "made"), zd16 never */
        assert_int_equal(f->n_asked, 2);
}

static void test_wait_times_out(void **state) {
        Fake *f = *state;
        f->create_files = true;
        InitZvolLookup l = { .root = f->root, .accept_regular_files = true, .name = fake_name,
                             .mknod = fake_mknod, .userdata = f };
        char node[256];
        assert_int_equal(init_zvol_wait(&l, "rpool/nothing", 250, node, sizeof node), -ETIMEDOUT);
        assert_int_equal(init_zvol_wait(&l, "rpool/swap", 250, node, sizeof node), 0);
        /* no /sys/block at all: not there yet */
        InitZvolLookup none = { .root = "/nonexistent-keystone", .name = fake_name, .userdata = f };
        assert_int_equal(init_zvol_find(&none, "rpool/swap", node, sizeof node), -ENOENT);
}

static void test_real_mknod(void **state) {
        Fake *f = *state;
        InitZvolLookup l = { .root = f->root, .name = fake_name, .userdata = f };
        char node[256];
        int r = init_zvol_find(&l, "rpool/credstore", node, sizeof node);
        if (r == -ENOENT && geteuid() != 0)
                skip();
        assert_int_equal(r, 0);
        struct stat st;
        assert_int_equal(stat(node, &st), 0);
        assert_true(S_ISBLK(st.st_mode));
        assert_true(st.st_rdev == makedev(230, 16));
        assert_int_equal(st.st_mode & 07777, 0600);
        /* an existing node with the wrong numbers is skipped */
        char zd0[256];
        snprintf(zd0, sizeof zd0, "%s/dev/zd0", f->root);
        assert_int_equal(unlink(zd0), 0);
        assert_int_equal(mknod(zd0, S_IFBLK | 0600, makedev(230, 99)), 0);
        f->n_asked = 0;
        assert_int_equal(init_zvol_find(&l, "rpool/swap", node, sizeof node), -ENOENT);
}

static void test_devnum(void **state) {
        dev_t d;
        assert_int_equal(init_parse_devnum("230:16\n", &d), 0);
        assert_true(d == makedev(230, 16));
        assert_int_equal(init_parse_devnum("8:0", &d), 0);
        assert_int_equal(init_parse_devnum("230", &d), -EINVAL);
        assert_int_equal(init_parse_devnum("a:b", &d), -EINVAL);
        assert_int_equal(init_parse_devnum("1:2:3", &d), -EINVAL);
        assert_int_equal(init_parse_devnum("", &d), -EINVAL);
        assert_int_equal(init_parse_devnum(":1", &d), -EINVAL);
        assert_int_equal(init_parse_devnum("1:", &d), -EINVAL);
        assert_int_equal(init_parse_devnum("99999:1", &d), -EINVAL);
        assert_int_equal(init_parse_devnum("1:2\n\n", &d), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_find_creates_nodes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_regular_file_not_a_device, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wait_times_out, setup, teardown),
                cmocka_unit_test_setup_teardown(test_real_mknod, setup, teardown),
                cmocka_unit_test(test_devnum),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
