/* SPDX-License-Identifier: MIT */
/* keystone disk plan|apply|status: the disk layout from the host file. */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include "generation/install.h"
#include "cmd/cmd.h"
#include "cmd/config-load.h"
#include "cmd/tpm.h"
#include "disk/apply.h"
#include "disk/credstore.h"
#include "disk/gpt.h"
#include "disk/mount.h"
#include "disk/probe.h"

static const char help[] =
        "Usage: keystone disk plan   HOST.toml [--device DEV | --image FILE [--size SIZE]] [--seed S]\n"
        "       keystone disk apply  HOST.toml (--device DEV | --image FILE [--size SIZE])\n"
        "                            [--yes] [--force] [--until STEP] [--seed S] [--root DIR]\n"
        "                            [--credstore-key-file F | --credstore-new-key-file F]\n"
        "       keystone disk status HOST.toml (--device DEV | --image FILE)\n"
        "       keystone disk mount  HOST.toml --device DEV --root DIR [--generation N]\n"
        "                            [--credstore-key-file F | --tpm2-device T | --no-tpm]\n"
        "       keystone disk unmount HOST.toml --root DIR\n"
        "       keystone disk install HOST.toml --from BUILD [--device DEV] [--root DIR] [--force]\n"
        "                            [--credstore-key-file F | --tpm2-device T | --no-tpm]\n"
        "\n"
        "Lay out a disk as the host file says: GPT with ESP, ZFS pool and swap; the\n"
        "credstore zvol (LUKS2) holding the ZFS key; the encrypted datasets.\n"
        "\n"
        "  plan     print every step apply would take, the partition table, the\n"
        "           commands, and the fstab/crypttab entries; changes nothing\n"
        "  apply    run the steps; each step is skipped when the disk shows it done,\n"
        "           so an interrupted apply finishes when run again\n"
        "  status   whether the disk matches the host file, step by step\n"
        "  mount    import the pool, open the credstore (key file, else the TPM, else\n"
        "           a passphrase or recovery key from stdin), load the ZFS key, check\n"
        "           every dataset's encryptionroot, mount the tree and the ESP on DIR\n"
        "  unmount  unmount DIR, close the credstore, export the pool\n"
        "  install  put the generation BUILD (`keystone build -o BUILD`) on the disk:\n"
        "           check BUILD against its manifest, mount (as above) with the new\n"
        "           dataset POOL/crypt/system/generations/N, unpack the rootfs, check the\n"
        "           ESP's free space, copy the signed UKI, systemd-boot and loader.conf\n"
        "           to it, unmount; --force replaces an existing generation N\n"
        "\n"
        "  --device DEV     a block device (default: disk.device from the host file)\n"
        "  --image FILE     an image file; apply creates it (sparse) when missing\n"
        "  --size SIZE      size of the image, such as 20G\n"
        "  --yes            do not ask before writing\n"
        "  --force          replace a partition table or file system that is not the plan's\n"
        "                   (a mounted or otherwise busy disk is refused even then)\n"
        "  --until STEP     stop after STEP: partition, esp, pool, credstore, crypt,\n"
        "                   datasets, finish\n"
        "  --root DIR       altroot while applying (default /run/keystone/disk): the pool\n"
        "                   imports there and the credstore mounts on DIR/etc/credstore\n"
        "  --credstore-key-file F      the credstore's secret (the file's exact bytes)\n"
        "  --credstore-new-key-file F  generate the credstore's first secret and write it\n"
        "                   to F (created, mode 0600); there is no default password\n"
        "  --generation N   mount crypt/system/generations/N on DIR as well (the credstore\n"
        "                   is then closed again once the ZFS key is loaded)\n"
        "  --from BUILD     the build directory install takes the generation from\n"
        "  --tpm2-device T  TPM to unlock with (default auto; any TCTI such as swtpm:port=2321)\n"
        "  --no-tpm         do not try the TPM\n"
        "  --seed S         derive the disk GUID, PARTUUIDs and ESP volume id from S\n"
        "                   (reproducible layouts for tests); default: random\n"
        "  -h, --help       this text\n";

typedef struct Args {
        const char *verb, *host, *device, *image, *size, *seed, *until, *root, *key_file, *new_key_file,
                *generation, *tpm2_device, *from;
        bool no_tpm;
        bool yes, force;
} Args;

