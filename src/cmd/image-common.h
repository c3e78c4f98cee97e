/* SPDX-License-Identifier: MIT */
#pragma once

/* What `keystone image` and `keystone build` share: a host file turned into
 * an ImageSpec (with keystone.lock beside it unless told otherwise), and
 * DIR/manifest.json. */

#include <limits.h>
#include <stdbool.h>

#include "image/image.h"
#include "image/lock.h"
#include "image/manifest.h"

typedef struct ImageCmdHost {
        ImageSpec spec;
        ImageLock lock;
        char lock_path[PATH_MAX];
        bool locked;
} ImageCmdHost;

/* Loads HOST.toml into h->spec; ssh_key (may be NULL) is added to every
 * user; test turns on the test shell; unless unlocked, keystone.lock beside
 * the host file pins the packages.  Prints what went wrong; -errno. */
int image_cmd_load(const char *path, const char *ssh_key, bool test, bool unlocked, ImageCmdHost *h);
void image_cmd_host_done(ImageCmdHost *h);

/* DIR/manifest.json for the host file at path: inputs, the packages dpkg
 * says rootfs_tar holds (plus keystone at keystone_version when the tar's
 * status lacks it), the artifacts (paths relative to base_dir when set). */
int image_cmd_manifest(const char *path, const ImageCmdHost *h, const char *rootfs_tar,
                       const char *keystone_version, const ManifestArtifact *arts, size_t n, const char *base_dir,
                       const char *dir);
