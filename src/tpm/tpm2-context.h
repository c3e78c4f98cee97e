/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_esys.h>

/* A connection to a TPM through tpm2-tss: the TCTI (transport) chosen from a
 * device string, and an ESYS context over it.
 *
 * Device strings (--tpm2-device=):
 *   NULL, "" or "auto"   $KEYSTONE_TPM2_DEVICE when set, else device:/dev/tpmrm0
 *                        when it exists, else device:/dev/tpm0; -ENODEV if none
 *   "/dev/…"             device:/dev/…
 *   anything else        a TCTI string for the TCTI loader, e.g.
 *                        "swtpm:port=2321", "mssim:host=…", "device:/dev/tpm0"
 *
 * swtpm has no resource manager: every transient object and session created
 * through a context must be flushed on every path (tpm2_flush()), or after
 * three leaks every later command fails. */

typedef struct Tpm2Context {
        char *tcti_conf;
        TSS2_TCTI_CONTEXT *tcti;
        ESYS_CONTEXT *esys;
} Tpm2Context;

/* Returns the TCTI configuration string a device string stands for
 * (malloc'd), without connecting. */
int tpm2_device_to_tcti(const char *device, char **ret);

int tpm2_context_new(const char *device, Tpm2Context **ret);
void tpm2_context_free(Tpm2Context *c);
static inline void tpm2_context_freep(Tpm2Context **c) { tpm2_context_free(*c); *c = NULL; }

/* Flushes a transient object or session and sets *h to ESYS_TR_NONE; a
 * no-op for ESYS_TR_NONE.  Persistent handles are only closed (their ESYS
 * metadata freed), never evicted. */
void tpm2_flush(Tpm2Context *c, ESYS_TR *h);
void tpm2_close(Tpm2Context *c, ESYS_TR *h);

/* The TSS response code as an errno: -EPERM for a failed policy check
 * (TPM2_RC_POLICY_FAIL, the PCRs no longer match), -EACCES for a bad
 * authorisation, -EBUSY when the TPM ran out of session/object memory,
 * -ECONNREFUSED for a transport failure, -EIO otherwise. */
int tpm2_rc_to_errno(TSS2_RC rc);

/* The last TSS response code seen by this process and its decoded text
 * (Tss2_RC_Decode), for error messages. */
TSS2_RC tpm2_last_rc(void);
const char *tpm2_last_rc_string(void);
/* Records rc as the last one and returns tpm2_rc_to_errno(rc) (0 for success). */
int tpm2_check(TSS2_RC rc, const char *what);

/* Fills buf with n bytes from the TPM's random number generator
 * (TPM2_GetRandom, no session; as many calls as the TPM needs). */
int tpm2_get_random(Tpm2Context *c, void *buf, size_t n);
