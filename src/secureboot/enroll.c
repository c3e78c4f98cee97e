/* SPDX-License-Identifier: MIT */
/* Enrolling the owner's keys in the firmware (enroll.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secureboot/efivars.h"
#include "secureboot/enroll.h"
#include "secureboot/esl.h"
#include "secureboot/eventlog.h"
#include "secureboot/ossl-util.h"
#include "secureboot/sbvars.h"
#include "util/error-message.h"

int sb_enroll_setup_mode(const char *efivars, uint8_t *ret, char **ret_error) {
        int r = efivar_read_u8(efivars, "SetupMode", &EFI_GLOBAL_VARIABLE_GUID, ret);
        if (r == -ENOENT)
                return error_set(ret_error, r, "no SetupMode variable in %s: not booted through UEFI, or efivarfs "
                                 "not mounted (mount -t efivarfs efivarfs %s).", efivars, efivars);
        if (r < 0)
                return error_set(ret_error, r, "cannot read SetupMode in %s: %s", efivars, strerror(-r));
        return 0;
}

int sb_enroll_check_option_roms(const char *name, const uint8_t *log, size_t size, char **ret_error) {
        int n = eventlog_count_option_roms(log, size);
        if (n < 0)
                return error_set(ret_error, n, "the TPM event log %s is malformed; cannot check for option ROMs",
                                 name);
        if (n > 0)
                return error_set(ret_error, -EPERM,
                                 "the TPM event log %s shows %d option ROM(s) (firmware drivers of graphics, network "
                                 "or storage cards, EV_EFI_BOOT_SERVICES_DRIVER in PCR 2). They are usually signed "
                                 "by Microsoft's UEFI CA and would stop loading with only your keys enrolled: the "
                                 "machine could lose its display or boot device", name, n);
        return 0;
}

typedef struct Buf {
        uint8_t *data;
        size_t size;
} Buf;

static int buf_append(Buf *b, const uint8_t *d, size_t n) {
        uint8_t *nd = realloc(b->data, b->size + n + 1);
        if (!nd)
                return -ENOMEM;
        memcpy(nd + b->size, d, n);
        b->data = nd;
        b->size += n;
        return 0;
}

/* Appends to esl one list per certificate file in DIR/SUB (PEM or DER),
 * owned by Microsoft's GUID, in name order. */
static int add_vendor_certs(const char *dir, const char *sub, Buf *esl, unsigned *ret_n, char **ret_error) {
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, sub) < 0)
                return error_set(ret_error, -ENOMEM, "out of memory");
        struct dirent **names = NULL;
        int n = scandir(p, &names, NULL, alphasort);
        if (n < 0) {
                int e = errno;
                return error_set(ret_error, -e, "cannot read %s: %s (the vendor directory needs db/ and KEK/ "
                                 "holding the certificates)", p, strerror(e));
        }
        EfiGuid ms;
        (void) efi_guid_from_string(SB_MICROSOFT_OWNER_GUID, &ms);
        int r = 0;
        *ret_n = 0;
        for (int i = 0; i < n; i++) {
                if (r >= 0 && names[i]->d_name[0] != '.') {
                        _cleanup_free_ char *f = NULL;
                        _cleanup_(X509_freep) X509 *x = NULL;
                        _cleanup_free_ uint8_t *e = NULL;
                        size_t es;
                        if (asprintf(&f, "%s/%s", p, names[i]->d_name) < 0)
                                r = error_set(ret_error, -ENOMEM, "out of memory");
                        else if ((r = ossl_load_cert(f, &x)) < 0)
                                error_set(ret_error, r, "%s is not an X.509 certificate (PEM or DER): %s", f,
                                          strerror(-r));
                        else if ((r = esl_from_x509(x, &ms, &e, &es)) < 0 || (r = buf_append(esl, e, es)) < 0)
                                error_set(ret_error, r, "cannot encode %s: %s", f, strerror(-r));
                        else
                                (*ret_n)++;
                }
                free(names[i]);
        }
        free(names);
        if (r >= 0 && *ret_n == 0)
                return error_set(ret_error, -ENOENT, "no certificates in %s", p);
        return r;
}

void sb_enroll_set_done(SbEnrollSet *s) {
        for (size_t i = 0; i < ELEMENTSOF(s->updates); i++)
                free(s->updates[i].auth);
        *s = (SbEnrollSet) {};
}

static void bufs_done(Buf (*b)[_SB_KEY_MAX]) {
        for (int k = 0; k < _SB_KEY_MAX; k++)
                free((*b)[k].data);
}

