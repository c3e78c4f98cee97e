/* SPDX-License-Identifier: MIT */
#pragma once

/* Artifacts cached under /var/cache/keystone/<kind>-<sha256 of inputs>/. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* A stage's build directory TMP made into the cache entry DIR: TMP/inputs.txt
 * written (INPUTS, what the entry was made from), then TMP renamed to DIR. */
int cache_commit(const char *tmp, const char *dir, const char *inputs);

/* rm -rf --one-file-system PATH (build directories of the stages). */
int cache_rm_rf(const char *path);

struct RunResult;
/* A command's stdout and stderr, saved as DIR/NAME (build.log, mkfs.log). */
int cache_save_log(const char *dir, const char *name, const struct RunResult *res);
/* Runs argv; when it fails, its output is saved as DIR/NAME and *error
 * (malloc'd) says "WHAT failed: <how> (log: DIR/NAME)". */
int cache_run_logged(const char *const *argv, const char *dir, const char *name, char **error, const char *what);

/* ---- pruning: the cache grows by one rootfs, generation and disk image
 * per change of their inputs; nothing else ever removes them. ---- */

typedef struct CachePruneOptions {
        uint64_t max_size;      /* remove least recently used entries until the cache is at most this */
        long keep_seconds;      /* never remove an entry used less than this long ago */
        bool dry_run;           /* only print the plan */
        FILE *out;              /* one line per entry removed, then a summary; NULL: silent */
} CachePruneOptions;

typedef struct CachePruneReport {
        uint64_t size_before, size_after;
        unsigned entries, removed, busy;        /* busy: locked by a running build, skipped */
        bool over_limit;                        /* still above max_size: what is left is recent or busy */
} CachePruneReport;

/* Removes whole entries (<dir>/<kind>-<64 hex>/) of the cache, least
 * recently used first, until it holds at most max_size bytes.  An entry's
 * last use is the time of its last cache_lock() (the .lock file's mtime).
 * An entry whose lock another process holds is skipped; one used within
 * keep_seconds is kept, so a run in progress keeps what it made.  Other
 * files in dir (the shared .deb pool, logs) are neither counted nor
 * touched.  Returns 0 or -errno (dir unreadable; a removal that failed). */
int cache_prune(const char *dir, const CachePruneOptions *o, CachePruneReport *ret);
