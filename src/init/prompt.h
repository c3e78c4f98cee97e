/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "init/unlock.h"

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
        /* Also from `keystone-init --unlock` (initrd SSH), whichever comes
         * first, with read NULL: the console is then standard input, read by
         * init_unlock_wait().  Each secret counts as one of the tries,
         * wherever it came from; the client of a wrong one is answered
         * here, that of the accepted one by the caller (it knows whether
         * the volume then opened); the console is told what came over SSH,
         * never the secret. */
        InitUnlockServer *remote;
} InitPrompt;

/* Returns check's result for the accepted secret; -EPERM after `tries` wrong
 * ones, -ENODATA when the input ended, or check's other errors.  Secrets are
 * wiped as soon as they were tried.  *ret_tries: how many were read. */
int init_prompt_secret(const InitPrompt *p, int *ret_tries);

/* The same; *ret_client: the connection of the `keystone-init --unlock`
 * whose secret was accepted, for the caller's init_unlock_reply(), or -1
 * (typed on the console, or not accepted). */
int init_prompt_secret_from(const InitPrompt *p, int *ret_tries, int *ret_client);
