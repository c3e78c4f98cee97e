/* SPDX-License-Identifier: MIT */
/* install/ssh.h against a real OpenSSH server: /usr/sbin/sshd -D -e on
 * 127.0.0.1 at a free port, with its own host keys, config and
 * authorized_keys in a temporary directory.  Asserts what a remote install
 * relies on:
 *  - an unknown host is refused with its SHA256 fingerprint (as
 *    ssh-keygen -l prints it) and the --accept-new-host-key hint; accept-new
 *    records it (a line OpenSSH's ssh(1) accepts) and the next connect
 *    goes through without it; a changed host key is refused even with
 *    accept-new, with both fingerprints and the ssh-keygen -R line that,
 *    run, fixes it; a pinned key matches, a wrong one is refused;
 *  - -i key login; a key not authorized, a key with a passphrase, no key
 *    at all are refused with what to do; login through an ssh-agent;
 *  - a file name with spaces, quotes, $(...), ` and ; given in argv makes
 *    exactly that file, and nothing runs; stdin from a buffer and streamed
 *    (20 MiB from a file, 4 MiB from a pipe) arrives with the same bytes;
 *    stdin never reaches the log; exit status, signal and stderr come back;
 *    a timeout fires and kills the command; output is bounded;
 *  - upload lands atomically with its mode and content, leaves no
 *    temporary file, and refuses a directory that is not there;
 *  - a server that never answers times out, a closed port is refused.
 * Skips (77) only when sshd is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "install/ssh.h"
#include "util/clock.h"
#include "util/file-bytes.h"
#include "util/fs.h"
#include "util/run.h"
#include "util/sha256-file.h"
#include "util/spawn.h"

#define SSHD "/usr/sbin/sshd"

static char dir[] = "/tmp/keystone-test-ssh.XXXXXX";
static char user[64];
static int port;
static pid_t sshd_pid, agent_pid;
static char fp_host1[128], fp_host2[128];

static const char *path(const char *name) {
        static char buf[8][512];
        static int i;
        char *p = buf[i++ % 8];
        snprintf(p, 512, "%s/%s", dir, name);
        return p;
}

static void must_run(const char *const argv[]) {
        RunResult rr = {};
        int r = run(argv, NULL, &rr);
        if (r < 0)
                fail_msg("%s: %s", argv[0], r == -EPROTO ? run_result_describe(&rr) : strerror(-r));
        run_result_done(&rr);
}

static void keygen(const char *name, const char *passphrase) {
        const char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f", path(name),
                               NULL };
        must_run(argv);
}

/* the SHA256 fingerprint of a .pub as OpenSSH prints it */
static void fingerprint(const char *pub, char out[static 128]) {
        const char *argv[] = { "ssh-keygen", "-l", "-E", "sha256", "-f", pub, NULL };
        RunResult rr = {};
        assert_int_equal(run(argv, NULL, &rr), 0);
        assert_int_equal(sscanf(rr.out, "%*d %127s", out), 1);
        assert_non_null(strstr(out, "SHA256:"));
        run_result_done(&rr);
}

static int free_port(void) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof a;
        assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &l), 0);
        close(fd);
        return ntohs(a.sin_port);
}

/* waits for the SSH banner on the port */
static bool sshd_ready(void) {
        for (int i = 0; i < 100; i++) {
                int fd = socket(AF_INET, SOCK_STREAM, 0);
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                char b[8] = "";
                if (connect(fd, (struct sockaddr *) &a, sizeof a) == 0 && read(fd, b, 7) == 7 &&
                    !memcmp(b, "SSH-2.0", 7)) {
                        close(fd);
                        return true;
                }
                close(fd);
                usleep(100 * 1000);
        }
        return false;
}

static void sshd_start(const char *hostkey) {
        char p[16];
        snprintf(p, sizeof p, "%d", port);
        const char *argv[] = { SSHD, "-D", "-e", "-f", path("sshd_config"), "-h", path(hostkey), "-p", p, NULL };
        assert_int_equal(spawn_background(argv, &(SpawnOptions) { .log_path = path("sshd.log") }, &sshd_pid), 0);
        if (!sshd_ready()) {
                char *log = NULL;
                (void) read_file_text(path("sshd.log"), 0, &log, NULL);
                fail_msg("sshd did not come up: %s", log ? log : "(no log)");
        }
}

