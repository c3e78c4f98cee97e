/* SPDX-License-Identifier: MIT */
#pragma once

#include "disk/plan.h"
#include "disk/zfs.h"

typedef enum DiskStepState {
        STEP_ALREADY_DONE,   /* the disk shows it done: skipped */
        STEP_RUNNING,
        STEP_DONE,
} DiskStepState;

typedef struct DiskApplyOptions {
        bool force;             /* replace a partition table that differs from the plan */
        DiskStep until;         /* the last step to run (_STEP_MAX - 1 for all) */
        const char *root;       /* altroot while applying: the pool imports with -R ROOT
                                 * and the credstore mounts on ROOT/etc/credstore */
        const char *key_file;   /* the credstore's existing secret (exact bytes) */
        const char *new_key_file; /* where to write a newly generated first secret (0600) */
        void (*progress)(DiskStep step, DiskStepState state, const char *detail, void *userdata);
        void *userdata;
        bool preflight_refused; /* out: refused before writing anything (--force may apply) */
} DiskApplyOptions;

/* Runs the plan's steps on the target, each skipped when the disk shows it
 * done.  Refusals (busy device, a table that contradicts the host file)
 * return -EBUSY / -EEXIST before anything is written (opts->preflight_refused).
 * On failure *ret_error (may be NULL) explains the refusal or failure.
 * The layout's positions must be known (disk_bytes > 0). */
int disk_apply(const DiskLayout *l, const DiskTarget *t, DiskApplyOptions *opts, char **ret_error);

/* The pre-flight check apply does first; also used by the command to decide
 * whether to ask for --force.  Returns 0 (blank, or already ours), -EBUSY
 * (mounted / in use: never touched, even with --force), -EEXIST (holds other
 * data: needs --force); *why explains. */
int disk_check_target(const DiskLayout *l, const DiskTarget *t, char **why);

/* -EMEDIUMTYPE for an image file, -ENOPKG without /dev/zfs; *error says
 * what to do.  what: "step pool", "mount", … */
int disk_need_zfs(const DiskTarget *t, const char *what, char **error);

/* The file system type (and label) at a byte offset of a device or image;
 * "" when none. size 0: to the end. */
int disk_probe_at(const char *path, uint64_t offset, uint64_t size, char *type, size_t tsize, char *label,
                  size_t lsize);

/* Which pool the target's ZFS partition part holds (*label, from its ZFS
 * label) and whether the pool named in the host file that is imported is
 * that one, by GUID: 0 with *ret_imported true when it is, false when no
 * pool of that name is imported; -EEXIST when a pool of that name is
 * imported but is another one (on another disk), *error naming both and
 * what to do; other -errno when the label or zpool cannot be read. */
int disk_pool_identify(const DiskLayout *l, const char *part, ZfsLabel *label, bool *ret_imported, char **error);

/* Imports the pool that label (read from part) names, by its GUID, with
 * altroot root and nothing mounted; *error says why not. */
int disk_pool_import(const char *part, const ZfsLabel *label, const char *root, char **error);
