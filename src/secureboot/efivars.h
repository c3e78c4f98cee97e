/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secureboot/guid.h"

/* EFI variables through efivarfs: one file per variable, "Name-GUID",
 * holding the 4-byte attributes followed by the data.  A plain directory
 * laid out the same way stands in for efivarfs in tests. */

#define EFIVARFS_DEFAULT_DIR "/sys/firmware/efi/efivars"

/* -ENOENT when the variable does not exist. */
int efivar_read(const char *dir, const char *name, const EfiGuid *vendor,
                uint32_t *ret_attrs, uint8_t **ret_data, size_t *ret_size);

/* Writes attrs + data with one write(), as efivarfs requires.  Clears the
 * immutable flag efivarfs sets on existing variables first (and sets it
 * again afterwards); a directory that is not efivarfs may not support the
 * flag (ENOTTY etc. are ignored there).  On a plain directory the file is
 * replaced by exactly what efivarfs would have been given. */
int efivar_write(const char *dir, const char *name, const EfiGuid *vendor, uint32_t attrs,
                 const uint8_t *data, size_t size);

/* A one-byte boolean variable (SecureBoot, SetupMode…): 0/1, -ENOENT when
 * absent, -EBADMSG when not one byte. */
int efivar_read_u8(const char *dir, const char *name, const EfiGuid *vendor, uint8_t *ret);

/* Whether DIR is a mounted efivarfs. */
bool efivars_is_efivarfs(const char *dir);
