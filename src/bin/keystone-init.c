/* SPDX-License-Identifier: MIT */
/* keystone-init: PID 1 of Keystone's initrd.  Runs the boot flow (see
 * docs/init.md and src/init/steps.h) and hands over to systemd in the
 * generation it mounted.  Outside PID 1 it only runs as a dry run against a
 * directory tree (--root DIR --dry-run), for tests, or as the client that
 * hands PID 1 the credstore's secret from an SSH session (--unlock). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "init/cmdline.h"
#include "init/initrd-ssh.h"
#include "init/installer.h"
#include "init/steps.h"
#include "init/system.h"
#include "init/unlock.h"
#include "tpm/tpm2-context.h"
#include "util/clock.h"
#include "util/file-bytes.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/secret-input.h"

extern const char keystone_version[];

static const char help[] =
        "Usage: keystone-init                      (as PID 1 of the initrd)\n"
        "       keystone-init --root=DIR --dry-run [--cmdline=FILE]\n"
        "       keystone-init --unlock [--root=DIR]      (in an SSH session in the initrd)\n"
        "\n"
        "PID 1 of Keystone's initrd: imports the pool, opens the credstore with the\n"
        "TPM (or a password / recovery key typed on the console), loads the key of\n"
        "the encrypted datasets, refuses any dataset outside the encryption root,\n"
        "mounts the generation on /sysroot and switches to its /sbin/init.\n"
        "With keystone.installer it is the installer instead: network, sshd, wait.\n"
        "Settings come from keystone.* parameters on the kernel command line\n"
        "(docs/init.md).\n"
        "\n"
        "A dry run reads DIR/proc/cmdline (or FILE), DIR/sys and DIR/dev, runs the\n"
        "zpool and zfs found in PATH and the TPM for real, and only prints what it\n"
        "would mount, activate and switch to.  Exit status: 0 when every step\n"
        "passed, 1 when one failed (as PID 1 the machine halts instead).\n"
        "\n"
        "--unlock reads the password or recovery key from standard input (a prompt\n"
        "with echo off on a terminal, else one line) and hands it to keystone-init\n"
        "waiting in the boot flow (keystone.initrd-ssh, docs/init.md) through\n"
        "DIR/run/keystone-init/unlock.sock.  Exit status: 0 when it opened the\n"
        "credstore, 1 when it was wrong or nobody was waiting, 2 on bad usage.\n"
        "\n"
        "Options:\n"
        "      --root=DIR      the tree standing in for /\n"
        "      --dry-run       required with --root\n"
        "      --cmdline=FILE  the kernel command line (default DIR/proc/cmdline)\n"
        "      --unlock        send the credstore's secret from standard input\n"
        "  -h, --help\n";

/* ---- dry run: print instead of changing the system ---- */

static int dry_mount(void *u, const char *src, const char *target, const char *fstype, unsigned long flags,
                     const char *data) {
        init_note(u, "(dry run) mount %s on %s type %s%s%s%s", src, target, fstype, flags & 1 ? " ro" : "",
                  data ? " -o " : "", data ? data : "");
        return 0;
}

static int dry_umount(void *u, const char *target) {
        init_note(u, "(dry run) umount %s", target);
        return 0;
}

static int dry_activate(void *u, struct crypt_device *cd, const char *name, const uint8_t *vk, size_t n) {
        init_note(u, "(dry run) activate the credstore as /dev/mapper/%s", name);
        return 0;
}

static int dry_deactivate(void *u, const char *name) {
        init_note(u, "(dry run) close /dev/mapper/%s", name);
        return 0;
}

static int dry_switch_root(void *u, const char *newroot, const char *init, char *const argv[]) {
        init_note(u, "(dry run) switch_root to %s and exec %s", newroot, init);
        return 0;
}

static const InitSys dry_sys = {
        .mount = dry_mount, .umount = dry_umount, .activate = dry_activate,
        .deactivate = dry_deactivate, .switch_root = dry_switch_root,
};

/* A dry run has no BLKZNAME: DIR/sys/block/zdN/keystone-zvol-name says it. */
static int dry_zvol_name(void *u, const char *node, char *buf, size_t size) {
        const InitContext *c = u;
        const char *zd = strrchr(node, '/');
        char path[4400];
        snprintf(path, sizeof path, "%s/sys/block%s/keystone-zvol-name", c->root, zd ? zd : "/");
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f || !fgets(buf, (int) size, f))
                return -ENOTTY;
        buf[strcspn(buf, "\n")] = 0;
        return 0;
}

/* keystone-init --unlock: the secret from stdin (never argv) to PID 1,
 * PID 1's verdict to the user. */
