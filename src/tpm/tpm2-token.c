/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tpm/tpm2-token.h"
#include "util/base64.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/macro.h"

void tpm2_token_done(Tpm2Token *t) {
        if (!t)
                return;
        tpm2_sealed_done(&t->sealed);
        free(t->policy_hash);
        free(t->salt);
        *t = (Tpm2Token) {};
}

const char *tpm2_alg_to_string(uint16_t alg) {
        switch (alg) {
        case TPM2_ALG_ECC: return "ecc";
        case TPM2_ALG_RSA: return "rsa";
        case TPM2_ALG_SHA256: return "sha256";
        case TPM2_ALG_SHA1: return "sha1";
        }
        return "unknown";
}

static json_object *field(json_object *o, const char *name) {
        json_object *v;
        return json_object_object_get_ex(o, name, &v) ? v : NULL;
}

static int bad(const char *what) {
        log_debug("systemd-tpm2 token: %s", what);
        return -EINVAL;
}

/* A string field, or the first string of an array (newer systemd may list
 * several sealed objects). */
static const char *string_or_first(json_object *v) {
        if (v && json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0)
                v = json_object_array_get_idx(v, 0);
        if (!v || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int parse(json_object *o, Tpm2Token *t) {
        json_object *v = field(o, "type");
        if (!v || !json_object_is_type(v, json_type_string))
                return bad("no type");
        if (!streq(json_object_get_string(v), "systemd-tpm2"))
                return -EMEDIUMTYPE;

        v = field(o, "keyslots");
        if (!v || !json_object_is_type(v, json_type_array) || json_object_array_length(v) < 1)
                return bad("no keyslots");
        json_object *ks = json_object_array_get_idx(v, 0);
        if (!ks || !json_object_is_type(ks, json_type_string))
                return bad("keyslot is not a string");
        const char *kss = json_object_get_string(ks);
        char *end;
        errno = 0;
        long slot = strtol(kss, &end, 10);
        if (errno || end == kss || *end || slot < 0 || slot > 31)
                return bad("keyslot is not a number 0..31");
        t->keyslot = (int) slot;

        v = field(o, "tpm2-pcrs");
        if (!v || !json_object_is_type(v, json_type_array))
                return bad("no tpm2-pcrs array");
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *p = json_object_array_get_idx(v, i);
                if (!p || !json_object_is_type(p, json_type_int))
                        return bad("tpm2-pcrs holds a non-integer");
                int64_t n = json_object_get_int64(p);
                if (n < 0 || n >= TPM2_PCRS_MAX)
                        return bad("tpm2-pcrs holds a PCR out of range");
                t->pcr_mask |= UINT32_C(1) << n;
        }

        t->pcr_bank = TPM2_ALG_SHA256;
        v = field(o, "tpm2-pcr-bank");
        if (v) {
                const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
                if (streq(s, "sha256"))
                        t->pcr_bank = TPM2_ALG_SHA256;
                else if (streq(s, "sha1"))
                        t->pcr_bank = TPM2_ALG_SHA1;
                else
                        return bad("tpm2-pcr-bank is neither sha256 nor sha1");
        }

        t->sealed.primary_alg = TPM2_ALG_ECC;
        v = field(o, "tpm2-primary-alg");
        if (v) {
                const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
                if (streq(s, "ecc"))
                        t->sealed.primary_alg = TPM2_ALG_ECC;
                else if (streq(s, "rsa"))
                        t->sealed.primary_alg = TPM2_ALG_RSA;
                else
                        return bad("tpm2-primary-alg is neither ecc nor rsa");
        }

        const char *blob = string_or_first(field(o, "tpm2-blob"));
        if (!blob || base64_decode(blob, &t->sealed.blob, &t->sealed.blob_size) < 0 || t->sealed.blob_size == 0)
                return bad("tpm2-blob missing or not base64");

        const char *hash = string_or_first(field(o, "tpm2-policy-hash"));
        if (!hash || hex_decode(hash, &t->policy_hash, &t->policy_hash_size) < 0)
                return bad("tpm2-policy-hash missing or not hex");

        v = field(o, "tpm2-pin");
        if (v) {
                if (!json_object_is_type(v, json_type_boolean))
                        return bad("tpm2-pin is not a boolean");
                t->pin = json_object_get_boolean(v);
        }

        v = field(o, "tpm2_salt");
        if (v) {
                if (!json_object_is_type(v, json_type_string) ||
                    base64_decode(json_object_get_string(v), &t->salt, &t->salt_size) < 0)
                        return bad("tpm2_salt is not base64");
        }

        v = field(o, "tpm2_srk");
        if (v) {
                if (!json_object_is_type(v, json_type_string) ||
                    base64_decode(json_object_get_string(v), &t->sealed.srk, &t->sealed.srk_size) < 0 ||
                    t->sealed.srk_size == 0)
                        return bad("tpm2_srk is not base64");
        }

        v = field(o, "keystone-pcr-values");
        if (v) {
                if (!json_object_is_type(v, json_type_object))
                        return bad("keystone-pcr-values is not an object");
                json_object_object_foreach(v, key, val) {
                        uint32_t m;
                        _cleanup_free_ uint8_t *d = NULL;
                        size_t n;
                        if (tpm2_pcr_mask_from_string(key, &m) < 0 || __builtin_popcount(m) != 1)
                                return bad("keystone-pcr-values has a key that is not a PCR number");
                        if (!json_object_is_type(val, json_type_string) ||
                            hex_decode(json_object_get_string(val), &d, &n) < 0 || n != TPM2_SHA256_SIZE)
                                return bad("keystone-pcr-values holds a value that is not 32 bytes of hex");
                        unsigned i = (unsigned) __builtin_ctz(m);
                        memcpy(t->values.value[i], d, TPM2_SHA256_SIZE);
                        t->values.mask |= m;
                }
                t->has_values = true;
        }

        if (field(o, "tpm2_argon2id") || field(o, "tpm2-argon2id"))
                t->unsupported = "its TPM2 PIN is stretched with Argon2id";
        v = field(o, "tpm2_pcrlock");
        if (v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v))
                t->unsupported = "it uses a pcrlock policy (tpm2_pcrlock)";
        v = field(o, "tpm2_pubkey_pcrs");
        if (v && json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0)
                t->unsupported = "it uses a signed PCR policy (tpm2_pubkey)";
        return 0;
}

