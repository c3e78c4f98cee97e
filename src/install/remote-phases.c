/* SPDX-License-Identifier: MIT */
/* The phases of a remote install after kexec: see remote-phases.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "generation/install.h"
#include "install/remote-phases.h"
#include "install/remote.h"
#include "install/sequence.h"
#include "install/target-ssh.h"
#include "tpm/tpm2-pcr.h"
#include "util/clock.h"
#include "util/error-message.h"
#include "util/fs.h"
#include "util/log-file.h"
#include "util/macro.h"
#include "util/run.h"
#include "util/secret-erase.h"
#include "util/strv.h"
#include "util/secret-input.h"

#define MIN_MS (60 * 1000)
#define KEYSTONE_INIT "/usr/lib/keystone/keystone-init"
#define MEDIA "/run/media"
#define TARGET_ROOT "/run/keystone-target"
#define INSTALLER_KEY "ssh/installer_host_key.pub"
#define HOST_KEY "ssh/host/ssh_host_ed25519_key"

/* ---- the disk, as the probe before kexec saw it ---- */

int remote_disk_id_save(const char *state_dir, const ProbeDisk *d, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        if (asprintf(&text, "size %" PRIu64 "\nserial %s\nwwid %s\nid %s\n", d->size, d->serial ? d->serial : "",
                     d->wwid ? d->wwid : "", d->ids && d->ids[0] ? d->ids[0] : "") < 0)
                return -ENOMEM;
        char path[PATH_MAX];
        PATHF(path, "%s/target-disk", state_dir);
        int r = write_file_bytes_atomic(path, text, strlen(text), 0600);
        if (r < 0)
                return error_set(ret_error, r, "Cannot write %s: %s", path, strerror(-r));
        return 0;
}

int remote_disk_id_load(const char *state_dir, RemoteDiskId *ret, char **ret_error) {
        char path[PATH_MAX];
        PATHF(path, "%s/target-disk", state_dir);
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r = read_file_text(path, 4096, &text, &size);
        if (r < 0)
                return error_set(ret_error, r, "Cannot read %s (what the probe before kexec saw of the disk): %s. "
                                 "Run the kexec phase again (--phases kexec,… or --fresh)", path, strerror(-r));
        *ret = (RemoteDiskId) {};
        bool have_size = false;
        unsigned line = 0;
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                line++;
                const char *v;
                if ((v = startswith(l, "size "))) {
                        char *end = NULL;
                        errno = 0;
                        unsigned long long n = strtoull(v, &end, 10);
                        if (errno || !end || *end || n == 0)
                                return error_set(ret_error, -EBADMSG, "%s:%u: bad size '%s'", path, line, v);
                        ret->size = n;
                        have_size = true;
                } else if ((v = startswith(l, "serial ")))
                        snprintf(ret->serial, sizeof ret->serial, "%s", v);
                else if ((v = startswith(l, "wwid ")))
                        snprintf(ret->wwid, sizeof ret->wwid, "%s", v);
                else if ((v = startswith(l, "id ")))
                        snprintf(ret->id, sizeof ret->id, "%s", v);
                else if (!streq(l, "serial") && !streq(l, "wwid") && !streq(l, "id"))
                        return error_set(ret_error, -EBADMSG, "%s:%u: not a line of the disk's record: '%s'", path,
                                         line, l);
        }
        if (!have_size)
                return error_set(ret_error, -EBADMSG, "%s: no size line", path);
        return 0;
}

int remote_disk_find(const ProbeReport *r, const RemoteDiskId *id, const ProbeDisk **ret, char **ret_error) {
        if (!*id->serial && !*id->wwid)
                return error_set(ret_error, -ENODEV, "The disk %s reports neither a serial number nor a WWID, so "
                                 "the installer (which has no udev and may name it differently) cannot be sure "
                                 "it is the same disk", *id->id ? id->id : "to install onto");
        const ProbeDisk *found = NULL;
        for (size_t i = 0; i < r->n_disks; i++) {
                const ProbeDisk *d = &r->disks[i];
                if (d->size != id->size)
                        continue;
                bool same = (*id->serial && d->serial && streq(d->serial, id->serial)) ||
                            (*id->wwid && d->wwid && streq(d->wwid, id->wwid));
                if (!same)
                        continue;
                if (found)
                        return error_set(ret_error, -ENOTUNIQ, "Two disks in the installer are %s (%s, %s): "
                                         "refusing to guess", *id->id ? id->id : id->serial, found->name, d->name);
                found = d;
        }
        if (!found) {
                _cleanup_free_ char *seen = NULL;
                size_t n = 0;
                FILE *f = open_memstream(&seen, &n);
                if (!f)
                        return -ENOMEM;
                for (size_t i = 0; i < r->n_disks; i++)
                        fprintf(f, "%s%s (%" PRIu64 " bytes, serial %s)", i ? ", " : "", r->disks[i].name,
                                r->disks[i].size, r->disks[i].serial ? r->disks[i].serial : "none");
                fclose(f);
                return error_set(ret_error, -ENODEV, "The installer has no disk of %" PRIu64 " bytes with serial "
                                 "'%s' or WWID '%s' (%s before kexec); it has: %s", id->size, id->serial, id->wwid,
                                 *id->id ? id->id : "the disk", n ? seen : "no disk");
        }
        *ret = found;
        return 0;
}

