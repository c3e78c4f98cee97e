/* SPDX-License-Identifier: MIT */
#pragma once

/* keystone tpm: the dispatcher (tpm.c), one file per method (tpm-*.c) and
 * the helpers they share (tpm-common.c).  Each method is called with argv[0]
 * its own name ("enroll", …). */

#include <stddef.h>
#include <stdint.h>

#include "cmd/cmd.h"
#include "tpm/luks-tpm2.h"
#include "tpm/luks.h"
#include "tpm/tpm2-context.h"

int cmd_tpm_enroll(int argc, char **argv);
int cmd_tpm_unlock(int argc, char **argv);
int cmd_tpm_recovery(int argc, char **argv);
int cmd_tpm_password(int argc, char **argv);
int cmd_tpm_wipe(int argc, char **argv);
int cmd_tpm_status(int argc, char **argv);
int cmd_tpm_measure(int argc, char **argv);

/* Each prints the one error message the user reads and returns -errno. */
int tpm_cmd_open_luks(const char *path, struct crypt_device **ret);
int tpm_cmd_open_tpm(const char *device, Tpm2Context **ret);

/* Warns when before (luks_header_check() of path, read before libcryptsetup
 * opened it) shows a damaged copy of the LUKS2 header: libcryptsetup then
 * uses the other copy, and rewrites the damaged one, without a word.  True
 * when it warned. */
bool tpm_cmd_header_warn(const char *path, const LuksHeaderCheck *before);

/* The volume key from --unlock-key-file, or a passphrase / recovery key
 * read from stdin (prompted on a terminal).  Returns the keyslot. */
int tpm_cmd_volume_key(struct crypt_device *cd, const char *path, const char *key_file,
                       uint8_t **ret_vk, size_t *ret_vk_size);

/* Explains a failed TPM unlock: which PCRs changed, what still works. */
int tpm_cmd_unlock_failed(const char *path, const char *tcti, const Tpm2UnlockReport *rep, int r);

/* Writes the header change message for a keyslot/token operation failure. */
int tpm_cmd_header_failed(int r, const char *what, const char *path);

/* Parses a getopt argument count check for "tpm SUB": n positional args
 * in [min, max]. */
int tpm_cmd_check_args(const char *sub, int n, int min, int max);
