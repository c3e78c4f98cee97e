/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/log-file.h"

int log_file_open(const char *path) {
        return path ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
}

void log_file_printf(const char *path, const char *fmt, ...) {
        _cleanup_close_ int fd = log_file_open(path);
        if (fd < 0)
                return;
        va_list ap;
        va_start(ap, fmt);
        vdprintf(fd, fmt, ap);
        va_end(ap);
}

/* S with a newline at its end, unless empty */
static void put_text(int fd, const char *s) {
        if (s && *s)
                dprintf(fd, "%s%s", s, s[strlen(s) - 1] == '\n' ? "" : "\n");
}

void log_file_command(int fd, const char *command, const char *stdin_note, const RunResult *res, bool log_output,
                      const char *outcome) {
        if (fd < 0)
                return;
        dprintf(fd, "$ %s\n", command);
        if (stdin_note)
                dprintf(fd, "%s\n", stdin_note);
        if (res->out && *res->out) {
                if (log_output)
                        put_text(fd, res->out);
                else
                        dprintf(fd, "(stdout not logged: it may hold a secret)\n");
        }
        put_text(fd, res->err);
        dprintf(fd, "-> %s\n", outcome);
}
