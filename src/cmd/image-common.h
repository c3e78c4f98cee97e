/* SPDX-License-Identifier: MIT */
#pragma once

/* What `keystone image`, `build`, `lock` and `vm` share: their option set,
 * a host file turned into an ImageSpec (with keystone.lock beside it unless
 * told otherwise), the signals that end a build, and DIR/manifest.json. */

#include <limits.h>
#include <stdbool.h>

#include "cmd/cmd.h"
#include "image/image.h"
#include "image/lock.h"
#include "image/manifest.h"

/* The options of the four commands that work from a host file, each with
 * the commands that allow it; --output means a directory to build and image
 * and a file to lock, so it is named three times. */
#define IMAGE_OPTIONS(X)                                                                                            \
        X(IMAGE_OPT_OUTPUT_GENERATION, "output", 'o', "DIR", "build",                                               \
          "copy the generation to DIR and write\n"                                                                  \
          "DIR/manifest.json")                                                                                      \
        X(IMAGE_OPT_OUTPUT_MANIFEST, "output", 'o', "DIR", "image",                                                 \
          "write DIR/manifest.json: the inputs' hash (host\n"                                                       \
          "file, its imports, keystone.lock, Keystone's\n"                                                          \
          "version), the rootfs's package versions, each\n"                                                         \
          "artifact's path, size and sha256 (the artifacts\n"                                                       \
          "stay in the cache)")                                                                                     \
        X(IMAGE_OPT_OUTPUT_LOCK, "output", 'o', "FILE", "lock",                                                     \
          "write here instead of keystone.lock beside\n"                                                            \
          "HOST.toml")                                                                                              \
        X(IMAGE_OPT_GENERATION, "generation", 'g', "N", "build",                                                    \
          "the generation's number, 1 to 999999 (default\n"                                                         \
          "1): its dataset POOL/crypt/system/generations/N\n"                                                       \
          "and its boot entry")                                                                                     \
        X(IMAGE_OPT_KEYS, "keys", 0, "DIR", "build",                                                                \
          "the Secure Boot key directory whose db key\n"                                                            \
          "signs the UKI, systemd-boot and the ZFS modules\n"                                                       \
          "(default: the host's secure-boot.key-dir when\n"                                                         \
          "secure-boot.enable)")                                                                                    \
        X(IMAGE_OPT_UNSIGNED, "unsigned", 0, NULL, "build", "sign nothing (a machine without Secure Boot)")         \
        X(IMAGE_OPT_ETC_ONLY, "etc-only", 0, "DIR", "image",                                                        \
          "build nothing: write Keystone's generated files\n"                                                       \
          "(sshd, nftables, avahi, fstab, crypttab,\n"                                                              \
          "users…) under DIR, as the installed generation\n"                                                        \
          "has them (`keystone build`)")                                                                            \
        X(IMAGE_OPT_TEST, "test", 0, NULL, "build image",                                                           \
          "add the root test shell the VM test driver\n"                                                            \
          "talks to (VM tests only, never real machines)")                                                          \
        X(IMAGE_OPT_SSH_KEY, "ssh-key", 0, "KEY", "build image",                                                    \
          "add this public key line to every user (and,\n"                                                          \
          "with initrd-ssh, to the initrd's root);\n"                                                               \
          "repeatable")                                                                                             \
        X(IMAGE_OPT_HOST_KEYS, "host-keys", 0, "DIR", "build",                                                      \
          "the host's SSH host key, made and pinned by the\n"                                                       \
          "operator: DIR/ssh_host_ed25519_key and its .pub\n"                                                       \
          "go to the system's /etc/ssh and, with\n"                                                                 \
          "initrd-ssh, to the initrd (or\n"                                                                         \
          "DIR/initrd_ssh_host_ed25519_key there when it\n"                                                         \
          "exists); only into -o DIR, never the cache")                                                             \
        X(IMAGE_OPT_INITRD_SSH_NET, "initrd-ssh-net", 0, "NET", "build",                                            \
          "address=A/N[,gateway=G][,mac=M|,interface=I]\n"                                                          \
          "[,mode=auto|always]: the initrd's network for\n"                                                         \
          "unlocking over SSH (the first boot's), in place\n"                                                       \
          "of boot.initrd-ssh's; turns initrd-ssh on\n"                                                             \
          "(auto) when the host file leaves it off")                                                                \
        X(IMAGE_OPT_UNLOCKED, "unlocked", 0, NULL, "build image",                                                   \
          "ignore keystone.lock beside HOST.toml (install\n"                                                        \
          "the archive's current versions)")                                                                        \
        X(IMAGE_OPT_WITHOUT_KEYSTONE, "without-keystone", 0, NULL, "lock",                                          \
          "leave out Keystone's own runtime dependencies\n"                                                         \
          "(no .deb build; such a lock cannot build an\n"                                                           \
          "image)")                                                                                                 \
        X(IMAGE_OPT_STATE, "state", 0, "DIR", "vm", "default /var/lib/keystone/vm/HOSTNAME")                        \
        X(IMAGE_OPT_FRESH, "fresh", 0, NULL, "vm",                                                                  \
          "install again: new disk, UEFI variables and TPM\n"                                                       \
          "(the Secure Boot and SSH keys are kept)")                                                                \
        X(IMAGE_OPT_DISK_SIZE, "disk-size", 0, "GIB", "vm",                                                         \
          "the blank disk's size in GiB, 4 to 4096\n"                                                               \
          "(default 20, sparse)")                                                                                   \
        X(IMAGE_OPT_CPUS, "cpus", 0, "N", "vm",                                                                     \
          "virtual CPUs of each VM, 1 to 16 (default: 2,\n"                                                         \
          "or 1 on a one-core host); under TCG a second\n"                                                          \
          "CPU shortens the machine's boots by about a\n"                                                           \
          "third")                                                                                                  \
        X(IMAGE_OPT_CACHE_DIR, "cache-dir", 0, "DIR", NULL,                                                         \
          "default $KEYSTONE_CACHE_DIR or\n"                                                                        \
          "/var/cache/keystone")

enum { IMAGE_OPTIONS(CMD_OPTION_ID) };

typedef struct ImageCmdHost {
        ImageSpec spec;
        ImageLock lock;
        char lock_path[PATH_MAX];
        bool locked;
} ImageCmdHost;

/* Loads HOST.toml into h->spec; every --ssh-key of args is added to every
 * user; test turns on the test shell; unless unlocked, keystone.lock beside
 * the host file pins the packages.  Prints what went wrong; -errno. */
int image_cmd_load(const char *path, const CmdArgs *args, bool test, bool unlocked, ImageCmdHost *h);
void image_cmd_host_done(ImageCmdHost *h);

/* SIGINT, SIGTERM and SIGHUP while image_build() runs also end the ZFS
 * module build, which runs in a process group of its own. */
void image_cmd_catch_signals(void);

/* DIR/manifest.json for the host file at path: inputs, the packages dpkg
 * says rootfs_tar holds (plus keystone at keystone_version when the tar's
 * status lacks it), the artifacts (paths relative to base_dir when set). */
int image_cmd_manifest(const char *path, const ImageCmdHost *h, const char *rootfs_tar,
                       const char *keystone_version, const ManifestArtifact *arts, size_t n, const char *base_dir,
                       const char *dir);
