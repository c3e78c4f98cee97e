/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "secureboot/authenticode.h"
#include "secureboot/pe.h"
#include "secureboot/uki.h"
#include "util/error-message.h"
#include "util/file-bytes.h"
#include "util/macro.h"

#define UKI_MAX_INPUT ((size_t) 1 << 30)
#define UKI_VA_ALIGN 4096u
#define SCN_INITIALIZED_READONLY 0x40000040u

typedef struct UkiSection {
        const char *name;
        const char *path;       /* read straight into the output, or: */
        int fd;
        const uint8_t *data;    /* inline content (command line, uname) */
        size_t size;
} UkiSection;

static uint64_t align_up(uint64_t v, uint64_t a) {
        return a ? (v + a - 1) / a * a : v;
}

/* Opens an input and notes its size; the bytes are read later, straight
 * into the output buffer. */
static int open_input(const char *path, UkiSection *s, char **ret_error) {
        struct stat st;
        s->path = path;
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0 || fstat(s->fd, &st) < 0)
                goto fail;
        if (!S_ISREG(st.st_mode)) {
                errno = EBADFD;
                goto fail;
        }
        if ((uint64_t) st.st_size > UKI_MAX_INPUT) {
                errno = EFBIG;
                goto fail;
        }
        s->size = (size_t) st.st_size;
        return 0;
fail:;
        int r = negative_errno();
        return error_set(ret_error, r, "cannot read %s: %s", path, r == -EBADFD ? "not a regular file" : strerror(-r));
}

static int read_input(UkiSection *s, uint8_t *dst, char **ret_error) {
        size_t done = 0;
        while (done < s->size) {
                ssize_t k = pread(s->fd, dst + done, s->size - done, (off_t) done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        int r = k < 0 ? negative_errno() : -ESTALE;
                        return error_set(ret_error, r, "cannot read %s: %s", s->path,
                                         k < 0 ? strerror(-r) : "it shrank while it was read");
                }
                done += (size_t) k;
        }
        return 0;
}

