/* SPDX-License-Identifier: MIT */
/* disk: `keystone disk apply` in a trixie guest with ZFS, on a blank virtio
 * disk; every property of the plan's layout checked with zpool, zfs,
 * cryptsetup, sgdisk and blkid; a second apply changes nothing; a power cut
 * in the middle of apply, then apply again, completes; a short ZFS key left
 * by a cut is replaced, and a kill between zfs create rpool/crypt and zfs
 * set keylocation is repaired on resume; a pool of the same name imported
 * from another disk is refused by apply and mount, naming both, and left
 * alone; mount after a reboot
 * brings the tree back; the 32 key bytes appear nowhere in the raw disk
 * image as read from the host.
 *
 * With KEYSTONE_BENCH_DISK=1 (bench/disk.sh) it runs only the benchmark:
 * apply on a blank 20 GiB disk against tests/vm/data/disk-plain.sh (the
 * same steps as a plain script) on another: a warm-up round, then two
 * rounds alternating the disks, printing "bench: round N keystone S ...
 * plain S" lines; nothing is asserted about the times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmtest.h"
#include "vmtest-image.h"

#define APPLY "keystone disk apply /root/target.toml --yes"

static void blank_disk(const char *path, long long bytes) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, bytes), 0);
        close(fd);
}

/* Whether the bytes occur anywhere in the file (read with mmap). */
static bool file_contains(const char *path, const unsigned char *needle, size_t n) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        void *m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        assert_true(m != MAP_FAILED);
        bool found = memmem(m, st.st_size, needle, n) != NULL;
        munmap(m, st.st_size);
        close(fd);
        return found;
}

static void expect_prop(Vm *vm, const char *dataset, const char *prop, const char *want) {
        vmtest_step("%s %s = %s", dataset, prop, want);
        const char *v = vm_succeed(vm, "zfs get -H -p -o value %s %s", prop, dataset);
        if (strncmp(v, want, strlen(want)) != 0 || v[strlen(want)] != '\n')
                fail_msg("%s: %s is %s, want %s", dataset, prop, v, want);
}

/* Seconds the guest command took, measured inside the guest. */
static double guest_time(Vm *vm, const char *cmd) {
        const char *out = vm_succeed(vm, "s=$(date +%%s.%%N); %s >/tmp/bench.out 2>&1 || "
                                         "{ cat /tmp/bench.out; exit 1; }; e=$(date +%%s.%%N); "
                                         "awk \"BEGIN { print $e - $s }\"", cmd);
        return strtod(out, NULL);
}

/* What a power cut leaves held after a kill: nothing.  A killed apply
 * leaves the credstore mounted and open and the pool imported, and apply
 * refuses to write to a disk in use; the disk's own state stays. */
static void release_after_kill(Vm *vm) {
        vm_succeed(vm, "sync; umount /run/keystone/disk/etc/credstore 2>/dev/null; udevadm settle; "
                       "cryptsetup close keystone-credstore; zpool export rpool");
}

static void wipe(Vm *vm, const char *dev) {
        vm_succeed(vm, "zpool labelclear -f %s2 2>/dev/null; wipefs -a -q %s1 %s2 %s3 2>/dev/null; "
                       "sgdisk --zap-all %s >/dev/null; wipefs -a -q %s; udevadm settle",
                   dev, dev, dev, dev, dev, dev);
}

/* The disk scenario's VM: the "disk" image plus two blank raw disks of
 * the given size (/dev/vdb, /dev/vdc), the target host file in /root,
 * the zfs module loaded.  Paths of the blank disks in d1, d2. */
static Vm *start_disk_vm(long long bytes, const char *prefix, char d1[PATH_MAX], char d2[PATH_MAX]) {
        /* static: the VM's configuration points into it for every restart */
        static ImageArtifacts a;
        vmtest_build_host("disk", &a);
        snprintf(d1, PATH_MAX, "%s/%s1.img", vmtest_dir(), prefix);
        snprintf(d2, PATH_MAX, "%s/%s2.img", vmtest_dir(), prefix);
        blank_disk(d1, bytes);
        blank_disk(d2, bytes);
        VmConfig c = vmtest_config_for(&a, "disk");
        c.disks[1] = (VmDisk) { .path = d1, .format = "raw" };
        c.disks[2] = (VmDisk) { .path = d2, .format = "raw" };
        c.memory_mb = 1536;
        Vm *vm = vm_create(&c);
        vm_start(vm);
        vm_wait_for_shell(vm, 300);
        char target[PATH_MAX];
        const char *src = getenv("SRCDIR");
        snprintf(target, sizeof target, "%s/tests/vm/data/disk-target.toml", src ? src : ".");
        vm_copy_to(vm, target, "/root/target.toml");
        vm_succeed(vm, "modprobe zfs");
        return vm;
}

