/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "init/step-line.h"
#include "util/clock.h"
#include "util/error-message.h"

InitStepLine init_step_line_begin(FILE *console, const char *prefix, const char *name, bool dry) {
        if (!dry) {
                fprintf(console, "[%s] %s ... ", prefix, name);
                fflush(console);
        }
        return (InitStepLine) { console, prefix, name, monotonic_seconds(), dry };
}

int init_step_line_end(const InitStepLine *s, int r, const char *fmt, ...) {
        if (s->dry)
                fprintf(s->console, "[%s] %s ... ", s->prefix, s->name);
        fprintf(s->console, "%s (%.2f s): ", r < 0 ? "failed" : "ok", monotonic_seconds() - s->t0);
        va_list ap;
        va_start(ap, fmt);
        vfprintf(s->console, fmt, ap);
        va_end(ap);
        fputc('\n', s->console);
        fflush(s->console);
        return r;
}

int init_run_or_print(const char *const *argv, bool dry, FILE *out, RunResult *keep, char **ret_error) {
        if (dry) {
                fprintf(out, "  (dry run)");
                for (const char *const *a = argv; *a; a++)
                        fprintf(out, " %s", **a ? *a : "''");
                fputc('\n', out);
                return 0;
        }
        RunResult res = {};
        int r = run(argv, &(RunOptions) { .timeout_ms = 60000 }, &res);
        if (r < 0)
                error_set(ret_error, r, "%s: %s", argv[0], r == -EPROTO ? run_result_describe(&res) : strerror(-r));
        if (keep && r >= 0)
                *keep = res;
        else
                run_result_done(&res);
        return r;
}
