/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "init/initrd-ssh.h"
#include "init/prompt.h"
#include "init/steps.h"
#include "disk/credstore.h"
#include "tpm/luks-passphrase.h"
#include "tpm/tpm2-pcr.h"
#include "util/error-message.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/run.h"

#define INIT_CREDSTORE_DIR "/etc/credstore"

static const RunOptions zfs_run_options = { .timeout_ms = 120000 };

/* zpool import waits for udev to finish with each device it finds: up to
 * ZPOOL_IMPORT_UDEV_TIMEOUT_MS (zpool(8)) for the paths in the labels, and
 * a fixed 3 s per vdev while it looks for a devid to record in the label.
 * This initrd has no udev, so both waits could only time out (measured:
 * 3.3 of the 3.8 s the import took under TCG).  Without udev there is no
 * devid either; ZFS_VDEV_DEVID_OPT_OUT skips that lookup.  Keystone's pools
 * live on partitions, for which ZFS records no devid anyway. */
static char *const zpool_import_env[] = { "ZPOOL_IMPORT_UDEV_TIMEOUT_MS=0", "ZFS_VDEV_DEVID_OPT_OUT=YES", NULL };
static const RunOptions zpool_import_options = { .timeout_ms = 120000, .env_extra = zpool_import_env };

static double now(const InitContext *c) {
        if (c->clock)
                return c->clock();
        struct timespec ts;
        clock_gettime(CLOCK_BOOTTIME, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

void init_note(InitContext *c, const char *fmt, ...) {
        if (c->line_open && !c->line_broken)
                fputc('\n', c->console);
        if (c->line_open)
                c->line_broken = true;
        va_list ap;
        va_start(ap, fmt);
        vfprintf(c->console, fmt, ap);
        va_end(ap);
        size_t l = strlen(fmt);
        if (l == 0 || fmt[l - 1] != '\n')
                fputc('\n', c->console);
        fflush(c->console);
}

static void detail(InitContext *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void detail(InitContext *c, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->detail, sizeof c->detail, fmt, ap);
        va_end(ap);
}

/* "zpool import … failed: exited with status 1: <stderr's last line>" */
static int run_failed(InitContext *c, int r, const char *const argv[], const RunResult *res, const char *advice) {
        _cleanup_free_ char *cmd = argv_to_string(argv);
        return error_set(&c->error, r, "'%s' failed: %s. %s", cmd ? cmd : argv[0],
                         r == -EPROTO ? run_result_describe(res)
                         : r == -ENOENT ? "the program is not in the initrd"
                         : strerror(-r), advice);
}

/* argv under zfs_run_options; when it fails, the error is set as
 * run_failed() says and res is already freed */
static int run_zfs(InitContext *c, const char *const argv[], RunResult *res, const char *advice) {
        int r = run(argv, &zfs_run_options, res);
        if (r < 0) {
                r = run_failed(c, r, argv, res, advice);
                run_result_done(res);
        }
        return r;
}

/* ---- step 1: import the pool without mounting; find the credstore zvol ---- */

static int step_import(InitContext *c) {
        const InitConfig *k = &c->cfg;
        char devdir[4200], kstat[4400];
        snprintf(devdir, sizeof devdir, "%s/dev", c->root);
        /* ZFS keeps a kstat directory per imported pool: cheaper than asking
         * zpool, which pays libzfs' start-up */
        snprintf(kstat, sizeof kstat, "%s/proc/spl/kstat/zfs/%s", c->root, k->pool);
        bool imported = access(kstat, F_OK) == 0;
        double t0 = now(c);
        if (!imported) {
                const char *argv[] = { "zpool", "import", "-N", "-d", devdir, k->pool, NULL };
                RunResult res = {};
                int r = run(argv, &zpool_import_options, &res);
                if (r < 0) {
                        const char *e = res.err ? res.err : "";
                        const char *advice =
                                strstr(e, "in use from another system") || strstr(e, "previously in use")
                                ? "The pool was last used by a system with another hostid: the initrd's "
                                  "/etc/hostid must be the installed system's (rebuild the generation)."
                                : strstr(e, "no such pool") || strstr(e, "no pools available")
                                ? "No disk holding the pool was found: check that the disk is attached and that "
                                  "its storage driver is listed in /etc/keystone-init/modules."
                                : "Check that the zfs module loaded (see the module lines above) and that the "
                                  "disk is attached.";
                        r = run_failed(c, r, argv, &res, advice);
                        run_result_done(&res);
                        return r;
                }
                run_result_done(&res);
        }
        double t1 = now(c);
        InitZvolLookup l = c->zvol;
        l.root = c->root;
        int r = init_zvol_wait(&l, k->credstore, c->zvol_timeout_ms ?: 10000, c->credstore_node,
                               sizeof c->credstore_node);
        if (r < 0)
                return error_set(&c->error, r, "the pool %s is imported, but no block device of the credstore zvol "
                                 "%s appeared under %s/sys/block/zd* (%s). Check with 'zfs list -t volume %s' that "
                                 "it exists and has volmode=default or dev", k->pool, k->credstore, c->root,
                                 r == -ETIMEDOUT ? "waited for it" : strerror(-r), k->pool);
        if (imported)
                detail(c, "already imported, credstore %s is %s", k->credstore,
                       c->credstore_node + strlen(c->root));
        else
                detail(c, "imported %s (%.2f s), credstore %s is %s (%.2f s)", k->pool, t1 - t0, k->credstore,
                       c->credstore_node + strlen(c->root), now(c) - t1);
        return 0;
}

/* ---- step 2: open the credstore: TPM2, else password / recovery key ---- */

void init_tpm_refusal(const Tpm2UnlockReport *rep, int r, char *buf, size_t size) {
        _cleanup_free_ char *bound = tpm2_pcr_mask_to_string(rep->pcr_mask);
        _cleanup_free_ char *changed = tpm2_pcr_mask_to_string(rep->changed);
        switch (r) {
        case -ENOENT:
                snprintf(buf, size, "the credstore has no TPM2 token (enroll one with 'keystone tpm enroll')");
                return;
        case -EPERM:
                if (rep->changed_known && (rep->changed & (UINT32_C(1) << TPM2_PCR_MEASURE)))
                        snprintf(buf, size, "PCR 15 is no longer zero: the credstore was already opened once in "
                                 "this boot (token %d, sealed to PCRs %s)", rep->token, bound ? bound : "?");
                else if (rep->changed_known && rep->changed)
                        snprintf(buf, size, "PCR %s changed since enrollment (token %d is sealed to PCRs %s): the "
                                 "firmware, its settings or the Secure Boot keys changed. If that was you, re-enroll "
                                 "with 'keystone tpm enroll' after booting", changed ? changed : "?", rep->token,
                                 bound ? bound : "?");
                else
                        snprintf(buf, size, "PCRs %s no longer hold the values token %d was sealed to (the token "
                                 "does not record which one changed)", bound ? bound : "?", rep->token);
                return;
        case -ENOANO:
                snprintf(buf, size, "token %d needs a TPM2 PIN, and none was typed", rep->token);
                return;
        case -EACCES:
                snprintf(buf, size, "the TPM2 PIN of token %d was wrong (the TPM counts wrong PINs towards its "
                         "lockout)", rep->token);
                return;
        case -ESTALE:
                snprintf(buf, size, "token %d was sealed under a storage root key the TPM no longer has (was the "
                         "TPM cleared?)", rep->token);
                return;
        case -EOPNOTSUPP:
                snprintf(buf, size, "token %d has a form keystone-init cannot use: %s", rep->token,
                         rep->unsupported ? rep->unsupported : "unsupported sealed object");
                return;
        case -ENOKEY:
                snprintf(buf, size, "the TPM unsealed token %d, but keyslot %d refuses the secret", rep->token,
                         rep->keyslot);
                return;
        }
        if ((tpm2_last_rc() & 0xffff) == TPM2_RC_LOCKOUT)
                snprintf(buf, size, "the TPM is in dictionary-attack lockout after too many wrong PINs; it unlocks "
                         "again after its recovery time (or clear the lockout from the running system)");
        else
                snprintf(buf, size, "the TPM failed while unsealing token %d: %s", rep->token, tpm2_last_rc_string());
}

static int check_secret(void *userdata, const char *secret, size_t n) {
        InitContext *c = userdata;
        return luks_passphrase_volume_key(c->cd, secret, n, &c->vk, &c->vk_size);
}

typedef struct PinAttempt {
        InitContext *c;
        Tpm2UnlockReport *rep;
        int error;                      /* the last TPM answer, for the refusal text */
} PinAttempt;

static int check_pin(void *userdata, const char *pin, size_t n) {
        PinAttempt *a = userdata;
        int r = luks_tpm2_unlock_pin(a->c->cd, a->c->tpm, NULL, pin, &a->c->vk, &a->c->vk_size, a->rep);
        a->error = r;
        if (r == -EACCES)
                return -EPERM;          /* wrong PIN: ask again */
        if (r == -EPERM)
                return -ECANCELED;      /* the PCRs changed: no PIN will help */
        return r;
}

/* A token sealed with a TPM2 PIN (systemd-cryptenroll --tpm2-with-pin): ask
 * for it, 3 tries; the TPM counts wrong PINs towards its lockout. */
static int unlock_with_pin(InitContext *c, Tpm2UnlockReport *rep) {
        init_note(c, "The credstore's TPM2 token %d needs its PIN.", rep->token);
        PinAttempt a = { .c = c, .rep = rep, .error = -ENOANO };
        InitPrompt p = {
                .console = c->console,
                .prompt = "TPM2 PIN for the credstore: ",
                .tries = c->tries ?: 3,
                .read = c->read_secret,
                .wrong = "Wrong TPM2 PIN.",
                .check = check_pin,
                .userdata = &a,
        };
        int r = init_prompt_secret(&p, NULL);
        if (r >= 0) {
                c->pin_used = true;
                return r;
        }
        return a.error < 0 ? a.error : r;
}

static void reply_unlock_client(InitContext *c, InitUnlockVerdict v, const char *text) {
        init_unlock_reply(c->unlock_client, v, text);
        c->unlock_client = -1;
}

static int step_credstore(InitContext *c) {
        const char *node = c->credstore_node, *shown = node + strlen(c->root);
        c->unlock_client = -1;
        luks_route_logging(NULL);
        int r = luks_open(node, &c->cd);
        if (r < 0)
                return error_set(&c->error, r, "the credstore %s (%s) holds no readable LUKS2 header: %s. It was "
                                 "not made by 'keystone disk apply', or it is damaged; its key file cannot be "
                                 "recovered without it", shown, c->cfg.credstore,
                                 r == -EMEDIUMTYPE ? "not LUKS2" : strerror(-r));
        luks_route_logging(c->cd);

        char why[700];
        r = c->cfg.tpm_disabled ? -ENOTCONN : tpm2_context_new(c->cfg.tpm2_device, &c->tpm);
        if (r == -ENOTCONN) {
                c->tpm = NULL;
                snprintf(why, sizeof why, "the host file turns the TPM off (tpm.enable = false, keystone.tpm=0)");
        } else if (r < 0) {
                c->tpm = NULL;
                if (r == -ENODEV)
                        snprintf(why, sizeof why, "there is no TPM (no /dev/tpmrm0 or /dev/tpm0)");
                else
                        snprintf(why, sizeof why, "cannot talk to the TPM through '%s': %s", c->cfg.tpm2_device,
                                 tpm2_last_rc_string());
        } else {
                Tpm2UnlockReport rep = {};
                r = luks_tpm2_unlock(c->cd, c->tpm, NULL, &c->vk, &c->vk_size, &rep);
                if (r == -ENOANO)
                        r = unlock_with_pin(c, &rep);
                if (r >= 0)
                        snprintf(c->unlocked_by, sizeof c->unlocked_by, "TPM2 token %d%s", rep.token,
                                 c->pin_used ? " and its PIN" : "");
                else {
                        c->vk = NULL;
                        init_tpm_refusal(&rep, r, why, sizeof why);
                }
        }
        if (!*c->unlocked_by) {
                init_note(c, "The TPM did not unlock the credstore: %s.", why);
                if (c->cfg.initrd_ssh == INIT_SSH_AUTO)
                        (void) init_ssh_start(c);       /* a refusal is printed; the console still asks */
                InitUnlockServer remote = { .fd = -1 };
                if (c->ssh_on && !c->read_secret) {
                        _cleanup_free_ char *e = NULL;
                        if (init_unlock_listen(c->root, &remote, &e) < 0)
                                init_note(c, "keystone-init: cannot take the secret over SSH: %s; only the console "
                                          "can unlock.", e);
                        else
                                init_note(c, "Or over SSH: ssh -t root@%s keystone-init --unlock (whichever comes "
                                          "first; %d tries in all).", c->ssh_address, c->tries ?: 3);
                }
                InitPrompt p = {
                        .console = c->console,
                        .prompt = "Password or recovery key for the credstore: ",
                        .tries = c->tries ?: 3,
                        .read = c->read_secret,
                        .check = check_secret,
                        .userdata = c,
                        .remote = &remote,
                };
                int tries = 0;
                r = init_prompt_secret_from(&p, &tries, &c->unlock_client);
                init_unlock_close(&remote);
                if (r == -EPERM)
                        return error_set(&c->error, r, "the credstore %s did not open: the TPM did not unlock it "
                                         "(%s), and none of the %d passwords or recovery keys typed was right. "
                                         "Power-cycle to try again; with the recovery key lost, the data cannot be "
                                         "recovered", shown, why, tries);
                if (r == -ENODATA)
                        return error_set(&c->error, r, "the credstore %s did not open: the TPM did not unlock it "
                                         "(%s), and no password came from the console (end of input)", shown, why);
                if (r < 0)
                        return error_set(&c->error, r, "the credstore %s did not open: %s", shown, strerror(-r));
                snprintf(c->unlocked_by, sizeof c->unlocked_by, "password or recovery key%s, try %d",
                         c->unlock_client >= 0 ? " over SSH" : "", tries);
        }
        r = c->sys.activate(c->sys.userdata, c->cd, CREDSTORE_DM_NAME, c->vk, c->vk_size);
        if (r < 0) {
                r = error_set(&c->error, r, "the credstore's key is right, but activating %s as /dev/mapper/%s "
                              "failed: %s. Is dm_crypt (and dm_mod) in /etc/keystone-init/modules?", shown,
                              CREDSTORE_DM_NAME, strerror(-r));
                reply_unlock_client(c, INIT_UNLOCK_FAILED, c->error);
                return r;
        }
        c->credstore_active = true;
        detail(c, "opened with %s", c->unlocked_by);
        /* `keystone-init --unlock` learns it only now: opened means opened */
        reply_unlock_client(c, INIT_UNLOCK_OPENED, "opened with password or recovery key");
        return 0;
}

/* ---- step 3: mount it read-only ---- */

static int step_mount_credstore(InitContext *c) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s" INIT_CREDSTORE_DIR, c->root);
        int r = mkdir_p(dir, 0700, NULL);
        if (r < 0)
                return error_set(&c->error, r, "cannot create %s: %s", dir, strerror(-r));
        r = c->sys.mount(c->sys.userdata, "/dev/mapper/" CREDSTORE_DM_NAME, dir, "ext4",
                         MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        if (r < 0)
                return error_set(&c->error, r, "mounting /dev/mapper/%s (ext4, read-only) on %s failed: %s. Is "
                                 "ext4 in /etc/keystone-init/modules? Was the credstore formatted by 'keystone "
                                 "disk apply'?", CREDSTORE_DM_NAME, INIT_CREDSTORE_DIR, strerror(-r));
        c->credstore_mounted = true;
        detail(c, "/dev/mapper/%s on %s (ro)", CREDSTORE_DM_NAME, INIT_CREDSTORE_DIR);
        return 0;
}

/* ---- step 4: load the encryption root's key ---- */

static int step_load_key(InitContext *c) {
        const char *er = c->cfg.encryptionroot;
        const char *get[] = { "zfs", "get", "-H", "-o", "value", "keystatus", er, NULL };
        RunResult res = {};
        int r = run_zfs(c, get, &res, "The encryption root named by keystone.encryptionroot= must exist.");
        if (r < 0)
                return r;
        bool loaded = strneq(res.out, "available", 9);
        bool none = strneq(res.out, "-", 1);
        run_result_done(&res);
        if (none)
                return error_set(&c->error, -EPERM, "%s is not encrypted (keystatus -), so it cannot be the "
                                 "encryption root. The pool was not laid out by 'keystone disk apply', or was "
                                 "tampered with", er);
        if (loaded) {
                detail(c, "key of %s already loaded", er);
                return 0;
        }
        char url[4400];
        snprintf(url, sizeof url, "file://%s" INIT_CREDSTORE_DIR "/%s", c->root, c->cfg.keyfile);
        const char *argv[] = { "zfs", "load-key", "-L", url, er, NULL };
        r = run_zfs(c, argv, &res, "The credstore's key file does not open the encryption root: was the "
                    "credstore re-created without 'zfs change-key'? Use the backup of the key file, or "
                    "keystone.keyfile= if it has another name");
        if (r < 0)
                return r;
        run_result_done(&res);
        detail(c, "%s", er);
        return 0;
}

/* ---- step 5: every dataset to be mounted must be below the encryption root ---- */

static int step_check(InitContext *c) {
        const char *argv[] = INIT_DATASETS_ARGV(c->cfg.pool);
        RunResult res = {};
        int r = run_zfs(c, argv, &res, "Cannot list the datasets to check them.");
        if (r < 0)
                return r;
        init_mount_plan_done(&c->plan);
        r = init_mount_plan(res.out, c->cfg.generation, c->cfg.encryptionroot, &c->plan, &c->error);
        run_result_done(&res);
        if (r < 0)
                return r;
        detail(c, "%zu dataset%s to mount, all with encryptionroot %s", c->plan.n, c->plan.n == 1 ? "" : "s",
               c->cfg.encryptionroot);
        return 0;
}

/* ---- step 6: the generation on /sysroot, then /var, /home, … ---- */

static int step_sysroot(InitContext *c) {
        char list[400] = "";
        for (size_t i = 0; i < c->plan.n; i++) {
                const InitDataset *d = &c->plan.mounts[i];
                char where[4400];
                snprintf(where, sizeof where, "%s/sysroot%s", c->root, streq(d->mountpoint, "/") ? "" : d->mountpoint);
                int r = mkdir_p(where, 0755, NULL);
                if (r < 0)
                        return error_set(&c->error, r, "cannot create the mount point %s for %s: %s", where,
                                         d->name, strerror(-r));
                r = c->sys.mount(c->sys.userdata, d->name, where, "zfs", 0, "zfsutil");
                if (r < 0)
                        return error_set(&c->error, r, "mounting %s on /sysroot%s failed: %s", d->name,
                                         streq(d->mountpoint, "/") ? "" : d->mountpoint, strerror(-r));
                c->n_mounted++;
                if (i > 0 && strlen(list) + strlen(d->mountpoint) + 3 < sizeof list)
                        snprintf(list + strlen(list), sizeof list - strlen(list), ", %s", d->mountpoint);
        }
        detail(c, "%s on /sysroot%s", c->plan.n ? c->plan.mounts[0].name : "?", list);
        return 0;
}

/* ---- step 7: close the credstore, extend PCR 15 ---- */

static void wipe_vk(InitContext *c) {
        if (c->vk)
                erase_and_free(c->vk, c->vk_size);
        c->vk = NULL;
        c->vk_size = 0;
}

static int step_close(InitContext *c) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s" INIT_CREDSTORE_DIR, c->root);
        int r;
        if (c->credstore_mounted) {
                r = c->sys.umount(c->sys.userdata, dir);
                if (r < 0)
                        return error_set(&c->error, r, "unmounting the credstore from %s failed: %s",
                                         INIT_CREDSTORE_DIR, strerror(-r));
                c->credstore_mounted = false;
        }
        if (c->credstore_active) {
                r = c->sys.deactivate(c->sys.userdata, CREDSTORE_DM_NAME);
                if (r < 0)
                        return error_set(&c->error, r, "closing /dev/mapper/%s failed: %s", CREDSTORE_DM_NAME,
                                         strerror(-r));
                c->credstore_active = false;
        }
        char uuid[64] = "";
        if (c->cd)
                snprintf(uuid, sizeof uuid, "%s", crypt_get_uuid(c->cd) ?: "");
        crypt_freep(&c->cd);
        if (!c->tpm) {
                wipe_vk(c);
                detail(c, "credstore closed; no TPM, so no PCR 15 to extend");
                return 0;
        }
        r = c->vk ? tpm2_measure_volume_key(c->tpm, c->vk, c->vk_size, CREDSTORE_DM_NAME, uuid) : -ENOKEY;
        wipe_vk(c);
        if (r < 0)
                return error_set(&c->error, r, "extending PCR 15 on the TPM failed (%s). Without it the TPM would "
                                 "unseal the credstore again for anything that runs later in this boot, so the "
                                 "boot stops here", r == -ENOKEY ? "no volume key" : tpm2_last_rc_string());
        tpm2_context_freep(&c->tpm);
        detail(c, "credstore closed, PCR 15 extended");
        return 0;
}

/* ---- step 8: switch_root ---- */

static int open_in_root(const char *root, const char *path) {
        _cleanup_close_ int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        int fd = (int) syscall(SYS_openat2, dfd, path, &how, sizeof how);
        return fd < 0 ? negative_errno() : fd;
}

static int step_switch_root(InitContext *c) {
        char sysroot[4200];
        snprintf(sysroot, sizeof sysroot, "%s/sysroot", c->root);
        _cleanup_close_ int fd = open_in_root(sysroot, c->cfg.init);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
                return error_set(&c->error, fd < 0 ? fd : -ENOEXEC, "the generation %s has no program %s to run "
                                 "(%s). The generation is incomplete: choose another boot entry, or set "
                                 "keystone.init=", c->plan.n ? c->plan.mounts[0].name : "?", c->cfg.init,
                                 fd < 0 ? strerror(-fd) : "not an executable file");
        init_ssh_stop(c);
        init_note(c, "keystone-init: starting %s of %s, %.2f s after the kernel started", c->cfg.init,
                  c->plan.n ? c->plan.mounts[0].name : "?", now(c));
        char *const none[] = { NULL };
        int r = c->sys.switch_root(c->sys.userdata, sysroot, c->cfg.init, c->init_argv ? c->init_argv : none);
        if (r < 0)
                return error_set(&c->error, r, "switch_root to %s failed: %s", sysroot, strerror(-r));
        detail(c, "%s", c->cfg.init);
        return 0;
}

const InitStep init_steps[INIT_N_STEPS] = {
        { "import-rpool-bare", step_import },
        { "cryptsetup-credstore", step_credstore },
        { "mount-credstore", step_mount_credstore },
        { "rpool-load-key", step_load_key },
        { "check-encryptionroot", step_check },
        { "sysroot.mount", step_sysroot },
        { "close-credstore", step_close },
        { "switch-root", step_switch_root },
};

/* ---- the runner ---- */

char *init_fatal_message(const InitContext *c, const InitStep *step, size_t i, size_t n, int r) {
        char *s = NULL;
        const char *what = c->error ? c->error : strerror(r < 0 ? -r : r);
        if (asprintf(&s,
                     "keystone-init: step %zu/%zu (%s) failed: %s.\n"
                     "keystone-init: the boot stops here. %s\n",
                     i + 1, n, step->name, what,
                     c->cfg.emergency_shell
                     ? "keystone.emergency=shell is set: a shell starts on the console once PCR 15 is extended "
                       "(if that fails, the machine halts instead); leaving the shell halts the machine."
                     : "The machine halts; power-cycle it after fixing the cause (the host file's "
                       "boot.emergency-access = true adds keystone.emergency=shell for a shell here).") < 0)
                return NULL;
        return s;
}

/* Each step's line also goes to ROOT/run/keystone-boot.log (0600), which
 * moves with /run into the real system: how this boot opened the
 * credstore, readable over SSH where there is no console to look at
 * (keystone install's checks).  A log that cannot be written is skipped. */
static void boot_log(InitContext *c, const char *fmt, ...) _printf_(2, 3);
static void boot_log(InitContext *c, const char *fmt, ...) {
        if (c->dry || !c->root)
                return;
        char path[4200];
        snprintf(path, sizeof path, "%s" INIT_BOOT_LOG, c->root);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return;
        va_list ap;
        va_start(ap, fmt);
        (void) vdprintf(fd, fmt, ap);
        va_end(ap);
}

int init_run_steps(InitContext *c, const InitStep *steps, size_t n, size_t *ret_failed) {
        for (size_t i = 0; i < n; i++) {
                *c->detail = 0;
                c->line_open = true;
                c->line_broken = false;
                fprintf(c->console, "[%2zu/%zu] %s ... ", i + 1, n, steps[i].name);
                fflush(c->console);
                double t0 = now(c);
                int r = steps[i].run(c);
                double dt = now(c) - t0;
                if (c->line_broken)
                        fprintf(c->console, "[%2zu/%zu] %s ... ", i + 1, n, steps[i].name);
                c->line_open = false;
                if (r < 0) {
                        fprintf(c->console, "FAILED (%.2f s)\n", dt);
                        boot_log(c, "[%2zu/%zu] %s ... FAILED (%.2f s)\n", i + 1, n, steps[i].name, dt);
                        _cleanup_free_ char *m = init_fatal_message(c, &steps[i], i, n, r);
                        fputs(m ? m : "keystone-init: out of memory\n", c->console);
                        fflush(c->console);
                        if (ret_failed)
                                *ret_failed = i;
                        return r;
                }
                fprintf(c->console, "ok (%.2f s)%s%s\n", dt, *c->detail ? ": " : "", c->detail);
                boot_log(c, "[%2zu/%zu] %s ... ok (%.2f s)%s%s\n", i + 1, n, steps[i].name, dt,
                         *c->detail ? ": " : "", c->detail);
                fflush(c->console);
        }
        if (ret_failed)
                *ret_failed = n;
        return 0;
}

/* What PCR 15 is extended with when the boot stops before the volume key
 * was held: any value but zero makes a policy that binds PCR 15 = 0 fail. */
static const char pcr15_stop_event[] = "keystone-init: boot stopped; the credstore must not unseal again";

int init_extend_pcr15(InitContext *c) {
        if (c->tpm && c->vk) {
                char uuid[64] = "";
                if (c->cd)
                        snprintf(uuid, sizeof uuid, "%s", crypt_get_uuid(c->cd) ?: "");
                int r = tpm2_measure_volume_key(c->tpm, c->vk, c->vk_size, CREDSTORE_DM_NAME, uuid);
                wipe_vk(c);
                return r < 0 ? r : 1;
        }
        wipe_vk(c);
        if (!c->tpm) {
                int r = tpm2_context_new(c->cfg.tpm2_device, &c->tpm);
                if (r < 0) {
                        c->tpm = NULL;
                        /* no TPM at all: nothing can unseal the credstore.  A
                         * device that was named but does not answer is a
                         * failure: the real one may still be there. */
                        bool automatic = !*c->cfg.tpm2_device || streq(c->cfg.tpm2_device, "auto");
                        return r == -ENODEV && automatic ? 0 : r;
                }
        }
        uint8_t digest[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *) pcr15_stop_event, strlen(pcr15_stop_event), digest);
        int r = tpm2_pcr_extend(c->tpm, TPM2_PCR_MEASURE, digest);
        return r < 0 ? r : 1;
}

void init_context_done(InitContext *c) {
        init_ssh_stop(c);
        wipe_vk(c);
        crypt_freep(&c->cd);
        tpm2_context_freep(&c->tpm);
        init_mount_plan_done(&c->plan);
        free(c->error);
        c->error = NULL;
}
