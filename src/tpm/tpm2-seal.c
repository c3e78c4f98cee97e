/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "tpm/tpm2-seal.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/macro.h"

void tpm2_sealed_done(Tpm2Sealed *s) {
        if (!s)
                return;
        free(s->blob);
        free(s->srk);
        *s = (Tpm2Sealed) {};
}

static const TPMT_SYM_DEF session_symmetric = {
        .algorithm = TPM2_ALG_AES,
        .keyBits.aes = 128,
        .mode.aes = TPM2_ALG_CFB,
};

/* systemd's legacy primary templates (also what systemd 252 uses): the
 * transient primary is re-derived from the owner seed, so any difference
 * here makes systemd's blobs unloadable. */
static int legacy_template(uint16_t alg, TPM2B_PUBLIC *ret) {
        TPMA_OBJECT attrs = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
                            TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                            TPMA_OBJECT_USERWITHAUTH;
        *ret = (TPM2B_PUBLIC) {};
        TPMT_PUBLIC *p = &ret->publicArea;
        p->nameAlg = TPM2_ALG_SHA256;
        p->objectAttributes = attrs;
        if (alg == TPM2_ALG_ECC) {
                p->type = TPM2_ALG_ECC;
                p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
                p->parameters.eccDetail.symmetric.keyBits.aes = 128;
                p->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
                p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
                p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
                p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        } else if (alg == TPM2_ALG_RSA) {
                p->type = TPM2_ALG_RSA;
                p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
                p->parameters.rsaDetail.symmetric.keyBits.aes = 128;
                p->parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
                p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
                p->parameters.rsaDetail.keyBits = 2048;
        } else
                return -EOPNOTSUPP;
        return 0;
}

/* The TCG provisioning guidance SRK template (ECC, template "L-2"): the
 * legacy one plus noDA.  Only used to create a persistent SRK. */
static void srk_template(TPM2B_PUBLIC *ret) {
        (void) legacy_template(TPM2_ALG_ECC, ret);
        ret->publicArea.objectAttributes |= TPMA_OBJECT_NODA;
}

static int create_primary(Tpm2Context *c, const TPM2B_PUBLIC *template, ESYS_TR *ret) {
        TPM2B_SENSITIVE_CREATE sensitive = {};
        TPM2B_DATA outside = {};
        TPML_PCR_SELECTION creation_pcr = {};
        TPM2B_PUBLIC *pub = NULL;
        TPM2B_CREATION_DATA *cdata = NULL;
        TPM2B_DIGEST *chash = NULL;
        TPMT_TK_CREATION *ticket = NULL;
        int r = tpm2_check(Esys_CreatePrimary(c->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                              ESYS_TR_NONE, &sensitive, template, &outside, &creation_pcr,
                                              ret, &pub, &cdata, &chash, &ticket), "CreatePrimary");
        Esys_Free(pub);
        Esys_Free(cdata);
        Esys_Free(chash);
        Esys_Free(ticket);
        return r;
}

int tpm2_srk_exists(Tpm2Context *c) {
        TPMI_YES_NO more;
        TPMS_CAPABILITY_DATA *cap = NULL;
        int r = tpm2_check(Esys_GetCapability(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                              TPM2_CAP_HANDLES, TPM2_SRK_HANDLE, 1, &more, &cap),
                           "GetCapability(handles)");
        if (r < 0)
                return r;
        r = cap->data.handles.count > 0 && cap->data.handles.handle[0] == TPM2_SRK_HANDLE;
        Esys_Free(cap);
        return r;
}

static int srk_open(Tpm2Context *c, ESYS_TR *ret) {
        return tpm2_check(Esys_TR_FromTPMPublic(c->esys, TPM2_SRK_HANDLE, ESYS_TR_NONE, ESYS_TR_NONE,
                                                ESYS_TR_NONE, ret), "TR_FromTPMPublic(SRK)");
}

static int srk_create_persistent(Tpm2Context *c, ESYS_TR *ret) {
        TPM2B_PUBLIC template;
        ESYS_TR transient = ESYS_TR_NONE;
        srk_template(&template);
        int r = create_primary(c, &template, &transient);
        if (r < 0)
                return r;
        r = tpm2_check(Esys_EvictControl(c->esys, ESYS_TR_RH_OWNER, transient, ESYS_TR_PASSWORD,
                                         ESYS_TR_NONE, ESYS_TR_NONE, TPM2_SRK_HANDLE, ret), "EvictControl(SRK)");
        tpm2_flush(c, &transient);
        return r;
}

