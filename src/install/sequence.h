/* SPDX-License-Identifier: MIT */
#pragma once

/* The install sequence, once, for every target (install/target.h):
 *
 *   disk          in the installer: keystone disk apply onto the disk (a new
 *                 credstore secret), and the secret back to the operator
 *                 over the command's stdout, never through a log
 *   generation    in the installer: keystone disk install --from the build
 *   secure-boot   in the installer: the owner's Secure Boot keys into its
 *                 /run, keystone secureboot enroll, the keys and the
 *                 installer's copy of the secret removed, user mode checked
 *   enroll        in the installed machine after its first boot: the secret
 *                 into its /run, keystone tpm enroll (the host file's PCRs),
 *                 keystone tpm recovery (the recovery key back), the install
 *                 secret's keyslot removed (keystone tpm wipe), its copy
 *                 shredded, the login banner made again
 *
 * `keystone vm` and `keystone install` call these in this order; starting
 * the installer, getting the files onto it, booting the disk and typing or
 * sending the secret are each driver's own.  Every step appends what it
 * ran to the target's log; each returns 0 or -errno with *ret_error saying
 * what failed, on which target, and where its log is. */

#include <stdbool.h>

#include "install/target.h"

/* where the steps keep things on the target (RAM: the installer's root and
 * the machine's /run) */
#define INSTALL_SEQ_SECRET "/root/credstore.secret"
#define INSTALL_SEQ_SB_DIR "/run/keystone-sb"
#define INSTALL_SEQ_MACHINE_SECRET "/run/keystone-credstore.secret"

typedef struct InstallSeq {
        InstallTarget *target;
        const char *host;               /* the host file, on the installer */
        const char *generation;         /* the build (keystone build -o), on the installer */
        const char *device;             /* the disk, on the installer ("/dev/vdb") */
        const char *keys_dir;           /* the owner's Secure Boot keys, on the operator's side */
        const char *pool;
        const char *pcrs;               /* "1+7": keystone tpm enroll --pcrs */
        bool tpm_disabled;              /* tpm.enable = false: no TPM enrollment, the secret's keyslot kept */
        bool no_pcr15;
        bool replace;                   /* generation: replace a generation of the same number (a run
                                         * that was cut may have installed it) */
} InstallSeq;

/* *ret_secret: the credstore secret, 64 hex digits (erase_and_free). */
int install_seq_disk(const InstallSeq *s, char **ret_secret, char **ret_error);

int install_seq_generation(const InstallSeq *s, char **ret_error);

int install_seq_secure_boot(const InstallSeq *s, char **ret_error);

typedef struct InstallEnrolled {
        char banner_before[512];        /* /run/motd.d/keystone-protection before enrollment */
        char *recovery_key;             /* erase_and_free */
} InstallEnrolled;

int install_seq_enroll(const InstallSeq *s, const char *secret, InstallEnrolled *ret, char **ret_error);

/* true when S is 64 hex digits (a credstore secret) */
bool install_seq_is_secret(const char *s);
