/* SPDX-License-Identifier: MIT */
#pragma once

/* Keystone's VM driver: `keystone vm` (src/install/vm-deploy.c) runs the
 * machine it installs with it, and the VM test scenarios run theirs
 * (through a test layer of their own that fails the test on any error).
 *
 * A VM is qemu-system-x86_64 under TCG (KVM does not work on the machines
 * we test on) with OVMF firmware (plain or Secure Boot: q35 + SMM + secure
 * pflash), optionally one swtpm of its own, virtio disks (raw images or
 * qcow2 overlays over cached images, so cached images are never written),
 * and four channels the driver holds open:
 *   - the serial console, a unix socket the driver connects to before the
 *     guest starts (so nothing is lost), copied to console.log;
 *   - QMP, for power cuts, screenshots and quitting;
 *   - the test shell: a virtio-serial port "keystone.shell" on which test
 *     images (and only those) run a root shell loop (see
 *     src/image/etc.c); commands go as base64 and come back framed
 *     by markers with their exit status, stdout and stderr;
 *   - SSH: user-mode networking with restrict=on (no traffic leaves the
 *     host) and the guest's port 22 forwarded to a 127.0.0.1 port.
 * Everything a VM writes stays under the base directory
 * (vm_set_base_dir_r()), in <base>/<vm name>/.
 *
 * Every function returns 0 or -errno (or the value it names); the message
 * the user reads is the caller's.  What the driver ran goes to the debug
 * log (a few failures that would otherwise go unexplained, such as a tap
 * that cannot be made, are logged as errors). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/macro.h"

typedef struct Vm Vm;

#define VM_MAX_DISKS 4

typedef struct VmDisk {
        const char *path;
        const char *format;  /* "raw" (default) or "qcow2" */
        bool overlay;        /* boot a qcow2 overlay (in the VM's directory) over path */
        const char *serial;  /* the disk's serial number (at most 20 of [A-Za-z0-9._-]: the guest's
                              * /dev/disk/by-id/virtio-SERIAL); NULL: none */
        unsigned boot_index; /* the firmware's boot order (1 first, unique); 0: its place in disks[] */
} VmDisk;

typedef struct VmConfig {
        const char *name;        /* short, [a-z0-9-]: the log directory's name */
        bool secure_boot;        /* OVMF_CODE_4M.secboot.fd, q35 with SMM */
        const char *vars_file;   /* UEFI variables to start from; NULL: a fresh
                                  * copy of OVMF_VARS_4M.fd (setup mode) */
        bool tpm;                /* a swtpm of its own; state kept across reboots */
        bool bios;               /* no UEFI: qemu's own BIOS (SeaBIOS), booted with .kernel; not with
                                  * secure_boot or vars_file */
        VmDisk disks[VM_MAX_DISKS];
        /* Direct kernel boot through fw_cfg (OVMF loads the kernel as an EFI
         * application: works in setup mode or without Secure Boot). */
        const char *kernel, *initrd, *cmdline;
        unsigned memory_mb;      /* default 1024 */
        unsigned cpus;           /* default 1 */
        bool ssh;                /* forward 127.0.0.1:<port> to the guest's port 22 */
        /* A second NIC (MAC 52:54:00:4b:53:01) whose other end is the tap
         * device "lan0" inside the network namespace named here (it must
         * exist: tests make theirs with vmtest_netns()): the test talks to the guest's LAN side from that
         * namespace (mDNS and the like), and none of it reaches the host's
         * own network.  The tap outlives reboots of the VM. */
        const char *lan_netns;
} VmConfig;

typedef struct VmShellResult {
        int status;              /* exit status in the guest; 124: timed out there */
        char *out, *err;         /* NUL-terminated */
        size_t out_size, err_size;
} VmShellResult;

void vm_shell_result_done(VmShellResult *r);

/* The VMs' directories go under dir (it must exist); vm_new_r() fails
 * with -EINVAL until this was called.  A
 * VmConfig.vars_file that is already the VM's own <dir>/<name>/OVMF_VARS.fd
 * is used in place (a machine's variables kept across runs). */
int vm_set_base_dir_r(const char *dir);
/* That directory; NULL before vm_set_base_dir_r(). */
const char *vm_base_dir(void);
/* Stops every VM this process started and frees them all. */
void vm_destroy_all(void);
/* From a signal handler: SIGKILL to every qemu and swtpm this process started. */
void vm_kill_all_from_signal(void);

int vm_new_r(const VmConfig *config, Vm **ret);
int vm_start_r(Vm *vm);
int vm_console_wait_r(Vm *vm, const char *regex, int timeout_ms);
/* Console waits look only at output from now on. */
void vm_console_mark_end(Vm *vm);
/* Types text on the serial console (a password at a prompt: end it with \r). */
int vm_console_type_r(Vm *vm, const char *text);
int vm_shell_ping_r(Vm *vm, int timeout_ms);
int vm_shell_run_r(Vm *vm, const char *cmd, int timeout_ms, VmShellResult *ret);
/* Sends a command without waiting for its end (reboot, poweroff). */
int vm_shell_send_r(Vm *vm, const char *cmd);
/* One QMP command; *ret_json (may be NULL) receives the "return" value as
 * JSON text.  -EREMOTEIO when QMP answers with an error. */
int vm_qmp_r(Vm *vm, const char *command, const char *args_json, char **ret_json);
/* Waits for qemu to exit; -ETIMEDOUT otherwise. */
int vm_wait_exit_r(Vm *vm, int timeout_ms);
/* A power cut: stops qemu at once (QMP quit: the disks get what the guest
 * already wrote, the guest's page cache is lost) and starts it again with
 * the same disks, variables and TPM state. */
int vm_power_cycle_r(Vm *vm);
/* Stops qemu and swtpm (SIGTERM, then SIGKILL). Idempotent. */
void vm_stop(Vm *vm);
/* Drains every VM's channels for up to timeout_ms. */
int vm_pump(int timeout_ms);

const char *vm_name(const Vm *vm);
const char *vm_dir(const Vm *vm);
int vm_ssh_port(const Vm *vm);
bool vm_running(const Vm *vm);
/* A copy of the console text received so far (\r removed); free() it. */
char *vm_console_copy(Vm *vm);
/* qemu's wait status once it has exited (see vm_running()). */
int vm_qemu_status(const Vm *vm);
/* When qemu was last started, on monotonic_ms()'s clock (util/clock.h),
 * which every timeout here runs on. */
int64_t vm_started_ms(const Vm *vm);
/* The VMs this process made, in order of vm_new_r(); NULL past the last. */
Vm *vm_nth(size_t i);

/* The shell channel's framing: base64 without line breaks (RFC 4648).
 * encode returns a malloc'd NUL-terminated string or NULL (no memory);
 * decode ignores trailing newlines and spaces, and gives -EBADMSG for
 * anything that is not base64, else a malloc'd NUL-terminated buffer. */
char *vm_base64_encode(const void *data, size_t n);
int vm_base64_decode(const char *in, size_t n, char **ret, size_t *ret_size);
