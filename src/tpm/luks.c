/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "tpm/luks.h"
#include "util/log.h"
#include "util/macro.h"

const char *luks_slot_kind_to_string(LuksSlotKind k) {
        switch (k) {
        case LUKS_SLOT_NONE: return "inactive";
        case LUKS_SLOT_PASSWORD: return "password";
        case LUKS_SLOT_RECOVERY: return "recovery";
        case LUKS_SLOT_TPM2: return "tpm2";
        case LUKS_SLOT_INSTALL: return "install-secret";
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

/* ---- the on-disk header (LUKS2 on-disk format specification) ---- */

#define LUKS2_BIN_SIZE 4096
#define LUKS2_MAGIC_LEN 6
#define LUKS2_OFF_VERSION 6
#define LUKS2_OFF_HDR_SIZE 8
#define LUKS2_OFF_CSUM_ALG 72
#define LUKS2_CSUM_ALG_LEN 32
#define LUKS2_OFF_HDR_OFFSET 256
#define LUKS2_OFF_CSUM 448
#define LUKS2_CSUM_LEN 64
#define LUKS2_HDR_SIZE_MAX (4u << 20)

static const uint8_t luks2_magic_primary[LUKS2_MAGIC_LEN] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };
static const uint8_t luks2_magic_secondary[LUKS2_MAGIC_LEN] = { 'S', 'K', 'U', 'L', 0xba, 0xbe };

static uint64_t be64(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
                v = v << 8 | p[i];
        return v;
}

/* One copy at offset: NULL when intact, else what is wrong with it. */
static const char *header_copy_check(int fd, uint64_t offset, const uint8_t magic[LUKS2_MAGIC_LEN],
                                     uint64_t *ret_hdr_size) {
        uint8_t bin[LUKS2_BIN_SIZE];
        ssize_t n = pread(fd, bin, sizeof bin, (off_t) offset);
        if (n < 0)
                return "cannot be read";
        if (n < LUKS2_MAGIC_LEN || memcmp(bin, magic, LUKS2_MAGIC_LEN) != 0)
                return "no LUKS2 magic";
        if (n < (ssize_t) sizeof bin)
                return "truncated";
        if (bin[LUKS2_OFF_VERSION] != 0 || bin[LUKS2_OFF_VERSION + 1] != 2)
                return "not version 2";
        uint64_t hdr_size = be64(bin + LUKS2_OFF_HDR_SIZE);
        if (hdr_size < 2 * LUKS2_BIN_SIZE || hdr_size > LUKS2_HDR_SIZE_MAX || hdr_size % LUKS2_BIN_SIZE)
                return "implausible header size";
        if (be64(bin + LUKS2_OFF_HDR_OFFSET) != offset)
                return "records another offset";
        char alg[LUKS2_CSUM_ALG_LEN + 1];
        memcpy(alg, bin + LUKS2_OFF_CSUM_ALG, LUKS2_CSUM_ALG_LEN);
        alg[LUKS2_CSUM_ALG_LEN] = 0;
        const EVP_MD *md = EVP_get_digestbyname(alg);
        if (!md || EVP_MD_get_size(md) <= 0 || EVP_MD_get_size(md) > LUKS2_CSUM_LEN)
                return "unknown checksum algorithm";
        uint8_t *all = malloc(hdr_size);
        if (!all)
                return "cannot be read (out of memory)";
        n = pread(fd, all, hdr_size, (off_t) offset);
        if (n != (ssize_t) hdr_size) {
                free(all);
                return n < 0 ? "cannot be read" : "truncated";
        }
        uint8_t want[LUKS2_CSUM_LEN], got[EVP_MAX_MD_SIZE];
        memcpy(want, all + LUKS2_OFF_CSUM, LUKS2_CSUM_LEN);
        memset(all + LUKS2_OFF_CSUM, 0, LUKS2_CSUM_LEN);
        unsigned got_len = 0;
        int ok = EVP_Digest(all, hdr_size, got, &got_len, md, NULL);
        free(all);
        if (!ok)
                return "checksum cannot be computed";
        if (memcmp(want, got, got_len) != 0)
                return "bad checksum";
        *ret_hdr_size = hdr_size;
        return NULL;
}

int luks_header_check(const char *path, LuksHeaderCheck *ret) {
        /* the offsets the format allows for the secondary copy */
        static const uint64_t offsets[] = { 16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152,
                                            4194304 };
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        LuksHeaderCheck c = {};
        uint64_t size = 0;
        c.primary_problem = header_copy_check(fd, 0, luks2_magic_primary, &size);
        c.primary_ok = !c.primary_problem;
        if (c.primary_ok)
                c.hdr_size = size;
        /* the secondary: where the primary says, else at the first allowed
         * offset that holds its magic */
        c.secondary_problem = "no LUKS2 magic";
        for (size_t i = 0; i < ELEMENTSOF(offsets); i++) {
                uint64_t off = c.primary_ok ? c.hdr_size : offsets[i];
                uint64_t s2 = 0;
                const char *p = header_copy_check(fd, off, luks2_magic_secondary, &s2);
                if (!c.primary_ok && p && streq(p, "no LUKS2 magic"))
                        continue;
                c.secondary_problem = p;
                c.secondary_ok = !p;
                c.secondary_offset = off;
                if (c.secondary_ok && !c.primary_ok)
                        c.hdr_size = s2;
                break;
        }
        close(fd);
        bool any_magic = c.primary_ok || !streq(c.primary_problem, "no LUKS2 magic") ||
                         (c.secondary_problem ? !streq(c.secondary_problem, "no LUKS2 magic") : true);
        *ret = c;
        return any_magic ? 0 : -EMEDIUMTYPE;
}

int luks_open(const char *path, struct crypt_device **ret) {
        struct crypt_device *cd = NULL;
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        crypt_set_log_callback(NULL, luks_log, NULL);
        int r = crypt_init(&cd, path);
        if (r < 0)
                return r;
        crypt_set_log_callback(cd, luks_log, NULL);
        r = crypt_load(cd, CRYPT_LUKS2, NULL);
        if (r < 0) {
                crypt_free(cd);
                /* a file too short for a header reads as an I/O error */
                LuksHeaderCheck hc;
                int hr = r == -EIO ? luks_header_check(path, &hc) : 0;
                if (r == -EINVAL || (r == -EIO && (hr == -EMEDIUMTYPE || (hr == 0 && !hc.primary_ok && !hc.secondary_ok))))
                        return -EMEDIUMTYPE;
                return r;
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
                LuksSlotKind k = streq(type, "systemd-tpm2")                ? LUKS_SLOT_TPM2
                                 : streq(type, "systemd-recovery")          ? LUKS_SLOT_RECOVERY
                                 : streq(type, LUKS_TOKEN_INSTALL_SECRET)   ? LUKS_SLOT_INSTALL
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

int luks_install_secret_mark(struct crypt_device *cd, int slot) {
        if (slot < 0 || slot >= LUKS_SLOTS_MAX)
                return -EINVAL;
        char json[96];
        snprintf(json, sizeof json, "{\"type\":\"" LUKS_TOKEN_INSTALL_SECRET "\",\"keyslots\":[\"%d\"]}", slot);
        return luks_token_add(cd, json);
}

int luks_keyslots_verify_gone(const char *path, uint32_t mask) {
        struct crypt_device *cd = NULL;
        int r = luks_open(path, &cd);
        if (r < 0)
                return r;
        for (int i = 0; i < LUKS_SLOTS_MAX && r == 0; i++) {
                if (!(mask & (UINT32_C(1) << i)))
                        continue;
                crypt_keyslot_info ki = crypt_keyslot_status(cd, i);
                if (ki != CRYPT_SLOT_INACTIVE)
                        r = -EEXIST;
        }
        for (int t = 0; t < LUKS_TOKENS_MAX && r == 0; t++) {
                uint32_t slots;
                if (luks_token_info(cd, t, NULL, NULL, &slots) == 0 && (slots & mask))
                        r = -EEXIST;
        }
        crypt_free(cd);
        return r;
}

int luks_activate(struct crypt_device *cd, const char *name, int slot, const char *pass, size_t pass_size) {
        int r = crypt_activate_by_passphrase(cd, name, slot < 0 ? CRYPT_ANY_SLOT : slot, pass, pass_size, 0);
        if (r == -ENOENT || (r == -EPERM && !name))
                return -EPERM;
        return r;
}
