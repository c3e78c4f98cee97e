/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>

#include "cmd/tpm.h"
#include "tpm/tpm2-pcr.h"
#include "util/secret-erase.h"

static const char help[] =
        "Usage: keystone tpm enroll DEVICE [OPTIONS]\n"
        "       keystone tpm enroll --auto [DEVICE] [OPTIONS]\n"
        "\n"
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
        "keyslot (checked gone) and erases that file.\n"
        "\n"
        "Options:\n"
        "      --pcrs=LIST            PCRs bound at their current values (default: the\n"
        "                             host file's tpm.pcrs with --host or --auto, else 1+7)\n"
        "      --pcr15, --no-pcr15    also bind PCR 15 at zero, so that 'keystone tpm\n"
        "                             measure' after unlock closes the TPM for the rest of\n"
        "                             the boot (default: tpm.bind-pcr15 with --host or\n"
        "                             --auto, else on)\n"
        "      --host=FILE            take the defaults above from a host file (with\n"
        "                             --auto: " TPM_HOST_FILE ")\n"
        "      --auto                 see above\n"
        "      --install-secret-file=F  with --auto: the install state's secret, used\n"
        "                             when no --unlock-key-file is given and erased\n"
        "                             (overwritten, removed) at the end\n"
        "                             (default " TPM_INSTALL_SECRET_FILE ")\n"
        "      --tpm2-device=DEV      auto (default), /dev/tpmrm0, or a TCTI string\n"
        "      --srk=MODE             auto: seal under the persistent SRK (0x81000001)\n"
        "                             when there is one (systemd >= 255 form), else under\n"
        "                             the transient primary systemd 252 uses; transient;\n"
        "                             persistent: create the SRK when missing\n"
        "      --unlock-key-file=F    an existing passphrase or recovery key, from a file\n"
        "                             (otherwise read from standard input)\n"
        "      --replace              after the new keyslot is in place, wipe the TPM2\n"
        "                             keyslots enrolled before (re-enrollment after an\n"
        "                             expected PCR change)\n"
        "  -h, --help\n";

/* Seals, adds the keyslot and token, says so; returns the keyslot. */
static int enroll_tpm2(struct crypt_device *cd, Tpm2Context *tpm, const char *path, const uint8_t *vk,
                       size_t vk_size, const Tpm2EnrollOptions *eo_) {
        const Tpm2EnrollOptions eo = *eo_;
        int token = -1;
        int r = luks_tpm2_enroll(cd, tpm, vk, vk_size, &eo, &token);
        _cleanup_free_ char *pcrs = tpm2_pcr_mask_to_string(eo.pcr_mask | (eo.bind_pcr15_zero ? 1u << TPM2_PCR_MEASURE : 0));
        if (r == -EOPNOTSUPP)
                return log_error_errno(r, "The TPM's sha256 PCR bank is not active; keystone seals to sha256 only. "
                                       "Enable the bank in the firmware's TPM settings.");
        if (r == -EBUSY)
                return log_error_errno(r, "The TPM (%s) is out of object/session memory: %s. Flush it "
                                       "(tpm2_flushcontext -t -l -s) and try again.", tpm->tcti_conf, tpm2_last_rc_string());
        if (r < 0 && tpm2_last_rc())
                return log_error_errno(r, "Sealing to PCRs %s on the TPM (%s) failed: %s. Nothing was written to %s.",
                                       pcrs ? pcrs : "?", tpm->tcti_conf, tpm2_last_rc_string(), path);
        if (r < 0)
                return tpm_cmd_header_failed(r, "add the TPM2 keyslot and token", path);
        int slot = r;
        printf("Enrolled the TPM2 (%s) in keyslot %d of %s, token %d, bound to PCRs %s (sha256)%s.\n",
               tpm->tcti_conf, slot, path, token, pcrs ? pcrs : "?",
               eo.bind_pcr15_zero ? ", PCR 15 at zero" : "");
        return slot;
}

/* --auto: TPM2 (unless there is one), recovery key (unless there is one),
 * then the install secret's keyslot removed and its file erased. */