static void sshd_stop(void) {
        if (sshd_pid > 0)
                assert_int_equal(spawn_stop(sshd_pid, 5000), 0);
        sshd_pid = 0;
}

static SshTarget target(void) {
        char s[128];
        snprintf(s, sizeof s, "%s@127.0.0.1:%d", user, port);
        SshTarget t;
        char *e = NULL;
        assert_int_equal(ssh_target_parse(s, &t, &e), 0);
        return t;
}

/* ssh_client_connect() that must fail with R; returns the message */
static char *connect_fails(int r, const SshConnectOptions *o) {
        SshTarget t = target();
        SshClient *c = NULL;
        char *e = NULL;
        int k = ssh_client_connect(&t, o, &c, &e);
        if (k != r)
                fail_msg("connect gave %d (%s), want %d", k, e ? e : "-", r);
        assert_null(c);
        assert_non_null(e);
        return e;
}

static SshClient *connect_ok(const SshConnectOptions *o) {
        SshTarget t = target();
        SshClient *c = NULL;
        char *e = NULL;
        int r = ssh_client_connect(&t, o, &c, &e);
        if (r < 0)
                fail_msg("connect: %s", e);
        assert_null(e);
        assert_non_null(c);
        return c;
}

static void assert_contains(const char *s, const char *needle) {
        if (!strstr(s, needle))
                fail_msg("'%s' does not contain '%s'", s, needle);
}

static SshConnectOptions known(void) {
        return (SshConnectOptions) { .identity = path("user.key"), .known_hosts = path("known_hosts"),
                                     .connect_timeout_ms = 10000, .log_path = path("ssh.log") };
}

static int setup(void **state) {
        if (access(SSHD, X_OK) < 0) {
                printf("skip: no %s (package openssh-server)\n", SSHD);
                exit(77);
        }
        if (!mkdtemp(dir))
                return -1;
        struct passwd *pw = getpwuid(getuid());
        if (!pw)
                return -1;
        snprintf(user, sizeof user, "%s", pw->pw_name);
        unsetenv("SSH_AUTH_SOCK");
        /* sshd as root wants its privilege separation directory (the
         * package's service makes it at start) */
        if (getuid() == 0 && access("/run/sshd", F_OK) < 0 && mkdir("/run/sshd", 0755) < 0)
                return -1;
        keygen("host1", "");
        keygen("host2", "");
        keygen("user.key", "");
        keygen("agent.key", "");
        keygen("other.key", "");
        keygen("locked.key", "a passphrase");
        fingerprint(path("host1.pub"), fp_host1);
        fingerprint(path("host2.pub"), fp_host2);
        char *a = NULL, *b = NULL, *ak = NULL;
        assert_int_equal(read_file_text(path("user.key.pub"), 0, &a, NULL), 0);
        assert_int_equal(read_file_text(path("agent.key.pub"), 0, &b, NULL), 0);
        assert_true(asprintf(&ak, "%s%s", a, b) > 0);
        assert_int_equal(write_file_bytes_excl(path("authorized_keys"), ak, strlen(ak), 0600), 0);
        free(a), free(b), free(ak);
        char *conf = NULL;
        assert_true(asprintf(&conf,
                             "ListenAddress 127.0.0.1\n"
                             "PidFile %s/sshd.pid\n"
                             "AuthorizedKeysFile %s/authorized_keys\n"
                             "StrictModes no\n"
                             "UsePAM no\n"
                             "PubkeyAuthentication yes\n"
                             "PasswordAuthentication no\n"
                             "KbdInteractiveAuthentication no\n"
                             "PermitRootLogin prohibit-password\n"
                             "LogLevel VERBOSE\n",
                             dir, dir) > 0);
        assert_int_equal(write_file_bytes_excl(path("sshd_config"), conf, strlen(conf), 0600), 0);
        free(conf);
        port = free_port();
        sshd_start("host1");
        return 0;
}

