/* SPDX-License-Identifier: MIT */
#pragma once

#include <locale.h>

/* The "C" locale as a locale_t, for number parsing and formatting that must
 * not depend on the process locale (strtod_l, uselocale).  Created once,
 * never freed; returns (locale_t) 0 if it cannot be created (out of
 * memory), in which case callers fall back to the global locale. */
locale_t c_locale(void);
