/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/tpm.h"
#include "util/secret-input.h"

static const char help[] =
        "Usage: keystone tpm unlock DEVICE [NAME] [OPTIONS]\n"
        "\n"
        "Unseal the secret of a systemd-tpm2 token (made by keystone or by\n"
        "systemd-cryptenroll) and activate the volume as /dev/mapper/NAME, or with\n"
        "--test only prove that a keyslot opens.  When the TPM refuses, exits 1 and\n"
        "names the PCRs that differ from enrollment.\n"
        "\n"
        "Options:\n"
        "      --test                 only verify; needs no device-mapper\n"
        "      --tpm2-device=DEV      auto (default), /dev/tpmrm0, or a TCTI string\n"
        "      --pin-file=F           the TPM2 PIN for tokens enrolled with one\n"
        "                             (systemd-cryptenroll --tpm2-with-pin); otherwise\n"
        "                             it is read from standard input when needed\n"
        "  -h, --help\n";

int cmd_tpm_unlock(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "test", no_argument, NULL, 't' },
                { "tpm2-device", required_argument, NULL, 'd' },
                { "pin-file", required_argument, NULL, 'P' },
                {}
        };
        const char *device = NULL, *pin_file = NULL;
        bool test = false;
        int c, r;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(help);
                case 't':
                        test = true;
                        break;
                case 'd':
                        device = optarg;
                        break;
                case 'P':
                        pin_file = optarg;
                        break;
                default:
                        return cmd_usage_error("tpm unlock", "unknown option");
                }
        r = tpm_cmd_check_args("unlock", argc - optind, 1, 2);
        if (r < 0)
                return r;
        const char *path = argv[optind], *name = argc - optind > 1 ? argv[optind + 1] : NULL;
        if (!name && !test)
                return cmd_usage_error("tpm unlock", "give a NAME to activate as, or --test to only verify");
        if (name && test)
                return cmd_usage_error("tpm unlock", "--test verifies without activating; leave out NAME");

        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_(tpm2_context_freep) Tpm2Context *tpm = NULL;
        r = tpm_cmd_open_luks(path, &cd);
        if (r < 0)
                return r;
        r = tpm_cmd_open_tpm(device, &tpm);
        if (r < 0)
                return r;
        char *pin = NULL;
        size_t pin_size = 0;
        if (luks_tpm2_needs_pin(cd)) {
                if (pin_file)
                        r = secret_read_file(pin_file, &pin, &pin_size);
                else {
                        char prompt[512];
                        snprintf(prompt, sizeof(prompt), "TPM2 PIN for %s: ", path);
                        r = secret_read_line(prompt, &pin, &pin_size);
                }
                if (r < 0)
                        return log_error_errno(r, "A TPM2 token of %s needs a PIN, and none could be read from %s "
                                               "(%m). Pass it on standard input or with --pin-file=FILE.", path,
                                               pin_file ?: "standard input");
                if (strlen(pin) != pin_size) {
                        erase_and_free(pin, pin_size);
                        return log_error_errno(-EINVAL, "The TPM2 PIN contains a NUL byte.");
                }
        }
        Tpm2UnlockReport rep;
        r = luks_tpm2_unlock_pin(cd, tpm, name, pin, NULL, NULL, &rep);
        if (pin)
                erase_and_free(pin, pin_size);
        if (r == -EOPNOTSUPP && name && rep.error == -EOPNOTSUPP && !rep.unsupported)
                return log_error_errno(r, "The TPM unsealed the key of %s, but activating it as %s failed: "
                                       "device-mapper is not available. Load dm_crypt, or use --test.", path, name);
        if (r < 0)
                return tpm_cmd_unlock_failed(path, tpm->tcti_conf, &rep, r);
        log_debug("unseal %.1f ms, keyslot %.1f ms", rep.unseal_ms, rep.keyslot_ms);
        if (name)
                printf("Unlocked %s as /dev/mapper/%s with TPM2 token %d (keyslot %d).\n", path, name, rep.token, r);
        else
                printf("TPM2 token %d of %s unseals and opens keyslot %d.\n", rep.token, path, r);
        return 0;
}
