/* SPDX-License-Identifier: MIT */
/* manifest.json: artifact hashes are the files' real SHA-256 (known
 * vectors), the inputs' hash is the hash of the inputs text and changes with
 * any input byte, the same inputs give the same bytes, and a missing
 * artifact is an error, not a manifest without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "image/cache.h"
#include "image/lock.h"
#include "image/manifest.h"
#include "util/sha256-file.h"

static char dir[64];
static char host[128], lock_file[128], art1[128], art2[128];

static void put(const char *path, const char *text) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static int setup(void **state) {
        snprintf(dir, sizeof dir, "/tmp/keystone-manifest-XXXXXX");
        if (!mkdtemp(dir))
                return -1;
        snprintf(host, sizeof host, "%s/host.toml", dir);
        snprintf(lock_file, sizeof lock_file, "%s/keystone.lock", dir);
        snprintf(art1, sizeof art1, "%s/abc", dir);
        snprintf(art2, sizeof art2, "%s/empty", dir);
        put(host, "[host]\nname = \"m\"\n");
        put(lock_file, "[archive]\n");
        put(art1, "abc");
        put(art2, "");
        return 0;
}

static int teardown(void **state) {
        const char *files[] = { host, lock_file, art1, art2 };
        for (size_t i = 0; i < 4; i++)
                unlink(files[i]);
        char m[128];
        snprintf(m, sizeof m, "%s/out/manifest.json", dir);
        unlink(m);
        snprintf(m, sizeof m, "%s/out", dir);
        rmdir(m);
        rmdir(dir);
        return 0;
}

static ImageLock packages;

static ManifestInputs inputs(const char *lock_path) {
        static const char *files[2];
        static ManifestArtifact arts[2];
        files[0] = host;
        files[1] = NULL;
        arts[0] = (ManifestArtifact) { "disk", art1 };
        arts[1] = (ManifestArtifact) { "kernel", art2 };
        return (ManifestInputs) { .host = "m", .keystone_version = "0.1-test", .files = files,
                                  .lock_path = lock_path, .packages = &packages, .artifacts = arts,
                                  .n_artifacts = 2 };
}

static json_object *parse(const char *text) {
        json_object *j = json_tokener_parse(text);
        assert_non_null(j);
        return j;
}

static const char *get(json_object *o, const char *a, const char *b) {
        json_object *v = NULL;
        assert_true(json_object_object_get_ex(o, a, &v));
        if (b) {
                json_object *w = NULL;
                assert_true(json_object_object_get_ex(v, b, &w));
                v = w;
        }
        return json_object_get_string(v);
}

static void test_hashes(void **state) {
        image_lock_done(&packages);
        assert_int_equal(image_lock_set(&packages, "zlib1g", "1:1.3"), 0);
        assert_int_equal(image_lock_set(&packages, "libc6", "2.41-12"), 0);
        image_lock_sort(&packages);
        ManifestInputs in = inputs(lock_file);
        char *text = NULL;
        assert_int_equal(image_manifest_format(&in, &text), 0);
        json_object *j = parse(text);
        assert_string_equal(get(j, "host", NULL), "m");
        /* artifacts: FIPS 180-2 vectors */
        json_object *arts = NULL;
        assert_true(json_object_object_get_ex(j, "artifacts", &arts));
        assert_int_equal(json_object_array_length(arts), 2);
        json_object *a0 = json_object_array_get_idx(arts, 0), *a1 = json_object_array_get_idx(arts, 1);
        assert_string_equal(get(a0, "name", NULL), "disk");
        assert_string_equal(get(a0, "path", NULL), art1);
        assert_string_equal(get(a0, "sha256", NULL),
                            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_string_equal(get(a0, "size", NULL), "3");
        assert_string_equal(get(a1, "sha256", NULL),
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        /* packages, sorted */
        json_object *pk = NULL;
        assert_true(json_object_object_get_ex(j, "packages", &pk));
        assert_string_equal(get(pk, "libc6", NULL), "2.41-12");
        assert_string_equal(get(pk, "zlib1g", NULL), "1:1.3");
        assert_non_null(strstr(text, "\"libc6\"") );
        assert_true(strstr(text, "\"libc6\"") < strstr(text, "\"zlib1g\""));
        /* inputs: the hash is the hash of the text, which names each file's hash */
        const char *itext = get(j, "inputs", "text");
        char want[65], hh[65], lh[65];
        assert_int_equal(cache_sha256_hex(itext, strlen(itext), want), 0);
        assert_string_equal(get(j, "inputs", "sha256"), want);
        assert_int_equal(sha256_file_hex(host, hh, NULL), 0);
        assert_int_equal(sha256_file_hex(lock_file, lh, NULL), 0);
        char line[256];
        snprintf(line, sizeof line, "file %s %s\n", host, hh);
        assert_non_null(strstr(itext, line));
        snprintf(line, sizeof line, "lock %s\n", lh);
        assert_non_null(strstr(itext, line));
        assert_non_null(strstr(itext, "keystone=0.1-test\n"));
        assert_string_equal(get(j, "inputs", "lock"), lh);

        /* the same inputs: the same bytes */
        char *again = NULL;
        assert_int_equal(image_manifest_format(&in, &again), 0);
        assert_string_equal(text, again);
        free(again);

        /* one byte of the host file changes the inputs' hash */
        put(host, "[host]\nname = \"n\"\n");
        assert_int_equal(image_manifest_format(&in, &again), 0);
        json_object *k = parse(again);
        assert_string_not_equal(get(k, "inputs", "sha256"), want);
        json_object_put(k);
        free(again);
        put(host, "[host]\nname = \"m\"\n");

        /* without a lock: "lock": null and another hash */
        ManifestInputs un = inputs(NULL);
        assert_int_equal(image_manifest_format(&un, &again), 0);
        k = parse(again);
        json_object *lv = NULL;
        json_object *iv = NULL;
        assert_true(json_object_object_get_ex(k, "inputs", &iv));
        assert_true(json_object_object_get_ex(iv, "lock", &lv));
        assert_null(lv);
        assert_string_not_equal(get(k, "inputs", "sha256"), want);
        assert_non_null(strstr(get(k, "inputs", "text"), "lock none\n"));
        json_object_put(k);
        free(again);

        /* written where asked */
        char out[128], path[160];
        snprintf(out, sizeof out, "%s/out", dir);
        assert_int_equal(image_manifest_write(&in, out), 0);
        snprintf(path, sizeof path, "%s/manifest.json", out);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char buf[8192];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
        assert_string_equal(buf, text);

        json_object_put(j);
        free(text);
        image_lock_done(&packages);
}

static void test_missing_artifact(void **state) {
        ManifestInputs in = inputs(NULL);
        ManifestArtifact arts[] = { { "disk", "/nonexistent/keystone/root.img" } };
        in.artifacts = arts;
        in.n_artifacts = 1;
        char *text = NULL;
        assert_int_equal(image_manifest_format(&in, &text), -ENOENT);
        assert_null(text);
        const char *files[] = { "/nonexistent/host.toml", NULL };
        in = inputs(NULL);
        in.files = files;
        assert_int_equal(image_manifest_format(&in, &text), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hashes),
                cmocka_unit_test(test_missing_artifact),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
