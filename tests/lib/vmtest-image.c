/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/cache.h"
#include "util/clock.h"
#include "util/run.h"
#include "vmtest-image.h"
#include "vmtest.h"

void vmtest_ssh_key(const char **ret_private_path, const char **ret_public) {
        static char priv[PATH_MAX], pub[1024];
        if (!priv[0]) {
                char dir[PATH_MAX - 32];
                snprintf(dir, sizeof dir, "%s/vmtest-ssh-key", cache_dir_default());
                (void) mkdir(cache_dir_default(), 0755);
                if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                        vmtest_fail("cannot create %s: %m", dir);
                snprintf(priv, sizeof priv, "%s/id_ed25519", dir);
                if (access(priv, R_OK) < 0) {
                        const char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                                               "keystone-vmtest", "-f", priv, NULL };
                        RunResult res = {};
                        int r = run(argv, NULL, &res);
                        if (r < 0)
                                vmtest_fail("ssh-keygen for the test key failed: %s (package openssh-client)",
                                            r == -EPROTO ? run_result_describe(&res) : strerror(-r));
                        run_result_done(&res);
                }
                char pp[PATH_MAX + 8];
                snprintf(pp, sizeof pp, "%s.pub", priv);
                FILE *f = fopen(pp, "re");
                if (!f || !fgets(pub, sizeof pub, f))
                        vmtest_fail("cannot read %s: %m", pp);
                fclose(f);
                pub[strcspn(pub, "\n")] = 0;
        }
        if (ret_private_path)
                *ret_private_path = priv;
        if (ret_public)
                *ret_public = pub;
}

void vmtest_build_host(const char *host_name, ImageArtifacts *ret) {
        const char *src = getenv("SRCDIR");
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/tests/vm/hosts/%s.toml", src && *src ? src : ".", host_name);
        vmtest_step("load host file %s", path);
        _cleanup_free_ char *err = NULL;
        ImageSpec spec = {};
        int r = image_spec_load(path, &spec, &err);
        if (r < 0)
                vmtest_fail("cannot use %s: %s", path, err ? err : strerror(-r));

        const char *pub;
        vmtest_ssh_key(NULL, &pub);
        for (size_t i = 0; i < spec.n_users; i++) {
                ImageUser *u = &spec.users[i];
                char **k = realloc(u->ssh_keys, (u->n_ssh_keys + 2) * sizeof(char *));
                if (!k || !(k[u->n_ssh_keys] = strdup(pub)))
                        vmtest_fail("out of memory");
                k[++u->n_ssh_keys] = NULL;
                u->ssh_keys = k;
        }
        spec.test_instrumentation = true;

        vmtest_step("build image for %s", path);
        double t0 = monotonic_seconds();
        _cleanup_free_ char *error = NULL;
        r = image_build(&spec, NULL, ret, &error);
        image_spec_done(&spec);
        if (r < 0)
                vmtest_fail("building the image for %s failed: %s (build logs are in %s/*.tmp/)", path,
                            error ? error : strerror(-r), cache_dir_default());
        double t1 = monotonic_seconds();
        fprintf(stderr, "vmtest: keystone %s: build chroot %.12s (%s %.1f s), .deb %.12s (%s %.1f s)\n",
                ret->keystone_version, ret->buildroot_hash, ret->buildroot_built ? "built in" : "cached",
                ret->buildroot_seconds, ret->keystone_hash, ret->keystone_built ? "built in" : "cached",
                ret->keystone_seconds);
        fprintf(stderr, "vmtest: image for %s: rootfs %.12s (%s %.1f s), disk %.12s (%s %.1f s), %.1f s in all\n",
                host_name, ret->rootfs_hash, ret->rootfs_built ? "built in" : "cached", ret->rootfs_seconds,
                ret->disk_hash, ret->disk_built ? "built in" : "cached", ret->disk_seconds,
                t1 - t0);
}

VmConfig vmtest_config_for(const ImageArtifacts *a, const char *vm_name) {
        return (VmConfig) {
                .name = vm_name,
                .disks = { { .path = a->disk, .format = "raw", .overlay = true } },
                .kernel = a->kernel,
                .initrd = a->initrd,
                .cmdline = a->cmdline,
        };
}
