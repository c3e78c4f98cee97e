/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config/config.h"
#include "image/cache.h"
#include "image/manifest.h"
#include "util/macro.h"
#include "util/run.h"
#include "util/sha256-file.h"

static int add_string(json_object *o, const char *key, const char *value) {
        json_object *v = value ? json_object_new_string(value) : NULL;
        if (value && !v)
                return -ENOMEM;
        return json_object_object_add(o, key, v) == 0 ? 0 : -ENOMEM;
}

static int build(const ManifestInputs *in, json_object *root) {
        int r;
        json_object *inputs = json_object_new_object(), *files = json_object_new_object();
        if (!inputs || !files) {
                json_object_put(inputs);
                json_object_put(files);
                return -ENOMEM;
        }
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        if (!f) {
                json_object_put(inputs);
                json_object_put(files);
                return -ENOMEM;
        }
        fprintf(f, "keystone-inputs 1\nkeystone=%s\n", in->keystone_version);
        r = 0;
        for (size_t i = 0; in->files && in->files[i] && r >= 0; i++) {
                char h[65];
                if ((r = sha256_file_hex(in->files[i], h, NULL)) < 0)
                        break;
                fprintf(f, "file %s %s\n", in->files[i], h);
                r = add_string(files, in->files[i], h);
        }
        char lock_hash[65] = "";
        if (r >= 0 && in->lock_path)
                r = sha256_file_hex(in->lock_path, lock_hash, NULL);
        fprintf(f, "lock %s\n", lock_hash[0] ? lock_hash : "none");
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        char digest[65];
        if (r >= 0)
                r = cache_sha256_hex(text, size, digest);
        if (r >= 0 && (r = add_string(inputs, "sha256", digest)) >= 0 && (r = add_string(inputs, "text", text)) >= 0)
                r = add_string(inputs, "keystone-version", in->keystone_version);
        free(text);
        if (r < 0) {
                json_object_put(inputs);
                json_object_put(files);
                return r;
        }
        json_object_object_add(inputs, "files", files);
        if ((r = add_string(inputs, "lock", lock_hash[0] ? lock_hash : NULL)) < 0) {
                json_object_put(inputs);
                return r;
        }
        json_object_object_add(root, "inputs", inputs);

        json_object *pk = json_object_new_object();
        if (!pk)
                return -ENOMEM;
        json_object_object_add(root, "packages", pk);
        for (size_t i = 0; in->packages && i < in->packages->n_packages; i++)
                if ((r = add_string(pk, in->packages->packages[i].name, in->packages->packages[i].version)) < 0)
                        return r;

        json_object *arts = json_object_new_array();
        if (!arts)
                return -ENOMEM;
        json_object_object_add(root, "artifacts", arts);
        for (size_t i = 0; i < in->n_artifacts; i++) {
                char h[65], full[PATH_MAX];
                uint64_t n = 0;
                if (in->base_dir)
                        snprintf(full, sizeof full, "%s/%s", in->base_dir, in->artifacts[i].path);
                else
                        snprintf(full, sizeof full, "%s", in->artifacts[i].path);
                if ((r = sha256_file_hex(full, h, &n)) < 0)
                        return r;
                json_object *a = json_object_new_object();
                if (!a)
                        return -ENOMEM;
                json_object_array_add(arts, a);
                if ((r = add_string(a, "name", in->artifacts[i].name)) < 0 ||
                    (r = add_string(a, "path", in->artifacts[i].path)) < 0)
                        return r;
                json_object_object_add(a, "size", json_object_new_int64((int64_t) n));
                if ((r = add_string(a, "sha256", h)) < 0)
                        return r;
        }
        return 0;
}

int image_manifest_format(const ManifestInputs *in, char **ret) {
        json_object *root = json_object_new_object();
        if (!root)
                return -ENOMEM;
        json_object_object_add(root, "manifest", json_object_new_int(1));
        int r = add_string(root, "host", in->host);
        if (r >= 0)
                r = build(in, root);
        if (r >= 0) {
                const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                                             JSON_C_TO_STRING_NOSLASHESCAPE);
                if (!s || asprintf(ret, "%s\n", s) < 0)
                        r = -ENOMEM;
        }
        json_object_put(root);
        return r;
}

int image_manifest_write(const ManifestInputs *in, const char *dir) {
        _cleanup_free_ char *text = NULL;
        int r = image_manifest_format(in, &text);
        if (r < 0)
                return r;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        char p[4096], tmp[4200];
        if (snprintf(p, sizeof p, "%s/manifest.json", dir) >= (int) sizeof p)
                return -ENAMETOOLONG;
        snprintf(tmp, sizeof tmp, "%s.tmp", p);
        (void) unlink(tmp);
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        size_t n = strlen(text);
        if (write(fd, text, n) != (ssize_t) n) {
                (void) unlink(tmp);
                return -EIO;
        }
        if (rename(tmp, p) < 0)
                return -errno;
        return 0;
}

int image_host_files(const char *host_path, char ***ret) {
        Config *c = NULL;
        int r = config_load(host_path, &c, NULL);
        if (r < 0)
                return r;
        char **out = calloc(c->n_files + 2, sizeof(char *));
        if (!out) {
                config_free(c);
                return -ENOMEM;
        }
        size_t k = 0;
        /* the host file first, then its local imports in load order */
        out[k++] = strdup(host_path);
        for (size_t i = 0; i < c->n_files && out[0]; i++) {
                const char *f = c->files[i];
                struct stat st;
                size_t n = strlen(f);
                if (streq(f, host_path) || n < 6 || strcmp(f + n - 5, ".toml") != 0 || stat(f, &st) < 0 ||
                    !S_ISREG(st.st_mode))
                        continue; /* built-in modules go by name */
                if (!(out[k++] = strdup(f)))
                        break;
        }
        config_free(c);
        for (size_t i = 0; i < k; i++)
                if (!out[i]) {
                        for (size_t j = 0; j < k; j++)
                                free(out[j]);
                        free(out);
                        return -ENOMEM;
                }
        *ret = out;
        return 0;
}

int image_rootfs_packages(const char *rootfs_tar, ImageLock *ret) {
        const char *argv[] = { "tar", "-xOf", rootfs_tar, "./var/lib/dpkg/status", NULL };
        RunResult res = {};
        int r = run(argv, &(RunOptions) { .ignore_dry_run = true }, &res);
        if (r >= 0) {
                ImageLock l = {};
                r = image_lock_add_dpkg_status(&l, res.out ? res.out : "");
                if (r >= 0 && l.n_packages == 0)
                        r = -ENODATA;
                if (r < 0)
                        image_lock_done(&l);
                else
                        *ret = l;
        }
        run_result_done(&res);
        return r;
}
