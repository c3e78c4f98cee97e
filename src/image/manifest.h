/* SPDX-License-Identifier: MIT */
#pragma once

/* DIR/manifest.json: what an image was made from and what it is.
 *
 *   {
 *     "manifest": 1,
 *     "host": "NAME",
 *     "inputs": {
 *       "sha256": "…",               sha256 of the "text" below
 *       "text": "keystone-inputs 1\nkeystone=V\nfile PATH SHA256\n…lock SHA256|none\n",
 *       "keystone-version": "V",
 *       "files": { "PATH": "SHA256", … },   the host file and every file it imports
 *       "lock": "SHA256" | null
 *     },
 *     "packages": { "NAME": "VERSION", … },  sorted; what dpkg says the rootfs holds
 *     "artifacts": [ { "name": "disk", "path": "…", "size": N, "sha256": "…" }, … ]
 *   }
 *
 * Built-in modules are part of the Keystone version, so they are not
 * listed as files.  Two builds of the same inputs write the same bytes. */

#include <stdint.h>

#include "image/lock.h"

typedef struct ManifestArtifact {
        const char *name, *path;
} ManifestArtifact;

typedef struct ManifestInputs {
        const char *host;              /* host name */
        const char *keystone_version;
        const char *const *files;      /* the host file and its imports (paths), NULL-terminated */
        const char *lock_path;         /* NULL: unlocked */
        const ImageLock *packages;     /* installed packages, sorted */
        const ManifestArtifact *artifacts;
        size_t n_artifacts;
        const char *base_dir;          /* artifact paths are relative to it; NULL: as given */
} ManifestInputs;

/* The JSON text (malloc'd), hashing every file and artifact. */
int image_manifest_format(const ManifestInputs *in, char **ret);
/* image_manifest_format() written to DIR/manifest.json (made if missing). */
int image_manifest_write(const ManifestInputs *in, const char *dir);

/* The files a host file is made of: itself and the local files it imports
 * (not built-in modules), NULL-terminated, malloc'd. */
int image_host_files(const char *host_path, char ***ret);

/* The packages dpkg says a rootfs tar holds (var/lib/dpkg/status). */
int image_rootfs_packages(const char *rootfs_tar, ImageLock *ret);