static int teardown(void **state) {
        sshd_stop();
        if (agent_pid > 0)
                (void) spawn_stop(agent_pid, 5000);
        const char *argv[] = { "rm", "-rf", "--", dir, NULL };
        return run(argv, NULL, NULL) < 0 ? -1 : 0;
}

/* ---- host keys ---------------------------------------------------------- */

static void test_unknown_host_refused(void **state) {
        SshConnectOptions o = known();
        char *e = connect_fails(-EPERM, &o);
        assert_contains(e, fp_host1);
        assert_contains(e, "--accept-new-host-key");
        assert_contains(e, "not known");
        free(e);
        e = NULL;
        assert_int_equal(access(path("known_hosts"), F_OK), -1); /* nothing recorded */
}

static void test_accept_new_records(void **state) {
        SshConnectOptions o = known();
        o.accept_new_host_key = true;
        SshClient *c = connect_ok(&o);
        assert_string_equal(ssh_client_host_key_fingerprint(c), fp_host1);
        ssh_client_free(c);
        char *kh = NULL, *pub = NULL, want[256];
        assert_int_equal(read_file_text(path("known_hosts"), 0, &kh, NULL), 0);
        assert_int_equal(read_file_text(path("host1.pub"), 0, &pub, NULL), 0);
        char *space = strchr(strchr(pub, ' ') + 1, ' ');
        *space = 0; /* "ssh-ed25519 AAAA…" without the comment */
        snprintf(want, sizeof want, "[127.0.0.1]:%d %s\n", port, pub);
        assert_string_equal(kh, want);
        free(kh), free(pub);

        /* the second time without accept-new, and ssh(1) takes our line too */
        o.accept_new_host_key = false;
        ssh_client_free(connect_ok(&o));
        char p[16], who[128], ukh[600];
        snprintf(p, sizeof p, "%d", port);
        snprintf(who, sizeof who, "%s@127.0.0.1", user);
        snprintf(ukh, sizeof ukh, "UserKnownHostsFile=%s", path("known_hosts"));
        const char *argv[] = { "ssh", "-F", "/dev/null", "-p", p, "-i", path("user.key"), "-o", "IdentitiesOnly=yes",
                               "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", ukh,
                               "-o", "GlobalKnownHostsFile=/dev/null", who, "true", NULL };
        must_run(argv);
}

static void test_pinned(void **state) {
        SshConnectOptions o = known();
        o.known_hosts = path("never-made");
        o.pinned_host_key = path("host1.pub");
        SshClient *c = connect_ok(&o);
        assert_string_equal(ssh_client_host_key_fingerprint(c), fp_host1);
        ssh_client_free(c);
        o.pinned_host_key = path("host2.pub");
        char *e = connect_fails(-EKEYREJECTED, &o);
        assert_contains(e, fp_host1);
        assert_contains(e, fp_host2);
        assert_contains(e, path("host2.pub"));
        free(e);
        e = NULL;
        assert_int_equal(write_file_bytes_excl(path("garbage.pub"), "ssh-ed25519 AAAAnotbase64!\n", 27, 0644), 0);
        o.pinned_host_key = path("garbage.pub");
        free(connect_fails(-EINVAL, &o));
        assert_int_equal(access(path("never-made"), F_OK), -1);
}

