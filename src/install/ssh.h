/* SPDX-License-Identifier: MIT */
#pragma once

/* The SSH client of remote install (`keystone install --target
 * [USER@]ADDRESS[:PORT]`), on libssh: one session to the machine, its
 * host key checked before anything is sent, commands run from an argv
 * (made one line with shell_join(), util/shell-quote.h, never pasted),
 * files uploaded atomically and verified.
 *
 * Unlike install/guest-ssh.h (ssh(1) to a VM on a port forward of our
 * own, no host key check), the far side here is reached over a network:
 *  - known_hosts mode (the default): the host key must be in a known_hosts
 *    file (OpenSSH's format, hashed entries too); an unknown host is
 *    refused with its SHA256 fingerprint unless accept_new_host_key, which
 *    trusts it on first use and appends it; a changed key (or a key of
 *    another type than the recorded ones) is always refused.
 *  - pinned mode: the host key must equal one public key file (OpenSSH .pub,
 *    such as the one keystone made for its installer); known_hosts is
 *    neither read nor written.
 * Secrets travel only on a command's stdin; the optional log holds each
 * command line, its stderr (stdout on request) and how it ended, never its
 * stdin.  Nothing here prints: every failure is -errno and one message. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/macro.h"
#include "util/run.h"

/* [USER@]ADDRESS[:PORT] as the user wrote it, checked. */
typedef struct SshTarget {
        char user[33];          /* "" when not given (ssh_client_connect() then logs in as root) */
        char host[256];         /* a host name, an IPv4 address, or an IPv6 address (brackets taken
                                 * off, with its %zone if one was given) */
        uint16_t port;          /* 22 when not given */
        bool ipv6;
} SshTarget;

/* Parses S: USER is 1-32 of [A-Za-z0-9._-] (and a final $), not led by '-';
 * ADDRESS a host name (dot-separated labels of letters, digits and inner
 * hyphens, at most 253 bytes), an IPv4 address (a name of digits only must
 * be one), or an IPv6 address in brackets ([2001:db8::1], [fe80::1%eth0]);
 * PORT 1-65535 in decimal without leading zeros.  -EINVAL with a message
 * that says which part is wrong and how it should look. */
int ssh_target_parse(const char *s, SshTarget *ret, char **ret_error);

typedef struct SshConnectOptions {
        const char *identity;           /* -i: a private key file (OpenSSH or PEM, no passphrase);
                                         * NULL: the keys of the agent at $SSH_AUTH_SOCK */
        const char *known_hosts;        /* NULL: ~/.ssh/known_hosts (/etc/ssh/ssh_known_hosts is not read) */
        bool accept_new_host_key;       /* an unknown host's key is trusted and appended to known_hosts */
        const char *pinned_host_key;    /* a .pub file: the host key must be this one; known_hosts unused */
        int connect_timeout_ms;         /* TCP connect, key exchange, each blocking step; 0: 30 s */
        const char *log_path;           /* appended to: the connection and every command; NULL: none */
} SshConnectOptions;

typedef struct SshClient SshClient;

/* Connects to T, checks the host key (see above), then logs in with the
 * identity file or the agent.  Returns 0 and *ret, or:
 *   -EINVAL       bad options (a pinned key file that is no public key, …);
 *   -EHOSTUNREACH the connection could not be made (libssh's reason said);
 *   -ETIMEDOUT    no answer within the connect timeout;
 *   -EPERM        the host is unknown (the message gives its fingerprint and
 *                 says --accept-new-host-key trusts it on first use);
 *   -EKEYREJECTED the key differs from the recorded or pinned one (both
 *                 fingerprints, and for known_hosts the ssh-keygen -R line);
 *   -ENOKEY       no key to log in with (no -i and no agent), or the -i key
 *                 has a passphrase;
 *   -EACCES       the server refused our key(s);
 *   other -errno  reading the key files, writing known_hosts. */
int ssh_client_connect(const SshTarget *t, const SshConnectOptions *o, SshClient **ret, char **ret_error);

/* Disconnects and frees; NULL is a no-op. */
void ssh_client_free(SshClient *c);
DEFINE_POINTER_CLEANUP(SshClient, ssh_client_free)

/* "SHA256:…" of the host key the session was made with. */
const char *ssh_client_host_key_fingerprint(const SshClient *c);

typedef struct SshRunOptions {
        const void *input;              /* stdin from this buffer (input_size bytes); NULL: none */
        size_t input_size;
        bool input_from_fd;             /* or streamed from input_fd, read to its end as the remote
                                         * side takes it (a rootfs tar of some GiB is never held) */
        int input_fd;
        bool log_output;                /* false: stdout is left out of the log (it may be a secret) */
        int timeout_ms;                 /* the whole command; 0: none */
        size_t max_output;              /* bytes kept of stdout and of stderr each; 0: 16 MiB */
} SshRunOptions;

/* Runs ARGV (NULL-ended) on the far side as one shell_join() line, its
 * stdin fed from the buffer or the fd and then closed (none: closed at
 * once), stdout and stderr captured.  With a timeout the line is
 * `timeout -s KILL SECONDS ARGV…` with SECONDS 2 s past ours, so that a
 * command we gave up on does not live on there: sshd passes no signal to
 * the commands of a root login (it has no privilege separation then), and
 * a closed channel leaves a command that reads and writes nothing running.
 * So timeout(1) (coreutils, busybox) must be there.  Returns 0 when it
 * exited 0; -EPROTO when it exited non-zero or was killed (ret says how,
 * the message holds the last line of its stderr); -ETIMEDOUT when the
 * timeout fired (the channel is closed; SIGKILL is asked for, and sent by
 * sshd to non-root logins); -EFBIG when it
 * wrote more than max_output on stdout or stderr; -ECONNRESET when the
 * session broke.  ret (may be NULL) is filled, as run()'s, whenever the
 * command was started; release it with run_result_done(). */
int ssh_client_run(SshClient *c, const char *const argv[], const SshRunOptions *opts, RunResult *ret,
                   char **ret_error);

/* Copies the local file LOCAL_PATH to REMOTE_PATH (its directory must
 * exist) with MODE: the bytes go to a temporary name beside it (mktemp),
 * get MODE, the remote sha256sum of that file is compared with the local
 * SHA-256 of the bytes sent (OpenSSL), and only then the file is renamed
 * into place; on any failure the temporary file is removed.  Needs sh,
 * mktemp, cat, chmod, sha256sum and mv on the far side.  -EIO on a digest
 * mismatch; else as ssh_client_run(). */
int ssh_client_upload(SshClient *c, const char *local_path, const char *remote_path, mode_t mode,
                      int timeout_ms, char **ret_error);
