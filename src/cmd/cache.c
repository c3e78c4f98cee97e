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

static const char help[] =
        "Usage: keystone cache prune [OPTIONS]\n"
        "\n"
        "Keep the artifact cache (root file systems, generations, disk images, build\n"
        "chroots, Keystone's .deb: one directory <kind>-<sha256 of its inputs> each)\n"
        "under a size limit.  Every change of an artifact's inputs adds an entry and\n"
        "nothing else removes them.  Whole entries go, least recently used first (the\n"
        "last use is the last time a build looked the entry up), until the cache fits.\n"
        "An entry a running build holds locked is skipped, and one used within the last\n"
        "--keep-hours is kept, so a build or test run in progress keeps what it made.\n"
        "Other files (the shared .deb pool) are neither counted nor removed.\n"
        "\n"
        "Options:\n"
        "      --max-size=SIZE    the limit (K, M, G, T: binary units); default\n"
        "                         $KEYSTONE_CACHE_MAX_SIZE, else " DEFAULT_MAX_SIZE "\n"
        "      --keep-hours=N     never remove an entry used less than N hours ago\n"
        "                         (default 2; 0 allows everything not locked)\n"
        "  -n, --dry-run          print what would be removed, remove nothing\n"
        "      --cache-dir=DIR    default $KEYSTONE_CACHE_DIR or /var/cache/keystone\n"
        "  -h, --help             this text\n"
        "\n"
        "Prints one line per entry removed and a summary.  make check runs it before\n"
        "the VM tests.\n";

int cmd_cache(int argc, char **argv) {
        static const struct option opts[] = {
                CMD_COMMON_OPTIONS,
                { "max-size", required_argument, NULL, 'm' },
                { "keep-hours", required_argument, NULL, 'k' },
                { "dry-run", no_argument, NULL, 'n' },
                { "cache-dir", required_argument, NULL, 'c' },
                {}
        };
        const char *cache = NULL, *max = NULL;
        long keep_hours = DEFAULT_KEEP_HOURS;
        bool dry = false;
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "hn", opts, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(help);
                case 'm':
                        max = optarg;
                        break;
                case 'k': {
                        char *end;
                        keep_hours = strtol(optarg, &end, 10);
                        if (end == optarg || *end || keep_hours < 0 || keep_hours > 100000)
                                return cmd_usage_error("cache", "--keep-hours=%s: expected a number of hours "
                                                       "(0 or more)", optarg);
                        break;
                }
                case 'n':
                        dry = true;
                        break;
                case 'c':
                        cache = optarg;
                        break;
                default:
                        return cmd_usage_error("cache", "unknown option");
                }
        if (optind >= argc || !streq(argv[optind], "prune"))
                return cmd_usage_error("cache", "expected 'prune'%s%s", optind < argc ? ", not " : "",
                                       optind < argc ? argv[optind] : "");
        if (optind + 1 < argc)
                return cmd_usage_error("cache", "prune takes no arguments (got '%s')", argv[optind + 1]);
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
                return cmd_usage_error("cache", "%s '%s' is not a size: use e.g. 20G, 500M or a number of bytes",
                                       from, max);
        if (!cache)
                cache = cache_dir_default();
        CachePruneOptions o = {
                .max_size = max_size, .keep_seconds = keep_hours * 3600, .dry_run = dry, .out = stdout,
        };
        CachePruneReport rep = {};
        int r = cache_prune(cache, &o, &rep);
        if (r == -ENOENT) {
                printf("cache %s: does not exist, nothing to prune\n", cache);
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "Pruning the cache %s failed: %m. Check that it is readable and that "
                                       "you may write to it (run as root for /var/cache/keystone).", cache);
        char b[32], a[32], l[32];
        printf("cache %s: %s in %u entries; %s %u; %s%s (limit %s)%s\n", cache,
               format_bytes(rep.size_before, b, sizeof b), rep.entries, dry ? "would remove" : "removed",
               rep.removed, dry ? "would leave " : "now ", format_bytes(rep.size_after, a, sizeof a),
               format_bytes(max_size, l, sizeof l),
               rep.over_limit ? (rep.busy ? "; still over: the rest is recent or locked by a running build"
                                          : "; still over: the rest was used within --keep-hours")
                              : "");
        return 0;
}
