/* SPDX-License-Identifier: MIT */
/* The install sequence: see sequence.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "install/sequence.h"
#include "util/error-message.h"
#include "util/log-file.h"
#include "util/macro.h"
#include "util/run.h"

#define MIN_MS (60 * 1000)

bool install_seq_is_secret(const char *s) {
        return s && strlen(s) == 64 && strspn(s, "0123456789abcdefABCDEF") == 64;
}

/* A command as root in ROLE; *ret_out (may be NULL) its stdout. */
static int seq_run(const InstallSeq *s, InstallRole role, const char *const argv[], const void *input,
                   size_t input_size, int timeout_ms, bool log_output, char **ret_out, char **ret_error) {
        RunResult rr = {};
        int r = install_target_run(s->target, role, argv, input, input_size, timeout_ms, log_output, &rr, ret_error);
        if (r >= 0 && ret_out) {
                *ret_out = rr.out ? rr.out : strdup("");
                rr.out = NULL;
                if (!*ret_out)
                        r = -ENOMEM;
        } else if (rr.out)
                explicit_bzero(rr.out, rr.out_size);
        run_result_done(&rr);
        return r;
}

int install_seq_disk(const InstallSeq *s, char **ret_secret, char **ret_error) {
        const char *apply[] = { "keystone", "disk", "apply", s->host, "--device", s->device, "--yes",
                                "--credstore-new-key-file", INSTALL_SEQ_SECRET, NULL };
        int r = seq_run(s, INSTALL_ROLE_INSTALLER, apply, NULL, 0, 60 * MIN_MS, true, NULL, ret_error);
        if (r < 0)
                return r;
        /* the secret comes back over the command's stdout, never through a log */
        _cleanup_free_ char *out = NULL;
        const char *cat[] = { "cat", INSTALL_SEQ_SECRET, NULL };
        if ((r = seq_run(s, INSTALL_ROLE_INSTALLER, cat, NULL, 0, MIN_MS, false, &out, ret_error)) < 0)
                return r;
        out[strcspn(out, "\n")] = 0;
        bool ok = install_seq_is_secret(out);
        char *secret = ok ? strdup(out) : NULL;
        explicit_bzero(out, strlen(out));
        if (!ok)
                return error_set(ret_error, -EBADMSG, "On %s, the credstore secret is not 64 hex digits: keystone "
                                 "disk apply wrote something else to %s. See %s", s->target->name,
                                 INSTALL_SEQ_SECRET, s->target->log_path);
        if (!secret)
                return -ENOMEM;
        log_file_printf(s->target->log_path, "credstore secret: read back from %s (not logged)\n", INSTALL_SEQ_SECRET);
        *ret_secret = secret;
        return 0;
}

int install_seq_generation(const InstallSeq *s, char **ret_error) {
        const char *install[] = { "keystone", "disk", "install", s->host, "--from", s->generation, "--device",
                                  s->device, "--credstore-key-file", INSTALL_SEQ_SECRET, "--no-tpm",
                                  s->replace ? "--force" : NULL, NULL };
        return seq_run(s, INSTALL_ROLE_INSTALLER, install, NULL, 0, 60 * MIN_MS, true, NULL, ret_error);
}

/* tar of the owner's Secure Boot keys, for the installer's /run (stdin) */
static int keys_tar(const char *dir, char **ret, size_t *ret_size) {
        const char *argv[] = { "tar", "-C", dir, "-cf", "-", ".", NULL };
        RunResult rr = {};
        int r = run(argv, &(RunOptions) { .ignore_dry_run = true }, &rr);
        if (r >= 0) {
                *ret = rr.out;
                *ret_size = rr.out_size;
                rr.out = NULL;
        }
        run_result_done(&rr);
        return r;
}

int install_seq_secure_boot(const InstallSeq *s, char **ret_error) {
        /* the owner's keys only in the installer's RAM (/run), for as long as enroll needs them */
        _cleanup_free_ char *tar = NULL;
        size_t tar_size = 0;
        int r = keys_tar(s->keys_dir, &tar, &tar_size);
        if (r < 0)
                return error_set(ret_error, r, "Cannot pack the Secure Boot keys of %s: %s", s->keys_dir,
                                 strerror(-r));
        const char *untar[] = { "sh", "-c", "umask 077 && mkdir -p \"$1\" && tar -x -C \"$1\"", "sh",
                                INSTALL_SEQ_SB_DIR, NULL };
        r = seq_run(s, INSTALL_ROLE_INSTALLER, untar, tar, tar_size, MIN_MS, true, NULL, ret_error);
        explicit_bzero(tar, tar_size);
        if (r < 0)
                return r;
        const char *enroll[] = { "keystone", "secureboot", "enroll", "--force", "--dir", INSTALL_SEQ_SB_DIR, NULL };
        int enrolled = seq_run(s, INSTALL_ROLE_INSTALLER, enroll, NULL, 0, 10 * MIN_MS, true, NULL, ret_error);
        /* the keys leave the installer whatever enroll did */
        const char *rm[] = { "rm", "-rf", INSTALL_SEQ_SB_DIR, INSTALL_SEQ_SECRET, NULL };
        _cleanup_free_ char *rm_err = NULL;
        r = seq_run(s, INSTALL_ROLE_INSTALLER, rm, NULL, 0, MIN_MS, true, NULL, &rm_err);
        if (enrolled < 0)
                return enrolled;
        if (r < 0) {
                if (ret_error) {
                        free(*ret_error);
                        *ret_error = TAKE_PTR(rm_err);
                }
                return r;
        }
        _cleanup_free_ char *status = NULL;
        const char *st[] = { "keystone", "secureboot", "status", NULL };
        if ((r = seq_run(s, INSTALL_ROLE_INSTALLER, st, NULL, 0, MIN_MS, true, &status, ret_error)) < 0)
                return r;
        if (!strstr(status, "SetupMode: 0"))
                return error_set(ret_error, -EIO, "On %s, after keystone secureboot enroll the firmware is not in "
                                 "user mode:\n%s", s->target->name, status);
        return 0;
}