int uki_assemble_buffer(const UkiInputs *in, uint8_t **ret_data, size_t *ret_size, char **ret_error) {
        if (!in->linux_path)
                return error_set(ret_error, -EINVAL, "no kernel given for the UKI");
        const char *stub_path = in->stub ?: UKI_DEFAULT_STUB;
        UkiSection secs[5] = { { .fd = -1 }, { .fd = -1 }, { .fd = -1 }, { .fd = -1 }, { .fd = -1 } };
        size_t n = 0;
        int r;
        _cleanup_free_ uint8_t *stub = NULL;
        size_t stub_size;
        _cleanup_free_ uint8_t *out = NULL;
        PeImage img = {};
        _cleanup_free_ char *why = NULL;

        r = read_file_bytes(stub_path, UKI_MAX_INPUT, &stub, &stub_size);
        if (r < 0) {
                error_set(ret_error, r, "cannot read the stub %s: %s%s", stub_path, strerror(-r),
                          r == -ENOENT && !in->stub ? " (package systemd-boot-efi)" : "");
                goto finish;
        }
        if (in->os_release_path) {
                secs[n].name = ".osrel";
                r = open_input(in->os_release_path, &secs[n++], ret_error);
                if (r < 0)
                        goto finish;
        }
        if (in->cmdline) {
                secs[n].name = ".cmdline";
                secs[n].data = (const uint8_t *) in->cmdline;
                secs[n++].size = strlen(in->cmdline);
        }
        if (in->uname) {
                secs[n].name = ".uname";
                secs[n].data = (const uint8_t *) in->uname;
                secs[n++].size = strlen(in->uname);
        }
        if (in->initrd_path) {
                secs[n].name = ".initrd";
                r = open_input(in->initrd_path, &secs[n++], ret_error);
                if (r < 0)
                        goto finish;
        }
        secs[n].name = ".linux";
        r = open_input(in->linux_path, &secs[n++], ret_error);
        if (r < 0)
                goto finish;

        r = pe_parse(stub, stub_size, &img, &why);
        if (r < 0) {
                error_set(ret_error, r, "%s is not a usable systemd-stub: %s", stub_path, why ? why : strerror(-r));
                goto finish;
        }
        for (size_t i = 0; i < n; i++)
                if (pe_find_section(&img, secs[i].name)) {
                        r = error_set(ret_error, -EBADMSG, "%s is not a usable systemd-stub: it is already a UKI "
                                      "(it has a %s section)", stub_path, secs[i].name);
                        goto finish;
                }
        if (img.n_sections + n > PE_MAX_SECTIONS || img.file_alignment == 0 || img.section_alignment == 0 ||
            UKI_VA_ALIGN % img.section_alignment != 0) {
                r = error_set(ret_error, -EBADMSG, "%s is not a usable systemd-stub: its section table or alignment "
                              "leaves no way to add %zu sections", stub_path, n);
                goto finish;
        }

        /* Headers: room for n more section headers. */
        uint64_t st_end = img.section_table_offset + (uint64_t) (img.n_sections + n) * 40;
        uint64_t headers = img.size_of_headers;
        if (st_end > headers)
                headers = align_up(st_end, img.file_alignment);
        uint64_t delta = headers - img.size_of_headers;
        uint32_t min_va = UINT32_MAX, va_end = 0;
        for (unsigned i = 0; i < img.n_sections; i++) {
                const PeSection *s = &img.sections[i];
                uint32_t vs = s->virtual_size ? s->virtual_size : s->size_of_raw_data;
                if (s->virtual_address < min_va)
                        min_va = s->virtual_address;
                if (s->virtual_address + vs > va_end)
                        va_end = s->virtual_address + vs;
        }
        if (headers > min_va) {
                /* the section table would run into the first section's memory */
                r = error_set(ret_error, -E2BIG, "the stub %s has no room for more section headers", stub_path);
                goto finish;
        }

        /* Layout of the new sections. */
        uint64_t raw = align_up(img.raw_end + delta, img.file_alignment);
        uint64_t va = align_up(va_end, UKI_VA_ALIGN);
        uint64_t raw_at[5], va_at[5], raw_size[5];
        uint64_t init_data = 0;
        for (size_t i = 0; i < n; i++) {
                raw_at[i] = raw;
                va_at[i] = va;
                raw_size[i] = align_up(secs[i].size, img.file_alignment);
                raw += raw_size[i];
                va = align_up(va + (secs[i].size ? secs[i].size : 1), UKI_VA_ALIGN);
                init_data += raw_size[i];
        }
        if (raw > UINT32_MAX || va > UINT32_MAX) {
                r = error_set(ret_error, -EFBIG, "the UKI from %s would be larger than 4 GiB", in->linux_path);
                goto finish;
        }
        size_t total = (size_t) raw;
        out = calloc(1, total);
        if (!out) {
                r = -ENOMEM;
                goto finish;
        }

        /* Stub headers and section data (shifted by delta when the headers grew). */
        memcpy(out, stub, img.size_of_headers);
        for (unsigned i = 0; i < img.n_sections; i++) {
                const PeSection *s = &img.sections[i];
                if (s->size_of_raw_data > 0) {
                        memcpy(out + s->pointer_to_raw_data + delta, stub + s->pointer_to_raw_data, s->size_of_raw_data);
                        put_le32(out + s->header_offset + 20, (uint32_t) (s->pointer_to_raw_data + delta));
                }
        }
        uint8_t *coff = out + img.pe_offset + 4;
        put_le16(coff + 2, (uint16_t) (img.n_sections + n));
        put_le32(coff + 8, 0);                  /* PointerToSymbolTable: the symbols are not kept */
        put_le32(coff + 12, 0);                 /* NumberOfSymbols */
        uint8_t *opt = out + img.opt_offset;
        put_le32(opt + 8, (uint32_t) (le32(opt + 8) + init_data)); /* SizeOfInitializedData */
        put_le32(opt + 56, (uint32_t) align_up(va, img.section_alignment));  /* SizeOfImage */
        put_le32(opt + 60, (uint32_t) headers);
        memset(out + img.cert_dir_offset, 0, 8); /* the stub's signature does not cover a UKI */

        for (size_t i = 0; i < n; i++) {
                uint8_t *h = out + img.section_table_offset + (img.n_sections + i) * 40;
                memset(h, 0, 40);
                memcpy(h, secs[i].name, strlen(secs[i].name));
                put_le32(h + 8, (uint32_t) secs[i].size);
                put_le32(h + 12, (uint32_t) va_at[i]);
                put_le32(h + 16, (uint32_t) raw_size[i]);
                put_le32(h + 20, (uint32_t) raw_at[i]);
                put_le32(h + 36, SCN_INITIALIZED_READONLY);
                if (secs[i].fd >= 0) {
                        r = read_input(&secs[i], out + raw_at[i], ret_error);
                        if (r < 0)
                                goto finish;
                } else if (secs[i].size)
                        memcpy(out + raw_at[i], secs[i].data, secs[i].size);
        }
        put_le32(out + img.checksum_offset, pe_checksum(out, total, img.checksum_offset));

        *ret_data = TAKE_PTR(out);
        *ret_size = total;
        r = 0;
finish:
        pe_image_done(&img);
        for (size_t i = 0; i < ELEMENTSOF(secs); i++)
                if (secs[i].fd >= 0)
                        close(secs[i].fd);
        return r;
}

int uki_assemble_signed(const UkiInputs *in, EVP_PKEY *key, X509 *cert, const char *out_path, char **ret_error) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r = uki_assemble_buffer(in, &data, &size, ret_error);
        if (r < 0)
                return r;
        if (key && cert) {
                r = authenticode_sign_in_place(&data, &size, key, cert);
                if (r < 0)
                        return error_set(ret_error, r, "signing the UKI for %s failed: %s", out_path, strerror(-r));
        }
        r = write_file_bytes_atomic(out_path, data, size, 0644);
        if (r < 0)
                return error_set(ret_error, r, "writing %s failed: %s", out_path, strerror(-r));
        return 0;
}

int uki_assemble(const UkiInputs *in, const char *out_path) {
        return uki_assemble_signed(in, NULL, NULL, out_path, NULL);
}