/* Each variable's signature lists: the owner's certificate, then the vendor's. */
static int build_lists(const char *dir, const char *vendor_dir, Buf (*lists)[_SB_KEY_MAX], SbEnrollSet *set,
                       char **ret_error) {
        for (int k = 0; k < _SB_KEY_MAX; k++) {
                _cleanup_free_ uint8_t *esl = NULL;
                size_t n;
                int r = sb_var_esl(dir, k, &esl, &n);
                if (r < 0)
                        return error_set(ret_error, r, "cannot read the %s certificate or owner GUID in %s: %s",
                                         sb_key_name(k), dir, strerror(-r));
                if (buf_append(&(*lists)[k], esl, n) < 0)
                        return error_set(ret_error, -ENOMEM, "out of memory");
        }
        if (!vendor_dir)
                return 0;
        int r = add_vendor_certs(vendor_dir, "KEK", &(*lists)[SB_KEY_KEK], &set->n_vendor_kek, ret_error);
        if (r < 0)
                return r;
        return add_vendor_certs(vendor_dir, "db", &(*lists)[SB_KEY_DB], &set->n_vendor_db, ret_error);
}

int sb_enroll_build(const char *dir, const char *vendor_dir, time_t t, SbEnrollSet *ret, char **ret_error) {
        _cleanup_(bufs_done) Buf lists[_SB_KEY_MAX] = {};
        SbEnrollSet set = {};
        int r = build_lists(dir, vendor_dir, &lists, &set, ret_error);
        if (r < 0)
                return r;
        /* db, then KEK, then PK: writing PK ends setup mode */
        static const SbKeyKind order[] = { SB_KEY_DB, SB_KEY_KEK, SB_KEY_PK };
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                SbKeyKind k = order[i];
                SbEnrollUpdate *u = &set.updates[i];
                u->key = k;
                r = sb_var_auth(dir, k, SB_ENROLL_ATTRS, t, lists[k].data, lists[k].size, &u->auth, &u->size);
                if (r < 0) {
                        sb_enroll_set_done(&set);
                        return error_set(ret_error, r, "cannot sign %s with the %s key in %s: %s", sb_key_name(k),
                                         sb_key_name(sb_var_signer(k)), dir, strerror(-r));
                }
        }
        *ret = set;
        return 0;
}

int sb_enroll_write(const SbEnrollSet *s, const char *efivars, size_t *ret_written, char **ret_error) {
        *ret_written = 0;
        for (size_t i = 0; i < ELEMENTSOF(s->updates); i++) {
                const SbEnrollUpdate *u = &s->updates[i];
                int r = efivar_write(efivars, sb_key_name(u->key), sb_var_vendor(u->key), SB_ENROLL_ATTRS, u->auth,
                                     u->size);
                if (r < 0)
                        return error_set(ret_error, r, "writing %s to %s failed: %s.%s", sb_key_name(u->key), efivars,
                                         strerror(-r), i > 0 ? " Some variables were already written; still in "
                                         "setup mode, so running enroll again is safe." : "");
                (*ret_written)++;
        }
        return 0;
}

int sb_enroll_append(const char *dir, const char *efivars, SbKeyKind k, const char *cert_path, time_t t,
                     char **ret_error) {
        if (k != SB_KEY_DB && k != SB_KEY_KEK)
                return error_set(ret_error, -EINVAL, "only db and KEK take an appended certificate");
        const char *what = sb_key_name(k), *signer = sb_key_name(sb_var_signer(k));
        _cleanup_(X509_freep) X509 *x = NULL;
        int r = ossl_load_cert(cert_path, &x);
        if (r < 0)
                return error_set(ret_error, r, "cannot load certificate %s: %s", cert_path, strerror(-r));
        EfiGuid owner;
        r = sb_owner_guid_load(dir, &owner);
        if (r < 0)
                return error_set(ret_error, r, "cannot read the owner GUID %s/GUID: %s", dir, strerror(-r));
        _cleanup_free_ uint8_t *esl = NULL, *auth = NULL;
        size_t esl_size, auth_size;
        r = esl_from_x509(x, &owner, &esl, &esl_size);
        if (r < 0)
                return error_set(ret_error, r, "cannot encode %s: %s", cert_path, strerror(-r));
        uint32_t attrs = SB_ENROLL_ATTRS | EFI_VARIABLE_APPEND_WRITE;
        r = sb_var_auth(dir, k, attrs, t, esl, esl_size, &auth, &auth_size);
        if (r < 0)
                return error_set(ret_error, r, "cannot sign the %s update with the %s key in %s: %s", what, signer,
                                 dir, strerror(-r));
        r = efivar_write(efivars, what, sb_var_vendor(k), attrs, auth, auth_size);
        if (r == -EACCES || r == -EPERM || r == -EINVAL)
                return error_set(ret_error, r, "the firmware refused the %s update in %s (%s): the %s key in %s is "
                                 "probably not the one enrolled.", what, efivars, strerror(-r), signer, dir);
        if (r < 0)
                return error_set(ret_error, r, "writing %s to %s failed: %s", what, efivars, strerror(-r));
        return 0;
}
