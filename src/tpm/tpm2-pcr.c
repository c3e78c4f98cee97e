/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "tpm/tpm2-pcr.h"
#include "util/log.h"

int tpm2_pcr_mask_from_string(const char *s, uint32_t *ret) {
        uint32_t mask = 0;
        const char *p = s;
        while (*p) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                unsigned long v = 0;
                int digits = 0;
                while (*p >= '0' && *p <= '9') {
                        v = v * 10 + (unsigned long) (*p - '0');
                        if (++digits > 2)
                                return -EINVAL;
                        p++;
                }
                if (v >= TPM2_PCRS_MAX)
                        return -EINVAL;
                mask |= UINT32_C(1) << v;
                if (*p == '+' || *p == ',') {
                        p++;
                        if (!*p)
                                return -EINVAL;
                } else if (*p)
                        return -EINVAL;
        }
        *ret = mask;
        return 0;
}

char *tpm2_pcr_mask_to_string(uint32_t mask) {
        char *s = malloc(TPM2_PCRS_MAX * 3 + 1), *p = s;
        if (!s)
                return NULL;
        *p = 0;
        for (unsigned i = 0; i < TPM2_PCRS_MAX; i++)
                if (mask & (UINT32_C(1) << i))
                        p += sprintf(p, "%s%u", p == s ? "" : "+", i);
        return s;
}

void tpm2_pcr_selection(uint32_t mask, uint16_t bank, TPML_PCR_SELECTION *ret) {
        *ret = (TPML_PCR_SELECTION) {
                .count = 1,
                .pcrSelections[0] = {
                        .hash = bank,
                        .sizeofSelect = 3,
                        .pcrSelect = { mask & 0xff, (mask >> 8) & 0xff, (mask >> 16) & 0xff },
                },
        };
}

int tpm2_pcr_read(Tpm2Context *c, uint32_t mask, Tpm2PcrValues *ret) {
        Tpm2PcrValues v = {};
        uint32_t left = mask & TPM2_PCR_MASK_ALL;
        /* PCR_Read returns at most 8 digests per call: ask again for the rest. */
        for (int round = 0; left && round < TPM2_PCRS_MAX; round++) {
                TPML_PCR_SELECTION sel, *out_sel = NULL;
                TPML_DIGEST *digests = NULL;
                tpm2_pcr_selection(left, TPM2_ALG_SHA256, &sel);
                int r = tpm2_check(Esys_PCR_Read(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                                 &sel, NULL, &out_sel, &digests), "PCR_Read");
                if (r < 0)
                        return r;
                uint32_t got = 0;
                size_t k = 0;
                for (uint32_t s = 0; s < out_sel->count; s++) {
                        const TPMS_PCR_SELECTION *ps = &out_sel->pcrSelections[s];
                        if (ps->hash != TPM2_ALG_SHA256)
                                continue;
                        for (unsigned i = 0; i < TPM2_PCRS_MAX && i / 8 < ps->sizeofSelect; i++) {
                                if (!(ps->pcrSelect[i / 8] & (1u << (i % 8))))
                                        continue;
                                if (k >= digests->count || digests->digests[k].size != TPM2_SHA256_SIZE) {
                                        Esys_Free(out_sel);
                                        Esys_Free(digests);
                                        return -EIO;
                                }
                                memcpy(v.value[i], digests->digests[k].buffer, TPM2_SHA256_SIZE);
                                got |= UINT32_C(1) << i;
                                k++;
                        }
                }
                Esys_Free(out_sel);
                Esys_Free(digests);
                if (!got)
                        return -EOPNOTSUPP; /* the sha256 bank is not active */
                v.mask |= got;
                left &= ~got;
        }
        if (left)
                return -EIO;
        *ret = v;
        return 0;
}

int tpm2_pcr_extend(Tpm2Context *c, unsigned pcr, const uint8_t digest[TPM2_SHA256_SIZE]) {
        if (pcr >= TPM2_PCRS_MAX)
                return -EINVAL;
        TPML_DIGEST_VALUES d = { .count = 1, .digests[0].hashAlg = TPM2_ALG_SHA256 };
        memcpy(d.digests[0].digest.sha256, digest, TPM2_SHA256_SIZE);
        return tpm2_check(Esys_PCR_Extend(c->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD,
                                          ESYS_TR_NONE, ESYS_TR_NONE, &d), "PCR_Extend");
}

int tpm2_policy_pcr_digest(uint32_t mask, const Tpm2PcrValues *values, uint8_t ret[TPM2_SHA256_SIZE]) {
        if ((mask & values->mask) != mask || (mask & ~TPM2_PCR_MASK_ALL))
                return -EINVAL;
        uint8_t pcr_digest[TPM2_SHA256_SIZE], buf[sizeof(TPML_PCR_SELECTION) + 16];
        unsigned dlen;
        int r = -EIO;

        EVP_MD_CTX *md = EVP_MD_CTX_new();
        if (!md)
                return -ENOMEM;
        if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
                goto out;
        for (unsigned i = 0; i < TPM2_PCRS_MAX; i++)
                if (mask & (UINT32_C(1) << i))
                        if (EVP_DigestUpdate(md, values->value[i], TPM2_SHA256_SIZE) != 1)
                                goto out;
        if (EVP_DigestFinal_ex(md, pcr_digest, &dlen) != 1)
                goto out;

        /* policy' = H(zero policy || TPM_CC_PolicyPCR || selection || pcrDigest) */
        size_t off = 0;
        TPML_PCR_SELECTION sel;
        tpm2_pcr_selection(mask, TPM2_ALG_SHA256, &sel);
        uint8_t zero[TPM2_SHA256_SIZE] = {};
        if (Tss2_MU_UINT32_Marshal(TPM2_CC_PolicyPCR, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS ||
            Tss2_MU_TPML_PCR_SELECTION_Marshal(&sel, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
                goto out;
        if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
            EVP_DigestUpdate(md, zero, sizeof(zero)) != 1 ||
            EVP_DigestUpdate(md, buf, off) != 1 ||
            EVP_DigestUpdate(md, pcr_digest, sizeof(pcr_digest)) != 1 ||
            EVP_DigestFinal_ex(md, ret, &dlen) != 1)
                goto out;
        r = 0;
out:
        EVP_MD_CTX_free(md);
        return r;
}

int tpm2_policy_auth_value_extend(uint8_t digest[TPM2_SHA256_SIZE]) {
        uint8_t cc[4], in[TPM2_SHA256_SIZE + 4];
        size_t off = 0;
        unsigned len = 0;
        if (Tss2_MU_UINT32_Marshal(TPM2_CC_PolicyAuthValue, cc, sizeof(cc), &off) != TSS2_RC_SUCCESS)
                return -EIO;
        memcpy(in, digest, TPM2_SHA256_SIZE);
        memcpy(in + TPM2_SHA256_SIZE, cc, sizeof(cc));
        return EVP_Digest(in, sizeof(in), digest, &len, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
}

uint32_t tpm2_pcr_values_differ(uint32_t mask, const Tpm2PcrValues *a, const Tpm2PcrValues *b) {
        uint32_t d = 0;
        for (unsigned i = 0; i < TPM2_PCRS_MAX; i++)
                if ((mask & (UINT32_C(1) << i)) &&
                    ((a->mask ^ b->mask) & (UINT32_C(1) << i) ||
                     memcmp(a->value[i], b->value[i], TPM2_SHA256_SIZE) != 0))
                        d |= UINT32_C(1) << i;
        return d;
}
