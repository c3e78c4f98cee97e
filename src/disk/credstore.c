/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>


#include "disk/credstore.h"
#include "tpm/luks.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/file-bytes.h"
#include "util/run.h"


static int zvol_scan(const char *name, char *buf, size_t size) {
        DIR *d = opendir("/sys/block");
        if (!d)
                return -errno;
        struct dirent *de;
        int r = -ENOENT;
        while (r == -ENOENT && (de = readdir(d))) {
                if (!startswith(de->d_name, "zd"))
                        continue;
                char dev[300];
                snprintf(dev, sizeof dev, "/dev/%s", de->d_name);
                const char *argv[] = { "/usr/lib/udev/zvol_id", dev, NULL };
                RunOptions o = { .ignore_dry_run = true, .timeout_ms = 10000 };
                RunResult res = {};
                if (run(argv, &o, &res) == 0 && strlen(res.out) == strlen(name) + 1 &&
                    strneq(res.out, name, strlen(name))) {
                        snprintf(buf, size, "%s", dev);
                        r = 0;
                }
                run_result_done(&res);
        }
        closedir(d);
        return r;
}

int zvol_device(const char *name, char *buf, size_t size, int timeout_ms) {
        char link[512];
        snprintf(link, sizeof link, "/dev/zvol/%s", name);
        for (int waited = 0;; waited += 200) {
                if (access(link, F_OK) == 0) {
                        snprintf(buf, size, "%s", link);
                        return 0;
                }
                if (zvol_scan(name, buf, size) == 0)
                        return 0;
                if (waited >= timeout_ms)
                        return -ENOENT;
                nanosleep(&(struct timespec) { 0, 200 * 1000000 }, NULL);
        }
}

int credstore_is_luks(const char *dev) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        luks_route_logging(NULL);
        int r = crypt_init(&cd, dev);
        if (r < 0)
                return r;
        return crypt_load(cd, CRYPT_LUKS2, NULL) == 0 ? 1 : 0;
}

int credstore_format(const char *dev, const void *secret, size_t size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        luks_route_logging(NULL);
        int r = crypt_init(&cd, dev);
        if (r < 0)
                return r;
        struct crypt_params_luks2 params = { .sector_size = 512, .label = "credstore" };
        r = crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, 64, &params);
        if (r < 0)
                return r;
        r = crypt_keyslot_add_by_volume_key(cd, 0, NULL, 0, secret, size);
        if (r < 0)
                return r;
        /* so that `keystone tpm` knows this keyslot as the install secret's
         * and can remove it once the TPM and a recovery key are enrolled */
        r = luks_install_secret_mark(cd, 0);
        return r < 0 ? r : 0;
}

int credstore_open(const char *dev, const char *name, const void *secret, size_t size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        luks_route_logging(NULL);
        int r = crypt_init(&cd, dev);
        if (r < 0)
                return r;
        r = crypt_load(cd, CRYPT_LUKS2, NULL);
        if (r < 0)
                return r;
        r = crypt_activate_by_passphrase(cd, name, CRYPT_ANY_SLOT, secret, size, 0);
        return r < 0 ? r : 0;
}

int credstore_close(const char *name) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        luks_route_logging(NULL);
        int r = crypt_init_by_name(&cd, name);
        if (r == -ENODEV || r == -ENOENT)
                return 0; /* not open: nothing to close */
        if (r < 0)
                return r;
        /* udev probes the volume after its file system is unmounted and
         * holds it open for a moment: retry a busy volume for 30 s (under TCG, after a rootfs was
         * unpacked, udev took longer than 5 s) */
        for (int i = 0;; i++) {
                r = crypt_deactivate(cd, name);
                if (r != -EBUSY || i >= 300)
                        return r;
                usleep(100 * 1000);
        }
}

int credstore_write_random_key(const char *path, size_t n) {
        uint8_t key[64];
        if (n > sizeof key)
                return -EINVAL;
        if (getrandom(key, n, 0) != (ssize_t) n)
                return -EIO;
        /* temporary files a cut left behind hold keys nothing ever used */
        _cleanup_free_ char *pattern = NULL;
        if (asprintf(&pattern, "%s.tmp-??????", path) < 0)
                return -ENOMEM;
        glob_t g = {};
        if (glob(pattern, GLOB_NOSORT, NULL, &g) == 0)
                for (size_t i = 0; i < g.gl_pathc; i++)
                        (void) unlink(g.gl_pathv[i]);
        globfree(&g);
        /* the whole file and its name reach the disk before ZFS is given the key */
        int r = write_file_bytes_new(path, key, n, 0400);
        explicit_bzero(key, sizeof key);
        return r;
}

int credstore_key_check(const char *path, size_t n, off_t *ret_size) {
        struct stat st;
        *ret_size = 0;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        *ret_size = st.st_size;
        if (!S_ISREG(st.st_mode) || (size_t) st.st_size != n)
                return -EBADMSG;
        return 1;
}
