/* SPDX-License-Identifier: MIT */
#pragma once

/* keystone.lock: the exact Debian package versions of a host's image,
 * written by `keystone lock HOST.toml` beside the host file and honoured
 * by the image builder.  The format is a small, strict subset of TOML:
 *
 *   # comments
 *   [archive]
 *   suite = "trixie"
 *   mirror = "http://deb.debian.org/debian"
 *   components = "main contrib"
 *   architecture = "amd64"
 *   release = "13.8"                     (the suite's version when resolved)
 *   resolved = "2026-11-29T02:00:00Z"    (when `keystone lock` ran, UTC)
 *
 *   [packages]
 *   "adduser" = "3.152"
 *   "libc6" = "2.41-12+deb13u5"
 *   …                                    one line per package, sorted by name
 *
 * [packages] holds every package the image installs: Essential ones, apt,
 * the role's, the kernel, the host's and Keystone's runtime dependencies
 * with all their dependencies.  Keys are always quoted (package names may
 * hold '+' and '.'); values are plain strings without escapes. */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct LockPackage {
        char *name;
        char *version;
} LockPackage;

struct ImageLock {
        char *suite, *mirror, *components, *architecture, *release, *resolved;
        LockPackage *packages;  /* sorted by name once image_lock_sort() ran (parse and write do) */
        size_t n_packages;
};
typedef struct ImageLock ImageLock;

void image_lock_done(ImageLock *l);

/* text → lock.  -EINVAL with *ret_line (1-based) and *ret_error (malloc'd;
 * either may be NULL) on the first problem: unknown section or key, a
 * missing [archive] field, a duplicate or invalid package name, an invalid
 * version. */
int image_lock_parse(const char *text, ImageLock *ret, unsigned *ret_line, char **ret_error);
/* Sorted, canonical text (the parser reads it back to the same lock). */
int image_lock_write(ImageLock *l, FILE *f);

/* Adds or replaces one package. */
int image_lock_set(ImageLock *l, const char *name, const char *version);
void image_lock_sort(ImageLock *l);
/* The locked version of name, or NULL (binary search: sort first). */
const char *image_lock_version(const ImageLock *l, const char *name);

/* `apt-get --simulate install …` output → packages ("Inst NAME (VERSION
 * ARCHIVE [ARCH])" lines); l->release from the first "Debian:13.8/…". */
int image_lock_add_apt_simulation(ImageLock *l, const char *output);

/* A dpkg status file → the installed packages ("install ok installed"). */
int image_lock_add_dpkg_status(ImageLock *l, const char *status);

bool debian_package_name_valid(const char *s);
bool debian_version_valid(const char *s);
/* Debian version ordering (deb-version(7)): <0, 0, >0. */
int debian_version_compare(const char *a, const char *b);

/* What the archive serves, per package: every version (an index may hold
 * several), from Packages files (the "Package:" and "Version:" fields). */
typedef struct AptIndex {
        LockPackage *entries;   /* sorted by name, then version */
        size_t n;
} AptIndex;
void apt_index_done(AptIndex *x);
int apt_index_add_packages_file(AptIndex *x, const char *text, size_t size);
void apt_index_sort(AptIndex *x);

typedef struct LockMismatch {
        const char *name, *locked; /* borrowed from the lock */
        const char *available;     /* the archive's newest version, NULL: the archive has no such package */
        int order;                 /* debian_version_compare(available, locked) when available */
} LockMismatch;

/* Every locked package whose locked version the archive no longer serves.
 * *ret is malloc'd (NULL when all are served); returns the count. */
int image_lock_check(const ImageLock *l, const AptIndex *x, LockMismatch **ret);

/* DIR/keystone.lock for DIR/HOST.toml. */
int image_lock_path(const char *host_path, char *out, size_t size);
/* Reads and parses a lock file: -ENOENT when there is none; -EINVAL with
 * *ret_error "FILE:LINE: what is wrong" (malloc'd). */
int image_lock_load(const char *path, ImageLock *ret, char **ret_error);
/* Writes the lock to path atomically (path.tmp, then rename). */
int image_lock_save(ImageLock *l, const char *path);
