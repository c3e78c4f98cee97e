/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "image/cache.h"
#include "image/image.h"
#include "util/macro.h"
#include "util/run.h"

int cache_sha256_hex(const void *data, size_t n, char out[static 65]) {
        unsigned char md[32];
        unsigned int len = 0;
        if (EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
                return -EIO;
        for (size_t i = 0; i < 32; i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
        return 0;
}

const char *cache_dir_default(void) {
        const char *e = getenv("KEYSTONE_CACHE_DIR");
        return e && *e ? e : IMAGE_CACHE_DIR_DEFAULT;
}

int cache_lock(const char *dir, const char *kind, const char *hash) {
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s-%s.lock", dir, kind, hash);
        int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR) {
                        int r = -errno;
                        close(fd);
                        return r;
                }
        return fd;
}

int cache_write_text(const char *path, const char *text) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        for (size_t n = strlen(text); n > 0;) {
                ssize_t k = write(fd, text, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -EIO;
                text += k;
                n -= (size_t) k;
        }
        return 0;
}

int cache_rm_rf(const char *path) {
        const char *argv[] = { "rm", "-rf", "--one-file-system", "--", path, NULL };
        return run(argv, NULL, NULL);
}

int cache_save_log(const char *dir, const char *name, const RunResult *res) {
        char p[4096];
        if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int) sizeof p)
                return -ENAMETOOLONG;
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        if (res->out)
                (void) !write(fd, res->out, res->out_size);
        if (res->err)
                (void) !write(fd, res->err, res->err_size);
        return 0;
}
