/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "secureboot/authenticode.h"
#include "secureboot/ossl-util.h"
#include "util/log.h"
#include "util/macro.h"

/* ASN.1 of Authenticode (Microsoft's "Windows Authenticode Portable
 * Executable Signature Format"):
 *
 *   SpcIndirectDataContent ::= SEQUENCE {
 *       data           SpcAttributeTypeAndOptionalValue,
 *       messageDigest  DigestInfo }
 *   SpcAttributeTypeAndOptionalValue ::= SEQUENCE {
 *       type   OBJECT IDENTIFIER,          -- SPC_PE_IMAGE_DATAOBJ
 *       value  ANY OPTIONAL }              -- SpcPeImageData
 *   SpcPeImageData ::= SEQUENCE {
 *       flags  BIT STRING,
 *       file   [0] EXPLICIT SpcLink OPTIONAL }
 *   SpcLink ::= CHOICE { url [0] IMPLICIT IA5String, ..., file [2] EXPLICIT SpcString }
 *   SpcString ::= CHOICE { unicode [0] IMPLICIT BMPString, ascii [1] IMPLICIT IA5String }
 *   DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }
 */

#define OID_SPC_INDIRECT_DATA  "1.3.6.1.4.1.311.2.1.4"
#define OID_SPC_PE_IMAGE_DATA  "1.3.6.1.4.1.311.2.1.15"
#define OID_SPC_SP_OPUS_INFO   "1.3.6.1.4.1.311.2.1.12"
#define OID_SPC_STATEMENT_TYPE "1.3.6.1.4.1.311.2.1.11"
#define OID_SPC_INDIVIDUAL_SP_KEY_PURPOSE "1.3.6.1.4.1.311.2.1.21"

typedef struct {
        ASN1_OBJECT *type;
        ASN1_TYPE *value;
} KsSpcAttributeTypeAndOptionalValue;

typedef struct {
        X509_ALGOR *digestAlgorithm;
        ASN1_OCTET_STRING *digest;
} KsDigestInfo;

typedef struct {
        KsSpcAttributeTypeAndOptionalValue *data;
        KsDigestInfo *messageDigest;
} KsSpcIndirectDataContent;

typedef struct {
        int type;
        union {
                ASN1_BMPSTRING *unicode;
                ASN1_IA5STRING *ascii;
        } value;
} KsSpcString;

typedef struct {
        int type;
        union {
                ASN1_IA5STRING *url;
                KsSpcString *file;
        } value;
} KsSpcLink;

typedef struct {
        ASN1_BIT_STRING *flags;
        KsSpcLink *file;
} KsSpcPeImageData;

DECLARE_ASN1_FUNCTIONS(KsSpcAttributeTypeAndOptionalValue)
DECLARE_ASN1_FUNCTIONS(KsDigestInfo)
DECLARE_ASN1_FUNCTIONS(KsSpcIndirectDataContent)
DECLARE_ASN1_FUNCTIONS(KsSpcString)
DECLARE_ASN1_FUNCTIONS(KsSpcLink)
DECLARE_ASN1_FUNCTIONS(KsSpcPeImageData)

ASN1_SEQUENCE(KsSpcAttributeTypeAndOptionalValue) = {
        ASN1_SIMPLE(KsSpcAttributeTypeAndOptionalValue, type, ASN1_OBJECT),
        ASN1_OPT(KsSpcAttributeTypeAndOptionalValue, value, ASN1_ANY),
} ASN1_SEQUENCE_END(KsSpcAttributeTypeAndOptionalValue)
IMPLEMENT_ASN1_FUNCTIONS(KsSpcAttributeTypeAndOptionalValue)

ASN1_SEQUENCE(KsDigestInfo) = {
        ASN1_SIMPLE(KsDigestInfo, digestAlgorithm, X509_ALGOR),
        ASN1_SIMPLE(KsDigestInfo, digest, ASN1_OCTET_STRING),
} ASN1_SEQUENCE_END(KsDigestInfo)
IMPLEMENT_ASN1_FUNCTIONS(KsDigestInfo)

