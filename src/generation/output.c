/* SPDX-License-Identifier: MIT */
/* The build directory: the cached generation and the machine's own files
 * (output.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "generation/initrd-ssh.h"
#include "generation/output.h"
#include "image/initrd.h"
#include "init/initrd-ssh.h"
#include "secureboot/authenticode.h"
#include "secureboot/keys.h"
#include "secureboot/uki.h"
#include "util/error-message.h"
#include "util/file-bytes.h"
#include "util/fs.h"
#include "util/macro.h"
#include "util/run.h"

#define PRIVATE_KEY_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define KEY_MAX (64 * 1024)

/* A private host key and its .pub, both read whole. */
typedef struct KeyPair {
        uint8_t *priv, *pub;
        size_t priv_size, pub_size;
} KeyPair;

static void key_pair_done(KeyPair *k) {
        if (k->priv)
                explicit_bzero(k->priv, k->priv_size);
        free(k->priv);
        free(k->pub);
        *k = (KeyPair) {};
}

/* DIR/NAME and DIR/NAME.pub: an OpenSSH ed25519 key readable by its owner
 * only. */
static int key_pair_read(const char *dir, const char *name, KeyPair *ret, char **error) {
        char p[PATH_MAX], pub[PATH_MAX + 8];
        PATHF(p, "%s/%s", dir, name);
        PATHF(pub, "%s.pub", p);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        if (fd < 0)
                return error_set(error, -errno, "cannot read the host key %s: %s", p, strerror(errno));
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || (st.st_mode & 077))
                return error_set(error, -EPERM, "the host key %s is readable by others than its owner (mode %04o): "
                                 "`chmod 600 %s`, and make a new key if others may have read it", p,
                                 (unsigned) (st.st_mode & 07777), p);
        KeyPair k = {};
        int r = read_file_bytes(p, KEY_MAX, &k.priv, &k.priv_size);
        if (r < 0)
                return error_set(error, r, "cannot read the host key %s: %s", p, strerror(-r));
        if (k.priv_size < strlen(PRIVATE_KEY_BEGIN) || memcmp(k.priv, PRIVATE_KEY_BEGIN, strlen(PRIVATE_KEY_BEGIN))) {
                key_pair_done(&k);
                return error_set(error, -EBADMSG, "%s is not an OpenSSH private key (make it with `ssh-keygen -t "
                                 "ed25519 -N '' -f %s`)", p, p);
        }
        if ((r = read_file_bytes(pub, KEY_MAX, &k.pub, &k.pub_size)) < 0) {
                key_pair_done(&k);
                return error_set(error, r, "cannot read %s (the public half of %s): %s", pub, p, strerror(-r));
        }
        if (k.pub_size < 12 || memcmp(k.pub, "ssh-ed25519 ", 12) || memchr(k.pub, '\n', k.pub_size) !=
            (void *) (k.pub + k.pub_size - 1)) {
                key_pair_done(&k);
                return error_set(error, -EBADMSG, "%s is not one ssh-ed25519 public key line: the host key must be "
                                 "an ed25519 key (`ssh-keygen -t ed25519`)", pub);
        }
        *ret = k;
        return 0;
}

/* Whether the operator made the initrd a key of its own (then it must be
 * whole: a missing .pub is an error, not a reason to fall back). */
static bool has_initrd_key(const char *dir) {
        char p[PATH_MAX];
        PATHF(p, "%s/" GENERATION_INITRD_HOST_KEY, dir);
        return access(p, F_OK) == 0 || errno != ENOENT;
}

/* out written anew, mode 0600, never through an existing file's mode */
static int write_private(const char *out, const void *data, size_t size, char **error) {
        (void) unlink(out);
        int r = write_file_bytes_excl(out, data, size, 0600);
        if (r < 0)
                return error_set(error, r, "cannot write %s: %s", out, strerror(-r));
        return 0;
}

