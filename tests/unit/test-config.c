/* SPDX-License-Identifier: MIT */
/* The module system: imports, merge rules, defaults, and every kind of error
 * with its FILE:LINE:COLUMN. */
#include <errno.h>
#include <sys/stat.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "../lib/tmpdir.h"
#include "config/config.h"

static char *dir;

static int setup(void **state) {
        dir = test_tmpdir();
        return 0;
}
static int teardown(void **state) {
        test_rm_rf(dir);
        return 0;
}

/* Loads DIR/host.toml; returns the config (NULL on failure, with *error set). */
static Config *load(char **error) {
        char path[4096];
        snprintf(path, sizeof path, "%s/host.toml", dir);
        Config *c = NULL;
        int r = config_load(path, &c, error);
        if (r < 0)
                return NULL;
        assert_null(*error);
        return c;
}

/* The lines of a config_load() message (malloc'd copies), NULL-terminated. */
static char **lines(const char *text, size_t *ret_n) {
        size_t n = 0;
        char **v = calloc(1, sizeof(char *));
        assert_non_null(v);
        for (const char *p = text; p && *p;) {
                size_t l = strcspn(p, "\n");
                v = realloc(v, (n + 2) * sizeof(char *));
                assert_non_null(v);
                v[n++] = strndup(p, l);
                v[n] = NULL;
                p += l + (p[l] == '\n');
        }
        *ret_n = n;
        return v;
}

static void lines_free(char **v) {
        for (size_t i = 0; v[i]; i++)
                free(v[i]);
        free(v);
}

/* Expects failure and one message (one line of the error) containing every
 * given fragment. */
static void expect_error(const char *const *fragments) {
        char *error = NULL;
        Config *c = load(&error);
        if (c) {
                config_free(c);
                fail_msg("expected an error containing \"%s\"", fragments[0]);
        }
        assert_non_null(error);
        size_t n;
        char **m = lines(error, &n);
        bool found = false;
        for (size_t i = 0; i < n && !found; i++) {
                bool all = true;
                for (const char *const *f = fragments; *f; f++)
                        all = all && strstr(m[i], *f);
                found = all;
        }
        if (!found) {
                for (size_t i = 0; i < n; i++)
                        print_message("got: %s\n", m[i]);
                fail_msg("no message contains all of \"%s\"…", fragments[0]);
        }
        lines_free(m);
        free(error);
}
#define EXPECT_ERROR(...) expect_error((const char *const[]) { __VA_ARGS__, NULL })

static void test_server_example(void **state) {
        const char *src = getenv("SRCDIR");
        char path[4096];
        snprintf(path, sizeof path, "%s/examples/server.toml", src ? src : ".");
        char *error = NULL;
        Config *c = NULL;
        assert_int_equal(config_load(path, &c, &error), 0);
        assert_null(error);
        assert_string_equal(config_string(c, "disk.swap-size"), "8G");
        assert_int_equal(config_size(c, "disk.swap-size"), 8ull << 30);
        assert_int_equal(config_size(c, "disk.esp-size"), 1ull << 30);
        assert_int_equal(config_size(c, "disk.credstore-size"), 100ull << 20);
        assert_string_equal(config_string(c, "disk.pool"), "rpool");
        assert_string_equal(config_string(c, "disk.encryption"), "aes-256-gcm");
        assert_string_equal(config_string(c, "disk.compression"), "zstd");
        assert_int_equal(config_int(c, "disk.ashift"), 12);
        assert_string_equal(config_string(c, "host.role"), "server");
        assert_string_equal(config_string(c, "boot.kernel"), "cloud");
        assert_true(config_bool(c, "secure-boot.enable"));
        assert_true(config_bool(c, "tpm.enable"));
        const ConfigNode *pcrs = config_get(c, "tpm.pcrs");
        assert_non_null(pcrs);
        assert_int_equal(pcrs->n_items, 2);
        assert_int_equal(pcrs->items[0]->i, 1);
        assert_int_equal(pcrs->items[1]->i, 7);
        assert_string_equal(config_string(c, "disk.datasets.crypt/home.mountpoint"), "/home");
        const ConfigNode *ds = config_get(c, "disk.datasets");
        assert_int_equal(ds->n_items, 4);
        assert_string_equal(ds->items[3]->name, "crypt/home");
        assert_string_equal(ds->items[3]->items[0]->s, "/home");
        assert_string_equal(config_string(c, "users.admin.shell"), "/bin/bash");
        /* the origin of a module's value is the module file */
        const ConfigNode *role = config_get(c, "host.role");
        assert_string_equal(role->origin.file, "modules/server.toml");
        assert_true(role->origin.line > 0);
        /* defaults have no origin file */
        assert_null(config_get(c, "disk.swap-size")->origin.file);
        assert_string_equal(c->files[c->n_files - 1], path);
        config_free(c);
}

