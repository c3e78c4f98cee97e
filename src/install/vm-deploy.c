/* SPDX-License-Identifier: MIT */
/* keystone vm: see vm-deploy.h for the stages and the state directory. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/cache.h"
#include "image/image.h"
#include "install/installer.h"
#include "install/prepare.h"
#include "install/sequence.h"
#include "install/target.h"
#include "image/lock.h"
#include "image/manifest.h"
#include "install/guest-ssh.h"
#include "install/vm-deploy.h"
#include "tpm/tpm2-pcr.h"
#include "util/clock.h"
#include "util/error-message.h"
#include "util/file-bytes.h"
#include "util/fs.h"
#include "util/log-file.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/run.h"
#include "util/secret-erase.h"
#include "util/strv.h"
#include "util/shell-quote.h"
#include "vm/esp.h"

#define MIN_MS (60 * 1000)
/* the installer: root by the state's key, QEMU's user network */
#define INSTALLER_USER "root"
#define INSTALLER_ADDRESS "10.0.2.15/24"
#define INSTALLER_BOOT "installer-uki"

static const char *const stage_names[_VM_STAGE_MAX] = {
        [VM_STAGE_KEYS] = "keys",
        [VM_STAGE_BUILD] = "build",
        [VM_STAGE_INSTALLER] = "installer",
        [VM_STAGE_INSTALL] = "install",
        [VM_STAGE_FIRST_BOOT] = "first-boot",
        [VM_STAGE_VERIFY] = "verify",
};

const char *vm_deploy_stage_name(VmDeployStage s) {
        return s >= 0 && s < _VM_STAGE_MAX ? stage_names[s] : "?";
}

void vm_deploy_result_done(VmDeployResult *r) {
        if (!r)
                return;
        if (r->recovery_key)
                erase_and_free(r->recovery_key, strlen(r->recovery_key));
        r->recovery_key = NULL;
}

typedef struct Deploy {
        const VmDeployOptions *o;
        VmDeployResult *res;
        const ImageSpec *spec;       /* o->spec, or own_spec */
        ImageSpec own_spec;          /* loaded here when o->spec is NULL */
        ImageLock lock;
        bool locked;                 /* the host file has a keystone.lock (in lock) */
        char host_abs[PATH_MAX];
        char host_base[256];
        char pub[1024];              /* the state's public key line */
        char *secret;                /* the credstore secret (64 hex), erase_and_free */
        Installer inst;              /* the installer's cache entry */
        Vm *installer, *machine;
        InstallTarget target;        /* the VMs, for install/sequence.h */
        char keys_dir[PATH_MAX + 256], pcrs[32], target_log[PATH_MAX + 256];
        VmDeployStage stage;
        char *error;                 /* what failed, where the log is, what to do (malloc'd) */
} Deploy;

