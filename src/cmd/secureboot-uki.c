/* SPDX-License-Identifier: MIT */
/* keystone secureboot uki */
#include <stdio.h>

#include "cmd/cmd.h"
#include "cmd/secureboot.h"
#include "secureboot/keys.h"
#include "secureboot/ossl-util.h"
#include "secureboot/uki.h"
#include "util/file-bytes.h"

int sb_cmd_uki(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "stub", required_argument, NULL, 's' },
                { "linux", required_argument, NULL, 'k' },
                { "initrd", required_argument, NULL, 'i' },
                { "cmdline", required_argument, NULL, 'c' },
                { "os-release", required_argument, NULL, 'r' },
                { "uname", required_argument, NULL, 'u' },
                { "sign-dir", required_argument, NULL, 'd' },
                { "output", required_argument, NULL, 'o' },
                {}
        };
        UkiInputs in = {};
        const char *sign_dir = NULL, *out = NULL;
        _cleanup_free_ uint8_t *cmdline_file = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "hs:k:i:c:r:u:d:o:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(
                                "Usage: keystone secureboot uki --linux KERNEL [--initrd INITRD] [--cmdline TEXT|@FILE]\n"
                                "                               [--os-release FILE] [--uname RELEASE] [--stub STUB]\n"
                                "                               [--sign-dir DIR] -o OUT\n"
                                "\n"
                                "Assembles a unified kernel image around systemd-stub: sections .osrel,\n"
                                ".cmdline, .uname, .initrd, .linux after the stub's own (its .sbat is kept),\n"
                                "4 KiB aligned, headers and checksum recomputed.  No timestamps: the same\n"
                                "inputs give the same bytes.\n"
                                "\n"
                                "  -s, --stub STUB        default " UKI_DEFAULT_STUB "\n"
                                "  -k, --linux KERNEL     kernel image (bzImage with EFI stub)\n"
                                "  -i, --initrd INITRD    initial ramdisk\n"
                                "  -c, --cmdline TEXT     kernel command line (@FILE reads it from FILE)\n"
                                "  -r, --os-release FILE  os-release for the boot menu\n"
                                "  -u, --uname RELEASE    kernel release (uname -r)\n"
                                "  -d, --sign-dir DIR     sign with DIR/keys/db/db.{key,pem}\n"
                                "  -o, --output OUT       where to write the UKI\n");
                case 's': in.stub = optarg; break;
                case 'k': in.linux_path = optarg; break;
                case 'i': in.initrd_path = optarg; break;
                case 'c':
                        if (optarg[0] == '@') {
                                size_t sz;
                                free(cmdline_file);
                                cmdline_file = NULL;
                                int r = read_file_bytes(optarg + 1, 64 * 1024, &cmdline_file, &sz);
                                if (r < 0)
                                        return log_error_errno(r, "secureboot uki: cannot read command line file %s: %m", optarg + 1);
                                /* one line: drop the trailing newline */
                                while (sz > 0 && (cmdline_file[sz - 1] == '\n' || cmdline_file[sz - 1] == '\r'))
                                        cmdline_file[--sz] = 0;
                                in.cmdline = (const char *) cmdline_file;
                        } else
                                in.cmdline = optarg;
                        break;
                case 'r': in.os_release_path = optarg; break;
                case 'u': in.uname = optarg; break;
                case 'd': sign_dir = optarg; break;
                case 'o': out = optarg; break;
                default: return -KS_EUSAGE;
                }
        if (argc - optind != 0)
                return sb_usage_error("uki", "takes no positional arguments");
        if (!in.linux_path)
                return sb_usage_error("uki", "--linux is required");
        if (!out)
                return sb_usage_error("uki", "-o OUT is required");

        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        int r;
        if (sign_dir) {
                r = sb_key_load(sign_dir, SB_KEY_DB, &key, &cert);
                if (r < 0)
                        return log_error_errno(r, "secureboot uki: cannot load the db key from %s/keys/db/: %m. "
                                               "Create keys with 'keystone secureboot keygen --dir %s'.", sign_dir, sign_dir);
        }
        _cleanup_free_ char *error = NULL;
        r = uki_assemble_signed(&in, key, cert, out, &error);
        if (r == -EBADMSG)
                return log_error_errno(r, "secureboot uki: %s. Give the stub from systemd-boot-efi: " UKI_DEFAULT_STUB ".",
                                       error);
        if (r < 0)
                return log_error_errno(r, "secureboot uki: %s", error ? error : strerror(-r));
        return 0;
}
