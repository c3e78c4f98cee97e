/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "tpm/tpm2-context.h"
#include "util/log.h"

static TSS2_RC last_rc;

TSS2_RC tpm2_last_rc(void) {
        return last_rc;
}

const char *tpm2_last_rc_string(void) {
        return last_rc ? Tss2_RC_Decode(last_rc) : "success";
}

int tpm2_rc_to_errno(TSS2_RC rc) {
        if (rc == TSS2_RC_SUCCESS)
                return 0;
        TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
        if (layer == TSS2_TCTI_RC_LAYER ||
            (rc & ~TSS2_RC_LAYER_MASK) == TSS2_BASE_RC_IO_ERROR ||
            (rc & ~TSS2_RC_LAYER_MASK) == TSS2_BASE_RC_NO_CONNECTION)
                return -ECONNREFUSED;
        if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER)
                return -EIO;
        TSS2_RC code = rc & 0xfff;
        if (code & TPM2_RC_FMT1) {
                switch (code & 0xbf) {
                case TPM2_RC_POLICY_FAIL & 0xbf:
                        return -EPERM;
                case TPM2_RC_AUTH_FAIL & 0xbf:
                case TPM2_RC_BAD_AUTH & 0xbf:
                        return -EACCES;
                case TPM2_RC_INTEGRITY & 0xbf:
                        return -EBADMSG;
                }
                return -EIO;
        }
        switch (code) {
        case TPM2_RC_OBJECT_MEMORY:
        case TPM2_RC_SESSION_MEMORY:
        case TPM2_RC_MEMORY:
        case TPM2_RC_SESSION_HANDLES:
        case TPM2_RC_OBJECT_HANDLES:
                return -EBUSY;
        case TPM2_RC_LOCKOUT:
                return -ENOLCK;
        case TPM2_RC_PCR_CHANGED:
                return -EAGAIN;
        }
        return -EIO;
}

int tpm2_check(TSS2_RC rc, const char *what) {
        if (rc == TSS2_RC_SUCCESS)
                return 0;
        last_rc = rc;
        log_debug("TPM2 %s failed: 0x%x %s", what, rc, Tss2_RC_Decode(rc));
        return tpm2_rc_to_errno(rc);
}

int tpm2_device_to_tcti(const char *device, char **ret) {
        const char *conf;
        if (!device || !*device || strcmp(device, "auto") == 0) {
                const char *env = getenv("KEYSTONE_TPM2_DEVICE");
                if (env && *env && strcmp(env, "auto") != 0)
                        return tpm2_device_to_tcti(env, ret);
                if (access("/dev/tpmrm0", F_OK) == 0)
                        conf = "device:/dev/tpmrm0";
                else if (access("/dev/tpm0", F_OK) == 0)
                        conf = "device:/dev/tpm0";
                else
                        return -ENODEV;
        } else if (device[0] == '/') {
                char *s;
                if (asprintf(&s, "device:%s", device) < 0)
                        return -ENOMEM;
                *ret = s;
                return 0;
        } else
                conf = device;
        char *s = strdup(conf);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int tpm2_context_new(const char *device, Tpm2Context **ret) {
        Tpm2Context *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        int r = tpm2_device_to_tcti(device, &c->tcti_conf);
        if (r < 0)
                goto fail;
        log_debug("TPM2: connecting through TCTI '%s'", c->tcti_conf);
        /* tpm2-tss logs failures to stderr itself; the command layer says
         * what failed, with the decoded response code, so keep it quiet
         * unless asked (TSS2_LOG set, or --verbose). */
        if (log_get_max_level() < LOG_DEBUG)
                (void) setenv("TSS2_LOG", "all+none", 0);
        r = tpm2_check(Tss2_TctiLdr_Initialize(c->tcti_conf, &c->tcti), "TCTI initialisation");
        if (r < 0) {
                r = -ECONNREFUSED;
                goto fail;
        }
        r = tpm2_check(Esys_Initialize(&c->esys, c->tcti, NULL), "ESYS initialisation");
        if (r < 0)
                goto fail;
        *ret = c;
        return 0;
fail:
        tpm2_context_free(c);
        return r;
}

void tpm2_context_free(Tpm2Context *c) {
        if (!c)
                return;
        if (c->esys)
                Esys_Finalize(&c->esys);
        if (c->tcti)
                Tss2_TctiLdr_Finalize(&c->tcti);
        free(c->tcti_conf);
        free(c);
}

void tpm2_flush(Tpm2Context *c, ESYS_TR *h) {
        if (!c || !h || *h == ESYS_TR_NONE)
                return;
        TSS2_RC rc = Esys_FlushContext(c->esys, *h);
        if (rc != TSS2_RC_SUCCESS)
                log_debug("TPM2: flushing handle 0x%x failed: %s", *h, Tss2_RC_Decode(rc));
        *h = ESYS_TR_NONE;
}

void tpm2_close(Tpm2Context *c, ESYS_TR *h) {
        if (!c || !h || *h == ESYS_TR_NONE)
                return;
        (void) Esys_TR_Close(c->esys, h);
        *h = ESYS_TR_NONE;
}

int tpm2_get_random(Tpm2Context *c, void *buf, size_t n) {
        uint8_t *p = buf;
        while (n > 0) {
                TPM2B_DIGEST *rnd = NULL;
                UINT16 want = n > sizeof rnd->buffer ? sizeof rnd->buffer : (UINT16) n;
                int r = tpm2_check(Esys_GetRandom(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, want, &rnd),
                                   "GetRandom");
                if (r < 0)
                        return r;
                size_t got = rnd->size < n ? rnd->size : n;
                memcpy(p, rnd->buffer, got);
                explicit_bzero(rnd->buffer, sizeof rnd->buffer);
                Esys_Free(rnd);
                if (got == 0)
                        return -EIO;
                p += got;
                n -= got;
        }
        return 0;
}
