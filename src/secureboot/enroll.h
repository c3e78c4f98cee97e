/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "secureboot/authvar.h"
#include "secureboot/keys.h"

/* Enrolling the owner's keys (keys.h) in the firmware's Secure Boot
 * variables through efivarfs, or a directory laid out like it (efivars.h).
 *
 * In setup mode (no PK enrolled) the whole set is written: db signed by KEK,
 * KEK signed by PK, and last PK signed by itself, since writing PK ends setup
 * mode.  KEK and db may carry a vendor's certificates after the owner's
 * (Microsoft's, so that option ROMs and bootloaders signed by its UEFI CA
 * keep loading).  In user mode one certificate can be appended to db or KEK.
 *
 * Nothing here prints: every function returns 0 or -errno, and on failure
 * *ret_error (malloc'd, replaced) says what failed on what. */

/* Owner GUID Microsoft uses for its certificates in KEK and db. */
#define SB_MICROSOFT_OWNER_GUID "77fa9abd-0359-4d32-bd60-28f4e78f784b"

/* SetupMode in EFIVARS: 1 (setup mode) or 0 (user mode) in *ret.  -ENOENT
 * when there is no such variable: not booted through UEFI, or efivarfs not
 * mounted. */
int sb_enroll_setup_mode(const char *efivars, uint8_t *ret, char **ret_error);

/* The decision on option ROMs, from the TCG event log LOG (SIZE bytes;
 * NAME is what messages call it): 0 when the log shows none; -EPERM when it
 * shows some (firmware drivers that are usually signed by Microsoft's UEFI
 * CA and stop loading with only the owner's keys enrolled); -EBADMSG when
 * the log is malformed, so that nothing can be concluded. */
int sb_enroll_check_option_roms(const char *name, const uint8_t *log, size_t size, char **ret_error);

typedef struct SbEnrollUpdate {
        SbKeyKind key;
        uint8_t *auth;          /* the authenticated payload efivarfs is given (after the attributes) */
        size_t size;
} SbEnrollUpdate;

typedef struct SbEnrollSet {
        SbEnrollUpdate updates[_SB_KEY_MAX];    /* in the order they are written: db, KEK, PK */
        unsigned n_vendor_kek, n_vendor_db;     /* certificates added from the vendor directory */
} SbEnrollSet;

/* Attributes of every update in a set. */
#define SB_ENROLL_ATTRS EFI_VARIABLE_AUTHVAR_ATTRS

void sb_enroll_set_done(SbEnrollSet *s);

/* The updates that enroll the keys of DIR, timestamped T: each variable's
 * signature list holds its certificate owned by the owner GUID, then, with
 * VENDOR_DIR (may be NULL), one list per certificate file (PEM or DER) in
 * VENDOR_DIR/KEK and VENDOR_DIR/db owned by Microsoft's GUID. */
int sb_enroll_build(const char *dir, const char *vendor_dir, time_t t, SbEnrollSet *ret, char **ret_error);

/* Writes the set to EFIVARS in its order.  *ret_written: how many updates
 * were written, also on failure. */
int sb_enroll_write(const SbEnrollSet *s, const char *efivars, size_t *ret_written, char **ret_error);

/* Appends the certificate CERT_PATH (owned by the owner GUID of DIR) to K,
 * db or KEK (-EINVAL otherwise), in user mode: an update with
 * EFI_VARIABLE_APPEND_WRITE signed by K's signer in DIR, timestamped T. */
int sb_enroll_append(const char *dir, const char *efivars, SbKeyKind k, const char *cert_path, time_t t,
                     char **ret_error);
