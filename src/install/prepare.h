/* SPDX-License-Identifier: MIT */
#pragma once

/* What every install makes on the operator's side before it touches a
 * machine, in its state directory (keystone vm's, keystone install's):
 *
 *   keys   STATE/keys: the owner's Secure Boot keys, kept from an earlier
 *          run, imported from the host's secure-boot.key-dir, or generated;
 *          STATE/ssh/id_ed25519: an SSH key pair of the state's own (every
 *          user of the build gets its public half; the installer lets root
 *          in with it)
 *   build  `keystone build HOST --keys STATE/keys --ssh-key PUB -o
 *          STATE/media/generation` as a child process writing to its own
 *          log, and STATE/media/host: the host file, the files it imports
 *          from its own directory, its keystone.lock
 *   installer  the installer's cache entry for that generation
 *          (install/installer.h)
 *
 * Each returns 0 or -errno with *ret_error saying what failed, on what;
 * each writes what it did, one line each, to log_path. */

#include <limits.h>
#include <stdbool.h>

#include "image/image.h"
#include "install/installer.h"

typedef struct InstallPrepare {
        const char *host_abs;           /* the host file, absolute */
        const ImageSpec *spec;
        bool locked;                    /* a keystone.lock is beside the host file */
        const char *state_dir;
        const char *keystone;           /* the keystone binary `keystone build` runs as */
        const char *cache_dir;          /* NULL: the default */
        const char *who;                /* for key names and comments: "keystone vm", "keystone install" */
        const char *log_path;           /* the current step's log */
        const char *const *build_args;  /* more arguments for keystone build (NULL-ended), or NULL */
        /* the build's progress and warning lines as they come; may be NULL */
        void (*detail)(void *userdata, const char *line);
        void *userdata;
} InstallPrepare;

typedef struct InstallKeys {
        char ssh_key[PATH_MAX];         /* STATE/ssh/id_ed25519 */
        char pub[1024];                 /* its public key line */
        bool imported, generated;       /* the Secure Boot keys came from the host's key dir / were made now */
} InstallKeys;

int install_prepare_keys(const InstallPrepare *p, InstallKeys *ret, char **ret_error);

/* The build, with the state's keys and PUB on every user. */
int install_prepare_build(const InstallPrepare *p, const char *pub, char **ret_error);

/* The installer of STATE/media/generation. */
int install_prepare_installer(const InstallPrepare *p, Installer *ret, char **ret_error);

/* STATE/ssh/host/ssh_host_ed25519_key (0600) and its .pub: the host's own
 * SSH host key, made once on the operator's side (ssh-keygen), kept
 * afterwards, for `keystone build --host-keys` (the system's and the
 * initrd's host key, so the operator's known_hosts is right from the first
 * boot). */
int install_prepare_host_keys(const char *state_dir, char **ret_error);
