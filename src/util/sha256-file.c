/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util/macro.h"
#include "util/sha256-file.h"

int sha256_file_hex(const char *path, char out[static 65], uint64_t *ret_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        int r = 0;
        uint64_t total = 0;
        size_t bufsize = 1u << 20;
        unsigned char *buf = malloc(bufsize);
        if (!buf || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
                r = buf ? -EIO : -ENOMEM;
                goto done;
        }
        for (;;) {
                ssize_t k = read(fd, buf, bufsize);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        goto done;
                }
                if (k == 0)
                        break;
                if (EVP_DigestUpdate(ctx, buf, (size_t) k) != 1) {
                        r = -EIO;
                        goto done;
                }
                total += (uint64_t) k;
        }
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        if (EVP_DigestFinal_ex(ctx, md, &len) != 1 || len != 32) {
                r = -EIO;
                goto done;
        }
        for (unsigned i = 0; i < 32; i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
        if (ret_size)
                *ret_size = total;
done:
        free(buf);
        EVP_MD_CTX_free(ctx);
        return r;
}