/* ---- connections ---- */

static const char *sp(const RemoteInstall *ri, const char *rel, char *buf, size_t size) {
        snprintf(buf, size, "%s/%s", ri->prepare.state_dir, rel);
        return buf;
}

typedef struct Phase {
        RemoteInstall *ri;
        InstallPhase phase;
        const char *name;
        char user[64];                  /* the host's sudo user: the installed system's login */
        char host_base[256];            /* the host file's name in STATE/media/host */
        double t_step;                  /* when the last step ended */
        char log[PATH_MAX + 64];
        SshInstallTarget st;
} Phase;

/* A sub-step ended: its line, with the time since the one before. */
static void say(Phase *p, const char *fmt, ...) _printf_(2, 3);
static void say(Phase *p, const char *fmt, ...) {
        double now = monotonic_seconds(), dt = now - p->t_step;
        p->t_step = now;
        if (!p->ri->progress)
                return;
        _cleanup_free_ char *line = NULL;
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&line, fmt, ap);
        va_end(ap);
        if (n >= 0)
                p->ri->progress(p->ri->userdata, p->phase, line, 0, dt);
}

static void phase_init(Phase *p, RemoteInstall *ri, InstallPhase phase) {
        const char *name = install_phase_name(phase);
        *p = (Phase) { .ri = ri, .phase = phase, .name = name, .t_step = monotonic_seconds() };
        const ImageSpec *spec = ri->prepare.spec;
        for (size_t i = 0; i < spec->n_users && !p->user[0]; i++)
                for (size_t j = 0; j < spec->users[i].n_groups; j++)
                        if (streq(spec->users[i].groups[j], "sudo")) {
                                snprintf(p->user, sizeof p->user, "%s", spec->users[i].name);
                                break;
                        }
        const char *b = strrchr(ri->prepare.host_abs, '/');
        snprintf(p->host_base, sizeof p->host_base, "%s", b ? b + 1 : ri->prepare.host_abs);
        snprintf(p->log, sizeof p->log, "%s/logs/install-%s.log", ri->prepare.state_dir, name);
        (void) mkdir_parents(p->log, 0700, NULL);
        char who[300];
        snprintf(who, sizeof who, "%s:%u", ri->target->host, ri->target->port);
        ssh_install_target_init(&p->st, who, p->log);
}

static void phase_done(Phase *p) {
        for (size_t i = 0; i < ELEMENTSOF(p->st.session); i++)
                ssh_client_free(p->st.session[i]);
        p->st = (SshInstallTarget) {};
}

static int connect_once(Phase *p, const char *user, const char *pinned_rel, SshClient **ret, char **ret_error) {
        char key[PATH_MAX + 32], pinned[PATH_MAX + 64];
        if (access(sp(p->ri, pinned_rel, pinned, sizeof pinned), R_OK) < 0)
                return error_set(ret_error, -ENOENT, "%s: %s. The kexec phase makes the host keys a remote install "
                                 "pins; run it again (--fresh starts over)", pinned, strerror(errno));
        SshTarget t = *p->ri->target;
        snprintf(t.user, sizeof t.user, "%s", user);
        SshConnectOptions o = { .identity = sp(p->ri, "ssh/id_ed25519", key, sizeof key),
                                .pinned_host_key = sp(p->ri, pinned_rel, pinned, sizeof pinned),
                                .connect_timeout_ms = 30000, .log_path = p->log };
        return ssh_client_connect(&t, &o, ret, ret_error);
}

/* Polls every 3 s until USER logs in with the state's key to the host that
 * holds the key PINNED_REL, and BOOT_ID (when not NULL) differs from its
 * /proc/sys/kernel/random/boot_id (it has rebooted). */
