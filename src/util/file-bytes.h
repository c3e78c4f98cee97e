/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Whole files as byte buffers. */

/* Reads all of PATH (regular file, at most max_size bytes; 0: no limit) into
 * a malloc'd buffer with one extra NUL byte after the data. */
int read_file_bytes(const char *path, size_t max_size, uint8_t **ret_data, size_t *ret_size);

/* The same for an open descriptor of any kind (a pipe, stdin), read to its
 * end from where it stands: -EFBIG past max_size bytes (0: no limit). */
int read_fd_bytes(int fd, size_t max_size, uint8_t **ret_data, size_t *ret_size);

/* Writes DATA to PATH atomically: a temporary file in the same directory,
 * fsync, rename, fsync of the directory.  MODE is the new file's
 * permission bits. */
int write_file_bytes_atomic(const char *path, const void *data, size_t size, mode_t mode);

/* Creates PATH with O_CREAT|O_EXCL|O_NOFOLLOW and MODE, writes DATA, fsyncs
 * it and its directory (the name survives a power cut).
 * For secrets and for files that must never replace an existing one. */
int write_file_bytes_excl(const char *path, const void *data, size_t size, mode_t mode);

/* Like write_file_bytes_excl(), but a power cut or a kill never leaves a
 * short file under PATH: the bytes go to PATH.tmp-XXXXXX (0600, same
 * directory), are fsynced, and only then get the name (renameat2
 * RENAME_NOREPLACE: -EEXIST when PATH exists), then the directory is
 * fsynced.  What a cut can leave is a temporary file, never PATH. */
int write_file_bytes_new(const char *path, const void *data, size_t size, mode_t mode);

/* Bytes allocated (st_blocks) to PATH, a directory, and everything below
 * it, not crossing into other file systems and not following links. */
int dir_allocated_bytes(const char *path, uint64_t *ret);
