/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libkmod.h>
#include <linux/magic.h>
#include <linux/random.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init/system.h"
#include "disk/credstore.h"
#include "tpm/luks.h"
#include "tpm/tpm2-context.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/macro.h"

static int sys_mount(void *u, const char *src, const char *target, const char *fstype, unsigned long flags,
                     const char *data) {
        return mount(src, target, fstype, flags, data) < 0 ? negative_errno() : 0;
}

static int sys_umount(void *u, const char *target) {
        return umount2(target, 0) < 0 ? negative_errno() : 0;
}

static int sys_activate(void *u, struct crypt_device *cd, const char *name, const uint8_t *vk, size_t n) {
        /* read-write, though it is mounted read-only: ext4 can then replay
         * its journal after an unclean shutdown of the installer */
        int r = crypt_activate_by_volume_key(cd, name, (const char *) vk, n, 0);
        return r < 0 ? r : 0;
}

static int sys_deactivate(void *u, const char *name) {
        return credstore_close(name);
}

static int sys_switch_root(void *u, const char *newroot, const char *init, char *const argv[]) {
        return init_switch_root(newroot, init, argv);
}

const InitSys init_sys_real = {
        .mount = sys_mount,
        .umount = sys_umount,
        .activate = sys_activate,
        .deactivate = sys_deactivate,
        .switch_root = sys_switch_root,
};