static int wait_for(Phase *p, const char *user, const char *pinned_rel, const char *what, const char *not_boot_id,
                    SshClient **ret, char **ret_error) {
        RemoteInstall *ri = p->ri;
        int wait_ms = ri->machine_timeout_s > 0 ? ri->machine_timeout_s * 1000 : 20 * MIN_MS;
        int64_t t0 = monotonic_ms(), end = t0 + wait_ms;
        _cleanup_free_ char *last = NULL;
        for (;;) {
                SshClient *c = NULL;
                free(last);
                last = NULL;
                int r = connect_once(p, user, pinned_rel, &c, &last);
                /* a problem on this side (a key file) does not go away by waiting */
                if (r == -EINVAL || r == -ENOENT || r == -ENOKEY) {
                        error_set(ret_error, r, "%s at %s:%u cannot be reached: %s", what, ri->target->host,
                                  ri->target->port, last ? last : strerror(-r));
                        return r;
                }
                if (r >= 0 && not_boot_id) {
                        const char *argv[] = { "cat", "/proc/sys/kernel/random/boot_id", NULL };
                        RunResult rr = {};
                        r = ssh_client_run(c, argv, &(SshRunOptions) { .log_output = true, .timeout_ms = MIN_MS },
                                           &rr, NULL);
                        bool same = r >= 0 && rr.out && strncmp(rr.out, not_boot_id, 36) == 0;
                        run_result_done(&rr);
                        if (r >= 0 && same) {
                                r = -EAGAIN;
                                last = strdup("it has not rebooted yet");
                        }
                        if (r < 0) {
                                ssh_client_free(c);
                                c = NULL;
                        }
                }
                if (r >= 0) {
                        log_file_printf(p->log, "%s answered after %.1f s\n", what, (monotonic_ms() - t0) / 1000.0);
                        *ret = c;
                        return 0;
                }
                if (monotonic_ms() >= end)
                        return error_set(ret_error, -ETIMEDOUT, "%s did not answer at %s:%u within %d min (the last "
                                         "try: %s). See %s", what, ri->target->host, ri->target->port,
                                         wait_ms / MIN_MS, last ? last : strerror(-r), p->log);
                usleep(3000 * 1000);
        }
}

/* a command on a session, its stdout in *ret_out when asked */
static int phase_run(Phase *p, InstallRole role, const char *const argv[], const void *in, size_t in_size,
                     int timeout_ms, char **ret_out, char **ret_error) {
        RunResult rr = {};
        int r = install_target_run(&p->st.target, role, argv, in, in_size, timeout_ms, true, &rr, ret_error);
        if (r >= 0 && ret_out) {
                *ret_out = rr.out ? TAKE_PTR(rr.out) : strdup("");
                if (!*ret_out)
                        r = -ENOMEM;
        }
        run_result_done(&rr);
        return r;
}

static int connect_installer(Phase *p, char **ret_error) {
        int r = wait_for(p, "root", INSTALLER_KEY, "The installer", NULL, &p->st.session[INSTALL_ROLE_INSTALLER],
                         ret_error);
        p->st.sudo[INSTALL_ROLE_INSTALLER] = false;
        return r;
}

/* LOCAL's tree into REMOTE on the installer, each file verified
 * (ssh_client_upload()); symbolic links and special files are refused. */
