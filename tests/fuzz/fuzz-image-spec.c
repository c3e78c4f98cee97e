/* SPDX-License-Identifier: MIT */
/* The image spec builder on any bytes as a host file: TOML → the merged
 * configuration (config_load(), imports of built-in modules included) →
 * image_spec_from_config(), the one way every command takes.  A refusal
 * must say why. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config/config.h"
#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void remove_host_file(void) {
        (void) unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (!path[0]) {
                snprintf(path, sizeof path, "/tmp/keystone-fuzz-image-spec-%d.toml", (int) getpid());
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
        ImageSpec spec = {};
        r = image_spec_from_config(c, &spec, &error);
        if (r == -EINVAL && !error)
                abort();
        if (r == 0) {
                char **names = NULL;
                if (image_package_names(&spec, &names) == 0) {
                        for (size_t i = 0; names[i]; i++)
                                free(names[i]);
                        free(names);
                }
                char *inputs = NULL;
                if (image_rootfs_inputs(&spec, &inputs) == 0)
                        free(inputs);
        }
        image_spec_done(&spec);
        free(error);
        config_free(c);
        return 0;
}
