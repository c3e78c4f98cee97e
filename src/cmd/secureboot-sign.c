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
static int load_image(const char *verb, const char *path, uint8_t **ret_data, size_t *ret_size, PeImage *ret_img) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r = read_file_bytes(path, PE_MAX_FILE_SIZE, &data, &size);
        if (r < 0)
                return log_error_errno(r, "secureboot %s: cannot read %s: %m", verb, path);
        _cleanup_free_ char *why = NULL;
        r = pe_parse(data, size, ret_img, &why);
        if (r == -EBADMSG)
                return log_error_errno(r, "secureboot %s: %s is not a usable PE/COFF image: %s. "
                                       "Give an EFI application (a UKI, systemd-boot, a kernel with EFI stub).",
                                       verb, path, why ? why : "malformed");
        if (r < 0)
                return log_error_errno(r, "secureboot %s: cannot parse %s: %m", verb, path);
        *ret_data = TAKE_PTR(data);
        *ret_size = size;
        return 0;
}

static void hex(const uint8_t *d, size_t n, char *out) {
        for (size_t i = 0; i < n; i++)
                sprintf(out + 2 * i, "%02x", d[i]);
}

int sb_load_signing_key(const char *verb, const char *dir, const char *key_path, const char *cert_path,
                            EVP_PKEY **ret_key, X509 **ret_cert) {
        int r;
        if (key_path || cert_path) {
                if (!key_path || !cert_path)
                        return sb_usage_error(verb, "--key and --cert go together");
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
                _cleanup_(X509_freep) X509 *x = NULL;
                r = ossl_load_key(key_path, &key);
                if (r < 0)
                        return log_error_errno(r, "secureboot %s: cannot load private key %s: %m "
                                               "(a PEM private key without passphrase is expected)", verb, key_path);
                r = ossl_load_cert(cert_path, &x);
                if (r < 0)
                        return log_error_errno(r, "secureboot %s: cannot load certificate %s: %m", verb, cert_path);
                if (X509_check_private_key(x, key) != 1)
                        return log_error_errno(-EKEYREJECTED, "secureboot %s: key %s does not belong to certificate %s",
                                               verb, key_path, cert_path);
                *ret_key = TAKE_PTR(key);
                *ret_cert = TAKE_PTR(x);
                return 0;
        }
        r = sb_key_load(dir, SB_KEY_DB, ret_key, ret_cert);
        if (r < 0)
                return log_error_errno(r, "secureboot %s: cannot load the db key from %s/keys/db/: %m. "
                                       "Create keys with 'keystone secureboot keygen --dir %s' or give --key/--cert.",
                                       verb, dir, dir);
        return 0;
}

int sb_cmd_sign(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "dir", required_argument, NULL, 'd' },
                { "key", required_argument, NULL, 'k' },
                { "cert", required_argument, NULL, 'c' },
                { "output", required_argument, NULL, 'o' },
                {}
        };
        const char *dir = SB_KEYS_DEFAULT_DIR, *key_path = NULL, *cert_path = NULL, *out = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "hd:k:c:o:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(
                                "Usage: keystone secureboot sign [--dir DIR | --key KEY --cert CERT] FILE [-o OUT]\n"
                                "\n"
                                "Authenticode-signs the PE/COFF image FILE: SHA-256 image digest, PKCS#7\n"
                                "SignedData over SpcIndirectDataContent, certificate table 8-byte aligned.\n"
                                "An existing signature is replaced.  Without -o, FILE is replaced atomically.\n"
                                "\n"
                                "  -d, --dir DIR     key directory (sbctl layout), signs with keys/db/db.{key,pem}\n"
                                "                    (default " SB_KEYS_DEFAULT_DIR ")\n"
                                "  -k, --key KEY     PEM private key instead of the db key\n"
                                "  -c, --cert CERT   its certificate\n"
                                "  -o, --output OUT  write the signed image to OUT\n");
                case 'd': dir = optarg; break;
                case 'k': key_path = optarg; break;
                case 'c': cert_path = optarg; break;
                case 'o': out = optarg; break;
                default: return -KS_EUSAGE;
                }
        if (argc - optind != 1)
                return sb_usage_error("sign", "expects exactly one FILE");
        const char *file = argv[optind];

        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        int r = sb_load_signing_key("sign", dir, key_path, cert_path, &key, &cert);
        if (r < 0)
                return r;

        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        _cleanup_(pe_image_donep) PeImage img = {};
        r = load_image("sign", file, &data, &size, &img);
        if (r < 0)
                return r;
        if (img.cert_table_size > 0 && (uint64_t) img.cert_table_offset + img.cert_table_size != size)
                return log_error_errno(-EBADMSG, "secureboot sign: %s has data after its certificate table; "
                                       "refusing to drop it. Rebuild the image unsigned and sign that.", file);

        _cleanup_free_ uint8_t *signed_data = NULL;
        size_t signed_size;
        r = authenticode_sign(data, size, key, cert, &signed_data, &signed_size);
        if (r < 0)
                return log_error_errno(r, "secureboot sign: signing %s failed: %m", file);

        struct stat st;
        mode_t mode = stat(file, &st) == 0 ? (st.st_mode & 07777) : 0644;
        const char *dest = out ?: file;
        r = write_file_bytes_atomic(dest, signed_data, signed_size, mode);
        if (r < 0)
                return log_error_errno(r, "secureboot sign: cannot write %s: %m", dest);
        return 0;
}