/* The parent for sealing: sets *persistent when it is the SRK (close, do not
 * flush) and fills the serialization. */
static int seal_parent(Tpm2Context *c, Tpm2SrkMode mode, ESYS_TR *ret, bool *persistent, Tpm2Sealed *s) {
        int r;
        if (mode != TPM2_SRK_TRANSIENT) {
                r = tpm2_srk_exists(c);
                if (r < 0)
                        return r;
                if (r > 0)
                        r = srk_open(c, ret);
                else if (mode == TPM2_SRK_PERSISTENT)
                        r = srk_create_persistent(c, ret);
                else
                        goto transient;
                if (r < 0)
                        return r;
                uint8_t *buf = NULL;
                size_t size = 0;
                r = tpm2_check(Esys_TR_Serialize(c->esys, *ret, &buf, &size), "TR_Serialize(SRK)");
                if (r < 0) {
                        tpm2_close(c, ret);
                        return r;
                }
                s->srk = malloc(size);
                if (!s->srk) {
                        Esys_Free(buf);
                        tpm2_close(c, ret);
                        return -ENOMEM;
                }
                memcpy(s->srk, buf, size);
                s->srk_size = size;
                Esys_Free(buf);
                s->primary_alg = TPM2_ALG_ECC;
                *persistent = true;
                return 0;
        }
transient:;
        TPM2B_PUBLIC template;
        (void) legacy_template(TPM2_ALG_ECC, &template);
        r = create_primary(c, &template, ret);
        if (r < 0)
                return r;
        s->primary_alg = TPM2_ALG_ECC;
        *persistent = false;
        return 0;
}

static int start_session(Tpm2Context *c, ESYS_TR salt_key, TPM2_SE type, TPMA_SESSION attrs, ESYS_TR *ret) {
        int r = tpm2_check(Esys_StartAuthSession(c->esys, salt_key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                                 ESYS_TR_NONE, NULL, type, &session_symmetric,
                                                 TPM2_ALG_SHA256, ret), "StartAuthSession");
        if (r < 0)
                return r;
        r = tpm2_check(Esys_TRSess_SetAttributes(c->esys, *ret, attrs | TPMA_SESSION_CONTINUESESSION, 0xff),
                       "TRSess_SetAttributes");
        if (r < 0)
                tpm2_flush(c, ret);
        return r;
}

int tpm2_seal(Tpm2Context *c, Tpm2SrkMode srk_mode, const uint8_t policy[TPM2_SHA256_SIZE],
              Tpm2Sealed *ret_sealed, uint8_t **ret_secret, size_t *ret_secret_size) {
        Tpm2Sealed s = {};
        ESYS_TR parent = ESYS_TR_NONE, session = ESYS_TR_NONE;
        bool persistent = false;
        TPM2B_PRIVATE *priv = NULL;
        TPM2B_PUBLIC *pub = NULL;
        TPM2B_CREATION_DATA *cdata = NULL;
        TPM2B_DIGEST *chash = NULL;
        TPMT_TK_CREATION *ticket = NULL;
        uint8_t *secret = NULL;
        TPM2B_SENSITIVE_CREATE sensitive = {};

        int r = seal_parent(c, srk_mode, &parent, &persistent, &s);
        if (r < 0)
                goto out;
        /* The secret travels to the TPM encrypted under a session salted
         * with the parent's key. */
        r = start_session(c, parent, TPM2_SE_HMAC, TPMA_SESSION_DECRYPT, &session);
        if (r < 0)
                goto out;

        secret = malloc(TPM2_SECRET_SIZE);
        if (!secret) {
                r = -ENOMEM;
                goto out;
        }
        if (getrandom(secret, TPM2_SECRET_SIZE, 0) != TPM2_SECRET_SIZE) {
                r = -EIO;
                goto out;
        }
        sensitive.sensitive.data.size = TPM2_SECRET_SIZE;
        memcpy(sensitive.sensitive.data.buffer, secret, TPM2_SECRET_SIZE);

        TPM2B_PUBLIC template = {
                .publicArea = {
                        .type = TPM2_ALG_KEYEDHASH,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT,
                        .parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
                        .unique.keyedHash.size = TPM2_SHA256_SIZE,
                        .authPolicy.size = TPM2_SHA256_SIZE,
                },
        };
        memcpy(template.publicArea.authPolicy.buffer, policy, TPM2_SHA256_SIZE);
        TPM2B_DATA outside = {};
        TPML_PCR_SELECTION creation_pcr = {};
        r = tpm2_check(Esys_Create(c->esys, parent, session, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &template,
                                   &outside, &creation_pcr, &priv, &pub, &cdata, &chash, &ticket), "Create");
        if (r < 0)
                goto out;

        size_t cap = sizeof(*priv) + sizeof(*pub), off = 0;
        s.blob = malloc(cap);
        if (!s.blob) {
                r = -ENOMEM;
                goto out;
        }
        if (Tss2_MU_TPM2B_PRIVATE_Marshal(priv, s.blob, cap, &off) != TSS2_RC_SUCCESS ||
            Tss2_MU_TPM2B_PUBLIC_Marshal(pub, s.blob, cap, &off) != TSS2_RC_SUCCESS) {
                r = -EIO;
                goto out;
        }
        s.blob_size = off;

        *ret_sealed = s;
        s = (Tpm2Sealed) {};
        *ret_secret = TAKE_PTR(secret);
        *ret_secret_size = TPM2_SECRET_SIZE;
        r = 0;
out:
        explicit_bzero(&sensitive, sizeof(sensitive));
        erase_and_free(secret, TPM2_SECRET_SIZE);
        tpm2_flush(c, &session);
        if (persistent)
                tpm2_close(c, &parent);
        else
                tpm2_flush(c, &parent);
        Esys_Free(priv);
        Esys_Free(pub);
        Esys_Free(cdata);
        Esys_Free(chash);
        Esys_Free(ticket);
        tpm2_sealed_done(&s);
        return r;
}

