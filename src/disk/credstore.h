/* SPDX-License-Identifier: MIT */
#pragma once

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

/* Creates path (0400, O_EXCL|O_NOFOLLOW) holding n random bytes; the bytes
 * exist only there and are wiped from memory. */
int credstore_write_random_key(const char *path, size_t n);
