/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "secureboot/eventlog.h"
#include "secureboot/pe.h"

#define MAX_ALGS 16

typedef struct Reader {
        const uint8_t *p;
        size_t left;
} Reader;

static int take(Reader *r, size_t n, const uint8_t **ret) {
        if (r->left < n)
                return -EBADMSG;
        *ret = r->p;
        r->p += n;
        r->left -= n;
        return 0;
}

static int take_u32(Reader *r, uint32_t *ret) {
        const uint8_t *p;
        if (take(r, 4, &p) < 0)
                return -EBADMSG;
        *ret = le32(p);
        return 0;
}

int eventlog_foreach(const uint8_t *log, size_t size, int (*cb)(const TcgEvent *e, void *userdata), void *userdata) {
        Reader rd = { log, size };
        const uint8_t *p;
        struct { uint16_t id, size; } algs[MAX_ALGS];
        uint32_t n_algs = 0;
        bool agile = false, first = true;

        while (rd.left > 0) {
                TcgEvent e;
                uint32_t sz;
                if (take_u32(&rd, &e.pcr) < 0 || take_u32(&rd, &e.type) < 0)
                        return -EBADMSG;
                if (!agile) {
                        if (take(&rd, 20, &p) < 0)
                                return -EBADMSG;
                } else {
                        uint32_t count;
                        if (take_u32(&rd, &count) < 0 || count > MAX_ALGS)
                                return -EBADMSG;
                        for (uint32_t i = 0; i < count; i++) {
                                if (take(&rd, 2, &p) < 0)
                                        return -EBADMSG;
                                uint16_t id = le16(p);
                                uint32_t j = 0;
                                while (j < n_algs && algs[j].id != id)
                                        j++;
                                if (j == n_algs || take(&rd, algs[j].size, &p) < 0)
                                        return -EBADMSG;
                        }
                }
                if (take_u32(&rd, &sz) < 0 || take(&rd, sz, &e.data) < 0)
                        return -EBADMSG;
                e.size = sz;

                if (first && e.type == EV_NO_ACTION && e.size >= 28 && memcmp(e.data, "Spec ID Event03\0", 16) == 0) {
                        /* TCG_EfiSpecIDEvent: signature[16] platformClass u32
                         * versions/uintnSize 4×u8, numberOfAlgorithms u32, {id u16, size u16}… */
                        n_algs = le32(e.data + 24);
                        if (n_algs == 0 || n_algs > MAX_ALGS || 28 + (size_t) n_algs * 4 > e.size)
                                return -EBADMSG;
                        for (uint32_t i = 0; i < n_algs; i++) {
                                algs[i].id = le16(e.data + 28 + 4 * i);
                                algs[i].size = le16(e.data + 30 + 4 * i);
                                if (algs[i].size == 0 || algs[i].size > 64)
                                        return -EBADMSG;
                        }
                        agile = true;
                }
                first = false;
                if (cb) {
                        int r = cb(&e, userdata);
                        if (r != 0)
                                return r;
                }
        }
        return 0;
}

static int count_rom(const TcgEvent *e, void *userdata) {
        if (e->pcr == 2 && e->type == EV_EFI_BOOT_SERVICES_DRIVER)
                (*(int *) userdata)++;
        return 0;
}

int eventlog_count_option_roms(const uint8_t *log, size_t size) {
        int n = 0;
        int r = eventlog_foreach(log, size, count_rom, &n);
        return r < 0 ? r : n;
}
