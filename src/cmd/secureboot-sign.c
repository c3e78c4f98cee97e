/* SPDX-License-Identifier: MIT */
/* keystone secureboot sign | verify | inspect */
#include <openssl/objects.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "cmd/secureboot.h"
#include "secureboot/authenticode.h"
#include "secureboot/keys.h"
#include "secureboot/ossl-util.h"
#include "util/file-bytes.h"

#define PE_MAX_FILE_SIZE ((size_t) 2 << 30)

static void pe_image_donep(PeImage *p) { pe_image_done(p); }

/* Reads and parses FILE, printing the error the user sees. */
static int load_image(const char *path, uint8_t **ret_data, size_t *ret_size, PeImage *ret_img) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r = read_file_bytes(path, PE_MAX_FILE_SIZE, &data, &size);
        if (r < 0)
                return log_error_errno(r, "cannot read %s: %m", path);
        _cleanup_free_ char *why = NULL;
        r = pe_parse(data, size, ret_img, &why);
        if (r == -EBADMSG)
                return log_error_errno(r, "%s is not a usable PE/COFF image: %s. "
                                       "Give an EFI application (a UKI, systemd-boot, a kernel with EFI stub).",
                                       path, why ? why : "malformed");
        if (r < 0)
                return log_error_errno(r, "cannot parse %s: %m", path);
        *ret_data = TAKE_PTR(data);
        *ret_size = size;
        return 0;
}

/* FILE read and checked to be a PE image. */
static int load_pe(const char *path, uint8_t **ret_data, size_t *ret_size) {
        _cleanup_(pe_image_donep) PeImage img = {};
        return load_image(path, ret_data, ret_size, &img);
}

/* sign's input: a PE image that ends with its certificate table, if any. */
static int load_unsigned_image(const char *path, uint8_t **ret_data, size_t *ret_size) {
        _cleanup_(pe_image_donep) PeImage img = {};
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r = load_image(path, &data, &size, &img);
        if (r < 0)
                return r;
        if (img.cert_table_size > 0 && (uint64_t) img.cert_table_offset + img.cert_table_size != size)
                return log_error_errno(-EBADMSG, "%s has data after its certificate table; refusing to drop it. "
                                       "Rebuild the image unsigned and sign that.", path);
        *ret_data = TAKE_PTR(data);
        *ret_size = size;
        return 0;
}

static void hex(const uint8_t *d, size_t n, char *out) {
        for (size_t i = 0; i < n; i++)
                sprintf(out + 2 * i, "%02x", d[i]);
}

int sb_cmd_sign(const CmdArgs *a) {
        static const SbSigner signer = { load_unsigned_image, authenticode_sign, NULL, SB_OPT_SIGNED_OUT };
        return sb_sign_file(a, &signer);
}

int sb_cmd_verify(const CmdArgs *a) {
        const char *file = a->args[0], *cert_path = cmd_opt(a, SB_OPT_TRUST_CERT);
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        _cleanup_(pe_image_donep) PeImage img = {};
        int r = sb_verify_open(a, load_pe, &cert, &data, &size);
        if (r < 0)
                return r;
        r = pe_parse(data, size, &img, NULL); /* as load_pe did: cannot fail now */
        if (r >= 0)
                r = authenticode_verify(&img, cert);
        switch (r) {
        case 0:
                printf("%s: signature valid (trusted certificate %s)\n", file, cert_path);
                return 0;
        case -ENOKEY:
                return log_error_errno(r, "%s is not signed. Sign it with 'keystone secureboot sign'.", file);
        case -EKEYREJECTED:
                return log_error_errno(r, "%s: no signature is valid for certificate %s over the current bytes "
                                       "(changed after signing, or signed by another key). Re-sign it.",
                                       file, cert_path);
        case -EBADMSG:
                return log_error_errno(r, "%s has a malformed certificate table or signature. Re-sign it.", file);
        default:
                return log_error_errno(r, "cannot verify %s: %m", file);
        }
}

static const char *machine_name(uint16_t m) {
        switch (m) {
        case 0x8664: return "x86_64";
        case 0x014c: return "i386";
        case 0xaa64: return "aarch64";
        case 0x01c4: return "arm";
        case 0x5064: return "riscv64";
        default: return "unknown";
        }
}

int sb_cmd_inspect(const CmdArgs *a) {
        const char *file = a->args[0];
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        _cleanup_(pe_image_donep) PeImage img = {};
        int r = load_image(file, &data, &size, &img);
        if (r < 0)
                return r;

        uint8_t d[EVP_MAX_MD_SIZE];
        unsigned dl;
        r = authenticode_digest(&img, EVP_sha256(), d, &dl);
        if (r < 0)
                return log_error_errno(r, "cannot hash %s: %m", file);
        AuthenticodeSignature *sigs = NULL;
        size_t n_sigs = 0;
        r = authenticode_list(&img, &sigs, &n_sigs);
        if (r < 0)
                return log_error_errno(r, "%s has a malformed certificate table or signature", file);

        printf("file: %s\n", file);
        printf("format: %s, machine %s (0x%04x), %zu bytes\n", img.pe32plus ? "PE32+" : "PE32",
               machine_name(img.machine), img.machine, size);
        printf("section-alignment: 0x%x  file-alignment: 0x%x  size-of-image: 0x%x  size-of-headers: 0x%x\n",
               img.section_alignment, img.file_alignment, img.size_of_image, img.size_of_headers);
        printf("checksum: 0x%08x (computed 0x%08x)\n", le32(data + img.checksum_offset),
               pe_checksum(data, size, img.checksum_offset));
        printf("sections:\n  %-8s %10s %10s %10s %10s\n", "name", "vaddr", "vsize", "fileoff", "filesize");
        for (unsigned i = 0; i < img.n_sections; i++) {
                const PeSection *s = &img.sections[i];
                printf("  %-8s 0x%08x 0x%08x 0x%08x 0x%08x\n", s->name, s->virtual_address, s->virtual_size,
                       s->pointer_to_raw_data, s->size_of_raw_data);
        }
        printf("signatures: %zu\n", n_sigs);
        for (size_t i = 0; i < n_sigs; i++) {
                char h[2 * EVP_MAX_MD_SIZE + 1];
                hex(sigs[i].digest, sigs[i].digest_len, h);
                printf("  signature %zu:\n    subject: %s\n    issuer: %s\n    signed-digest: %s:%s (%s)\n", i + 1,
                       sigs[i].signer_subject ?: "(signer certificate not included)",
                       sigs[i].signer_issuer ?: "?", OBJ_nid2sn(sigs[i].digest_nid), h,
                       sigs[i].digest_matches ? "matches the image" : "DOES NOT MATCH the image");
        }
        authenticode_signatures_free(sigs, n_sigs);
        char h[2 * EVP_MAX_MD_SIZE + 1];
        hex(d, dl, h);
        printf("authenticode-sha256: %s\n", h);
        return 0;
}
