/* SPDX-License-Identifier: MIT */
/* keystone secureboot uki */
#include "cmd/cmd.h"
#include "cmd/secureboot.h"

int sb_cmd_uki(int argc, char **argv) {
        return log_error_errno(-EOPNOTSUPP, "secureboot uki: not implemented yet");
}
