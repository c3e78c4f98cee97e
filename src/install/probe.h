/* SPDX-License-Identifier: MIT */
#pragma once

/* Probe and refuse first: what a remote install learns about its target
 * before it changes anything, and the decision whether to go on.
 *
 * probe_script (src/install/probe.sh, embedded at build time) is one
 * constant POSIX sh script, sent on stdin to `sh -s` on the target as root.
 * It only reads (/proc, /sys, efivarfs, /dev/disk/by-id, the first sectors
 * of each disk; blkid, ip and zpool when installed) and prints a report, one
 * "KEY VALUE" line each (KEY, one space, VALUE to the end of the line; a key
 * alone has the empty value).  In values, a backslash, control bytes and
 * bytes past 0x7e are written \xHH; nothing else is escaped.  Arguments
 * (`sh -s -- ARG…`) are for tests only: "with-loop" reports loop devices
 * too, "no-blkid" reads signatures as if blkid were not installed.
 *
 *   keystone-probe 1          first line: the format's version
 *   arch x86_64               uname -m
 *   mem.total-kib N           MemTotal of /proc/meminfo
 *   efi yes|no                /sys/firmware/efi exists (booted through UEFI)
 *   efivars yes|no            efivarfs readable (only when efi yes)
 *   sb.secure-boot HEX        SecureBoot variable's data (attributes cut off)
 *   sb.setup-mode HEX         SetupMode's data
 *   sb.pk HEX                 PK's data: EFI signature lists (secureboot/esl.h);
 *                             absent when there is no PK
 *   tpm yes|no                /sys/class/tpm/tpm0 exists
 *   tpm.version-major N       its tpm_version_major (2: TPM 2.0)
 *   kexec.load-disabled 0|1   /proc/sys/kernel/kexec_load_disabled
 *   lockdown none|integrity|confidentiality   the kernel's lockdown state
 *   blkid yes|no              signatures below come from blkid -p (else
 *                             from the magic bytes the script knows)
 *   disk NAME                 a whole disk of /sys/block (not loop, ram,
 *                             zram, sr, dm-, md, fd, nbd, mmcblk boot and
 *                             rpmb areas): the disk* lines
 *                             after it, up to the next disk, are about it
 *   disk.size BYTES
 *   disk.model TEXT, disk.serial TEXT, disk.wwid TEXT
 *   disk.rotational 0|1, disk.removable 0|1
 *   disk.id NAME              a /dev/disk/by-id link to it (any number)
 *   disk.part NAME            one of its partitions (any number)
 *   disk.mount NAME PATH      NAME (the disk or a partition) is mounted on PATH
 *   disk.swap NAME            NAME is swap in use
 *   disk.holder NAME HOLDER   NAME is held (holders/: dm-0, md0; "zfs": in an
 *                             imported pool)
 *   disk.pttype TYPE          the disk's partition table (gpt, dos)
 *   disk.fs NAME TYPE         a file system or other signature on NAME
 *                             (ext4, crypto_LUKS, zfs_member, swap…)
 *   disk.zero yes|no|unknown  whether its first MiB is all zeros (unknown:
 *                             it could not be read)
 *   net.if NAME               a network interface but lo; the net.if.* lines
 *                             after it are about it
 *   net.if.mac MAC, net.if.state STATE (operstate)
 *   net.if.addr ADDR/PREFIX   a global address (any number; from ip)
 *   net.if.dynamic ADDR/PREFIX  one of them came from DHCP/SLAAC
 *   net.ip yes|no             iproute2 present (else no addresses)
 *   net.gateway ADDR IFACE    a default route (IPv4, IPv6)
 *   net.dns ADDR              a nameserver of /etc/resolv.conf
 *   end                       last line: the report is complete
 *
 * The report comes from the machine being probed, so probe_parse() treats
 * it as hostile: bounded sizes and counts, every escape and number checked,
 * unknown keys skipped (a newer script), a key that is not repeatable given
 * twice, a disk.* line before any disk and a missing "end" refused. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern const char probe_script[];       /* NUL-terminated */
extern const size_t probe_script_size;  /* without the NUL */

#define PROBE_REPORT_MAX (1024 * 1024)  /* bytes */
#define PROBE_MAX_DISKS 256
#define PROBE_MAX_INTERFACES 256
#define PROBE_MAX_ITEMS 1024            /* entries of one list */
#define PROBE_MIN_MEMORY 1500000000ULL  /* bytes: 1.5 GB */

typedef enum ProbeTri {
        PROBE_UNKNOWN = -1,
        PROBE_NO = 0,
        PROBE_YES = 1,
} ProbeTri;

typedef struct ProbeDisk {
        char *name;                     /* "vda", "nvme0n1" */
        uint64_t size;                  /* bytes */
        char *model, *serial, *wwid;    /* NULL when not reported; trimmed */
        ProbeTri rotational, removable;
        char **ids;                     /* by-id names, strv (never NULL) */
        char **partitions;
        char **mounts;                  /* "NAME PATH" */
        char **swaps;                   /* NAME */
        char **holders;                 /* "NAME HOLDER" */
        char *pttype;                   /* NULL: none found */
        char **filesystems;             /* "NAME TYPE" */
        ProbeTri zero;                  /* first MiB all zeros */
} ProbeDisk;