int tpm2_token_from_json(const char *json, Tpm2Token *ret) {
        json_tokener *tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_object *o = json_tokener_parse_ex(tok, json, (int) strlen(json));
        bool complete = json_tokener_get_error(tok) == json_tokener_success &&
                        json_tokener_get_parse_end(tok) == strlen(json);
        json_tokener_free(tok);
        if (!o || !complete || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return bad("not a JSON object");
        }
        Tpm2Token t = {};
        int r = parse(o, &t);
        json_object_put(o);
        if (r < 0) {
                tpm2_token_done(&t);
                return r;
        }
        *ret = t;
        return 0;
}

static int add_string(json_object *o, const char *key, const char *s) {
        json_object *v = json_object_new_string(s);
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add(json_object *o, const char *key, json_object *v) {
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int tpm2_token_to_json(const Tpm2Token *t, char **ret) {
        json_object *o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        _cleanup_free_ char *blob = NULL, *hash = NULL, *srk = NULL;
        char slot[16];
        int r = -ENOMEM;

        snprintf(slot, sizeof(slot), "%d", t->keyslot);
        json_object *ks = json_object_new_array(), *pcrs = json_object_new_array();
        if (ks && json_object_array_add(ks, json_object_new_string(slot)) < 0)
                goto out;
        for (unsigned i = 0; pcrs && i < TPM2_PCRS_MAX; i++)
                if (t->pcr_mask & (UINT32_C(1) << i))
                        if (json_object_array_add(pcrs, json_object_new_int((int) i)) < 0)
                                goto out;
        if (base64_encode(t->sealed.blob, t->sealed.blob_size, &blob) < 0 ||
            hex_encode(t->policy_hash, t->policy_hash_size, &hash) < 0 ||
            (t->sealed.srk && base64_encode(t->sealed.srk, t->sealed.srk_size, &srk) < 0))
                goto out;

        if (add_string(o, "type", "systemd-tpm2") < 0 ||
            add(o, "keyslots", TAKE_PTR(ks)) < 0 ||
            add_string(o, "tpm2-blob", blob) < 0 ||
            add(o, "tpm2-pcrs", TAKE_PTR(pcrs)) < 0 ||
            add_string(o, "tpm2-pcr-bank", tpm2_alg_to_string(t->pcr_bank)) < 0 ||
            add_string(o, "tpm2-primary-alg", tpm2_alg_to_string(t->sealed.primary_alg)) < 0 ||
            add_string(o, "tpm2-policy-hash", hash) < 0 ||
            add(o, "tpm2-pin", json_object_new_boolean(t->pin)) < 0 ||
            (srk && add_string(o, "tpm2_srk", srk) < 0))
                goto out;

        if (t->has_values) {
                json_object *vals = json_object_new_object();
                if (add(o, "keystone-pcr-values", vals) < 0)
                        goto out;
                for (unsigned i = 0; i < TPM2_PCRS_MAX; i++) {
                        if (!(t->values.mask & t->pcr_mask & (UINT32_C(1) << i)))
                                continue;
                        _cleanup_free_ char *h = NULL;
                        char key[4];
                        snprintf(key, sizeof(key), "%u", i);
                        if (hex_encode(t->values.value[i], TPM2_SHA256_SIZE, &h) < 0 || add_string(vals, key, h) < 0)
                                goto out;
                }
        }

        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        *ret = s ? strdup(s) : NULL;
        r = *ret ? 0 : -ENOMEM;
out:
        json_object_put(ks);
        json_object_put(pcrs);
        json_object_put(o);
        return r;
}

int tpm2_secret_to_passphrase(const uint8_t *secret, size_t size, char **ret) {
        return base64_encode(secret, size, ret);
}