static int unlock_client(const char *root) {
        char *secret = NULL;
        size_t n = 0;
        int r = secret_read_line("Password or recovery key for the credstore: ", &secret, &n);
        if (r < 0) {
                fprintf(stderr, "keystone-init --unlock: no secret on standard input (%s); give it on a terminal "
                        "(ssh -t) or as one line on standard input\n", r == -ENODATA ? "empty" : strerror(-r));
                return 1;
        }
        _cleanup_free_ char *text = NULL, *error = NULL;
        r = init_unlock_send(root, secret, n, &text, &error);
        erase_and_free(secret, n);
        if (r < 0) {
                fprintf(stderr, "keystone-init --unlock: %s\n", error ? error : strerror(-r));
                return 1;
        }
        if (r == INIT_UNLOCK_OPENED) {
                printf("%s\n", text);
                return 0;
        }
        fprintf(stderr, "keystone-init --unlock: %s\n", text);
        return 1;
}

/* Every way out to a shell or a halt: PCR 15 first, so that nothing run
 * from here on can have the TPM unseal the credstore; when that fails, no
 * shell. */
static _Noreturn void fail(InitContext *c, bool pid1, bool emergency_shell) {
        int k = init_extend_pcr15(c);
        if (k > 0)
                printf("keystone-init: PCR 15 extended: the TPM will not unseal the credstore again in this boot.\n");
        else if (k < 0) {
                printf("keystone-init: extending PCR 15 on the TPM '%s' failed (%s), so the TPM could still unseal "
                       "the credstore in this boot%s\n", c->cfg.tpm2_device,
                       k == -ECONNREFUSED || k == -EIO ? tpm2_last_rc_string() : strerror(-k),
                       emergency_shell ? ": no emergency shell; the machine halts instead" : ".");
                emergency_shell = false;
        }
        fflush(stdout);
        init_context_done(c);
        if (pid1)
                init_halt(emergency_shell, stdout);
        printf("(dry run) the machine would %s now\n", emergency_shell ? "start an emergency shell" : "halt");
        fflush(stdout);
        exit(1);
}

