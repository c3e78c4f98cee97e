/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/tpm.h"

static const char help[] =
        "Usage: keystone tpm measure DEVICE [NAME] [OPTIONS]\n"
        "\n"
        "Extend PCR 15 with HMAC-SHA256(volume key, \"cryptsetup:NAME:UUID\") (NAME\n"
        "defaults to luks-UUID), as systemd's tpm2-measure-pcr=yes does.  A token\n"
        "enrolled with PCR 15 bound at zero (the default) then no longer unseals\n"
        "until the next boot.  The volume key comes from the TPM token, or from\n"
        "--unlock-key-file / standard input when the TPM does not unseal.\n"
        "\n"
        "Options:\n"
        "      --tpm2-device=DEV      auto (default), /dev/tpmrm0, or a TCTI string\n"
        "      --unlock-key-file=F    a passphrase or recovery key, from a file\n"
        "  -h, --help\n";

int cmd_tpm_measure(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "tpm2-device", required_argument, NULL, 'd' },
                { "unlock-key-file", required_argument, NULL, 'k' },
                {}
        };
        const char *device = NULL, *key_file = NULL;
        int c, r;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(help);
                case 'd':
                        device = optarg;
                        break;
                case 'k':
                        key_file = optarg;
                        break;
                default:
                        return cmd_usage_error("tpm measure", "unknown option");
                }
        r = tpm_cmd_check_args("measure", argc - optind, 1, 2);
        if (r < 0)
                return r;
        const char *path = argv[optind];

        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_(tpm2_context_freep) Tpm2Context *tpm = NULL;
        r = tpm_cmd_open_luks(path, &cd);
        if (r < 0)
                return r;
        r = tpm_cmd_open_tpm(device, &tpm);
        if (r < 0)
                return r;
        const char *uuid = crypt_get_uuid(cd) ?: "";
        _cleanup_free_ char *defname = NULL;
        const char *name = argc - optind > 1 ? argv[optind + 1] : NULL;
        if (!name) {
                if (asprintf(&defname, "luks-%s", uuid) < 0)
                        return log_error_errno(-ENOMEM, "Out of memory.");
                name = defname;
        }

        uint8_t *vk = NULL;
        size_t vk_size = 0;
        Tpm2UnlockReport rep;
        r = key_file ? -ENOENT : luks_tpm2_unlock(cd, tpm, NULL, &vk, &vk_size, &rep);
        if (r < 0) {
                vk = NULL;
                r = tpm_cmd_volume_key(cd, path, key_file, &vk, &vk_size);
                if (r < 0)
                        return r;
        }
        r = tpm2_measure_volume_key(tpm, vk, vk_size, name, uuid);
        erase_and_free(vk, vk_size);
        if (r < 0)
                return log_error_errno(r, "Extending PCR 15 on the TPM (%s) failed: %s.", tpm->tcti_conf,
                                       tpm2_last_rc_string());
        printf("Extended PCR 15 with the measurement of %s (%s).\n", path, name);
        return 0;
}
