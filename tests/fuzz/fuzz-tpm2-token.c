/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the systemd-tpm2 token parser: any input must parse
 * or be refused without crashing, and whatever parses must serialise and
 * parse again to the same token. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpm/recovery-key.h"
#include "tpm/tpm2-token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = 0;

        char canon[RECOVERY_KEY_LENGTH + 1];
        (void) recovery_key_normalize(s, size, canon);

        Tpm2Token t = {};
        if (tpm2_token_from_json(s, &t) == 0) {
                char *json = NULL;
                if (tpm2_token_to_json(&t, &json) == 0) {
                        Tpm2Token u = {};
                        if (tpm2_token_from_json(json, &u) != 0 || u.keyslot != t.keyslot ||
                            u.pcr_mask != t.pcr_mask || u.sealed.blob_size != t.sealed.blob_size ||
                            memcmp(u.sealed.blob, t.sealed.blob, t.sealed.blob_size) != 0)
                                abort();
                        tpm2_token_done(&u);
                        free(json);
                }
                tpm2_token_done(&t);
        }
        free(s);
        return 0;
}
