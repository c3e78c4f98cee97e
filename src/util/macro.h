/* SPDX-License-Identifier: MIT */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

/* Hand ownership of a pointer or fd out of a cleanup scope. */
#define TAKE_PTR(p) ({ __typeof__(p) _p_ = (p); (p) = NULL; _p_; })
#define TAKE_FD(fd) ({ int _fd_ = (fd); (fd) = -1; _fd_; })

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* A cleanup helper for pointer types whose destructor accepts NULL. */
#define DEFINE_POINTER_CLEANUP(type, func)                  \
        static inline void func##p(type **p) {              \
                if (*p) func(*p);                           \
        }

/* Secrets: wipe, then free. */
static inline void erase_and_free(void *p, size_t n) {
        if (!p) return;
        explicit_bzero(p, n);
        free(p);
}
static inline void erase_and_free_strp(char **p) {
        if (*p) erase_and_free(*p, strlen(*p));
        *p = NULL;
}
#define _cleanup_erase_str_ _cleanup_(erase_and_free_strp)

static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)
static inline const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}
