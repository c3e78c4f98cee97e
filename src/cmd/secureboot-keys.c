/* SPDX-License-Identifier: MIT */
/* keystone secureboot keygen | export */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "cmd/secureboot.h"
#include "secureboot/keys.h"

int sb_cmd_keygen(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "dir", required_argument, NULL, 'd' },
                { "key-size", required_argument, NULL, 's' },
                { "name", required_argument, NULL, 'N' },
                {}
        };
        const char *dir = SB_KEYS_DEFAULT_DIR, *name = "Keystone";
        int bits = 4096, c;
        while ((c = getopt_long(argc, argv, "hd:s:N:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(
                                "Usage: keystone secureboot keygen [--dir DIR] [--key-size 2048|3072|4096] [--name NAME]\n"
                                "\n"
                                "Creates the owner's Secure Boot keys in sbctl's layout: DIR/GUID (owner GUID),\n"
                                "DIR/keys/{PK,KEK,db}/{PK,KEK,db}.key (RSA, mode 0600) and .pem (X.509).\n"
                                "Refuses to overwrite existing keys.\n"
                                "\n"
                                "  -d, --dir DIR        default " SB_KEYS_DEFAULT_DIR "\n"
                                "  -s, --key-size BITS  RSA key size (default 4096)\n"
                                "  -N, --name NAME      certificate subjects: \"NAME Platform Key\" … (default Keystone)\n");
                case 'd': dir = optarg; break;
                case 's': {
                        char *e;
                        long v = strtol(optarg, &e, 10);
                        if (*e || (v != 2048 && v != 3072 && v != 4096))
                                return sb_usage_error("keygen", "--key-size must be 2048, 3072 or 4096, not '%s'", optarg);
                        bits = (int) v;
                        break;
                }
                case 'N': name = optarg; break;
                default: return -KS_EUSAGE;
                }
        if (argc - optind != 0)
                return sb_usage_error("keygen", "takes no positional arguments");
        if (!*name || strlen(name) > 40)
                return sb_usage_error("keygen", "--name must be 1 to 40 characters");

        int r = sb_keys_generate(dir, bits, name);
        if (r == -EEXIST)
                return log_error_errno(r, "secureboot keygen: keys already exist in %s; refusing to overwrite them. "
                                       "Use another --dir, or move the old keys away first (they may be enrolled).", dir);
        if (r < 0)
                return log_error_errno(r, "secureboot keygen: creating keys in %s failed: %m", dir);
        printf("created PK, KEK and db keys in %s\n", dir);
        return 0;
}

int sb_cmd_export(int argc, char **argv) {
        return log_error_errno(-EOPNOTSUPP, "secureboot export: not implemented yet");
}