/* OUT/host-keys.tar: the system's host key for /etc/ssh. */
static int write_host_keys_tar(const char *out, const KeyPair *k, int64_t mtime, char **error) {
        size_t cap = 8192 + k->priv_size + k->pub_size, used = 0;
        uint8_t *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        const struct { const char *path; mode_t mode; const uint8_t *data; size_t size; } files[] = {
                { "./etc/ssh/" GENERATION_HOST_KEY, 0600, k->priv, k->priv_size },
                { "./etc/ssh/" GENERATION_HOST_KEY ".pub", 0644, k->pub, k->pub_size },
        };
        struct archive *a = archive_write_new();
        int r = -EIO;
        if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
            archive_write_open_memory(a, buf, cap, &used) != ARCHIVE_OK)
                goto out;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                struct archive_entry *e = archive_entry_new();
                if (!e)
                        goto out;
                archive_entry_set_pathname(e, files[i].path);
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, files[i].mode);
                archive_entry_set_uid(e, 0);
                archive_entry_set_gid(e, 0);
                archive_entry_set_mtime(e, mtime, 0);
                archive_entry_set_size(e, (la_int64_t) files[i].size);
                bool ok = archive_write_header(a, e) == ARCHIVE_OK &&
                          archive_write_data(a, files[i].data, files[i].size) == (la_ssize_t) files[i].size;
                archive_entry_free(e);
                if (!ok)
                        goto out;
        }
        if (archive_write_close(a) != ARCHIVE_OK)
                goto out;
        r = 0;
out:
        if (a)
                archive_write_free(a);
        if (r == 0)
                r = write_private(out, buf, used, error);
        else
                error_set(error, r, "cannot write %s", out);
        explicit_bzero(buf, cap);
        free(buf);
        return r;
}

/* The initrd with etc/keystone-initrd/ before the cached one, and its UKI. */
static int write_initrd_ssh(Generation *g, const ImageSpec *s, const GenerationMachine *m, const KeyPair *hk,
                            const char *out, char **error) {
        _cleanup_free_ char *auth = NULL, *extra = NULL;
        int r = generation_initrd_ssh_authorized_keys(s, m->ssh_keys, &auth);
        if (r == -ENOKEY)
                return error_set(error, r, "unlock over SSH in the initrd is on, but nobody could log in there: give "
                                 "a user in group sudo an SSH key (users.NAME.ssh-keys) or pass --ssh-key");
        if (r < 0)
                return r;
        if ((r = generation_initrd_ssh_cmdline(s, &extra)) < 0)
                return r;
        /* a key of the initrd's own, when the operator made one */
        KeyPair own = {};
        bool separate = has_initrd_key(m->host_keys);
        if (separate && (r = key_pair_read(m->host_keys, GENERATION_INITRD_HOST_KEY, &own, error)) < 0)
                return r;
        const KeyPair *k = separate ? &own : hk;
        InitrdData e[] = {
                { "etc", 0, NULL, 0 },
                /* the cpio's names are relative: each path without its leading '/' */
                { &INITRD_SSH_DIR[1], 0, NULL, 0 },
                { &INITRD_SSH_AUTHORIZED_KEYS[1], 0644, auth, strlen(auth) },
                { &INITRD_SSH_HOST_KEY[1], 0600, k->priv, k->priv_size },
                { &INITRD_SSH_HOST_KEY ".pub"[1], 0644, k->pub, k->pub_size },
        };
        char base[PATH_MAX], initrd[PATH_MAX], stub[PATH_MAX], osrel[PATH_MAX], kernel[PATH_MAX], p[PATH_MAX];
        PATHF(base, "%s/" GENERATION_INITRD, g->dir);
        PATHF(initrd, "%s/" GENERATION_INITRD, out);
        r = initrd_write_prefixed(base, e, ELEMENTSOF(e), initrd, error);
        key_pair_done(&own);
        if (r < 0)
                return r;

        char cmdline[sizeof g->cmdline];
        if (snprintf(cmdline, sizeof cmdline, "%s%s", g->cmdline, extra) >= (int) sizeof cmdline)
                return error_set(error, -E2BIG, "the kernel command line with keystone.initrd-ssh would be longer "
                                 "than %zu bytes: shorten boot.kernel-params", sizeof cmdline - 1);
        PATHF(stub, "%s/" GENERATION_STUB, g->dir);
        PATHF(osrel, "%s/" GENERATION_OS_RELEASE, g->dir);
        PATHF(kernel, "%s/" GENERATION_KERNEL, g->dir);
        UkiInputs in = { .stub = stub, .linux_path = kernel, .initrd_path = initrd, .os_release_path = osrel,
                         .cmdline = cmdline, .uname = g->kernel_version };
        uint8_t *uki = NULL;
        size_t size = 0;
        _cleanup_free_ char *uerr = NULL;
        if ((r = uki_assemble_buffer(&in, &uki, &size, &uerr)) < 0)
                return error_set(error, r, "assembling the UKI with initrd-ssh failed: %s", uerr ? uerr : strerror(-r));
        PATHF(p, "%s/" GENERATION_UKI_UNSIGNED, out);
        r = write_private(p, uki, size, error);
        EVP_PKEY *key = NULL;
        X509 *cert = NULL;
        if (r >= 0 && m->key_dir && (r = sb_key_load(m->key_dir, SB_KEY_DB, &key, &cert)) < 0)
                error_set(error, r, "cannot load the db key from %s: %s", m->key_dir, strerror(-r));
        if (r >= 0 && key && (r = authenticode_sign_in_place(&uki, &size, key, cert)) < 0)
                error_set(error, r, "signing the UKI with initrd-ssh failed: %s", strerror(-r));
        EVP_PKEY_free(key);
        X509_free(cert);
        char rel[64], esp[PATH_MAX + 64];
        generation_esp_uki(g->number, rel, sizeof rel);
        PATHF(esp, "%s/" GENERATION_ESP "/%s", out, rel);
        if (r >= 0)
                r = write_private(esp, uki, size, error);
        explicit_bzero(uki, size);
        free(uki);
        if (r < 0)
                return r;
        char line[sizeof cmdline + 1];
        snprintf(line, sizeof line, "%s\n", cmdline);
        PATHF(p, "%s/" GENERATION_CMDLINE, out);
        (void) unlink(p);
        if ((r = write_file_bytes_excl(p, line, strlen(line), 0644)) < 0)
                return error_set(error, r, "cannot write %s: %s", p, strerror(-r));
        snprintf(g->cmdline, sizeof g->cmdline, "%s", cmdline);
        g->signed_ = m->key_dir != NULL;
        return 0;
}

