/* SPDX-License-Identifier: MIT */
/* util/fs.h: mkdir_p/mkdir_parents (modes, what is accepted and what is
 * refused), PATHF, read_file_text/read_first_line; read_fd_bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/macro.h"

static char base[] = "/tmp/keystone-test-fs.XXXXXX";

static int setup(void **state) {
        umask(022);
        return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state) {
        const char *argv[] = { "rm", "-rf", base, NULL };
        pid_t pid = fork();
        if (pid == 0) {
                execvp(argv[0], (char *const *) argv);
                _exit(127);
        }
        int status;
        waitpid(pid, &status, 0);
        return 0;
}

static mode_t mode_of(const char *p) {
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        return st.st_mode & 07777;
}

static void test_mkdir_p_makes_parents_with_mode(void **state) {
        char p[512], q[512];
        snprintf(p, sizeof p, "%s/a/b/c", base);
        char *error = NULL;
        assert_int_equal(mkdir_p(p, 0700, &error), 0);
        assert_null(error);
        assert_int_equal(mode_of(p), 0700);
        snprintf(q, sizeof q, "%s/a", base);
        assert_int_equal(mode_of(q), 0700); /* every directory made gets the mode */
        snprintf(q, sizeof q, "%s/a/b", base);
        assert_int_equal(mode_of(q), 0700);
        /* the umask applies, as for mkdir(2) */
        snprintf(p, sizeof p, "%s/wide", base);
        assert_int_equal(mkdir_p(p, 0777, NULL), 0);
        assert_int_equal(mode_of(p), 0755);
}

static void test_mkdir_p_accepts_existing(void **state) {
        char p[512], l[512];
        snprintf(p, sizeof p, "%s/exists", base);
        assert_int_equal(mkdir(p, 0750), 0);
        /* already there: 0, mode left as it was */
        assert_int_equal(mkdir_p(p, 0700, NULL), 0);
        assert_int_equal(mode_of(p), 0750);
        /* trailing and doubled slashes */
        snprintf(p, sizeof p, "%s//exists//deeper/", base);
        assert_int_equal(mkdir_p(p, 0755, NULL), 0);
        snprintf(p, sizeof p, "%s/exists/deeper", base);
        assert_int_equal(mode_of(p), 0755);
        /* a link to a directory is a directory */
        snprintf(l, sizeof l, "%s/link", base);
        snprintf(p, sizeof p, "%s/exists", base);
        assert_int_equal(symlink(p, l), 0);
        snprintf(p, sizeof p, "%s/link/through", base);
        assert_int_equal(mkdir_p(p, 0755, NULL), 0);
        snprintf(p, sizeof p, "%s/exists/through", base);
        assert_int_equal(mode_of(p), 0755);
        assert_int_equal(mkdir_p("/", 0755, NULL), 0);
}

static void test_mkdir_p_refuses_file_in_the_way(void **state) {
        char f[512], p[512];
        snprintf(f, sizeof f, "%s/plain", base);
        int fd = open(f, O_WRONLY | O_CREAT | O_EXCL, 0644);
        assert_true(fd >= 0);
        close(fd);
        char *error = NULL;
        /* the file is the directory asked for */
        assert_int_equal(mkdir_p(f, 0755, &error), -ENOTDIR);
        assert_non_null(error);
        assert_non_null(strstr(error, f));
        free(error);
        error = NULL;
        /* the file is a parent: its path is named, not the one asked for */
        snprintf(p, sizeof p, "%s/plain/below/deeper", base);
        assert_int_equal(mkdir_p(p, 0755, &error), -ENOTDIR);
        assert_non_null(error);
        assert_non_null(strstr(error, f));
        assert_null(strstr(error, "below"));
        free(error);
        /* without ret_error: the errno alone */
        assert_int_equal(mkdir_p(p, 0755, NULL), -ENOTDIR);
        assert_int_equal(mkdir_p("", 0755, NULL), -EINVAL);
}

static void test_mkdir_p_reports_errno_with_path(void **state) {
        /* a name longer than NAME_MAX: mkdir(2)'s own errno, path in the message */
        char p[1024], name[300];
        memset(name, 'n', sizeof name - 1);
        name[sizeof name - 1] = 0;
        snprintf(p, sizeof p, "%s/%s/below", base, name);
        char *error = NULL;
        assert_int_equal(mkdir_p(p, 0755, &error), -ENAMETOOLONG);
        assert_non_null(error);
        assert_non_null(strstr(error, name));
        free(error);
        if (geteuid() == 0)
                return; /* root writes anywhere: no EACCES to see */
        char ro[512];
        snprintf(ro, sizeof ro, "%s/readonly", base);
        assert_int_equal(mkdir(ro, 0555), 0);
        snprintf(p, sizeof p, "%s/sub", ro);
        error = NULL;
        assert_int_equal(mkdir_p(p, 0755, &error), -EACCES);
        assert_non_null(strstr(error, p));
        free(error);
        chmod(ro, 0755);
}

