/* SPDX-License-Identifier: MIT */
#include "util/exit-code.h"

int exit_code_from_errno(int r) {
        if (r >= 0)
                return EXIT_OK;
        if (r == -KS_EUSAGE)
                return EXIT_USAGE;
        return EXIT_FAILED;
}
