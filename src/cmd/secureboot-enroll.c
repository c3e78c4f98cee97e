/* SPDX-License-Identifier: MIT */
/* keystone secureboot enroll | status */
#include "cmd/cmd.h"
#include "cmd/secureboot.h"

int sb_cmd_enroll(int argc, char **argv) {
        return log_error_errno(-EOPNOTSUPP, "secureboot enroll: not implemented yet");
}

int sb_cmd_status(int argc, char **argv) {
        return log_error_errno(-EOPNOTSUPP, "secureboot status: not implemented yet");
}
