/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "init/cmdline.h"
#include "init/datasets.h"
#include "init/zvol.h"
#include "tpm/luks-tpm2.h"

/* The boot flow of keystone-init: eight steps run in order, each printed on
 * the console with its duration:
 *
 *   [ 1/8] import-rpool-bare ... ok (0.41 s): credstore rpool/credstore is /dev/zd0
 *
 * Everything the steps do to the running system goes through InitSys (mount,
 * device-mapper, switch_root) and external programs run through run() found
 * in PATH, so the same sequence runs as PID 1 (root ""), and in tests and
 * dry runs against a directory tree with fake zpool/zfs programs. */

typedef struct InitSys {
        int (*mount)(void *u, const char *src, const char *target, const char *fstype, unsigned long flags,
                     const char *data);
        int (*umount)(void *u, const char *target);
        /* Activates the LUKS volume as /dev/mapper/NAME with its volume key. */
        int (*activate)(void *u, struct crypt_device *cd, const char *name, const uint8_t *vk, size_t n);
        int (*deactivate)(void *u, const char *name);
        /* Moves /dev /proc /sys /run into newroot, empties the initramfs,
         * chroots and execs init; returns only on failure. */
        int (*switch_root)(void *u, const char *newroot, const char *init, char *const argv[]);
        void *userdata;
} InitSys;

typedef struct InitContext {
        /* set by the caller */
        const char *root;               /* "" as PID 1; a directory in tests and dry runs */
        InitConfig cfg;
        InitSys sys;
        InitZvolLookup zvol;            /* .root is set from root */
        int zvol_timeout_ms;            /* 0: 10 s */
        FILE *console;
        double (*clock)(void);          /* seconds; NULL: CLOCK_BOOTTIME (time since the kernel started) */
        int (*read_secret)(const char *prompt, char **ret, size_t *ret_size);  /* NULL: secret_read_line */
        int tries;                      /* 0: 3 */
        char *const *init_argv;         /* NULL-terminated; argv[0] is replaced by cfg.init */
        bool dry;                       /* initrd-ssh prints its programs instead of running them */

        /* state carried from step to step */
        char credstore_node[4400];
        struct crypt_device *cd;
        Tpm2Context *tpm;
        uint8_t *vk;                    /* the credstore's volume key, for PCR 15; wiped in step 7 */
        size_t vk_size;
        char unlocked_by[128];
        bool pin_used;
        bool credstore_active, credstore_mounted;
        InitMountPlan plan;
        size_t n_mounted;
        /* initrd-ssh (init/initrd-ssh.h) */
        bool ssh_on;                    /* sshd started (planned, in a dry run): the socket may listen */
        pid_t sshd;
        char ssh_ifname[64];            /* the interface brought up for it */
        char ssh_address[64];           /* its address, without the prefix length */
        int unlock_client;              /* in step 2: the --unlock whose secret was right, told once the
                                         * volume is active (set to -1 at the step's start) */

        /* output */
        char *error;                    /* the failed step's explanation: what, on what, what to do */
        char detail[512];               /* what a step wants shown after "ok" */
        bool line_open, line_broken;
} InitContext;

/* every step's line, as on the console, appended (0600); it moves with
 * /run into the real system */
#define INIT_BOOT_LOG "/run/keystone-boot.log"

typedef struct InitStep {
        const char *name;
        int (*run)(InitContext *c);
} InitStep;

#define INIT_N_STEPS 8
extern const InitStep init_steps[INIT_N_STEPS];

/* Runs steps in order, printing each; stops at the first failure, prints
 * init_fatal_message() for it and returns its error.  *ret_failed (may be
 * NULL): index of the failed step, or n. */
int init_run_steps(InitContext *c, const InitStep *steps, size_t n, size_t *ret_failed);

/* What the console shows when step i (0-based) of n failed with r:
 * what failed, why, and what to do next.  malloc'd. */
char *init_fatal_message(const InitContext *c, const InitStep *step, size_t i, size_t n, int r);

/* A line on the console in the middle of a step (the step's line is
 * reprinted with its result afterwards). */
void init_note(InitContext *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Why the TPM did not open the credstore, from luks_tpm2_unlock()'s report. */
void init_tpm_refusal(const Tpm2UnlockReport *rep, int r, char *buf, size_t size);

/* Before keystone-init leaves for an emergency shell or a halt, on every
 * path: extends PCR 15 so that the TPM policy (which binds PCR 15 = 0, as
 * systemd's does) can no longer unseal the credstore in this boot.  With
 * the volume key held it measures the key as step 7 would; otherwise it
 * opens c->cfg.tpm2_device if needed and extends a fixed event.  1 when
 * extended, 0 when there is no TPM (tpm2-device auto and none found),
 * negative errno when the extension failed: then the caller must halt
 * rather than start a shell.  Wipes the volume key. */
int init_extend_pcr15(InitContext *c);

/* Releases the state; wipes the volume key. */
void init_context_done(InitContext *c);