static int enroll_auto(struct crypt_device *cd, Tpm2Context *tpm, const char *path, const char *key_file,
                       const char *install_file, int key_slot, const uint8_t *vk, size_t vk_size, const Tpm2EnrollOptions *eo,
                       const LuksSlotKind before[LUKS_SLOTS_MAX]) {
        bool has_tpm2 = false, has_recovery = false;
        for (int i = 0; i < LUKS_SLOTS_MAX; i++) {
                has_tpm2 |= before[i] == LUKS_SLOT_TPM2;
                has_recovery |= before[i] == LUKS_SLOT_RECOVERY;
        }
        int r;
        if (has_tpm2)
                printf("%s has a TPM2 keyslot already: kept.\n", path);
        else if ((r = enroll_tpm2(cd, tpm, path, vk, vk_size, eo)) < 0)
                return r;
        if (has_recovery)
                printf("%s has a recovery keyslot already: kept.\n", path);
        else if ((r = tpm_cmd_add_recovery(cd, path, vk, vk_size)) < 0)
                return r;
        /* the install secret: its marked keyslot(s), and the keyslot the
         * install state's secret opened when that was not marked */
        uint32_t install = 0;
        for (int i = 0; i < LUKS_SLOTS_MAX; i++)
                if (before[i] == LUKS_SLOT_INSTALL)
                        install |= UINT32_C(1) << i;
        bool from_install = key_file && install_file && streq(key_file, install_file);
        if (from_install && key_slot >= 0 && key_slot < LUKS_SLOTS_MAX &&
            (before[key_slot] == LUKS_SLOT_PASSWORD || before[key_slot] == LUKS_SLOT_INSTALL))
                install |= UINT32_C(1) << key_slot;
        for (int i = 0; i < LUKS_SLOTS_MAX; i++) {
                if (!(install & (UINT32_C(1) << i)))
                        continue;
                r = luks_keyslot_wipe(cd, i);
                if (r < 0)
                        return log_error_errno(r, "The TPM2 and recovery keyslots are in place, but removing the "
                                               "install secret's keyslot %d of %s failed: %m. Remove it with "
                                               "'keystone tpm wipe %s --slot=%d'.", i, path, path, i);
        }
        if (install) {
                r = luks_keyslots_verify_gone(path, install);
                if (r < 0)
                        return log_error_errno(r, "Removed the install secret's keyslot of %s, but reading the "
                                               "header again %s. Check 'keystone tpm status %s'.", path,
                                               r == -EEXIST ? "still shows it" : "failed", path);
                _cleanup_free_ char *slots = tpm2_pcr_mask_to_string(install); /* "a+b" */
                printf("Removed the install secret (keyslot %s) of %s.\n", slots ? slots : "?", path);
        } else
                printf("%s has no install secret keyslot.\n", path);
        if (from_install) {
                r = secret_file_erase(install_file);
                if (r < 0 && r != -ENOENT)
                        return log_error_errno(r, "Cannot erase %s: %m. It opens nothing any more; remove it by "
                                               "hand (shred -u).", install_file);
                printf("Erased %s.\n", install_file);
        }
        return 0;
}

