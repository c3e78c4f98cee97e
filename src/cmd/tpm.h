/* SPDX-License-Identifier: MIT */
#pragma once

/* keystone tpm: the verb table and its help (tpm.c), one file per verb
 * (tpm-*.c) and what they share (tpm-common.c): the family's option set
 * below, and tpm_volume_open(), the opening every verb starts with. */

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd/cmd.h"
#include "tpm/luks-tpm2.h"
#include "tpm/luks.h"
#include "tpm/tpm2-context.h"

/* On an installed machine: the host file's tpm.* and disk.pool, as
 * /etc/keystone/tpm.toml (src/image/etc-tpm.c) has them. */
#define TPM_HOST_FILE "/etc/keystone/tpm.toml"
/* The install state's copy of the install secret, for the first-boot
 * enrollment (`keystone tpm enroll --auto`), erased by it. */
#define TPM_INSTALL_SECRET_FILE "/var/lib/keystone/install-secret"

/* The options of the tpm verbs, each declared once with the verbs that
 * allow it (cmd/cmd.h). */
#define TPM_OPTIONS(X)                                                                                              \
        X(TPM_OPT_TPM2_DEVICE, "tpm2-device", 0, "DEV", "enroll unlock status measure",                           \
          "auto (default), /dev/tpmrm0, or a TCTI string")                                                          \
        X(TPM_OPT_NO_TPM, "no-tpm", 0, NULL, "status", "do not query the TPM")                                      \
        X(TPM_OPT_UNLOCK_KEY_FILE, "unlock-key-file", 0, "FILE", "enroll recovery password measure",              \
          "an existing passphrase or recovery key, from a file\n"                                                   \
          "(otherwise read from standard input)")                                                                   \
        X(TPM_OPT_PCRS, "pcrs", 0, "LIST", "enroll",                                                                \
          "PCRs bound at their current values, joined by '+'\n"                                                     \
          "(default: the host file's tpm.pcrs with --host or\n"                                                     \
          "--auto, else 1+7)")                                                                                      \
        X(TPM_OPT_PCR15, "pcr15", 0, NULL, "enroll",                                                                \
          "also bind PCR 15 at zero, so that 'keystone tpm\n"                                                       \
          "measure' after unlock closes the TPM for the rest of\n"                                                  \
          "the boot (default: tpm.bind-pcr15 with --host or\n"                                                      \
          "--auto, else on)")                                                                                       \
        X(TPM_OPT_NO_PCR15, "no-pcr15", 0, NULL, "enroll",                                                          \
          "do not bind PCR 15 at zero (the last of --pcr15 and\n"                                                   \
          "--no-pcr15 given counts)")                                                                               \
        X(TPM_OPT_HOST, "host", 0, "FILE", "enroll banner",                                                         \
          "the host file to take tpm.* and disk.pool from (the\n"                                                   \
          "defaults of --pcrs, --pcr15 and DEVICE); for enroll\n"                                                   \
          "--auto and banner " TPM_HOST_FILE " by default")                                                       \
        X(TPM_OPT_AUTO, "auto", 0, NULL, "enroll", "protect an installed machine in one go (see above)")           \
        X(TPM_OPT_INSTALL_SECRET_FILE, "install-secret-file", 0, "FILE", "enroll",                                  \
          "with --auto: the install state's secret, used when\n"                                                    \
          "no --unlock-key-file is given and erased\n"                                                              \
          "(overwritten, removed) at the end\n"                                                                     \
          "(default " TPM_INSTALL_SECRET_FILE ")")                                                                  \
        X(TPM_OPT_SRK, "srk", 0, "MODE", "enroll",                                                                  \
          "auto: seal under the persistent SRK (0x81000001)\n"                                                      \
          "when there is one (systemd >= 255 form), else under\n"                                                   \
          "the transient primary systemd 252 uses; transient;\n"                                                    \
          "persistent: create the SRK when missing")                                                                \
        X(TPM_OPT_REPLACE, "replace", 0, NULL, "enroll",                                                            \
          "after the new keyslot is in place, wipe the TPM2\n"                                                      \
          "keyslots enrolled before (re-enrollment after an\n"                                                      \
          "expected PCR change)")                                                                                   \
        X(TPM_OPT_TEST, "test", 0, NULL, "unlock", "only verify; needs no device-mapper")                           \
        X(TPM_OPT_PIN_FILE, "pin-file", 0, "FILE", "unlock",                                                        \
          "the TPM2 PIN for tokens enrolled with one\n"                                                             \
          "(systemd-cryptenroll --tpm2-with-pin); otherwise\n"                                                      \
          "it is read from standard input when needed")                                                             \
        X(TPM_OPT_NEW_KEY_FILE, "new-key-file", 0, "FILE", "password", "the new password")                         \
        X(TPM_OPT_PBKDF, "pbkdf", 0, "KIND", "password",                                                            \
          "default (argon2id, benchmarked) or minimal\n"                                                            \
          "(pbkdf2, 1000 iterations: for tests only)")                                                              \
        X(TPM_OPT_SLOT, "slot", 0, "WHICH", "wipe",                                                                 \
          "password, recovery, tpm2, install-secret or a\n"                                                         \
          "keyslot number (required)")                                                                              \
        X(TPM_OPT_FORCE, "force", 0, NULL, "wipe", "allow leaving only TPM2 keyslots")                              \
        X(TPM_OPT_KEY_FILE, "key-file", 0, "FILE", "status",                                                        \
          "also say which keyslot the passphrase or recovery\n"                                                     \
          "key in FILE opens; exit 1 when it opens none")                                                           \
        X(TPM_OPT_ISSUE_DIR, "issue-dir", 0, "DIR", "banner", "default /etc/issue.d")                               \
        X(TPM_OPT_MOTD_DIR, "motd-dir", 0, "DIR", "banner", "default /run/motd.d")

