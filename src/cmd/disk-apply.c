/* SPDX-License-Identifier: MIT */
/* keystone disk apply HOST.toml: the plan printed, confirmed, then run step
 * by step; each step is skipped when the disk shows it done. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/disk.h"
#include "disk/apply.h"

static void on_progress(DiskStep s, DiskStepState st, const char *detail, void *userdata) {
        switch (st) {
        case STEP_ALREADY_DONE:
                printf("  %-10s already done (%s)\n", disk_step_name(s), detail);
                break;
        case STEP_RUNNING:
                printf("  %-10s %s…\n", disk_step_name(s), detail);
                break;
        case STEP_DONE:
                printf("  %-10s done\n", disk_step_name(s));
                break;
        }
        fflush(stdout);
}

static bool confirm(const char *target) {
        if (!isatty(STDIN_FILENO))
                return false;
        printf("\nWrite to %s as planned above? Type 'yes' to continue: ", target);
        fflush(stdout);
        char line[16];
        if (!fgets(line, sizeof line, stdin))
                return false;
        return streq(line, "yes\n");
}

/* Creates a sparse image of the given size when it does not exist. */
static int ensure_image(const char *path, uint64_t size) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (ftruncate(fd, (off_t) size) < 0) {
                int r = -errno;
                unlink(path);
                return r;
        }
        return 0;
}

/* The plan, the confirmation (--yes, or 'yes' at the prompt), the image. */
static int plan_and_confirm(const CmdArgs *a, const DiskCmd *d) {
        int r = disk_plan_write(d->layout, &d->target, stdout);
        if (r < 0)
                return r;
        if (!cmd_flag(a, DISK_OPT_YES) && !confirm(d->target.path))
                return log_error_errno(-ECANCELED, "Nothing was written to %s: confirm with 'yes' at the prompt, "
                                       "or pass --yes", d->target.path);
        if (!d->exists && (r = ensure_image(d->target.path, d->bytes)) < 0)
                return log_error_errno(r, "Failed to create the image %s: %m", d->target.path);
        return 0;
}

static void report(int r, const DiskApplyOptions *o, const char *error, const char *path, const char *until) {
        if (r == -EEXIST && o->preflight_refused)
                log_error("Refusing to write: %s; nothing was changed. Re-run with --force to replace it.", error);
        else if (r == -EEXIST)
                /* a step found the disk contradicting the host file: --force would not help */
                log_error("Stopped: %s. The steps before it are done; fix the disk or the host file and run "
                          "apply again.", error);
        else if (r == -EBUSY)
                log_error("Refusing to write: %s. Nothing was changed.", error);
        else if (r < 0)
                log_error("%s", error ? error : strerror(-r));
        else
                printf("%s: done%s%s\n", path, until ? " up to step " : "", until ? until : "");
}

int cmd_disk_apply(const CmdArgs *a) {
        const char *until = cmd_opt(a, DISK_OPT_UNTIL), *root = NULL;
        if (until && disk_step_from_name(until) < 0)
                return cmd_usage(a, "unknown step '%s' for --until", until);
        if (cmd_opt(a, DISK_OPT_KEY_FILE) && cmd_opt(a, DISK_OPT_NEW_KEY_FILE))
                return cmd_usage(a, "give --credstore-key-file or --credstore-new-key-file, not both");
        int r = disk_cmd_root(a, DISK_OPT_ROOT_APPLY, NULL, false, &root);
        if (r < 0)
                return r;
        DiskCmd d;
        if ((r = disk_cmd_open(a, DISK_NEED_CREATABLE, &d)) < 0)
                return r;
        if ((r = plan_and_confirm(a, &d)) < 0) {
                disk_cmd_close(&d);
                return r;
        }
        printf("\nApplying to %s:\n", d.target.path);
        DiskApplyOptions o = {
                .force = cmd_flag(a, DISK_OPT_FORCE),
                .until = until ? (DiskStep) disk_step_from_name(until) : _STEP_MAX - 1,
                .progress = on_progress,
                .root = root,
                .key_file = cmd_opt(a, DISK_OPT_KEY_FILE),
                .new_key_file = cmd_opt(a, DISK_OPT_NEW_KEY_FILE),
        };
        _cleanup_free_ char *error = NULL;
        r = disk_apply(d.layout, &d.target, &o, &error);
        report(r, &o, error, d.target.path, until);
        disk_cmd_close(&d);
        return r;
}
