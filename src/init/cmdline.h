/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* keystone-init's settings, from the kernel command line (/proc/cmdline).
 * Only keystone.* parameters are read; everything else belongs to the
 * kernel or to systemd.
 *
 *   keystone.pool=NAME              pool to import            (rpool)
 *   keystone.credstore=ZVOL         LUKS2 credstore zvol      (POOL/credstore)
 *   keystone.encryptionroot=DS      the only accepted encryption root (POOL/crypt)
 *   keystone.keyfile=FILE           key file in /etc/credstore (zfs-sysroot.mount)
 *   keystone.generation=N|DS        root file system: POOL/crypt/system/generations/N,
 *                                   or a full dataset name     (required)
 *   keystone.init=PATH              program run after switch_root (/sbin/init)
 *   keystone.tpm2-device=DEV        auto, /dev/tpmrm0 or a TCTI string (auto)
 *   keystone.tpm=0                  do not use the TPM at all: the password or
 *                                   recovery key opens the credstore, PCR 15 is
 *                                   not extended (tpm.enable = false)  (1)
 *   keystone.emergency=halt|shell   what a fatal error leads to (halt)
 *   keystone.debug                  debug logging on the console
 *
 * The installer (the initrd of `keystone vm`'s installer UKI) instead:
 *
 *   keystone.installer              run the installer, not the boot flow
 *                                   (keystone.generation is then not needed)
 *   keystone.installer.address=A/N  IPv4 address and prefix length   (required)
 *   keystone.installer.gateway=A    default route                    (none)
 *   keystone.installer.interface=I  network interface  (the first that is not lo)
 *   keystone.installer.mac=M        the interface with this hardware address
 *                                   (aa:bb:cc:dd:ee:ff): how remote install names
 *                                   the target's card, since the names udev gave
 *                                   it before kexec do not exist in the initrd
 *
 * Unlocking over SSH in the boot flow (docs/init.md, "Unlock over SSH"):
 *
 *   keystone.initrd-ssh=auto        sshd in the initrd when the TPM does not open
 *                                   the credstore and a secret must be asked for
 *   keystone.initrd-ssh=always      sshd from the start (keystone install's first boot)
 *   keystone.initrd-ssh=0           never                                     (0)
 *   keystone.initrd-ssh.address=A/N, .gateway=A, .interface=I, .mac=M
 *                                   its network, as keystone.installer.* (the
 *                                   address is required when initrd-ssh is on)
 *
 * Values may be double-quoted.  The last occurrence of a parameter wins. */

#define INIT_NAME_MAX 256

/* One interface with a static IPv4 address: keystone.installer.* and
 * keystone.initrd-ssh.* */
typedef struct InitNetwork {
        char address[INIT_NAME_MAX];            /* A/N */
        char gateway[INIT_NAME_MAX];            /* "" : no default route */
        char interface[INIT_NAME_MAX];          /* "" : by mac, or the first that is not lo */
        char mac[INIT_NAME_MAX];                /* lower case */
} InitNetwork;

/* What init_network_check() found wrong with a network. */
typedef enum InitNetworkProblem {
        INIT_NETWORK_OK,
        INIT_NETWORK_NO_ADDRESS,
        INIT_NETWORK_BAD_ADDRESS,               /* not A.B.C.D/N */
        INIT_NETWORK_BAD_GATEWAY,               /* not A.B.C.D */
        INIT_NETWORK_BAD_INTERFACE,             /* '/', ".", "..", 16 bytes or more */
        INIT_NETWORK_BAD_MAC,                   /* not aa:bb:cc:dd:ee:ff */
        INIT_NETWORK_INTERFACE_AND_MAC,         /* both name the interface */
} InitNetworkProblem;

/* Checks a network as keystone-init reads it (the address is required; the
 * mac is made lower case).  *ret (may be NULL) is the first problem; the
 * result is what the bad field should be ("an IPv4 address"), NULL for
 * INIT_NETWORK_OK, _NO_ADDRESS and _INTERFACE_AND_MAC.  The host file's
 * boot.initrd-ssh and `keystone build --initrd-ssh-net` use it too, so the
 * build refuses exactly what keystone-init would. */
const char *init_network_check(InitNetwork *n, InitNetworkProblem *ret);
/* The field a problem is about: its name ("address", "gateway",
 * "interface", "mac") and its value in n. */
const char *init_network_field_name(InitNetworkProblem p);
const char *init_network_field(const InitNetwork *n, InitNetworkProblem p);

typedef enum InitSshMode {
        INIT_SSH_OFF,
        INIT_SSH_AUTO,                          /* when a secret must be asked for */
        INIT_SSH_ALWAYS,                        /* from the start */
} InitSshMode;

typedef struct InitConfig {
        char pool[INIT_NAME_MAX];
        char credstore[INIT_NAME_MAX];
        char encryptionroot[INIT_NAME_MAX];
        char keyfile[INIT_NAME_MAX];
        char generation[INIT_NAME_MAX];         /* full dataset name */
        char init[INIT_NAME_MAX];
        char tpm2_device[INIT_NAME_MAX];
        bool tpm_disabled;                      /* keystone.tpm=0 */
        bool emergency_shell;
        bool debug;
        bool installer;
        InitNetwork installer_net;
        InitSshMode initrd_ssh;
        InitNetwork initrd_ssh_net;
        unsigned n_unknown;                     /* keystone.* parameters not understood (ignored) */
        char unknown[INIT_NAME_MAX];            /* the first of them */
} InitConfig;

/* Parses a kernel command line.  -EINVAL with *ret_error (malloc'd) naming
 * the parameter, what is wrong with its value and what is expected. */
int init_config_parse(const char *cmdline, InitConfig *ret, char **ret_error);

/* The settings keystone-init stops with when init_config_parse() refused the
 * command line: the defaults, plus keystone.tpm2-device= and
 * keystone.emergency= taken word by word where they can be read, so that
 * the stop still extends PCR 15 on the right TPM (docs/init.md).  Never
 * fails; cmdline may be NULL. */
void init_config_fallback(const char *cmdline, InitConfig *ret);

/* Whether s is a plausible ZFS dataset name: [A-Za-z0-9_.:-] components
 * joined by single '/', no leading or trailing '/', < 256 bytes. */
bool init_dataset_name_valid(const char *s);
