/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/tpm.h"

static const char help[] =
        "Usage: keystone tpm recovery DEVICE [OPTIONS]\n"
        "\n"
        "Generate a 256-bit recovery key in systemd's format (8 groups of 8 modhex\n"
        "letters), add a keyslot for it and a systemd-recovery token.  The key is\n"
        "printed once on standard output and stored nowhere else: write it down.\n"
        "\n"
        "Options:\n"
        "      --unlock-key-file=F    an existing passphrase or recovery key, from a file\n"
        "                             (otherwise read from standard input)\n"
        "  -h, --help\n";

int cmd_tpm_recovery(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "unlock-key-file", required_argument, NULL, 'k' },
                {}
        };
        const char *key_file = NULL;
        int c, r;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(help);
                case 'k':
                        key_file = optarg;
                        break;
                default:
                        return cmd_usage_error("tpm recovery", "unknown option");
                }
        r = tpm_cmd_check_args("recovery", argc - optind, 1, 1);
        if (r < 0)
                return r;
        const char *path = argv[optind];

        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        r = tpm_cmd_open_luks(path, &cd);
        if (r < 0)
                return r;
        uint8_t *vk = NULL;
        size_t vk_size = 0;
        r = tpm_cmd_volume_key(cd, path, key_file, &vk, &vk_size);
        if (r < 0)
                return r;
        r = tpm_cmd_add_recovery(cd, path, vk, vk_size);
        erase_and_free(vk, vk_size);
        return r < 0 ? r : 0;
}
