/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/run.h"
#include "vm/esp.h"

/* mtools refuses FATs whose geometry does not match a floppy or whose
 * partition it cannot verify; the image is ours and well-formed. */
static char *const mtools_env[] = { (char *) "MTOOLS_SKIP_CHECK=1", NULL };

static int run_quiet(const char *const argv[], bool mtools) {
        RunOptions o = { .env_extra = mtools ? mtools_env : NULL, .timeout_ms = 120 * 1000 };
        RunResult res = {};
        int r = run(argv, &o, &res);
        if (r == -EPROTO)
                log_debug("%s failed: %s", argv[0], run_result_describe(&res));
        run_result_done(&res);
        return r;
}

int vm_esp_create_r(const char *path, unsigned size_mib) {
        if (!path || size_mib < 33 || size_mib > 4096)
                return -EINVAL; /* under ~32 MiB mkfs.vfat picks a FAT mtools misreads */
        (void) unlink(path);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        /* 1 MiB for the protective MBR and primary GPT, 1 MiB for the backup */
        int r = ftruncate(fd, ((off_t) size_mib + 2) << 20) < 0 ? -errno : 0;
        close(fd);
        if (r < 0)
                return r;

        char part[64], blocks[32], offset[32];
        snprintf(part, sizeof part, "1:%d:+%uM", VM_ESP_OFFSET_SECTORS, size_mib);
        const char *sgdisk[] = { "sgdisk", "-o", "-n", part, "-t", "1:ef00", "-c", "1:ESP", path, NULL };
        r = run_quiet(sgdisk, false);
        if (r < 0)
                return r;
        snprintf(offset, sizeof offset, "%d", VM_ESP_OFFSET_SECTORS);
        snprintf(blocks, sizeof blocks, "%u", size_mib * 1024); /* 1 KiB blocks */
        /* a fixed volume id: the same inputs give the same filesystem */
        const char *mkfs[] = { "mkfs.vfat", "--offset", offset, "-i", "4b455953", "-n", "ESP", path, blocks, NULL };
        r = run_quiet(mkfs, false);
        if (r < 0)
                return r;
        char spec[PATH_MAX + 8];
        snprintf(spec, sizeof spec, "%s@@1M", path);
        const char *mmd[] = { "mmd", "-i", spec, "::/EFI", "::/EFI/BOOT", NULL };
        return run_quiet(mmd, true);
}

int vm_esp_put_r(const char *esp, const char *file, const char *dest) {
        char spec[PATH_MAX + 8];
        snprintf(spec, sizeof spec, "%s@@1M", esp);
        const char *argv[] = { "mcopy", "-o", "-i", spec, file, dest, NULL };
        return run_quiet(argv, true);
}
