/* SPDX-License-Identifier: MIT */
/* UKI assembly on a synthetic stub whose section table has no room left:
 * the headers must grow and the stub's section data move with them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secureboot/pe.h"
#include "secureboot/uki.h"

/* PE32+, FileAlignment 0x200, SectionAlignment 0x1000, SizeOfHeaders 0x200
 * filled up to the last byte that the 2-entry section table needs. */
static size_t make_stub(uint8_t *d) {
        const uint32_t hdr = 0x200;
        memset(d, 0, 0x600);
        d[0] = 'M'; d[1] = 'Z';
        /* put the PE header late so that the section table ends near 0x200 */
        uint32_t pe = 0x200 - (24 + 240 + 2 * 40);
        put_le32(d + 0x3c, pe);
        memcpy(d + pe, "PE\0\0", 4);
        put_le16(d + pe + 4, 0x8664);
        put_le16(d + pe + 6, 2);
        put_le16(d + pe + 20, 240);
        uint8_t *opt = d + pe + 24;
        put_le16(opt, 0x20b);
        put_le32(opt + 32, 0x1000);
        put_le32(opt + 36, 0x200);
        put_le32(opt + 56, 0x3000);
        put_le32(opt + 60, hdr);
        put_le32(opt + 108, 16);
        uint8_t *st = opt + 240;
        memcpy(st, ".text", 5);
        put_le32(st + 8, 0x200); put_le32(st + 12, 0x1000); put_le32(st + 16, 0x200); put_le32(st + 20, hdr);
        memcpy(st + 40, ".sbat", 5);
        put_le32(st + 48, 0x20); put_le32(st + 52, 0x2000); put_le32(st + 56, 0x200); put_le32(st + 60, hdr + 0x200);
        memset(d + hdr, 0xcc, 0x200);
        memcpy(d + hdr + 0x200, "sbat,1,test\n", 12);
        return 0x600;
}

static char *write_tmp(const void *d, size_t n) {
        char *p = strdup("/tmp/test-uki-XXXXXX");
        int fd = mkstemp(p);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, d, n), (ssize_t) n);
        close(fd);
        return p;
}

static void test_headers_grow(void **state) {
        uint8_t stub[0x600];
        size_t n = make_stub(stub);
        PeImage img;
        assert_int_equal(pe_parse(stub, n, &img, NULL), 0);
        pe_image_done(&img);

        uint8_t kernel[5000];
        for (size_t i = 0; i < sizeof kernel; i++)
                kernel[i] = (uint8_t) (i * 13 + 1);
        char *stub_path = write_tmp(stub, n), *kernel_path = write_tmp(kernel, sizeof kernel);
        const char osrel[] = "ID=test\n";
        char *osrel_path = write_tmp(osrel, strlen(osrel));

        UkiInputs in = {
                .stub = stub_path, .linux_path = kernel_path, .os_release_path = osrel_path,
                .cmdline = "console=ttyS0", .uname = "6.1.0-test",
        };
        uint8_t *out, *out2;
        size_t out_size, out2_size;
        assert_int_equal(uki_assemble_buffer(&in, &out, &out_size, NULL), 0);
        assert_int_equal(uki_assemble_buffer(&in, &out2, &out2_size, NULL), 0);
        assert_int_equal(out_size, out2_size);
        assert_memory_equal(out, out2, out_size);
        free(out2);

        char *why = NULL;
        int r = pe_parse(out, out_size, &img, &why);
        if (r < 0)
                fail_msg("assembled image does not parse: %s", why);
        free(why);
        assert_int_equal(img.n_sections, 6);
        assert_int_equal(img.size_of_headers, 0x400);   /* grew by one FileAlignment */
        /* the stub's sections moved in the file, not in memory */
        const PeSection *text = pe_find_section(&img, ".text"), *sbat = pe_find_section(&img, ".sbat");
        assert_int_equal(text->pointer_to_raw_data, 0x400);
        assert_int_equal(text->virtual_address, 0x1000);
        assert_int_equal(out[text->pointer_to_raw_data + 17], 0xcc);
        assert_memory_equal(out + sbat->pointer_to_raw_data, "sbat,1,test\n", 12);
        /* ours: order, alignment, exact sizes, content */
        static const char *const order[] = { ".osrel", ".cmdline", ".uname", ".linux" };
        uint32_t prev_va = 0x2000;
        for (size_t i = 0; i < 4; i++) {
                const PeSection *s = &img.sections[2 + i];
                assert_string_equal(s->name, order[i]);
                assert_int_equal(s->virtual_address % 0x1000, 0);
                assert_true(s->virtual_address > prev_va);
                assert_int_equal(s->pointer_to_raw_data % 0x200, 0);
                assert_int_equal(s->size_of_raw_data % 0x200, 0);
                prev_va = s->virtual_address;
        }
        const PeSection *lx = pe_find_section(&img, ".linux");
        assert_int_equal(lx->virtual_size, sizeof kernel);
        assert_memory_equal(out + lx->pointer_to_raw_data, kernel, sizeof kernel);
        const PeSection *cl = pe_find_section(&img, ".cmdline");
        assert_int_equal(cl->virtual_size, strlen("console=ttyS0"));
        assert_memory_equal(out + cl->pointer_to_raw_data, "console=ttyS0", cl->virtual_size);
        assert_int_equal(img.size_of_image, lx->virtual_address + 0x2000); /* 5000 bytes → 2 pages */
        assert_int_equal(le32(out + img.checksum_offset), pe_checksum(out, out_size, img.checksum_offset));
        pe_image_done(&img);

        /* a UKI is not a stub */
        char *uki_path = write_tmp(out, out_size);
        in.stub = uki_path;
        char *failed = NULL, *want = NULL;
        assert_int_equal(uki_assemble_buffer(&in, &out2, &out2_size, &failed), -EBADMSG);
        assert_true(asprintf(&want, "%s is not a usable systemd-stub: it is already a UKI (it has a .osrel section)",
                             uki_path) > 0);
        assert_string_equal(failed, want);
        free(want);
        /* a missing input is named */
        in.stub = stub_path;
        in.initrd_path = "/nonexistent/initrd";
        assert_int_equal(uki_assemble_buffer(&in, &out2, &out2_size, &failed), -ENOENT);
        assert_string_equal(failed, "cannot read /nonexistent/initrd: No such file or directory");
        free(failed);

        free(out);
        unlink(stub_path); unlink(kernel_path); unlink(osrel_path); unlink(uki_path);
        free(stub_path); free(kernel_path); free(osrel_path); free(uki_path);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_headers_grow),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