static void test_host_overrides_module(void **state) {
        test_write(dir, "a.toml", "[host]\ntime-zone = \"Europe/Paris\"\nrole = \"workstation\"\n");
        test_write(dir, "host.toml",
                   "imports = [\"./a.toml\", \"server\"]\n[host]\nname = \"h\"\ntime-zone = \"UTC\"\nrole = \"server\"\n");
        char *d = NULL;
        Config *c = load(&d);
        assert_non_null(c);
        assert_string_equal(config_string(c, "host.time-zone"), "UTC");
        const ConfigNode *tz = config_get(c, "host.time-zone");
        assert_int_equal(tz->origin.line, 4);
        assert_int_equal(tz->origin.column, 13);
        config_free(c);
}

static void test_importer_overrides_its_imports(void **state) {
        /* a.toml imports the server module and overrides its role: no conflict */
        test_write(dir, "a.toml", "imports = [\"server\"]\n[host]\nrole = \"workstation\"\n");
        test_write(dir, "host.toml", "imports = [\"./a.toml\"]\n[host]\nname = \"h\"\n");
        char *d = NULL;
        Config *c = load(&d);
        assert_non_null(c);
        assert_string_equal(config_string(c, "host.role"), "workstation");
        config_free(c);
}

static void test_conflict_between_imports(void **state) {
        test_write(dir, "a.toml", "[host]\ntime-zone = \"Europe/Paris\"\n");
        test_write(dir, "b.toml", "\n[host]\ntime-zone = \"Asia/Tokyo\"\n");
        test_write(dir, "host.toml", "imports = [\"./a.toml\", \"./b.toml\"]\n[host]\nname = \"h\"\n");
        EXPECT_ERROR("b.toml:3:13: host.time-zone: conflicting definitions", "\"Asia/Tokyo\"",
                     "\"Europe/Paris\" at ", "a.toml:2:13");
        /* the host file settles it */
        test_write(dir, "host.toml",
                   "imports = [\"./a.toml\", \"./b.toml\"]\n[host]\nname = \"h\"\ntime-zone = \"UTC\"\n");
        char *d = NULL;
        Config *c = load(&d);
        assert_non_null(c);
        assert_string_equal(config_string(c, "host.time-zone"), "UTC");
        config_free(c);
        /* agreeing definitions are no conflict */
        test_write(dir, "b.toml", "[host]\ntime-zone = \"Europe/Paris\"\n");
        test_write(dir, "host.toml", "imports = [\"./a.toml\", \"./b.toml\"]\n[host]\nname = \"h\"\n");
        c = load(&d);
        assert_non_null(c);
        assert_string_equal(config_string(c, "host.time-zone"), "Europe/Paris");
        config_free(c);
}

static void test_lists_concatenate_in_import_order(void **state) {
        test_write(dir, "c.toml", "[host]\npackages = [\"c1\"]\n");
        test_write(dir, "a.toml", "imports = [\"./c.toml\"]\n[host]\npackages = [\"a1\", \"a2\"]\n");
        test_write(dir, "b.toml", "imports = [\"./c.toml\"]\n[host]\npackages = [\"b1\", \"a1\"]\n");
        test_write(dir, "host.toml",
                   "imports = [\"./a.toml\", \"./b.toml\"]\n[host]\nname = \"h\"\npackages = [\"h1\"]\n"
                   "[users.x]\ngroups = [\"g1\"]\n");
        char *d = NULL;
        Config *c = load(&d);
        assert_non_null(c);
        const ConfigNode *p = config_get(c, "host.packages");
        const char *want[] = { "c1", "a1", "a2", "b1", "h1" }; /* c once (diamond), a1 once (unique) */
        assert_int_equal(p->n_items, 5);
        for (size_t i = 0; i < 5; i++)
                assert_string_equal(p->items[i]->s, want[i]);
        assert_int_equal(c->n_files, 4);
        config_free(c);
}

