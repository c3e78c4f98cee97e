/* SPDX-License-Identifier: MIT */
#pragma once

/* Erases a secret file: its bytes overwritten with zeros and synced, then
 * the name removed, then checked gone.  Not a symlink (O_NOFOLLOW), only a
 * regular file.  0; -ENOENT when there was no such file; -EEXIST when the
 * name is still there afterwards; other -errno from open/write/unlink. */
int secret_file_erase(const char *path);

/* A secret file written anew: an old PATH removed first, then created with
 * O_EXCL|O_NOFOLLOW, 0600, synced (write_file_bytes_excl()).  0 or -errno. */
int secret_file_replace(const char *path, const char *data);
