/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The parent of process name (a /proc entry), or -1. */
static pid_t parent_of(const char *name) {
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", name);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f || !fgets(buf, sizeof buf, f))
                return -1;
        /* "pid (comm) state ppid …": comm may hold spaces and ')' */
        const char *p = strrchr(buf, ')');
        char state;
        int ppid;
        return p && sscanf(p + 1, " %c %d", &state, &ppid) == 2 ? (pid_t) ppid : -1;
}

int init_sshd_stop(pid_t pid, int timeout_ms) {
        if (pid <= 0)
                return 0;
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d))) {
                char *end;
                long child = strtol(de->d_name, &end, 10);
                if (*end || child <= 1 || parent_of(de->d_name) != pid)
                        continue;
                (void) kill((pid_t) child, SIGTERM);
        }
        if (d)
                closedir(d);
        return spawn_stop(pid, timeout_ms);
}
