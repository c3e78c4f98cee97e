/* SPDX-License-Identifier: MIT */
/* keystone tpm: TPM2-bound unlock of LUKS2 volumes, compatible with
 * systemd-cryptenroll / systemd-cryptsetup in both directions.  The verb
 * table, with every verb's help; the option set is in tpm.h. */
#include "cmd/tpm.h"

const CmdOption tpm_options[] = { TPM_OPTIONS(CMD_OPTION_ENTRY) {} };

const char tpm_description[] =
        "TPM2-bound unlock of a LUKS2 volume (block device or image file), with\n"
        "tokens in systemd's format: systemd-cryptsetup opens what keystone enrolls,\n"
        "and keystone opens what systemd-cryptenroll enrolled.";

const char tpm_epilog[] =
        "'keystone tpm enroll --auto [DEVICE]', on an installed machine: TPM2 with the\n"
        "host's PCRs, a recovery key, then the install secret removed.\n"
        "'keystone tpm VERB --help' describes each verb's options.\n"
        "Secrets are read from key files or standard input, never from arguments.\n"
        "The TPM is --tpm2-device=auto|/dev/tpmrm0|TCTI (e.g. swtpm:port=2321);\n"
        "'auto' honours $KEYSTONE_TPM2_DEVICE, then /dev/tpmrm0.\n";

const Verb tpm_verbs[] = {
        { "enroll", "DEVICE (or --auto [DEVICE])", "seal a new secret to PCRs, add its keyslot and token", 0, 1,
          tpm_enroll,
          .description =
                  "Seal a random secret to the TPM under a PolicyPCR over the listed PCRs\n"
                  "(sha256 bank), add a keyslot opened by it (pbkdf2, 1000 iterations: the\n"
                  "secret has 256 bits) and a systemd-tpm2 token systemd-cryptsetup can use.\n"
                  "The PCR values sealed to are recorded in the token, so a refusal later names\n"
                  "the PCR that changed.\n"
                  "\n"
                  "--auto protects an installed machine in one go (its first boot runs it when\n"
                  "the install state holds the install secret): DEVICE defaults to the\n"
                  "credstore (/dev/zvol/POOL/credstore); the PCRs come from the host's\n"
                  "" TPM_HOST_FILE "; the unlock key from --unlock-key-file, else\n"
                  "" TPM_INSTALL_SECRET_FILE " (--install-secret-file), else standard\n"
                  "input.  It enrolls the TPM unless a TPM2 keyslot exists, adds a recovery\n"
                  "key (printed once) unless one exists, then removes the install secret's\n"
                  "keyslot (checked gone) and erases that file." },
        { "unlock", "DEVICE [NAME]", "unseal and activate as NAME (--test: only verify)", 1, 2, tpm_unlock,
          .description =
                  "Unseal the secret of a systemd-tpm2 token (made by keystone or by\n"
                  "systemd-cryptenroll) and activate the volume as /dev/mapper/NAME, or with\n"
                  "--test only prove that a keyslot opens.  When the TPM refuses, exits 1 and\n"
                  "names the PCRs that differ from enrollment." },
        { "recovery", "DEVICE", "add a recovery key (printed once) and its keyslot", 1, 1, tpm_recovery,
          .description =
                  "Generate a 256-bit recovery key in systemd's format (8 groups of 8 modhex\n"
                  "letters), add a keyslot for it and a systemd-recovery token.  The key is\n"
                  "printed once on standard output and stored nowhere else: write it down." },
        { "password", "DEVICE", "set or change the password", 1, 1, tpm_password,
          .description =
                  "Set or change the password: unlock with an existing passphrase or recovery\n"
                  "key, add a keyslot for the new password, then remove every older password\n"
                  "keyslot (keyslots no token refers to), so the old password stops working.\n"
                  "The current key comes from --unlock-key-file or the first line of standard\n"
                  "input; the new password from --new-key-file or the next line (asked twice\n"
                  "on a terminal)." },
        { "wipe", "DEVICE --slot=password|recovery|tpm2|install-secret|N", "remove a way in (never the last)", 1, 1,
          tpm_wipe,
          .description =
                  "Remove keyslots (and the tokens naming them): every password keyslot, every\n"
                  "recovery keyslot, every TPM2 keyslot, the install secret's keyslot (the one\n"
                  "'keystone disk apply' made), or keyslot N.  Refused when no keyslot would\n"
                  "remain, and when only TPM2 keyslots would remain (a firmware or Secure Boot\n"
                  "change would then lock the volume for good) unless --force.  The install\n"
                  "secret is removed only once a TPM2 keyslot and a recovery keyslot exist.\n"
                  "The header is read again afterwards: each wiped keyslot must be gone." },
        { "status", "DEVICE", "keyslots, tokens, bound PCRs, whether the TPM would unseal", 1, 1, tpm_status,
          .description =
                  "Show keyslots, tokens, the PCRs each TPM2 token is bound to, and whether\n"
                  "the TPM's current PCRs still satisfy each token's policy (and if not,\n"
                  "which PCRs changed)." },
        { "measure", "DEVICE [NAME]", "extend PCR 15 with a hash of the volume key", 1, 2, tpm_measure,
          .description =
                  "Extend PCR 15 with HMAC-SHA256(volume key, \"cryptsetup:NAME:UUID\") (NAME\n"
                  "defaults to luks-UUID), as systemd's tpm2-measure-pcr=yes does.  A token\n"
                  "enrolled with PCR 15 bound at zero (the default) then no longer unseals\n"
                  "until the next boot.  The volume key comes from the TPM token, or from\n"
                  "--unlock-key-file / standard input when the TPM does not unseal." },
        { "banner", "[DEVICE]", "the login banner saying the machine is not yet protected", 0, 1, tpm_banner,
          .description =
                  "Look at the credstore's keyslots and, until a systemd-tpm2 token and a\n"
                  "recovery key exist and no install secret is left, write a login banner that\n"
                  "says so and names the command that fixes it: ISSUE_DIR/keystone-protection.issue\n"
                  "(the console's /etc/issue, read by agetty) and MOTD_DIR/keystone-protection\n"
                  "(the message of the day, console and SSH logins, read by pam_motd).  Once\n"
                  "protected, both files are removed.  DEVICE defaults to the credstore of the\n"
                  "host file (/dev/zvol/POOL/credstore)." },
        {}
};
