/* SPDX-License-Identifier: MIT */
#pragma once

/* `keystone vm HOST.toml`: a host installed into a blank VM the way a real
 * machine is, and proven to come up unlocking itself.
 *
 *   keys        the owner's Secure Boot keys (imported from the host's
 *               secure-boot.key-dir when it has them, else generated) and an
 *               SSH key pair of this VM's own, in the state directory
 *   build       `keystone build HOST --keys STATE/keys --ssh-key STATE/ssh/…`:
 *               the generation, signed, with the state's key for every user
 *   installer   the installer: the host's own rootfs (the build's cache
 *               stages) as an ext4 root image with the host name
 *               keystone-installer and one user "keystone" (group sudo, the
 *               state's SSH key); the build and the host file on a second
 *               ext4 image; a blank sparse disk
 *   install     the installer VM (OVMF secboot in setup mode), over SSH:
 *               keystone disk apply (a new credstore secret, copied back to
 *               the state), keystone disk install, the Secure Boot keys into
 *               its /run and keystone secureboot enroll, power off
 *   first-boot  the disk alone with the installer's UEFI variables (user
 *               mode) and a swtpm: the secret typed at keystone-init's
 *               prompt, then over SSH as the host's sudo user: keystone tpm
 *               enroll (the host file's tpm.pcrs and tpm.bind-pcr15; none
 *               with tpm.enable = false) and keystone tpm recovery (the
 *               recovery key to the operator and, 0600, the state), then the
 *               install secret removed: its keyslot (keystone tpm wipe
 *               --slot=install-secret), the guest's and the state's copy
 *               (overwritten, removed), and the login banner regenerated
 *   verify      reboot: the credstore must open with the TPM and nothing
 *               typed; the encryptionroot check, Secure Boot in user mode and
 *               an SSH login are read from the console and the guest
 *
 * State (0700): keys/, ssh/, credstore.secret (until first-boot erases it),
 * recovery-key, disk.img,
 * media/ (the build and host files), installer/ and machine/ (each VM's
 * console.log, qemu.log; machine/OVMF_VARS.fd and machine/tpm/ are the
 * machine's firmware variables and TPM), logs/N-stage.log, installed.
 * A state whose machine is installed only runs verify (boots it); --fresh
 * or an unfinished install starts over with a new disk, variables and TPM
 * (the keys are kept). */

#include <limits.h>
#include <stdbool.h>

#include "image/image.h"
#include "vm/vm.h"

typedef enum VmDeployStage {
        VM_STAGE_KEYS,
        VM_STAGE_BUILD,
        VM_STAGE_INSTALLER,
        VM_STAGE_INSTALL,
        VM_STAGE_FIRST_BOOT,
        VM_STAGE_VERIFY,
        _VM_STAGE_MAX,
} VmDeployStage;

typedef struct VmDeployOptions {
        const char *host_path;
        const ImageSpec *spec;       /* host_path's, as image_spec_load() makes it, when the caller has
                                      * loaded it (kept by the caller); NULL: loaded here */
        const char *state_dir;       /* NULL: /var/lib/keystone/vm/<host name> */
        bool fresh;
        const char *keystone;        /* the keystone binary `keystone build` runs as (absolute) */
        const char *cache_dir;       /* NULL: $KEYSTONE_CACHE_DIR or /var/cache/keystone */
        unsigned long long disk_bytes; /* 0: 20 GiB, sparse */
        unsigned cpus;               /* of each VM; 0: 2 (1 on a one-core host) */
        bool keep_running;           /* leave the machine running after verify (ret->machine) */
        /* called when a stage starts (done false) and ends (done true, r) */
        void (*progress)(void *userdata, VmDeployStage stage, bool done, int r, double seconds, const char *log);
        /* while the build runs: each progress line (util/progress.h, "build: rootfs: started") and
         * warning ("keystone build: warning: …") the child `keystone build` writes to its log; may be NULL */
        void (*detail)(void *userdata, VmDeployStage stage, const char *line);
        void *userdata;
} VmDeployOptions;

typedef struct VmDeployResult {
        char state_dir[PATH_MAX];
        char hostname[256];
        char user[64];               /* the user SSH logs in as (the first one in group sudo) */
        char ssh_key[PATH_MAX + 32]; /* the state's private key */
        char pool[64];
        bool installed_now;          /* false: the state held an installed machine already */
        char *recovery_key;          /* installed now: the recovery key (erase_and_free) */
        bool keys_imported;          /* the Secure Boot keys came from the host's key-dir */
        bool keys_generated;
        /* measured in the last boot */
        bool secure_boot, user_mode;
        char tpm_line[256], encroot_line[256], ssh_line[128], root_line[128];
        char banner_first_boot[512];   /* /run/motd.d/keystone-protection before enrollment */
        double seconds[_VM_STAGE_MAX], total_seconds;
        bool ran[_VM_STAGE_MAX];
        Vm *machine;                 /* keep_running: the running machine */
        int ssh_port;
} VmDeployResult;

const char *vm_deploy_stage_name(VmDeployStage s);
/* /var/lib/keystone/vm/<hostname> */
#define VM_STATE_DIR_DEFAULT "/var/lib/keystone/vm"

/* 0, or -errno with *ret_error (may be NULL) set to what failed, where its log is and what to do;
 * *ret is filled as far as the deploy came either way (state_dir, the stages that ran). */
int vm_deploy(const VmDeployOptions *o, VmDeployResult *ret, char **ret_error);
void vm_deploy_result_done(VmDeployResult *r);
