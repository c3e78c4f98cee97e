/* SPDX-License-Identifier: MIT */
#pragma once

/* keystone disk: the verb table and option set (disk.c), one file per verb
 * (disk-plan.c, disk-apply.c, disk-status.c, disk-mount.c, disk-unmount.c,
 * disk-install.c) and the opening they share (disk-common.c): the host file
 * loaded, the target resolved, the layout computed. */

#include <stdbool.h>
#include <stdint.h>

#include "cmd/cmd.h"
#include "disk/layout.h"
#include "disk/mount.h"
#include "disk/plan.h"

/* The disk verbs' options, each with the verbs that allow it.  --root and
 * --force mean something else to some verbs, so they are named twice. */
#define DISK_OPTIONS(X)                                                                                            \
        X(DISK_OPT_DEVICE, "device", 0, "DEV", "plan apply status mount install",                                  \
          "a block device (default: disk.device from the host file)")                                              \
        X(DISK_OPT_IMAGE, "image", 0, "FILE", "plan apply status",                                                 \
          "an image file; apply creates it (sparse) when missing")                                                 \
        X(DISK_OPT_SIZE, "size", 0, "SIZE", "plan apply", "size of the image, such as 20G (with --image)")         \
        X(DISK_OPT_YES, "yes", 'y', NULL, "apply", "do not ask before writing")                                    \
        X(DISK_OPT_FORCE, "force", 0, NULL, "apply",                                                               \
          "replace a partition table or file system that is not the plan's\n"                                      \
          "(a mounted or otherwise busy disk is refused even then)")                                               \
        X(DISK_OPT_FORCE_GENERATION, "force", 0, NULL, "install", "replace an existing generation N")              \
        X(DISK_OPT_UNTIL, "until", 0, "STEP", "apply",                                                             \
          "stop after STEP: partition, esp, pool, credstore, crypt,\ndatasets, finish")                            \
        X(DISK_OPT_ROOT_APPLY, "root", 0, "DIR", "apply",                                                          \
          "altroot while applying (default /run/keystone/disk): the pool\n"                                        \
          "imports there and the credstore mounts on DIR/etc/credstore")                                           \
        X(DISK_OPT_ROOT, "root", 0, "DIR", "mount unmount", "where the tree is mounted (required; absolute)")      \
        X(DISK_OPT_ROOT_INSTALL, "root", 0, "DIR", "install",                                                      \
          "where the tree is mounted while installing\n(default /run/keystone/install)")                           \
        X(DISK_OPT_KEY_FILE, "credstore-key-file", 0, "F", "apply mount install",                                  \
          "the credstore's secret (the file's exact bytes)")                                                       \
        X(DISK_OPT_NEW_KEY_FILE, "credstore-new-key-file", 0, "F", "apply",                                        \
          "generate the credstore's first secret and write it\n"                                                   \
          "to F (created, mode 0600); there is no default password")                                               \
        X(DISK_OPT_GENERATION, "generation", 0, "N", "mount",                                                      \
          "mount crypt/system/generations/N on DIR as well (the credstore\n"                                       \
          "is then closed again once the ZFS key is loaded)")                                                      \
        X(DISK_OPT_FROM, "from", 0, "BUILD", "install",                                                            \
          "the build directory install takes the generation from (required)")                                      \
        X(DISK_OPT_TPM2_DEVICE, "tpm2-device", 0, "T", "mount install",                                            \
          "TPM to unlock with (default auto; any TCTI such as swtpm:port=2321)")                                   \
        X(DISK_OPT_NO_TPM, "no-tpm", 0, NULL, "mount install", "do not try the TPM")                               \
        X(DISK_OPT_SEED, "seed", 0, "S", "plan apply status",                                                      \
          "derive the disk GUID, PARTUUIDs and ESP volume id from S\n"                                             \
          "(reproducible layouts for tests); default: random")

enum { DISK_OPTIONS(CMD_OPTION_ID) };

/* What a verb needs of the target. */
typedef enum DiskNeed {
        DISK_NEED_NOTHING,   /* unmount: the host file's pool only */
        DISK_NEED_PLAN,      /* plan: probed when it exists; it need not */
        DISK_NEED_EXISTING,  /* status: exists; probed */
        DISK_NEED_CREATABLE, /* apply: exists (probed), or an --image that --size creates */
        DISK_NEED_DEVICE,    /* mount, install: exists; not probed */
} DiskNeed;

/* The shared opening of every disk verb. */
typedef struct DiskCmd {
        DiskTarget target;
        DiskLayout *layout;
        uint64_t bytes;      /* the target's size: the probed disk's, else --size */
        bool exists;         /* false: apply creates the image */
} DiskCmd;

/* Loads the host file a->args[0], resolves the target (--device, --image
 * with --size, or disk.device) as the verb needs it, and computes the
 * layout.  Prints what went wrong; -errno (-KS_EUSAGE for a usage error). */
int disk_cmd_open(const CmdArgs *a, DiskNeed need, DiskCmd *ret);
void disk_cmd_close(DiskCmd *d);

/* The value of the --root entry id, else def; a usage error when neither
 * (and required) or when it is not an absolute path. */
int disk_cmd_root(const CmdArgs *a, int id, const char *def, bool required, const char **ret);

/* The credstore's unlock options of mount and install. */
DiskMountOptions disk_cmd_mount_options(const CmdArgs *a, const char *root);

int cmd_disk_plan(const CmdArgs *a);
int cmd_disk_apply(const CmdArgs *a);
int cmd_disk_status(const CmdArgs *a);
int cmd_disk_mount(const CmdArgs *a);
int cmd_disk_unmount(const CmdArgs *a);
int cmd_disk_install(const CmdArgs *a);
