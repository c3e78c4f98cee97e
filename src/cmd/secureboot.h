/* SPDX-License-Identifier: MIT */
#pragma once

/* keystone secureboot: the family's one option set, its verbs (the table
 * secureboot_verbs, in secureboot.c) and what the signing verbs share. */

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cmd/cmd.h"
#include "secureboot/efivars.h"
#include "secureboot/eventlog.h"
#include "secureboot/keys.h"
#include "secureboot/uki.h"

#define SB_IN_DEFAULT_DIR "(default " SB_KEYS_DEFAULT_DIR ")"

/* X(ID, name, letter, argument, verbs, help); a name twice where verbs
 * describe it differently, a letter for other options in other verbs. */
#define SECUREBOOT_OPTIONS(X) \
        X(SB_OPT_DIR, "dir", 'd', "DIR", "keygen export enroll", "key directory " SB_IN_DEFAULT_DIR) \
        X(SB_OPT_SIGNER_DIR, "dir", 'd', "DIR", "sign sign-module", \
          "key directory (sbctl layout), signs with keys/db/db.{key,pem}\n" SB_IN_DEFAULT_DIR) \
        X(SB_OPT_KEY_SIZE, "key-size", 's', "BITS", "keygen", "RSA key size: 2048, 3072 or 4096 (default 4096)") \
        X(SB_OPT_NAME, "name", 'N', "NAME", "keygen", \
          "certificate subjects: \"NAME Platform Key\" … (1 to 40 characters,\ndefault Keystone)") \
        X(SB_OPT_FORMAT, "format", 'f', "FORMAT", "export", "esl or auth (required)") \
        X(SB_OPT_EFIVARS, "efivars", 'e', "PATH", "enroll status", "efivarfs (default " EFIVARFS_DEFAULT_DIR ")") \
        X(SB_OPT_MICROSOFT_CERTS, "microsoft-certs", 'm', "MSDIR", "enroll", \
          "also enroll MSDIR/KEK/* and MSDIR/db/* (PEM or DER)") \
        X(SB_OPT_EVENT_LOG, "event-log", 'l', "PATH", "enroll", \
          "the TPM event log checked for option ROMs\n(default " EVENTLOG_DEFAULT_PATH ")") \
        X(SB_OPT_FORCE, "force", 'f', NULL, "enroll", "enroll even when option ROMs were seen") \
        X(SB_OPT_APPEND, "append", 'a', "db|KEK", "enroll", "append CERT instead of enrolling (with --cert)") \
        X(SB_OPT_APPEND_CERT, "cert", 'c', "CERT", "enroll", "certificate for --append") \
        X(SB_OPT_KEY, "key", 'k', "KEY", "sign sign-module", "PEM private key instead of the db key (with --cert)") \
        X(SB_OPT_CERT, "cert", 'c', "CERT", "sign sign-module", "its certificate (with --key)") \
        X(SB_OPT_TRUST_CERT, "cert", 'c', "CERT", "verify verify-module", \
          "the certificate to trust, e.g. DIR/keys/db/db.pem (required)") \
        X(SB_OPT_STUB, "stub", 's', "STUB", "uki", "systemd-stub to build on\n(default " UKI_DEFAULT_STUB ")") \
        X(SB_OPT_LINUX, "linux", 'k', "KERNEL", "uki", "kernel image, a bzImage with EFI stub (required)") \
        X(SB_OPT_INITRD, "initrd", 'i', "INITRD", "uki", "initial ramdisk") \
        X(SB_OPT_CMDLINE, "cmdline", 'c', "TEXT", "uki", "kernel command line (@FILE reads it from FILE)") \
        X(SB_OPT_OS_RELEASE, "os-release", 'r', "FILE", "uki", "os-release for the boot menu") \
        X(SB_OPT_UNAME, "uname", 'u', "RELEASE", "uki", "kernel release (uname -r)") \
        X(SB_OPT_UKI_SIGN_DIR, "sign-dir", 'd', "DIR", "uki", "sign with DIR/keys/db/db.{key,pem}") \
        X(SB_OPT_OUTDIR, "output", 'o', "OUTDIR", "export", "where to write PK, KEK and db; created if missing\n(required)") \
        X(SB_OPT_UKI_OUT, "output", 'o', "OUT", "uki", "where to write the UKI (required)") \
        X(SB_OPT_SIGNED_OUT, "output", 'o', "OUT", "sign", "write the signed image to OUT (default: replace FILE)") \
        X(SB_OPT_MODULE_OUT, "output", 'o', "OUT", "sign-module", \
          "write the signed module to OUT (default: replace MODULE.ko)") \
        X(SB_OPT_TIMESTAMP, "timestamp", 't', "UNIX", "export", "time written into .auth files, in seconds since 1970\n(default: now)")

enum { SECUREBOOT_OPTIONS(CMD_OPTION_ID) };

/* One handler per verb (secureboot-*.c). */
int sb_cmd_keygen(const CmdArgs *a);
int sb_cmd_export(const CmdArgs *a);
int sb_cmd_enroll(const CmdArgs *a);
int sb_cmd_status(const CmdArgs *a);
int sb_cmd_uki(const CmdArgs *a);
int sb_cmd_sign(const CmdArgs *a);
int sb_cmd_verify(const CmdArgs *a);
int sb_cmd_inspect(const CmdArgs *a);
int sb_cmd_sign_module(const CmdArgs *a);
int sb_cmd_verify_module(const CmdArgs *a);

/* The signing key of --dir DIR's db, or of --key and --cert together
 * (secureboot-signer.c); prints the error the user reads.  With
 * key_options false (uki's --sign-dir) the message does not offer --key. */
int sb_signing_key_load(const CmdArgs *a, const char *dir, bool key_options, EVP_PKEY **ret_key,
                        X509 **ret_cert);

/* Reads and checks a verb's FILE (a PE image, a kernel module), printing
 * the error the user reads. */
typedef int (*SbLoad)(const char *path, uint8_t **ret, size_t *ret_size);

/* The opening of verify and verify-module: the certificate of --cert
 * (required) and FILE, args[0], through load; prints the error. */
int sb_verify_open(const CmdArgs *a, SbLoad load, X509 **ret_cert, uint8_t **ret_data, size_t *ret_size);

/* What a signing verb (sign, sign-module) does with FILE, args[0]:
 * load reads and checks it, sign signs its bytes; explain, when set, gives
 * the message for a signing error (NULL: the generic one). */
typedef struct SbSigner {
        SbLoad load;
        int (*sign)(const uint8_t *data, size_t size, EVP_PKEY *key, X509 *cert, uint8_t **ret, size_t *ret_size);
        const char *(*explain)(int error);
        int output;             /* the option id of -o OUT */
} SbSigner;

/* The whole signing verb: the key (--dir, or --key with --cert), FILE read
 * through s->load, signed, and written atomically to -o OUT or over FILE
 * (its mode kept). */
int sb_sign_file(const CmdArgs *a, const SbSigner *s);