static int upload_tree(Phase *p, const char *local, const char *remote, char **ret_error) {
        SshClient *c = p->st.session[INSTALL_ROLE_INSTALLER];
        const char *mk[] = { "mkdir", "-p", "-m", "0700", remote, NULL };
        int r = phase_run(p, INSTALL_ROLE_INSTALLER, mk, NULL, 0, MIN_MS, NULL, ret_error);
        if (r < 0)
                return r;
        _cleanup_(closedirp) DIR *d = opendir(local);
        if (!d)
                return error_set(ret_error, -errno, "Cannot read %s: %s", local, strerror(errno));
        for (struct dirent *e; (e = readdir_no_dot(d));) {
                char lp[PATH_MAX], rp[PATH_MAX];
                PATHF(lp, "%s/%s", local, e->d_name);
                PATHF(rp, "%s/%s", remote, e->d_name);
                struct stat st;
                if (lstat(lp, &st) < 0)
                        return error_set(ret_error, -errno, "Cannot stat %s: %s", lp, strerror(errno));
                if (S_ISDIR(st.st_mode))
                        r = upload_tree(p, lp, rp, ret_error);
                else if (S_ISREG(st.st_mode))
                        r = ssh_client_upload(c, lp, rp, st.st_mode & 0777, 30 * MIN_MS, ret_error);
                else
                        r = error_set(ret_error, -EINVAL, "%s is not a regular file or directory: the build is "
                                      "uploaded file by file", lp);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The disk to install onto, as the installer names it ("/dev/vdb"), and
 * the installer's own probe. */
static int find_device(Phase *p, char *dev, size_t size, ProbeReport **ret_report, char **ret_error) {
        RemoteDiskId id;
        int r = remote_disk_id_load(p->ri->prepare.state_dir, &id, ret_error);
        if (r < 0)
                return r;
        ProbeReport *rep = NULL;
        if ((r = remote_probe(p->st.session[INSTALL_ROLE_INSTALLER], false, p->st.name, &rep, ret_error)) < 0)
                return r;
        const ProbeDisk *d = NULL;
        if ((r = remote_disk_find(rep, &id, &d, ret_error)) < 0) {
                probe_report_free(rep);
                return r;
        }
        if (d->mounts[0] || d->swaps[0] || d->holders[0]) {
                r = error_set(ret_error, -EBUSY, "In the installer, %s (%s) is in use (%s): nothing runs from "
                              "the disk there, so something is wrong. See %s", d->name, id.id,
                              d->mounts[0] ? d->mounts[0] : d->swaps[0] ? d->swaps[0] : d->holders[0], p->log);
                probe_report_free(rep);
                return r;
        }
        snprintf(dev, size, "/dev/%s", d->name);
        log_file_printf(p->log, "the disk %s is %s in the installer\n", *id.id ? id.id : id.serial, dev);
        if (ret_report)
                *ret_report = rep;
        else
                probe_report_free(rep);
        return 0;
}

static InstallSeq seq_of(Phase *p, const char *host, const char *generation, const char *device, char *keys,
                         size_t keys_size, char *pcrs, size_t pcrs_size) {
        const ImageSpec *spec = p->ri->prepare.spec;
        _cleanup_free_ char *m = tpm2_pcr_mask_to_string(image_spec_tpm_pcrs(spec));
        snprintf(pcrs, pcrs_size, "%s", m ? m : "1+7");
        return (InstallSeq) { .target = &p->st.target, .host = host, .generation = generation, .device = device,
                              .keys_dir = sp(p->ri, "keys", keys, keys_size), .pool = spec->pool ? spec->pool : "rpool",
                              .pcrs = pcrs, .tpm_disabled = spec->tpm_disabled, .no_pcr15 = spec->tpm_no_pcr15 };
}

static int read_secret(RemoteInstall *ri, char **ret, char **ret_error) {
        char path[PATH_MAX + 32];
        size_t size = 0;
        int r = secret_read_file(sp(ri, "credstore.secret", path, sizeof path), ret, &size);
        if (r < 0)
                return error_set(ret_error, r, "Cannot read the install secret %s: %s. It is made by the disk "
                                 "phase; run it again with --fresh (the disk is erased anew)", path, strerror(-r));
        (*ret)[strcspn(*ret, "\n")] = 0;
        if (!install_seq_is_secret(*ret)) {
                erase_and_free_strp(ret);
                return error_set(ret_error, -EBADMSG, "%s is not an install secret (64 hex digits)", path);
        }
        return 0;
}

/* ---- disk ---- */

int remote_phase_disk(RemoteInstall *ri, char **ret_error) {
        Phase p;
        phase_init(&p, ri, INSTALL_PHASE_DISK);
        char dev[64], host[PATH_MAX], local[PATH_MAX + 32], keys[PATH_MAX + 32], pcrs[32];
        _cleanup_erase_str_ char *secret = NULL;
        int r = connect_installer(&p, ret_error);
        if (r < 0)
                goto done;
        say(&p, "the installer answers (its pinned host key)");
        if ((r = upload_tree(&p, sp(ri, "media/host", local, sizeof local), MEDIA "/host", ret_error)) < 0 ||
            (r = find_device(&p, dev, sizeof dev, NULL, ret_error)) < 0)
                goto done;
        snprintf(host, sizeof host, MEDIA "/host/%s", p.host_base);
        say(&p, "the host file uploaded; the disk is %s in the installer", dev);
        InstallSeq seq = seq_of(&p, host, NULL, dev, keys, sizeof keys, pcrs, sizeof pcrs);
        if ((r = install_seq_disk(&seq, &secret, ret_error)) < 0)
                goto done;
        if ((r = secret_file_replace(sp(ri, "credstore.secret", local, sizeof local), secret)) < 0) {
                r = error_set(ret_error, r, "Cannot write %s: %s", local, strerror(-r));
                goto done;
        }
        say(&p, "keystone disk apply %s; the install secret is in %s (0600) until enroll", dev, local);
done:
        phase_done(&p);
        return r;
}

/* ---- install ---- */

/* The files (not directories) below DIR, as "/REL" paths, appended to *argv. */
static int list_files(const char *dir, const char *rel, char ***argv, size_t *n, char **ret_error) {
        char path[PATH_MAX];
        PATHF(path, "%s%s", dir, rel);
        _cleanup_(closedirp) DIR *d = opendir(path);
        if (!d)
                return error_set(ret_error, -errno, "Cannot read %s: %s", path, strerror(errno));
        for (struct dirent *e; (e = readdir_no_dot(d));) {
                char sub[PATH_MAX], full[PATH_MAX];
                PATHF(sub, "%s/%s", rel, e->d_name);
                PATHF(full, "%s%s", dir, sub);
                struct stat st;
                if (lstat(full, &st) < 0)
                        return error_set(ret_error, -errno, "Cannot stat %s: %s", full, strerror(errno));
                int r = 0;
                if (S_ISDIR(st.st_mode))
                        r = list_files(dir, sub, argv, n, ret_error);
                else {
                        char **grown = realloc(*argv, (*n + 2) * sizeof(char *));
                        if (!grown)
                                return -ENOMEM;
                        *argv = grown;
                        if (!((*argv)[(*n)++] = strdup(sub)))
                                return -ENOMEM;
                        (*argv)[*n] = NULL;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --chown USER:GROUP: every file of the tree (not its directories: /etc
 * stays root's), the names resolved by the installed system's own chown */
static int chown_extra_files(Phase *p, char **ret_error) {
        char **files = NULL;
        size_t n = 0;
        int r = list_files(p->ri->extra_files, "", &files, &n, ret_error);
        if (r >= 0 && n > 0) {
                const char **argv = calloc(n + 8, sizeof(char *));
                if (!argv)
                        r = -ENOMEM;
                else {
                        size_t k = 0;
                        argv[k++] = "chroot";
                        argv[k++] = TARGET_ROOT;
                        argv[k++] = "chown";
                        argv[k++] = "-h";
                        argv[k++] = p->ri->chown;
                        argv[k++] = "--";
                        for (size_t i = 0; i < n; i++)
                                argv[k++] = files[i];
                        argv[k] = NULL;
                        _cleanup_free_ char *err = NULL;
                        r = ssh_client_run(p->st.session[INSTALL_ROLE_INSTALLER], argv,
                                           &(SshRunOptions) { .log_output = true, .timeout_ms = 5 * MIN_MS }, NULL,
                                           &err);
                        if (r < 0)
                                r = error_set(ret_error, r, "--chown %s in the installed system failed: %s. See %s",
                                              p->ri->chown, err ? err : strerror(-r), p->log);
                        free(argv);
                }
        }
        for (size_t i = 0; i < n; i++)
                free(files[i]);
        free(files);
        return r;
}

/* --extra-files: DIR's tree over the installed generation's root, owners
 * and modes kept (numeric: the names of this machine mean nothing there),
 * or --chown's owner given to each of them inside the installed system;
 * directories that exist keep their own owner and mode. */
static int place_extra_files(Phase *p, const char *host, const char *dev, char **ret_error) {
        RemoteInstall *ri = p->ri;
        char cmdline_path[PATH_MAX + 64];
        _cleanup_free_ char *cmdline = NULL;
        size_t n = 0;
        unsigned gen = 0;
        int r = read_file_text(sp(ri, "media/generation/cmdline", cmdline_path, sizeof cmdline_path), 65536,
                               &cmdline, &n);
        if (r < 0 || generation_number_from_cmdline(cmdline, &gen) < 0)
                return error_set(ret_error, r < 0 ? r : -EBADMSG, "%s: no keystone.generation=N in it", cmdline_path);
        char gen_s[16];
        snprintf(gen_s, sizeof gen_s, "%u", gen);
        const char *mount[] = { "keystone", "disk", "mount", host, "--device", dev, "--root", TARGET_ROOT,
                                "--credstore-key-file", INSTALL_SEQ_SECRET, "--generation", gen_s, "--no-tpm", NULL };
        if ((r = phase_run(p, INSTALL_ROLE_INSTALLER, mount, NULL, 0, 10 * MIN_MS, NULL, ret_error)) < 0)
                return r;
        const char *tar_c[] = { "tar", "-C", ri->extra_files, "--numeric-owner", "-cf", "-", ".", NULL };
        RunResult tr = {};
        r = run(tar_c, &(RunOptions) { .ignore_dry_run = true }, &tr);
        if (r < 0)
                r = error_set(ret_error, r, "tar of --extra-files %s failed: %s", ri->extra_files,
                              r == -EPROTO ? run_result_describe(&tr) : strerror(-r));
        else {
                const char *tar_x[] = { "tar", "-x", "-C", TARGET_ROOT, "--numeric-owner", "--no-overwrite-dir",
                                        "-p", "-f", "-", NULL };
                r = phase_run(p, INSTALL_ROLE_INSTALLER, tar_x, tr.out, tr.out_size, 10 * MIN_MS, NULL, ret_error);
        }
        run_result_done(&tr);
        if (r >= 0 && ri->chown)
                r = chown_extra_files(p, ret_error);
        const char *umount[] = { "keystone", "disk", "unmount", host, "--root", TARGET_ROOT, NULL };
        _cleanup_free_ char *uerr = NULL;
        int u = phase_run(p, INSTALL_ROLE_INSTALLER, umount, NULL, 0, 10 * MIN_MS, NULL, &uerr);
        if (r >= 0 && u < 0) {
                if (ret_error) {
                        free(*ret_error);
                        *ret_error = TAKE_PTR(uerr);
                }
                r = u;
        }
        return r;
}

int remote_phase_install(RemoteInstall *ri, char **ret_error) {
        Phase p;
        phase_init(&p, ri, INSTALL_PHASE_INSTALL);
        char dev[64], host[PATH_MAX], local[PATH_MAX + 32], keys[PATH_MAX + 32], pcrs[32];
        _cleanup_erase_str_ char *secret = NULL;
        ProbeReport *rep = NULL;
        int r = connect_installer(&p, ret_error);
        if (r < 0 || (r = read_secret(ri, &secret, ret_error)) < 0)
                goto done;
        /* the installer's copy again: a run that was cut may have lost it with the session's work */
        const char *put[] = { "sh", "-c", "umask 077 && cat > \"$1\"", "sh", INSTALL_SEQ_SECRET, NULL };
        if ((r = phase_run(&p, INSTALL_ROLE_INSTALLER, put, secret, strlen(secret), MIN_MS, NULL, ret_error)) < 0 ||
            (r = upload_tree(&p, sp(ri, "media/host", local, sizeof local), MEDIA "/host", ret_error)) < 0 ||
            (r = upload_tree(&p, sp(ri, "media/generation", local, sizeof local), MEDIA "/generation", ret_error)) < 0)
                goto done;
        say(&p, "the build uploaded, each file verified");
        /* a run that was cut leaves its command running in the installer
         * (sshd passes no signal to a root login's commands): wait for it */
        const char *idle[] = { "sh", "-c",
                               "n=0; while :; do busy=; for f in /proc/[0-9]*/comm; do "
                               "read -r c < \"$f\" 2>/dev/null || continue; [ \"$c\" = keystone ] && busy=1; done; "
                               "[ -z \"$busy\" ] && exit 0; n=$((n+1)); if [ $n -ge 1800 ]; then echo \"a keystone command of an "
                               "earlier run still runs here after 30 min: reboot the installer (kexec again: --fresh)\" >&2; "
                               "exit 1; fi; sleep 1; done",
                               NULL };
        if ((r = phase_run(&p, INSTALL_ROLE_INSTALLER, idle, NULL, 0, 31 * MIN_MS, NULL, ret_error)) < 0)
                goto done;
        if ((r = find_device(&p, dev, sizeof dev, &rep, ret_error)) < 0)
                goto done;
        snprintf(host, sizeof host, MEDIA "/host/%s", p.host_base);
        InstallSeq seq = seq_of(&p, host, MEDIA "/generation", dev, keys, sizeof keys, pcrs, sizeof pcrs);
        seq.replace = true;
        if ((r = install_seq_generation(&seq, ret_error)) < 0)
                goto done;
        say(&p, "keystone disk install onto %s", dev);
        if (ri->extra_files) {
                if ((r = place_extra_files(&p, host, dev, ret_error)) < 0)
                        goto done;
                say(&p, "the extra files of %s placed", ri->extra_files);
        }
        if (rep->setup_mode == 1 && !ri->secure_boot_later) {
                if ((r = install_seq_secure_boot(&seq, ret_error)) < 0)
                        goto done;
                say(&p, "the owner's Secure Boot keys enrolled (user mode)");
        } else {
                const char *rm[] = { "rm", "-f", INSTALL_SEQ_SECRET, NULL };
                if ((r = phase_run(&p, INSTALL_ROLE_INSTALLER, rm, NULL, 0, MIN_MS, NULL, ret_error)) < 0)
                        goto done;
                say(&p, "Secure Boot keys not enrolled (%s)",
                    ri->secure_boot_later ? "--secure-boot=later" : "the firmware is not in setup mode");
        }
        /* the pool must be exported, or the first boot's import refuses it
         * as another system's */
        const char *pool = seq.pool;
        const char *check[] = { "sh", "-c", "if zpool list -H -o name \"$1\" >/dev/null 2>&1; then zpool export \"$1\"; "
                                "fi; ! zpool list -H -o name \"$1\" >/dev/null 2>&1", "sh", pool, NULL };
        if ((r = phase_run(&p, INSTALL_ROLE_INSTALLER, check, NULL, 0, 5 * MIN_MS, NULL, ret_error)) < 0)
                goto done;
        say(&p, "%s exported", pool);
done:
        probe_report_free(rep);
        phase_done(&p);
        return r;
}

/* ---- reboot ---- */

static int read_boot_id(Phase *p, InstallRole role, char id[40], char **ret_error) {
        const char *argv[] = { "cat", "/proc/sys/kernel/random/boot_id", NULL };
        _cleanup_free_ char *out = NULL;
        int r = phase_run(p, role, argv, NULL, 0, MIN_MS, &out, ret_error);
        if (r < 0)
                return r;
        snprintf(id, 40, "%.36s", out);
        return 0;
}

/* The installed system, as the host's sudo user (the host's own key). */
static int connect_machine(Phase *p, const char *not_boot_id, char **ret_error) {
        int r = wait_for(p, p->user, HOST_KEY ".pub", "The installed system", not_boot_id,
                         &p->st.session[INSTALL_ROLE_MACHINE], ret_error);
        p->st.sudo[INSTALL_ROLE_MACHINE] = !streq(p->user, "root");
        return r;
}

static int boot_log(Phase *p, char **ret, char **ret_error) {
        const char *argv[] = { "cat", "/run/keystone-boot.log", NULL };
        return phase_run(p, INSTALL_ROLE_MACHINE, argv, NULL, 0, MIN_MS, ret, ret_error);
}

int remote_phase_reboot(RemoteInstall *ri, char **ret_error) {
        Phase p;
        phase_init(&p, ri, INSTALL_PHASE_REBOOT);
        _cleanup_erase_str_ char *secret = NULL;
        _cleanup_free_ char *log = NULL, *cerr = NULL, *uerr = NULL;
        int r = read_secret(ri, &secret, ret_error);
        if (r < 0)
                goto done;
        /* the installer, if it still runs (a run cut after this step finds the initrd or the system) */
        SshClient *inst = NULL;
        if (connect_once(&p, "root", INSTALLER_KEY, &inst, &cerr) >= 0) {
                /* keystone-init syncs and reboots on SIGTERM; the session ends with it */
                const char *argv[] = { "sh", "-c", "sync && kill -TERM 1", NULL };
                (void) ssh_client_run(inst, argv, &(SshRunOptions) { .log_output = true, .timeout_ms = 30000 },
                                      NULL, NULL);
                ssh_client_free(inst);
                say(&p, "the installer reboots");
        } else
                log_file_printf(p.log, "the installer does not answer (%s): it has rebooted already\n",
                                cerr ? cerr : "?");
        /* the initrd (keystone-init's sshd, root only) or, after a run cut
         * here, the installed system already */
        SshClient *initrd = NULL;
        r = wait_for(&p, "root", HOST_KEY ".pub", "The installed system's initrd (keystone.initrd-ssh)", NULL,
                     &initrd, ret_error);
        if (r < 0)
                goto done;
        say(&p, "the initrd answers (the host's own key)");
        const char *unlock[] = { KEYSTONE_INIT, "--unlock", NULL };
        RunResult rr = {};
        /* no timeout: timeout(1) need not be in the initrd; --unlock ends when PID 1 says */
        r = ssh_client_run(initrd, unlock, &(SshRunOptions) { .input = secret, .input_size = strlen(secret),
                                                              .log_output = true },
                           &rr, &uerr);
        ssh_client_free(initrd);
        if (r < 0) {
                r = error_set(ret_error, r, "The initrd at %s did not take the install secret: %s. See %s",
                              p.st.name, rr.err && *rr.err ? rr.err : uerr ? uerr : strerror(-r), p.log);
                run_result_done(&rr);
                goto done;
        }
        run_result_done(&rr);
        say(&p, "the install secret went to keystone-init --unlock over SSH");
        if ((r = connect_machine(&p, NULL, ret_error)) < 0 || (r = boot_log(&p, &log, ret_error)) < 0)
                goto done;
        if (!strstr(log, "over SSH")) {
                r = error_set(ret_error, -EIO, "The installed system's /run/keystone-boot.log does not say the "
                              "credstore was opened over SSH:\n%s", log);
                goto done;
        }
        say(&p, "the installed system answers to %s; the credstore was opened over SSH", p.user);
done:
        phase_done(&p);
        return r;
}

/* ---- enroll ---- */

int remote_phase_enroll(RemoteInstall *ri, char **ret_error) {
        Phase p;
        phase_init(&p, ri, INSTALL_PHASE_ENROLL);
        char keys[PATH_MAX + 32], pcrs[32], path[PATH_MAX + 32], boot_id[40] = "";
        _cleanup_erase_str_ char *secret = NULL;
        _cleanup_free_ char *log = NULL, *sb = NULL;
        InstallEnrolled en = {};
        int r = read_secret(ri, &secret, ret_error);
        if (r < 0 || (r = connect_machine(&p, NULL, ret_error)) < 0)
                goto done;
        InstallSeq seq = seq_of(&p, NULL, NULL, NULL, keys, sizeof keys, pcrs, sizeof pcrs);
        r = install_seq_enroll(&seq, secret, &en, ret_error);
        if (en.recovery_key) {
                char withnl[256];
                snprintf(withnl, sizeof withnl, "%s\n", en.recovery_key);
                int w = secret_file_replace(sp(ri, "recovery-key", path, sizeof path), withnl);
                explicit_bzero(withnl, sizeof withnl);
                ri->recovery_key = TAKE_PTR(en.recovery_key);
                if (w < 0 && r >= 0)
                        r = error_set(ret_error, w, "Cannot write %s: %s", path, strerror(-w));
        }
        if (r < 0)
                goto done;
        say(&p, "TPM (PCRs %s) and recovery key enrolled, the install secret's keyslot removed",
            ri->prepare.spec->tpm_disabled ? "none" : pcrs);
        if (!ri->prepare.spec->tpm_disabled) {
                r = secret_file_erase(sp(ri, "credstore.secret", path, sizeof path));
                if (r < 0 && r != -ENOENT) {
                        r = error_set(ret_error, r, "Cannot erase the install secret %s: %s", path, strerror(-r));
                        goto done;
                }
        }
        /* the proof: a reboot that nothing is typed or sent to */
        if ((r = read_boot_id(&p, INSTALL_ROLE_MACHINE, boot_id, ret_error)) < 0)
                goto done;
        const char *reboot[] = { "systemctl", "reboot", NULL };
        (void) phase_run(&p, INSTALL_ROLE_MACHINE, reboot, NULL, 0, MIN_MS, NULL, NULL);
        ssh_client_free(p.st.session[INSTALL_ROLE_MACHINE]);
        p.st.session[INSTALL_ROLE_MACHINE] = NULL;
        say(&p, "rebooting; the TPM alone must open the credstore");
        if ((r = connect_machine(&p, boot_id, ret_error)) < 0) {
                if (ret_error && *ret_error) {
                        _cleanup_free_ char *m = TAKE_PTR(*ret_error);
                        r = error_set(ret_error, r, "%s. If the TPM did not unlock, the initrd waits for a secret: "
                                      "keystone unlock root@%s with the recovery key in %s/recovery-key", m,
                                      ri->target->host, ri->prepare.state_dir);
                }
                goto done;
        }
        if ((r = boot_log(&p, &log, ret_error)) < 0)
                goto done;
        text_line_containing(log, ri->prepare.spec->tpm_disabled ? "opened with password" : "opened with TPM2 token",
                             ri->tpm_line, sizeof ri->tpm_line);
        text_line_containing(log, "all with encryptionroot", ri->encroot_line, sizeof ri->encroot_line);
        if (!ri->prepare.spec->tpm_disabled && !*ri->tpm_line) {
                r = error_set(ret_error, -EIO, "After the reboot the credstore was not opened by the TPM; "
                              "/run/keystone-boot.log says:\n%s", log);
                goto done;
        }
        const char *status[] = { "keystone", "secureboot", "status", NULL };
        if ((r = phase_run(&p, INSTALL_ROLE_MACHINE, status, NULL, 0, MIN_MS, &sb, ret_error)) < 0)
                goto done;
        bool on = strstr(sb, "SecureBoot: enabled") != NULL, user = strstr(sb, "SetupMode: 0") != NULL;
        snprintf(ri->sb_line, sizeof ri->sb_line, "Secure Boot %s, %s", on ? "enabled" : "not enabled",
                 user ? "user mode" : "setup mode");
        if (!ri->secure_boot_later && (!on || !user)) {
                r = error_set(ret_error, -EIO, "Secure Boot is not enabled in user mode on %s:\n%s", p.st.name, sb);
                goto done;
        }
        snprintf(ri->ssh_line, sizeof ri->ssh_line, "ssh %s@%s -p %u: logged in (host key %s)", p.user,
                 ri->target->host, ri->target->port,
                 ssh_client_host_key_fingerprint(p.st.session[INSTALL_ROLE_MACHINE]));
        say(&p, "the TPM opened the credstore with nothing typed");
done:
        if (en.recovery_key)
                erase_and_free_strp(&en.recovery_key);
        phase_done(&p);
        return r;
}

void remote_install_done(RemoteInstall *ri) {
        if (ri && ri->recovery_key)
                erase_and_free_strp(&ri->recovery_key);
}