static void test_tables_merge(void **state) {
        test_write(dir, "a.toml", "[users.alice]\ngroups = [\"sudo\"]\n[disk.datasets.\"crypt/srv\"]\nmountpoint = \"/srv\"\n");
        test_write(dir, "host.toml",
                   "imports = [\"./a.toml\", \"disk-single-root\"]\n[host]\nname = \"h\"\n"
                   "[users.alice]\nshell = \"/bin/zsh\"\n[users.bob]\n");
        char *d = NULL;
        Config *c = load(&d);
        assert_non_null(c);
        assert_string_equal(config_string(c, "users.alice.shell"), "/bin/zsh");
        assert_string_equal(config_get(c, "users.alice.groups")->items[0]->s, "sudo");
        assert_string_equal(config_string(c, "users.bob.shell"), "/bin/bash");
        assert_int_equal(config_get(c, "disk.datasets")->n_items, 5);
        config_free(c);
}

static void test_unknown_option(void **state) {
        test_write(dir, "host.toml", "[host]\nname = \"h\"\n\n[disk]\nswap-szie = \"8G\"\n");
        EXPECT_ERROR("host.toml:5:1: unknown option `disk.swap-szie`; did you mean `disk.swap-size`?");
        test_write(dir, "host.toml", "swap-size = \"8G\"\n[host]\nname = \"h\"\n");
        EXPECT_ERROR("host.toml:1:1: unknown option `swap-size`; did you mean `disk.swap-size`?");
        test_write(dir, "host.toml", "[host]\nname = \"h\"\n[users.al]\nshel = \"/bin/sh\"\n");
        EXPECT_ERROR("host.toml:4:1: unknown option `users.al.shel`; did you mean `users.al.shell`?");
        test_write(dir, "host.toml", "[host]\nname = \"h\"\nzzzzzzzzzz = 1\n");
        EXPECT_ERROR("host.toml:3:1: unknown option `host.zzzzzzzzzz`; `keystone options host` lists");
}

static void test_wrong_type_and_range(void **state) {
        test_write(dir, "host.toml", "[host]\nname = \"h\"\n[disk]\nswap-size = 8\n");
        EXPECT_ERROR("host.toml:4:13: disk.swap-size: a size is a string with a unit", "\"8G\"");
        test_write(dir, "host.toml", "[host]\nname = \"h\"\n[disk]\nswap-size = \"8 gigs\"\n");
        EXPECT_ERROR("host.toml:4:13: disk.swap-size: \"8 gigs\"");
        test_write(dir, "host.toml", "[host]\nname = \"h\"\n[disk]\ncredstore-size = \"32M\"\n");
        EXPECT_ERROR("host.toml:4:18: disk.credstore-size: \"32M\": the credstore needs at least 64M");
        test_write(dir, "host.toml", "[host]\nname = \"h\"\n[disk]\nesp-size = \"32M\"\n");
        EXPECT_ERROR("host.toml:4:12: disk.esp-size: \"32M\": the ESP needs at least 64M");
        test_write(dir, "host.toml", "[host]\nname = \"h\"\n[ssh]\nport = 70000\n");
        EXPECT_ERROR("host.toml:4:8: ssh.port: 70000 is out of range; use a value from 1 to 65535");
        test_write(dir, "host.toml", "[host]\nname = \"h\"\n[ssh]\nenable = \"yes\"\n");
        EXPECT_ERROR("host.toml:4:10: ssh.enable: expected true or false, got a string");
        test_write(dir, "host.toml", "[host]\nname = \"h\"\nrole = \"desktop\"\n");
        EXPECT_ERROR("host.toml:3:8: host.role: \"desktop\" is not allowed; use one of \"server\", \"workstation\"");
        test_write(dir, "host.toml", "[host]\nname = \"h\"\n[tpm]\npcrs = [1, 24]\n");
        EXPECT_ERROR("host.toml:4:12: tpm.pcrs[1]: 24 is out of range");
        test_write(dir, "host.toml", "[host]\nname = \"h\"\n[tpm]\npcrs = 7\n");
        EXPECT_ERROR("host.toml:4:8: tpm.pcrs: expected a list");
        test_write(dir, "host.toml", "host = 1\n");
        EXPECT_ERROR("host.toml:1:8: host: expected a table");
        test_write(dir, "host.toml", "[host]\nname = \"h\"\n[users.Alice]\n");
        EXPECT_ERROR("host.toml:3:8: users: invalid name \"Alice\"");
        test_write(dir, "host.toml", "[host]\nname = \"h\"\n[users.a]\nssh-keys = [\"ssh-ed25519 AAAA\"]\n");
        EXPECT_ERROR("host.toml:4:13: users.a.ssh-keys[0]");
        test_write(dir, "host.toml", "[host]\nname = \"h.example\"\n");
        EXPECT_ERROR("host.toml:2:8: host.name: \"h.example\": a host name has only");
        test_write(dir, "host.toml", "[host]\nname = \"h\"\n[users.a]\nshell = \"bash\"\n");
        EXPECT_ERROR("host.toml:4:9: users.a.shell: \"bash\": a path here is absolute");
}

