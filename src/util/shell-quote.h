/* SPDX-License-Identifier: MIT */
#pragma once

/* Quoting for a POSIX shell that is not ours: the shell ssh(1) hands a
 * command line to on the far side, the VM driver's guest shell.  Such a
 * command is built from an argv, never by pasting a file name into a
 * shell string: the shell turns the line back into exactly these words,
 * whatever bytes they hold (spaces, quotes, $(...), globs, newlines).
 * Locally nothing goes through a shell at all (util/run.h). */

/* S as one shell word, malloc'd (NULL when out of memory): as it is when it
 * holds only letters, digits and -_./=:,+@%, else in single quotes, each '
 * written '\''; "" is ''. */
char *shell_quote(const char *s);

/* The words of ARGV (NULL-ended), each as shell_quote() gives it, joined
 * by single spaces; the first word is also quoted when it holds a '=' (the
 * shell would take NAME=VALUE for an assignment).  malloc'd, NULL when out
 * of memory. */
char *shell_join(const char *const argv[]);