static void bench_disk(void) {
        char d1[PATH_MAX], d2[PATH_MAX], plain[PATH_MAX];
        Vm *vm = start_disk_vm(20LL << 30, "bench", d1, d2);
        const char *src = getenv("SRCDIR");
        snprintf(plain, sizeof plain, "%s/tests/vm/data/disk-plain.sh", src ? src : ".");
        vm_copy_to(vm, plain, "/root/disk-plain.sh");
        const char *devs[2] = { "/dev/vdb", "/dev/vdc" };
        /* round 0 warms the guest up (the first apply of a boot paid about
         * a minute more than the later ones, whichever tool ran it) and is
         * reported but not counted; keystone's timestamped log of each round
         * is kept in the test's directory */
        for (int round = 0; round < 3; round++) {
                const char *k = devs[round % 2], *p = devs[1 - round % 2];
                char cmd[512], logp[PATH_MAX + 32];
                vm_succeed(vm, "rm -f /root/bench.key /root/plain.key /tmp/bench-k.log");
                snprintf(cmd, sizeof cmd, "sh /root/disk-plain.sh %s /root/plain.key", p);
                double tp = round == 0 ? guest_time(vm, cmd) : 0;
                snprintf(cmd, sizeof cmd, "KEYSTONE_LOG_FILE=/tmp/bench-k.log keystone disk apply /root/target.toml "
                                          "--yes --device %s --credstore-new-key-file /root/bench.key", k);
                double tk = guest_time(vm, cmd);
                snprintf(cmd, sizeof cmd, "sh /root/disk-plain.sh %s /root/plain.key", p);
                if (round > 0)
                        tp = guest_time(vm, cmd);
                snprintf(logp, sizeof logp, "%s/bench-keystone-round%d.log", vmtest_dir(), round);
                vm_copy_from(vm, "/tmp/bench-k.log", logp);
                /* both produced the layout: an encrypted pool with the datasets */
                for (int i = 0; i < 2; i++) {
                        const char *dev = i ? p : k;
                        const char *ds = vm_succeed(vm, "zpool import -N -d %s2 rpool && "
                                                        "zfs get -H -o name,value encryptionroot -r rpool/crypt; "
                                                        "zpool export rpool", dev);
                        assert_non_null(strstr(ds, "rpool/crypt/srv\trpool/crypt"));
                }
                if (round == 0)
                        printf("bench: warm-up plain %.2f s (%s), keystone %.2f s (%s), not counted\n", tp, p, tk, k);
                else
                        printf("bench: round %d keystone %.2f s (%s), plain %.2f s (%s)\n", round, tk, k, tp, p);
                fflush(stdout);
                wipe(vm, "/dev/vdb");
                wipe(vm, "/dev/vdc");
        }
        vm_shutdown(vm, 120);
}

