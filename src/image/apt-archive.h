/* SPDX-License-Identifier: MIT */
#pragma once

/* Debian's archive as seen by a private apt: its own configuration, lists
 * and an empty dpkg status, under <cache>/apt-<sha256 of the sources>/, so
 * resolving a package set never touches the machine's own apt state.  The
 * lists are refreshed (apt-get update) whenever an archive is opened; the
 * cache directory is locked while it is open. */

#include <limits.h>

#include "image/lock.h"

typedef struct AptArchive {
        char dir[PATH_MAX - 64];
        char conf[PATH_MAX];
        char hash[65];
        char suite[64];
        char mirror[256];
        char components[64];     /* "main contrib" */
        int lock_fd;
} AptArchive;

#define APT_ARCHITECTURE "amd64"
#define APT_KEYRING "/usr/share/keyrings/debian-archive-keyring.gpg"

/* Sets up (or finds) the private apt for these sources and runs apt-get
 * update.  On failure *ret_error (malloc'd) says what apt said. */
int apt_archive_open(const char *cache, const char *suite, const char *mirror, const char *components,
                     AptArchive *ret, char **ret_error);
void apt_archive_close(AptArchive *a);

/* Every package a bootstrap (Essential packages and apt, as mmdebstrap's
 * apt variant installs) plus packages would install, with exact versions,
 * from `apt-get --simulate install` against an empty system.  Adds them
 * to *l and sets l->release; -ENOPKG with *ret_error when apt cannot
 * resolve the set (an unknown package…). */
int apt_archive_resolve(const AptArchive *a, char *const *packages, ImageLock *l, char **ret_error);

/* What the archive serves now: every Package/Version of the lists. */
int apt_archive_index(const AptArchive *a, AptIndex *ret);
