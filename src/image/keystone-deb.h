/* SPDX-License-Identifier: MIT */
#pragma once

/* Keystone itself, built against the image's own (trixie) libraries and
 * packaged as a .deb that every image carries, so VM scenarios can run
 * `keystone` in the guest.  Two cached stages:
 *
 *   buildroot-<sha256>/root/   a trixie chroot (mmdebstrap --variant=apt)
 *                              with build-essential, pkg-config and the -dev
 *                              packages of the mk/deps lists; keyed by suite,
 *                              mirror, epoch and that package list.
 *   keystone-<sha256>/keystone_<version>_amd64.deb, depends
 *                              `make build/keystone` of the source tree in
 *                              that chroot, packaged by
 *                              scripts/keystone-deb.sh (Depends from
 *                              dpkg-shlibdeps); keyed by the buildroot and
 *                              the hash of every build input (Makefile, mk/,
 *                              src/, modules/, scripts/) and the version.
 *
 * The disk stage installs the .deb (dpkg in the unpacked rootfs), so a
 * change to Keystone's sources rebuilds the .deb and the disk image, never
 * the rootfs; the rootfs only carries the runtime libraries named in
 * Depends. */

#include <limits.h>
#include <stdbool.h>

#include "image/image.h"

typedef struct KeystoneDeb {
        char source_dir[PATH_MAX];
        char version[128];        /* git describe, as `keystone --version` prints */
        char deb_version[160];    /* the Debian version made from it */
        char buildroot_hash[65], hash[65];
        char deb[PATH_MAX];
        char *depends;            /* Depends field, e.g. "libc6 (>= 2.38), libjson-c5 (>= 0.15)" */
        bool buildroot_built, built;
        double buildroot_seconds, seconds;
} KeystoneDeb;

void keystone_deb_done(KeystoneDeb *k);

/* The source tree: $KEYSTONE_SRCDIR, else $SRCDIR (set by the test runner), else the
 * current directory — whichever holds src/keystone.c.  -ENOENT otherwise. */
int keystone_source_dir(char out[static PATH_MAX]);

/* Builds (or finds cached) the buildroot and the .deb for the tree at
 * source_dir; suite, mirror and epoch as the image's.  Build logs stay in
 * the stage's directory (or <dir>.tmp on failure). */
int keystone_deb_build(const char *source_dir, const char *suite, const char *mirror,
                       unsigned long long source_date_epoch, const char *cache, KeystoneDeb *ret);

/* The package names of a Depends field (first alternative, no versions),
 * NULL-terminated, malloc'd (strv). */
int keystone_deb_depends_names(const char *depends, char ***ret);

/* Installs the .deb into an unpacked root file system with that system's
 * own dpkg (chroot), which also checks the Depends are installed. */
int keystone_deb_install(const char *root, const char *deb);

/* What a spec extended by image_keystone_layer() borrows. */
typedef struct KeystoneLayer {
        char **packages;  /* the spec's packages (borrowed) + names (owned below) */
        char **names;     /* the Depends' package names, NULL-terminated */
} KeystoneLayer;
void keystone_layer_done(KeystoneLayer *l);

/* The image builder's hook: builds (or finds) Keystone's .deb for the
 * source tree (keystone_source_dir()), fills a->keystone_*, and makes
 * *ret_spec, a shallow copy of spec whose packages add the names of the
 * .deb's Depends; *ret_layer owns what ret_spec adds (release it with
 * keystone_layer_done() after the build). */
int image_keystone_layer(const ImageSpec *spec, const char *cache, ImageArtifacts *a, ImageSpec *ret_spec,
                         KeystoneLayer *ret_layer);
