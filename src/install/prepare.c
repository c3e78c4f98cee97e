/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/cache.h"
#include "image/lock.h"
#include "image/manifest.h"
#include "install/prepare.h"
#include "secureboot/keys.h"
#include "util/error-message.h"
#include "util/fs.h"
#include "util/log-file.h"
#include "util/macro.h"
#include "util/run.h"
#include "util/spawn.h"

#define log_line(p, fmt, ...) log_file_printf((p)->log_path, fmt "\n", ##__VA_ARGS__)

int install_prepare_keys(const InstallPrepare *p, InstallKeys *ret, char **ret_error) {
        int r;
        InstallKeys k = {};
        char keys[PATH_MAX];
        PATHF(keys, "%s/keys", p->state_dir);
        char db[PATH_MAX + 64];
        snprintf(db, sizeof db, "%s/keys/db/db.key", keys);
        if (access(db, R_OK) == 0) {
                log_line(p, "Secure Boot keys: kept from %s", keys);
        } else {
                const char *host_keys = p->spec->sb_key_dir ? p->spec->sb_key_dir : SB_KEYS_DEFAULT_DIR;
                char hdb[PATH_MAX + 64];
                snprintf(hdb, sizeof hdb, "%s/keys/db/db.key", host_keys);
                (void) cache_rm_rf(keys);
                if (access(hdb, R_OK) == 0) {
                        if ((r = mkdir_p(keys, 0700, NULL)) < 0)
                                return error_set(ret_error, r, "Cannot create %s: %s", keys, strerror(-r));
                        char src[PATH_MAX + 8];
                        snprintf(src, sizeof src, "%s/.", host_keys);
                        const char *argv[] = { "cp", "-a", "--", src, keys, NULL };
                        RunResult rr = {};
                        r = run(argv, NULL, &rr);
                        if (r < 0) {
                                r = error_set(ret_error, r, "Copying the Secure Boot keys from %s to %s failed: %s", host_keys,
                                         keys, run_result_describe(&rr));
                                run_result_done(&rr);
                                return r;
                        }
                        run_result_done(&rr);
                        k.imported = true;
                        log_line(p, "Secure Boot keys: imported from %s (the host's secure-boot.key-dir)", host_keys);
                } else {
                        char name[300];
                        snprintf(name, sizeof name, "%s (%s)", p->spec->hostname, p->who);
                        r = sb_keys_generate(keys, 2048, name);
                        if (r < 0)
                                return error_set(ret_error, r, "Generating Secure Boot keys in %s failed: %s", keys, strerror(-r));
                        k.generated = true;
                        log_line(p, "Secure Boot keys: generated in %s (PK, KEK, db; RSA 2048)", keys);
                }
        }
        char sshdir[PATH_MAX];
        PATHF(sshdir, "%s/ssh", p->state_dir);
        PATHF(k.ssh_key, "%s/id_ed25519", sshdir);
        const char *priv = k.ssh_key;
        if (access(priv, R_OK) < 0) {
                if ((r = mkdir_p(sshdir, 0700, NULL)) < 0)
                        return error_set(ret_error, r, "Cannot create %s: %s", sshdir, strerror(-r));
                char comment[300];
                snprintf(comment, sizeof comment, "%s@%s", p->who, p->spec->hostname);
                comment[strcspn(comment, " ")] = '-';
                const char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", priv, NULL };
                RunResult rr = {};
                r = run(argv, NULL, &rr);
                if (r < 0) {
                        r = error_set(ret_error, r, "ssh-keygen for %s failed: %s (package openssh-client)", priv,
                                 r == -EPROTO ? run_result_describe(&rr) : strerror(-r));
                        run_result_done(&rr);
                        return r;
                }
                run_result_done(&rr);
                log_line(p, "SSH key: generated %s", priv);
        } else
                log_line(p, "SSH key: kept %s", priv);
        char pubp[PATH_MAX + 64];
        snprintf(pubp, sizeof pubp, "%s.pub", priv);
        _cleanup_free_ char *pub = NULL;
        if ((r = read_first_line(pubp, &pub)) < 0)
                return error_set(ret_error, r, "Cannot read %s: %s", pubp, strerror(-r));
        if (strlen(pub) >= sizeof k.pub)
                return error_set(ret_error, -EFBIG, "%s: the public key line is too long", pubp);
        snprintf(k.pub, sizeof k.pub, "%s", pub);
        *ret = k;
        return 0;
}

