/* SPDX-License-Identifier: MIT */
/* TCG event log parser on any bytes. */
#include <stdint.h>

#include "secureboot/eventlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        (void) eventlog_count_option_roms(data, size);
        return 0;
}