/* last of the host key tests: the server gets another key */
static void test_changed_host_key_refused(void **state) {
        sshd_stop();
        sshd_start("host2");
        char *before = NULL, *after = NULL;
        assert_int_equal(read_file_text(path("known_hosts"), 0, &before, NULL), 0);
        SshConnectOptions o = known();
        o.accept_new_host_key = true;
        char *e = connect_fails(-EKEYREJECTED, &o);
        assert_contains(e, "has changed");
        assert_contains(e, fp_host1);
        assert_contains(e, fp_host2);
        assert_contains(e, "line 1: ssh-ed25519");
        assert_contains(e, "ssh-keygen -R");
        assert_int_equal(read_file_text(path("known_hosts"), 0, &after, NULL), 0);
        assert_string_equal(before, after); /* untouched */
        free(before), free(after);

        /* what the message says to do, done, makes it go through */
        const char *line = strstr(e, "ssh-keygen -R");
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "%.*s", (int) strcspn(line, "\n"), line);
        free(e);
        e = NULL;
        const char *argv[] = { "sh", "-c", cmd, NULL };
        must_run(argv);
        o.accept_new_host_key = false;
        free(connect_fails(-EPERM, &o)); /* unknown again */
        o.accept_new_host_key = true;
        SshClient *c = connect_ok(&o);
        assert_string_equal(ssh_client_host_key_fingerprint(c), fp_host2);
        ssh_client_free(c);
}

/* ---- login -------------------------------------------------------------- */

static void test_key_refused(void **state) {
        SshConnectOptions o = known();
        o.identity = path("other.key");
        char *e = connect_fails(-EACCES, &o);
        assert_contains(e, "refused the key");
        assert_contains(e, path("other.key"));
        assert_contains(e, "authorized_keys");
        free(e);
        e = NULL;
        o.identity = path("locked.key");
        e = connect_fails(-ENOKEY, &o);
        assert_contains(e, "passphrase");
        assert_contains(e, "ssh-add");
        free(e);
        e = NULL;
        o.identity = path("no-such.key");
        free(connect_fails(-ENOENT, &o));
        o.identity = NULL; /* and no agent */
        e = connect_fails(-ENOKEY, &o);
        assert_contains(e, "SSH_AUTH_SOCK");
        free(e);
}

static void test_agent(void **state) {
        const char *argv[] = { "ssh-agent", "-D", "-a", path("agent.sock"), NULL };
        assert_int_equal(spawn_background(argv, &(SpawnOptions) { .log_path = path("agent.log") }, &agent_pid), 0);
        for (int i = 0; i < 100 && access(path("agent.sock"), F_OK) < 0; i++)
                usleep(50 * 1000);
        char env[600];
        snprintf(env, sizeof env, "SSH_AUTH_SOCK=%s", path("agent.sock"));
        char *const extra[] = { env, NULL };
        const char *add[] = { "ssh-add", "-q", path("other.key"), NULL };
        assert_int_equal(run(add, &(RunOptions) { .env_extra = extra }, NULL), 0);
        setenv("SSH_AUTH_SOCK", path("agent.sock"), 1);
        SshConnectOptions o = known();
        o.identity = NULL;
        char *e = connect_fails(-EACCES, &o); /* the agent holds no authorized key yet */
        assert_contains(e, "agent");
        free(e);
        e = NULL;
        const char *add2[] = { "ssh-add", "-q", path("agent.key"), NULL };
        assert_int_equal(run(add2, &(RunOptions) { .env_extra = extra }, NULL), 0);
        SshClient *c = connect_ok(&o); /* agent.key is only in the agent */
        const char *t[] = { "true", NULL };
        assert_int_equal(ssh_client_run(c, t, NULL, NULL, NULL), 0);
        ssh_client_free(c);
        unsetenv("SSH_AUTH_SOCK");
}

/* ---- commands ----------------------------------------------------------- */

static SshClient *client;