static void test_missing_required(void **state) {
        test_write(dir, "host.toml", "imports = [\"server\"]\n");
        EXPECT_ERROR("host.toml:1:1: missing required option `host.name`", "[host] name = ");
}

static void test_imports_errors(void **state) {
        test_write(dir, "host.toml", "imports = [\"sever\"]\n[host]\nname = \"h\"\n");
        EXPECT_ERROR("host.toml:1:12: imports: unknown module `sever`; did you mean `server`?");
        test_write(dir, "host.toml", "imports = [\"./nope.toml\"]\n[host]\nname = \"h\"\n");
        EXPECT_ERROR("host.toml:1:12: imports: cannot read \"./nope.toml\"");
        test_write(dir, "a.toml", "imports = [\"./b.toml\"]\n");
        test_write(dir, "b.toml", "\nimports = [\"./a.toml\"]\n");
        test_write(dir, "host.toml", "imports = [\"./a.toml\"]\n[host]\nname = \"h\"\n");
        EXPECT_ERROR("b.toml:2:12: imports: cyclic import: ", "a.toml → ", "b.toml → ");
        test_write(dir, "host.toml", "imports = [\"./host.toml\"]\n[host]\nname = \"h\"\n");
        EXPECT_ERROR("host.toml:1:12: imports: cyclic import");
        test_write(dir, "host.toml", "imports = \"server\"\n[host]\nname = \"h\"\n");
        EXPECT_ERROR("host.toml:1:11: imports: expected a list");
        test_write(dir, "a.toml", "[host\n");
        test_write(dir, "host.toml", "imports = [\"./a.toml\"]\n[host]\nname = \"h\"\n");
        EXPECT_ERROR("a.toml:1:", "invalid TOML");
        /* imports stay below the host file's directory and are .toml files:
         * nothing else on the machine is read (and echoed in a message) */
        test_write(dir, "host.toml", "\nimports = [\"/etc/passwd\"]\n[host]\nname = \"h\"\n");
        EXPECT_ERROR("host.toml:2:12: imports: refusing \"/etc/passwd\" (/etc/passwd): outside the host file's directory");
        test_write(dir, "host.toml", "imports = [\"../../../../../../../../etc/hostname\"]\n[host]\nname = \"h\"\n");
        EXPECT_ERROR("host.toml:1:12: imports: refusing", "outside the host file's directory");
        test_write(dir, "notes.txt", "secret = \"do not echo\"\n");
        test_write(dir, "host.toml", "imports = [\"./notes.txt\"]\n[host]\nname = \"h\"\n");
        EXPECT_ERROR("host.toml:1:12: imports: refusing \"./notes.txt\"", "not a .toml file");
        char sub[4200];
        snprintf(sub, sizeof sub, "%s/sub", dir);
        assert_int_equal(mkdir(sub, 0700), 0);
        test_write(dir, "sub/b.toml", "imports = [\"../host.toml\"]\n");
        test_write(dir, "host.toml", "imports = [\"./sub/b.toml\"]\n[host]\nname = \"h\"\n");
        EXPECT_ERROR("b.toml:1:12: imports: cyclic import"); /* ../ back to the host file's directory is below it */
        /* a FIFO is refused at once instead of blocking */
        char fifo[4200];
        snprintf(fifo, sizeof fifo, "%s/fifo.toml", dir);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        test_write(dir, "host.toml", "imports = [\"./fifo.toml\"]\n[host]\nname = \"h\"\n");
        EXPECT_ERROR("host.toml:1:12: imports: cannot read", "fifo.toml: not a regular file");
}

