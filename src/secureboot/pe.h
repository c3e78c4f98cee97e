/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* PE/COFF images (EFI applications): a validating parser over a byte buffer.
 * pe_parse() refuses anything it could not later walk safely: headers past
 * the end, section data past the end, sections overlapping each other or the
 * headers, a certificate table that is misplaced, misaligned or malformed. */

#define PE_MAX_SECTIONS 96
#define PE_DIR_SECURITY 4      /* data directory index of the certificate table */
#define WIN_CERT_REVISION_2_0 0x0200
#define WIN_CERT_TYPE_PKCS_SIGNED_DATA 0x0002

static inline uint16_t le16(const uint8_t *p) { return (uint16_t) (p[0] | p[1] << 8); }
static inline uint32_t le32(const uint8_t *p) { return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24; }
static inline uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t) le32(p + 4) << 32; }
static inline void put_le16(uint8_t *p, uint16_t v) { p[0] = v & 0xff; p[1] = v >> 8; }
static inline void put_le32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (v >> (8 * i)) & 0xff; }
static inline void put_le64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (v >> (8 * i)) & 0xff; }

typedef struct PeSection {
        char name[9];                   /* NUL-terminated (8 bytes in the file) */
        uint32_t header_offset;         /* file offset of this section header */
        uint32_t virtual_size, virtual_address;
        uint32_t size_of_raw_data, pointer_to_raw_data;
        uint32_t characteristics;
} PeSection;

typedef struct PeImage {
        const uint8_t *data;            /* not owned */
        size_t size;
        uint32_t pe_offset;             /* "PE\0\0" */
        uint16_t machine;
        uint16_t n_sections;
        uint32_t opt_offset;            /* optional header */
        uint16_t opt_size;
        bool pe32plus;
        uint32_t checksum_offset;       /* file offset of OptionalHeader.CheckSum */
        uint32_t n_data_dirs;
        uint32_t cert_dir_offset;       /* file offset of the certificate-table directory entry */
        uint32_t cert_table_offset;     /* 0 when unsigned */
        uint32_t cert_table_size;
        uint32_t size_of_headers, size_of_image;
        uint32_t section_alignment, file_alignment;
        uint32_t section_table_offset;
        uint32_t raw_end;               /* end of the last section's raw data (>= size_of_headers) */
        PeSection *sections;            /* in header order */
} PeImage;

/* Parses and validates; ret borrows data.  -EBADMSG for a malformed image,
 * with *ret_error (may be NULL; malloc'd) saying what is wrong. */
int pe_parse(const uint8_t *data, size_t size, PeImage *ret, char **ret_error);
void pe_image_done(PeImage *img);

const PeSection *pe_find_section(const PeImage *img, const char *name);

/* The PE checksum (as in the CheckSum field) over data with the 4 bytes at
 * checksum_offset taken as zero. */
uint32_t pe_checksum(const uint8_t *data, size_t size, uint32_t checksum_offset);

/* One entry of the certificate table. */
typedef struct PeCertEntry {
        uint32_t offset;                /* of the WIN_CERTIFICATE header */
        uint32_t length;                /* dwLength (header included) */
        uint16_t revision, type;
        const uint8_t *payload;         /* bCertificate */
        size_t payload_size;
} PeCertEntry;

/* Walks the certificate table: calls back with each entry in order; stops at
 * the first callback returning non-zero (and returns that).  -EBADMSG when an
 * entry is malformed. */
int pe_foreach_cert(const PeImage *img, int (*cb)(const PeCertEntry *e, void *userdata), void *userdata);
