/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared between the library layer (vm.c) and the test layer (vmtest.c). */

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmtest/vm.h"

typedef struct StrBuf {
        char *data;
        size_t size, alloc;
} StrBuf;

struct Vm {
        VmConfig config;
        char name[40];
        char dir[PATH_MAX];
        char rundir[32];          /* /tmp/ksvm.XXXXXX: the sockets */
        char vars_path[PATH_MAX + 16];
        char tpm_dir[PATH_MAX + 8];
        char console_path[PATH_MAX + 16];
        char disk_paths[VM_MAX_DISKS][PATH_MAX + 16];
        char disk_formats[VM_MAX_DISKS][8];
        pid_t owner;              /* forked children must not stop our VMs */
        pid_t qemu_pid, swtpm_pid;
        int qemu_status;
        int serial_fd, qmp_fd, shell_fd, console_log_fd;
        int ssh_port;
        int64_t started_ms;
        unsigned serial_gen;      /* bumped when serial_fd is closed (console_lock) */
        StrBuf console;           /* everything the serial console said (console_lock) */
        size_t console_mark;      /* vm_wait_for_console searches from here */
        StrBuf qmp_in, shell_in;
        char *last_output;        /* what vm_succeed() returned last */
        bool reset_pending;       /* qemu said SHUTDOWN after a reset: start it again */
        unsigned power_cycles;    /* resets turned into a new qemu process */
        int lan_tap_fd;           /* config.lan_netns: the tap, handed to each qemu as fd 3 */
        char *owned[5];           /* copies of config's kernel, initrd, cmdline, vars_file, lan_netns */
};

#define VM_LIST_MAX 8
extern Vm *vm_list[VM_LIST_MAX];
extern size_t vm_count;

/* The serial consoles are drained by a thread of their own, so a guest
 * never stalls on a full console while the test does something else (runs
 * ssh, sleeps).  console_lock guards serial_fd, serial_gen and console. */
#include <pthread.h>
extern pthread_mutex_t console_lock;

int64_t vm_now_ms(void);
char *vm_base64_encode(const void *data, size_t n);
int vm_base64_decode(const char *in, size_t n, char **ret, size_t *ret_size);
void vm_destroy_all(void);
void vm_kill_all_from_signal(void);
/* Stops qemu (QMP quit: the disks get what the guest wrote) and starts it
 * again with the same disks, variables and TPM state. */
int vm_power_cycle_r(Vm *vm);