static int copy_file_to_dir(const char *file, const char *dir) {
        const char *argv[] = { "cp", "--", file, dir, NULL };
        return run(argv, NULL, NULL);
}

/* The build's progress and warnings, from the complete lines its log
 * gained since *seen, to p->detail. */
static void forward_build_lines(const InstallPrepare *p, off_t *seen) {
        if (!p->detail)
                return;
        _cleanup_close_ int fd = open(p->log_path, O_RDONLY | O_CLOEXEC);
        char buf[16384];
        ssize_t k;
        while (fd >= 0 && (k = pread(fd, buf, sizeof buf - 1, *seen)) > 0) {
                buf[k] = 0;
                char *end = strrchr(buf, '\n');
                if (!end) {
                        if (k < (ssize_t) sizeof buf - 1)
                                return; /* the rest of a line is still to come */
                        *seen += k; /* one line longer than the buffer: not one of ours */
                        continue;
                }
                *end = 0;
                *seen += end + 1 - buf;
                char *save = NULL;
                for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                        if (startswith(l, "build: ") || startswith(l, "keystone build: warning: ") ||
                            startswith(l, "keystone: warning: "))
                                p->detail(p->userdata, l);
        }
}

int install_prepare_build(const InstallPrepare *p, const char *pub, char **ret_error) {
        int r;
        char media[PATH_MAX], mhost[PATH_MAX], keys[PATH_MAX], gen[PATH_MAX];
        PATHF(media, "%s/media", p->state_dir);
        PATHF(mhost, "%s/media/host", p->state_dir);
        PATHF(keys, "%s/keys", p->state_dir);
        PATHF(gen, "%s/media/generation", p->state_dir);
        (void) cache_rm_rf(media);
        if ((r = mkdir_p(mhost, 0700, NULL)) < 0)
                return error_set(ret_error, r, "Cannot create %s: %s", mhost, strerror(-r));
        /* the host file and the local files it imports, for disk apply/install in the installer */
        char **files = NULL;
        if ((r = image_host_files(p->host_abs, &files)) < 0)
                return error_set(ret_error, r, "Cannot list the files of %s: %s", p->host_abs, strerror(-r));
        /* the host file, and what it imports from its own directory (a
         * file found elsewhere, such as a source tree's modules/, is one of
         * the built-in modules the installer's keystone has) */
        const char *host_base = strrchr(p->host_abs, '/') ? strrchr(p->host_abs, '/') + 1 : p->host_abs;
        char hdir[PATH_MAX];
        snprintf(hdir, sizeof hdir, "%.*s/", (int) (strlen(p->host_abs) - strlen(host_base) - 1), p->host_abs);
        for (size_t i = 0; files && files[i]; i++) {
                const char *f = files[i];
                const char *base = strrchr(f, '/') ? strrchr(f, '/') + 1 : f;
                bool mine = streq(f, p->host_abs) ||
                            (startswith(f, hdir) && !strchr(f + strlen(hdir), '/') && !streq(base, host_base));
                if (r >= 0 && mine && (r = copy_file_to_dir(f, mhost)) < 0)
                        (void) error_set(ret_error, r, "Copying %s into %s failed", f, mhost);
                log_line(p, "host file %s: %s", f, mine ? "copied for the installer" : "left out (built in)");
                free(files[i]);
        }
        free(files);
        if (r < 0)
                return r;
        if (p->locked) {
                char lock_path[PATH_MAX];
                if (image_lock_path(p->host_abs, lock_path, sizeof lock_path) >= 0 &&
                    (r = copy_file_to_dir(lock_path, mhost)) < 0)
                        return error_set(ret_error, r, "Copying %s into %s failed", lock_path, mhost);
        }
        const char *argv[24];
        size_t n = 0;
        argv[n++] = p->keystone;
        argv[n++] = "build";
        argv[n++] = p->host_abs;
        argv[n++] = "--keys";
        argv[n++] = keys;
        argv[n++] = "--ssh-key";
        argv[n++] = pub;
        argv[n++] = "-o";
        argv[n++] = gen;
        if (p->cache_dir) {
                argv[n++] = "--cache-dir";
                argv[n++] = p->cache_dir;
        }
        for (size_t i = 0; p->build_args && p->build_args[i]; i++) {
                if (n >= ELEMENTSOF(argv) - 1)
                        return error_set(ret_error, -E2BIG, "Too many arguments for keystone build");
                argv[n++] = p->build_args[i];
        }
        argv[n] = NULL;
        pid_t pid;
        r = spawn_background(argv, &(SpawnOptions) { .log_path = p->log_path }, &pid);
        if (r < 0)
                return error_set(ret_error, r, "Cannot run %s build: %s", p->keystone, strerror(-r));
        int status = 0;
        off_t seen = 0;
        do {
                r = spawn_poll(pid, &status);
                forward_build_lines(p, &seen);
        } while (r == 0 && usleep(200 * 1000) >= 0);
        if (r < 0)
                return error_set(ret_error, r, "Waiting for keystone build failed: %s", strerror(-r));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return error_set(ret_error, -EPROTO, "keystone build %s failed (exit status %d): see %s", p->host_abs,
                            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                            p->log_path);
        return 0;
}