enum { TPM_OPTIONS(CMD_OPTION_ID) };

/* The verbs (tpm.c holds their table and help). */
int tpm_enroll(const CmdArgs *a);
int tpm_unlock(const CmdArgs *a);
int tpm_recovery(const CmdArgs *a);
int tpm_password(const CmdArgs *a);
int tpm_wipe(const CmdArgs *a);
int tpm_status(const CmdArgs *a);
int tpm_measure(const CmdArgs *a);
int tpm_banner(const CmdArgs *a);

typedef struct TpmHostSettings {
        bool enable;            /* tpm.enable */
        uint32_t pcr_mask;      /* tpm.pcrs */
        bool bind_pcr15;        /* tpm.bind-pcr15 */
        char credstore[300];    /* /dev/zvol/<disk.pool>/credstore */
} TpmHostSettings;

/* Reads a host file's TPM settings; prints the problems and returns -errno
 * when it cannot be loaded. */
int tpm_cmd_host_settings(const char *host_path, TpmHostSettings *ret);

/* What tpm_volume_open() opens besides the LUKS2 header. */
enum {
        TPM_VOLUME_TPM = 1 << 0,          /* the TPM of --tpm2-device: an error when unreachable */
        TPM_VOLUME_TPM_IF_ANY = 1 << 1,   /* the TPM when it is reachable (else tpm NULL, tpm_error) */
        TPM_VOLUME_KEY = 1 << 2,          /* the volume key, from the key file or standard input */
        TPM_VOLUME_HEADER_CHECK = 1 << 3, /* both header copies, read before libcryptsetup repairs one */
};

/* The volume a tpm verb works on, opened. */
typedef struct TpmVolume {
        const char *path;                   /* DEVICE, or dev */
        struct crypt_device *cd;
        LuksSlotKind kinds[LUKS_SLOTS_MAX]; /* the keyslots as they were when opened */
        Tpm2Context *tpm;                   /* TPM_VOLUME_TPM, TPM_VOLUME_TPM_IF_ANY */
        int tpm_error;                      /* TPM_VOLUME_TPM_IF_ANY: why tpm is NULL */
        uint8_t *vk;                        /* TPM_VOLUME_KEY: the volume key */
        size_t vk_size;
        int key_slot;                       /* the keyslot the key opened */
        LuksHeaderCheck header;             /* TPM_VOLUME_HEADER_CHECK */
        bool header_read;
        char dev[PATH_MAX];                 /* the credstore's block device, when DEVICE was left out */
} TpmVolume;

/* Opens DEVICE (the verb's first argument) or, when it is left out, the
 * credstore of host (waiting up to 30 s for its zvol: early in a boot udev
 * may not have made it yet); then what `what` asks for, the TPM from
 * --tpm2-device and the volume key from key_file (NULL: standard input).
 * Prints the one message the user reads and returns -errno. */
int tpm_volume_open(TpmVolume *v, const CmdArgs *a, const TpmHostSettings *host, const char *key_file,
                    unsigned what);
/* Closes what tpm_volume_open() opened; the volume key is erased. */
void tpm_volume_close(TpmVolume *v);
#define _cleanup_tpm_volume_ _cleanup_(tpm_volume_close)
/* Erases the volume key as soon as it is not needed any more. */
void tpm_volume_forget_key(TpmVolume *v);

/* Adds a recovery key (printed once on stdout) with its keyslot and
 * systemd-recovery token; returns the keyslot. */
int tpm_cmd_add_recovery(struct crypt_device *cd, const char *path, const uint8_t *vk, size_t vk_size);

/* Warns when before (luks_header_check() of path, read before libcryptsetup
 * opened it) shows a damaged copy of the LUKS2 header: libcryptsetup then
 * uses the other copy, and rewrites the damaged one, without a word.  True
 * when it warned. */
bool tpm_cmd_header_warn(const char *path, const LuksHeaderCheck *before);

/* The volume key from key_file, or a passphrase / recovery key read from
 * stdin (prompted on a terminal).  Returns the keyslot. */
int tpm_cmd_volume_key(struct crypt_device *cd, const char *path, const char *key_file,
                       uint8_t **ret_vk, size_t *ret_vk_size);

/* Explains a failed TPM unlock: which PCRs changed, what still works. */
int tpm_cmd_unlock_failed(const char *path, const char *tcti, const Tpm2UnlockReport *rep, int r);

/* Writes the header change message for a keyslot/token operation failure. */
int tpm_cmd_header_failed(int r, const char *what, const char *path);

