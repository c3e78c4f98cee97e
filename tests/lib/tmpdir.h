/* SPDX-License-Identifier: MIT */
#pragma once
/* Helpers for tests that write small files into a private temp directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline char *test_tmpdir(void) {
        char *d = strdup("/tmp/keystone-test-XXXXXX");
        if (!d || !mkdtemp(d))
                abort();
        return d;
}

static inline void test_write(const char *dir, const char *name, const char *content) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        FILE *f = fopen(path, "we");
        if (!f)
                abort();
        fputs(content, f);
        fclose(f);
}

static inline void test_rm_rf(char *dir) {
        char cmd[4200];
        if (!dir || strncmp(dir, "/tmp/keystone-test-", 19) != 0)
                abort();
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                abort();
        free(dir);
}
