/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tpm/luks.h"
#include "util/log.h"
#include "util/macro.h"

const char *luks_slot_kind_to_string(LuksSlotKind k) {
        switch (k) {
        case LUKS_SLOT_NONE: return "inactive";
        case LUKS_SLOT_PASSWORD: return "password";
        case LUKS_SLOT_RECOVERY: return "recovery";
        case LUKS_SLOT_TPM2: return "tpm2";
        case LUKS_SLOT_OTHER: return "other";
        }
        return "unknown";
}

/* libcryptsetup prints its own messages to stderr by default; library code
 * only logs at debug level, the command says what failed. */
static void luks_log(int level, const char *msg, void *userdata) {
        size_t n = strlen(msg);
        log_debug("libcryptsetup: %.*s", (int) (n > 0 && msg[n - 1] == '\n' ? n - 1 : n), msg);
}

void luks_route_logging(struct crypt_device *cd) {
        crypt_set_log_callback(cd, luks_log, NULL);
}

int luks_open(const char *path, struct crypt_device **ret) {
        struct crypt_device *cd = NULL;
        crypt_set_log_callback(NULL, luks_log, NULL);
        int r = crypt_init(&cd, path);
        if (r < 0)
                return r;
        crypt_set_log_callback(cd, luks_log, NULL);
        r = crypt_load(cd, CRYPT_LUKS2, NULL);
        if (r < 0) {
                crypt_free(cd);
                return r == -EINVAL ? -EMEDIUMTYPE : r;
        }
        *ret = cd;
        return 0;
}

int luks_volume_key_get(struct crypt_device *cd, int slot, const char *pass, size_t pass_size,
                        uint8_t **ret_vk, size_t *ret_vk_size) {
        int n = crypt_get_volume_key_size(cd);
        if (n <= 0)
                return -EINVAL;
        size_t size = (size_t) n;
        uint8_t *vk = malloc(size);
        if (!vk)
                return -ENOMEM;
        int r = crypt_volume_key_get(cd, slot < 0 ? CRYPT_ANY_SLOT : slot, (char *) vk, &size, pass, pass_size);
        if (r < 0) {
                erase_and_free(vk, (size_t) n);
                return r == -ENOENT ? -EPERM : r;
        }
        *ret_vk = vk;
        *ret_vk_size = size;
        return r;
}

int luks_keyslot_add(struct crypt_device *cd, const uint8_t *vk, size_t vk_size,
                     const char *pass, size_t pass_size, bool minimal_pbkdf) {
        struct crypt_pbkdf_type minimal = {
                .type = CRYPT_KDF_PBKDF2,
                .hash = "sha512",
                .iterations = 1000,
                .flags = CRYPT_PBKDF_NO_BENCHMARK,
        };
        int r = crypt_set_pbkdf_type(cd, minimal_pbkdf ? &minimal : NULL);
        if (r < 0)
                return r;
        return crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, (const char *) vk, vk_size, pass, pass_size);
}

int luks_token_add(struct crypt_device *cd, const char *json) {
        return crypt_token_json_set(cd, CRYPT_ANY_TOKEN, json);
}

int luks_token_parse(const char *json, char **ret_type, uint32_t *ret_slots) {
        json_object *o = json_tokener_parse(json);
        if (!o)
                return -EINVAL;
        json_object *v;
        uint32_t slots = 0;
        char *type = NULL;
        if (json_object_object_get_ex(o, "type", &v) && json_object_is_type(v, json_type_string))
                type = strdup(json_object_get_string(v));
        else
                type = strdup("");
        if (json_object_object_get_ex(o, "keyslots", &v) && json_object_is_type(v, json_type_array))
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        const char *s = json_object_get_string(json_object_array_get_idx(v, i));
                        char *end;
                        long n = s ? strtol(s, &end, 10) : -1;
                        if (s && *s && !*end && n >= 0 && n < LUKS_SLOTS_MAX)
                                slots |= UINT32_C(1) << n;
                }
        json_object_put(o);
        if (!type)
                return -ENOMEM;
        if (ret_type)
                *ret_type = type;
        else
                free(type);
        if (ret_slots)
                *ret_slots = slots;
        return 0;
}

int luks_token_info(struct crypt_device *cd, int token, const char **ret_json, char **ret_type, uint32_t *ret_slots) {
        const char *json = NULL;
        int r = crypt_token_json_get(cd, token, &json);
        if (r < 0)
                return -ENOENT;
        r = luks_token_parse(json, ret_type, ret_slots);
        if (r < 0)
                return r;
        if (ret_json)
                *ret_json = json;
        return 0;
}

int luks_slot_kinds(struct crypt_device *cd, LuksSlotKind kinds[LUKS_SLOTS_MAX]) {
        for (int i = 0; i < LUKS_SLOTS_MAX; i++) {
                crypt_keyslot_info ki = crypt_keyslot_status(cd, i);
                kinds[i] = (ki == CRYPT_SLOT_ACTIVE || ki == CRYPT_SLOT_ACTIVE_LAST) ? LUKS_SLOT_PASSWORD
                                                                                     : LUKS_SLOT_NONE;
        }
        for (int t = 0; t < LUKS_TOKENS_MAX; t++) {
                _cleanup_free_ char *type = NULL;
                uint32_t slots;
                if (luks_token_info(cd, t, NULL, &type, &slots) < 0)
                        continue;
                LuksSlotKind k = streq(type, "systemd-tpm2")       ? LUKS_SLOT_TPM2
                                 : streq(type, "systemd-recovery") ? LUKS_SLOT_RECOVERY
                                                                   : LUKS_SLOT_OTHER;
                for (int i = 0; i < LUKS_SLOTS_MAX; i++)
                        if ((slots & (UINT32_C(1) << i)) && kinds[i] != LUKS_SLOT_NONE)
                                kinds[i] = k;
        }
        return 0;
}

int luks_keyslot_wipe(struct crypt_device *cd, int slot) {
        /* libcryptsetup drops the keyslot from its tokens when destroying
         * it: find the tokens first, remove them after. */
        uint32_t tokens = 0;
        for (int t = 0; t < LUKS_TOKENS_MAX; t++) {
                uint32_t slots;
                if (luks_token_info(cd, t, NULL, NULL, &slots) == 0 && (slots & (UINT32_C(1) << slot)))
                        tokens |= UINT32_C(1) << t;
        }
        int r = crypt_keyslot_destroy(cd, slot);
        if (r < 0)
                return r;
        for (int t = 0; t < LUKS_TOKENS_MAX; t++)
                if (tokens & (UINT32_C(1) << t)) {
                        r = crypt_token_json_set(cd, t, NULL);
                        if (r < 0)
                                return r;
                }
        return 0;
}

int luks_activate(struct crypt_device *cd, const char *name, int slot, const char *pass, size_t pass_size) {
        int r = crypt_activate_by_passphrase(cd, name, slot < 0 ? CRYPT_ANY_SLOT : slot, pass, pass_size, 0);
        if (r == -ENOENT || (r == -EPERM && !name))
                return -EPERM;
        return r;
}
