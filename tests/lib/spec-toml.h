/* SPDX-License-Identifier: MIT */
#pragma once
/* A host file written into a test's directory and taken the way every
 * command takes it: config_load(), then image_spec_from_config(). */
#include "../lib/tmpdir.h"
#include "config/config.h"
#include "image/image.h"

/* *ret_error (may be NULL) gets the message, or NULL. */
static inline int test_spec_from_toml(const char *dir, const char *toml, ImageSpec *ret, char **ret_error) {
        test_write(dir, "host.toml", toml);
        char path[4200];
        snprintf(path, sizeof path, "%s/host.toml", dir);
        Config *c = NULL;
        char *error = NULL;
        int r = config_load(path, &c, &error);
        if (r >= 0) {
                r = image_spec_from_config(c, ret, &error);
                config_free(c);
        }
        if (ret_error)
                *ret_error = error;
        else
                free(error);
        return r;
}