static int parse(int argc, char **argv, Args *a) {
        static const struct option options[] = {
                { "device", required_argument, NULL, 'd' },
                { "image", required_argument, NULL, 'i' },
                { "size", required_argument, NULL, 's' },
                { "seed", required_argument, NULL, 'S' },
                { "until", required_argument, NULL, 'u' },
                { "yes", no_argument, NULL, 'y' },
                { "root", required_argument, NULL, 'R' },
                { "credstore-key-file", required_argument, NULL, 'k' },
                { "credstore-new-key-file", required_argument, NULL, 'K' },
                { "generation", required_argument, NULL, 'g' },
                { "tpm2-device", required_argument, NULL, 't' },
                { "no-tpm", no_argument, NULL, 'T' },
                { "force", no_argument, NULL, 'f' },
                { "from", required_argument, NULL, 'F' },
                CMD_COMMON_OPTIONS,
                {}
        };
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "hy", options, NULL)) >= 0)
                switch (c) {
                case 'd': a->device = optarg; break;
                case 'i': a->image = optarg; break;
                case 's': a->size = optarg; break;
                case 'S': a->seed = optarg; break;
                case 'u': a->until = optarg; break;
                case 'y': a->yes = true; break;
                case 'R': a->root = optarg; break;
                case 'k': a->key_file = optarg; break;
                case 'K': a->new_key_file = optarg; break;
                case 'g': a->generation = optarg; break;
                case 't': a->tpm2_device = optarg; break;
                case 'T': a->no_tpm = true; break;
                case 'f': a->force = true; break;
                case 'F': a->from = optarg; break;
                case 'h': return 1;
                default: return cmd_usage_error("disk", "unknown option");
                }
        if (argc - optind != 2)
                return cmd_usage_error("disk", "expects a verb (plan, apply, status) and a host file");
        a->verb = argv[optind];
        a->host = argv[optind + 1];
        static const char *const verbs[] = { "plan", "apply", "status", "mount", "unmount", "install", NULL };
        bool known = false;
        for (const char *const *v = verbs; *v; v++)
                known = known || streq(*v, a->verb);
        if (!known)
                return cmd_usage_error("disk", "unknown verb '%s' (plan, apply, status, mount, unmount, install)",
                                       a->verb);
        bool installing = streq(a->verb, "install");
        if (installing != (a->from != NULL))
                return cmd_usage_error("disk", "install needs --from BUILD, and --from is for install");
        if (installing && !a->root)
                a->root = "/run/keystone/install";
        bool mounting = streq(a->verb, "mount") || streq(a->verb, "unmount") || installing;
        if (mounting && !a->root)
                return cmd_usage_error("disk", "%s needs --root DIR", a->verb);
        if (mounting && a->image)
                return cmd_usage_error("disk", "%s works on a block device: attach an image with losetup -P", a->verb);
        if (!streq(a->verb, "mount") && a->generation)
                return cmd_usage_error("disk", "--generation is for mount");
        if (!streq(a->verb, "mount") && !installing && (a->tpm2_device || a->no_tpm))
                return cmd_usage_error("disk", "--tpm2-device and --no-tpm are for mount and install");
        if (a->device && a->image)
                return cmd_usage_error("disk", "give --device or --image, not both");
        if (a->size && !a->image)
                return cmd_usage_error("disk", "--size is for --image");
        if (a->until && disk_step_from_name(a->until) < 0)
                return cmd_usage_error("disk", "unknown step '%s' for --until", a->until);
        if (!streq(a->verb, "apply") && (a->yes || a->until || a->new_key_file))
                return cmd_usage_error("disk", "--yes, --until and --credstore-new-key-file are for apply");
        if (!streq(a->verb, "apply") && !installing && a->force)
                return cmd_usage_error("disk", "--force is for apply and install");
        if (!streq(a->verb, "apply") && !mounting && (a->root || a->key_file))
                return cmd_usage_error("disk", "--root and --credstore-key-file are for apply and mount");
        if (a->key_file && a->new_key_file)
                return cmd_usage_error("disk", "give --credstore-key-file or --credstore-new-key-file, not both");
        if (a->root && a->root[0] != '/')
                return cmd_usage_error("disk", "--root takes an absolute path");
        return 0;
}

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

