/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "init/sshd.h"
#include "util/error-message.h"
#include "util/macro.h"
#include "util/spawn.h"

int init_sshd_spawn(const char *config, pid_t *ret_pid) {
        const char *argv[] = { INIT_SSHD, "-D", "-e", "-f", config, NULL };
        return spawn_background(argv, &(SpawnOptions) { .log_path = INIT_SSHD_LOG }, ret_pid);
}

int init_sshd_start(const char *config, pid_t *ret_pid, char **ret_error) {
        static const struct { const char *path; mode_t mode; } dirs[] = {
                { "/run/sshd", 0755 }, { "/root", 0700 }, { "/var", 0755 }, { "/var/tmp", 01777 },
        };
        if (chmod("/", 0755) < 0)
                return error_set(ret_error, -errno, "chmod 0755 / failed: %s", strerror(errno));
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (mkdir(dirs[i].path, dirs[i].mode) < 0 && errno != EEXIST)
                        return error_set(ret_error, -errno, "cannot create %s: %s", dirs[i].path, strerror(errno));
        pid_t pid;
        int r = init_sshd_spawn(config, &pid);
        if (r < 0)
                return error_set(ret_error, r, "cannot start " INIT_SSHD ": %s", strerror(-r));
        nanosleep(&(struct timespec) { 0, 300 * 1000000 }, NULL);
        int status = 0;
        if (spawn_poll(pid, &status) == 1)
                return error_set(ret_error, -EIO, "sshd ended at once (status %d); its reason is above", status);
        *ret_pid = pid;
        return 0;
}