int install_seq_enroll(const InstallSeq *s, const char *secret, InstallEnrolled *ret, char **ret_error) {
        const InstallRole M = INSTALL_ROLE_MACHINE;
        const char *log = s->target->log_path;
        _cleanup_free_ char *credstore = NULL;
        if (asprintf(&credstore, "/dev/zvol/%s/credstore", s->pool) < 0)
                return -ENOMEM;
        const char *put[] = { "sh", "-c", "umask 077 && cat > \"$1\"", "sh", INSTALL_SEQ_MACHINE_SECRET, NULL };
        int r = seq_run(s, M, put, secret, strlen(secret), MIN_MS, true, NULL, ret_error);
        if (r < 0)
                return r;
        /* the banner keystone-protection-banner.service wrote at this boot:
         * only the install secret opens the credstore yet */
        _cleanup_free_ char *banner = NULL;
        const char *cat_banner[] = { "sh", "-c", "cat /run/motd.d/keystone-protection 2>/dev/null || true", NULL };
        if (seq_run(s, M, cat_banner, NULL, 0, MIN_MS, true, &banner, NULL) == 0)
                snprintf(ret->banner_before, sizeof ret->banner_before, "%s", banner);
        if (!s->tpm_disabled) {
                _cleanup_free_ char *pcrs_opt = NULL;
                if (asprintf(&pcrs_opt, "--pcrs=%s", s->pcrs ? s->pcrs : "1+7") < 0)
                        return -ENOMEM;
                const char *enroll[] = { "keystone", "tpm", "enroll", credstore,
                                         "--unlock-key-file=" INSTALL_SEQ_MACHINE_SECRET, pcrs_opt,
                                         s->no_pcr15 ? "--no-pcr15" : "--pcr15", NULL };
                if ((r = seq_run(s, M, enroll, NULL, 0, 10 * MIN_MS, true, NULL, ret_error)) < 0)
                        return r;
        } else
                log_file_printf(log, "tpm.enable = false: no TPM enrollment\n");
        _cleanup_free_ char *key = NULL;
        const char *recovery[] = { "keystone", "tpm", "recovery", credstore,
                                   "--unlock-key-file=" INSTALL_SEQ_MACHINE_SECRET, NULL };
        if ((r = seq_run(s, M, recovery, NULL, 0, 10 * MIN_MS, false, &key, ret_error)) < 0)
                return r;
        key[strcspn(key, "\n")] = 0;
        if (strlen(key) < 16) {
                explicit_bzero(key, strlen(key));
                return error_set(ret_error, -EBADMSG, "On %s, keystone tpm recovery printed no recovery key. See %s",
                                 s->target->name, log);
        }
        ret->recovery_key = strdup(key);
        explicit_bzero(key, strlen(key));
        if (!ret->recovery_key)
                return -ENOMEM;
        /* no install secret left behind: its keyslot (keystone tpm wipe reads
         * the header again to prove it gone) and the machine's copy */
        if (!s->tpm_disabled) {
                const char *wipe[] = { "keystone", "tpm", "wipe", credstore, "--slot=install-secret", NULL };
                if ((r = seq_run(s, M, wipe, NULL, 0, 10 * MIN_MS, true, NULL, ret_error)) < 0)
                        return r;
        } else
                log_file_printf(log, "tpm.enable = false: the install secret stays (the recovery key alone is no "
                                "way to boot unattended); remove it with keystone tpm wipe --slot=install-secret\n");
        const char *shred[] = { "sh", "-c", "shred -z -u \"$1\" && test ! -e \"$1\"", "sh",
                                INSTALL_SEQ_MACHINE_SECRET, NULL };
        if ((r = seq_run(s, M, shred, NULL, 0, MIN_MS, true, NULL, ret_error)) < 0)
                return r;
        /* the banner again, now that the credstore is protected */
        const char *banner_argv[] = { "keystone", "tpm", "banner", credstore, NULL };
        return seq_run(s, M, banner_argv, NULL, 0, MIN_MS, true, NULL, ret_error);
}
