/* SPDX-License-Identifier: MIT */
/* A throwaway signing key and its certificate for the harnesses that check
 * signatures: made once per fuzzer process with Keystone's own generator
 * (db key, RSA 2048) in a temporary directory that is removed right away. */
#pragma once

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "secureboot/keys.h"

static EVP_PKEY *fuzz_key;
static X509 *fuzz_cert;

static int fuzz_keys_unlink(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path);
}

static void fuzz_keys_init(void) {
        char dir[] = "/tmp/keystone-fuzz-keys-XXXXXX";
        if (!mkdtemp(dir) || sb_keys_generate(dir, 2048, "fuzz") < 0 ||
            sb_key_load(dir, SB_KEY_DB, &fuzz_key, &fuzz_cert) < 0) {
                fprintf(stderr, "fuzz: cannot make a signing key in %s\n", dir);
                abort();
        }
        if (nftw(dir, fuzz_keys_unlink, 8, FTW_DEPTH | FTW_PHYS) < 0)
                fprintf(stderr, "fuzz: could not remove %s\n", dir);
}
