/* SPDX-License-Identifier: MIT */
/* The opening every keystone disk verb shares (disk.h). */
#include <unistd.h>

#include "cmd/config-load.h"
#include "cmd/disk.h"
#include "config/schema.h"
#include "disk/probe.h"

/* --size: only with --image, a size that a file can have. */
static int parse_size(const CmdArgs *a, uint64_t *ret) {
        const char *s = cmd_opt(a, DISK_OPT_SIZE);
        *ret = 0;
        if (!s)
                return 0;
        if (!cmd_opt(a, DISK_OPT_IMAGE))
                return cmd_usage(a, "--size is for --image");
        uint64_t bytes = 0;
        int r = size_parse(s, &bytes);
        if (r == -ERANGE || (r == 0 && bytes > INT64_MAX))
                /* file sizes and offsets are signed 64-bit (off_t): 8 EiB */
                return cmd_usage(a, "--size '%s' is too large: %s; a disk or image is at most 8 EiB (8388607T)", s,
                                 r == -ERANGE ? "it overflows 64 bits" : "more than 8 EiB");
        if (r < 0 || bytes == 0)
                return cmd_usage(a, "--size '%s' is not a size such as 20G", s);
        *ret = bytes;
        return 0;
}

/* The target's path and size: --size, the image, or the device. */
static int resolve_target(const CmdArgs *a, const Config *cfg, DiskNeed need, uint64_t size, DiskCmd *d) {
        const char *image = cmd_opt(a, DISK_OPT_IMAGE);
        d->target = (DiskTarget) { .path = image ? image : cmd_opt(a, DISK_OPT_DEVICE), .is_image = image != NULL };
        if (need == DISK_NEED_NOTHING) {
                d->target.path = "(not needed)";
                return 0;
        }
        if (!d->target.path)
                d->target.path = config_string(cfg, "disk.device");
        if (!d->target.path)
                return log_error_errno(-EINVAL, "%s sets no disk.device; add it to the host file or give --device "
                                       "or --image", a->args[0]);
        const char *path = d->target.path;
        d->bytes = size;
        d->exists = access(path, F_OK) == 0;
        if (d->exists && need != DISK_NEED_DEVICE) {
                DiskProbe p;
                int r = disk_probe(path, &p);
                if (r < 0)
                        return log_error_errno(r, "Cannot examine %s: %m", path);
                if (size && p.bytes != size) {
                        char b1[32], b2[32];
                        return log_error_errno(-EINVAL, "%s is %s, but --size says %s; resize the image "
                                               "(truncate -s) or leave out --size", path,
                                               format_bytes(p.bytes, b1, sizeof b1), format_bytes(size, b2, sizeof b2));
                }
                d->bytes = p.bytes;
        } else if (!d->exists && need != DISK_NEED_PLAN && !(need == DISK_NEED_CREATABLE && image && size))
                return log_error_errno(-ENOENT, "%s does not exist%s", path,
                                       image ? "; give --size to create the image" : "");
        return 0;
}

int disk_cmd_open(const CmdArgs *a, DiskNeed need, DiskCmd *ret) {
        *ret = (DiskCmd) {};
        if (cmd_opt(a, DISK_OPT_DEVICE) && cmd_opt(a, DISK_OPT_IMAGE))
                return cmd_usage(a, "give --device or --image, not both");
        uint64_t size = 0;
        int r = parse_size(a, &size);
        if (r < 0)
                return r;

        Config *cfg = NULL;
        r = cmd_config_load(a->args[0], &cfg);
        if (r < 0)
                return r;
        r = resolve_target(a, cfg, need, size, ret);
        if (r < 0) {
                config_free(cfg);
                return r;
        }
        r = disk_layout_new(cfg, ret->bytes, cmd_opt(a, DISK_OPT_SEED), &ret->layout);
        config_free(cfg);
        if (r == -ENOSPC) {
                char b1[32], b2[32];
                log_error("%s is %s, too small for this layout: it needs at least %s (ESP, swap and 1 GiB "
                          "for the pool); use a bigger disk or lower disk.swap-size / disk.esp-size",
                          ret->target.path, format_bytes(ret->bytes, b1, sizeof b1),
                          format_bytes(disk_layout_min_bytes(ret->layout), b2, sizeof b2));
                disk_cmd_close(ret);
                return -ENOSPC;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to compute the disk layout: %m");
        return 0;
}

void disk_cmd_close(DiskCmd *d) {
        disk_layout_free(d->layout);
        d->layout = NULL;
}

int disk_cmd_root(const CmdArgs *a, int id, const char *def, bool required, const char **ret) {
        const char *root = cmd_opt(a, id);
        if (!root)
                root = def;
        if (!root && required)
                return cmd_usage(a, "needs --root DIR");
        if (root && root[0] != '/')
                return cmd_usage(a, "--root takes an absolute path");
        *ret = root;
        return 0;
}

DiskMountOptions disk_cmd_mount_options(const CmdArgs *a, const char *root) {
        return (DiskMountOptions) {
                .root = root,
                .key_file = cmd_opt(a, DISK_OPT_KEY_FILE),
                .tpm2_device = cmd_opt(a, DISK_OPT_TPM2_DEVICE),
                .no_tpm = cmd_flag(a, DISK_OPT_NO_TPM),
        };
}
