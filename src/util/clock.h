/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

/* CLOCK_MONOTONIC, which no clock change moves: in seconds for "done in
 * 1.2 s" lines and stage times, in milliseconds for deadlines and
 * timeouts. */
double monotonic_seconds(void);
int64_t monotonic_ms(void);
