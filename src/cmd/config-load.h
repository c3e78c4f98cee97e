/* SPDX-License-Identifier: MIT */
#pragma once

#include "config/config.h"
#include "image/image.h"

/* The one way a command reads a host file.  On failure both print every
 * problem (one per line, FILE:LINE:COLUMN first, as the library returned
 * it) and a last line saying what to do, the same whichever command it is,
 * and return -errno before any work starts. */

/* The host file's merged configuration (`keystone eval`, `disk`, `tpm`). */
int cmd_config_load(const char *path, Config **ret);

/* The host file and the image spec built from it (`build`, `image`,
 * `lock`, `vm`).  ret_config may be NULL. */
int cmd_host_load(const char *path, Config **ret_config, ImageSpec *ret_spec);
