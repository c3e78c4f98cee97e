/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "init/prompt.h"
#include "util/macro.h"
#include "util/secret-input.h"

/* A note while the console's prompt line is open: on a terminal, after it. */
static const char *note_start(void) {
        return isatty(STDIN_FILENO) ? "\n" : "";
}

/* A wrong or failed try that came over SSH: its client is told, the
 * console sees that it happened. */
static void answer_remote(const InitPrompt *p, int client, int r, int i) {
        char text[300];
        if (r == -EPERM) {
                snprintf(text, sizeof text, "%s (try %d of %d)", p->wrong ? p->wrong : "Wrong password or "
                         "recovery key.", i + 1, p->tries);
                fprintf(p->console, "%sA wrong secret came over SSH (keystone-init --unlock), try %d of %d.\n",
                        note_start(), i + 1, p->tries);
        } else
                snprintf(text, sizeof text, "the secret could not be tried: %s", strerror(-r));
        init_unlock_reply(client, r == -EPERM ? INIT_UNLOCK_WRONG : INIT_UNLOCK_FAILED, text);
}

int init_prompt_secret_from(const InitPrompt *p, int *ret_tries, int *ret_client) {
        int (*rd)(const char *, char **, size_t *) = p->read ? p->read : secret_read_line;
        bool remote = p->remote && p->remote->fd >= 0 && !p->read, console_open = true;
        int r = -EPERM, i, accepted = -1;
        for (i = 0; i < p->tries; i++) {
                char *s = NULL;
                size_t n = 0;
                int client = -1;
                char prompt[512];
                if (p->tries > 1)
                        snprintf(prompt, sizeof prompt, "%s(try %d of %d) ", p->prompt, i + 1, p->tries);
                else
                        snprintf(prompt, sizeof prompt, "%s", p->prompt);
                /* secret_read_line prompts only on a terminal; say it anyway */
                if (remote || (!p->read && !isatty(STDIN_FILENO))) {
                        fprintf(p->console, "%s%s", prompt, remote && isatty(STDIN_FILENO) ? "" : "\n");
                        fflush(p->console);
                }
                r = remote ? init_unlock_wait(p->remote, STDIN_FILENO, &console_open, &s, &n, &client)
                           : rd(prompt, &s, &n);
                if (r == -ENODATA) {
                        fprintf(p->console, "No input (empty line or end of input).\n");
                        continue;
                }
                if (r < 0)
                        break;
                if (strlen(s) != n) {
                        erase_and_free(s, n);
                        fprintf(p->console, "That contains a NUL byte; it cannot be a password.\n");
                        r = -EPERM;
                        answer_remote(p, client, r, i);
                        continue;
                }
                r = p->check(p->userdata, s, n);
                erase_and_free(s, n);
                if (r >= 0) {
                        if (client >= 0)
                                fprintf(p->console, "%sThe secret that came over SSH (keystone-init --unlock) is "
                                        "right; the console prompt is cancelled.\n", note_start());
                        accepted = client;
                        break;
                }
                if (client >= 0)
                        answer_remote(p, client, r, i);
                if (r != -EPERM)
                        break;
                if (client < 0)
                        fprintf(p->console, "%s\n", p->wrong ? p->wrong : "Wrong password or recovery key.");
                fflush(p->console);
        }
        if (ret_tries)
                *ret_tries = i < p->tries ? i + 1 : p->tries;
        *ret_client = accepted;
        return r;
}

int init_prompt_secret(const InitPrompt *p, int *ret_tries) {
        int client;
        int r = init_prompt_secret_from(p, ret_tries, &client);
        init_unlock_reply(client, INIT_UNLOCK_OPENED, "accepted");
        return r;
}