static int fail(Deploy *d, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(Deploy *d, int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        free(d->error);
        if (vasprintf(&d->error, fmt, ap) < 0)
                d->error = NULL;
        va_end(ap);
        return r < 0 ? r : -EIO;
}

/* STATE/rel (static ring of buffers: short-lived uses only) */
static const char *sp(Deploy *d, const char *rel) {
        static char bufs[8][PATH_MAX + 256];
        static unsigned k;
        char *b = bufs[k++ % ELEMENTSOF(bufs)];
        snprintf(b, sizeof bufs[0], "%s/%s", d->res->state_dir, rel);
        return b;
}

/* STATE/logs/N-STAGE.log (N from 1, in the order of the stages; sp()'s ring) */
static const char *stage_log(Deploy *d, VmDeployStage s) {
        char rel[64];
        snprintf(rel, sizeof rel, "logs/%d-%s.log", (int) s + 1, vm_deploy_stage_name(s));
        return sp(d, rel);
}

static int read_small(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return 0;
}

#define log_line(d, fmt, ...) log_file_printf(stage_log(d, (d)->stage), fmt "\n", ##__VA_ARGS__)

/* ---- the host file ---- */

static int load_host(Deploy *d) {
        const VmDeployOptions *o = d->o;
        if (!realpath(o->host_path, d->host_abs))
                return fail(d, -errno, "Cannot read host file %s: %s", o->host_path, strerror(errno));
        const char *b = strrchr(d->host_abs, '/');
        snprintf(d->host_base, sizeof d->host_base, "%s", b ? b + 1 : d->host_abs);
        int r;
        if (o->spec)
                d->spec = o->spec;
        else {
                _cleanup_free_ char *err = NULL;
                r = image_spec_load(d->host_abs, &d->own_spec, &err);
                if (r < 0)
                        return fail(d, r, "Cannot use host file %s: %s", o->host_path, err ? err : strerror(-r));
                d->spec = &d->own_spec;
        }
        if (d->spec->n_datasets == 0 || !d->spec->zfs)
                return fail(d, -EINVAL, "%s has no disk layout (disk.datasets): keystone vm installs a generation on "
                                        "an encrypted ZFS disk. Import \"disk-single-root\" in the host file.",
                            o->host_path);
        /* the installer shares the build's rootfs: the same lock */
        char lock_path[PATH_MAX];
        if ((r = image_lock_path(d->host_abs, lock_path, sizeof lock_path)) < 0)
                return fail(d, r, "%s: %s", o->host_path, strerror(-r));
        _cleanup_free_ char *lerr = NULL;
        r = image_lock_load(lock_path, &d->lock, &lerr);
        if (r >= 0)
                d->locked = true;
        else if (r != -ENOENT)
                return fail(d, r, "Cannot use %s: %s. Run `keystone lock %s` to write it again.", lock_path,
                            lerr ? lerr : strerror(-r), o->host_path);
        snprintf(d->res->hostname, sizeof d->res->hostname, "%s", d->spec->hostname);
        snprintf(d->res->pool, sizeof d->res->pool, "%s", d->spec->pool ? d->spec->pool : "rpool");
        for (size_t i = 0; i < d->spec->n_users && !d->res->user[0]; i++)
                for (size_t j = 0; j < d->spec->users[i].n_groups; j++)
                        if (streq(d->spec->users[i].groups[j], "sudo")) {
                                snprintf(d->res->user, sizeof d->res->user, "%s", d->spec->users[i].name);
                                break;
                        }
        if (!d->res->user[0])
                return fail(d, -EINVAL, "%s has no user in group sudo: keystone vm logs in as one (with the state's "
                                        "SSH key) to run `keystone tpm enroll` in the installed machine. Add "
                                        "groups = [\"sudo\"] to a user.", o->host_path);
        return 0;
}

/* ---- stages 1 and 2: keys, build (install/prepare.h) ---- */

static void build_detail(void *userdata, const char *line) {
        Deploy *d = userdata;
        if (d->o->detail)
                d->o->detail(d->o->userdata, VM_STAGE_BUILD, line);
}

static InstallPrepare prepare(Deploy *d) {
        return (InstallPrepare) { .host_abs = d->host_abs, .spec = d->spec, .locked = d->locked,
                                  .state_dir = d->res->state_dir, .keystone = d->o->keystone,
                                  .cache_dir = d->o->cache_dir, .who = "keystone vm",
                                  .log_path = stage_log(d, d->stage), .detail = build_detail, .userdata = d };
}

/* fail() of a message the step made */
static int fail_with(Deploy *d, int r, char *msg) {
        if (!msg)
                return fail(d, r, "%s", strerror(-r));
        free(d->error);
        d->error = msg;
        return r;
}

static int stage_keys(Deploy *d) {
        InstallPrepare p = prepare(d);
        InstallKeys k;
        char *err = NULL;
        int r = install_prepare_keys(&p, &k, &err);
        if (r < 0)
                return fail_with(d, r, err);
        snprintf(d->res->ssh_key, sizeof d->res->ssh_key, "%s", k.ssh_key);
        snprintf(d->pub, sizeof d->pub, "%s", k.pub);
        d->res->keys_imported = k.imported;
        d->res->keys_generated = k.generated;
        return 0;
}

static int stage_build(Deploy *d) {
        InstallPrepare p = prepare(d);
        char *err = NULL;
        /* boot.initrd-ssh: the initrd answers with the host's own key, made
         * here once (as keystone install makes it) */
        char host_keys[PATH_MAX + 256];
        snprintf(host_keys, sizeof host_keys, "%s", sp(d, "ssh/host"));
        const char *args[] = { "--host-keys", host_keys, NULL };
        if (d->spec->initrd_ssh != IMAGE_INITRD_SSH_OFF) {
                int k = install_prepare_host_keys(d->res->state_dir, &err);
                if (k < 0)
                        return fail_with(d, k, err);
                p.build_args = args;
        }
        int r = install_prepare_build(&p, d->pub, &err);
        return r < 0 ? fail_with(d, r, err) : 0;
}

/* ---- stage 3: the installer image, the media image, the blank disk ---- */

/* The installer boots by itself from a small ESP (the firmware's removable
 * media path, as a USB stick would): its UKI holds the generation's kernel,
 * an initrd with keystone, ZFS and sshd (src/install/installer.h), the
 * state's public SSH key, and QEMU's user network address. */
static int stage_installer(Deploy *d) {
        _cleanup_free_ char *error = NULL;
        InstallPrepare p = prepare(d);
        char *perr = NULL;
        int r = install_prepare_installer(&p, &d->inst, &perr);
        if (r < 0)
                return fail_with(d, r, perr);
        const char *dir = sp(d, INSTALLER_BOOT);
        (void) cache_rm_rf(dir);
        if (mkdir(dir, 0700) < 0)
                return fail(d, -errno, "Cannot create %s: %s", dir, strerror(errno));
        char uki[PATH_MAX + 32], esp[PATH_MAX + 32];
        snprintf(uki, sizeof uki, "%s/keystone-installer.efi", dir);
        snprintf(esp, sizeof esp, "%s/esp.img", dir);
        if ((r = installer_uki(&d->inst, d->pub, INSTALLER_ADDRESS, "console=ttyS0,115200", dir, uki, &error)) < 0)
                return fail(d, r, "Making the installer UKI failed: %s", error ? error : strerror(-r));
        struct stat st;
        if (stat(uki, &st) < 0)
                return fail(d, -errno, "%s: %s", uki, strerror(errno));
        unsigned esp_mib = (unsigned) (st.st_size >> 20) + 16;
        if ((r = vm_esp_create_r(esp, esp_mib < 64 ? 64 : esp_mib)) < 0 ||
            (r = vm_esp_put_r(esp, uki, "::/EFI/BOOT/BOOTX64.EFI")) < 0)
                return fail(d, r, "Cannot make the installer's ESP %s: %s (see %s)", esp, strerror(-r),
                            sp(d, "logs/keystone.log"));
        log_line(d, "installer UKI: %s (%.1f MiB, unsigned: the firmware is in setup mode), on the ESP %s as "
                 "EFI/BOOT/BOOTX64.EFI", uki, st.st_size / 1048576.0, esp);

        uint64_t bytes = 0;
        if ((r = dir_allocated_bytes(sp(d, "media"), &bytes)) < 0)
                return fail(d, r, "Cannot measure %s: %s", sp(d, "media"), strerror(-r));
        char size[32];
        snprintf(size, sizeof size, "%lluk", (unsigned long long) (bytes + bytes / 5 + (64ULL << 20)) / 1024);
        const char *img = sp(d, "media.img");
        (void) unlink(img);
        const char *mkfs[] = { "mkfs.ext4", "-q", "-F", "-L", "keystone-media", "-d", sp(d, "media"), img, size,
                               NULL };
        RunResult rr = {};
        r = run(mkfs, NULL, &rr);
        if (r < 0) {
                r = fail(d, r, "mkfs.ext4 -d %s failed: %s", sp(d, "media"),
                         r == -EPROTO ? run_result_describe(&rr) : strerror(-r));
                run_result_done(&rr);
                return r;
        }
        run_result_done(&rr);
        if (chmod(img, 0600) < 0)
                return fail(d, -errno, "chmod %s: %s", img, strerror(errno));
        log_line(d, "media image: %s (%s): the build and the host file", img, size);

        const char *disk = sp(d, "disk.img");
        (void) unlink(disk);
        _cleanup_close_ int fd = open(disk, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return fail(d, -errno, "Cannot create %s: %s", disk, strerror(errno));
        unsigned long long disk_bytes = d->o->disk_bytes ? d->o->disk_bytes : 20ULL << 30;
        if (ftruncate(fd, (off_t) disk_bytes) < 0)
                return fail(d, -errno, "Cannot size %s: %s", disk, strerror(errno));
        log_line(d, "blank disk: %s (%llu GiB, sparse)", disk, disk_bytes >> 30);
        return 0;
}

/* Under TCG each virtual CPU is a host thread: a second one lets the
 * guest's systemd start units side by side (verify: 110 s → 74 s).  The
 * CPU model stays QEMU's default: with -cpu max and two CPUs a guest
 * kernel died once at an int3 left by live code patching (Oops: int3 in
 * kmem_cache_free), which qemu64 never showed. */
static unsigned vm_cpus(const Deploy *d) {
        if (d->o->cpus)
                return d->o->cpus;
        return sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 2 : 1;
}

/* ---- talking to the guests ---- */

static int vm_alive(void *userdata, int ms) {
        Vm *vm = userdata;
        for (int left = ms; left > 0; left -= 200) {
                int r = vm_pump(left > 200 ? 200 : left);
                if (r < 0)
                        return r;
        }
        return vm_running(vm) ? 0 : -ESHUTDOWN;
}

static GuestSsh guest(Deploy *d, Vm *vm, const char *user) {
        return (GuestSsh) { .host = "127.0.0.1", .port = vm_ssh_port(vm), .user = user, .key = d->res->ssh_key,
                            .log_path = stage_log(d, d->stage) };
}

static int ssh_wait(Deploy *d, Vm *vm, const char *user, int timeout_ms) {
        GuestSsh g = guest(d, vm, user);
        double t0 = monotonic_seconds();
        int r = guest_ssh_wait(&g, timeout_ms, vm_alive, vm);
        if (r < 0)
                return fail(d, r, "%s@%s (port %d) never answered over SSH: %s. See %s/console.log", user, vm_name(vm),
                            vm_ssh_port(vm), r == -ESHUTDOWN ? "the VM stopped" : strerror(-r), vm_dir(vm));
        log_line(d, "ssh %s@127.0.0.1 -p %d answered after %.1f s", user, vm_ssh_port(vm), monotonic_seconds() - t0);
        return 0;
}

/* A command over SSH; on failure the error names it and the log. */
static int gsh(Deploy *d, Vm *vm, const char *user, const char *cmd, const char *input, int timeout_ms, bool log_out,
               char **ret_out) {
        GuestSsh g = guest(d, vm, user);
        RunResult rr = {};
        int r = guest_ssh_run(&g, cmd, input, input ? strlen(input) : 0, timeout_ms, log_out, &rr);
        if (r < 0) {
                const char *why = r == -EPROTO ? run_result_describe(&rr) : strerror(-r);
                r = fail(d, r, "On %s, `%s` failed: %s. See %s", vm_name(vm), cmd, why, stage_log(d, d->stage));
                run_result_done(&rr);
                return r;
        }
        if (ret_out) {
                *ret_out = rr.out;
                rr.out = NULL;
        } else if (rr.out)
                explicit_bzero(rr.out, rr.out_size);
        run_result_done(&rr);
        return 0;
}

/* ---- the VM as the install sequence's target (install/target.h) ---- */

static int vm_target_run(InstallTarget *t, InstallRole role, const char *const argv[], const void *input,
                         size_t input_size, int timeout_ms, bool log_output, RunResult *ret, char **ret_error) {
        Deploy *d = t->userdata;
        bool machine = role == INSTALL_ROLE_MACHINE;
        Vm *vm = machine ? d->machine : d->installer;
        if (!vm)
                return error_set(ret_error, -ENODEV, "keystone vm: no %s VM is running", machine ? "machine" : "installer");
        /* the machine's sudo user runs it as root */
        const char *full[32] = { "sudo", "-n" };
        size_t n = machine ? 2 : 0;
        for (size_t i = 0; argv[i]; i++) {
                if (n >= ELEMENTSOF(full) - 1)
                        return -E2BIG;
                full[n++] = argv[i];
        }
        full[n] = NULL;
        snprintf(d->target_log, sizeof d->target_log, "%s", stage_log(d, d->stage));
        GuestSsh g = guest(d, vm, machine ? d->res->user : INSTALLER_USER);
        RunResult rr = {};
        int r = guest_ssh_run_argv(&g, full, input, input_size, timeout_ms, log_output, &rr);
        if (r < 0) {
                _cleanup_free_ char *cmd = shell_join(full);
                error_set(ret_error, r, "On %s, `%s` failed: %s. See %s", vm_name(vm), cmd ? cmd : argv[0],
                          r == -EPROTO ? run_result_describe(&rr) : strerror(-r), t->log_path);
        }
        if (ret)
                *ret = rr;
        else
                run_result_done(&rr);
        return r;
}

static const InstallTargetOps vm_target_ops = { .run = vm_target_run };

static InstallSeq install_seq(Deploy *d, const char *host, const char *generation, const char *device) {
        snprintf(d->target_log, sizeof d->target_log, "%s", stage_log(d, d->stage));
        d->target = (InstallTarget) { .ops = &vm_target_ops, .name = "the VM", .log_path = d->target_log,
                                      .userdata = d };
        _cleanup_free_ char *p = tpm2_pcr_mask_to_string(image_spec_tpm_pcrs(d->spec));
        snprintf(d->pcrs, sizeof d->pcrs, "%s", p ? p : "1+7");
        snprintf(d->keys_dir, sizeof d->keys_dir, "%s", sp(d, "keys"));
        return (InstallSeq) { .target = &d->target, .host = host, .generation = generation, .device = device,
                              .keys_dir = d->keys_dir, .pool = d->res->pool, .pcrs = d->pcrs,
                              .tpm_disabled = d->spec->tpm_disabled, .no_pcr15 = d->spec->tpm_no_pcr15 };
}

static int console_wait(Deploy *d, Vm *vm, const char *regex, int timeout_ms, const char *what) {
        double t0 = monotonic_seconds();
        int r = vm_console_wait_r(vm, regex, timeout_ms);
        if (r < 0)
                return fail(d, r, "%s: the console of %s never showed %s (%s after %.0f s). See %s/console.log", what,
                            vm_name(vm), regex, r == -ESHUTDOWN ? "the VM stopped" : strerror(-r), monotonic_seconds() - t0,
                            vm_dir(vm));
        log_line(d, "console of %s: /%s/ after %.1f s", vm_name(vm), regex, monotonic_seconds() - t0);
        return 0;
}

/* how a guest powers off: the installed system asks systemd; the
 * installer's PID 1 (keystone-init) powers off on SIGUSR2, after sync */
#define POWEROFF_SYSTEMD "sudo systemctl poweroff"
#define POWEROFF_INSTALLER "sync && kill -USR2 1"

static int power_off(Deploy *d, Vm *vm, const char *user, const char *how) {
        GuestSsh g = guest(d, vm, user);
        (void) guest_ssh_run(&g, how, NULL, 0, 60000, true, NULL);
        int r = vm_wait_exit_r(vm, 5 * MIN_MS);
        if (r < 0) {
                log_line(d, "%s did not power off in 5 min after `%s`: stopped", vm_name(vm), how);
                vm_stop(vm);
        }
        return 0;
}

/* ---- stage 4: install ---- */

static int stage_install(Deploy *d) {
        char esp[PATH_MAX];
        snprintf(esp, sizeof esp, "%s/esp.img", sp(d, INSTALLER_BOOT));
        VmConfig c = {
                .name = "installer",
                .secure_boot = true,
                .ssh = true,
                .memory_mb = 1536,
                .cpus = vm_cpus(d),
        };
        c.disks[0] = (VmDisk) { .path = esp, .format = "raw" };
        c.disks[1] = (VmDisk) { .path = sp(d, "disk.img"), .format = "raw" };
        c.disks[2] = (VmDisk) { .path = sp(d, "media.img"), .format = "raw" };
        int r = vm_new_r(&c, &d->installer);
        if (r < 0)
                return fail(d, r, "Cannot set up the installer VM in %s: %s", sp(d, "installer"), strerror(-r));
        Vm *vm = d->installer;
        if ((r = vm_start_r(vm)) < 0)
                return fail(d, r, "Cannot start the installer VM: %s (see %s/qemu.log)", strerror(-r), vm_dir(vm));
        log_line(d, "installer VM started (Secure Boot firmware in setup mode), console: %s/console.log", vm_dir(vm));
        if ((r = ssh_wait(d, vm, INSTALLER_USER, 20 * MIN_MS)) < 0)
                return r;

        _cleanup_free_ char *host = NULL;
        if (asprintf(&host, "/run/media/host/%s", d->host_base) < 0)
                return -ENOMEM;
        if ((r = gsh(d, vm, INSTALLER_USER, "mkdir -p /run/media && mount -o ro /dev/vdc /run/media", NULL, 10 * MIN_MS, true, NULL)) < 0)
                return r;
        InstallSeq seq = install_seq(d, host, "/run/media/generation", "/dev/vdb");
        char *err = NULL;
        if ((r = install_seq_disk(&seq, &d->secret, &err)) < 0)
                return fail_with(d, r, err);
        if ((r = secret_file_replace(sp(d, "credstore.secret"), d->secret)) < 0)
                return fail(d, r, "Cannot write %s: %s", sp(d, "credstore.secret"), strerror(-r));
        log_line(d, "credstore secret: %s (0600)", sp(d, "credstore.secret"));
        if ((r = install_seq_generation(&seq, &err)) < 0 || (r = install_seq_secure_boot(&seq, &err)) < 0)
                return fail_with(d, r, err);
        (void) power_off(d, vm, INSTALLER_USER, POWEROFF_INSTALLER);
        /* the media image is no longer needed (the build stays in media/generation) */
        (void) unlink(sp(d, "media.img"));
        return 0;
}

/* ---- the machine ---- */

static int machine_create(Deploy *d) {
        if (d->machine)
                return 0;
        int r = mkdir_p(sp(d, "machine"), 0700, NULL);
        if (r < 0)
                return fail(d, r, "Cannot create %s: %s", sp(d, "machine"), strerror(-r));
        /* the first time, the variables the installer left (user mode, the
         * owner's keys); from then on the machine's own, in place */
        const char *own = sp(d, "machine/OVMF_VARS.fd");
        const char *vars = access(own, R_OK) == 0 ? own : sp(d, "installer/OVMF_VARS.fd");
        VmConfig c = { .name = "machine", .secure_boot = true, .vars_file = vars, .tpm = true, .ssh = true,
                       .memory_mb = 1536, .cpus = vm_cpus(d) };
        c.disks[0] = (VmDisk) { .path = sp(d, "disk.img"), .format = "raw" };
        r = vm_new_r(&c, &d->machine);
        if (r < 0)
                return fail(d, r, "Cannot set up the machine's VM in %s: %s", sp(d, "machine"), strerror(-r));
        return 0;
}

static int machine_start(Deploy *d) {
        int r = vm_start_r(d->machine);
        if (r < 0)
                return fail(d, r, "Cannot start the machine: %s (see %s/qemu.log and swtpm.log)", strerror(-r),
                            vm_dir(d->machine));
        log_line(d, "machine started (Secure Boot, swtpm), console: %s/console.log", vm_dir(d->machine));
        return 0;
}

/* The text of the console since the last "keystone-init " banner. */
static char *last_boot(Vm *vm) {
        char *c = vm_console_copy(vm);
        if (!c)
                return NULL;
        const char *boot = c;
        for (const char *p; (p = strstr(boot + 1, "keystone-init "));)
                boot = p;
        char *b = strdup(boot);
        free(c);
        return b;
}

/* keystone-init's "[ N/8] STEP ... ok (T s): DETAIL" for the step whose
 * detail contains needle; kernel messages may have split the line, so the
 * result is found by its detail and the step's label is put back. */
static void step_line(const char *boot, const char *step, const char *needle, char *out, size_t size) {
        const char *p = strstr(boot, needle);
        if (!p)
                return;
        const char *ls = p;
        while (ls > boot && ls[-1] != '\n')
                ls--;
        const char *ok = NULL;
        for (const char *q = ls; q < p; q++)
                if (startswith(q, "ok ("))
                        ok = q;
        if (!ok)
                ok = ls;
        const char *label = strstr(boot, step);
        const char *lb = label;
        while (lb && lb > boot && lb[-1] != '\n')
                lb--;
        snprintf(out, size, "%.*s%s ... %.*s", label ? (int) (label - lb) : 0, label ? lb : "", step,
                 (int) strcspn(ok, "\n"), ok);
}

static int stage_first_boot(Deploy *d) {
        int r;
        if ((r = machine_create(d)) < 0 || (r = machine_start(d)) < 0)
                return r;
        Vm *vm = d->machine;
        if ((r = console_wait(d, vm, "Password or recovery key for the credstore:", 20 * MIN_MS,
                              "first boot, before the TPM is enrolled")) < 0)
                return r;
        char line[80];
        snprintf(line, sizeof line, "%s\r", d->secret);
        r = vm_console_type_r(vm, line);
        explicit_bzero(line, sizeof line);
        if (r < 0)
                return fail(d, r, "Typing the credstore secret on the machine's console failed: %s", strerror(-r));
        log_line(d, "typed the install secret at keystone-init's prompt");
        if ((r = console_wait(d, vm, "ok \\([0-9.]+ s\\): opened with", 10 * MIN_MS, "the install secret")) < 0 ||
            (r = console_wait(d, vm, "switch-root", 10 * MIN_MS, "first boot")) < 0 ||
            (r = ssh_wait(d, vm, d->res->user, 20 * MIN_MS)) < 0)
                return r;
        InstallSeq seq = install_seq(d, NULL, NULL, NULL);
        InstallEnrolled en = {};
        char *err = NULL;
        r = install_seq_enroll(&seq, d->secret, &en, &err);
        snprintf(d->res->banner_first_boot, sizeof d->res->banner_first_boot, "%s", en.banner_before);
        if (en.recovery_key) {
                d->res->recovery_key = strdup(en.recovery_key);
                char withnl[256];
                snprintf(withnl, sizeof withnl, "%s\n", en.recovery_key);
                erase_and_free_strp(&en.recovery_key);
                int w = secret_file_replace(sp(d, "recovery-key"), withnl);
                explicit_bzero(withnl, sizeof withnl);
                if (w < 0 && r >= 0)
                        return fail(d, w, "Cannot write %s: %s", sp(d, "recovery-key"), strerror(-w));
                if (w >= 0)
                        log_line(d, "recovery key: %s (0600)", sp(d, "recovery-key"));
        }
        if (r < 0)
                return fail_with(d, r, err);
        if (!d->spec->tpm_disabled) {
                r = secret_file_erase(sp(d, "credstore.secret"));
                if (r < 0 && r != -ENOENT)
                        return fail(d, r, "Cannot erase the install secret %s: %s", sp(d, "credstore.secret"),
                                    strerror(-r));
                log_line(d, "install secret: keyslot removed, %s and the state's copy erased",
                         INSTALL_SEQ_MACHINE_SECRET);
        }
        _cleanup_close_ int fd = open(sp(d, "installed"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0)
                dprintf(fd, "%s installed from %s\n", d->res->hostname, d->host_abs);
        d->res->installed_now = true;
        return 0;
}

/* ---- stage 6: verify ---- */

static int stage_verify(Deploy *d) {
        int r;
        if ((r = machine_create(d)) < 0)
                return r;
        Vm *vm = d->machine;
        const char *U = d->res->user;
        if (vm_running(vm)) {
                vm_console_mark_end(vm);
                GuestSsh g = guest(d, vm, U);
                (void) guest_ssh_run(&g, "sudo systemctl reboot", NULL, 0, 60000, true, NULL);
                log_line(d, "rebooting the machine");
        } else if ((r = machine_start(d)) < 0)
                return r;
        if ((r = console_wait(d, vm, "keystone-init [^ ]+$", 20 * MIN_MS, "boot")) < 0 ||
            (r = console_wait(d, vm, "(opened with TPM2 token|Password or recovery key for the credstore:)",
                              10 * MIN_MS, "the credstore")) < 0)
                return r;
        _cleanup_free_ char *boot = last_boot(vm);
        if (!boot)
                return -ENOMEM;
        if (d->spec->tpm_disabled && strstr(boot, "Password or recovery key")) {
                /* tpm.enable = false: the recovery key opens it, typed */
                char key[256] = "";
                if (read_small(sp(d, "recovery-key"), key, sizeof key) < 0 || !*key)
                        return fail(d, -ENOKEY, "tpm.enable = false: the machine asks for the recovery key, and %s "
                                                "holds none", sp(d, "recovery-key"));
                key[strcspn(key, "\n")] = 0;
                char line[260];
                snprintf(line, sizeof line, "%s\r", key);
                explicit_bzero(key, sizeof key);
                r = vm_console_type_r(vm, line);
                explicit_bzero(line, sizeof line);
                if (r < 0)
                        return fail(d, r, "Typing the recovery key on the machine's console failed: %s", strerror(-r));
                log_line(d, "tpm.enable = false: typed the recovery key at keystone-init's prompt");
                if ((r = console_wait(d, vm, "ok \\([0-9.]+ s\\): opened with password or recovery key", 10 * MIN_MS,
                                      "the recovery key")) < 0)
                        return r;
        } else if (strstr(boot, "Password or recovery key")) {
                char why[512] = "";
                text_line_containing(boot, "PCR", why, sizeof why);
                return fail(d, -EACCES, "The TPM did not unlock the credstore: keystone-init asks for the password. "
                                        "%s See %s/console.log; the recovery key is in %s.", why, vm_dir(vm),
                            sp(d, "recovery-key"));
        }
        if ((r = console_wait(d, vm, "all with encryptionroot", 10 * MIN_MS, "the encryptionroot check")) < 0 ||
            (r = console_wait(d, vm, "switch-root", 10 * MIN_MS, "boot")) < 0)
                return r;
        free(boot);
        boot = last_boot(vm);
        if (!boot)
                return -ENOMEM;
        step_line(boot, "cryptsetup-credstore", d->spec->tpm_disabled ? "opened with password" : "opened with TPM2 token",
                  d->res->tpm_line, sizeof d->res->tpm_line);
        step_line(boot, "check-encryptionroot", "all with encryptionroot", d->res->encroot_line,
                  sizeof d->res->encroot_line);
        if ((r = ssh_wait(d, vm, U, 20 * MIN_MS)) < 0)
                return r;
        _cleanup_free_ char *who = NULL, *sb = NULL, *root = NULL;
        if ((r = gsh(d, vm, U, "id -un", NULL, MIN_MS, true, &who)) < 0)
                return r;
        who[strcspn(who, "\n")] = 0;
        if (!streq(who, U))
                return fail(d, -EIO, "ssh %s@ logged in as '%s'", U, who);
        snprintf(d->res->ssh_line, sizeof d->res->ssh_line, "ssh -i %s -p %d %s@127.0.0.1: logged in as %s",
                 d->res->ssh_key, vm_ssh_port(vm), U, who);
        /* what efivarfs shows (logged, for when the status below is not what it should be) */
        GuestSsh g = guest(d, vm, U);
        (void) guest_ssh_run(&g, "findmnt /sys/firmware/efi/efivars; ls /sys/firmware/efi/efivars | grep -E "
                                 "'^(SecureBoot|SetupMode|PK|KEK|db)-'",
                             NULL, 0, MIN_MS, true, NULL);
        if ((r = gsh(d, vm, U, "keystone secureboot status", NULL, MIN_MS, true, &sb)) < 0)
                return r;
        d->res->secure_boot = strstr(sb, "SecureBoot: enabled") != NULL;
        d->res->user_mode = strstr(sb, "SetupMode: 0 (user mode)") != NULL;
        const char *a = d->res->secure_boot ? "enabled" : "not enabled", *b = d->res->user_mode ? "0" : "not 0";
        if ((r = gsh(d, vm, U, "findmnt -n -o SOURCE,FSTYPE /", NULL, MIN_MS, true, &root)) < 0)
                return r;
        root[strcspn(root, "\n")] = 0;
        snprintf(d->res->root_line, sizeof d->res->root_line, "%s", root);
        d->res->ssh_port = vm_ssh_port(vm);
        if (!d->res->secure_boot || !d->res->user_mode)
                return fail(d, -EIO, "Secure Boot is not enabled in user mode in the machine (SecureBoot %s, "
                                     "SetupMode %s):\n%s", a, b, sb);
        if (!d->o->keep_running)
                (void) power_off(d, vm, U, POWEROFF_SYSTEMD);
        return 0;
}

/* ---- the whole ---- */

static int state_reset(Deploy *d) {
        const char *gone[] = { "disk.img", "media", "media.img", "installer", INSTALLER_BOOT, "machine", "credstore.secret",
                               "recovery-key", "installed" };
        for (size_t i = 0; i < ELEMENTSOF(gone); i++) {
                int r = cache_rm_rf(sp(d, gone[i]));
                if (r < 0)
                        return fail(d, r, "Cannot remove %s: %s", sp(d, gone[i]), strerror(-r));
        }
        return 0;
}

int vm_deploy(const VmDeployOptions *o, VmDeployResult *ret, char **ret_error) {
        *ret = (VmDeployResult) {};
        if (!o || !o->host_path || !o->keystone)
                return -EINVAL;
        _cleanup_free_ Deploy *d = calloc(1, sizeof(Deploy));
        if (!d)
                return -ENOMEM;
        d->o = o;
        d->res = ret;
        double t_all = monotonic_seconds();
        int r = load_host(d);
        if (r < 0)
                goto done;
        if (o->state_dir)
                snprintf(ret->state_dir, sizeof ret->state_dir, "%s", o->state_dir);
        else
                snprintf(ret->state_dir, sizeof ret->state_dir, VM_STATE_DIR_DEFAULT "/%s", d->spec->hostname);
        if ((r = mkdir_p(ret->state_dir, 0700, NULL)) < 0 || (r = chmod(ret->state_dir, 0700) < 0 ? -errno : 0) < 0 ||
            (r = mkdir_p(sp(d, "logs"), 0700, NULL)) < 0) {
                r = fail(d, r, "Cannot create the state directory %s: %s", ret->state_dir, strerror(-r));
                goto done;
        }
        /* every program run, with its argv (never a secret: those go through stdin) */
        (void) setenv("KEYSTONE_LOG_FILE", sp(d, "logs/keystone.log"), 0);
        if ((r = vm_set_base_dir_r(ret->state_dir)) < 0) {
                r = fail(d, r, "Cannot use %s for the VMs: %s", ret->state_dir, strerror(-r));
                goto done;
        }
        bool installed = access(sp(d, "installed"), F_OK) == 0;
        if (o->fresh || !installed) {
                if ((r = state_reset(d)) < 0)
                        goto done;
                installed = false;
        } else {
                /* the install secret is needed by nothing but a new TPM enrollment */
                char buf[128] = "";
                if (read_small(sp(d, "credstore.secret"), buf, sizeof buf) == 0) {
                        buf[strcspn(buf, "\n")] = 0;
                        d->secret = strdup(buf);
                }
                explicit_bzero(buf, sizeof buf);
        }
        static const VmDeployStage all[] = { VM_STAGE_KEYS, VM_STAGE_BUILD, VM_STAGE_INSTALLER,
                                             VM_STAGE_INSTALL, VM_STAGE_FIRST_BOOT, VM_STAGE_VERIFY };
        for (size_t i = 0; i < ELEMENTSOF(all); i++) {
                VmDeployStage s = all[i];
                if (installed && s != VM_STAGE_KEYS && s != VM_STAGE_VERIFY)
                        continue;
                d->stage = s;
                char logp[PATH_MAX + 64]; /* its own copy: the stage reuses sp()'s buffers */
                snprintf(logp, sizeof logp, "%s", stage_log(d, s));
                (void) unlink(logp);
                if (o->progress)
                        o->progress(o->userdata, s, false, 0, 0, logp);
                double t0 = monotonic_seconds();
                switch (s) {
                case VM_STAGE_KEYS: r = stage_keys(d); break;
                case VM_STAGE_BUILD: r = stage_build(d); break;
                case VM_STAGE_INSTALLER: r = stage_installer(d); break;
                case VM_STAGE_INSTALL: r = stage_install(d); break;
                case VM_STAGE_FIRST_BOOT: r = stage_first_boot(d); break;
                case VM_STAGE_VERIFY: r = stage_verify(d); break;
                default: r = -EINVAL; goto done; /* not a stage: all[] holds only real ones */
                }
                ret->seconds[s] = monotonic_seconds() - t0;
                ret->ran[s] = true;
                if (r < 0)
                        log_line(d, "FAILED: %s", d->error ? d->error : strerror(-r));
                if (o->progress)
                        o->progress(o->userdata, s, true, r, ret->seconds[s], logp);
                if (r < 0)
                        goto done;
        }
        r = 0;
done:
        ret->total_seconds = monotonic_seconds() - t_all;
        if (r >= 0 && o->keep_running)
                ret->machine = d->machine;
        else {
                if (d->installer)
                        vm_stop(d->installer);
                if (d->machine)
                        vm_stop(d->machine);
        }
        if (d->secret)
                erase_and_free(d->secret, strlen(d->secret));
        image_lock_done(&d->lock);
        image_spec_done(&d->own_spec);
        if (r < 0 && ret_error) {
                free(*ret_error);
                *ret_error = d->error ? TAKE_PTR(d->error) : strdup(strerror(-r));
        }
        free(d->error);
        return r;
}