ASN1_SEQUENCE(KsSpcIndirectDataContent) = {
        ASN1_SIMPLE(KsSpcIndirectDataContent, data, KsSpcAttributeTypeAndOptionalValue),
        ASN1_SIMPLE(KsSpcIndirectDataContent, messageDigest, KsDigestInfo),
} ASN1_SEQUENCE_END(KsSpcIndirectDataContent)
IMPLEMENT_ASN1_FUNCTIONS(KsSpcIndirectDataContent)

ASN1_CHOICE(KsSpcString) = {
        ASN1_IMP_OPT(KsSpcString, value.unicode, ASN1_BMPSTRING, 0),
        ASN1_IMP_OPT(KsSpcString, value.ascii, ASN1_IA5STRING, 1),
} ASN1_CHOICE_END(KsSpcString)
IMPLEMENT_ASN1_FUNCTIONS(KsSpcString)

ASN1_CHOICE(KsSpcLink) = {
        ASN1_IMP_OPT(KsSpcLink, value.url, ASN1_IA5STRING, 0),
        ASN1_EXP_OPT(KsSpcLink, value.file, KsSpcString, 2),
} ASN1_CHOICE_END(KsSpcLink)
IMPLEMENT_ASN1_FUNCTIONS(KsSpcLink)

ASN1_SEQUENCE(KsSpcPeImageData) = {
        ASN1_SIMPLE(KsSpcPeImageData, flags, ASN1_BIT_STRING),
        ASN1_EXP_OPT(KsSpcPeImageData, file, KsSpcLink, 0),
} ASN1_SEQUENCE_END(KsSpcPeImageData)
IMPLEMENT_ASN1_FUNCTIONS(KsSpcPeImageData)

DEFINE_POINTER_CLEANUP(KsSpcIndirectDataContent, KsSpcIndirectDataContent_free)
DEFINE_POINTER_CLEANUP(KsSpcPeImageData, KsSpcPeImageData_free)

int spc_nid_indirect_data(void) {
        return ossl_nid_from_oid(OID_SPC_INDIRECT_DATA, "SPC_INDIRECT_DATA", "Microsoft SPC indirect data");
}

static int spc_nid_opus_info(void) {
        return ossl_nid_from_oid(OID_SPC_SP_OPUS_INFO, "SPC_SP_OPUS_INFO", "Microsoft SPC opus info");
}

static int spc_nid_statement_type(void) {
        return ossl_nid_from_oid(OID_SPC_STATEMENT_TYPE, "SPC_STATEMENT_TYPE", "Microsoft SPC statement type");
}

/* ---- digest ---- */

static int cmp_section_raw(const void *a, const void *b) {
        const PeSection *x = *(const PeSection *const *) a, *y = *(const PeSection *const *) b;
        return x->pointer_to_raw_data < y->pointer_to_raw_data ? -1 : x->pointer_to_raw_data > y->pointer_to_raw_data;
}

