/* SPDX-License-Identifier: MIT */
#pragma once

/* The test layer over the VM driver (src/vm/vm.h), for the scenarios in
 * tests/vm/: every function here either does what it says or fails the
 * test: it prints the failing step, what happened, and the last 50 console
 * lines of every VM, stops every VM this process started, and exit(1).
 * The driver's own vm_*_r() functions stay usable beside these. */

#include "util/macro.h"
#include "vm/vm.h"

/* ---- the test context ---- */

/* Sets up build/vmtest/<test>/ (under $BUILD, default ./build) as the VMs'
 * base directory, a SIGTERM and exit handler that stop every VM this
 * process started, and sends Keystone's debug log (every argv run) to
 * <dir>/keystone.log.  Exits 77 (skip) when qemu, OVMF or swtpm is not
 * installed. */
void vmtest_init(const char *test_name);
/* build/vmtest/<test>/ once vmtest_init() ran, else NULL. */
const char *vmtest_dir(void);

/* Replaces exit(1) after a failure report. */
void vmtest_set_fail_exit(void (*fn)(void));
/* Prints the report (step, message, console tails) and stops the VMs. */
_Noreturn void vmtest_fail(const char *fmt, ...) _printf_(1, 2);
/* Names the step being run, for failure reports (copied). */
void vmtest_step(const char *fmt, ...) _printf_(1, 2);

/* ---- VMs ---- */

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
