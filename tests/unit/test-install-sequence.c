/* SPDX-License-Identifier: MIT */
/* install/sequence.h against a target that records each command and
 * answers as a script says: the commands each step runs, in which role and
 * in which order; the secret travels on stdin and stdout only, never in an
 * argv; a step stops at the first failure and says which command failed;
 * the Secure Boot keys are removed from the installer even when enroll
 * fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "install/sequence.h"
#include "util/error-message.h"
#include "util/shell-quote.h"

#define SECRET "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct Fake {
        char log[8192];                 /* "I: line\n" / "M: line\n" for each command */
        char stdin_seen[8192];          /* every stdin, concatenated */
        const char *fail_on;            /* a command line containing this fails (exit 1) */
        const char *secret_out;         /* what `cat /root/credstore.secret` prints */
        const char *status_out;         /* what `keystone secureboot status` prints */
} Fake;

static int fake_run(InstallTarget *t, InstallRole role, const char *const argv[], const void *input,
                    size_t input_size, int timeout_ms, bool log_output, RunResult *ret, char **ret_error) {
        Fake *f = t->userdata;
        char *line = shell_join(argv);
        assert_non_null(line);
        size_t n = strlen(f->log);
        snprintf(f->log + n, sizeof f->log - n, "%c: %s\n", role == INSTALL_ROLE_MACHINE ? 'M' : 'I', line);
        if (input) {
                n = strlen(f->stdin_seen);
                size_t k = input_size < sizeof f->stdin_seen - n - 1 ? input_size : sizeof f->stdin_seen - n - 1;
                /* a tar holds NULs: keep what is text */
                for (size_t i = 0; i < k; i++)
                        f->stdin_seen[n + i] = ((const char *) input)[i] ? ((const char *) input)[i] : '.';
                f->stdin_seen[n + k] = 0;
        }
        const char *out = "";
        if (strstr(line, "cat /root/credstore.secret"))
                out = f->secret_out;
        else if (strstr(line, "secureboot status"))
                out = f->status_out;
        else if (strstr(line, "tpm recovery"))
                out = "cbdefghi-jklnrtuv-cbdefghi-jklnrtuv-cbdefghi-jklnrtuv-cbdefghi-jklnrtuv\n";
        int r = 0;
        if (f->fail_on && strstr(line, f->fail_on))
                r = error_set(ret_error, -EPROTO, "`%s` failed: exited 1", line);
        if (ret) {
                *ret = (RunResult) {};
                ret->out = strdup(out);
                ret->out_size = strlen(out);
        }
        free(line);
        return r;
}

static const InstallTargetOps fake_ops = { .run = fake_run };

static char keys_dir[] = "/tmp/test-install-seq-XXXXXX";

static InstallSeq seq(Fake *f, InstallTarget *t) {
        *t = (InstallTarget) { .ops = &fake_ops, .name = "the fake", .log_path = NULL, .userdata = f };
        return (InstallSeq) { .target = t, .host = "/run/media/host/h.toml", .generation = "/run/media/generation",
                              .device = "/dev/vdb", .keys_dir = keys_dir, .pool = "rpool", .pcrs = "1+7" };
}

static void test_disk(void **state) {
        Fake f = { .secret_out = SECRET "\n" };
        InstallTarget t;
        InstallSeq s = seq(&f, &t);
        char *secret = NULL, *err = NULL;
        assert_int_equal(install_seq_disk(&s, &secret, &err), 0);
        assert_string_equal(secret, SECRET);
        assert_string_equal(f.log, "I: keystone disk apply /run/media/host/h.toml --device /dev/vdb --yes "
                                   "--credstore-new-key-file /root/credstore.secret\n"
                                   "I: cat /root/credstore.secret\n");
        free(secret);

        /* what comes back must be a secret, else nothing is returned */
        Fake g = { .secret_out = "keystone: no such file\n" };
        s = seq(&g, &t);
        secret = NULL;
        assert_int_equal(install_seq_disk(&s, &secret, &err), -EBADMSG);
        assert_null(secret);
        assert_non_null(strstr(err, "not 64 hex digits"));
        free(err);
        err = NULL;

        /* apply fails: nothing else runs */
        Fake h = { .secret_out = SECRET, .fail_on = "disk apply" };
        s = seq(&h, &t);
        assert_int_equal(install_seq_disk(&s, &secret, &err), -EPROTO);
        assert_null(strstr(h.log, "cat "));
        free(err);
}

static void test_generation(void **state) {
        Fake f = {};
        InstallTarget t;
        InstallSeq s = seq(&f, &t);
        char *err = NULL;
        assert_int_equal(install_seq_generation(&s, &err), 0);
        assert_string_equal(f.log, "I: keystone disk install /run/media/host/h.toml --from /run/media/generation "
                                   "--device /dev/vdb --credstore-key-file /root/credstore.secret --no-tpm\n");
}