typedef struct ProbeInterface {
        char *name;
        char *mac, *state;
        char **addresses;               /* "ADDR/PREFIX" */
        char **dynamic;
} ProbeInterface;

typedef struct ProbeReport {
        char *arch;
        uint64_t mem_total;             /* bytes; 0: not reported */
        bool efi;
        ProbeTri efivars;
        int secure_boot, setup_mode;    /* the variable's byte; -1: not reported */
        uint8_t *pk;                    /* NULL: no PK reported */
        size_t pk_size;
        bool tpm;
        int tpm_version;                /* -1: not reported */
        int kexec_load_disabled;        /* -1: not reported */
        char *lockdown;                 /* NULL: not reported */
        ProbeTri blkid;
        ProbeDisk *disks;
        size_t n_disks;
        ProbeInterface *interfaces;
        size_t n_interfaces;
        char **gateways;                /* "ADDR IFACE" */
        char **nameservers;
        bool ip;
} ProbeReport;

/* Parses a report of SIZE bytes (need not be NUL-terminated).  0 and *ret
 * (free with probe_report_free()), or -EBADMSG with *ret_error saying which
 * line is wrong and why, -E2BIG past PROBE_REPORT_MAX or a limit, -ENOMEM. */
int probe_parse(const char *data, size_t size, ProbeReport **ret, char **ret_error);
void probe_report_free(ProbeReport *r);

/* What the host file asks for. */
typedef struct ProbeWants {
        const char *disk_device;        /* disk.device: "/dev/vda", "/dev/disk/by-id/…", "vda" */
        bool secure_boot;               /* secure-boot.enable */
        bool tpm;                       /* tpm.enable */
        const uint8_t *owner_pk;        /* the owner's PK certificate (DER); NULL: not known */
        size_t owner_pk_size;
} ProbeWants;

struct Config;
/* The ProbeWants of a loaded host file: disk.device, secure-boot.enable,
 * tpm.enable (owner_pk left NULL: the caller loads the owner's PK
 * certificate).  The strings point into C. */
void probe_wants_from_config(const struct Config *c, ProbeWants *ret);

/* What the operator allows on the command line. */
typedef struct ProbeOptions {
        bool force;                     /* --force: erase a disk that holds data */
        bool no_tpm;                    /* --no-tpm */
        bool secure_boot_later;         /* --secure-boot=later */
        bool kexec_releases;            /* the installer will take over by kexec and run from RAM: a
                                         * disk the running system uses is released then (a machine
                                         * with one disk), so in use is no refusal; it holds data, so
                                         * --force is still needed */
} ProbeOptions;

/* The disk of the report that DEVICE names: a whole disk by name
 * ("/dev/vda", "vda") or by one of its by-id links ("/dev/disk/by-id/X",
 * "X").  -ENODEV (no disk, or a partition: *ret_error says which disks
 * there are, with their ids and sizes) or -ENOTUNIQ (names two disks). */
int probe_find_disk(const ProbeReport *r, const char *device, const ProbeDisk **ret, char **ret_error);

/* Whether the install may go on: 0, or the first refusal's -errno with
 * every refusal in *ret_error, one line each saying what was found and what
 * to do.  Refusals: not x86_64 (-EOPNOTSUPP); less than PROBE_MIN_MEMORY
 * (-EPERM); not booted through UEFI (-EOPNOTSUPP); Secure Boot neither in
 * setup mode nor in user mode with the owner's PK (-EPERM unless
 * secure_boot_later; when the host does not want Secure Boot, Secure Boot
 * must be off); no TPM 2.0 (-EPERM unless no_tpm or the host's tpm.enable
 * is false); kexec disabled (kexec_load_disabled 1: -EPERM; remote
 * install starts its installer with kexec); the target disk not found (-ENODEV/-ENOTUNIQ), mounted, swap
 * or held (-EBUSY, even with force, unless kexec_releases), holding data or unreadable (-EEXIST
 * unless force). */
int probe_check(const ProbeReport *r, const ProbeWants *w, const ProbeOptions *o, char **ret_error);

/* Whether D holds data (a partition table, a signature, a first MiB that
 * is not zeros or could not be read); what was found in *ret_what
 * (malloc'd, may be NULL) when it does. */
bool probe_disk_holds_data(const ProbeDisk *d, char **ret_what);

/* The by-id name to show for D: the one DEVICE names when it names one,
 * else wwn-…, else the first; NULL when D has none. */
const char *probe_disk_id(const ProbeDisk *d, const char *device);

/* The dry run's lines about the disk (malloc'd, ends with a newline):
 *   erase  /dev/disk/by-id/ID
 *          vda, MODEL, 20 GiB, serial SERIAL */
int probe_format_plan(const ProbeDisk *d, const char *device, char **ret);
