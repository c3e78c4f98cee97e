/* SPDX-License-Identifier: MIT */
#pragma once

#include "image/files.h"
#include "image/image.h"

/* Keystone's generated files for an image (see etc.c). */
int image_etc_generate(const ImageSpec *spec, const char *root_uuid, GenList *l);