int cmd_tpm_enroll(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "pcrs", required_argument, NULL, 'p' },
                { "pcr15", no_argument, NULL, '5' },
                { "no-pcr15", no_argument, NULL, '0' },
                { "tpm2-device", required_argument, NULL, 'd' },
                { "srk", required_argument, NULL, 's' },
                { "unlock-key-file", required_argument, NULL, 'k' },
                { "replace", no_argument, NULL, 'R' },
                { "host", required_argument, NULL, 'H' },
                { "auto", no_argument, NULL, 'A' },
                { "install-secret-file", required_argument, NULL, 'I' },
                {}
        };
        Tpm2EnrollOptions eo = { .pcr_mask = (1u << 1) | (1u << 7), .bind_pcr15_zero = true };
        const char *device = NULL, *key_file = NULL, *host = NULL, *install_file = TPM_INSTALL_SECRET_FILE;
        bool replace = false, auto_ = false, pcrs_given = false, pcr15_given = false;
        int c, r;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(help);
                case 'p':
                        if (tpm2_pcr_mask_from_string(optarg, &eo.pcr_mask) < 0)
                                return cmd_usage_error("tpm enroll", "--pcrs=%s: expected PCR numbers 0..23 "
                                                       "joined by '+', e.g. 1+7", optarg);
                        pcrs_given = true;
                        break;
                case '5':
                        eo.bind_pcr15_zero = true;
                        pcr15_given = true;
                        break;
                case '0':
                        eo.bind_pcr15_zero = false;
                        pcr15_given = true;
                        break;
                case 'd':
                        device = optarg;
                        break;
                case 's':
                        if (streq(optarg, "auto"))
                                eo.srk_mode = TPM2_SRK_AUTO;
                        else if (streq(optarg, "transient"))
                                eo.srk_mode = TPM2_SRK_TRANSIENT;
                        else if (streq(optarg, "persistent"))
                                eo.srk_mode = TPM2_SRK_PERSISTENT;
                        else
                                return cmd_usage_error("tpm enroll", "--srk=%s: expected auto, transient or persistent", optarg);
                        break;
                case 'k':
                        key_file = optarg;
                        break;
                case 'R':
                        replace = true;
                        break;
                case 'H':
                        host = optarg;
                        break;
                case 'A':
                        auto_ = true;
                        break;
                case 'I':
                        install_file = optarg;
                        break;
                default:
                        return cmd_usage_error("tpm enroll", "unknown option");
                }
        r = tpm_cmd_check_args("enroll", argc - optind, auto_ ? 0 : 1, 1);
        if (r < 0)
                return r;
        if (auto_ && replace)
                return cmd_usage_error("tpm enroll", "--auto keeps a TPM2 keyslot that exists; --replace is for a "
                                       "plain enroll");
        if (auto_ && !host)
                host = TPM_HOST_FILE;
        char dev[PATH_MAX];
        const char *path = argc - optind > 0 ? argv[optind] : NULL;
        if (host) {
                TpmHostSettings hs;
                r = tpm_cmd_host_settings(host, &hs);
                if (r < 0)
                        return r;
                if (auto_ && !hs.enable)
                        return log_error_errno(-EPERM, "%s says tpm.enable = false: this machine does not use the "
                                               "TPM, so --auto has nothing to enroll. Add a recovery key with "
                                               "'keystone tpm recovery', or turn tpm.enable on.", host);
                if (!pcrs_given)
                        eo.pcr_mask = hs.pcr_mask;
                if (!pcr15_given)
                        eo.bind_pcr15_zero = hs.bind_pcr15;
                if (!path) {
                        r = tpm_cmd_credstore_device(&hs, dev, sizeof dev);
                        if (r < 0)
                                return r;
                        path = dev;
                }
        }
        if (auto_ && !key_file && access(install_file, F_OK) == 0)
                key_file = install_file;
        if (eo.bind_pcr15_zero && (eo.pcr_mask & (1u << TPM2_PCR_MEASURE)))
                return cmd_usage_error("tpm enroll", "PCR 15 is bound at zero by --pcr15; leave it out of --pcrs "
                                       "(or pass --no-pcr15 to bind its current value)");
        if (!eo.pcr_mask && !eo.bind_pcr15_zero)
                log_warning("Binding to no PCR at all: any boot of this machine will unseal the secret.");

        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_(tpm2_context_freep) Tpm2Context *tpm = NULL;
        uint8_t *vk = NULL;
        size_t vk_size = 0;
        r = tpm_cmd_open_luks(path, &cd);
        if (r < 0)
                return r;
        r = tpm_cmd_open_tpm(device, &tpm);
        if (r < 0)
                return r;
        r = tpm_cmd_volume_key(cd, path, key_file, &vk, &vk_size);
        if (r < 0)
                return r;
        int key_slot = r;
        if (eo.bind_pcr15_zero) {
                Tpm2PcrValues v;
                static const uint8_t zero[TPM2_SHA256_SIZE] = {};
                if (tpm2_pcr_read(tpm, UINT32_C(1) << TPM2_PCR_MEASURE, &v) == 0 &&
                    memcmp(v.value[TPM2_PCR_MEASURE], zero, sizeof(zero)) != 0)
                        log_warning("PCR 15 is not zero now (something measured into it this boot): the new token "
                                    "unseals only early in a boot, before PCR 15 is extended, e.g. in the initrd. "
                                    "Pass --no-pcr15 to bind without PCR 15.");
        }
        LuksSlotKind before[LUKS_SLOTS_MAX];
        (void) luks_slot_kinds(cd, before);
        if (auto_) {
                r = enroll_auto(cd, tpm, path, key_file, install_file, key_slot, vk, vk_size, &eo, before);
                erase_and_free(vk, vk_size);
                return r;
        }
        r = enroll_tpm2(cd, tpm, path, vk, vk_size, &eo);
        erase_and_free(vk, vk_size);
        if (r < 0)
                return r;
        int slot = r;
        for (int i = 0; replace && i < LUKS_SLOTS_MAX; i++) {
                if (i == slot || before[i] != LUKS_SLOT_TPM2)
                        continue;
                r = luks_keyslot_wipe(cd, i);
                if (r < 0)
                        return log_error_errno(r, "The new TPM2 keyslot %d is in place, but wiping the old TPM2 "
                                               "keyslot %d of %s failed: %m. Wipe it with 'keystone tpm wipe %s "
                                               "--slot=%d'.", slot, i, path, path, i);
                printf("Wiped the previous TPM2 keyslot %d.\n", i);
        }
        return 0;
}
