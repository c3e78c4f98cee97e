/* SPDX-License-Identifier: MIT */
/* libFuzzer: any bytes as a host file through the whole module system
 * (imports of built-in modules, merge, schema checks, defaults) and both
 * output forms.  Every failure must come with at least one diagnostic. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void remove_host_file(void) {
        (void) unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (!path[0]) {
                snprintf(path, sizeof path, "/tmp/keystone-fuzz-config-%d.toml", (int) getpid());
                atexit(remove_host_file);
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return 0;
        if (write(fd, data, size) != (ssize_t) size) {
                close(fd);
                return 0;
        }
        close(fd);

        Config *c = NULL;
        char *error = NULL;
        int r = config_load(path, &c, &error);
        if (r < 0) {
                if (r == -EINVAL && !error)
                        abort(); /* a refusal must say why */
                free(error);
                return 0;
        }
        json_object *j = config_to_json(c);
        json_object_put(j);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (f) {
                (void) config_write_toml(c, f, true);
                fclose(f);
        }
        free(buf);
        config_free(c);
        return 0;
}
