/* SPDX-License-Identifier: MIT */
#pragma once

/* Artifacts cached under /var/cache/keystone/<kind>-<sha256 of inputs>/. */

#include <stddef.h>

/* Lower-case hex SHA-256 of data (out: 65 bytes). */
int cache_sha256_hex(const void *data, size_t n, char out[static 65]);

/* $KEYSTONE_CACHE_DIR, else /var/cache/keystone. */
const char *cache_dir_default(void);

/* Takes an exclusive lock on <dir>/<kind>-<hash>.lock (blocks while another
 * process builds the same artifact).  Returns the lock fd (close to
 * release) or -errno. */
int cache_lock(const char *dir, const char *kind, const char *hash);

/* Writes text to path (created 0644 or truncated; never through a symlink):
 * the inputs.txt, cmdline and hook files of the stages. */
int cache_write_text(const char *path, const char *text);

/* rm -rf --one-file-system PATH (build directories of the stages). */
int cache_rm_rf(const char *path);

struct RunResult;
/* A command's stdout and stderr, saved as DIR/NAME (build.log, mkfs.log). */
int cache_save_log(const char *dir, const char *name, const struct RunResult *res);