static void test_argv_not_pasted(void **state) {
        client = connect_ok(&(SshConnectOptions) { .identity = path("user.key"), .known_hosts = path("known_hosts"),
                                                   .log_path = path("ssh.log") });
        const char *pwd[] = { "pwd", NULL };
        RunResult rr = {};
        assert_int_equal(ssh_client_run(client, pwd, NULL, &rr, NULL), 0);
        char home[512];
        snprintf(home, sizeof home, "%.*s", (int) strcspn(rr.out, "\n"), rr.out);
        run_result_done(&rr);

        assert_int_equal(mkdir(path("files"), 0755), 0);
        static const char name[] = "a b 'c' \"d\" $(touch keystone-ssh-injected) `touch keystone-ssh-injected2`;"
                                   " touch keystone-ssh-injected3 & *";
        char full[1024];
        snprintf(full, sizeof full, "%s/%s", path("files"), name);
        const char *touch[] = { "touch", "--", full, NULL };
        char *e = NULL;
        assert_int_equal(ssh_client_run(client, touch, NULL, NULL, &e), 0);
        assert_null(e);
        struct stat st;
        assert_int_equal(stat(full, &st), 0);
        DIR *d = opendir(path("files"));
        int n = 0;
        for (struct dirent *de; (de = readdir(d));)
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                        assert_string_equal(de->d_name, name);
                        n++;
                }
        closedir(d);
        assert_int_equal(n, 1);
        const char *names[] = { "keystone-ssh-injected", "keystone-ssh-injected2", "keystone-ssh-injected3" };
        for (size_t i = 0; i < 3; i++) {
                char p[1024];
                snprintf(p, sizeof p, "%s/%s", home, names[i]);
                assert_int_equal(access(p, F_OK), -1);
                snprintf(p, sizeof p, "%s/%s", path("files"), names[i]);
                assert_int_equal(access(p, F_OK), -1);
        }
}

static void test_stdin_buffer_and_log(void **state) {
        static const char bytes[] = "hello\0world\n";
        const char *cat[] = { "cat", NULL };
        RunResult rr = {};
        assert_int_equal(ssh_client_run(client, cat, &(SshRunOptions) { .input = bytes, .input_size = 12,
                                                                         .log_output = true }, &rr, NULL), 0);
        assert_int_equal(rr.out_size, 12);
        assert_memory_equal(rr.out, bytes, 12);
        run_result_done(&rr);

        /* no stdin: the command sees its end at once */
        const char *wc[] = { "wc", "-c", NULL };
        assert_int_equal(ssh_client_run(client, wc, NULL, &rr, NULL), 0);
        assert_string_equal(rr.out, "0\n");
        run_result_done(&rr);

        /* a secret on stdin, one on stdout: neither is logged */
        static const char secret[] = "s3cret-install-passphrase";
        const char *sh[] = { "sh", "-c", "cat >/dev/null; echo printed-$((40 + 2))-value", NULL };
        assert_int_equal(ssh_client_run(client, sh, &(SshRunOptions) { .input = secret, .input_size = strlen(secret) },
                                        &rr, NULL), 0);
        assert_string_equal(rr.out, "printed-42-value\n");
        run_result_done(&rr);
        char *log = NULL;
        assert_int_equal(read_file_text(path("ssh.log"), 0, &log, NULL), 0);
        assert_null(strstr(log, secret));
        assert_null(strstr(log, "printed-42-value"));
        assert_contains(log, "$ sh -c 'cat >/dev/null; echo printed-$((40 + 2))-value'");
        assert_contains(log, "(stdin: 25 bytes given, not logged)");
        assert_contains(log, "(stdout not logged");
        free(log);
}

