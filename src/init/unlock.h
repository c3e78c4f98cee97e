/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The credstore's secret from an SSH session in the initrd: while the
 * console asks for the password or recovery key, PID 1 also listens on a
 * local socket, and `keystone-init --unlock` (run by the session) hands it
 * the secret it read from its standard input.
 *
 * The exchange, one secret per connection: the client writes the secret's
 * bytes and shuts its side down (end of file); PID 1 checks it as one of
 * the prompt's tries and answers with one line, "opened TEXT", "wrong TEXT"
 * or "failed TEXT", and closes.  Only root may connect (SO_PEERCRED); the
 * directory is 0700, the socket 0600.  The secret is never written
 * anywhere but into the socket, and every buffer that held it is wiped. */

#define INIT_UNLOCK_DIR "/run/keystone-init"
#define INIT_UNLOCK_SOCKET INIT_UNLOCK_DIR "/unlock.sock"
#define INIT_UNLOCK_SECRET_MAX 8192

typedef struct InitUnlockServer {
        int fd;                 /* the listening socket; -1: closed */
        char path[108];
} InitUnlockServer;

typedef enum InitUnlockVerdict {
        INIT_UNLOCK_OPENED,
        INIT_UNLOCK_WRONG,
        INIT_UNLOCK_FAILED,
} InitUnlockVerdict;

/* Listens on ROOT/run/keystone-init/unlock.sock (a stale one is replaced).
 * -errno and *ret_error on failure. */
int init_unlock_listen(const char *root, InitUnlockServer *ret, char **ret_error);

/* Stops listening and removes the socket: clients connecting from now on
 * are told nobody waits.  Safe on a closed server. */
void init_unlock_close(InitUnlockServer *s);

/* Waits for whichever comes first: a line on console_fd (echo off on a
 * terminal; *console_open is set false at its end of input, and from then
 * on only clients count), or a client's secret.  0 and the secret
 * (NUL-terminated; erase_and_free() it), *ret_client -1 when it was typed,
 * else the client's connection, which init_unlock_reply() must answer.
 * -ENODATA: an empty line on the console.  A line partly typed when a
 * client wins is discarded. */
int init_unlock_wait(InitUnlockServer *s, int console_fd, bool *console_open, char **ret, size_t *ret_size,
                     int *ret_client);

/* Sends the verdict line and closes the connection. */
void init_unlock_reply(int client, InitUnlockVerdict v, const char *text);

/* The client: sends secret to ROOT/run/keystone-init/unlock.sock and waits
 * (up to 5 minutes: the key derivation takes seconds) for the verdict.
 * Returns the verdict and *ret_text (malloc'd) on an answer, or -errno and
 * *ret_error when no keystone-init answered. */
int init_unlock_send(const char *root, const char *secret, size_t n, char **ret_text, char **ret_error);