int init_mount_api_filesystems(const char **ret_what) {
        static const struct { const char *what, *where, *type; unsigned long flags; const char *data; } m[] = {
                { "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
                { "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
                { "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
                { "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
        };
        for (size_t i = 0; i < ELEMENTSOF(m); i++) {
                (void) mkdir(m[i].where, 0755);
                if (mount(m[i].what, m[i].where, m[i].type, m[i].flags, m[i].data) < 0 && errno != EBUSY) {
                        if (ret_what)
                                *ret_what = m[i].where;
                        return negative_errno();
                }
        }
        return 0;
}

int init_console_setup(void) {
        int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        (void) setsid();
        (void) ioctl(fd, TIOCSCTTY, 1);
        for (int i = 0; i < 3; i++)
                if (dup2(fd, i) < 0) {
                        int r = negative_errno();
                        close(fd);
                        return r;
                }
        if (fd > 2)
                close(fd);
        return 0;
}

int init_load_modules(const char *path, bool dry, FILE *console, char *summary, size_t summary_size) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? 0 : negative_errno();
        struct kmod_ctx *ctx = kmod_new(NULL, NULL);
        if (!ctx)
                return -ENOMEM;
        (void) kmod_load_resources(ctx);
        char line[256];
        int n = 0;
        if (summary_size)
                *summary = 0;
        while (fgets(line, sizeof line, f)) {
                char *name = line + strspn(line, " \t");
                name[strcspn(name, " \t\r\n#")] = 0;
                if (!*name)
                        continue;
                struct kmod_list *list = NULL, *it;
                int r = kmod_module_new_from_lookup(ctx, name, &list);
                if (r < 0 || !list) {
                        fprintf(console, "keystone-init: module %s: not found for this kernel (%s); skipped\n", name,
                                r < 0 ? strerror(-r) : "no such module or alias");
                        continue;
                }
                bool ok = false;
                kmod_list_foreach(it, list) {
                        struct kmod_module *mod = kmod_module_get_module(it);
                        r = dry ? 0 : kmod_module_probe_insert_module(mod, KMOD_PROBE_APPLY_BLACKLIST, NULL, NULL,
                                                                      NULL, NULL);
                        if (r == -ENODEV)
                                ; /* a driver for hardware this machine lacks (aesni_intel without AES-NI) */
                        else if (r < 0 && r != -EEXIST)
                                fprintf(console, "keystone-init: module %s (%s): loading failed: %s\n", name,
                                        kmod_module_get_name(mod), strerror(-r));
                        else
                                ok = true;
                        kmod_module_unref(mod);
                }
                kmod_module_unref_list(list);
                if (ok) {
                        n++;
                        size_t l = strlen(summary);
                        if (l + strlen(name) + 3 < summary_size)
                                snprintf(summary + l, summary_size - l, "%s%s", l ? " " : "", name);
                }
        }
        kmod_unref(ctx);
        return n;
}

int init_seed_rng(const char *tpm2_device) {
        uint8_t probe;
        if (getrandom(&probe, 1, GRND_NONBLOCK) == 1)
                return 0;
        if (errno != EAGAIN)
                return negative_errno();
        _cleanup_close_ int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        Tpm2Context *tpm = NULL;
        int r = tpm2_context_new(tpm2_device, &tpm);
        if (r < 0)
                return r;
        /* struct rand_pool_info ends in a flexible array: the 32 bytes follow it */
        enum { SEED_BYTES = 32 };
        _Alignas(struct rand_pool_info) uint8_t seed[sizeof(struct rand_pool_info) + SEED_BYTES] = {};
        struct rand_pool_info *info = (struct rand_pool_info *) seed;
        info->entropy_count = 8 * SEED_BYTES;
        info->buf_size = SEED_BYTES;
        r = tpm2_get_random(tpm, (uint8_t *) info->buf, SEED_BYTES);
        tpm2_context_free(tpm);
        if (r >= 0)
                r = ioctl(fd, RNDADDENTROPY, info) < 0 ? negative_errno() : 1;
        explicit_bzero(seed, sizeof seed);
        return r;
}

int init_remove_tree(int dirfd, dev_t dev) {
        DIR *d;
        int ret = opendir_fd(dirfd, &d);
        if (ret < 0)
                return ret;
        struct dirent *de;
        while ((de = readdir_no_dot(d))) {
                struct stat st;
                if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        ret = ret ?: negative_errno();
                        continue;
                }
                if (st.st_dev != dev)
                        continue;       /* another file system mounted here: leave it */
                if (S_ISDIR(st.st_mode)) {
                        int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0) {
                                ret = ret ?: negative_errno();
                                continue;
                        }
                        struct stat st2;
                        /* a mount point: the directory we opened is the mounted file system's root */
                        if (fstat(sub, &st2) < 0 || st2.st_dev != dev) {
                                close(sub);
                                continue;
                        }
                        int r = init_remove_tree(sub, dev);
                        close(sub);
                        if (r < 0)
                                ret = ret ?: r;
                        if (unlinkat(dirfd, de->d_name, AT_REMOVEDIR) < 0 && errno != EBUSY && errno != ENOTEMPTY)
                                ret = ret ?: negative_errno();
                } else if (unlinkat(dirfd, de->d_name, 0) < 0)
                        ret = ret ?: negative_errno();
        }
        closedir(d);
        return ret;
}

int init_switch_root(const char *newroot, const char *init, char *const argv[]) {
        struct stat root_st, new_st;
        struct statfs sfs;
        if (stat("/", &root_st) < 0 || stat(newroot, &new_st) < 0 || statfs("/", &sfs) < 0)
                return negative_errno();
        if (root_st.st_dev == new_st.st_dev)
                return -EXDEV;          /* nothing is mounted on newroot */
        bool initramfs = sfs.f_type == RAMFS_MAGIC || sfs.f_type == TMPFS_MAGIC;
        static const char *const api[] = { "/dev", "/proc", "/sys", "/run" };
        for (size_t i = 0; i < ELEMENTSOF(api); i++) {
                char target[4200];
                snprintf(target, sizeof target, "%s%s", newroot, api[i]);
                if (mount(api[i], target, NULL, MS_MOVE, NULL) < 0) {
                        log_debug("moving %s to %s failed: %m; detaching it", api[i], target);
                        (void) umount2(api[i], MNT_DETACH);
                }
        }
        if (chdir(newroot) < 0)
                return negative_errno();
        _cleanup_close_ int old = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (mount(newroot, "/", NULL, MS_MOVE, NULL) < 0)
                return negative_errno();
        if (chroot(".") < 0 || chdir("/") < 0)
                return negative_errno();
        if (old >= 0 && initramfs)
                (void) init_remove_tree(old, root_st.st_dev);
        size_t n = 0;
        while (argv[n])
                n++;
        char **args = calloc(n + 2, sizeof *args);
        if (!args)
                return -ENOMEM;
        args[0] = (char *) init;
        for (size_t i = 1; i < n; i++)
                args[i] = argv[i];
        execv(init, args);
        int r = negative_errno();
        free(args);
        return r;
}

_Noreturn void init_halt(bool emergency_shell, FILE *console) {
        if (emergency_shell) {
                if (access("/bin/sh", X_OK) < 0)
                        fprintf(console, "keystone-init: no /bin/sh in this initrd, so no emergency shell.\n");
                else {
                        fflush(console);
                        pid_t pid = fork();
                        if (pid == 0) {
                                (void) setsid();
                                (void) ioctl(STDIN_FILENO, TIOCSCTTY, 1);
                                execl("/bin/sh", "sh", (char *) NULL);
                                _exit(127);
                        }
                        /* reap everything until the shell is gone */
                        for (pid_t p; pid > 0 && (p = wait(NULL)) != pid;)
                                if (p < 0 && errno != EINTR)
                                        break;
                        fprintf(console, "keystone-init: the emergency shell exited.\n");
                }
        }
        fprintf(console, "keystone-init: halting.\n");
        fflush(console);
        sync();
        (void) reboot(RB_HALT_SYSTEM);
        for (;;)
                pause();
}