static void test_stdin_streamed(void **state) {
        /* 20 MiB from a file, never all in memory */
        size_t size = 20u << 20;
        uint8_t *big = malloc(size);
        uint64_t x = 0x9e3779b97f4a7c15ull;
        for (size_t i = 0; i < size; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                big[i] = (uint8_t) x;
        }
        assert_int_equal(write_file_bytes_excl(path("big"), big, size, 0600), 0);
        free(big);
        char want[65];
        assert_int_equal(sha256_file_hex(path("big"), want, NULL), 0);
        int fd = open(path("big"), O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        const char *sum[] = { "sha256sum", NULL };
        RunResult rr = {};
        double t0 = monotonic_seconds();
        assert_int_equal(ssh_client_run(client, sum, &(SshRunOptions) { .input_from_fd = true, .input_fd = fd,
                                                                         .timeout_ms = 120000, .log_output = true },
                                        &rr, NULL), 0);
        printf("20 MiB streamed in %.2f s\n", monotonic_seconds() - t0);
        close(fd);
        assert_true(strneq(rr.out, want, 64));
        run_result_done(&rr);

        /* from a pipe a process fills in pieces, slower than we send */
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        if (pid == 0) {
                close(p[0]);
                char buf[65536];
                memset(buf, 'x', sizeof buf);
                for (int i = 0; i < 64; i++) {
                        if (write(p[1], buf, sizeof buf) != (ssize_t) sizeof buf)
                                _exit(1);
                        if (i % 16 == 0)
                                usleep(20 * 1000);
                }
                _exit(0);
        }
        close(p[1]);
        const char *wc[] = { "wc", "-c", NULL };
        assert_int_equal(ssh_client_run(client, wc, &(SshRunOptions) { .input_from_fd = true, .input_fd = p[0],
                                                                        .timeout_ms = 60000, .log_output = true },
                                        &rr, NULL), 0);
        assert_string_equal(rr.out, "4194304\n");
        run_result_done(&rr);
        close(p[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_exit_status_and_stderr(void **state) {
        const char *sh[] = { "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3", NULL };
        RunResult rr = {};
        char *e = NULL;
        assert_int_equal(ssh_client_run(client, sh, NULL, &rr, &e), -EPROTO);
        assert_int_equal(rr.exit_status, 3);
        assert_int_equal(rr.signal, 0);
        assert_string_equal(rr.out, "to-stdout\n");
        assert_string_equal(rr.err, "to-stderr\n");
        assert_contains(e, "exited with status 3: to-stderr");
        free(e);
        e = NULL;
        run_result_done(&rr);

        const char *kill[] = { "sh", "-c", "kill -TERM $$", NULL };
        assert_int_equal(ssh_client_run(client, kill, NULL, &rr, NULL), -EPROTO);
        assert_int_equal(rr.signal, SIGTERM);
        run_result_done(&rr);

        const char *none[] = { "keystone-no-such-program", NULL };
        assert_int_equal(ssh_client_run(client, none, NULL, &rr, NULL), -EPROTO);
        assert_int_equal(rr.exit_status, 127);
        run_result_done(&rr);
}

static void test_timeout_and_bound(void **state) {
        const char *sleep[] = { "sleep", "37.25", NULL };
        RunResult rr = {};
        char *e = NULL;
        int64_t t0 = monotonic_ms();
        assert_int_equal(ssh_client_run(client, sleep, &(SshRunOptions) { .timeout_ms = 1000 }, &rr, &e), -ETIMEDOUT);
        int64_t took = monotonic_ms() - t0;
        assert_true(took >= 1000 && took < 6000);
        assert_contains(e, "timed out after 1000 ms");
        free(e);
        e = NULL;
        run_result_done(&rr);
        /* the command was killed, and the session still works */
        const char *pgrep[] = { "pgrep", "-x", "-f", "sleep 37.25", NULL };
        int r = 0;
        for (int i = 0; i < 50 && (r = run(pgrep, NULL, NULL)) == 0; i++)
                usleep(100 * 1000);
        assert_int_equal(r, -EPROTO); /* pgrep: no such process */
        const char *t[] = { "true", NULL };
        assert_int_equal(ssh_client_run(client, t, NULL, NULL, NULL), 0);

        const char *head[] = { "head", "-c", "3000000", "/dev/zero", NULL };
        assert_int_equal(ssh_client_run(client, head, &(SshRunOptions) { .max_output = 1 << 20 }, &rr, &e), -EFBIG);
        assert_int_equal(rr.out_size, 1 << 20);
        assert_contains(e, "more than 1048576 bytes on stdout");
        free(e);
        e = NULL;
        run_result_done(&rr);
}

static void test_upload(void **state) {
        size_t size = 300000;
        uint8_t *data = malloc(size);
        for (size_t i = 0; i < size; i++)
                data[i] = (uint8_t) (i * 7 + i / 251);
        assert_int_equal(write_file_bytes_excl(path("up.src"), data, size, 0644), 0);
        assert_int_equal(mkdir(path("remote dir"), 0755), 0);
        char dest[600];
        snprintf(dest, sizeof dest, "%s/it's a file", path("remote dir"));
        char *e = NULL;
        assert_int_equal(ssh_client_upload(client, path("up.src"), dest, 0600, 60000, &e), 0);
        assert_null(e);
        struct stat st;
        assert_int_equal(stat(dest, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        uint8_t *got = NULL;
        size_t n = 0;
        assert_int_equal(read_file_bytes(dest, 0, &got, &n), 0);
        assert_int_equal(n, size);
        assert_memory_equal(got, data, size);
        free(got);

        /* again over it, another mode: replaced whole */
        data[0] ^= 0xff;
        assert_int_equal(unlink(path("up.src")), 0);
        assert_int_equal(write_file_bytes_excl(path("up.src"), data, size / 2, 0644), 0);
        assert_int_equal(ssh_client_upload(client, path("up.src"), dest, 0751, 60000, &e), 0);
        assert_int_equal(stat(dest, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0751);
        assert_int_equal(read_file_bytes(dest, 0, &got, &n), 0);
        assert_int_equal(n, size / 2);
        assert_memory_equal(got, data, size / 2);
        free(got);
        free(data);

        /* an empty file, and a directory that is not there */
        assert_int_equal(write_file_bytes_excl(path("empty"), "", 0, 0644), 0);
        char dest2[600];
        snprintf(dest2, sizeof dest2, "%s/empty", path("remote dir"));
        assert_int_equal(ssh_client_upload(client, path("empty"), dest2, 0644, 60000, &e), 0);
        assert_int_equal(stat(dest2, &st), 0);
        assert_int_equal(st.st_size, 0);
        char dest3[600];
        snprintf(dest3, sizeof dest3, "%s/missing/x", path("remote dir"));
        assert_int_equal(ssh_client_upload(client, path("up.src"), dest3, 0644, 60000, &e), -EPROTO);
        assert_contains(e, "mktemp");
        free(e);
        e = NULL;
        assert_int_equal(ssh_client_upload(client, path("up.src"), path("remote dir/"), 0644, 60000, &e), -EINVAL);
        free(e);
        e = NULL;

        /* nothing else in the directory: no temporary file left */
        DIR *d = opendir(path("remote dir"));
        int count = 0;
        for (struct dirent *de; (de = readdir(d));)
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                        if (strcmp(de->d_name, "it's a file") && strcmp(de->d_name, "empty"))
                                fail_msg("left in the directory: %s", de->d_name);
                        count++;
                }
        closedir(d);
        assert_int_equal(count, 2);
        ssh_client_free(client);
        client = NULL;
}

/* ---- connecting ------------------------------------------------------------- */

static void test_connect_timeout_and_refused(void **state) {
        /* a listener that never answers: the kernel completes the TCP
         * handshake, no SSH banner ever comes */
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof a;
        assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
        assert_int_equal(listen(fd, 4), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &l), 0);
        int saved = port;
        port = ntohs(a.sin_port);
        SshConnectOptions o = known();
        o.connect_timeout_ms = 1500;
        int64_t t0 = monotonic_ms();
        char *e = connect_fails(-ETIMEDOUT, &o);
        int64_t took = monotonic_ms() - t0;
        assert_true(took >= 1400 && took < 8000);
        assert_contains(e, "did not answer within 1.500 s");
        free(e);
        e = NULL;
        close(fd);
        port = free_port(); /* nothing listens there */
        e = connect_fails(-EHOSTUNREACH, &o);
        assert_contains(e, "cannot connect to");
        free(e);
        e = NULL;
        port = saved;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unknown_host_refused),
                cmocka_unit_test(test_accept_new_records),
                cmocka_unit_test(test_pinned),
                cmocka_unit_test(test_key_refused),
                cmocka_unit_test(test_agent),
                cmocka_unit_test(test_argv_not_pasted),
                cmocka_unit_test(test_stdin_buffer_and_log),
                cmocka_unit_test(test_stdin_streamed),
                cmocka_unit_test(test_exit_status_and_stderr),
                cmocka_unit_test(test_timeout_and_bound),
                cmocka_unit_test(test_upload),
                cmocka_unit_test(test_connect_timeout_and_refused),
                cmocka_unit_test(test_changed_host_key_refused),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
