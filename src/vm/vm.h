/* SPDX-License-Identifier: MIT */
#pragma once

/* Keystone's VM test driver, used by the scenarios in tests/vm/.
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
 *     src/image/test-shell.sh); commands go as base64 and come back framed
 *     by markers with their exit status, stdout and stderr;
 *   - SSH: user-mode networking with restrict=on (no traffic leaves the
 *     host) and the guest's port 22 forwarded to a 127.0.0.1 port.
 * Everything a VM writes stays under build/vmtest/<test>/<vm>/.
 *
 * Two layers.  The vm_*_r() functions return 0 or -errno and never print.
 * The test-facing functions (vm_start, vm_succeed, vm_wait_for_console…)
 * fail the test on any error: they print the failing step, what happened,
 * and the last 50 console lines of every VM, stop every VM this process
 * started, and exit(1). */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/macro.h"

typedef struct Vm Vm;

#define VM_MAX_DISKS 4

typedef struct VmDisk {
        const char *path;
        const char *format;  /* "raw" (default) or "qcow2" */
        bool overlay;        /* boot a qcow2 overlay (in the VM's directory) over path */
} VmDisk;

typedef struct VmConfig {
        const char *name;        /* short, [a-z0-9-]: the log directory's name */
        bool secure_boot;        /* OVMF_CODE_4M.secboot.fd, q35 with SMM */
        const char *vars_file;   /* UEFI variables to start from; NULL: a fresh
                                  * copy of OVMF_VARS_4M.fd (setup mode) */
        bool tpm;                /* a swtpm of its own; state kept across reboots */
        VmDisk disks[VM_MAX_DISKS];
        /* Direct kernel boot through fw_cfg (OVMF loads the kernel as an EFI
         * application: works in setup mode or without Secure Boot). */
        const char *kernel, *initrd, *cmdline;
        unsigned memory_mb;      /* default 1024 */
        unsigned cpus;           /* default 1 */
        bool ssh;                /* forward 127.0.0.1:<port> to the guest's port 22 */
        /* A second NIC (MAC 52:54:00:4b:53:01) whose other end is the tap
         * device "lan0" inside the network namespace named here (made by
         * vmtest_netns()): the test talks to the guest's LAN side from that
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

/* ---- the test context ---- */

/* Sets up build/vmtest/<test>/ (under $BUILD, default ./build), a SIGTERM
 * and exit handler that stop every VM this process started, and sends
 * Keystone's debug log (every argv run) to <dir>/keystone.log.  Exits 77
 * (skip) when qemu, OVMF or swtpm is not installed. */
void vmtest_init(const char *test_name);
const char *vmtest_dir(void);

/* Replaces exit(1) after a failure report (vm-driver-fails uses it). */
void vmtest_set_fail_exit(void (*fn)(void));
/* Prints the report (step, message, console tails) and stops the VMs. */
_Noreturn void vmtest_fail(const char *fmt, ...) _printf_(1, 2);
/* Names the step being run, for failure reports (copied). */
void vmtest_step(const char *fmt, ...) _printf_(1, 2);

/* ---- library layer: 0 or -errno, no output ---- */

/* For programs other than tests (keystone vm): the VMs' directories go
 * under dir (it must exist), without the test set-up of vmtest_init().  A
 * VmConfig.vars_file that is already the VM's own <dir>/<name>/OVMF_VARS.fd
 * is used in place (a machine's variables kept across runs). */
int vm_set_base_dir_r(const char *dir);
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

/* ---- test layer: fail the test on error ---- */

Vm *vm_create(const VmConfig *config);
void vm_start(Vm *vm);
/* Waits until the console shows a line matching regex (POSIX extended),
 * searching output after the previous match (or after the last vm_start,
 * vm_reboot or vm_crash). */
void vm_wait_for_console(Vm *vm, const char *regex, int timeout_s);
/* Waits until the test shell answers. */
void vm_wait_for_shell(Vm *vm, int timeout_s);
/* Runs cmd (sh syntax) as root in the guest; fails unless it exits 0.
 * Returns its stdout, owned by vm, valid until the next command. */
const char *vm_succeed(Vm *vm, const char *fmt, ...) _printf_(2, 3);
/* Fails unless cmd exits non-zero; returns stdout+stderr. */
const char *vm_fail(Vm *vm, const char *fmt, ...) _printf_(2, 3);
const char *vm_wait_until_succeeds(Vm *vm, int timeout_s, const char *fmt, ...) _printf_(3, 4);
/* Waits until the unit is active; fails at once when it failed. */
void vm_wait_for_unit(Vm *vm, const char *unit, int timeout_s);
/* Clean reboot from inside (systemctl reboot); returns once the shell
 * answers from the new boot (boot id changed). */
void vm_reboot(Vm *vm, int timeout_s);
/* Clean power-off; returns when qemu has exited (vm_start starts it again
 * with the same disks, variables and TPM state). */
void vm_shutdown(Vm *vm, int timeout_s);
/* Power cut: qemu stops at once (no shutdown in the guest; writes the
 * guest issued reach the disks) and starts again with the same disks,
 * variables and TPM state. */
void vm_crash(Vm *vm);
/* PNG of the display via QMP screendump: <vm dir>/<name>.png; returns its path. */
const char *vm_screenshot(Vm *vm, const char *name);
/* Small files (they travel base64 through the test shell). */
void vm_copy_to(Vm *vm, const char *host_path, const char *guest_path);
void vm_copy_from(Vm *vm, const char *guest_path, const char *host_path);
