/* SPDX-License-Identifier: MIT */
#pragma once

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/* The credstore: a small zvol holding LUKS2, ext4 inside, and in it the
 * 32-byte raw key of the encrypted datasets. */

#define CREDSTORE_DM_NAME "keystone-credstore"

/* The block device of a zvol: /dev/zvol/NAME when udev made it, else the
 * /dev/zdN that zvol_id names NAME (initrds and installers without udev).
 * Waits up to timeout_ms for it to appear. */
int zvol_device(const char *name, char *buf, size_t size, int timeout_ms);

/* 1 when dev holds a LUKS2 header, 0 when not. */
int credstore_is_luks(const char *dev);

/* LUKS2 format (aes-xts-plain64, 512-bit key, argon2id) with the secret in
 * keyslot 0, marked as the install secret's by a keystone-install-secret
 * token (tpm/luks.h). */
int credstore_format(const char *dev, const void *secret, size_t size);

/* Activates as /dev/mapper/NAME; -EPERM when the secret opens no keyslot. */
int credstore_open(const char *dev, const char *name, const void *secret, size_t size);
/* Closes the mapping NAME; 0 also when it is not open.  A busy mapping
 * (udev probing after an unmount) is retried for 30 s before -EBUSY. */
int credstore_close(const char *name);

/* Creates path (0400) holding n random bytes, atomically
 * (write_file_bytes_new(): a cut leaves no short file; temporary files an
 * earlier cut left are removed first); -EEXIST when path exists.  The
 * bytes exist only there and are wiped from memory. */
int credstore_write_random_key(const char *path, size_t n);

/* Whether path is the key file: 1 when it is a regular file of exactly n
 * bytes, 0 when it does not exist, -EBADMSG when it is something else (a
 * short file a cut left, a link), with its size in *ret_size. */
int credstore_key_check(const char *path, size_t n, off_t *ret_size);