static void on_install_progress(const char *step, const char *detail, void *userdata) {
        (void) userdata;
        printf("  %-8s %s\n", step, detail);
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

int cmd_disk(int argc, char **argv) {
        Args a = {};
        int r = parse(argc, argv, &a);
        if (r == 1)
                return cmd_help(help);
        if (r < 0)
                return r;

        Config *cfg = NULL;
        r = cmd_config_load(a.host, &cfg);
        if (r < 0)
                return r;

        DiskTarget t = { .path = a.image ? a.image : a.device, .is_image = a.image != NULL };
        if (!t.path)
                t.path = config_string(cfg, "disk.device");
        if (!t.path && streq(a.verb, "unmount"))
                t.path = "(not needed)";
        if (!t.path) {
                config_free(cfg);
                return log_error_errno(-EINVAL, "%s sets no disk.device; add it to the host file or give --device "
                                       "or --image", a.host);
        }

        /* the target's size: --size, the image, or the device */
        uint64_t bytes = 0;
        bool exists = access(t.path, F_OK) == 0;
        if (a.size) {
                r = size_parse(a.size, &bytes);
                if (r == -ERANGE || (r == 0 && bytes > INT64_MAX)) {
                        /* file sizes and offsets are signed 64-bit (off_t): 8 EiB */
                        config_free(cfg);
                        return cmd_usage_error("disk", "--size '%s' is too large: %s; a disk or image is at most "
                                               "8 EiB (8388607T)", a.size,
                                               r == -ERANGE ? "it overflows 64 bits" : "more than 8 EiB");
                }
                if (r < 0 || bytes == 0) {
                        config_free(cfg);
                        return cmd_usage_error("disk", "--size '%s' is not a size such as 20G", a.size);
                }
        }
        if (exists && !streq(a.verb, "mount") && !streq(a.verb, "unmount") && !streq(a.verb, "install")) {
                DiskProbe p;
                r = disk_probe(t.path, &p);
                if (r < 0) {
                        config_free(cfg);
                        return log_error_errno(r, "Cannot examine %s: %m", t.path);
                }
                if (a.size && p.bytes != bytes) {
                        char b1[32], b2[32];
                        config_free(cfg);
                        return log_error_errno(-EINVAL, "%s is %s, but --size says %s; resize the image "
                                               "(truncate -s) or leave out --size", t.path,
                                               format_bytes(p.bytes, b1, sizeof b1), format_bytes(bytes, b2, sizeof b2));
                }
                bytes = p.bytes;
        } else if (!exists && !streq(a.verb, "plan") && !streq(a.verb, "unmount") && !(streq(a.verb, "apply") && a.image && a.size)) {
                config_free(cfg);
                return log_error_errno(-ENOENT, "%s does not exist%s", t.path,
                                       a.image ? "; give --size to create the image" : "");
        }

        DiskLayout *l = NULL;
        r = disk_layout_new(cfg, bytes, a.seed, &l);
        config_free(cfg);
        if (r == -ENOSPC) {
                char b1[32], b2[32];
                log_error("%s is %s, too small for this layout: it needs at least %s (ESP, swap and 1 GiB "
                          "for the pool); use a bigger disk or lower disk.swap-size / disk.esp-size",
                          t.path, format_bytes(bytes, b1, sizeof b1), format_bytes(disk_layout_min_bytes(l), b2, sizeof b2));
                disk_layout_free(l);
                return -ENOSPC;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to compute the disk layout: %m");

        if (streq(a.verb, "plan")) {
                r = disk_plan_write(l, &t, stdout);
                disk_layout_free(l);
                return r;
        }

        if (streq(a.verb, "unmount")) {
                _cleanup_free_ char *error = NULL;
                r = disk_unmount(l, a.root, &error);
                if (r < 0)
                        log_error("Failed to unmount %s: %s", a.root, error ? error : strerror(-r));
                else
                        printf("Nothing of %s is mounted on %s or open any more (credstore closed, pool exported)\n",
                               l->pool, a.root);
                disk_layout_free(l);
                return r;
        }

        if (streq(a.verb, "mount")) {
                DiskMountOptions mo = {
                        .root = a.root, .key_file = a.key_file, .tpm2_device = a.tpm2_device,
                        .no_tpm = a.no_tpm, .generation = a.generation,
                };
                r = disk_mount(l, &t, &mo);
                if (r < 0) {
                        log_error("Failed to mount %s on %s: %s", t.path, a.root, mo.error ? mo.error : strerror(-r));
                        _cleanup_free_ char *e2 = NULL;
                        /* leave nothing half open, but never export a pool that is not the target's */
                        if (mo.pool_ours)
                                (void) disk_unmount(l, a.root, &e2);
                } else
                        printf("%s mounted on %s (credstore opened by %s; every dataset's encryptionroot is %s/crypt)\n",
                               t.path, a.root, mo.unlocked_by, l->pool);
                free(mo.error);
                free(mo.unlocked_by);
                disk_layout_free(l);
                return r;
        }

        if (streq(a.verb, "install")) {
                GenerationInstallOptions io = {
                        .from = a.from, .force = a.force, .progress = on_install_progress,
                        .mount = { .root = a.root, .key_file = a.key_file, .tpm2_device = a.tpm2_device,
                                   .no_tpm = a.no_tpm },
                };
                printf("Installing the generation in %s on %s:\n", a.from, t.path);
                fflush(stdout);
                r = generation_install(l, &t, &io);
                if (r < 0)
                        log_error("Installing %s on %s failed: %s.%s", a.from, t.path,
                                  io.error ? io.error : strerror(-r),
                                  io.left_open ? "" : " Nothing is left mounted or open.");
                else
                        printf("Generation %u is installed on %s: the firmware boots it through systemd-boot.\n",
                               io.number, t.path);
                free(io.error);
                free(io.mount.error);
                free(io.mount.unlocked_by);
                disk_layout_free(l);
                return r;
        }

        if (streq(a.verb, "status")) {
                _cleanup_free_ char *why = NULL;
                r = disk_check_target(l, &t, &why);
                GptTable g;
                int gr = gpt_read(t.path, &g);
                if (r == 0 && gr == 0)
                        printf("%s: the GPT matches the host file\n", t.path);
                else if (r == 0)
                        printf("%s: blank, nothing applied yet\n", t.path);
                else
                        printf("%s: %s\n", t.path, why ? why : strerror(-r));
                /* the credstore, when its pool is imported: a damaged copy of
                 * its LUKS2 header would be used (and rewritten) silently */
                char cs[300], csdev[512];
                snprintf(cs, sizeof cs, "%s/credstore", l->pool ? l->pool : "rpool");
                LuksHeaderCheck hc;
                if (zvol_device(cs, csdev, sizeof csdev, 0) == 0 && luks_header_check(csdev, &hc) == 0 &&
                    !tpm_cmd_header_warn(csdev, &hc))
                        printf("%s (%s): both copies of the LUKS2 header are intact\n", cs, csdev);
                disk_layout_free(l);
                return r == -EBUSY || r == 0 ? 0 : r;
        }

        /* apply */
        r = disk_plan_write(l, &t, stdout);
        if (r < 0)
                goto out;
        if (!a.yes && !confirm(t.path)) {
                r = log_error_errno(-ECANCELED, "Nothing was written to %s: confirm with 'yes' at the prompt, "
                                    "or pass --yes", t.path);
                goto out;
        }
        if (!exists) {
                r = ensure_image(t.path, bytes);
                if (r < 0) {
                        log_error_errno(r, "Failed to create the image %s: %m", t.path);
                        goto out;
                }
        }
        printf("\nApplying to %s:\n", t.path);
        DiskApplyOptions o = {
                .force = a.force,
                .until = a.until ? (DiskStep) disk_step_from_name(a.until) : _STEP_MAX - 1,
                .progress = on_progress,
                .root = a.root,
                .key_file = a.key_file,
                .new_key_file = a.new_key_file,
        };
        r = disk_apply(l, &t, &o);
        if (r == -EEXIST && o.preflight_refused)
                log_error("Refusing to write: %s; nothing was changed. Re-run with --force to replace it.", o.error);
        else if (r == -EEXIST)
                /* a step found the disk contradicting the host file: --force would not help */
                log_error("Stopped: %s. The steps before it are done; fix the disk or the host file and run "
                          "apply again.", o.error);
        else if (r == -EBUSY)
                log_error("Refusing to write: %s. Nothing was changed.", o.error);
        else if (r < 0)
                log_error("%s", o.error ? o.error : strerror(-r));
        else
                printf("%s: done%s%s\n", t.path, a.until ? " up to step " : "", a.until ? a.until : "");
        free(o.error);
out:
        disk_layout_free(l);
        return r;
}
