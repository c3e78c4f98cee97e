/* SPDX-License-Identifier: MIT */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "util/file-bytes.h"

/* Files and directories: paths formatted into buffers, directories made
 * with their parents, whole files read as text.  Whole-file byte reads and
 * the atomic and exclusive writes are util/file-bytes.h (included here). */

/* PATHF(buf, fmt, ...): formats a path into the array buf and makes the
 * calling function return -ENAMETOOLONG when it does not fit (the function
 * must return int).  buf must be an array, not a pointer: its size is the
 * limit. */
#define PATHF(buf, ...)                                                                         \
        do {                                                                                    \
                _Static_assert(!__builtin_types_compatible_p(__typeof__(buf), __typeof__(&(buf)[0])), \
                               "PATHF needs an array");                                        \
                if (snprintf(buf, sizeof(buf), __VA_ARGS__) >= (int) sizeof(buf))              \
                        return -ENAMETOOLONG;                                                   \
        } while (0)

/* Creates the directory PATH and every missing parent, each with MODE (less
 * the umask).  A directory already there, or a link to one, is accepted as
 * it is: its mode is not changed.  Returns 0 or -errno with *ret_error set
 * (ret_error may be NULL): -ENOTDIR when something that is not a directory
 * stands at PATH or at one of its parents (the message names it), the
 * errno of mkdir(2) otherwise. */
int mkdir_p(const char *path, mode_t mode, char **ret_error);

/* mkdir_p() of the directory PATH is in (all before its last slash); 0 and
 * nothing made when PATH has no slash. */
int mkdir_parents(const char *path, mode_t mode, char **ret_error);

/* All of PATH (a regular file of at most max_size bytes; 0: no limit) as a
 * malloc'd NUL-terminated string; *ret_size (may be NULL) is its length in
 * bytes.  read_file_bytes() for text. */
int read_file_text(const char *path, size_t max_size, char **ret, size_t *ret_size);

/* The first line of PATH (a regular file of at most 1 MiB), without its
 * newline: for one-line files such as a kernel version or a PID. */
int read_first_line(const char *path, char **ret);

/* open(2) of PATH with FLAGS, then fstat(2) into *ret_st: the descriptor,
 * or -errno with nothing left open. */
int open_stat(const char *path, int flags, struct stat *ret_st);

/* A directory stream over the directory DIRFD is open on (a duplicate of
 * it: DIRFD stays the caller's to close), for closedir(3).  0 or -errno. */
int opendir_fd(int dirfd, DIR **ret);

/* readdir(3), passing over "." and "..". */
struct dirent *readdir_no_dot(DIR *d);

/* _cleanup_(closedirp) DIR *d = opendir(…) */
static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}