int authenticode_digest(const PeImage *img, const EVP_MD *md, uint8_t *ret, unsigned *ret_len) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        const uint8_t *d = img->data;
        if (!EVP_DigestInit_ex(ctx, md, NULL) ||
            !EVP_DigestUpdate(ctx, d, img->checksum_offset) ||
            !EVP_DigestUpdate(ctx, d + img->checksum_offset + 4, img->cert_dir_offset - (img->checksum_offset + 4)) ||
            !EVP_DigestUpdate(ctx, d + img->cert_dir_offset + 8, img->size_of_headers - (img->cert_dir_offset + 8)))
                return -EIO;

        const PeSection *sorted[PE_MAX_SECTIONS];
        for (unsigned i = 0; i < img->n_sections; i++)
                sorted[i] = &img->sections[i];
        qsort(sorted, img->n_sections, sizeof(sorted[0]), cmp_section_raw);

        uint64_t hashed = img->size_of_headers;
        for (unsigned i = 0; i < img->n_sections; i++) {
                const PeSection *s = sorted[i];
                if (s->size_of_raw_data == 0)
                        continue;
                if (!EVP_DigestUpdate(ctx, d + s->pointer_to_raw_data, s->size_of_raw_data))
                        return -EIO;
                hashed += s->size_of_raw_data;
        }

        /* Extra data: as the PE/COFF Authenticode rules and EDK2 have it,
         * from file offset SUM_OF_BYTES_HASHED, FileSize - CertTable.Size -
         * SUM_OF_BYTES_HASHED bytes.  When sections are contiguous that is
         * exactly the data after the last section up to the certificate
         * table (alignment padding included). */
        uint64_t end = img->size - (uint64_t) img->cert_table_size;
        if (img->size < (uint64_t) img->cert_table_size + hashed)
                return -EBADMSG;
        if (end > hashed && !EVP_DigestUpdate(ctx, d + hashed, end - hashed))
                return -EIO;

        if (!EVP_DigestFinal_ex(ctx, ret, ret_len))
                return -EIO;
        return 0;
}

/* ---- signing ---- */

/* SpcIndirectDataContent DER for an image digest. */
static int idc_build(const EVP_MD *md, const uint8_t *digest, unsigned digest_len, uint8_t **ret, int *ret_len) {
        _cleanup_(KsSpcPeImageData_freep) KsSpcPeImageData *pe = KsSpcPeImageData_new();
        _cleanup_(KsSpcIndirectDataContent_freep) KsSpcIndirectDataContent *idc = KsSpcIndirectDataContent_new();
        if (!pe || !idc)
                return -ENOMEM;

        /* file: the "<<<Obsolete>>>" link every PE signer writes, as UTF-16BE. */
        static const char obsolete[] = "<<<Obsolete>>>";
        uint8_t bmp[2 * (sizeof obsolete - 1)];
        for (size_t i = 0; i < sizeof obsolete - 1; i++) {
                bmp[2 * i] = 0;
                bmp[2 * i + 1] = (uint8_t) obsolete[i];
        }
        pe->file = KsSpcLink_new();
        if (!pe->file)
                return -ENOMEM;
        pe->file->type = 1;
        pe->file->value.file = KsSpcString_new();
        if (!pe->file->value.file)
                return -ENOMEM;
        pe->file->value.file->type = 0;
        pe->file->value.file->value.unicode = ASN1_BMPSTRING_new();
        if (!pe->file->value.file->value.unicode ||
            !ASN1_STRING_set(pe->file->value.file->value.unicode, bmp, sizeof bmp))
                return -ENOMEM;

        _cleanup_openssl_free_ unsigned char *pe_der = NULL;
        int pe_len = i2d_KsSpcPeImageData(pe, &pe_der);
        if (pe_len <= 0)
                return ossl_debug_errors(-EIO, "i2d SpcPeImageData");

        idc->data->type = OBJ_txt2obj(OID_SPC_PE_IMAGE_DATA, 1);
        idc->data->value = ASN1_TYPE_new();
        ASN1_STRING *seq = ASN1_STRING_new();
        if (!idc->data->type || !idc->data->value || !seq || !ASN1_STRING_set(seq, pe_der, pe_len)) {
                ASN1_STRING_free(seq);
                return -ENOMEM;
        }
        ASN1_TYPE_set(idc->data->value, V_ASN1_SEQUENCE, seq);

        if (!X509_ALGOR_set0(idc->messageDigest->digestAlgorithm, OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL, NULL) ||
            !ASN1_OCTET_STRING_set(idc->messageDigest->digest, digest, (int) digest_len))
                return -ENOMEM;

        unsigned char *der = NULL;
        int len = i2d_KsSpcIndirectDataContent(idc, &der);
        if (len <= 0)
                return ossl_debug_errors(-EIO, "i2d SpcIndirectDataContent");
        *ret = der;
        *ret_len = len;
        return 0;
}

