/* SPDX-License-Identifier: MIT */
#pragma once

/* CLOCK_MONOTONIC in seconds: for "done in 1.2 s" lines and stage times. */
double monotonic_seconds(void);
