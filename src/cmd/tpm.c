/* SPDX-License-Identifier: MIT */
/* keystone tpm: TPM2-bound unlock of LUKS2 volumes, compatible with
 * systemd-cryptenroll / systemd-cryptsetup in both directions. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/tpm.h"

static const struct {
        const char *name;
        int (*handler)(int argc, char **argv);
} methods[] = {
        { "enroll", cmd_tpm_enroll },
        { "unlock", cmd_tpm_unlock },
        { "recovery", cmd_tpm_recovery },
        { "password", cmd_tpm_password },
        { "wipe", cmd_tpm_wipe },
        { "status", cmd_tpm_status },
        { "measure", cmd_tpm_measure },
        { "banner", cmd_tpm_banner },
};

static const char help[] =
        "Usage: keystone tpm METHOD DEVICE [OPTIONS]\n"
        "\n"
        "TPM2-bound unlock of a LUKS2 volume (block device or image file), with\n"
        "tokens in systemd's format: systemd-cryptsetup opens what keystone enrolls,\n"
        "and keystone opens what systemd-cryptenroll enrolled.\n"
        "\n"
        "Methods:\n"
        "  enroll DEVICE     seal a new secret to PCRs, add its keyslot and token\n"
        "  unlock DEVICE [NAME]  unseal and activate as NAME (--test: only verify)\n"
        "  recovery DEVICE   add a recovery key (printed once) and its keyslot\n"
        "  password DEVICE   set or change the password\n"
        "  wipe DEVICE --slot=password|recovery|tpm2|install-secret|N\n"
        "                    remove a way in (never the last)\n"
        "  status DEVICE     keyslots, tokens, bound PCRs, whether the TPM would unseal\n"
        "  measure DEVICE [NAME]  extend PCR 15 with a hash of the volume key\n"
        "  enroll --auto     on an installed machine: TPM2 with the host's PCRs, a\n"
        "                    recovery key, then the install secret removed\n"
        "  banner [DEVICE]   the login banner saying the machine is not yet protected\n"
        "\n"
        "'keystone tpm METHOD --help' describes each method's options.\n"
        "Secrets are read from key files or standard input, never from arguments.\n"
        "The TPM is --tpm2-device=auto|/dev/tpmrm0|TCTI (e.g. swtpm:port=2321);\n"
        "'auto' honours $KEYSTONE_TPM2_DEVICE, then /dev/tpmrm0.\n";

int cmd_tpm(int argc, char **argv) {
        if (argc < 2)
                return cmd_usage_error("tpm", "missing method (enroll, unlock, recovery, password, wipe, status, measure, banner)");
        if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help"))
                return cmd_help(help);
        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                if (streq(argv[1], methods[i].name)) {
                        optind = 0; /* reinitialise getopt for the method's options */
                        return methods[i].handler(argc - 1, argv + 1);
                }
        return cmd_usage_error("tpm", "unknown method '%s'", argv[1]);
}