static void test_mkdir_parents(void **state) {
        char p[512], d[512];
        snprintf(p, sizeof p, "%s/par/ent/file.txt", base);
        assert_int_equal(mkdir_parents(p, 0711, NULL), 0);
        snprintf(d, sizeof d, "%s/par/ent", base);
        assert_int_equal(mode_of(d), 0711);
        struct stat st;
        assert_int_equal(stat(p, &st), -1); /* the last component is not made */
        assert_int_equal(errno, ENOENT);
        assert_int_equal(mkdir_parents("no-slash", 0755, NULL), 0);
        assert_int_equal(access("no-slash", F_OK), -1);
        assert_int_equal(mkdir_parents("/top-level", 0755, NULL), 0);
}

static int pathf_into(char *out, size_t n, const char *a, const char *b) {
        char buf[16];
        PATHF(buf, "%s/%s", a, b);
        snprintf(out, n, "%s", buf);
        return 0;
}

static void test_pathf(void **state) {
        char out[64];
        assert_int_equal(pathf_into(out, sizeof out, "/ab", "cd"), 0);
        assert_string_equal(out, "/ab/cd");
        /* 15 characters fit a 16-byte buffer, 16 do not */
        assert_int_equal(pathf_into(out, sizeof out, "/abcdefghij", "klm"), 0);
        assert_string_equal(out, "/abcdefghij/klm");
        out[0] = 0;
        assert_int_equal(pathf_into(out, sizeof out, "/abcdefghij", "klmn"), -ENAMETOOLONG);
        assert_string_equal(out, ""); /* returned before anything used the cut path */
}

static void test_read_file_text(void **state) {
        char p[512];
        snprintf(p, sizeof p, "%s/text", base);
        FILE *f = fopen(p, "we");
        assert_non_null(f);
        fputs("6.1.0-28-amd64\nsecond line\n", f);
        fclose(f);
        char *t = NULL;
        size_t n = 0;
        assert_int_equal(read_file_text(p, 0, &t, &n), 0);
        assert_string_equal(t, "6.1.0-28-amd64\nsecond line\n");
        assert_int_equal(n, 27);
        free(t);
        assert_int_equal(read_file_text(p, 10, &t, NULL), -EFBIG);
        assert_int_equal(read_first_line(p, &t), 0);
        assert_string_equal(t, "6.1.0-28-amd64");
        free(t);
        assert_int_equal(read_first_line(base, &t), -EISDIR);
        snprintf(p, sizeof p, "%s/missing", base);
        assert_int_equal(read_first_line(p, &t), -ENOENT);
        assert_int_equal(read_file_text(p, 0, &t, NULL), -ENOENT);
}

static void test_read_fd_bytes_pipe(void **state) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        /* more than one read's worth, with a NUL inside */
        static char big[10000];
        memset(big, 'x', sizeof big);
        big[100] = 0;
        assert_int_equal(write(fds[1], big, sizeof big), (ssize_t) sizeof big);
        close(fds[1]);
        uint8_t *d = NULL;
        size_t n = 0;
        assert_int_equal(read_fd_bytes(fds[0], 0, &d, &n), 0);
        close(fds[0]);
        assert_int_equal(n, sizeof big);
        assert_memory_equal(d, big, sizeof big);
        assert_int_equal(d[n], 0);
        free(d);
        assert_int_equal(pipe(fds), 0);
        assert_int_equal(write(fds[1], big, sizeof big), (ssize_t) sizeof big);
        close(fds[1]);
        assert_int_equal(read_fd_bytes(fds[0], 9999, &d, &n), -EFBIG);
        close(fds[0]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_mkdir_p_makes_parents_with_mode),
                cmocka_unit_test(test_mkdir_p_accepts_existing),
                cmocka_unit_test(test_mkdir_p_refuses_file_in_the_way),
                cmocka_unit_test(test_mkdir_p_reports_errno_with_path),
                cmocka_unit_test(test_mkdir_parents),
                cmocka_unit_test(test_pathf),
                cmocka_unit_test(test_read_file_text),
                cmocka_unit_test(test_read_fd_bytes_pipe),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
