/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <blkid/blkid.h>

#include "disk/probe.h"
#include "util/fs.h"
#include "util/macro.h"

/* The device and its partitions, as "maj:min" strings. */
typedef struct DevSet {
        char devs[64][24];
        char names[64][64];
        unsigned n;
} DevSet;

static void devset_add(DevSet *s, const char *dev, const char *name) {
        if (s->n >= ELEMENTSOF(s->devs))
                return;
        snprintf(s->devs[s->n], sizeof s->devs[0], "%s", dev);
        snprintf(s->names[s->n], sizeof s->names[0], "%s", name);
        s->n++;
}

static int read_line(const char *path, char *buf, size_t size) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f || !fgets(buf, size, f))
                return -ENOENT;
        buf[strcspn(buf, "\n")] = 0;
        return 0;
}

static void devset_fill(DevSet *s, dev_t rdev) {
        char base[64], dev[24];
        snprintf(dev, sizeof dev, "%u:%u", major(rdev), minor(rdev));
        snprintf(base, sizeof base, "/sys/dev/block/%s", dev);
        char real[PATH_MAX];
        if (!realpath(base, real)) {
                devset_add(s, dev, dev);
                return;
        }
        const char *name = strrchr(real, '/');
        devset_add(s, dev, name ? name + 1 : dev);
        _cleanup_(closedirp) DIR *d = opendir(real);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                char p[PATH_MAX + 300], v[24];
                snprintf(p, sizeof p, "%s/%s/partition", real, de->d_name);
                if (access(p, F_OK) < 0)
                        continue;
                snprintf(p, sizeof p, "%s/%s/dev", real, de->d_name);
                if (read_line(p, v, sizeof v) == 0)
                        devset_add(s, v, de->d_name);
        }
}

static void check_mounts(const DevSet *s, char *busy, size_t size) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096];
        while (f && fgets(line, sizeof line, f)) {
                /* id parent maj:min root mountpoint opts... - fstype source superopts;
                 * btrfs shows an anonymous maj:min, so compare the source too */
                char majmin[24], mp[2048], src[2048] = "";
                if (sscanf(line, "%*s %*s %23s %*s %2047s", majmin, mp) != 2)
                        continue;
                const char *dash = strstr(line, " - ");
                if (dash)
                        (void) sscanf(dash + 3, "%*s %2047s", src);
                char srcdev[24] = "";
                struct stat st;
                if (startswith(src, "/dev/") && stat(src, &st) == 0 && S_ISBLK(st.st_mode))
                        snprintf(srcdev, sizeof srcdev, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
                for (unsigned i = 0; i < s->n; i++)
                        if (streq(majmin, s->devs[i]) || streq(srcdev, s->devs[i])) {
                                snprintf(busy, size, "/dev/%s is mounted on %s", s->names[i], mp);
                                return;
                        }
        }
        _cleanup_fclose_ FILE *sw = fopen("/proc/swaps", "re");
        while (sw && fgets(line, sizeof line, sw)) {
                char path[2048];
                struct stat st;
                if (sscanf(line, "%2047s", path) != 1 || stat(path, &st) < 0 || !S_ISBLK(st.st_mode))
                        continue;
                char dev[24];
                snprintf(dev, sizeof dev, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
                for (unsigned i = 0; i < s->n; i++)
                        if (streq(dev, s->devs[i])) {
                                snprintf(busy, size, "/dev/%s is in use as swap", s->names[i]);
                                return;
                        }
        }
}

/* An image file attached to a loop device is in use. */
static void check_loop_backing(const char *path, char *busy, size_t size) {
        char real[PATH_MAX];
        if (!realpath(path, real))
                return;
        _cleanup_(closedirp) DIR *d = opendir("/sys/block");
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!startswith(de->d_name, "loop"))
                        continue;
                char p[300], v[PATH_MAX];
                snprintf(p, sizeof p, "/sys/block/%s/loop/backing_file", de->d_name);
                if (read_line(p, v, sizeof v) == 0 && streq(v, real)) {
                        snprintf(busy, size, "%s is attached to /dev/%s (losetup -d /dev/%s to detach it)", path,
                                 de->d_name, de->d_name);
                        return;
                }
        }
}

int disk_probe(const char *path, DiskProbe *ret) {
        DiskProbe p = {};
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        if (S_ISBLK(st.st_mode)) {
                p.is_block = true;
                DevSet s = {};
                devset_fill(&s, st.st_rdev);
                check_mounts(&s, p.busy, sizeof p.busy);
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | (*p.busy ? 0 : O_EXCL));
                if (fd < 0 && errno == EBUSY && !*p.busy) {
                        snprintf(p.busy, sizeof p.busy, "%s is held by the kernel (a mounted file system, a pool, "
                                 "device-mapper or RAID uses it)", path);
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                }
                if (fd < 0)
                        return -errno;
                if (ioctl(fd, BLKGETSIZE64, &p.bytes) < 0)
                        return -errno;
        } else if (S_ISREG(st.st_mode)) {
                p.bytes = st.st_size;
                check_loop_backing(path, p.busy, sizeof p.busy);
        } else
                return -ENOTBLK;

        if (p.bytes > 0) {
                blkid_probe pr = blkid_new_probe_from_filename(path);
                if (!pr)
                        return errno > 0 ? -errno : -EIO;
                blkid_probe_enable_superblocks(pr, 1);
                blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
                blkid_probe_enable_partitions(pr, 1);
                blkid_probe_set_partitions_flags(pr, BLKID_PARTS_FORCE_GPT);
                errno = 0;
                int r = blkid_do_safeprobe(pr);
                int e = errno;
                const char *v = NULL;
                if (r == 0) {
                        if (blkid_probe_lookup_value(pr, "PTTYPE", &v, NULL) == 0 && v)
                                snprintf(p.pttype, sizeof p.pttype, "%s", v);
                        if (blkid_probe_lookup_value(pr, "TYPE", &v, NULL) == 0 && v)
                                snprintf(p.fstype, sizeof p.fstype, "%s", v);
                } else if (r == -2)
                        snprintf(p.fstype, sizeof p.fstype, "ambiguous signatures");
                else if (r < 0) /* a read failed: not the same as nothing found */
                        snprintf(p.unreadable, sizeof p.unreadable, "%s", strerror(e > 0 ? e : EIO));
                blkid_free_probe(pr);
        }
        *ret = p;
        return 0;
}
