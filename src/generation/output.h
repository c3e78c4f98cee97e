/* SPDX-License-Identifier: MIT */
#pragma once

/* The build directory of `keystone build -o DIR`: the cached generation
 * (generation/build.h) copied, then what belongs to one machine only, which
 * is never written under the cache directory (its entries are keyed by
 * their inputs and shared between hosts):
 *
 *   host-keys.tar     with --host-keys: ./etc/ssh/ssh_host_ed25519_key (0600)
 *                     and .pub (0644), root's, for the real system
 *                     (`keystone disk install` unpacks it after rootfs.tar),
 *                     so the operator's known_hosts entry is right from the
 *                     first boot.  The file is 0600.
 *   initrd.img        with initrd-ssh: an uncompressed cpio of
 *                     etc/keystone-initrd/ (authorized_keys, the initrd's
 *                     host key 0600 and its .pub), then the cached initrd
 *                     unchanged.  0600.
 *   uki-unsigned.efi  with initrd-ssh: the UKI of that initrd and the command
 *   esp/EFI/Linux/keystone-N.efi   line with keystone.initrd-ssh=…; signed
 *                     with the db key when there is one.  Both 0600.
 *   cmdline           that command line.
 *
 * The initrd's host key is DIR/initrd_ssh_host_ed25519_key when --host-keys
 * has one, otherwise the system's own (docs/init.md says why one may want
 * the second). */

#include "generation/build.h"

typedef struct GenerationMachine {
        const char *host_keys;          /* --host-keys DIR; NULL: none */
        const char *const *ssh_keys;    /* every --ssh-key (NULL-terminated; may be NULL) */
        const char *key_dir;            /* Secure Boot keys whose db key signs the UKI; NULL: unsigned */
} GenerationMachine;

#define GENERATION_HOST_KEY "ssh_host_ed25519_key"             /* in --host-keys DIR */
#define GENERATION_INITRD_HOST_KEY "initrd_ssh_host_ed25519_key" /* in --host-keys DIR, optional */

/* DIR/ssh_host_ed25519_key (and DIR/initrd_ssh_host_ed25519_key when
 * there) is an ed25519 key readable by its owner only, with its .pub:
 * before a build, so that a wrong key is said at once. */
int generation_host_keys_check(const char *dir, char **error);

/* Copies g->dir to out and adds the machine's files (above) for spec s;
 * g->cmdline becomes the build directory's.  A host-keys.tar left from an
 * earlier build is removed when there are no host keys now.  On failure
 * *error says what failed, on which file. */
int generation_write_output(Generation *g, const ImageSpec *s, const GenerationMachine *m, const char *out,
                            char **error);
