/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdio.h>

/* Asking a person on the console for a secret, a limited number of times
 * (keystone-init: the credstore's password or recovery key, 3 tries). */

typedef struct InitPrompt {
        FILE *console;          /* where the reason, prompts and wrong-answer notes go */
        const char *prompt;     /* "Password or recovery key for the credstore: " */
        int tries;
        const char *wrong;      /* said after a wrong one; NULL: "Wrong password or recovery key." */
        /* Reads one secret (echo off on a terminal); NULL: secret_read_line()
         * on standard input.  -ENODATA at end of input or an empty line. */
        int (*read)(const char *prompt, char **ret, size_t *ret_size);
        /* Tries a secret: >= 0 accepted, -EPERM wrong, other -errno: give up. */
        int (*check)(void *userdata, const char *secret, size_t n);
        void *userdata;
} InitPrompt;

/* Returns check's result for the accepted secret; -EPERM after `tries` wrong
 * ones, -ENODATA when the input ended, or check's other errors.  Secrets are
 * wiped as soon as they were tried.  *ret_tries: how many were read. */
int init_prompt_secret(const InitPrompt *p, int *ret_tries);
