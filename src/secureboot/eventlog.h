/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The firmware's TCG event log (TCG PC Client Platform Firmware Profile):
 * SHA-1 format, or crypto-agile when the first event is "Spec ID Event03". */

#define EVENTLOG_DEFAULT_PATH "/sys/kernel/security/tpm0/binary_bios_measurements"
#define EV_NO_ACTION 0x00000003u
#define EV_EFI_BOOT_SERVICES_DRIVER 0x80000004u

typedef struct TcgEvent {
        uint32_t pcr;
        uint32_t type;
        const uint8_t *data;            /* event data, into the log */
        size_t size;
} TcgEvent;

/* Walks every event (the Spec ID header event included); -EBADMSG when the
 * log is malformed.  Stops at the first callback returning non-zero. */
int eventlog_foreach(const uint8_t *log, size_t size, int (*cb)(const TcgEvent *e, void *userdata), void *userdata);

/* Option ROMs the firmware loaded: EV_EFI_BOOT_SERVICES_DRIVER events in
 * PCR 2.  Returns the count or -EBADMSG. */
int eventlog_count_option_roms(const uint8_t *log, size_t size);