/* The bytes Authenticode's messageDigest attribute covers: the
 * SpcIndirectDataContent's contents, without its SEQUENCE tag and length. */
static int der_contents(const uint8_t *der, long len, const uint8_t **ret, long *ret_len) {
        const unsigned char *p = der;
        long clen;
        int tag, xclass;
        int k = ASN1_get_object(&p, &clen, &tag, &xclass, len);
        if (k & 0x80 || tag != V_ASN1_SEQUENCE || clen > len - (p - der))
                return -EBADMSG;
        *ret = p;
        *ret_len = clen;
        return 0;
}

static int pkcs7_build(const uint8_t *idc, int idc_len, EVP_PKEY *key, X509 *cert, uint8_t **ret, int *ret_len) {
        int nid_idc = spc_nid_indirect_data(), nid_opus = spc_nid_opus_info(), nid_stmt = spc_nid_statement_type();
        if (nid_idc == NID_undef || nid_opus == NID_undef || nid_stmt == NID_undef)
                return -ENOMEM;

        _cleanup_(PKCS7_freep) PKCS7 *p7 = PKCS7_new();
        if (!p7 || !PKCS7_set_type(p7, NID_pkcs7_signed))
                return -ENOMEM;
        PKCS7_SIGNER_INFO *si = PKCS7_add_signature(p7, cert, key, EVP_sha256());
        if (!si)
                return ossl_debug_errors(-EINVAL, "PKCS7_add_signature");
        if (!PKCS7_add_certificate(p7, cert))
                return -ENOMEM;

        const uint8_t *content;
        long content_len;
        int r = der_contents(idc, idc_len, &content, &content_len);
        if (r < 0)
                return r;
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned md_len;
        if (!EVP_Digest(content, (size_t) content_len, md, &md_len, EVP_sha256(), NULL))
                return -EIO;

        /* Signed attributes: contentType, SpcSpOpusInfo (empty), statement
         * type (individual code signing), messageDigest. */
        ASN1_STRING *opus = ASN1_STRING_new();
        if (!opus || !ASN1_STRING_set(opus, "\x30\x00", 2) ||
            !PKCS7_add_signed_attribute(si, nid_opus, V_ASN1_SEQUENCE, opus)) {
                ASN1_STRING_free(opus);
                return -ENOMEM;
        }
        static const uint8_t stmt_der[] = { 0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x15 };
        ASN1_STRING *stmt = ASN1_STRING_new();
        if (!stmt || !ASN1_STRING_set(stmt, stmt_der, sizeof stmt_der) ||
            !PKCS7_add_signed_attribute(si, nid_stmt, V_ASN1_SEQUENCE, stmt)) {
                ASN1_STRING_free(stmt);
                return -ENOMEM;
        }
        if (!PKCS7_add_signed_attribute(si, NID_pkcs9_contentType, V_ASN1_OBJECT, OBJ_nid2obj(nid_idc)) ||
            !PKCS7_add1_attrib_digest(si, md, (int) md_len))
                return -ENOMEM;
        if (PKCS7_SIGNER_INFO_sign(si) <= 0)
                return ossl_debug_errors(-EIO, "PKCS7_SIGNER_INFO_sign");

        /* The content: SpcIndirectDataContent embedded as it is (not in an
         * OCTET STRING), under its own content type. */
        _cleanup_(PKCS7_freep) PKCS7 *inner = PKCS7_new();
        ASN1_STRING *seq = ASN1_STRING_new();
        ASN1_TYPE *other = ASN1_TYPE_new();
        if (!inner || !seq || !other || !ASN1_STRING_set(seq, idc, idc_len)) {
                ASN1_STRING_free(seq);
                ASN1_TYPE_free(other);
                return -ENOMEM;
        }
        ASN1_TYPE_set(other, V_ASN1_SEQUENCE, seq);
        inner->type = OBJ_nid2obj(nid_idc);
        inner->d.other = other;
        if (!PKCS7_set_content(p7, inner))
                return ossl_debug_errors(-EIO, "PKCS7_set_content");
        inner = NULL; /* owned by p7 now */

        unsigned char *der = NULL;
        int len = i2d_PKCS7(p7, &der);
        if (len <= 0)
                return ossl_debug_errors(-EIO, "i2d_PKCS7");
        *ret = der;
        *ret_len = len;
        return 0;
}