int install_prepare_installer(const InstallPrepare *p, Installer *ret, char **ret_error) {
        char gen[PATH_MAX];
        PATHF(gen, "%s/media/generation", p->state_dir);
        _cleanup_free_ char *error = NULL;
        int r = installer_build(gen, p->cache_dir, ret, &error);
        if (r < 0)
                return error_set(ret_error, r, "Building the installer failed: %s", error ? error : strerror(-r));
        if (ret->built)
                log_line(p, "installer: %s (initrd %.1f MiB, built in %.1f s)", ret->dir,
                         ret->initrd_bytes / 1048576.0, ret->seconds);
        else
                log_line(p, "installer: %s (initrd %.1f MiB, cached)", ret->dir, ret->initrd_bytes / 1048576.0);
        return 0;
}

int install_prepare_host_keys(const char *state_dir, char **ret_error) {
        char dir[PATH_MAX], key[PATH_MAX + 64], pub[PATH_MAX + 64];
        PATHF(dir, "%s/ssh/host", state_dir);
        snprintf(key, sizeof key, "%s/ssh/host/ssh_host_ed25519_key", state_dir);
        snprintf(pub, sizeof pub, "%s.pub", key);
        if (access(key, R_OK) == 0 && access(pub, R_OK) == 0)
                return 0;
        int r = mkdir_p(dir, 0700, NULL);
        if (r < 0)
                return error_set(ret_error, r, "Cannot create %s: %s", dir, strerror(-r));
        (void) unlink(key);
        (void) unlink(pub);
        const char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "keystone host key", "-f", key,
                               NULL };
        RunResult rr = {};
        r = run(argv, &(RunOptions) { .ignore_dry_run = true }, &rr);
        if (r < 0)
                r = error_set(ret_error, r, "ssh-keygen -f %s failed: %s", key,
                              r == -EPROTO ? run_result_describe(&rr) : strerror(-r));
        run_result_done(&rr);
        if (r >= 0 && chmod(key, 0600) < 0)
                r = error_set(ret_error, -errno, "chmod %s: %s", key, strerror(errno));
        return r;
}
