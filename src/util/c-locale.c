/* SPDX-License-Identifier: MIT */
#include <pthread.h>

#include "util/c-locale.h"

static locale_t the_c_locale;
static pthread_once_t the_c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void) {
        the_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t) 0);
}

locale_t c_locale(void) {
        (void) pthread_once(&the_c_locale_once, c_locale_init);
        return the_c_locale;
}
