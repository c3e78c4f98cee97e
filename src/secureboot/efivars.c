/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>

#include "secureboot/efivars.h"
#include "secureboot/pe.h"
#include "util/file-bytes.h"
#include "util/log.h"
#include "util/macro.h"

#define EFIVARFS_MAGIC 0xde5e81e4
#define EFIVAR_MAX_SIZE (1u << 20)

static char *var_path(const char *dir, const char *name, const EfiGuid *vendor) {
        char g[EFI_GUID_STRING_MAX];
        efi_guid_to_string(vendor, g);
        char *p;
        if (asprintf(&p, "%s/%s-%s", dir, name, g) < 0)
                return NULL;
        return p;
}

bool efivars_is_efivarfs(const char *dir) {
        struct statfs s;
        return statfs(dir, &s) == 0 && (uint32_t) s.f_type == EFIVARFS_MAGIC;
}

int efivar_read(const char *dir, const char *name, const EfiGuid *vendor,
                uint32_t *ret_attrs, uint8_t **ret_data, size_t *ret_size) {
        _cleanup_free_ char *p = var_path(dir, name, vendor);
        if (!p)
                return -ENOMEM;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t n;
        int r = read_file_bytes(p, EFIVAR_MAX_SIZE, &buf, &n);
        if (r < 0)
                return r;
        if (n < 4)
                return -EBADMSG;
        if (ret_attrs)
                *ret_attrs = le32(buf);
        if (ret_data) {
                uint8_t *d = malloc(n - 4 + 1);
                if (!d)
                        return -ENOMEM;
                memcpy(d, buf + 4, n - 4);
                d[n - 4] = 0;
                *ret_data = d;
        }
        if (ret_size)
                *ret_size = n - 4;
        return 0;
}

int efivar_read_u8(const char *dir, const char *name, const EfiGuid *vendor, uint8_t *ret) {
        _cleanup_free_ uint8_t *d = NULL;
        size_t n;
        int r = efivar_read(dir, name, vendor, NULL, &d, &n);
        if (r < 0)
                return r;
        if (n != 1)
                return -EBADMSG;
        *ret = d[0];
        return 0;
}

static bool flags_unsupported(int err) {
        return err == ENOTTY || err == EOPNOTSUPP || err == EINVAL || err == ENOSYS;
}

/* Clears FS_IMMUTABLE_FL on PATH if set; *ret_was tells whether it was. */
static int immutable_clear(const char *path, bool *ret_was) {
        *ret_was = false;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return errno == ENOENT ? 0 : negative_errno();
        int flags;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
                return flags_unsupported(errno) ? 0 : negative_errno();
        if (!(flags & FS_IMMUTABLE_FL))
                return 0;
        flags &= ~FS_IMMUTABLE_FL;
        if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0)
                return negative_errno();
        *ret_was = true;
        return 0;
}

static void immutable_set(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        int flags;
        if (fd < 0 || ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
                return;
        flags |= FS_IMMUTABLE_FL;
        if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0)
                log_debug("cannot set the immutable flag again on %s: %m", path);
}

int efivar_write(const char *dir, const char *name, const EfiGuid *vendor, uint32_t attrs,
                 const uint8_t *data, size_t size) {
        _cleanup_free_ char *p = var_path(dir, name, vendor);
        if (!p)
                return -ENOMEM;
        if (size > EFIVAR_MAX_SIZE)
                return -EFBIG;
        _cleanup_free_ uint8_t *buf = malloc(4 + size);
        if (!buf)
                return -ENOMEM;
        put_le32(buf, attrs);
        if (size)
                memcpy(buf + 4, data, size);

        bool was_immutable;
        int r = immutable_clear(p, &was_immutable);
        if (r < 0)
                return r;
        /* efivarfs takes the whole variable in one write; a plain directory
         * gets the same bytes, replacing what was there. */
        int oflags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW;
        if (!efivars_is_efivarfs(dir))
                oflags |= O_TRUNC;
        _cleanup_close_ int fd = open(p, oflags, 0644);
        if (fd < 0) {
                r = negative_errno();
                goto finish;
        }
        ssize_t k = write(fd, buf, 4 + size);
        if (k < 0)
                r = negative_errno();
        else if ((size_t) k != 4 + size)
                r = -EIO;
        else
                r = 0;
finish:
        if (was_immutable)
                immutable_set(p);
        return r;
}
