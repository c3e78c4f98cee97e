/* SPDX-License-Identifier: MIT */
/* keystone disk: the verbs and their options (one file per verb, disk.h). */
#include "cmd/disk.h"

static const CmdOption disk_options[] = { DISK_OPTIONS(CMD_OPTION_ENTRY) {} };

const char disk_description[] =
        "Lay out a disk as the host file says: GPT with ESP, ZFS pool and swap; the\n"
        "credstore zvol (LUKS2) holding the ZFS key; the encrypted datasets.\n"
        "The disk is --device DEV (default: disk.device from the host file) or, for\n"
        "plan, apply and status, --image FILE; '--help' after a verb lists its options.";

const Verb disk_verbs[] = {
        { "plan", "HOST.toml", "print every step apply would take; changes nothing", 1, 1, cmd_disk_plan,
          .options = disk_options,
          .description = "Print every step apply would take, the partition table, the commands, and\n"
                         "the fstab/crypttab entries; changes nothing.  The disk: --device DEV,\n"
                         "--image FILE (--size SIZE when it does not exist yet), or disk.device." },
        { "apply", "HOST.toml", "run the steps; an interrupted apply finishes when run again", 1, 1,
          cmd_disk_apply, .options = disk_options,
          .description = "Run the steps plan prints; each step is skipped when the disk shows it done,\n"
                         "so an interrupted apply finishes when run again.  The disk: --device DEV,\n"
                         "--image FILE (created, sparse, with --size SIZE when missing), or\n"
                         "disk.device.  Asks before writing unless --yes." },
        { "status", "HOST.toml", "whether the disk matches the host file, step by step", 1, 1, cmd_disk_status,
          .options = disk_options,
          .description = "Whether the disk (--device DEV, --image FILE, or disk.device) matches the\n"
                         "host file, step by step; and, when its pool is imported, whether both\n"
                         "copies of the credstore's LUKS2 header are intact." },
        { "mount", "HOST.toml", "open the credstore, load the ZFS key, mount the tree on --root DIR", 1, 1,
          cmd_disk_mount, .options = disk_options,
          .description = "Import the pool, open the credstore (key file, else the TPM, else a\n"
                         "passphrase or recovery key from stdin), load the ZFS key, check every\n"
                         "dataset's encryptionroot, mount the tree and the ESP on --root DIR.\n"
                         "Works on a block device: attach an image with `losetup -P -f --show`." },
        { "unmount", "HOST.toml", "unmount DIR, close the credstore, export the pool", 1, 1, cmd_disk_unmount,
          .options = disk_options,
          .description = "Unmount everything below --root DIR (deepest first), close the credstore,\n"
                         "export the pool." },
        { "install", "HOST.toml", "put a generation (keystone build -o BUILD) on the disk", 1, 1,
          cmd_disk_install, .options = disk_options,
          .description = "Put the generation BUILD (`keystone build -o BUILD`) on the disk: check\n"
                         "BUILD against its manifest, mount (as mount does) with the new dataset\n"
                         "POOL/crypt/system/generations/N, unpack the rootfs, check the ESP's free\n"
                         "space, copy the signed UKI, systemd-boot and loader.conf to it, unmount;\n"
                         "--force replaces an existing generation N.  Works on a block device:\n"
                         "attach an image with `losetup -P -f --show`." },
        {}
};