static void test_missing_host_file(void **state) {
        char *error = NULL;
        Config *c = NULL;
        assert_int_equal(config_load("/nonexistent/host.toml", &c, &error), -ENOENT);
        size_t n;
        char **m = lines(error, &n);
        assert_int_equal(n, 1);
        assert_non_null(strstr(m[0], "/nonexistent/host.toml: cannot read the host file"));
        lines_free(m);
        free(error);
}

/* the `base` module alone: what the image builder adds to every host */
static void test_load_module(void **state) {
        Config *c = NULL;
        char *error = NULL;
        assert_int_equal(config_load_module("base", &c, &error), 0);
        assert_null(error);
        const ConfigNode *p = config_get(c, "host.packages");
        assert_non_null(p);
        const char *want[] = { "systemd-sysv", "udev", "dbus", "openssh-server", "iproute2", "tpm2-tools" };
        assert_int_equal(p->n_items, 6);
        for (size_t i = 0; i < 6; i++)
                assert_string_equal(p->items[i]->s, want[i]);
        assert_null(config_string(c, "host.name")); /* required of host files, not of a module */
        config_free(c);
        assert_int_equal(config_load_module("no-such-module", &c, &error), -EINVAL);
        assert_non_null(error);
        assert_non_null(strstr(error, "unknown module `no-such-module`"));
        free(error);
}

static void test_every_default_fits_its_type(void **state) {
        /* a host file with only the required option gets every default */
        test_write(dir, "host.toml", "[host]\nname = \"h\"\n");
        char *d = NULL;
        Config *c = load(&d);
        assert_non_null(c);
        assert_string_equal(config_string(c, "disk.swap-size"), "8G");
        assert_int_equal(config_int(c, "ssh.port"), 22);
        assert_false(config_bool(c, "ssh.password-authentication"));
        assert_true(config_bool(c, "tpm.bind-pcr15"));
        assert_null(config_string(c, "disk.device"));
        config_free(c);
}

static void test_size_parse(void **state) {
        uint64_t v;
        assert_int_equal(size_parse("8G", &v), 0);
        assert_int_equal(v, 8ull << 30);
        assert_int_equal(size_parse("100M", &v), 0);
        assert_int_equal(v, 100ull << 20);
        assert_int_equal(size_parse("4096", &v), 0);
        assert_int_equal(v, 4096);
        assert_int_equal(size_parse("2GiB", &v), 0);
        assert_int_equal(v, 2ull << 30);
        assert_int_equal(size_parse("0", &v), 0);
        assert_int_equal(size_parse("G", &v), -EINVAL);
        assert_int_equal(size_parse("-1G", &v), -EINVAL);
        assert_int_equal(size_parse("1.5G", &v), -EINVAL);
        assert_int_equal(size_parse("8g", &v), -EINVAL);
        assert_int_equal(size_parse("99999999999T", &v), -ERANGE);
        assert_int_equal(size_parse("99999999999999999999999", &v), -ERANGE);
}

static void test_edit_distance(void **state) {
        assert_int_equal(edit_distance("swap-size", "swap-szie", 5), 2);
        assert_int_equal(edit_distance("abc", "abc", 5), 0);
        assert_int_equal(edit_distance("", "abc", 5), 3);
        assert_int_equal(edit_distance("a", "abcdefgh", 2), 3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_server_example),
                cmocka_unit_test_setup_teardown(test_host_overrides_module, setup, teardown),
                cmocka_unit_test_setup_teardown(test_importer_overrides_its_imports, setup, teardown),
                cmocka_unit_test_setup_teardown(test_conflict_between_imports, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lists_concatenate_in_import_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tables_merge, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_option, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wrong_type_and_range, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_required, setup, teardown),
                cmocka_unit_test_setup_teardown(test_imports_errors, setup, teardown),
                cmocka_unit_test(test_missing_host_file),
                cmocka_unit_test(test_load_module),
                cmocka_unit_test_setup_teardown(test_every_default_fits_its_type, setup, teardown),
                cmocka_unit_test(test_size_parse),
                cmocka_unit_test(test_edit_distance),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
