/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "init/zvol.h"
#include "util/log.h"
#include "util/macro.h"

/* From OpenZFS (include/sys/fs/zfs.h): the dataset name of a zvol device. */
#define ZVOL_NAME_MAX 256
#define BLKZNAME _IOR(0x12, 125, char[ZVOL_NAME_MAX])

int init_zvol_name_ioctl(void *userdata, const char *node, char *buf, size_t size) {
        char name[ZVOL_NAME_MAX] = "";
        _cleanup_close_ int fd = open(node, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (ioctl(fd, BLKZNAME, name) < 0)
                return negative_errno();
        name[sizeof name - 1] = 0;
        if (strlen(name) >= size)
                return -ENAMETOOLONG;
        snprintf(buf, size, "%s", name);
        return 0;
}

static int mknod_block(void *userdata, const char *path, dev_t dev) {
        return mknod(path, S_IFBLK | 0600, dev) < 0 ? negative_errno() : 0;
}

int init_parse_devnum(const char *s, dev_t *ret) {
        char *end;
        errno = 0;
        unsigned long ma = strtoul(s, &end, 10);
        if (errno || end == s || *end != ':' || ma > 0xfff)
                return -EINVAL;
        const char *m = end + 1;
        unsigned long mi = strtoul(m, &end, 10);
        if (errno || end == m || (*end && *end != '\n') || (*end == '\n' && end[1]) || mi > 0xfffff)
                return -EINVAL;
        *ret = makedev(ma, mi);
        return 0;
}

static bool is_zd_name(const char *s) {
        const char *d = startswith(s, "zd");
        if (!d || !*d)
                return false;
        for (; *d; d++)
                if (*d < '0' || *d > '9')
                        return false;
        return true;
}

static int read_small(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        ssize_t n = read(fd, buf, size - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = 0;
        return 0;
}

static int sort_names(const struct dirent **a, const struct dirent **b) {
        return strverscmp((*a)->d_name, (*b)->d_name);
}

static int zd_filter(const struct dirent *d) {
        return is_zd_name(d->d_name);
}

/* Makes sure ROOT/dev/NAME is the device dev. */
static int ensure_node(const InitZvolLookup *l, const char *node, dev_t dev) {
        struct stat st;
        if (lstat(node, &st) < 0) {
                if (errno != ENOENT)
                        return negative_errno();
                int r = (l->mknod ? l->mknod : mknod_block)(l->userdata, node, dev);
                if (r < 0)
                        log_debug("mknod %s %u:%u failed: %s", node, major(dev), minor(dev), strerror(-r));
                return r;
        }
        if (S_ISBLK(st.st_mode) && st.st_rdev == dev)
                return 0;
        if (S_ISREG(st.st_mode) && l->accept_regular_files)
                return 0;
        log_debug("%s exists but is not the block device %u:%u; skipped", node, major(dev), minor(dev));
        return -ENOTBLK;
}

int init_zvol_find(const InitZvolLookup *l, const char *zvol, char *ret_node, size_t size) {
        char sysblock[4096];
        snprintf(sysblock, sizeof sysblock, "%s/sys/block", l->root);
        struct dirent **list = NULL;
        int n = scandir(sysblock, &list, zd_filter, sort_names);
        if (n < 0)
                return negative_errno();
        int r = -ENOENT;
        for (int i = 0; i < n; i++) {
                const char *zd = list[i]->d_name;
                char path[4400], buf[64], node[4400], name[ZVOL_NAME_MAX];
                dev_t dev;
                snprintf(path, sizeof path, "%s/%s/dev", sysblock, zd);
                if (r != -ENOENT || read_small(path, buf, sizeof buf) < 0 || init_parse_devnum(buf, &dev) < 0)
                        continue;
                snprintf(node, sizeof node, "%s/dev/%s", l->root, zd);
                if (ensure_node(l, node, dev) < 0)
                        continue;
                int k = (l->name ? l->name : init_zvol_name_ioctl)(l->userdata, node, name, sizeof name);
                if (k < 0) {
                        log_debug("cannot ask %s for its zvol name: %s", node, strerror(-k));
                        continue;
                }
                log_debug("%s is the zvol %s", node, name);
                if (!streq(name, zvol))
                        continue;
                if (strlen(node) >= size)
                        r = -ENAMETOOLONG;
                else {
                        snprintf(ret_node, size, "%s", node);
                        r = 0;
                }
        }
        for (int i = 0; i < n; i++)
                free(list[i]);
        free(list);
        return r;
}

int init_zvol_wait(const InitZvolLookup *l, const char *zvol, int timeout_ms, char *ret_node, size_t size) {
        /* ZFS makes the zvol's block device shortly after the import, from a
         * task queue: poll often, a scan of /sys/block is cheap */
        for (int waited = 0;; waited += 25) {
                int r = init_zvol_find(l, zvol, ret_node, size);
                if (r != -ENOENT)
                        return r;
                if (waited >= timeout_ms)
                        return -ETIMEDOUT;
                nanosleep(&(struct timespec) { 0, 25 * 1000000 }, NULL);
        }
}