int generation_host_keys_check(const char *dir, char **error) {
        KeyPair k = {};
        int r = key_pair_read(dir, GENERATION_HOST_KEY, &k, error);
        key_pair_done(&k);
        if (r < 0)
                return r;
        if (!has_initrd_key(dir))
                return 0;
        r = key_pair_read(dir, GENERATION_INITRD_HOST_KEY, &k, error);
        key_pair_done(&k);
        return r;
}

int generation_write_output(Generation *g, const ImageSpec *s, const GenerationMachine *m, const char *out,
                            char **error) {
        if (s->initrd_ssh && !m->host_keys)
                return generation_initrd_ssh_check(s, NULL, error);
        if (mkdir(out, 0755) < 0 && errno != EEXIST)
                return error_set(error, -errno, "cannot create %s: %s", out, strerror(errno));
        char src[PATH_MAX + 4], p[PATH_MAX];
        PATHF(src, "%s/.", g->dir);
        const char *cp[] = { "cp", "-a", "--reflink=auto", "--", src, out, NULL };
        int r = run(cp, NULL, NULL);
        if (r < 0)
                return error_set(error, r, "copying the generation from %s to %s failed", g->dir, out);
        PATHF(p, "%s/" GENERATION_HOST_KEYS, out);
        if (unlink(p) < 0 && errno != ENOENT)
                return error_set(error, -errno, "cannot remove the earlier build's %s: %s", p, strerror(errno));
        if (!m->host_keys)
                return 0;
        KeyPair hk = {};
        if ((r = key_pair_read(m->host_keys, GENERATION_HOST_KEY, &hk, error)) < 0)
                return r;
        r = write_host_keys_tar(p, &hk, (int64_t) s->source_date_epoch, error);
        if (r >= 0 && s->initrd_ssh)
                r = write_initrd_ssh(g, s, m, &hk, out, error);
        key_pair_done(&hk);
        return r;
}