int authenticode_sign_in_place(uint8_t **data, size_t *size, EVP_PKEY *key, X509 *cert) {
        PeImage img;
        int r = pe_parse(*data, *size, &img, NULL);
        if (r < 0)
                return r;
        size_t base = *size;
        uint32_t dir_offset = img.cert_dir_offset;
        if (img.cert_table_size > 0) {
                /* Re-signing: the old table goes; it must be the file's tail. */
                if ((uint64_t) img.cert_table_offset + img.cert_table_size != *size) {
                        pe_image_done(&img);
                        return -EBADMSG;
                }
                base = img.cert_table_offset;
        }
        pe_image_done(&img);

        /* Zero padding to 8 bytes (hashed, as data after the sections), no table. */
        size_t padded = (base + 7) & ~(size_t) 7;
        if (padded > *size) {
                uint8_t *g = realloc(*data, padded);
                if (!g)
                        return -ENOMEM;
                *data = g;
        }
        memset(*data + base, 0, padded - base);
        memset(*data + dir_offset, 0, 8);
        *size = padded;
        uint8_t *out = *data;

        r = pe_parse(out, padded, &img, NULL);
        if (r < 0)
                return r;
        uint8_t digest[EVP_MAX_MD_SIZE];
        unsigned digest_len;
        r = authenticode_digest(&img, EVP_sha256(), digest, &digest_len);
        uint32_t cert_dir_offset = img.cert_dir_offset, checksum_offset = img.checksum_offset;
        pe_image_done(&img);
        if (r < 0)
                return r;

        _cleanup_openssl_free_ uint8_t *idc = NULL, *p7 = NULL;
        int idc_len = 0, p7_len = 0;
        r = idc_build(EVP_sha256(), digest, digest_len, &idc, &idc_len);
        if (r < 0)
                return r;
        r = pkcs7_build(idc, idc_len, key, cert, &p7, &p7_len);
        if (r < 0)
                return r;

        size_t entry = 8 + (size_t) p7_len, entry_padded = (entry + 7) & ~(size_t) 7;
        if (padded + entry_padded > UINT32_MAX)
                return -EFBIG;
        out = realloc(*data, padded + entry_padded);
        if (!out)
                return -ENOMEM;
        *data = out;
        memset(out + padded, 0, entry_padded);
        put_le32(out + padded, (uint32_t) entry_padded);
        put_le16(out + padded + 4, WIN_CERT_REVISION_2_0);
        put_le16(out + padded + 6, WIN_CERT_TYPE_PKCS_SIGNED_DATA);
        memcpy(out + padded + 8, p7, (size_t) p7_len);
        put_le32(out + cert_dir_offset, (uint32_t) padded);
        put_le32(out + cert_dir_offset + 4, (uint32_t) entry_padded);
        size_t total = padded + entry_padded;
        put_le32(out + checksum_offset, pe_checksum(out, total, checksum_offset));
        *size = total;
        return 0;
}

