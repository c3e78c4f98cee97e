/* SPDX-License-Identifier: MIT */
/* keystone cache prune: keep the artifact cache under a size limit. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "config/schema.h"
#include "image/cache.h"
#include "util/format-bytes.h"

#define DEFAULT_MAX_SIZE "20G"
#define DEFAULT_KEEP_HOURS 2

#define CACHE_OPTIONS(X)                                                                                      \
        X(CACHE_OPT_MAX_SIZE, "max-size", 0, "SIZE", "prune",                                                    \
          "the limit (K, M, G, T: binary units); default\n"                                                      \
          "$KEYSTONE_CACHE_MAX_SIZE, else " DEFAULT_MAX_SIZE)                                                     \
        X(CACHE_OPT_KEEP_HOURS, "keep-hours", 0, "N", "prune",                                                   \
          "never remove an entry used less than N hours ago\n"                                                   \
          "(default 2; 0 allows everything not locked)")                                                         \
        X(CACHE_OPT_DRY_RUN, "dry-run", 'n', NULL, "prune", "print what would be removed, remove nothing")      \
        X(CACHE_OPT_CACHE_DIR, "cache-dir", 0, "DIR", "prune", "default $KEYSTONE_CACHE_DIR or /var/cache/keystone")
enum { CACHE_OPTIONS(CMD_OPTION_ID) };
const CmdOption cache_options[] = { CACHE_OPTIONS(CMD_OPTION_ENTRY) {} };

static int cache_prune_run(const CmdArgs *a);

const Verb cache_verbs[] = {
        { "prune", NULL, "remove the least recently used entries until the cache fits", 0, 0,
          cache_prune_run,
          .description =
                  "Keep the artifact cache (root file systems, generations, disk images, build\n"
                  "chroots, Keystone's .deb: one directory <kind>-<sha256 of its inputs> each)\n"
                  "under a size limit.  Every change of an artifact's inputs adds an entry and\n"
                  "nothing else removes them.  Whole entries go, least recently used first (the\n"
                  "last use is the last time a build looked the entry up), until the cache fits.\n"
                  "An entry a running build holds locked is skipped, and one used within the last\n"
                  "--keep-hours is kept, so a build or test run in progress keeps what it made.\n"
                  "Other files (the shared .deb pool) are neither counted nor removed.",
          .epilog = "Prints one line per entry removed and a summary.  make check runs it before\n"
                    "the VM tests.\n" },
        {}
};

static int cache_prune_run(const CmdArgs *a) {
        const char *cache = cmd_opt(a, CACHE_OPT_CACHE_DIR), *max = cmd_opt(a, CACHE_OPT_MAX_SIZE);
        bool dry = cmd_flag(a, CACHE_OPT_DRY_RUN);
        uint64_t keep_hours = DEFAULT_KEEP_HOURS;
        int r = cmd_opt_uint(a, CACHE_OPT_KEEP_HOURS, 100000, &keep_hours);
        if (r < 0)
                return r;
        const char *from = "--max-size";
        if (!max) {
                max = getenv("KEYSTONE_CACHE_MAX_SIZE");
                from = "$KEYSTONE_CACHE_MAX_SIZE";
                if (!max || !*max) {
                        max = DEFAULT_MAX_SIZE;
                        from = "the default";
                }
        }
        uint64_t max_size;
        if (size_parse(max, &max_size) < 0)
                return cmd_usage(a, "%s '%s' is not a size: use e.g. 20G, 500M or a number of bytes", from, max);
        if (!cache)
                cache = cache_dir_default();
        CachePruneOptions o = {
                .max_size = max_size, .keep_seconds = (long) keep_hours * 3600, .dry_run = dry, .out = stdout,
        };
        CachePruneReport rep = {};
        r = cache_prune(cache, &o, &rep);
        if (r == -ENOENT) {
                printf("cache %s: does not exist, nothing to prune\n", cache);
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "Pruning the cache %s failed: %m. Check that it is readable and that "
                                       "you may write to it (run as root for /var/cache/keystone).", cache);
        char before[32], after[32], limit[32];
        printf("cache %s: %s in %u entries; %s %u; %s%s (limit %s)%s\n", cache,
               format_bytes(rep.size_before, before, sizeof before), rep.entries, dry ? "would remove" : "removed",
               rep.removed, dry ? "would leave " : "now ", format_bytes(rep.size_after, after, sizeof after),
               format_bytes(max_size, limit, sizeof limit),
               rep.over_limit ? (rep.busy ? "; still over: the rest is recent or locked by a running build"
                                          : "; still over: the rest was used within --keep-hours")
                              : "");
        return 0;
}
