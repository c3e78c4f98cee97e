/* SPDX-License-Identifier: MIT */
/* What image, build, lock and vm share (image-common.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "cmd/config-load.h"
#include "cmd/image-common.h"
#include "util/strv.h"

const CmdOption image_options[] = { IMAGE_OPTIONS(CMD_OPTION_ENTRY) {} };

static void on_signal(int sig) {
        image_build_stop_from_signal();
        signal(sig, SIG_DFL);
        raise(sig);
}

void image_cmd_catch_signals(void) {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGHUP, on_signal);
}

void image_cmd_host_done(ImageCmdHost *h) {
        image_spec_done(&h->spec);
        image_lock_done(&h->lock);
        *h = (ImageCmdHost) {};
}

int image_cmd_load(const char *path, const CmdArgs *args, bool test, bool unlocked, ImageCmdHost *h) {
        *h = (ImageCmdHost) {};
        _cleanup_free_ char *err = NULL;
        int r = cmd_host_load(path, NULL, &h->spec);
        if (r < 0)
                return r;
        h->spec.test_instrumentation = test;
        int it = 0;
        for (const char *ssh_key; (ssh_key = cmd_opt_next(args, IMAGE_OPT_SSH_KEY, &it));) {
                for (size_t i = 0; i < h->spec.n_users; i++) {
                        ImageUser *u = &h->spec.users[i];
                        char **k = realloc(u->ssh_keys, (u->n_ssh_keys + 2) * sizeof(char *));
                        if (!k) {
                                image_cmd_host_done(h);
                                return log_error_errno(-ENOMEM, "Out of memory");
                        }
                        u->ssh_keys = k;
                        k[u->n_ssh_keys] = strdup(ssh_key);
                        k[++u->n_ssh_keys] = NULL;
                }
        }
        r = image_spec_fill_defaults(&h->spec);
        if (r < 0) {
                image_cmd_host_done(h);
                return log_error_errno(r, "--ssh-key: not one line starting with a key type (ssh-ed25519 …)");
        }
        if (unlocked)
                return 0;
        if ((r = image_lock_path(path, h->lock_path, sizeof h->lock_path)) < 0) {
                image_cmd_host_done(h);
                return log_error_errno(r, "%s: %m", path);
        }
        r = image_lock_load(h->lock_path, &h->lock, &err);
        if (r < 0 && r != -ENOENT) {
                log_error_errno(r, "Cannot use %s: %s. Run `keystone lock %s` to write it again.", h->lock_path,
                                err ? err : strerror(-r), path);
                image_cmd_host_done(h);
                return r;
        }
        if (r >= 0) {
                h->spec.lock = &h->lock;
                h->locked = true;
        } else
                /* no lock beside the host file: say so, the build still runs */
                log_warning("%s has no %s: building UNPINNED, with whatever versions Debian's archive serves "
                            "today, so two builds may differ and nothing records what went in. Run `keystone "
                            "lock %s` to pin every package.", path, h->lock_path, path);
        return 0;
}

int image_cmd_manifest(const char *path, const ImageCmdHost *h, const char *rootfs_tar,
                       const char *keystone_version_, const ManifestArtifact *arts, size_t n, const char *base_dir,
                       const char *dir) {
        char **files = NULL;
        int r = image_host_files(path, &files);
        if (r < 0)
                return r;
        ImageLock packages = {};
        r = image_rootfs_packages(rootfs_tar, &packages);
        if (r < 0) {
                strv_free(files);
                return r;
        }
        if (keystone_version_ && keystone_version_[0] && !image_lock_version(&packages, "keystone") &&
            (r = image_lock_set(&packages, "keystone", keystone_version_)) >= 0)
                image_lock_sort(&packages);
        ManifestInputs in = {
                .host = h->spec.hostname, .keystone_version = keystone_version, .files = (const char *const *) files,
                .lock_path = h->locked ? h->lock_path : NULL, .packages = &packages, .artifacts = arts,
                .n_artifacts = n, .base_dir = base_dir,
        };
        if (r >= 0)
                r = image_manifest_write(&in, dir);
        image_lock_done(&packages);
        strv_free(files);
        return r;
}
