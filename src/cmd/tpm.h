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
int cmd_tpm_banner(int argc, char **argv);

/* On an installed machine: the host file's tpm.* and disk.pool, as
 * /etc/keystone/tpm.toml (src/image/etc-tpm.c) has them. */
#define TPM_HOST_FILE "/etc/keystone/tpm.toml"
/* The install state's copy of the install secret, for the first-boot
 * enrollment (`keystone tpm enroll --auto`), erased by it. */
#define TPM_INSTALL_SECRET_FILE "/var/lib/keystone/install-secret"

typedef struct TpmHostSettings {
        bool enable;            /* tpm.enable */
        uint32_t pcr_mask;      /* tpm.pcrs */
        bool bind_pcr15;        /* tpm.bind-pcr15 */
        char credstore[300];    /* /dev/zvol/<disk.pool>/credstore */
} TpmHostSettings;

/* Reads a host file's TPM settings; prints the problems and returns -errno
 * when it cannot be loaded. */
int tpm_cmd_host_settings(const char *host_path, TpmHostSettings *ret);

/* The credstore's block device of the settings, waiting up to 30 s for the
 * zvol to appear (early in a boot udev may not have made it yet). */
int tpm_cmd_credstore_device(const TpmHostSettings *h, char *buf, size_t size);

/* Adds a recovery key (printed once on stdout) with its keyslot and
 * systemd-recovery token; returns the keyslot. */
int tpm_cmd_add_recovery(struct crypt_device *cd, const char *path, const uint8_t *vk, size_t vk_size);

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
