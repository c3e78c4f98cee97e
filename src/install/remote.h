/* SPDX-License-Identifier: MIT */
#pragma once

/* keystone install's work on a target reached over SSH (install/ssh.h),
 * step by step.  The first: ask the target what it is before anything on
 * it changes (install/probe.h), and say what the install would do. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "install/phases.h"
#include "install/prepare.h"
#include "install/probe.h"
#include "install/ssh.h"

/* Runs the probe script on the far side as root (`sudo -n sh -s` when the
 * login is not root: a password prompt cannot be answered there) and
 * parses its report.  -EACCES when sudo would ask for a password; else as
 * ssh_client_run() and probe_parse(), with the target in the message. */
int remote_probe(SshClient *c, bool sudo, const char *target, ProbeReport **ret, char **ret_error);

/* The owner's PK certificate (DER) from a Secure Boot key directory as
 * `keystone secureboot keys` makes it; -ENOENT when it holds none. */
int remote_owner_pk(const char *key_dir, uint8_t **ret, size_t *ret_size, char **ret_error);

typedef struct RemotePlanInput {
        const char *host_path;
        const char *hostname;
        const char *target;             /* as given: "root@192.0.2.7:22" */
        const ProbeReport *report;
        const ProbeWants *wants;
        unsigned phases;                /* asked for */
        const InstallRecord *record;    /* what a run before ended */
        const char *state_dir;
        const char *extra_files;        /* --extra-files DIR, or NULL */
        const char *chown;              /* --chown USER:GROUP, or NULL */
} RemotePlanInput;

/* The plan, as the dry run prints it and the real run before it starts:
 * the target and what it is, the disk that will be erased (by id), the
 * phases (which ended before and are skipped), and which files go where. */
int remote_plan_format(const RemotePlanInput *in, char **ret, char **ret_error);

/* The network the installer takes over after kexec (keystone-init's
 * keystone.installer.* parameters): the interface that holds ADDRESS when
 * the operator reached the target at one of its addresses, else the one of
 * the IPv4 default route; its first IPv4 address, the gateway, its MAC (the
 * name may differ in the installer, which has no udev). */
typedef struct RemoteNet {
        char ifname[64];
        char mac[32];
        char address[64];               /* "192.0.2.7/24" */
        char gateway[64];               /* "" when none */
} RemoteNet;

/* -ENETUNREACH with *ret_error saying what the target has when no
 * interface with an IPv4 address fits (the installer speaks IPv4 only). */
int remote_installer_network(const ProbeReport *r, const char *address, RemoteNet *ret, char **ret_error);

/* The installer's kernel command line for NET (malloc'd). */
char *remote_installer_cmdline(const RemoteNet *net);

typedef struct RemoteKexecFiles {
        const char *kexec;              /* keystone-kexec (static) */
        const char *kernel;             /* the installer's vmlinuz */
        const char *initrd;             /* installer_initrd() */
} RemoteKexecFiles;

#define REMOTE_KEXEC_DIR "/run/keystone-kexec"  /* a tmpfs mounted there (exec allowed) */

/* remote_kexec() in its three steps, for a caller that reports each:
 * upload the three files into REMOTE_KEXEC_DIR on the target (verified);
 * load the kernel with `keystone-kexec load … CMDLINE`; start it with
 * `systemctl kexec` (a clean shutdown) when systemd runs there, else
 * `keystone-kexec exec`, detached, so that the session ends by itself.
 * sudo as remote_probe(). */
int remote_kexec_upload(SshClient *c, bool sudo, const RemoteKexecFiles *f, char **ret_error);
int remote_kexec_load(SshClient *c, bool sudo, const char *cmdline, char **ret_error);
int remote_kexec_start(SshClient *c, bool sudo, char **ret_error);

/* The three in order.  The caller then reaches the installer
 * (remote_wait_installer()). */
int remote_kexec(SshClient *c, bool sudo, const RemoteKexecFiles *f, const char *cmdline, char **ret_error);

/* ---- the kexec phase ---- */

#define REMOTE_KEXEC_INSTALLED "/usr/lib/keystone/keystone-kexec"

/* The keystone-kexec to upload: the one beside SELF_EXE (this keystone
 * binary, as in a build tree: build/ and build/asan/ both hold the static
 * one), else INSTALLED (REMOTE_KEXEC_INSTALLED: the .deb's).  ret has
 * PATH_MAX bytes.  -ENOENT with *ret_error naming both places. */
int remote_kexec_binary(const char *self_exe, const char *installed, char *ret, char **ret_error);

