/* SPDX-License-Identifier: MIT */
/* manifest.json as `disk install` reads it (generation_verify_manifest):
 * the input is the manifest of a build directory holding two artifacts,
 * "cmdline" and "esp/EFI/Linux/k.efi" (the seeds list them with their real
 * hashes).  Any bytes are accepted or refused with a message, never a
 * crash; paths that leave the directory are refused before they are read. */
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "generation/install.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], manifest[96];

static void put(const char *path, const char *text) {
        FILE *f = fopen(path, "w");
        if (!f || fputs(text, f) < 0 || fclose(f) != 0)
                abort();
}

static int unlink_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path);
}

static void remove_dir(void) {
        (void) nftw(dir, unlink_one, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        snprintf(dir, sizeof dir, "/tmp/keystone-fuzz-manifest-%d", (int) getpid());
        char p[160];
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                abort();
        snprintf(p, sizeof p, "%s/cmdline", dir);
        put(p, "root=x keystone.generation=1\n");
        snprintf(p, sizeof p, "%s/esp", dir);
        (void) mkdir(p, 0700);
        snprintf(p, sizeof p, "%s/esp/EFI", dir);
        (void) mkdir(p, 0700);
        snprintf(p, sizeof p, "%s/esp/EFI/Linux", dir);
        (void) mkdir(p, 0700);
        snprintf(p, sizeof p, "%s/esp/EFI/Linux/k.efi", dir);
        put(p, "MZ not really a kernel\n");
        snprintf(manifest, sizeof manifest, "%s/manifest.json", dir);
        atexit(remove_dir);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FILE *f = fopen(manifest, "w");
        if (!f)
                abort();
        if (size && fwrite(data, 1, size, f) != size)
                abort();
        if (fclose(f) != 0)
                abort();
        char *error = NULL;
        int r = generation_verify_manifest(dir, &error);
        if (r < 0 && !error)
                abort(); /* every refusal says why */
        free(error);
        return 0;
}
