/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/progress.h"

#define MAX_RUNNING 8
#define CLEAR_LINE "\r\033[K"

static struct {
        FILE *f;
        char scope[32];
        bool tty;
        bool line_shown;        /* the updating line holds text */
        struct {
                char name[64];
                double start;
        } running[MAX_RUNNING];
} P;

void progress_format_seconds(double s, char *out, size_t size) {
        if (s < 0)
                s = 0;
        if (s >= 60)
                snprintf(out, size, "%d min %02d s", (int) s / 60, (int) s % 60);
        else
                snprintf(out, size, "%.1f s", s);
}

void progress_enable(FILE *f, const char *scope) {
        P.f = log_get_max_level() >= LOG_NOTICE ? f : NULL;
        snprintf(P.scope, sizeof P.scope, "%s", scope ? scope : "");
        P.tty = P.f && isatty(fileno(P.f)) && log_get_max_level() < LOG_DEBUG;
        P.line_shown = false;
}

void progress_disable(void) {
        if (P.f && P.tty && P.line_shown) {
                fputs(CLEAR_LINE, P.f);
                fflush(P.f);
        }
        P.f = NULL;
        P.line_shown = false;
}

/* The updating line: text, cut to the terminal's usual width so it never wraps. */
static void show(const char *text) {
        fprintf(P.f, CLEAR_LINE "%.79s", text);
        fflush(P.f);
        P.line_shown = true;
}

/* One event: a plain line, or the updating line on a terminal. */
static void event(const char *name, const char *what) {
        char line[256];
        snprintf(line, sizeof line, "%s%s%s: %s", P.scope, P.scope[0] ? ": " : "", name, what);
        if (P.tty)
                show(line);
        else {
                fprintf(P.f, "%s\n", line);
                fflush(P.f);
        }
}

static int find(const char *name) {
        for (int i = 0; i < MAX_RUNNING; i++)
                if (P.running[i].name[0] && strcmp(P.running[i].name, name) == 0)
                        return i;
        return -1;
}

void progress_begin(const char *name) {
        int i = find(name);
        for (int k = 0; i < 0 && k < MAX_RUNNING; k++)
                if (!P.running[k].name[0])
                        i = k;
        if (i >= 0) {
                snprintf(P.running[i].name, sizeof P.running[i].name, "%s", name);
                P.running[i].start = monotonic_seconds();
        }
        if (P.f)
                event(name, "started");
}

void progress_end(const char *name, int r) {
        int i = find(name);
        char t[32] = "", what[64];
        if (i >= 0) {
                progress_format_seconds(monotonic_seconds() - P.running[i].start, t, sizeof t);
                P.running[i].name[0] = 0;
        }
        snprintf(what, sizeof what, "%s%s%s", r < 0 ? "failed" : "done", t[0] ? (r < 0 ? " after " : " in ") : "",
                 t);
        if (P.f)
                event(name, what);
}

void progress_cached(const char *name) {
        if (P.f)
                event(name, "cached");
}

void progress_tick(void) {
        if (!P.f || !P.tty)
                return;
        char line[256] = "", t[32];
        size_t n = snprintf(line, sizeof line, "%s%s", P.scope, P.scope[0] ? ": " : "");
        bool any = false;
        double now = monotonic_seconds();
        for (int i = 0; i < MAX_RUNNING && n < sizeof line; i++) {
                if (!P.running[i].name[0])
                        continue;
                progress_format_seconds(now - P.running[i].start, t, sizeof t);
                n += snprintf(line + n, sizeof line - n, "%s%s %s", any ? ", " : "", P.running[i].name, t);
                any = true;
        }
        if (any)
                show(line);
}

void progress_line(const char *text) {
        if (!P.f)
                return;
        if (P.tty)
                show(text);
        else {
                fprintf(P.f, "%s\n", text);
                fflush(P.f);
        }
}
