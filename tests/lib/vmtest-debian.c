/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/cache.h"
#include "util/clock.h"
#include "util/file-bytes.h"
#include "util/run.h"
#include "vmtest-debian.h"
#include "vmtest-image.h"
#include "vmtest.h"

/* Bump when what the C side does to the image changes without the script. */
#define DEBIAN_TARGET_RECIPE "keystone-debian-target 1"
#define DEBIAN_TARGET_SCRIPT "tests/vm/data/debian-target.sh"

void vmtest_debian_target(const char **ret_image_path) {
        static char image[PATH_MAX];
        if (image[0]) {
                *ret_image_path = image;
                return;
        }
        const char *src = getenv("SRCDIR");
        char script[PATH_MAX];
        snprintf(script, sizeof script, "%s/" DEBIAN_TARGET_SCRIPT, src && *src ? src : ".");
        vmtest_step("stock Debian target: image from %s", script);
        _cleanup_free_ uint8_t *text = NULL;
        size_t n;
        int r = read_file_bytes(script, 1 << 20, &text, &n);
        if (r < 0)
                vmtest_fail("cannot read %s: %s", script, strerror(-r));
        const char *pub;
        vmtest_ssh_key(NULL, &pub);

        /* the key: the recipe, the public key root logs in with, the script */
        _cleanup_free_ char *inputs = NULL;
        if (asprintf(&inputs, "%s\npublic_key=%s\nscript:\n%s", DEBIAN_TARGET_RECIPE, pub, (const char *) text) < 0)
                vmtest_fail("out of memory");
        char hash[65];
        if ((r = cache_sha256_hex(inputs, strlen(inputs), hash)) < 0)
                vmtest_fail("sha256 failed: %s", strerror(-r));
        const char *cache = cache_dir_default();
        (void) mkdir(cache, 0755);
        char dir[PATH_MAX - 32], tmp[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/debian-target-%s", cache, hash);
        snprintf(tmp, sizeof tmp, "%s.tmp", dir);
        snprintf(image, sizeof image, "%s/disk.img", dir);

        double t0 = monotonic_seconds();
        _cleanup_close_ int lock = cache_lock(cache, "debian-target", hash);
        if (lock < 0)
                vmtest_fail("cannot lock the cache entry %s: %s", dir, strerror(-lock));
        if (access(image, R_OK) == 0) {
                fprintf(stderr, "vmtest: stock Debian target %.12s cached (%.1f s)\n", hash,
                        monotonic_seconds() - t0);
                *ret_image_path = image;
                return;
        }
        (void) cache_rm_rf(tmp);
        if (mkdir(tmp, 0755) < 0)
                vmtest_fail("cannot create %s: %m", tmp);
        const char *argv[] = { "sh", script, tmp, hash, pub, NULL };
        RunResult res = {};
        r = run(argv, &(RunOptions) { .timeout_ms = 30 * 60 * 1000 }, &res);
        (void) cache_save_log(tmp, "build.log", &res);
        if (r < 0)
                vmtest_fail("%s failed: %s (log: %s/build.log)", script,
                            r == -EPROTO ? run_result_describe(&res) : strerror(-r), tmp);
        run_result_done(&res);
        char ip[PATH_MAX + 16];
        snprintf(ip, sizeof ip, "%s/inputs.txt", tmp);
        if ((r = cache_write_text(ip, inputs)) < 0)
                vmtest_fail("cannot write %s: %s", ip, strerror(-r));
        if (rename(tmp, dir) < 0)
                vmtest_fail("cannot rename %s to %s: %m", tmp, dir);
        fprintf(stderr, "vmtest: stock Debian target %.12s built in %.1f s\n", hash, monotonic_seconds() - t0);
        *ret_image_path = image;
}

void vmtest_blank_disk(const char *path, uint64_t size) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0 || ftruncate(fd, (off_t) size) < 0)
                vmtest_fail("cannot make the blank disk %s: %m", path);
}