/* The parent for unsealing.  With an SRK serialization: the persistent
 * object must still be there and have the same name (a cleared TPM has a new
 * one).  Otherwise the legacy primary for the token's algorithm. */
static int unseal_parent(Tpm2Context *c, const Tpm2Sealed *s, ESYS_TR *ret, bool *persistent) {
        if (!s->srk) {
                TPM2B_PUBLIC template;
                int r = legacy_template(s->primary_alg ? s->primary_alg : TPM2_ALG_ECC, &template);
                if (r < 0)
                        return r;
                *persistent = false;
                return create_primary(c, &template, ret);
        }
        ESYS_TR stored = ESYS_TR_NONE, live = ESYS_TR_NONE;
        TPM2B_NAME *stored_name = NULL, *live_name = NULL;
        TPM2_HANDLE handle = 0;
        int r = tpm2_check(Esys_TR_Deserialize(c->esys, s->srk, s->srk_size, &stored), "TR_Deserialize(SRK)");
        if (r < 0)
                return -EBADMSG;
        r = tpm2_check(Esys_TR_GetTpmHandle(c->esys, stored, &handle), "TR_GetTpmHandle");
        if (r >= 0)
                r = tpm2_check(Esys_TR_GetName(c->esys, stored, &stored_name), "TR_GetName");
        /* ESYS keeps one resource object per TPM handle: close the stored
         * one before asking the TPM what is at that handle now. */
        tpm2_close(c, &stored);
        if (r < 0)
                goto out;
        r = tpm2_check(Esys_TR_FromTPMPublic(c->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &live),
                       "TR_FromTPMPublic(SRK)");
        if (r < 0) {
                r = -ESTALE;
                goto out;
        }
        r = tpm2_check(Esys_TR_GetName(c->esys, live, &live_name), "TR_GetName");
        if (r < 0)
                goto out;
        if (stored_name->size != live_name->size ||
            memcmp(stored_name->name, live_name->name, live_name->size) != 0) {
                r = -ESTALE;
                goto out;
        }
        *ret = live;
        live = ESYS_TR_NONE;
        *persistent = true;
        r = 0;
out:
        Esys_Free(stored_name);
        Esys_Free(live_name);
        tpm2_close(c, &live);
        return r;
}

int tpm2_unseal(Tpm2Context *c, uint16_t pcr_bank, uint32_t pcr_mask,
                const uint8_t *policy_hash, size_t policy_hash_size,
                const Tpm2Sealed *s, uint8_t **ret_secret, size_t *ret_secret_size) {
        return tpm2_unseal_with_auth(c, pcr_bank, pcr_mask, policy_hash, policy_hash_size, NULL, 0, s,
                                     ret_secret, ret_secret_size);
}

