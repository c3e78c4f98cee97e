/* SPDX-License-Identifier: MIT */
/* keystone-kexec: what `keystone install` uploads to a target to start
 * Keystone's installer in place of the running kernel, so that a stock
 * Debian 12 or 13 without kexec-tools can be installed.  One static binary
 * (it runs on whatever C library the target has), on its own: no part of
 * libkeystone.
 *
 *   keystone-kexec load KERNEL INITRD CMDLINE   kexec_file_load(2), then checks
 *                                               /sys/kernel/kexec_loaded
 *   keystone-kexec exec                         reboot(2) into the loaded kernel
 *                                               at once (no clean shutdown:
 *                                               `systemctl kexec` is that)
 *   keystone-kexec unload                       forgets a loaded kernel
 *
 * kexec_file_load lets the running kernel check the new one's signature
 * where lockdown asks for it (Secure Boot on): Keystone's installer runs
 * Debian's signed kernel, so that works where the older kexec_load(2),
 * which lockdown forbids, would not. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kexec.h>
#include <linux/reboot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char usage[] =
        "Usage: keystone-kexec load KERNEL INITRD CMDLINE\n"
        "       keystone-kexec exec\n"
        "       keystone-kexec unload\n"
        "\n"
        "Loads a kernel and initrd with kexec_file_load(2) and starts it (what\n"
        "keystone install uploads to a target to start Keystone's installer).\n"
        "After load, `systemctl kexec` shuts the running system down cleanly and\n"
        "starts the loaded kernel; `keystone-kexec exec` starts it at once.\n";

static int loaded(void) {
        FILE *f = fopen("/sys/kernel/kexec_loaded", "re");
        if (!f)
                return -errno;
        int c = fgetc(f);
        fclose(f);
        return c == '1';
}

static const char *why(int e) {
        switch (e) {
        case EPERM:
                return "the kernel forbids kexec here (/proc/sys/kernel/kexec_load_disabled is 1, or the "
                       "process lacks CAP_SYS_BOOT): run as root on a kernel that allows it, or boot the "
                       "installer image instead (keystone installer)";
        case EKEYREJECTED:
        case EBADMSG:
                return "the running kernel requires a signed kernel (lockdown with Secure Boot on) and refused "
                       "this one's signature: the installer's kernel must be one the target's firmware trusts "
                       "(Debian's), or put the firmware in setup mode first";
        case ENOEXEC:
                return "not a kernel image this kernel can start (an x86-64 bzImage is needed)";
        case ENOSYS:
                return "the running kernel has no kexec_file_load (CONFIG_KEXEC_FILE): boot the installer "
                       "image instead (keystone installer)";
        case EBUSY:
                return "a kernel is already loaded: keystone-kexec unload first";
        default:
                return strerror(e);
        }
}

static int do_load(const char *kernel, const char *initrd, const char *cmdline) {
        int kfd = open(kernel, O_RDONLY | O_CLOEXEC);
        if (kfd < 0) {
                fprintf(stderr, "keystone-kexec: cannot open the kernel %s: %s\n", kernel, strerror(errno));
                return 1;
        }
        int ifd = open(initrd, O_RDONLY | O_CLOEXEC);
        if (ifd < 0) {
                fprintf(stderr, "keystone-kexec: cannot open the initrd %s: %s\n", initrd, strerror(errno));
                close(kfd);
                return 1;
        }
        /* the length counts the terminating NUL */
        long r = syscall(SYS_kexec_file_load, kfd, ifd, strlen(cmdline) + 1, cmdline, 0UL);
        int e = errno;
        close(kfd);
        close(ifd);
        if (r < 0) {
                fprintf(stderr, "keystone-kexec: loading %s with %s failed: %s\n", kernel, initrd, why(e));
                return 1;
        }
        int l = loaded();
        if (l != 1) {
                fprintf(stderr, "keystone-kexec: kexec_file_load returned 0 but /sys/kernel/kexec_loaded %s\n",
                        l < 0 ? "cannot be read" : "says 0");
                return 1;
        }
        printf("keystone-kexec: loaded %s (initrd %s); `systemctl kexec` or `keystone-kexec exec` starts it\n",
               kernel, initrd);
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
                fputs(usage, stdout);
                return 0;
        }
        if (argc == 5 && !strcmp(argv[1], "load"))
                return do_load(argv[2], argv[3], argv[4]);
        if (argc == 2 && !strcmp(argv[1], "unload")) {
                if (syscall(SYS_kexec_file_load, -1, -1, 0UL, NULL, (unsigned long) KEXEC_FILE_UNLOAD) < 0) {
                        fprintf(stderr, "keystone-kexec: unload failed: %s\n", why(errno));
                        return 1;
                }
                return 0;
        }
        if (argc == 2 && !strcmp(argv[1], "exec")) {
                if (loaded() != 1) {
                        fprintf(stderr, "keystone-kexec: no kernel is loaded (/sys/kernel/kexec_loaded): "
                                "keystone-kexec load KERNEL INITRD CMDLINE first\n");
                        return 1;
                }
                sync();
                reboot(LINUX_REBOOT_CMD_KEXEC);
                fprintf(stderr, "keystone-kexec: reboot into the loaded kernel failed: %s\n", strerror(errno));
                return 1;
        }
        fputs(usage, stderr);
        return 2;
}