/* The installer's own host key, made on the operator's side so that the
 * installer is recognised when it answers: STATE/ssh/installer_host_key
 * (0600) and its .pub, made with ssh-keygen (ed25519) when not there yet,
 * kept otherwise (a run after a dropped connection pins the same key).
 * ret (PATH_MAX bytes) receives the private key's path. */
int remote_installer_host_key(const char *state_dir, char *ret, char **ret_error);

#define REMOTE_INSTALLER_WAIT_S 600     /* an installer booting under TCG takes minutes */
#define REMOTE_INSTALLER_POLL_S 3

/* Reaches the installer after kexec: ssh_client_connect() to T as root,
 * with IDENTITY and the host key pinned to PINNED_PUB, every
 * REMOTE_INSTALLER_POLL_S seconds until it answers or TIMEOUT_S have
 * passed.  The system that is shutting down may still answer with its own
 * key: that, and every failure to connect, is waited out; a login the
 * installer refuses (-EACCES) or a local problem (a key file) is not.
 * Then `cat /proc/cmdline` must hold keystone.installer (-EPROTO if not).
 * -ETIMEDOUT with the last failure otherwise. */
int remote_wait_installer(const SshTarget *t, const char *identity, const char *pinned_pub, int timeout_s,
                          const char *log_path, SshClient **ret, char **ret_error);

/* ---- confirmation ---- */

/* 0 when an answer can be asked for on IN_FD (a terminal) or YES (--yes)
 * makes it needless; -ENOTTY saying to use --yes otherwise. */
int remote_confirm_possible(int in_fd, bool yes, char **ret_error);

/* Unless YES: writes QUESTION to OUT and reads one line from IN_FD, which
 * must be a terminal; 0 when it is "yes", -ECANCELED otherwise. */
int remote_confirm(int in_fd, FILE *out, bool yes, const char *question, char **ret_error);

/* ---- the phases, in order ---- */

/* What a phase works with.  The command fills the first part. */
typedef struct RemoteInstall {
        const SshTarget *target;
        const char *target_text;        /* as given */
        SshClient *client;              /* the target as found */
        bool sudo;
        const ProbeReport *report;
        const ProbeDisk *disk;          /* the disk to install onto, in report */
        InstallPrepare prepare;         /* the host, the state directory, this keystone, the log */
        const char *kexec_binary;       /* remote_kexec_binary() */
        int installer_timeout_s;        /* 0: REMOTE_INSTALLER_WAIT_S */
        /* each step of a phase: at its start with r = 0 and seconds < 0,
         * at its end with its result and how long it took; may be NULL */
        void (*progress)(void *userdata, InstallPhase phase, const char *step, int r, double seconds);
        void *userdata;
        /* for the phases after kexec (install/remote-phases.h) */
        const char *extra_files;        /* --extra-files DIR, or NULL */
        const char *chown;              /* --chown USER:GROUP, or NULL */
        bool secure_boot_later;         /* --secure-boot=later: the owner's keys are not enrolled */
        int machine_timeout_s;          /* each wait for the installed system or its initrd; 0: 20 min */
        /* what the phases leave for the next */
        SshClient *installer;           /* the installer, its host key pinned (free it) */
        InstallKeys keys;
        /* what enroll measured, and the recovery key (remote_install_done() erases it) */
        char *recovery_key;
        char tpm_line[256], encroot_line[256], ssh_line[256], sb_line[128];
} RemoteInstall;

typedef struct RemotePhase {
        InstallPhase phase;
        int (*run)(RemoteInstall *ri, char **ret_error);        /* NULL: not in this version yet */
} RemotePhase;

/* A phase asked for (in MASK) that has not ended needs the one before it
 * in the full order to have ended or to be asked for too: -EINVAL naming
 * the phase that must run first otherwise (--phases disk on a fresh
 * state). */
int remote_phases_check(unsigned mask, const InstallRecord *rec, const char *state_dir, char **ret_error);

/* Runs the phases of MASK in TABLE's order, skipping those REC holds as
 * ended, marking each in STATE/phases when it succeeds; stops at the
 * first that fails.  A phase whose run is NULL: -EOPNOTSUPP saying it is
 * not in this version yet and that `--phases` of the ones before it runs
 * only those.  The number of phases run, or -errno. */
int remote_phases_run(const RemotePhase *table, size_t n, unsigned mask, InstallRecord *rec, const char *state_dir,
                      RemoteInstall *ri, char **ret_error);

/* The kexec phase: the state's keys, the build, the installer
 * (install/prepare.h) and its host key (remote_installer_host_key()); its
 * initrd at STATE/kexec/initrd.img with the state's public key and that
 * host key; remote_kexec() with the installer's network
 * (remote_installer_network() for the address the target was reached
 * at); remote_wait_installer() into ri->installer. */
int remote_phase_kexec(RemoteInstall *ri, char **ret_error);
