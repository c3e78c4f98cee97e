/* SPDX-License-Identifier: MIT */
/* TCG event logs: SHA-1 and crypto-agile formats, option-ROM counting,
 * malformed logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "secureboot/eventlog.h"
#include "secureboot/pe.h"

typedef struct Log {
        uint8_t b[4096];
        size_t n;
} Log;

static void u32(Log *l, uint32_t v) { put_le32(l->b + l->n, v); l->n += 4; }
static void u16(Log *l, uint16_t v) { put_le16(l->b + l->n, v); l->n += 2; }
static void bytes(Log *l, const void *d, size_t n) { memcpy(l->b + l->n, d, n); l->n += n; }
static void zeros(Log *l, size_t n) { memset(l->b + l->n, 0, n); l->n += n; }

static void sha1_event(Log *l, uint32_t pcr, uint32_t type, const char *data) {
        u32(l, pcr); u32(l, type); zeros(l, 20); u32(l, (uint32_t) strlen(data)); bytes(l, data, strlen(data));
}

static void spec_id(Log *l) {
        /* header event: SHA-1 format, EV_NO_ACTION, "Spec ID Event03", SHA-256 + SHA-384 */
        Log s = {};
        bytes(&s, "Spec ID Event03", 16);
        u32(&s, 0); s.b[s.n++] = 0; s.b[s.n++] = 2; s.b[s.n++] = 0; s.b[s.n++] = 2;
        u32(&s, 2); u16(&s, 0x000b); u16(&s, 32); u16(&s, 0x000c); u16(&s, 48);
        s.b[s.n++] = 0;
        u32(l, 0); u32(l, EV_NO_ACTION); zeros(l, 20); u32(l, (uint32_t) s.n); bytes(l, s.b, s.n);
}

static void agile_event(Log *l, uint32_t pcr, uint32_t type, const char *data) {
        u32(l, pcr); u32(l, type); u32(l, 2);
        u16(l, 0x000b); zeros(l, 32);
        u16(l, 0x000c); zeros(l, 48);
        u32(l, (uint32_t) strlen(data)); bytes(l, data, strlen(data));
}

static void test_sha1_format(void **state) {
        Log l = {};
        sha1_event(&l, 0, 8, "crtm");
        sha1_event(&l, 2, EV_EFI_BOOT_SERVICES_DRIVER, "rom1");
        sha1_event(&l, 2, EV_EFI_BOOT_SERVICES_DRIVER, "rom2");
        sha1_event(&l, 4, EV_EFI_BOOT_SERVICES_DRIVER, "not pcr 2");
        assert_int_equal(eventlog_count_option_roms(l.b, l.n), 2);
        assert_int_equal(eventlog_count_option_roms(l.b, l.n - 1), -EBADMSG);
        assert_int_equal(eventlog_count_option_roms(l.b, 0), 0);
}

static void test_agile_format(void **state) {
        Log l = {};
        spec_id(&l);
        agile_event(&l, 0, 8, "crtm");
        agile_event(&l, 7, 0x80000001, "SecureBoot");
        size_t clean = l.n;
        assert_int_equal(eventlog_count_option_roms(l.b, l.n), 0);
        agile_event(&l, 2, EV_EFI_BOOT_SERVICES_DRIVER, "rom");
        assert_int_equal(eventlog_count_option_roms(l.b, l.n), 1);
        /* every truncation is an error or a clean prefix, never a crash */
        for (size_t k = 0; k < l.n; k++) {
                int r = eventlog_count_option_roms(l.b, k);
                assert_true(r == -EBADMSG || r == 0);
        }
        /* an algorithm the header did not announce */
        Log bad = {};
        memcpy(bad.b, l.b, clean);
        bad.n = clean;
        u32(&bad, 2); u32(&bad, EV_EFI_BOOT_SERVICES_DRIVER); u32(&bad, 1); u16(&bad, 0x0004); zeros(&bad, 20); u32(&bad, 0);
        assert_int_equal(eventlog_count_option_roms(bad.b, bad.n), -EBADMSG);
        /* an absurd digest count */
        bad.n = clean;
        u32(&bad, 2); u32(&bad, 1); u32(&bad, 0xffffffff);
        assert_int_equal(eventlog_count_option_roms(bad.b, bad.n), -EBADMSG);
        /* an event size past the end */
        bad.n = clean;
        u32(&bad, 2); u32(&bad, 1); u32(&bad, 0); u32(&bad, 0x7fffffff);
        assert_int_equal(eventlog_count_option_roms(bad.b, bad.n), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sha1_format),
                cmocka_unit_test(test_agile_format),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