static void test_secure_boot(void **state) {
        Fake f = { .status_out = "SecureBoot: disabled\nSetupMode: 0 (user mode)\n" };
        InstallTarget t;
        InstallSeq s = seq(&f, &t);
        char *err = NULL;
        assert_int_equal(install_seq_secure_boot(&s, &err), 0);
        assert_string_equal(f.log, "I: sh -c 'umask 077 && mkdir -p \"$1\" && tar -x -C \"$1\"' sh /run/keystone-sb\n"
                                   "I: keystone secureboot enroll --force --dir /run/keystone-sb\n"
                                   "I: rm -rf /run/keystone-sb /root/credstore.secret\n"
                                   "I: keystone secureboot status\n");
        /* the keys went on stdin, as a tar of the key directory */
        assert_non_null(strstr(f.stdin_seen, "PK.key"));

        /* enroll fails: the keys are removed all the same, its error is the one returned */
        Fake g = { .status_out = "", .fail_on = "secureboot enroll" };
        s = seq(&g, &t);
        assert_int_equal(install_seq_secure_boot(&s, &err), -EPROTO);
        assert_non_null(strstr(g.log, "I: rm -rf /run/keystone-sb"));
        assert_non_null(strstr(err, "secureboot enroll"));
        free(err);
        err = NULL;

        /* still in setup mode afterwards: refused */
        Fake h = { .status_out = "SetupMode: 1 (setup mode)\n" };
        s = seq(&h, &t);
        assert_int_equal(install_seq_secure_boot(&s, &err), -EIO);
        assert_non_null(strstr(err, "not in user mode"));
        free(err);
}

static void test_enroll(void **state) {
        Fake f = {};
        InstallTarget t;
        InstallSeq s = seq(&f, &t);
        InstallEnrolled en = {};
        char *err = NULL;
        assert_int_equal(install_seq_enroll(&s, SECRET, &en, &err), 0);
        assert_string_equal(en.recovery_key, "cbdefghi-jklnrtuv-cbdefghi-jklnrtuv-cbdefghi-jklnrtuv-cbdefghi-jklnrtuv");
        free(en.recovery_key);
        assert_string_equal(f.log,
                "M: sh -c 'umask 077 && cat > \"$1\"' sh /run/keystone-credstore.secret\n"
                "M: sh -c 'cat /run/motd.d/keystone-protection 2>/dev/null || true'\n"
                "M: keystone tpm enroll /dev/zvol/rpool/credstore --unlock-key-file=/run/keystone-credstore.secret "
                "--pcrs=1+7 --pcr15\n"
                "M: keystone tpm recovery /dev/zvol/rpool/credstore --unlock-key-file=/run/keystone-credstore.secret\n"
                "M: keystone tpm wipe /dev/zvol/rpool/credstore --slot=install-secret\n"
                "M: sh -c 'shred -z -u \"$1\" && test ! -e \"$1\"' sh /run/keystone-credstore.secret\n"
                "M: keystone tpm banner /dev/zvol/rpool/credstore\n");
        /* the secret only on stdin */
        assert_null(strstr(f.log, SECRET));
        assert_string_equal(f.stdin_seen, SECRET);

        /* tpm.enable = false: no enrollment, the secret's keyslot kept */
        Fake g = {};
        s = seq(&g, &t);
        s.tpm_disabled = true;
        en = (InstallEnrolled) {};
        assert_int_equal(install_seq_enroll(&s, SECRET, &en, &err), 0);
        free(en.recovery_key);
        assert_null(strstr(g.log, "tpm enroll"));
        assert_null(strstr(g.log, "tpm wipe"));
        assert_non_null(strstr(g.log, "tpm recovery"));

        /* enroll fails: no recovery key is made, nothing wiped */
        Fake h = { .fail_on = "tpm enroll" };
        s = seq(&h, &t);
        en = (InstallEnrolled) {};
        assert_int_equal(install_seq_enroll(&s, SECRET, &en, &err), -EPROTO);
        assert_null(en.recovery_key);
        assert_null(strstr(h.log, "tpm wipe"));
        free(err);
}

int main(void) {
        assert_non_null(mkdtemp(keys_dir));
        char path[sizeof keys_dir + 16];
        snprintf(path, sizeof path, "%s/PK.key", keys_dir);
        FILE *k = fopen(path, "we");
        fputs("not a real key\n", k);
        fclose(k);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_disk),
                cmocka_unit_test(test_generation),
                cmocka_unit_test(test_secure_boot),
                cmocka_unit_test(test_enroll),
        };
        int r = cmocka_run_group_tests(tests, NULL, NULL);
        unlink(path);
        rmdir(keys_dir);
        return r;
}
