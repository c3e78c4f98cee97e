/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "secureboot/pe.h"
#include "util/error-message.h"
#include "util/macro.h"

#define BAD(msg) error_set(ret_error, -EBADMSG, "%s", (msg))

static int cmp_u32_index(const void *a, const void *b, void *ctx) {
        const uint32_t *keys = ctx;
        uint32_t x = keys[*(const uint16_t *) a], y = keys[*(const uint16_t *) b];
        return x < y ? -1 : x > y;
}

int pe_parse(const uint8_t *data, size_t size, PeImage *ret, char **ret_error) {
        PeImage img = { .data = data, .size = size };

        if (size < 0x40 || data[0] != 'M' || data[1] != 'Z')
                return BAD("no MZ header (not a PE/COFF image)");
        if (size > UINT32_MAX)
                return BAD("image larger than 4 GiB");
        img.pe_offset = le32(data + 0x3c);
        if ((uint64_t) img.pe_offset + 24 > size)
                return BAD("PE header offset (e_lfanew) points past the end of the file");
        if (memcmp(data + img.pe_offset, "PE\0\0", 4) != 0)
                return BAD("no PE signature at e_lfanew");
        const uint8_t *coff = data + img.pe_offset + 4;
        img.machine = le16(coff);
        img.n_sections = le16(coff + 2);
        img.opt_size = le16(coff + 16);
        img.opt_offset = img.pe_offset + 24;
        if (img.n_sections == 0 || img.n_sections > PE_MAX_SECTIONS)
                return BAD("number of sections is 0 or above 96");
        if ((uint64_t) img.opt_offset + img.opt_size > size)
                return BAD("optional header extends past the end of the file");
        if (img.opt_size < 2)
                return BAD("optional header too small");
        const uint8_t *opt = data + img.opt_offset;
        uint16_t magic = le16(opt);
        uint32_t dirs_at;
        if (magic == 0x20b) {
                img.pe32plus = true;
                dirs_at = 112;
        } else if (magic == 0x10b)
                dirs_at = 96;
        else
                return BAD("unknown optional header magic (neither PE32 nor PE32+)");
        if (img.opt_size < dirs_at)
                return BAD("optional header too small for its kind");
        img.section_alignment = le32(opt + 32);
        img.file_alignment = le32(opt + 36);
        img.size_of_image = le32(opt + 56);
        img.size_of_headers = le32(opt + 60);
        img.checksum_offset = img.opt_offset + 64;
        img.n_data_dirs = le32(opt + dirs_at - 4);
        if (img.n_data_dirs > 16 || dirs_at + (uint64_t) img.n_data_dirs * 8 > img.opt_size)
                return BAD("data directories do not fit in the optional header");
        if (img.n_data_dirs <= PE_DIR_SECURITY)
                return BAD("no certificate table directory entry (fewer than 5 data directories)");
        img.cert_dir_offset = img.opt_offset + dirs_at + PE_DIR_SECURITY * 8;
        img.cert_table_offset = le32(data + img.cert_dir_offset);
        img.cert_table_size = le32(data + img.cert_dir_offset + 4);

        img.section_table_offset = img.opt_offset + img.opt_size;
        uint64_t st_end = img.section_table_offset + (uint64_t) img.n_sections * 40;
        if (st_end > size)
                return BAD("section table extends past the end of the file");
        if (img.size_of_headers > size)
                return BAD("SizeOfHeaders is larger than the file");
        if (img.size_of_headers < st_end)
                return BAD("SizeOfHeaders does not cover the section table");

        _cleanup_free_ PeSection *s = calloc(img.n_sections, sizeof(PeSection));
        if (!s)
                return -ENOMEM;
        uint32_t raw_keys[PE_MAX_SECTIONS], va_keys[PE_MAX_SECTIONS];
        uint16_t order[PE_MAX_SECTIONS];
        for (unsigned i = 0; i < img.n_sections; i++) {
                const uint8_t *h = data + img.section_table_offset + i * 40;
                memcpy(s[i].name, h, 8);
                s[i].header_offset = img.section_table_offset + i * 40;
                s[i].virtual_size = le32(h + 8);
                s[i].virtual_address = le32(h + 12);
                s[i].size_of_raw_data = le32(h + 16);
                s[i].pointer_to_raw_data = le32(h + 20);
                s[i].characteristics = le32(h + 36);
                if (s[i].size_of_raw_data > 0) {
                        if ((uint64_t) s[i].pointer_to_raw_data + s[i].size_of_raw_data > size)
                                return BAD("a section's raw data extends past the end of the file");
                        if (s[i].pointer_to_raw_data < img.size_of_headers)
                                return BAD("a section's raw data overlaps the headers");
                }
                raw_keys[i] = s[i].pointer_to_raw_data;
                va_keys[i] = s[i].virtual_address;
                order[i] = (uint16_t) i;
        }

        /* Raw data: no two sections may share bytes of the file. */
        qsort_r(order, img.n_sections, sizeof(uint16_t), cmp_u32_index, raw_keys);
        uint64_t end = img.size_of_headers;
        for (unsigned k = 0; k < img.n_sections; k++) {
                const PeSection *x = &s[order[k]];
                if (x->size_of_raw_data == 0)
                        continue;
                if (x->pointer_to_raw_data < end)
                        return BAD("sections overlap in the file");
                end = (uint64_t) x->pointer_to_raw_data + x->size_of_raw_data;
        }
        img.raw_end = (uint32_t) end;

        /* Memory: no two sections may share addresses. */
        for (unsigned i = 0; i < img.n_sections; i++)
                order[i] = (uint16_t) i;
        qsort_r(order, img.n_sections, sizeof(uint16_t), cmp_u32_index, va_keys);
        uint64_t vend = 0;
        for (unsigned k = 0; k < img.n_sections; k++) {
                const PeSection *x = &s[order[k]];
                uint32_t vs = x->virtual_size ? x->virtual_size : x->size_of_raw_data;
                if (vs == 0)
                        continue;
                if (x->virtual_address < vend)
                        return BAD("sections overlap in memory");
                vend = (uint64_t) x->virtual_address + vs;
        }
        if (vend > img.size_of_image)
                return BAD("a section extends past SizeOfImage");

        if (img.cert_table_offset != 0 || img.cert_table_size != 0) {
                if (img.cert_table_offset == 0 || img.cert_table_size < 8)
                        return BAD("certificate table directory entry is inconsistent");
                if (img.cert_table_offset < img.raw_end)
                        return BAD("certificate table overlaps section data or headers");
                if ((uint64_t) img.cert_table_offset + img.cert_table_size > size)
                        return BAD("certificate table extends past the end of the file");
                if (img.cert_table_offset % 8 != 0)
                        return BAD("certificate table is not 8-byte aligned");
        }

        img.sections = TAKE_PTR(s);
        *ret = img;
        return 0;
}

