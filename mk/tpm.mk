# keystone tpm: tpm2-tss (ESYS, marshalling, RC decoding, TCTI loader),
# libcryptsetup (LUKS2 keyslots and tokens), libcrypto (sha256, HMAC, base64).
PKGS += tss2-esys tss2-mu tss2-rc tss2-tctildr libcryptsetup libcrypto
