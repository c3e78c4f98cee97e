/* SPDX-License-Identifier: MIT */
/* keystone secureboot: the owner's keys, signature lists, enrollment, UKIs
 * and Authenticode.  One file per group of verbs: secureboot-keys.c (keygen,
 * export), secureboot-enroll.c (enroll, status), secureboot-uki.c,
 * secureboot-sign.c (sign, verify, inspect), secureboot-modsign.c (kernel
 * modules). */
#include <stdarg.h>
#include <stdio.h>

#include "cmd/cmd.h"
#include "cmd/secureboot.h"

static const struct {
        const char *name;
        int (*handler)(int argc, char **argv);
        const char *summary;
} verbs[] = {
        { "keygen",  sb_cmd_keygen,  "create PK, KEK and db keys and the owner GUID (sbctl layout)" },
        { "export",  sb_cmd_export,  "write EFI signature lists or signed authenticated variables" },
        { "enroll",  sb_cmd_enroll,  "enroll db, KEK and PK through efivarfs (setup mode), or append" },
        { "status",  sb_cmd_status,  "Secure Boot state and the enrolled PK, KEK and db" },
        { "uki",     sb_cmd_uki,     "assemble a unified kernel image around systemd-stub" },
        { "sign",    sb_cmd_sign,    "Authenticode-sign a PE/COFF (EFI) image" },
        { "verify",  sb_cmd_verify,  "check an image's signature against a certificate" },
        { "inspect", sb_cmd_inspect, "sections, signatures and Authenticode digest of an image" },
        { "sign-module",   sb_cmd_sign_module,   "sign a Linux kernel module with the db key (for locked-down kernels)" },
        { "verify-module", sb_cmd_verify_module, "check a kernel module's signature against a certificate" },
};

static const char help_text[] =
        "Usage: keystone secureboot VERB [OPTIONS] [ARGS]\n"
        "\n"
        "The owner's Secure Boot keys, their enrollment in the firmware, and\n"
        "signed unified kernel images.  'keystone secureboot VERB --help' for each.\n"
        "\n"
        "Verbs:\n";

int sb_usage_error(const char *verb, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "keystone secureboot %s: ", verb);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'keystone secureboot %s --help'.\n", verb);
        return -KS_EUSAGE;
}

int cmd_secureboot(int argc, char **argv) {
        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                if (argc < 2)
                        fputs(help_text, stderr);
                FILE *f = argc < 2 ? stderr : stdout;
                if (argc >= 2)
                        fputs(help_text, f);
                for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                        fprintf(f, "  %-13s %s\n", verbs[i].name, verbs[i].summary);
                return argc < 2 ? -KS_EUSAGE : 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(argv[1], verbs[i].name)) {
                        optind = 0;
                        return verbs[i].handler(argc - 1, argv + 1);
                }
        return cmd_usage_error("secureboot", "unknown verb '%s'", argv[1]);
}
