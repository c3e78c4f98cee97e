/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/tpm.h"
#include "tpm/tpm2-pcr.h"

static const char help[] =
        "Usage: keystone tpm enroll DEVICE [OPTIONS]\n"
        "\n"
        "Seal a random secret to the TPM under a PolicyPCR over the listed PCRs\n"
        "(sha256 bank), add a keyslot opened by it (pbkdf2, 1000 iterations: the\n"
        "secret has 256 bits) and a systemd-tpm2 token systemd-cryptsetup can use.\n"
        "The PCR values sealed to are recorded in the token, so a refusal later names\n"
        "the PCR that changed.\n"
        "\n"
        "Options:\n"
        "      --pcrs=LIST            PCRs bound at their current values (default 1+7)\n"
        "      --pcr15, --no-pcr15    also bind PCR 15 at zero, so that 'keystone tpm\n"
        "                             measure' after unlock closes the TPM for the rest of\n"
        "                             the boot (default: on)\n"
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
                {}
        };
        Tpm2EnrollOptions eo = { .pcr_mask = (1u << 1) | (1u << 7), .bind_pcr15_zero = true };
        const char *device = NULL, *key_file = NULL;
        bool replace = false;
        int c, r;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(help);
                case 'p':
                        if (tpm2_pcr_mask_from_string(optarg, &eo.pcr_mask) < 0)
                                return cmd_usage_error("tpm enroll", "--pcrs=%s: expected PCR numbers 0..23 "
                                                       "joined by '+', e.g. 1+7", optarg);
                        break;
                case '5':
                        eo.bind_pcr15_zero = true;
                        break;
                case '0':
                        eo.bind_pcr15_zero = false;
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
                default:
                        return cmd_usage_error("tpm enroll", "unknown option");
                }
        r = tpm_cmd_check_args("enroll", argc - optind, 1, 1);
        if (r < 0)
                return r;
        const char *path = argv[optind];
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
        int token = -1;
        r = luks_tpm2_enroll(cd, tpm, vk, vk_size, &eo, &token);
        erase_and_free(vk, vk_size);
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
