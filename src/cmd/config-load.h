/* SPDX-License-Identifier: MIT */
#pragma once

#include "config/config.h"

/* Loads a host file for a command; on failure prints every problem (one
 * per line, FILE:LINE:COLUMN first) and a last line saying what to do. */
int cmd_config_load(const char *path, Config **ret);