int sb_cmd_verify(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                { "cert", required_argument, NULL, 'c' },
                {}
        };
        const char *cert_path = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(
                                "Usage: keystone secureboot verify --cert PEM FILE\n"
                                "\n"
                                "Exits 0 only when FILE carries an Authenticode signature that is valid\n"
                                "over its current bytes and made by PEM (or by a certificate PEM issued).\n"
                                "Validity dates are not checked (firmware does not check them either).\n"
                                "\n"
                                "  -c, --cert PEM   the certificate to trust (e.g. DIR/keys/db/db.pem)\n");
                case 'c': cert_path = optarg; break;
                default: return -KS_EUSAGE;
                }
        if (!cert_path)
                return sb_usage_error("verify", "--cert is required");
        if (argc - optind != 1)
                return sb_usage_error("verify", "expects exactly one FILE");
        const char *file = argv[optind];

        _cleanup_(X509_freep) X509 *cert = NULL;
        int r = ossl_load_cert(cert_path, &cert);
        if (r < 0)
                return log_error_errno(r, "secureboot verify: cannot load certificate %s: %m", cert_path);
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        _cleanup_(pe_image_donep) PeImage img = {};
        r = load_image("verify", file, &data, &size, &img);
        if (r < 0)
                return r;
        r = authenticode_verify(&img, cert);
        switch (r) {
        case 0:
                printf("%s: signature valid (trusted certificate %s)\n", file, cert_path);
                return 0;
        case -ENOKEY:
                return log_error_errno(r, "secureboot verify: %s is not signed. Sign it with 'keystone secureboot sign'.", file);
        case -EKEYREJECTED:
                return log_error_errno(r, "secureboot verify: %s: no signature is valid for certificate %s over the "
                                       "current bytes (changed after signing, or signed by another key). Re-sign it.",
                                       file, cert_path);
        case -EBADMSG:
                return log_error_errno(r, "secureboot verify: %s has a malformed certificate table or signature. "
                                       "Re-sign it.", file);
        default:
                return log_error_errno(r, "secureboot verify: cannot verify %s: %m", file);
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

int sb_cmd_inspect(int argc, char **argv) {
        static const struct option options[] = {
                CMD_COMMON_OPTIONS,
                {}
        };
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return cmd_help(
                                "Usage: keystone secureboot inspect FILE\n"
                                "\n"
                                "Prints the sections of the PE/COFF image FILE, its signatures (signer\n"
                                "subject and whether the signed digest matches the current bytes), and a line\n"
                                "'authenticode-sha256: HEX' with the Authenticode SHA-256 digest.\n");
                default: return -KS_EUSAGE;
                }
        if (argc - optind != 1)
                return sb_usage_error("inspect", "expects exactly one FILE");
        const char *file = argv[optind];

        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        _cleanup_(pe_image_donep) PeImage img = {};
        int r = load_image("inspect", file, &data, &size, &img);
        if (r < 0)
                return r;

        uint8_t d[EVP_MAX_MD_SIZE];
        unsigned dl;
        r = authenticode_digest(&img, EVP_sha256(), d, &dl);
        if (r < 0)
                return log_error_errno(r, "secureboot inspect: cannot hash %s: %m", file);
        AuthenticodeSignature *sigs = NULL;
        size_t n_sigs = 0;
        r = authenticode_list(&img, &sigs, &n_sigs);
        if (r < 0)
                return log_error_errno(r, "secureboot inspect: %s has a malformed certificate table or signature", file);

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