int authenticode_sign(const uint8_t *data, size_t size, EVP_PKEY *key, X509 *cert,
                      uint8_t **ret_data, size_t *ret_size) {
        _cleanup_free_ uint8_t *copy = malloc(size ? size : 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, data, size);
        size_t n = size;
        int r = authenticode_sign_in_place(&copy, &n, key, cert);
        if (r < 0)
                return r;
        *ret_data = TAKE_PTR(copy);
        *ret_size = n;
        return 0;
}

/* ---- reading signatures ---- */

typedef struct ParsedSignature {
        PKCS7 *p7;
        const uint8_t *idc_content;     /* inside p7; what messageDigest covers */
        long idc_content_len;
        int digest_nid;
        uint8_t digest[EVP_MAX_MD_SIZE];
        unsigned digest_len;
} ParsedSignature;

static void parsed_signature_done(ParsedSignature *s) {
        PKCS7_free(s->p7);
        *s = (ParsedSignature) {};
}

static int signature_parse(const PeCertEntry *e, ParsedSignature *ret) {
        if (e->revision != WIN_CERT_REVISION_2_0 || e->type != WIN_CERT_TYPE_PKCS_SIGNED_DATA)
                return -EBADMSG;
        const unsigned char *p = e->payload;
        _cleanup_(PKCS7_freep) PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long) e->payload_size);
        if (!p7)
                return ossl_debug_errors(-EBADMSG, "d2i_PKCS7");
        if (!PKCS7_type_is_signed(p7) || !p7->d.sign || !p7->d.sign->contents)
                return -EBADMSG;
        PKCS7 *inner = p7->d.sign->contents;
        int nid_idc = spc_nid_indirect_data(); /* registers the OID before it is looked up */
        if (OBJ_obj2nid(inner->type) != nid_idc || !inner->d.other ||
            inner->d.other->type != V_ASN1_SEQUENCE || !inner->d.other->value.sequence)
                return -EBADMSG;
        const ASN1_STRING *seq = inner->d.other->value.sequence;
        const uint8_t *der = ASN1_STRING_get0_data(seq);
        long der_len = ASN1_STRING_length(seq);
        const unsigned char *q = der;
        _cleanup_(KsSpcIndirectDataContent_freep) KsSpcIndirectDataContent *idc = d2i_KsSpcIndirectDataContent(NULL, &q, der_len);
        if (!idc)
                return ossl_debug_errors(-EBADMSG, "d2i SpcIndirectDataContent");
        ParsedSignature s = {};
        int r = der_contents(der, der_len, &s.idc_content, &s.idc_content_len);
        if (r < 0)
                return r;
        const ASN1_OBJECT *alg;
        X509_ALGOR_get0(&alg, NULL, NULL, idc->messageDigest->digestAlgorithm);
        s.digest_nid = OBJ_obj2nid(alg);
        int dl = ASN1_STRING_length(idc->messageDigest->digest);
        if (dl <= 0 || dl > EVP_MAX_MD_SIZE)
                return -EBADMSG;
        memcpy(s.digest, ASN1_STRING_get0_data(idc->messageDigest->digest), (size_t) dl);
        s.digest_len = (unsigned) dl;
        if (sk_PKCS7_SIGNER_INFO_num(PKCS7_get_signer_info(p7)) < 1)
                return -EBADMSG;
        s.p7 = TAKE_PTR(p7);
        *ret = s;
        return 0;
}

typedef struct SignatureVisit {
        int (*fn)(ParsedSignature *ps, void *userdata);
        void *userdata;
} SignatureVisit;

static int visit_signature(const PeCertEntry *e, void *userdata) {
        const SignatureVisit *v = userdata;
        ParsedSignature ps;
        int r = signature_parse(e, &ps);
        if (r < 0)
                return r;
        r = v->fn(&ps, v->userdata);
        parsed_signature_done(&ps);
        return r;
}

/* fn on each signature of img, parsed (and freed after), in table order;
 * like pe_foreach_cert(), a value other than 0 from fn ends the walk and is
 * returned; a signature that does not parse ends it with its error. */