int main(int argc, char **argv) {
        bool pid1 = getpid() == 1, dry = false, unlock = false;
        const char *root = "", *cmdline_file = NULL;
        log_set_program("keystone-init");
        if (pid1) {
                setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
                umask(022);
                const char *what = "?";
                int r = init_mount_api_filesystems(&what);
                if (r < 0)
                        fprintf(stderr, "keystone-init: mounting %s failed: %s\n", what, strerror(-r));
                r = init_console_setup();
                if (r < 0)
                        fprintf(stderr, "keystone-init: opening /dev/console failed: %s\n", strerror(-r));
                setvbuf(stdout, NULL, _IOLBF, 0);
        } else {
                static const struct option options[] = {
                        { "root", required_argument, NULL, 'r' },
                        { "dry-run", no_argument, NULL, 'n' },
                        { "cmdline", required_argument, NULL, 'c' },
                        { "unlock", no_argument, NULL, 'u' },
                        { "help", no_argument, NULL, 'h' },
                        {}
                };
                int ch;
                while ((ch = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                        switch (ch) {
                        case 'h':
                                fputs(help, stdout);
                                return 0;
                        case 'r':
                                root = optarg;
                                break;
                        case 'n':
                                dry = true;
                                break;
                        case 'c':
                                cmdline_file = optarg;
                                break;
                        case 'u':
                                unlock = true;
                                break;
                        default:
                                fprintf(stderr, "keystone-init: unknown option; see --help\n");
                                return 2;
                        }
                if (unlock) {
                        if (optind < argc || dry || cmdline_file) {
                                fprintf(stderr, "keystone-init: --unlock takes only --root=DIR; the secret comes "
                                        "on standard input, never as an argument\n");
                                return 2;
                        }
                        return unlock_client(root);
                }
                if (optind < argc || !dry || !*root) {
                        fprintf(stderr, "keystone-init: this is PID 1 of Keystone's initrd; outside it, only a dry "
                                "run works: keystone-init --root=DIR --dry-run (see --help)\n");
                        return 2;
                }
                if (streq(root, "/")) {
                        fprintf(stderr, "keystone-init: --root=/ is not a test tree; give a directory\n");
                        return 2;
                }
        }

        InitContext c = {
                .root = root,
                .sys = dry ? dry_sys : init_sys_real,
                .console = stdout,
                .dry = dry,
        };
        c.sys.userdata = dry ? &c : NULL;
        if (dry) {
                c.zvol.accept_regular_files = true;
                c.zvol.name = dry_zvol_name;
                c.zvol.userdata = &c;
        }
        printf("keystone-init %s%s\n", keystone_version, dry ? " (dry run)" : "");

        char path[4200];
        snprintf(path, sizeof path, "%s/proc/cmdline", root);
        uint8_t *raw = NULL;
        size_t raw_size = 0;
        int r = read_file_bytes(cmdline_file ? cmdline_file : path, 65536, &raw, &raw_size);
        _cleanup_free_ char *cmdline = NULL;
        if (r >= 0) {
                cmdline = strndup((const char *) raw, raw_size);
                free(raw);
        }
        if (!cmdline) {
                printf("keystone-init: cannot read the kernel command line %s: %s. Is /proc mounted?\n",
                       cmdline_file ? cmdline_file : path, strerror(r < 0 ? -r : ENOMEM));
                init_config_fallback(NULL, &c.cfg);
                fail(&c, pid1, false);
        }
        _cleanup_free_ char *error = NULL;
        r = init_config_parse(cmdline, &c.cfg, &error);
        if (r < 0) {
                printf("keystone-init: %s.\nkeystone-init: the boot stops here: fix the boot entry's command line "
                       "(press e in systemd-boot to edit it once).\n", error);
                init_config_fallback(cmdline, &c.cfg);
                if (pid1) {
                        /* the TPM's driver may be a module: PCR 15 needs it */
                        char loaded[300];
                        snprintf(path, sizeof path, "%s/etc/keystone-init/modules", root);
                        (void) init_load_modules(path, false, stdout, loaded, sizeof loaded);
                }
                fail(&c, pid1, c.cfg.emergency_shell);
        }
        if (c.cfg.debug)
                log_set_max_level(LOG_DEBUG);
        if (c.cfg.n_unknown)
                printf("keystone-init: ignoring %u unknown keystone.* parameter%s (first: %s); see docs/init.md\n",
                       c.cfg.n_unknown, c.cfg.n_unknown == 1 ? "" : "s", c.cfg.unknown);
        char *init_argv[] = { c.cfg.init, NULL };
        c.init_argv = pid1 ? argv : init_argv;

        double t0 = monotonic_seconds();
        snprintf(path, sizeof path, "%s/etc/keystone-init/modules", root);
        char summary[300] = "";
        printf("[prep] load-modules ... ");
        fflush(stdout);
        r = init_load_modules(path, dry, stdout, summary, sizeof summary);
        double dt = monotonic_seconds() - t0;
        if (r < 0)
                printf("failed (%.2f s): cannot read %s: %s; going on without modules\n", dt, path, strerror(-r));
        else
                printf("ok (%.2f s): %d module%s%s%s%s\n", dt, r, r == 1 ? "" : "s", dry ? " resolved" : "",
                       *summary ? ": " : "", summary);

        /* before the steps: the unlock's TPM session needs random numbers */
        if (!dry) {
                t0 = monotonic_seconds();
                printf("[prep] seed-rng ... ");
                fflush(stdout);
                r = init_seed_rng(c.cfg.tpm2_device);
                dt = monotonic_seconds() - t0;
                if (r > 0)
                        printf("ok (%.2f s): 256 bits from the TPM credited to the kernel's random pool\n", dt);
                else if (r == 0)
                        printf("ok (%.2f s): the kernel's random pool was already initialised\n", dt);
                else if (r == -ENODEV)
                        printf("skipped (%.2f s): no TPM (no /dev/tpmrm0 or /dev/tpm0); %s may wait for the kernel "
                               "to gather entropy\n", dt, c.cfg.installer ? "the host key" : "the unlock");
                else
                        printf("skipped (%.2f s): the TPM's random number generator ('%s') gave nothing: %s; %s\n",
                               dt, c.cfg.tpm2_device,
                               r == -ECONNREFUSED || r == -EIO ? tpm2_last_rc_string() : strerror(-r),
                               c.cfg.installer ? "the host key may wait for the kernel to gather entropy" :
                                                 "the unlock may wait for the kernel to gather entropy, and step "
                                                 "2 will say whether the TPM works");
        }

        if (c.cfg.installer) {
                r = init_installer_run(&c.cfg, root, dry, stdout);
                if (r < 0) {
                        printf("keystone-installer: the installer cannot go on: the [installer] line above "
                               "says what failed. Fix the UKI's keystone.installer.* parameters (or give the "
                               "machine a network card the installer has a driver for) and boot it again.\n");
                        fail(&c, pid1, c.cfg.emergency_shell);
                }
                init_context_done(&c);
                return 0;
        }

        if (c.cfg.initrd_ssh == INIT_SSH_ALWAYS)
                (void) init_ssh_start(&c);      /* a refusal is printed; the console still asks */
        r = init_run_steps(&c, init_steps, INIT_N_STEPS, NULL);
        bool shell = c.cfg.emergency_shell;
        if (r < 0)
                fail(&c, pid1, shell);
        init_context_done(&c);
        if (pid1) {
                /* switch_root returned 0 only in a dry run */
                printf("keystone-init: switch_root returned; halting\n");
                fail(&c, pid1, shell);
        }
        return 0;
}