int tpm2_pin_auth(const char *pin, const uint8_t *salt, size_t salt_size, uint8_t ret[TPM2_SHA256_SIZE]) {
        uint8_t salted[TPM2_SHA256_SIZE];
        char *b64 = NULL;
        const char *input = pin;
        int r;
        if (salt && salt_size > 0) {
                if (PKCS5_PBKDF2_HMAC(pin, (int) strlen(pin), salt, (int) salt_size, 1, EVP_sha256(),
                                      sizeof(salted), salted) != 1)
                        return -EIO;
                r = base64_encode(salted, sizeof(salted), &b64);
                explicit_bzero(salted, sizeof(salted));
                if (r < 0)
                        return r;
                input = b64;
        }
        unsigned len = 0;
        r = EVP_Digest(input, strlen(input), ret, &len, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
        if (b64)
                erase_and_free(b64, strlen(b64));
        return r;
}

int tpm2_unseal_with_auth(Tpm2Context *c, uint16_t pcr_bank, uint32_t pcr_mask,
                          const uint8_t *policy_hash, size_t policy_hash_size,
                          const uint8_t *auth, size_t auth_size,
                          const Tpm2Sealed *s, uint8_t **ret_secret, size_t *ret_secret_size) {
        TPM2B_PRIVATE priv = {};
        TPM2B_PUBLIC pub = {};
        size_t off = 0;
        if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(s->blob, s->blob_size, &off, &priv) != TSS2_RC_SUCCESS ||
            Tss2_MU_TPM2B_PUBLIC_Unmarshal(s->blob, s->blob_size, &off, &pub) != TSS2_RC_SUCCESS)
                return -EBADMSG;
        if (off != s->blob_size)
                return -EOPNOTSUPP; /* a trailing import seed: sealed without the TPM */
        if (pcr_bank != TPM2_ALG_SHA256 && pcr_bank != TPM2_ALG_SHA1)
                return -EOPNOTSUPP;

        ESYS_TR parent = ESYS_TR_NONE, object = ESYS_TR_NONE, session = ESYS_TR_NONE;
        bool persistent = false;
        TPM2B_DIGEST *digest = NULL;
        TPM2B_SENSITIVE_DATA *data = NULL;
        int r = unseal_parent(c, s, &parent, &persistent);
        if (r < 0)
                goto out;
        r = tpm2_check(Esys_Load(c->esys, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub,
                                 &object), "Load");
        if (r < 0)
                goto out;
        r = start_session(c, parent, TPM2_SE_POLICY, TPMA_SESSION_ENCRYPT, &session);
        if (r < 0)
                goto out;
        TPML_PCR_SELECTION sel;
        tpm2_pcr_selection(pcr_mask, pcr_bank, &sel);
        TPM2B_DIGEST empty = {};
        r = tpm2_check(Esys_PolicyPCR(c->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &empty, &sel),
                       "PolicyPCR");
        if (r < 0)
                goto out;
        if (auth) {
                r = tpm2_check(Esys_PolicyAuthValue(c->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE),
                               "PolicyAuthValue");
                if (r < 0)
                        goto out;
                /* The TPM drops trailing zero bytes of an authValue; so must we. */
                TPM2B_AUTH a = { .size = (UINT16) (auth_size > sizeof(a.buffer) ? sizeof(a.buffer) : auth_size) };
                memcpy(a.buffer, auth, a.size);
                while (a.size > 0 && a.buffer[a.size - 1] == 0)
                        a.size--;
                r = tpm2_check(Esys_TR_SetAuth(c->esys, object, &a), "TR_SetAuth");
                explicit_bzero(&a, sizeof(a));
                if (r < 0)
                        goto out;
        }
        if (policy_hash && policy_hash_size > 0) {
                r = tpm2_check(Esys_PolicyGetDigest(c->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                                    &digest), "PolicyGetDigest");
                if (r < 0)
                        goto out;
                if (digest->size != policy_hash_size || memcmp(digest->buffer, policy_hash, policy_hash_size) != 0) {
                        log_debug("TPM2: the session's policy digest differs from the token's: PCRs changed");
                        r = -EPERM;
                        goto out;
                }
        }
        r = tpm2_check(Esys_Unseal(c->esys, object, session, ESYS_TR_NONE, ESYS_TR_NONE, &data), "Unseal");
        if (r < 0)
                goto out;
        uint8_t *secret = malloc(data->size ? data->size : 1);
        if (!secret) {
                r = -ENOMEM;
                goto out;
        }
        memcpy(secret, data->buffer, data->size);
        *ret_secret = secret;
        *ret_secret_size = data->size;
        r = 0;
out:
        if (data) {
                explicit_bzero(data, sizeof(*data));
                Esys_Free(data);
        }
        Esys_Free(digest);
        tpm2_flush(c, &session);
        tpm2_flush(c, &object);
        if (persistent)
                tpm2_close(c, &parent);
        else
                tpm2_flush(c, &parent);
        return r;
}
