/* SPDX-License-Identifier: MIT */
#pragma once

/* Unlock over SSH in the initrd, the build's side (docs/init.md, "Unlock
 * over SSH in the initrd"; keystone-init's side is src/init/initrd-ssh.c).
 *
 * The host file's boot.initrd-ssh.* (ImageSpec.initrd_ssh*) says whether
 * and how; `keystone build --initrd-ssh-net` gives the network of the first
 * boot, known only at install time.  What the initrd gets is split in two:
 *
 *   shared (the cached generation, keyed by its inputs; no secret, no
 *   address): sshd, sshd-session, sshd-auth, ip, sh with their libraries;
 *   /etc/passwd, group, shadow for root and sshd's privilege separation
 *   user; the network drivers (generation_initrd_ssh_programs() …);
 *
 *   per machine (only in the build directory, generation/output.h): the
 *   host key and authorized_keys in a cpio before the cached initrd, and
 *   keystone.initrd-ssh=… on the UKI's command line. */

#include <stdbool.h>
#include <stddef.h>

#include "image/image.h"
#include "image/initrd.h"

/* --initrd-ssh-net VALUE: comma-separated KEY=VALUE, keys address (required),
 * gateway, interface, mac (interface or mac, not both) and mode (auto or
 * always).  It replaces the host file's whole network (its address,
 * gateway, interface and mac), and turns initrd-ssh on ("auto") when the
 * host file leaves it off; mode= sets the mode.  Checked as keystone-init
 * checks keystone.initrd-ssh.*.  -EINVAL with *error naming the key. */
int generation_initrd_ssh_apply_net(ImageSpec *s, const char *value, char **error);

/* Whether s asks for initrd-ssh, and if so that it can be built: an
 * address (from the host file or --initrd-ssh-net) and the host key
 * directory (host_keys, --host-keys; NULL when not given).  -EINVAL with
 * *error saying what to give, both ways where there are two. */
int generation_initrd_ssh_check(const ImageSpec *s, const char *host_keys, char **error);

/* " keystone.initrd-ssh=MODE keystone.initrd-ssh.address=A/N[ .gateway=G]
 * [ .interface=I][ .mac=M]" (with the leading space), malloc'd; "" when
 * initrd-ssh is off. */
int generation_initrd_ssh_cmdline(const ImageSpec *s, char **ret);

/* /etc/keystone-initrd/authorized_keys: the keys of the users in group sudo,
 * then extra (NULL-terminated, may be NULL: every --ssh-key), each once, one
 * per line; malloc'd.  -ENOKEY when there is none: nobody could log in. */
int generation_initrd_ssh_authorized_keys(const ImageSpec *s, const char *const *extra, char **ret);

/* The shared part: the programs (absolute paths in the generation's tree),
 * the kernel modules ("?NAME": when the kernel has it) and the files made
 * for the initrd (passwd, group, shadow), NULL-terminated / counted,
 * static. */
extern const char *const generation_initrd_ssh_programs[];
extern const char *const generation_initrd_ssh_modules[];
extern const InitrdData generation_initrd_ssh_files[];
extern const size_t generation_initrd_ssh_n_files;
