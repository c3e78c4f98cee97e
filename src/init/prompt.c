/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "init/prompt.h"
#include "util/macro.h"
#include "util/secret-input.h"

int init_prompt_secret(const InitPrompt *p, int *ret_tries) {
        int (*rd)(const char *, char **, size_t *) = p->read ? p->read : secret_read_line;
        int r = -EPERM, i;
        for (i = 0; i < p->tries; i++) {
                char *s = NULL;
                size_t n = 0;
                char prompt[512];
                if (p->tries > 1)
                        snprintf(prompt, sizeof prompt, "%s(try %d of %d) ", p->prompt, i + 1, p->tries);
                else
                        snprintf(prompt, sizeof prompt, "%s", p->prompt);
                /* secret_read_line prompts only on a terminal; say it anyway */
                if (!p->read && !isatty(STDIN_FILENO)) {
                        fprintf(p->console, "%s\n", prompt);
                        fflush(p->console);
                }
                r = rd(prompt, &s, &n);
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
                        continue;
                }
                r = p->check(p->userdata, s, n);
                erase_and_free(s, n);
                if (r != -EPERM)
                        break;
                fprintf(p->console, "%s\n", p->wrong ? p->wrong : "Wrong password or recovery key.");
                fflush(p->console);
        }
        if (ret_tries)
                *ret_tries = i < p->tries ? i + 1 : p->tries;
        return r;
}
