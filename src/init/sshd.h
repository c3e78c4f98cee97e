/* SPDX-License-Identifier: MIT */
#pragma once

#include <sys/types.h>

/* OpenSSH's sshd in the initrd (the installer; unlocking over SSH in the
 * boot flow), in the foreground of its own process (-D), its log on the
 * console (-e): the initrd has no other place an operator could read it. */

#define INIT_SSHD "/usr/sbin/sshd"
#define INIT_SSHD_LOG "/dev/console"

/* Makes what sshd needs in an initramfs (/ 0755, since StrictModes refuses
 * every key below a world-writable /; /run/sshd, /root, /var/tmp), starts
 * it with config and waits 0.3 s: a configuration error ends it at once.
 * 0 and its pid, or -errno and *ret_error. */
int init_sshd_start(const char *config, pid_t *ret_pid, char **ret_error);

/* Only the start, for a restart. */
int init_sshd_spawn(const char *config, pid_t *ret_pid);

/* Ends sshd and the sessions it serves.  Each session is a child of the
 * listener in a session of its own (setsid), which outlives the listener's
 * end: so each child of pid (found in /proc) gets SIGTERM first, then pid
 * is ended with spawn_stop().  0 or -errno. */
int init_sshd_stop(pid_t pid, int timeout_ms);
