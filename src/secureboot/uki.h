/* SPDX-License-Identifier: MIT */
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

/* Unified kernel images: systemd-stub plus the sections it reads.
 *
 * The stub's own sections (including .sbat) are kept as they are; the new
 * sections follow its last one in this order: .osrel .cmdline .uname .initrd
 * .linux, each at a virtual address aligned to 4 KiB (a multiple of the
 * stub's SectionAlignment) and a file offset aligned to its FileAlignment,
 * VirtualSize = the exact content size.  SizeOfImage, SizeOfInitializedData,
 * SizeOfHeaders (grown when the section table needs room) and CheckSum are
 * recomputed; the stub's signature, its COFF symbol table and any trailing
 * data are dropped.  Nothing time-dependent is written: the same inputs give
 * the same bytes. */

typedef struct UkiInputs {
        const char *stub;               /* path; NULL: UKI_DEFAULT_STUB */
        const char *linux_path;         /* kernel image (required) */
        const char *initrd_path;        /* NULL: no .initrd */
        const char *os_release_path;    /* NULL: no .osrel */
        const char *cmdline;            /* the command line itself; NULL: no .cmdline */
        const char *uname;              /* kernel release string; NULL: no .uname */
} UkiInputs;

#define UKI_DEFAULT_STUB "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

/* Assembles into a malloc'd buffer.  -ENOENT etc. for unreadable inputs,
 * -EBADMSG when the stub is not a usable PE image or already has one of the
 * sections, -E2BIG when it has no room for more section headers; each with
 * *ret_error (may be NULL; malloc'd) naming the input. */
int uki_assemble_buffer(const UkiInputs *in, uint8_t **ret_data, size_t *ret_size, char **ret_error);

/* Assembles and writes OUT atomically (mode 0644).  When key and cert are
 * given the image is Authenticode-signed before it is written. */
int uki_assemble(const UkiInputs *in, const char *out_path);
int uki_assemble_signed(const UkiInputs *in, EVP_PKEY *key, X509 *cert, const char *out_path, char **ret_error);
