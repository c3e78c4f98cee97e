/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util/log.h"

static int max_level = LOG_NOTICE;
static const char *program = "keystone";

void log_set_max_level(int level) { max_level = level; }
int log_get_max_level(void) { return max_level; }
void log_set_program(const char *name) { program = name; }

static void log_to_file(int level, const char *msg) {
        const char *path = getenv("KEYSTONE_LOG_FILE");
        if (!path || !*path)
                return;
        /* never through a symbolic link, and readable by the owner only:
         * the log holds the commands keystone ran */
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return;
        FILE *f = fdopen(fd, "a");
        if (!f) {
                close(fd);
                return;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        fprintf(f, "%lld.%03ld %s[%d] <%d> %s\n", (long long) ts.tv_sec, ts.tv_nsec / 1000000,
                program, (int) getpid(), level, msg);
        fclose(f);
}

int log_internal(int level, int error, const char *fmt, ...) {
        int saved = errno;
        if (error < 0)
                error = -error;
        char buf[4096];
        va_list ap;
        va_start(ap, fmt);
        errno = error;  /* makes %m print strerror(error) */
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);

        log_to_file(level, buf);
        if (level <= max_level) {
                if (level <= LOG_WARNING)
                        fprintf(stderr, "%s: %s%s\n", program, level <= LOG_ERR ? "" : "warning: ", buf);
                else
                        fprintf(stderr, "%s\n", buf);
        }
        errno = saved;
        return -error;
}
