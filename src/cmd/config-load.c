/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/config-load.h"

/* Prints what config_load() or image_spec_from_config() said: the problems
 * as they are (they name their file and line), then what to do. */
static int report(const char *path, int r, const char *error, bool image) {
        size_t n = 0;
        for (const char *p = error; p && *p; n++) {
                size_t l = strcspn(p, "\n");
                fprintf(stderr, "%.*s\n", (int) l, p);
                p += l + (p[l] == '\n');
        }
        if (r == -EINVAL && n > 0 && !image)
                log_error("%s: %zu problem%s in the configuration; fix %s and run 'keystone eval %s' again", path,
                          n, n == 1 ? "" : "s", n == 1 ? "it" : "them", path);
        else if (r == -EINVAL && n > 0)
                log_error("%s: %zu problem%s in the configuration for the image; fix %s and run the command "
                          "again", path, n, n == 1 ? "" : "s", n == 1 ? "it" : "them");
        else if (n == 0)
                log_error_errno(r, "Failed to load %s: %m", path);
        else
                log_error("Failed to load %s", path);
        return r;
}

int cmd_config_load(const char *path, Config **ret) {
        _cleanup_free_ char *error = NULL;
        int r = config_load(path, ret, &error);
        if (r < 0)
                return report(path, r, error, false);
        return 0;
}

int cmd_host_load(const char *path, Config **ret_config, ImageSpec *ret_spec) {
        Config *c = NULL;
        int r = cmd_config_load(path, &c);
        if (r < 0)
                return r;
        _cleanup_free_ char *error = NULL;
        r = image_spec_from_config(c, ret_spec, &error);
        if (r < 0) {
                config_free(c);
                return report(path, r, error, true);
        }
        if (ret_config)
                *ret_config = c;
        else
                config_free(c);
        return 0;
}
