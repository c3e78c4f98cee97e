/* SPDX-License-Identifier: MIT */
/* install/remote-phases.h: the disk the probe before kexec chose, recorded
 * in the state and found again in the installer by its size and serial or
 * WWID (the installer has no udev: no /dev/disk/by-id, maybe other names);
 * a damaged record is refused, never guessed at. */
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

#include "install/remote-phases.h"

static ProbeReport *parse(const char *text) {
        ProbeReport *r = NULL;
        char *e = NULL;
        if (probe_parse(text, strlen(text), &r, &e) < 0) {
                fprintf(stderr, "%s\n", e);
                fail();
        }
        return r;
}

static const char before[] = "keystone-probe 1\narch x86_64\nmem.total-kib 2000000\nefi yes\n"
                             "disk vda\ndisk.size 4294967296\ndisk.serial \ndisk.mount vda2 /\n"
                             "disk vdb\ndisk.size 8589934592\ndisk.serial ks-target-disk\n"
                             "disk.id virtio-ks-target-disk\n"
                             "end\n";
/* the installer: other names, the same disks, plus one of the same size with another serial */
static const char installer[] = "keystone-probe 1\narch x86_64\nmem.total-kib 2000000\nefi yes\n"
                                "disk vdc\ndisk.size 8589934592\ndisk.serial other\n"
                                "disk vda\ndisk.size 4294967296\n"
                                "disk vdx\ndisk.size 8589934592\ndisk.serial ks-target-disk\n"
                                "end\n";

static char state[] = "/tmp/test-remote-phases-XXXXXX";

static void write_record(const char *text) {
        char path[sizeof state + 32];
        snprintf(path, sizeof path, "%s/target-disk", state);
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void test_round_trip(void **s) {
        ProbeReport *b = parse(before), *i = parse(installer);
        char *err = NULL;
        assert_int_equal(remote_disk_id_save(state, &b->disks[1], &err), 0);
        char path[sizeof state + 32];
        snprintf(path, sizeof path, "%s/target-disk", state);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        RemoteDiskId id;
        assert_int_equal(remote_disk_id_load(state, &id, &err), 0);
        assert_int_equal(id.size, 8589934592ULL);
        assert_string_equal(id.serial, "ks-target-disk");
        assert_string_equal(id.id, "virtio-ks-target-disk");
        const ProbeDisk *d = NULL;
        assert_int_equal(remote_disk_find(i, &id, &d, &err), 0);
        assert_string_equal(d->name, "vdx");

        /* the same serial but another size: not it */
        id.size = 4294967296ULL;
        assert_int_equal(remote_disk_find(i, &id, &d, &err), -ENODEV);
        assert_non_null(strstr(err, "vdx (8589934592 bytes, serial ks-target-disk)"));
        free(err);
        err = NULL;

        /* a disk without serial or WWID cannot be found again */
        RemoteDiskId none = { .size = 4294967296ULL };
        assert_int_equal(remote_disk_find(i, &none, &d, &err), -ENODEV);
        assert_non_null(strstr(err, "neither a serial number nor a WWID"));
        free(err);
        probe_report_free(b);
        probe_report_free(i);
}

static void test_two_alike(void **s) {
        ProbeReport *i = parse("keystone-probe 1\narch x86_64\nmem.total-kib 2000000\nefi yes\n"
                               "disk sda\ndisk.size 100\ndisk.serial S\n"
                               "disk sdb\ndisk.size 100\ndisk.serial S\nend\n");
        RemoteDiskId id = { .size = 100, .serial = "S" };
        const ProbeDisk *d = NULL;
        char *err = NULL;
        assert_int_equal(remote_disk_find(i, &id, &d, &err), -ENOTUNIQ);
        assert_non_null(strstr(err, "refusing to guess"));
        free(err);
        probe_report_free(i);
}

static void test_damaged(void **s) {
        RemoteDiskId id;
        char *err = NULL;
        write_record("size 12x\nserial a\n");
        assert_int_equal(remote_disk_id_load(state, &id, &err), -EBADMSG);
        assert_non_null(strstr(err, "target-disk:1: bad size"));
        free(err);
        err = NULL;
        write_record("serial a\n");
        assert_int_equal(remote_disk_id_load(state, &id, &err), -EBADMSG);
        assert_non_null(strstr(err, "no size line"));
        free(err);
        err = NULL;
        write_record("size 5\nsomething else\n");
        assert_int_equal(remote_disk_id_load(state, &id, &err), -EBADMSG);
        assert_non_null(strstr(err, "target-disk:2: not a line"));
        free(err);
        err = NULL;
        char path[sizeof state + 32];
        snprintf(path, sizeof path, "%s/target-disk", state);
        unlink(path);
        assert_int_equal(remote_disk_id_load(state, &id, &err), -ENOENT);
        assert_non_null(strstr(err, "Run the kexec phase again"));
        free(err);
}

int main(void) {
        assert_non_null(mkdtemp(state));
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_two_alike),
                cmocka_unit_test(test_damaged),
        };
        int r = cmocka_run_group_tests(tests, NULL, NULL);
        char path[sizeof state + 32];
        snprintf(path, sizeof path, "%s/target-disk", state);
        unlink(path);
        rmdir(state);
        return r;
}
