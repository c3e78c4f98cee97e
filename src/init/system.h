/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "init/steps.h"

/* What keystone-init does to the running system as PID 1: the API file
 * systems, the console, kernel modules, device-mapper, switch_root, halt. */

/* The real InitSys: mount(2), umount(2), libcryptsetup, switch_root. */
extern const InitSys init_sys_real;

/* Mounts /proc, /sys, /dev (devtmpfs) and /run (tmpfs); an already mounted
 * one is fine.  *ret_what names the one that failed. */
int init_mount_api_filesystems(const char **ret_what);

/* stdin, stdout and stderr on /dev/console, which becomes the controlling
 * terminal (so the password prompt can turn echo off). */
int init_console_setup(void);

/* Loads the modules listed in path (one name or alias per line, '#'
 * comments) with libkmod, with their dependencies.  A module that is
 * missing or fails is reported on console and skipped: the step that needs
 * it then fails with its own message.  dry: only resolve and list.
 * Returns the number loaded (or resolved), -errno when the list cannot be
 * read or libkmod cannot start. */
int init_load_modules(const char *path, bool dry, FILE *console, char *summary, size_t summary_size);

/* Seeds the kernel's random pool from the TPM when it is not initialised
 * yet: 32 bytes of TPM2_GetRandom credited as 256 bits (RNDADDENTROPY).
 * Without it the first blocking getrandom() (OpenSSL's, for the TPM
 * session of the unlock) waits for the kernel to gather jitter entropy:
 * about a second under TCG, on CPUs without RDRAND, or where the kernel
 * does not use the TPM as a hardware RNG (AMD).  tpm2_device as for
 * 'keystone tpm' (NULL: auto).  Returns 1 when it credited the TPM's bytes,
 * 0 when the pool was already initialised, -errno on failure (-ENODEV: no
 * TPM). */
int init_seed_rng(const char *tpm2_device);

/* Deletes everything below dirfd that lives on device dev, never crossing
 * into another file system (mount points and their contents stay). */
int init_remove_tree(int dirfd, dev_t dev);

/* switch_root: moves /dev /proc /sys /run below newroot, makes newroot /,
 * empties the old initramfs (only when / is ramfs or tmpfs), execs init.
 * Returns only on failure. */
int init_switch_root(const char *newroot, const char *init, char *const argv[]);

/* Never returns: a shell on the console first when emergency_shell (and
 * /bin/sh exists), then sync and halt. */
_Noreturn void init_halt(bool emergency_shell, FILE *console);
