/* SPDX-License-Identifier: MIT */
#pragma once

/* The phases of a remote install (`keystone install --phases …`) and the
 * record of which have ended, kept on the operator's side so that the same
 * command after a dropped connection or a killed run goes on where it
 * stopped:
 *
 *   kexec     the installer UKI's kernel and initrd started on the target
 *   disk      keystone disk apply: the disk erased and laid out
 *   install   the generation, the host keys and the extra files on the disk,
 *             the owner's Secure Boot keys enrolled, the pool exported
 *   reboot    the target started from its disk; the install secret fed to
 *             keystone-init over initrd SSH
 *   enroll    TPM and recovery key enrolled, the install secret's keyslot
 *             removed, a reboot that the TPM alone unlocks
 *
 * The record is STATE/phases: one line per ended phase, "NAME EPOCH
 * SECONDS", rewritten atomically after each.  A phase that is in it is not
 * run again (the disk of a host whose `disk` phase ended is never erased
 * again) unless the record is reset (`--fresh`). */

#include <stdbool.h>

typedef enum InstallPhase {
        INSTALL_PHASE_KEXEC,
        INSTALL_PHASE_DISK,
        INSTALL_PHASE_INSTALL,
        INSTALL_PHASE_REBOOT,
        INSTALL_PHASE_ENROLL,
        _INSTALL_PHASE_MAX,
} InstallPhase;

#define INSTALL_PHASES_ALL ((1u << _INSTALL_PHASE_MAX) - 1)

const char *install_phase_name(InstallPhase p);

/* "kexec,disk,install,reboot,enroll", any subset in this order, into a
 * mask of 1 << phase.  -EINVAL with *ret_error naming the word that is not
 * a phase, the one given twice or the one out of order. */
int install_phases_parse(const char *s, unsigned *ret_mask, char **ret_error);

typedef struct InstallRecord {
        unsigned done;                        /* 1 << phase of each ended phase */
        double seconds[_INSTALL_PHASE_MAX];   /* how long each took */
        long long ended[_INSTALL_PHASE_MAX];  /* when (seconds since the epoch) */
} InstallRecord;

/* Reads DIR/phases (none yet: an empty record).  -EBADMSG with *ret_error
 * (FILE:LINE) for a line that is not an ended phase: the record is not
 * guessed at, since it decides whether a disk is erased. */
int install_record_load(const char *dir, InstallRecord *ret, char **ret_error);

/* Adds phase p to the record and writes DIR/phases anew (atomically, 0600). */
int install_record_mark(const char *dir, InstallRecord *rec, InstallPhase p, double seconds, char **ret_error);

/* An empty record, written (--fresh). */
int install_record_reset(const char *dir, InstallRecord *rec, char **ret_error);

/* The first phase of mask that has not ended, or _INSTALL_PHASE_MAX when
 * all have. */
InstallPhase install_record_next(const InstallRecord *rec, unsigned mask);
