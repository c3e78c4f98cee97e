/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "install/phases.h"
#include "util/error-message.h"
#include "util/fs.h"
#include "util/macro.h"

static const char *const phase_names[_INSTALL_PHASE_MAX] = {
        [INSTALL_PHASE_KEXEC] = "kexec",     [INSTALL_PHASE_DISK] = "disk",     [INSTALL_PHASE_INSTALL] = "install",
        [INSTALL_PHASE_REBOOT] = "reboot",   [INSTALL_PHASE_ENROLL] = "enroll",
};

#define PHASE_LIST "kexec,disk,install,reboot,enroll"

const char *install_phase_name(InstallPhase p) {
        return p >= 0 && p < _INSTALL_PHASE_MAX ? phase_names[p] : "?";
}

static int phase_from_name(const char *s, size_t n) {
        for (int p = 0; p < _INSTALL_PHASE_MAX; p++)
                if (strlen(phase_names[p]) == n && strncmp(phase_names[p], s, n) == 0)
                        return p;
        return -1;
}

int install_phases_parse(const char *s, unsigned *ret_mask, char **ret_error) {
        unsigned mask = 0;
        int last = -1;
        if (!*s)
                return error_set(ret_error, -EINVAL, "--phases is empty: give some of " PHASE_LIST ", in this order");
        for (const char *p = s;;) {
                size_t n = strcspn(p, ",");
                int ph = phase_from_name(p, n);
                if (ph < 0)
                        return error_set(ret_error, -EINVAL, "--phases: '%.*s' is not a phase (the phases are "
                                         PHASE_LIST ")", (int) n, p);
                if (mask & (1u << ph))
                        return error_set(ret_error, -EINVAL, "--phases: %s is given twice", phase_names[ph]);
                if (ph < last)
                        return error_set(ret_error, -EINVAL, "--phases: %s comes before %s, not after it (the "
                                         "order is " PHASE_LIST ")", phase_names[ph], phase_names[last]);
                mask |= 1u << ph;
                last = ph;
                if (!p[n])
                        break;
                p += n + 1;
        }
        *ret_mask = mask;
        return 0;
}

int install_record_load(const char *dir, InstallRecord *ret, char **ret_error) {
        char path[4096];
        PATHF(path, "%s/phases", dir);
        *ret = (InstallRecord) {};
        _cleanup_free_ char *text = NULL;
        int r = read_file_text(path, 64 * 1024, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return error_set(ret_error, r, "cannot read %s: %s", path, strerror(-r));
        InstallRecord rec = {};
        unsigned line = 0;
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                line++;
                char name[16];
                long long ended;
                double seconds;
                int used = 0;
                if (sscanf(l, "%15s %lld %lf%n", name, &ended, &seconds, &used) != 3 || l[used] ||
                    seconds < 0 || ended < 0)
                        return error_set(ret_error, -EBADMSG, "%s:%u: not an ended phase (\"NAME EPOCH SECONDS\"); "
                                         "the record decides whether the disk is erased, so it is not guessed at: "
                                         "run again with --fresh to start over", path, line);
                int ph = phase_from_name(name, strlen(name));
                if (ph < 0)
                        return error_set(ret_error, -EBADMSG, "%s:%u: '%s' is not a phase (" PHASE_LIST "); run "
                                         "again with --fresh to start over", path, line, name);
                rec.done |= 1u << ph;
                rec.ended[ph] = ended;
                rec.seconds[ph] = seconds;
        }
        *ret = rec;
        return 0;
}

static int record_write(const char *dir, const InstallRecord *rec, char **ret_error) {
        char path[4096], buf[1024];
        PATHF(path, "%s/phases", dir);
        size_t n = 0;
        for (int p = 0; p < _INSTALL_PHASE_MAX; p++)
                if (rec->done & (1u << p))
                        n += (size_t) snprintf(buf + n, sizeof buf - n, "%s %lld %.1f\n", phase_names[p],
                                               rec->ended[p], rec->seconds[p]);
        int r = mkdir_p(dir, 0700, ret_error);
        if (r < 0)
                return r;
        r = write_file_bytes_atomic(path, buf, n, 0600);
        if (r < 0)
                return error_set(ret_error, r, "cannot write %s: %s", path, strerror(-r));
        return 0;
}

int install_record_mark(const char *dir, InstallRecord *rec, InstallPhase p, double seconds, char **ret_error) {
        if (p < 0 || p >= _INSTALL_PHASE_MAX)
                return -EINVAL;
        InstallRecord next = *rec;
        next.done |= 1u << p;
        next.ended[p] = (long long) time(NULL);
        next.seconds[p] = seconds;
        int r = record_write(dir, &next, ret_error);
        if (r < 0)
                return r;
        *rec = next;
        return 0;
}

int install_record_reset(const char *dir, InstallRecord *rec, char **ret_error) {
        InstallRecord empty = {};
        int r = record_write(dir, &empty, ret_error);
        if (r < 0)
                return r;
        *rec = empty;
        return 0;
}

InstallPhase install_record_next(const InstallRecord *rec, unsigned mask) {
        for (int p = 0; p < _INSTALL_PHASE_MAX; p++)
                if ((mask & (1u << p)) && !(rec->done & (1u << p)))
                        return p;
        return _INSTALL_PHASE_MAX;
}