static int foreach_signature(const PeImage *img, int (*fn)(ParsedSignature *ps, void *userdata), void *userdata) {
        SignatureVisit v = { fn, userdata };
        return pe_foreach_cert(img, visit_signature, &v);
}

static bool digest_matches(const PeImage *img, const ParsedSignature *s) {
        const EVP_MD *md = EVP_get_digestbynid(s->digest_nid);
        uint8_t d[EVP_MAX_MD_SIZE];
        unsigned dl;
        if (!md || authenticode_digest(img, md, d, &dl) < 0)
                return false;
        return dl == s->digest_len && memcmp(d, s->digest, dl) == 0;
}

typedef struct ListState {
        const PeImage *img;
        AuthenticodeSignature *sigs;
        size_t n;
} ListState;

static int list_one(ParsedSignature *ps, void *userdata) {
        ListState *st = userdata;
        AuthenticodeSignature *n = reallocarray(st->sigs, st->n + 1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        st->sigs = n;
        AuthenticodeSignature *a = &st->sigs[st->n++];
        *a = (AuthenticodeSignature) { .digest_nid = ps->digest_nid, .digest_len = ps->digest_len };
        memcpy(a->digest, ps->digest, ps->digest_len);
        a->digest_matches = digest_matches(st->img, ps);

        PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(ps->p7), 0);
        X509 *signer = X509_find_by_issuer_and_serial(ps->p7->d.sign->cert, si->issuer_and_serial->issuer,
                                                      si->issuer_and_serial->serial);
        if (signer) {
                a->signer_subject = ossl_name_oneline(X509_get_subject_name(signer));
                a->signer_issuer = ossl_name_oneline(X509_get_issuer_name(signer));
        } else
                a->signer_issuer = ossl_name_oneline(si->issuer_and_serial->issuer);
        return 0;
}

void authenticode_signatures_free(AuthenticodeSignature *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(s[i].signer_subject);
                free(s[i].signer_issuer);
        }
        free(s);
}

int authenticode_list(const PeImage *img, AuthenticodeSignature **ret, size_t *ret_n) {
        ListState st = { .img = img };
        int r = foreach_signature(img, list_one, &st);
        if (r < 0) {
                authenticode_signatures_free(st.sigs, st.n);
                return r;
        }
        *ret = st.sigs;
        *ret_n = st.n;
        return 0;
}

/* ---- verification ---- */

typedef struct VerifyState {
        const PeImage *img;
        X509 *trusted;
        unsigned n_signatures;
} VerifyState;

static int verify_one(ParsedSignature *ps, void *userdata) {
        VerifyState *st = userdata;
        st->n_signatures++;
        if (!digest_matches(st->img, ps)) {
                log_debug("signature %u: image digest differs from the signed one", st->n_signatures);
                return 0;
        }

        _cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();
        _cleanup_(BIO_free_allp) BIO *content = BIO_new_mem_buf(ps->idc_content, (int) ps->idc_content_len);
        if (!store || !content || !X509_STORE_add_cert(store, st->trusted))
                return -ENOMEM;
        /* Like firmware: the enrolled certificate is the trust anchor
         * whether or not it is self-signed, and dates do not matter. */
        X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
        X509_STORE_set_purpose(store, X509_PURPOSE_ANY);
        int ok = PKCS7_verify(ps->p7, NULL, store, content, NULL, PKCS7_BINARY);
        if (ok != 1)
                ossl_debug_errors(0, "PKCS7_verify");
        return ok == 1 ? 1 : 0;
}

int authenticode_verify(const PeImage *img, X509 *trusted) {
        VerifyState st = { .img = img, .trusted = trusted };
        int r = foreach_signature(img, verify_one, &st);
        if (r < 0)
                return r;
        if (r == 1)
                return 0;
        return st.n_signatures == 0 ? -ENOKEY : -EKEYREJECTED;
}