VmConfig vmtest_debian_target_config(const char *vm_name, const char *blank_disk_path) {
        const char *image;
        vmtest_debian_target(&image);
        VmConfig c = {
                .name = vm_name,
                .secure_boot = true,
                .tpm = true,
                .ssh = true,
                .memory_mb = 2048,
                .disks = { { .path = image, .format = "raw", .overlay = true } },
        };
        if (blank_disk_path)
                c.disks[1] = (VmDisk) { .path = blank_disk_path, .format = "raw", .serial = VMTEST_DEBIAN_SERIAL };
        return c;
}

int vmtest_debian_ssh_r(Vm *vm, const char *command, int timeout_s, RunResult *res) {
        const char *key;
        vmtest_ssh_key(&key, NULL);
        char port[16], ct[32];
        snprintf(port, sizeof port, "%d", vm_ssh_port(vm));
        snprintf(ct, sizeof ct, "ConnectTimeout=%d", timeout_s < 20 ? timeout_s : 20);
        const char *argv[] = { "ssh", "-F", "/dev/null", "-p", port, "-o", "BatchMode=yes", "-o",
                               "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", ct, "-o",
                               "LogLevel=ERROR", "-o", "IdentitiesOnly=yes", "-i", key, "root@127.0.0.1", command,
                               NULL };
        return run(argv, &(RunOptions) { .timeout_ms = timeout_s * 1000 }, res);
}

void vmtest_debian_wait_for_ssh(Vm *vm, int timeout_s) {
        vmtest_step("%s: root logs in over SSH with the test key", vm_name(vm));
        int64_t end = monotonic_ms() + (int64_t) timeout_s * 1000;
        RunResult res = {};
        int r;
        for (;;) {
                run_result_done(&res);
                r = vmtest_debian_ssh_r(vm, "true", 30, &res);
                if (r == 0)
                        break;
                if (!vm_running(vm) || monotonic_ms() > end)
                        vmtest_fail("no SSH login as root within %d s: %s%s%s", timeout_s,
                                    r == -EPROTO ? run_result_describe(&res) : strerror(-r),
                                    res.err ? "\n" : "", res.err ? res.err : "");
                (void) vm_pump(3000);
        }
        run_result_done(&res);
}

static char *last_out;

_printf_(3, 0) static const char *ssh_command(Vm *vm, bool want_success, const char *fmt, va_list ap) {
        _cleanup_free_ char *cmd = NULL;
        if (vasprintf(&cmd, fmt, ap) < 0)
                vmtest_fail("out of memory");
        vmtest_step("%s over SSH: %s", vm_name(vm), cmd);
        RunResult res = {};
        int r = vmtest_debian_ssh_r(vm, cmd, 300, &res);
        bool ran = r == 0 || (r == -EPROTO && res.signal == 0 && res.exit_status != 255);
        if (!ran)
                vmtest_fail("ssh could not run `%s`: %s\n%s", cmd,
                            r == -EPROTO ? run_result_describe(&res) : strerror(-r), res.err ? res.err : "");
        if (want_success && r != 0)
                vmtest_fail("`%s` failed in the guest: %s\nstdout:\n%s\nstderr:\n%s", cmd, run_result_describe(&res),
                            res.out, res.err);
        if (!want_success && r == 0)
                vmtest_fail("`%s` succeeded in the guest, but must fail\nstdout:\n%s", cmd, res.out);
        free(last_out);
        if (want_success)
                last_out = strdup(res.out);
        else if (asprintf(&last_out, "%s%s", res.out, res.err) < 0)
                last_out = NULL;
        run_result_done(&res);
        if (!last_out)
                vmtest_fail("out of memory");
        return last_out;
}

const char *vmtest_debian_succeed(Vm *vm, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        const char *o = ssh_command(vm, true, fmt, ap);
        va_end(ap);
        return o;
}

const char *vmtest_debian_fail(Vm *vm, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        const char *o = ssh_command(vm, false, fmt, ap);
        va_end(ap);
        return o;
}