static void test_disk(void **state) {
        vmtest_init("disk");
        if (getenv("KEYSTONE_BENCH_DISK")) {
                bench_disk();
                return;
        }
        char disk1[PATH_MAX], disk2[PATH_MAX];
        Vm *vm = start_disk_vm(3LL << 30, "target", disk1, disk2);

        vmtest_step("apply on the blank disk /dev/vdb");
        const char *out = vm_succeed(vm, APPLY " --device /dev/vdb --credstore-new-key-file /root/cred.key 2>&1");
        assert_non_null(strstr(out, "finish     done"));
        assert_string_equal(vm_succeed(vm, "stat -c %%a /root/cred.key"), "600\n");

        vmtest_step("the partition table");
        assert_non_null(strstr(vm_succeed(vm, "sgdisk -v /dev/vdb"), "No problems found"));
        const char *d = vm_succeed(vm, "sfdisk -d /dev/vdb");
        assert_non_null(strstr(d, "type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B"));
        assert_non_null(strstr(d, "name=\"ESP\""));
        assert_non_null(strstr(d, "type=6A898CC3-1DD2-11B2-99A6-080020736631"));
        assert_non_null(strstr(d, "type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"));
        assert_non_null(strstr(d, "size=      262144, type=0657FD6D")); /* 128 MiB of swap */
        assert_string_equal(vm_succeed(vm, "blkid -o value -s TYPE /dev/vdb1"), "vfat\n");
        assert_string_equal(vm_succeed(vm, "blkid -o value -s LABEL /dev/vdb1"), "ESP\n");

        vmtest_step("the pool and datasets");
        vm_succeed(vm, "zpool import -N -d /dev/vdb2 rpool"); /* no altroot: mountpoints as stored */
        assert_string_equal(vm_succeed(vm, "zpool get -H -o value ashift rpool"), "12\n");
        expect_prop(vm, "rpool", "compression", "zstd");
        expect_prop(vm, "rpool", "acltype", "posix");
        /* OpenZFS 2.2 made "on" mean system-attribute xattrs; -p shows "on" */
        const char *xa = vm_succeed(vm, "zfs get -H -p -o value xattr rpool");
        assert_true(strcmp(xa, "sa\n") == 0 || strcmp(xa, "on\n") == 0);
        expect_prop(vm, "rpool", "mountpoint", "none");
        expect_prop(vm, "rpool/credstore", "volsize", "104857600");
        expect_prop(vm, "rpool/crypt", "encryption", "aes-256-gcm");
        expect_prop(vm, "rpool/crypt", "keyformat", "raw");
        expect_prop(vm, "rpool/crypt", "keylocation", "file:///etc/credstore/zfs-sysroot.mount");
        const char *ds[][2] = {
                { "rpool/crypt/system", "none" }, { "rpool/crypt/system/var", "/var" },
                { "rpool/crypt/home", "/home" }, { "rpool/crypt/srv", "/srv" },
        };
        for (size_t i = 0; i < 4; i++) {
                expect_prop(vm, ds[i][0], "encryptionroot", "rpool/crypt");
                expect_prop(vm, ds[i][0], "mountpoint", ds[i][1]);
        }
        assert_string_equal(vm_succeed(vm, "zfs get -H -o value keystatus rpool/crypt"), "unavailable\n");
        vmtest_step("the credstore is LUKS2 and opens with the secret");
        const char *dump = vm_succeed(vm, "cryptsetup luksDump /dev/zvol/rpool/credstore || "
                                          "cryptsetup luksDump $(for z in /dev/zd*; do case $z in *[0-9]) "
                                          "[ \"$(/usr/lib/udev/zvol_id $z)\" = rpool/credstore ] && echo $z;; esac; done)");
        assert_non_null(strstr(dump, "Version:       \t2"));
        vm_succeed(vm, "z=/dev/zvol/rpool/credstore; [ -e $z ] || z=$(for z in /dev/zd*; do case $z in *[0-9]) "
                       "[ \"$(/usr/lib/udev/zvol_id $z)\" = rpool/credstore ] && echo $z;; esac; done); "
                       "cryptsetup open --test-passphrase --key-file /root/cred.key $z");
        vm_fail(vm, "z=/dev/zvol/rpool/credstore; [ -e $z ] || z=$(for z in /dev/zd*; do case $z in *[0-9]) "
                    "[ \"$(/usr/lib/udev/zvol_id $z)\" = rpool/credstore ] && echo $z;; esac; done); "
                    "head -c 64 /dev/urandom >/root/wrong.key; cryptsetup open --test-passphrase --key-file /root/wrong.key $z");
        vm_succeed(vm, "zpool export rpool");

        vmtest_step("a second apply changes nothing");
        char b[128];
        snprintf(b, sizeof b, "%s", vm_succeed(vm, "sfdisk -d /dev/vdb | sha256sum"));
        out = vm_succeed(vm, APPLY " --device /dev/vdb --credstore-key-file /root/cred.key 2>&1");
        for (const char *step = "partition\0esp\0pool\0credstore\0crypt\0datasets\0"; *step; step += strlen(step) + 1) {
                char want[64];
                snprintf(want, sizeof want, "%-10s already done", step);
                if (!strstr(out, want)) {
                        fprintf(stderr, "---- second apply ----\n%s---- end ----\n", out);
                        fail_msg("second apply: no '%s' in its output (above)", want);
                }
        }
        assert_string_equal(vm_succeed(vm, "sfdisk -d /dev/vdb | sha256sum"), b);

        vmtest_step("a power cut in the middle of apply on /dev/vdc, then apply again");
        /* the test shell runs one command at a time: detach apply from it */
        vm_succeed(vm, "setsid -f sh -c '" APPLY " --device /dev/vdc --credstore-new-key-file /root/cred2.key' "
                       "</dev/null >/root/apply2.log 2>&1");
        /* the credstore step is under way (LUKS2 format, argon2id benchmark) */
        /* cut the power once the new secret is on disk: the LUKS2 format
         * (argon2id benchmark, seconds) is under way then */
        const char *log2 = vm_succeed(vm, "for i in $(seq 2400); do [ -s /root/cred2.key ] && "
                                          "break; sleep 0.1; done; cat /root/apply2.log");
        assert_non_null(strstr(log2, "credstore  zvol"));
        assert_null(strstr(log2, "credstore  done"));
        vm_crash(vm);
        vm_wait_for_shell(vm, 300);
        vm_succeed(vm, "modprobe zfs");
        out = vm_succeed(vm, APPLY " --device /dev/vdc --credstore-key-file /root/cred2.key 2>&1");
        assert_non_null(strstr(out, "partition  already done"));
        assert_non_null(strstr(out, "pool       already done"));
        assert_non_null(strstr(out, "finish     done"));

        /* The two cuts of issue 16: while the ZFS key was written (an older
         * Keystone wrote it in place, so a cut left a short file; now it is
         * renamed into place whole, and what a cut leaves is a temporary
         * file), and between zfs create rpool/crypt and zfs set keylocation
         * (the key location still names apply's altroot). */
        vmtest_step("resume after a short ZFS key on /dev/vdc");
        wipe(vm, "/dev/vdc");
        vm_succeed(vm, "rm -f /root/cred3.key");
        out = vm_succeed(vm, APPLY " --device /dev/vdc --credstore-new-key-file /root/cred3.key --until credstore 2>&1");
        assert_non_null(strstr(out, "credstore  done"));
        const char *kf = "/run/keystone/disk/etc/credstore/zfs-sysroot.mount";
        vm_succeed(vm, "truncate -s 10 %s && : >%s.tmp-AbC123 && stat -c %%s %s", kf, kf, kf);
        release_after_kill(vm);
        char cut[PATH_MAX];
        snprintf(cut, sizeof cut, "%s/tests/vm/data/zfs-cut.sh", getenv("SRCDIR") ? getenv("SRCDIR") : ".");
        vm_succeed(vm, "mkdir -p /root/cut");
        vm_copy_to(vm, cut, "/root/cut/zfs");
        vm_succeed(vm, "chmod 0755 /root/cut/zfs; rm -f /tmp/zfs-cut.log");

        vmtest_step("killed between zfs create rpool/crypt and zfs set keylocation");
        out = vm_fail(vm, "PATH=/root/cut:$PATH ZFS_CUT_AT='set keylocation=' " APPLY
                          " --device /dev/vdc --credstore-key-file /root/cred3.key 2>&1");
        if (!strstr(out, "replacing the ZFS key: it has 10 bytes, not 32") ||
            !strstr(vm_succeed(vm, "cat /tmp/zfs-cut.log"), "zfs-cut: killing")) {
                fprintf(stderr, "---- apply with the cut ----\n%s---- end ----\n", out);
                fail_msg("the short key was not replaced, or the cut did not happen (output above)");
        }
        assert_string_equal(vm_succeed(vm, "stat -c %%s %s; ls %s.tmp-* 2>/dev/null | wc -l", kf, kf), "32\n0\n");
        assert_string_equal(vm_succeed(vm, "zfs get -H -o value keylocation rpool/crypt"),
                            "file:///run/keystone/disk/etc/credstore/zfs-sysroot.mount\n");
        release_after_kill(vm);
        out = vm_succeed(vm, APPLY " --device /dev/vdc --credstore-key-file /root/cred3.key 2>&1");
        if (!strstr(out, "crypt      repairing keylocation") || !strstr(out, "finish     done")) {
                fprintf(stderr, "---- apply after the cut ----\n%s---- end ----\n", out);
                fail_msg("apply after the cut did not repair keylocation and finish (output above)");
        }
        vm_succeed(vm, "zpool import -N -d /dev/vdc2 rpool");
        expect_prop(vm, "rpool/crypt", "keylocation", "file:///etc/credstore/zfs-sysroot.mount");
        vm_succeed(vm, "zpool export rpool");
        out = vm_succeed(vm, APPLY " --device /dev/vdc --credstore-key-file /root/cred3.key 2>&1");
        assert_non_null(strstr(out, "crypt      already done (the encryption root is as planned, its key opens it)"));

        vmtest_step("a pool of the same name imported from another disk is refused, and left alone");
        /* /dev/vdc's rpool imported; apply and mount for /dev/vdb must not take it */
        vm_succeed(vm, "zpool import -N -d /dev/vdc2 rpool");
        char other[64], mine[64];
        snprintf(other, sizeof other, "%s", vm_succeed(vm, "zpool get -H -p -o value guid rpool"));
        other[strcspn(other, "\n")] = 0;
        snprintf(mine, sizeof mine, "%s", vm_succeed(vm, "blkid -p -o value -s UUID /dev/vdb2"));
        mine[strcspn(mine, "\n")] = 0;
        assert_true(*other && *mine && strcmp(other, mine) != 0);
        assert_string_equal(vm_succeed(vm, "blkid -p -o value -s UUID /dev/vdc2 | tr -d '\\n'"), other);
        out = vm_fail(vm, APPLY " --device /dev/vdb --credstore-key-file /root/cred.key 2>&1");
        char want[256];
        snprintf(want, sizeof want, "the imported rpool (GUID %s) is on /dev/vdc2", other);
        const char *want2 = NULL;
        char w2[256];
        snprintf(w2, sizeof w2, "/dev/vdb2 holds another pool, rpool (GUID %s)", mine);
        want2 = w2;
        if (!strstr(out, "a pool named rpool is already imported") || !strstr(out, want) || !strstr(out, want2) ||
            !strstr(out, "zpool export rpool")) {
                fprintf(stderr, "---- apply with another rpool imported ----\n%s---- end ----\n", out);
                fail_msg("the collision was not refused naming both pools (output above)");
        }
        out = vm_fail(vm, "keystone disk mount /root/target.toml --device /dev/vdb --root /mnt "
                          "--credstore-key-file /root/cred.key --no-tpm 2>&1");
        assert_non_null(strstr(out, want));
        /* the other pool: still imported, same GUID, its credstore closed, its key not loaded */
        assert_string_equal(vm_succeed(vm, "zpool get -H -p -o value guid rpool | tr -d '\\n'"), other);
        assert_string_equal(vm_succeed(vm, "ls /dev/mapper/keystone-credstore 2>/dev/null || echo none"), "none\n");
        assert_string_equal(vm_succeed(vm, "zfs get -H -o value keystatus rpool/crypt"), "unavailable\n");
        vm_succeed(vm, "zpool export rpool");

        vmtest_step("mount after a reboot brings the tree back");
        vm_reboot(vm, 300);
        vm_succeed(vm, "modprobe zfs");
        out = vm_succeed(vm, "keystone disk mount /root/target.toml --device /dev/vdb --root /mnt "
                             "--credstore-key-file /root/cred.key --no-tpm 2>&1");
        assert_non_null(strstr(out, "every dataset's encryptionroot is rpool/crypt"));
        const char *m = vm_succeed(vm, "findmnt -rn -o TARGET,SOURCE,FSTYPE | sort");
        assert_non_null(strstr(m, "/mnt/home rpool/crypt/home zfs"));
        assert_non_null(strstr(m, "/mnt/var rpool/crypt/system/var zfs"));
        assert_non_null(strstr(m, "/mnt/srv rpool/crypt/srv zfs"));
        assert_non_null(strstr(m, "/mnt/boot /dev/vdb1 vfat"));
        assert_non_null(strstr(m, "/mnt/etc/credstore /dev/mapper/keystone-credstore ext4"));
        vm_succeed(vm, "echo keystone > /mnt/home/f && sync");
        /* the key, as hex, to look for in the raw image afterwards */
        const char *hex = vm_succeed(vm, "od -An -v -tx1 /mnt/etc/credstore/zfs-sysroot.mount | tr -d ' \\n'");
        assert_int_equal(strlen(hex), 64);
        unsigned char key[32];
        for (int i = 0; i < 32; i++)
                assert_int_equal(sscanf(hex + 2 * i, "%2hhx", &key[i]), 1);
        vmtest_step("a dataset with a foreign encryptionroot is refused");
        vm_succeed(vm, "zfs unmount rpool/crypt/srv && zfs destroy rpool/crypt/srv && "
                       "printf passphrase12 | zfs create -o encryption=aes-256-gcm -o keyformat=passphrase "
                       "-o mountpoint=/srv -o canmount=noauto rpool/crypt/srv");
        vm_succeed(vm, "keystone disk unmount /root/target.toml --root /mnt");
        out = vm_fail(vm, "keystone disk mount /root/target.toml --device /dev/vdb --root /mnt "
                          "--credstore-key-file /root/cred.key --no-tpm");
        assert_non_null(strstr(out, "refusing to mount rpool/crypt/srv: its encryptionroot is rpool/crypt/srv, "
                                    "not rpool/crypt"));
        assert_string_equal(vm_succeed(vm, "findmnt -rn /mnt/home >/dev/null || echo none"), "none\n");
        vm_shutdown(vm, 120);

        vmtest_step("the key bytes are nowhere in the raw disk image");
        assert_false(file_contains(disk1, key, sizeof key));
        /* and the test would see them if they were there */
        assert_true(file_contains(disk1, (const unsigned char *) "LUKS\xba\xbe", 6));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_disk),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