void pe_image_done(PeImage *img) {
        if (!img)
                return;
        free(img->sections);
        img->sections = NULL;
}

const PeSection *pe_find_section(const PeImage *img, const char *name) {
        for (unsigned i = 0; i < img->n_sections; i++)
                if (strneq(img->sections[i].name, name, 8))
                        return &img->sections[i];
        return NULL;
}

uint32_t pe_checksum(const uint8_t *data, size_t size, uint32_t checksum_offset) {
        uint64_t sum = 0;
        for (size_t i = 0; i + 1 < size; i += 2) {
                if (i == checksum_offset || i == (size_t) checksum_offset + 2)
                        continue;
                sum += le16(data + i);
                sum = (sum & 0xffff) + (sum >> 16);
        }
        if (size % 2)
                sum += data[size - 1];
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        return (uint32_t) sum + (uint32_t) size;
}

int pe_foreach_cert(const PeImage *img, int (*cb)(const PeCertEntry *e, void *userdata), void *userdata) {
        if (img->cert_table_size == 0)
                return 0;
        uint32_t off = img->cert_table_offset, end = img->cert_table_offset + img->cert_table_size;
        while (off < end) {
                if (end - off < 8)
                        return -EBADMSG;
                PeCertEntry e = {
                        .offset = off,
                        .length = le32(img->data + off),
                        .revision = le16(img->data + off + 4),
                        .type = le16(img->data + off + 6),
                };
                if (e.length < 8 || e.length > end - off)
                        return -EBADMSG;
                e.payload = img->data + off + 8;
                e.payload_size = e.length - 8;
                int r = cb(&e, userdata);
                if (r != 0)
                        return r;
                uint64_t next = ((uint64_t) off + e.length + 7) & ~(uint64_t) 7;
                if (next >= end)
                        break;
                off = (uint32_t) next;
        }
        return 0;
}
