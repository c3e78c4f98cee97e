/* SPDX-License-Identifier: MIT */
/* keystone secureboot: the owner's keys, signature lists, enrollment, UKIs
 * and Authenticode.  The verb table and the family's option set; one file
 * per group of verbs: secureboot-keys.c (keygen, export), secureboot-enroll.c
 * (enroll, status), secureboot-uki.c, secureboot-sign.c (sign, verify,
 * inspect), secureboot-modsign.c (kernel modules), and secureboot-signer.c
 * (the key and the signing tail they share). */
#include "cmd/cmd.h"
#include "cmd/secureboot.h"

/* the verbs inherit it from the family's row in keystone.c */
const CmdOption secureboot_options[] = { SECUREBOOT_OPTIONS(CMD_OPTION_ENTRY) {} };

const Verb secureboot_verbs[] = {
        { "keygen", NULL, "create PK, KEK and db keys and the owner GUID (sbctl layout)", 0, 0, sb_cmd_keygen,
          .description =
                "Creates the owner's Secure Boot keys in sbctl's layout: DIR/GUID (owner GUID),\n"
                "DIR/keys/{PK,KEK,db}/{PK,KEK,db}.key (RSA, mode 0600) and .pem (X.509).\n"
                "Refuses to overwrite existing keys." },
        { "export", NULL, "write EFI signature lists or signed authenticated variables", 0, 0, sb_cmd_export,
          .description =
                "Writes OUTDIR/PK, KEK and db (--format and -o OUTDIR are required) as EFI\n"
                "signature lists (.esl: each certificate owned by the owner GUID) or as\n"
                "time-based authenticated variables (.auth: PK signed by PK, KEK by PK, db by\n"
                "KEK), ready for efi-updatevar, KeyTool or the firmware setup." },
        { "enroll", NULL, "enroll db, KEK and PK through efivarfs (setup mode), or append", 0, 0, sb_cmd_enroll,
          .description =
                "In setup mode, writes db (signed by KEK), KEK (signed by PK) and last PK\n"
                "(signed by itself) through efivarfs; after that the firmware is in user mode\n"
                "and only images signed by the db key (or MSDIR's db certificates) boot.\n"
                "Refuses when the TPM event log shows option ROMs that would stop loading,\n"
                "unless --microsoft-certs or --force.\n"
                "With 'keystone --dry-run', prints what it would write and writes nothing.\n"
                "With --append db|KEK --cert CERT, adds CERT to db (signed by KEK) or KEK\n"
                "(signed by PK) in user mode." },
        { "status", NULL, "Secure Boot state and the enrolled PK, KEK and db", 0, 0, sb_cmd_status,
          .description =
                "Prints SecureBoot, SetupMode, AuditMode and DeployedMode, and the subjects of\n"
                "the certificates enrolled in PK, KEK and db." },
        { "uki", NULL, "assemble a unified kernel image around systemd-stub", 0, 0, sb_cmd_uki,
          .description =
                "Assembles a unified kernel image around systemd-stub (--linux KERNEL and\n"
                "-o OUT are required): sections .osrel, .cmdline, .uname, .initrd, .linux after\n"
                "the stub's own (its .sbat is kept), 4 KiB aligned, headers and checksum\n"
                "recomputed.  No timestamps: the same inputs give the same bytes." },
        { "sign", "FILE", "Authenticode-sign a PE/COFF (EFI) image", 1, 1, sb_cmd_sign,
          .description =
                "Authenticode-signs the PE/COFF image FILE: SHA-256 image digest, PKCS#7\n"
                "SignedData over SpcIndirectDataContent, certificate table 8-byte aligned.\n"
                "Signs with the db key of --dir DIR, or with --key KEY and --cert CERT.\n"
                "An existing signature is replaced.  Without -o, FILE is replaced atomically." },
        { "verify", "FILE", "check an image's signature against a certificate", 1, 1, sb_cmd_verify,
          .description =
                "Exits 0 only when FILE carries an Authenticode signature that is valid\n"
                "over its current bytes and made by CERT (or by a certificate CERT issued).\n"
                "Validity dates are not checked (firmware does not check them either)." },
        { "inspect", "FILE", "sections, signatures and Authenticode digest of an image", 1, 1, sb_cmd_inspect,
          .description =
                "Prints the sections of the PE/COFF image FILE, its signatures (signer\n"
                "subject and whether the signed digest matches the current bytes), and a line\n"
                "'authenticode-sha256: HEX' with the Authenticode SHA-256 digest." },
        { "sign-module", "MODULE.ko", "sign a Linux kernel module with the db key (for locked-down kernels)", 1, 1,
          sb_cmd_sign_module,
          .description =
                "Signs a Linux kernel module in the format the kernel checks (PKCS#7,\n"
                "SHA-256, appended with the module_signature trailer), replacing an existing\n"
                "signature.  With Secure Boot on, a locked-down kernel loads modules signed\n"
                "by a certificate in the UEFI db, so sign with the owner's db key (--dir DIR),\n"
                "or give --key KEY and --cert CERT.  Without -o, MODULE.ko is replaced\n"
                "atomically." },
        { "verify-module", "MODULE.ko", "check a kernel module's signature against a certificate", 1, 1,
          sb_cmd_verify_module,
          .description =
                "Exits 0 only when MODULE.ko carries a valid kernel module signature by\n"
                "CERT over its current bytes." },
        {}
};
