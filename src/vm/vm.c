/* SPDX-License-Identifier: MIT */
/* The library layer of the VM driver: processes, sockets, protocols. */
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "util/clock.h"
#include "util/grow.h"
#include "util/log.h"
#include "util/run.h"
#include "util/spawn.h"
#include "vm/netns.h"
#include "vm/vm.h"

#define OVMF_DIR "/usr/share/OVMF"

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
        char disk_serials[VM_MAX_DISKS][21];
        unsigned disk_boot[VM_MAX_DISKS];
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
        bool reset_pending;       /* qemu said SHUTDOWN after a reset: start it again */
        unsigned power_cycles;    /* resets turned into a new qemu process */
        int lan_tap_fd;           /* config.lan_netns: the tap, handed to each qemu as fd 3 */
        char *owned[5];           /* copies of config's kernel, initrd, cmdline, vars_file, lan_netns */
};

#define VM_LIST_MAX 8
static Vm *vm_list[VM_LIST_MAX];
static size_t vm_count;
static char base_dir[PATH_MAX];
static unsigned shell_seq;
static int console_thread_ensure(void);

/* The serial consoles are drained by a thread of their own, so a guest
 * never stalls on a full console while the caller does something else (runs
 * ssh, sleeps).  console_lock guards serial_fd, serial_gen and console. */
static pthread_mutex_t console_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t console_thread;
static pid_t console_thread_owner;
static volatile bool console_thread_stop;

int vm_set_base_dir_r(const char *dir) {
        struct stat st;
        if (!dir || !*dir)
                return -EINVAL;
        if (strlen(dir) >= sizeof base_dir - 64)
                return -ENAMETOOLONG;
        if (stat(dir, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        snprintf(base_dir, sizeof base_dir, "%s", dir);
        return 0;
}

const char *vm_base_dir(void) {
        return base_dir[0] ? base_dir : NULL;
}

/* ---- growing buffers ---- */

static int strbuf_append(StrBuf *b, const char *data, size_t n) {
        char *p = grow_realloc(b->data, &b->alloc, b->size + n + 1, 4096);
        if (!p)
                return -ENOMEM;
        b->data = p;
        memcpy(b->data + b->size, data, n);
        b->size += n;
        b->data[b->size] = 0;
        return 0;
}

static void strbuf_consume(StrBuf *b, size_t n) {
        if (n >= b->size) {
                b->size = 0;
        } else {
                memmove(b->data, b->data + n, b->size - n);
                b->size -= n;
        }
        if (b->data)
                b->data[b->size] = 0;
}

static void strbuf_done(StrBuf *b) {
        free(b->data);
        *b = (StrBuf) {};
}

/* ---- base64 through OpenSSL ---- */

char *vm_base64_encode(const void *data, size_t n) {
        char *out = malloc(4 * ((n + 2) / 3) + 1);
        if (!out)
                return NULL;
        EVP_EncodeBlock((unsigned char *) out, data, (int) n);
        return out;
}

int vm_base64_decode(const char *in, size_t n, char **ret, size_t *ret_size) {
        while (n > 0 && (in[n - 1] == '\n' || in[n - 1] == ' '))
                n--;
        if (n % 4 != 0)
                return -EBADMSG;
        char *out = malloc(n / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        int k = n ? EVP_DecodeBlock((unsigned char *) out, (const unsigned char *) in, (int) n) : 0;
        if (k < 0) {
                free(out);
                return -EBADMSG;
        }
        if (n >= 1 && in[n - 1] == '=')
                k--;
        if (n >= 2 && in[n - 2] == '=')
                k--;
        out[k] = 0;
        *ret = out;
        *ret_size = k;
        return 0;
}

/* ---- files and sockets ---- */

static int copy_file(const char *from, const char *to) {
        const char *argv[] = { "cp", "--sparse=always", "--", from, to, NULL };
        return run(argv, NULL, NULL);
}

static int connect_unix(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static int free_loopback_port(void) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        socklen_t l = sizeof sa;
        if (getsockname(fd, (struct sockaddr *) &sa, &l) < 0)
                return -errno;
        return ntohs(sa.sin_port);
}

static bool name_valid(const char *s) {
        if (!s || !*s || strlen(s) > 32)
                return false;
        for (; *s; s++)
                if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-", *s))
                        return false;
        return true;
}

/* ---- creating and starting ---- */

/* The tap "lan0" made inside config.lan_netns (vm_netns_call_r): the
 * device lives there for as long as the fd is open. */
static int make_tap(void *userdata) {
        (void) userdata;
        int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "vm: /dev/net/tun: %m (is the tun module loaded?)");
        struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lan0");
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
                int r = log_error_errno(-errno, "vm: cannot create the tap lan0: %m");
                close(fd);
                return r;
        }
        /* above 3, so that spawn's dup2 to 3 makes a copy without CLOEXEC */
        int high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
        int r = high < 0 ? -errno : high;
        close(fd);
        return r;
}

static void vm_free(Vm *vm) {
        if (vm->lan_tap_fd >= 0)
                close(vm->lan_tap_fd);
        for (size_t i = 0; i < ELEMENTSOF(vm->owned); i++)
                free(vm->owned[i]);
        free(vm);
}

int vm_new_r(const VmConfig *c, Vm **ret) {
        if (!c || !name_valid(c->name) || !base_dir[0])
                return -EINVAL;
        if (c->bios && (c->secure_boot || c->vars_file))
                return -EINVAL;
        if (vm_count >= VM_LIST_MAX)
                return -E2BIG;
        for (size_t i = 0; i < vm_count; i++)
                if (streq(vm_list[i]->name, c->name))
                        return -EEXIST;

        Vm *vm = calloc(1, sizeof *vm);
        if (!vm)
                return -ENOMEM;
        vm->config = *c;
        vm->lan_tap_fd = -1;
        /* the VM keeps its own copies: every restart (reboot, power cut)
         * builds qemu's argv from them again, long after the caller's
         * buffers may be gone */
        const char **own[] = { &vm->config.kernel, &vm->config.initrd, &vm->config.cmdline,
                               &vm->config.vars_file, &vm->config.lan_netns };
        for (size_t i = 0; i < ELEMENTSOF(own); i++)
                if (*own[i] && !(*own[i] = vm->owned[i] = strdup(*own[i]))) {
                        vm_free(vm);
                        return -ENOMEM;
                }
        vm->serial_fd = vm->qmp_fd = vm->shell_fd = -1;
        vm->console_log_fd = -1;
        vm->owner = getpid();
        snprintf(vm->name, sizeof vm->name, "%s", c->name);
        snprintf(vm->dir, sizeof vm->dir, "%s/%s", base_dir, c->name);
        if (mkdir(vm->dir, 0755) < 0 && errno != EEXIST)
                goto fail_errno;
        /* sockets go to a short private directory: unix socket paths are
         * limited to 108 bytes and build directories can be deep */
        snprintf(vm->rundir, sizeof vm->rundir, "/tmp/ksvm.XXXXXX");
        if (!mkdtemp(vm->rundir))
                goto fail_errno;

        int r;
        snprintf(vm->vars_path, sizeof vm->vars_path, "%s/OVMF_VARS.fd", vm->dir);
        char real_vars[PATH_MAX], real_own[PATH_MAX];
        bool in_place = c->vars_file && realpath(c->vars_file, real_vars) && realpath(vm->vars_path, real_own) &&
                        streq(real_vars, real_own);
        if (!in_place && !c->bios) {
                r = copy_file(c->vars_file ? c->vars_file : OVMF_DIR "/OVMF_VARS_4M.fd", vm->vars_path);
                if (r < 0)
                        goto fail;
        }
        if (c->tpm) {
                snprintf(vm->tpm_dir, sizeof vm->tpm_dir, "%s/tpm", vm->dir);
                if (mkdir(vm->tpm_dir, 0700) < 0 && errno != EEXIST)
                        goto fail_errno;
        }
        for (size_t i = 0; i < VM_MAX_DISKS && c->disks[i].path; i++) {
                const VmDisk *d = &c->disks[i];
                const char *fmt = d->format ? d->format : "raw";
                if (!streq(fmt, "raw") && !streq(fmt, "qcow2")) {
                        r = -EINVAL;
                        goto fail;
                }
                if (access(d->path, R_OK) < 0)
                        goto fail_errno;
                if (d->serial && (strlen(d->serial) >= sizeof vm->disk_serials[i] || !*d->serial ||
                                  strspn(d->serial, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                    "0123456789._-") != strlen(d->serial))) {
                        r = -EINVAL;
                        goto fail;
                }
                snprintf(vm->disk_serials[i], sizeof vm->disk_serials[i], "%s", d->serial ? d->serial : "");
                vm->disk_boot[i] = d->boot_index ? d->boot_index : (unsigned) i + 1;
                if (d->overlay) {
                        snprintf(vm->disk_paths[i], sizeof vm->disk_paths[i], "%s/disk%zu.qcow2", vm->dir, i);
                        (void) unlink(vm->disk_paths[i]);
                        char backing[PATH_MAX];
                        if (!realpath(d->path, backing))
                                goto fail_errno;
                        const char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-F", fmt,
                                               "-b", backing, vm->disk_paths[i], NULL };
                        r = run(argv, NULL, NULL);
                        if (r < 0)
                                goto fail;
                        snprintf(vm->disk_formats[i], sizeof vm->disk_formats[i], "qcow2");
                } else {
                        snprintf(vm->disk_paths[i], sizeof vm->disk_paths[i], "%s", d->path);
                        snprintf(vm->disk_formats[i], sizeof vm->disk_formats[i], "%s", fmt);
                }
        }
        if (c->lan_netns) {
                r = vm->lan_tap_fd = vm_netns_call_r(c->lan_netns, make_tap, NULL);
                if (r < 0)
                        goto fail;
        }
        vm->config.name = vm->name;
        vm_list[vm_count++] = vm;
        *ret = vm;
        return 0;

fail_errno:
        r = -errno;
fail:
        if (vm->rundir[0] && !strstr(vm->rundir, "XXXXXX"))
                (void) rmdir(vm->rundir);
        vm_free(vm);
        return r;
}

static void serial_close(Vm *vm) {
        pthread_mutex_lock(&console_lock);
        if (vm->serial_fd >= 0)
                close(vm->serial_fd);
        vm->serial_fd = -1;
        vm->serial_gen++;
        pthread_mutex_unlock(&console_lock);
}

static void vm_close_channels(Vm *vm) {
        serial_close(vm);
        if (vm->qmp_fd >= 0) close(vm->qmp_fd);
        if (vm->shell_fd >= 0) close(vm->shell_fd);
        if (vm->console_log_fd >= 0) close(vm->console_log_fd);
        vm->serial_fd = vm->qmp_fd = vm->shell_fd = vm->console_log_fd = -1;
        strbuf_done(&vm->qmp_in);
        strbuf_done(&vm->shell_in);
}

static int start_swtpm(Vm *vm) {
        char state[PATH_MAX + 16], ctrl[sizeof vm->rundir + 64], logp[PATH_MAX + 16];
        snprintf(state, sizeof state, "dir=%s", vm->tpm_dir);
        snprintf(ctrl, sizeof ctrl, "type=unixio,path=%s/tpm", vm->rundir);
        snprintf(logp, sizeof logp, "%s/swtpm.log", vm->dir);
        (void) unlink(ctrl + strlen("type=unixio,path="));
        const char *argv[] = { "swtpm", "socket", "--tpm2", "--tpmstate", state, "--ctrl", ctrl,
                               "--terminate", NULL };
        int r = spawn_background(argv, &(SpawnOptions) { .log_path = logp }, &vm->swtpm_pid);
        if (r < 0)
                return r;
        /* qemu connects at once: wait for the socket */
        char path[sizeof vm->rundir + 8];
        snprintf(path, sizeof path, "%s/tpm", vm->rundir);
        for (int64_t end = monotonic_ms() + 10000; monotonic_ms() < end;) {
                if (access(path, F_OK) == 0)
                        return 0;
                if (spawn_poll(vm->swtpm_pid, NULL) != 0) {
                        vm->swtpm_pid = 0;
                        return -ECHILD;
                }
                usleep(20000);
        }
        return -ETIMEDOUT;
}

/* a tiny arena for the argv strings of one qemu command line */
typedef struct ArgBuf {
        char data[16384];
        size_t used;
} ArgBuf;

static const char *arg_printf(ArgBuf *b, const char *fmt, ...) _printf_(2, 3);
static const char *arg_printf(ArgBuf *b, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->data + b->used, sizeof b->data - b->used, fmt, ap);
        va_end(ap);
        if (k < 0 || (size_t) k >= sizeof b->data - b->used)
                return NULL;
        const char *s = b->data + b->used;
        b->used += k + 1;
        return s;
}

static int build_qemu_argv(Vm *vm, ArgBuf *ab, const char **argv, size_t max) {
        const VmConfig *c = &vm->config;
        size_t n = 0;
#define A(s) do { const char *_s = (s); if (!_s || n + 2 >= max) return -E2BIG; argv[n++] = _s; } while (0)
#define AF(...) A(arg_printf(ab, __VA_ARGS__))
        A("qemu-system-x86_64");
        A("-nodefaults");
        /* A reset ends this qemu and the driver starts a new one (see
         * restart_after_reset): under TCG, OVMF crawled for 20 s to over
         * two minutes in its SEC phase after a warm reset of a guest that had
         * run a while, and boots at once in a new process. */
        A("-no-reboot");
        A("-accel"); A("tcg");
        A("-machine"); A(c->secure_boot ? "q35,smm=on" : "q35");
        A("-m"); AF("%u", c->memory_mb ? c->memory_mb : 1024);
        A("-smp"); AF("%u", c->cpus ? c->cpus : 1);
        A("-display"); A("none");
        A("-device"); A("VGA");
        if (c->secure_boot) {
                A("-global"); A("driver=cfi.pflash01,property=secure,value=on");
                A("-global"); A("ICH9-LPC.disable_s3=1");
        }
        if (!c->bios) {
                A("-drive"); AF("if=pflash,format=raw,unit=0,readonly=on,file=%s",
                                c->secure_boot ? OVMF_DIR "/OVMF_CODE_4M.secboot.fd" : OVMF_DIR "/OVMF_CODE_4M.fd");
                A("-drive"); AF("if=pflash,format=raw,unit=1,file=%s", vm->vars_path);
        }
        if (c->tpm) {
                A("-chardev"); AF("socket,id=chrtpm,path=%s/tpm", vm->rundir);
                A("-tpmdev"); A("emulator,id=tpm0,chardev=chrtpm");
                A("-device"); A("tpm-crb,tpmdev=tpm0");
        }
        for (size_t i = 0; i < VM_MAX_DISKS && vm->disk_paths[i][0]; i++) {
                A("-drive"); AF("if=none,id=disk%zu,format=%s,cache=unsafe,discard=unmap,file=%s",
                                i, vm->disk_formats[i], vm->disk_paths[i]);
                A("-device"); AF("virtio-blk-pci,drive=disk%zu,bootindex=%u%s%s", i, vm->disk_boot[i],
                                 vm->disk_serials[i][0] ? ",serial=" : "", vm->disk_serials[i]);
        }
        if (c->kernel) {
                A("-kernel"); A(c->kernel);
                if (c->initrd) { A("-initrd"); A(c->initrd); }
                if (c->cmdline) { A("-append"); A(c->cmdline); }
        }
        if (c->ssh) {
                A("-netdev"); AF("user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:%d-:22", vm->ssh_port);
        } else {
                A("-netdev"); A("user,id=net0,restrict=on");
        }
        A("-device"); A("virtio-net-pci,netdev=net0");
        if (vm->lan_tap_fd >= 0) {
                A("-netdev"); A("tap,id=lan0,fd=3");
                A("-device"); A("virtio-net-pci,netdev=lan0,mac=52:54:00:4b:53:01");
        }
        A("-chardev"); AF("socket,id=qmp,path=%s/qmp,server=on,wait=off", vm->rundir);
        A("-mon"); A("chardev=qmp,mode=control");
        A("-device"); A("virtio-serial-pci");
        A("-chardev"); AF("socket,id=shell,path=%s/shell,server=on,wait=off", vm->rundir);
        A("-device"); A("virtserialport,chardev=shell,name=keystone.shell");
        /* last: qemu blocks here until the driver has connected */
        A("-chardev"); AF("socket,id=ser0,path=%s/serial,server=on,wait=on", vm->rundir);
        A("-serial"); A("chardev:ser0");
        argv[n] = NULL;
        return 0;
#undef A
#undef AF
}

static int connect_retry(Vm *vm, const char *what, int timeout_ms) {
        char path[sizeof vm->rundir + 16];
        snprintf(path, sizeof path, "%s/%s", vm->rundir, what);
        for (int64_t end = monotonic_ms() + timeout_ms;;) {
                int fd = connect_unix(path);
                if (fd >= 0)
                        return fd;
                if (spawn_poll(vm->qemu_pid, &vm->qemu_status) != 0) {
                        vm->qemu_pid = 0;
                        return -ECHILD;
                }
                if (monotonic_ms() >= end)
                        return fd;
                usleep(20000);
        }
}

int vm_start_r(Vm *vm) {
        if (vm->qemu_pid > 0)
                return -EBUSY;
        vm_close_channels(vm);
        pthread_mutex_lock(&console_lock);
        vm->console_mark = vm->console.size;
        pthread_mutex_unlock(&console_lock);
        int r;
        if (vm->config.ssh && vm->ssh_port == 0) {
                r = free_loopback_port();
                if (r < 0)
                        return r;
                vm->ssh_port = r;
        }
        if (vm->config.tpm) {
                r = start_swtpm(vm);
                if (r < 0)
                        return r;
        }
        ArgBuf ab = {};
        const char *argv[128];
        r = build_qemu_argv(vm, &ab, argv, ELEMENTSOF(argv));
        if (r < 0)
                return r;
        char logp[PATH_MAX + 16];
        snprintf(logp, sizeof logp, "%s/qemu.log", vm->dir);
        snprintf(vm->console_path, sizeof vm->console_path, "%s/console.log", vm->dir);
        vm->console_log_fd = open(vm->console_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (vm->console_log_fd < 0)
                return -errno;
        r = spawn_background(argv, &(SpawnOptions) { .log_path = logp, .pass_fd = vm->lan_tap_fd },
                             &vm->qemu_pid);
        if (r < 0)
                return r;
        vm->started_ms = monotonic_ms();
        /* serial first: qemu waits for it before it runs the guest */
        r = console_thread_ensure();
        if (r < 0)
                return r;
        r = connect_retry(vm, "serial", 30000);
        if (r < 0)
                return r;
        pthread_mutex_lock(&console_lock);
        vm->serial_fd = r;
        pthread_mutex_unlock(&console_lock);
        r = connect_retry(vm, "qmp", 10000);
        if (r < 0)
                return r;
        vm->qmp_fd = r;
        r = connect_retry(vm, "shell", 10000);
        if (r < 0)
                return r;
        vm->shell_fd = r;
        r = vm_qmp_r(vm, "qmp_capabilities", NULL, NULL);
        if (r < 0)
                return r;
        return 0;
}

/* ---- the console thread ---- */

/* called with console_lock held */
static void console_add(Vm *vm, const char *data, size_t n) {
        char clean[4096];
        size_t k = 0;
        for (size_t i = 0; i < n && k < sizeof clean; i++) {
                if (data[i] == '\r' || data[i] == 0)
                        continue;
                clean[k++] = data[i];
        }
        if (k == 0)
                return;
        (void) strbuf_append(&vm->console, clean, k);
        if (vm->console_log_fd >= 0)
                (void) !write(vm->console_log_fd, clean, k);
}

static void *console_thread_main(void *arg) {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, NULL);
        while (!console_thread_stop) {
                struct pollfd p[VM_LIST_MAX];
                Vm *who[VM_LIST_MAX];
                unsigned gen[VM_LIST_MAX];
                size_t np = 0;
                pthread_mutex_lock(&console_lock);
                for (size_t i = 0; i < vm_count; i++)
                        if (vm_list[i] && vm_list[i]->serial_fd >= 0) {
                                who[np] = vm_list[i];
                                gen[np] = vm_list[i]->serial_gen;
                                p[np++] = (struct pollfd) { .fd = vm_list[i]->serial_fd, .events = POLLIN };
                        }
                pthread_mutex_unlock(&console_lock);
                if (np == 0) {
                        usleep(50000);
                        continue;
                }
                int k = poll(p, np, 100);
                if (k <= 0)
                        continue;
                pthread_mutex_lock(&console_lock);
                for (size_t i = 0; i < np; i++) {
                        Vm *vm = who[i];
                        /* the fd may have been closed (and its number reused) meanwhile */
                        if (!p[i].revents || vm->serial_gen != gen[i] || vm->serial_fd != p[i].fd)
                                continue;
                        char buf[4096];
                        ssize_t l = read(vm->serial_fd, buf, sizeof buf);
                        if (l < 0 && (errno == EAGAIN || errno == EINTR))
                                continue;
                        if (l <= 0) {
                                close(vm->serial_fd);
                                vm->serial_fd = -1;
                                vm->serial_gen++;
                                continue;
                        }
                        console_add(vm, buf, l);
                }
                pthread_mutex_unlock(&console_lock);
        }
        return NULL;
}

static void atfork_prepare(void) { pthread_mutex_lock(&console_lock); }
static void atfork_release(void) { pthread_mutex_unlock(&console_lock); }

static int console_thread_ensure(void) {
        if (console_thread_owner == getpid())
                return 0;
        static bool atfork_done;
        if (!atfork_done) {
                pthread_atfork(atfork_prepare, atfork_release, atfork_release);
                atfork_done = true;
        }
        console_thread_stop = false;
        int r = pthread_create(&console_thread, NULL, console_thread_main, NULL);
        if (r != 0)
                return -r;
        console_thread_owner = getpid();
        return 0;
}

static void console_thread_end(void) {
        if (console_thread_owner != getpid())
                return;
        console_thread_stop = true;
        pthread_join(console_thread, NULL);
        console_thread_owner = 0;
}

void vm_console_mark_end(Vm *vm) {
        pthread_mutex_lock(&console_lock);
        vm->console_mark = vm->console.size;
        pthread_mutex_unlock(&console_lock);
}

char *vm_console_copy(Vm *vm) {
        pthread_mutex_lock(&console_lock);
        char *c = strdup(vm->console.data ? vm->console.data : "");
        pthread_mutex_unlock(&console_lock);
        return c;
}

/* ---- the pump: QMP and shell channels, and noticing qemu's exit ---- */

/* Takes the QMP events out of qmp_in (replies stay for vm_qmp_r) and notes
 * a SHUTDOWN caused by a reset: with -no-reboot that is how qemu reports a
 * reboot of the guest or of the firmware. */
static void qmp_take_events(Vm *vm) {
        StrBuf keep = {};
        char *nl;
        while (vm->qmp_in.data && (nl = memchr(vm->qmp_in.data, '\n', vm->qmp_in.size))) {
                size_t len = nl - vm->qmp_in.data;
                json_object *o = NULL, *ev, *data, *reason;
                char *line = strndup(vm->qmp_in.data, len);
                if (line)
                        o = json_tokener_parse(line);
                if (o && json_object_object_get_ex(o, "event", &ev)) {
                        const char *why = json_object_object_get_ex(o, "data", &data) &&
                                          json_object_object_get_ex(data, "reason", &reason) ?
                                          json_object_get_string(reason) : "";
                        log_debug("%s: QMP event %s %s", vm->name, json_object_get_string(ev), why);
                        if (streq(json_object_get_string(ev), "SHUTDOWN") &&
                            (streq(why, "guest-reset") || streq(why, "host-qmp-system-reset")))
                                vm->reset_pending = true;
                } else
                        (void) strbuf_append(&keep, vm->qmp_in.data, len + 1);
                json_object_put(o);
                free(line);
                strbuf_consume(&vm->qmp_in, len + 1);
        }
        if (vm->qmp_in.size > 0)
                (void) strbuf_append(&keep, vm->qmp_in.data, vm->qmp_in.size);
        strbuf_done(&vm->qmp_in);
        vm->qmp_in = keep;
}

static void restart_after_reset(Vm *vm) {
        vm->reset_pending = false;
        size_t mark;
        pthread_mutex_lock(&console_lock);
        mark = vm->console_mark;
        pthread_mutex_unlock(&console_lock);
        int r = vm_power_cycle_r(vm);
        if (r < 0) {
                log_error_errno(r, "%s: starting qemu again after the guest's reset failed: %m", vm->name);
                return;
        }
        /* a console wait under way still sees what the reboot printed */
        pthread_mutex_lock(&console_lock);
        vm->console_mark = mark;
        pthread_mutex_unlock(&console_lock);
}

static void check_exited(Vm *vm) {
        if (vm->qemu_pid > 0 && spawn_poll(vm->qemu_pid, &vm->qemu_status) > 0) {
                log_debug("%s: qemu exited (status 0x%x)", vm->name, vm->qemu_status);
                vm->qemu_pid = 0;
                /* the last events may still be in the socket */
                char buf[4096];
                ssize_t l;
                while (vm->qmp_fd >= 0 && (l = recv(vm->qmp_fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
                        (void) strbuf_append(&vm->qmp_in, buf, l);
                qmp_take_events(vm);
                if (vm->reset_pending)
                        restart_after_reset(vm);
        }
        if (vm->swtpm_pid > 0 && spawn_poll(vm->swtpm_pid, NULL) > 0)
                vm->swtpm_pid = 0;
}

int vm_pump(int timeout_ms) {
        struct pollfd p[VM_LIST_MAX * 2];
        struct { Vm *vm; int which; } who[VM_LIST_MAX * 2];
        size_t np = 0;
        for (size_t i = 0; i < vm_count; i++) {
                /* a forked child talks to its parent's VMs too (vm-driver-fails) */
                Vm *vm = vm_list[i];
                int fds[2] = { vm->qmp_fd, vm->shell_fd };
                for (int j = 0; j < 2; j++)
                        if (fds[j] >= 0) {
                                p[np] = (struct pollfd) { .fd = fds[j], .events = POLLIN };
                                who[np].vm = vm;
                                who[np++].which = j;
                        }
        }
        if (np == 0) {
                usleep(timeout_ms * 1000);
        } else {
                int k = poll(p, np, timeout_ms);
                if (k < 0 && errno != EINTR)
                        return -errno;
                for (size_t i = 0; k > 0 && i < np; i++) {
                        if (!p[i].revents)
                                continue;
                        Vm *vm = who[i].vm;
                        char buf[4096];
                        ssize_t l = read(p[i].fd, buf, sizeof buf);
                        if (l < 0 && (errno == EAGAIN || errno == EINTR))
                                continue;
                        if (l <= 0) {
                                /* qemu closed the channel: it is exiting */
                                int *fd = who[i].which == 0 ? &vm->qmp_fd : &vm->shell_fd;
                                close(*fd);
                                *fd = -1;
                                continue;
                        }
                        (void) strbuf_append(who[i].which == 0 ? &vm->qmp_in : &vm->shell_in, buf, l);
                        if (who[i].which == 0)
                                qmp_take_events(vm);
                }
        }
        for (size_t i = 0; i < vm_count; i++)
                if (vm_list[i]->owner == getpid())
                        check_exited(vm_list[i]);
        return 0;
}

static int write_all(Vm *vm, int *fdp, const char *data, size_t n, int64_t deadline) {
        while (n > 0) {
                if (*fdp < 0)
                        return -ECONNRESET;
                ssize_t k = write(*fdp, data, n);
                if (k < 0 && errno != EAGAIN && errno != EINTR)
                        return -errno;
                if (k > 0) {
                        data += k;
                        n -= k;
                        continue;
                }
                if (monotonic_ms() >= deadline)
                        return -ETIMEDOUT;
                /* keep reading while the other side is not reading */
                int r = vm_pump(20);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- console ---- */

int vm_console_type_r(Vm *vm, const char *text) {
        /* the serial socket is non-blocking; a line of keystrokes fits */
        size_t n = strlen(text);
        int r = 0;
        pthread_mutex_lock(&console_lock);
        while (n > 0) {
                if (vm->serial_fd < 0) {
                        r = -ECONNRESET;
                        break;
                }
                ssize_t k = write(vm->serial_fd, text, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        break;
                }
                text += k;
                n -= (size_t) k;
        }
        pthread_mutex_unlock(&console_lock);
        return r;
}

int vm_console_wait_r(Vm *vm, const char *regex, int timeout_ms) {
        /* No console thread is started here: in a forked child the parent's
         * thread still reads the console, and two readers would split it. */
        int r;
        regex_t re;
        if (regcomp(&re, regex, REG_EXTENDED | REG_NEWLINE) != 0)
                return -EINVAL;
        int64_t end = monotonic_ms() + timeout_ms;
        for (;;) {
                regmatch_t m;
                pthread_mutex_lock(&console_lock);
                bool found = vm->console.data && vm->console_mark <= vm->console.size &&
                             regexec(&re, vm->console.data + vm->console_mark, 1, &m, 0) == 0;
                if (found)
                        vm->console_mark += m.rm_eo;
                bool closed = vm->serial_fd < 0;
                pthread_mutex_unlock(&console_lock);
                if (found) {
                        r = 0;
                        break;
                }
                if (vm->qemu_pid <= 0 && closed) {
                        r = -ESHUTDOWN;
                        break;
                }
                int64_t left = end - monotonic_ms();
                if (left <= 0) {
                        r = -ETIMEDOUT;
                        break;
                }
                r = vm_pump(left > 200 ? 200 : (int) left);
                if (r < 0)
                        break;
        }
        regfree(&re);
        return r;
}

/* ---- the test shell ---- */

void vm_shell_result_done(VmShellResult *r) {
        if (!r)
                return;
        free(r->out);
        free(r->err);
        *r = (VmShellResult) {};
}

static void shell_new_id(char *id, size_t n) {
        snprintf(id, n, "ks%dx%u", (int) getpid(), ++shell_seq);
}

/* Takes complete lines from the shell channel; returns a line starting with
 * "<id> " (malloc'd) or NULL when none is there yet.  Other lines (answers
 * to earlier, abandoned commands) are dropped. */
static char *shell_take_line(Vm *vm, const char *id) {
        size_t idl = strlen(id);
        for (;;) {
                char *nl = vm->shell_in.data ? memchr(vm->shell_in.data, '\n', vm->shell_in.size) : NULL;
                if (!nl)
                        return NULL;
                size_t len = nl - vm->shell_in.data;
                char *line = NULL;
                if (len > idl && strneq(vm->shell_in.data, id, idl) && vm->shell_in.data[idl] == ' ')
                        line = strndup(vm->shell_in.data, len);
                strbuf_consume(&vm->shell_in, len + 1);
                if (line)
                        return line;
        }
}

/* "run ID TIMEOUT BASE64" on the shell channel: CMD under a new id (in ID)
 * that the guest ends after GUEST_TIMEOUT s; written by DEADLINE. */
static int shell_send_run(Vm *vm, const char *cmd, int guest_timeout, char id[static 64], int64_t deadline) {
        shell_new_id(id, 64);
        _cleanup_free_ char *b64 = vm_base64_encode(cmd, strlen(cmd));
        if (!b64)
                return -ENOMEM;
        _cleanup_free_ char *line = NULL;
        if (asprintf(&line, "\nrun %s %d %s\n", id, guest_timeout, b64) < 0)
                return -ENOMEM;
        return write_all(vm, &vm->shell_fd, line, strlen(line), deadline);
}

int vm_shell_send_r(Vm *vm, const char *cmd) {
        char id[64];
        return shell_send_run(vm, cmd, 3600, id, monotonic_ms() + 10000);
}

int vm_shell_ping_r(Vm *vm, int timeout_ms) {
        int64_t end = monotonic_ms() + timeout_ms;
        while (monotonic_ms() < end) {
                char id[64];
                shell_new_id(id, sizeof id);
                char line[96];
                snprintf(line, sizeof line, "\nping %s\n", id);
                int r = write_all(vm, &vm->shell_fd, line, strlen(line), end);
                if (r < 0)
                        return r;
                /* a second per ping: the shell may start at any moment */
                for (int64_t next = monotonic_ms() + 1000; monotonic_ms() < next && monotonic_ms() < end;) {
                        _cleanup_free_ char *l = shell_take_line(vm, id);
                        if (l)
                                return 0;
                        if (vm->qemu_pid <= 0)
                                return -ESHUTDOWN;
                        r = vm_pump(100);
                        if (r < 0)
                                return r;
                }
        }
        return -ETIMEDOUT;
}

int vm_shell_run_r(Vm *vm, const char *cmd, int timeout_ms, VmShellResult *ret) {
        char id[64];
        int64_t end = monotonic_ms() + timeout_ms + 5000;
        int r = shell_send_run(vm, cmd, timeout_ms / 1000 > 1 ? timeout_ms / 1000 : 1, id, end);
        if (r < 0)
                return r;
        VmShellResult res = { .status = -1 };
        bool have_out = false, have_err = false;
        for (;;) {
                char *l;
                while ((l = shell_take_line(vm, id))) {
                        const char *rest = l + strlen(id) + 1;
                        const char *v;
                        if ((v = startswith(rest, "OUT ")) && !have_out) {
                                r = vm_base64_decode(v, strlen(v), &res.out, &res.out_size);
                                have_out = r == 0;
                        } else if ((v = startswith(rest, "ERR ")) && !have_err) {
                                r = vm_base64_decode(v, strlen(v), &res.err, &res.err_size);
                                have_err = r == 0;
                        } else if ((v = startswith(rest, "END "))) {
                                res.status = atoi(v);
                                free(l);
                                if (!have_out || !have_err) {
                                        vm_shell_result_done(&res);
                                        return -EBADMSG;
                                }
                                *ret = res;
                                return 0;
                        }
                        free(l);
                        if (r < 0) {
                                vm_shell_result_done(&res);
                                return r;
                        }
                }
                if (vm->qemu_pid <= 0) {
                        vm_shell_result_done(&res);
                        return -ESHUTDOWN;
                }
                int64_t left = end - monotonic_ms();
                if (left <= 0) {
                        vm_shell_result_done(&res);
                        return -ETIMEDOUT;
                }
                r = vm_pump(left > 200 ? 200 : (int) left);
                if (r < 0) {
                        vm_shell_result_done(&res);
                        return r;
                }
        }
}

/* ---- QMP ---- */

int vm_qmp_r(Vm *vm, const char *command, const char *args_json, char **ret_json) {
        _cleanup_free_ char *req = NULL;
        if (asprintf(&req, "{\"execute\":\"%s\"%s%s}\n", command, args_json ? ",\"arguments\":" : "",
                     args_json ? args_json : "") < 0)
                return -ENOMEM;
        int64_t end = monotonic_ms() + 30000;
        int r = write_all(vm, &vm->qmp_fd, req, strlen(req), end);
        if (r < 0)
                return r;
        for (;;) {
                char *nl;
                while (vm->qmp_in.data && (nl = memchr(vm->qmp_in.data, '\n', vm->qmp_in.size))) {
                        size_t len = nl - vm->qmp_in.data;
                        _cleanup_free_ char *line = strndup(vm->qmp_in.data, len);
                        strbuf_consume(&vm->qmp_in, len + 1);
                        if (!line)
                                return -ENOMEM;
                        json_object *o = json_tokener_parse(line);
                        if (!o)
                                continue;
                        json_object *v;
                        if (json_object_object_get_ex(o, "return", &v)) {
                                if (ret_json) {
                                        *ret_json = strdup(json_object_to_json_string(v));
                                        if (!*ret_json) {
                                                json_object_put(o);
                                                return -ENOMEM;
                                        }
                                }
                                json_object_put(o);
                                return 0;
                        }
                        if (json_object_object_get_ex(o, "error", &v)) {
                                log_debug("%s: QMP %s failed: %s", vm->name, command, json_object_to_json_string(v));
                                json_object_put(o);
                                return -EREMOTEIO;
                        }
                        /* the greeting (events were taken out by vm_pump) */
                        json_object_put(o);
                }
                if (vm->qmp_fd < 0)
                        return -ECONNRESET;
                if (monotonic_ms() >= end)
                        return -ETIMEDOUT;
                r = vm_pump(100);
                if (r < 0)
                        return r;
        }
}

/* ---- stopping ---- */

int vm_wait_exit_r(Vm *vm, int timeout_ms) {
        int64_t end = monotonic_ms() + timeout_ms;
        while (vm->qemu_pid > 0) {
                if (monotonic_ms() >= end)
                        return -ETIMEDOUT;
                int r = vm_pump(100);
                if (r < 0)
                        return r;
        }
        /* let the console thread drain what is left */
        for (;;) {
                pthread_mutex_lock(&console_lock);
                bool open = vm->serial_fd >= 0;
                pthread_mutex_unlock(&console_lock);
                if (!open || monotonic_ms() >= end)
                        break;
                usleep(20000);
        }
        if (vm->swtpm_pid > 0) {
                /* swtpm --terminate ends when qemu disconnects */
                for (int64_t e2 = monotonic_ms() + 5000; vm->swtpm_pid > 0 && monotonic_ms() < e2;)
                        (void) vm_pump(50);
                (void) spawn_stop(vm->swtpm_pid, 2000);
                vm->swtpm_pid = 0;
        }
        vm_close_channels(vm);
        return 0;
}

int vm_power_cycle_r(Vm *vm) {
        int r;
        if (vm->qemu_pid > 0) {
                r = vm_qmp_r(vm, "quit", NULL, NULL);
                if (r < 0 && r != -ECONNRESET)
                        return r;
        }
        /* also when qemu has gone: drains the console, stops swtpm */
        r = vm_wait_exit_r(vm, 30000);
        if (r < 0)
                return r;
        vm->power_cycles++;
        log_debug("%s: starting qemu again (power cycle %u)", vm->name, vm->power_cycles);
        return vm_start_r(vm);
}

void vm_stop(Vm *vm) {
        if (!vm || vm->owner != getpid())
                return;
        if (vm->qemu_pid > 0) {
                (void) spawn_stop(vm->qemu_pid, 5000);
                vm->qemu_pid = 0;
        }
        if (vm->swtpm_pid > 0) {
                (void) spawn_stop(vm->swtpm_pid, 2000);
                vm->swtpm_pid = 0;
        }
        vm_close_channels(vm);
}

void vm_destroy_all(void) {
        for (size_t i = 0; i < vm_count; i++)
                if (vm_list[i] && vm_list[i]->owner == getpid())
                        vm_stop(vm_list[i]);
        console_thread_end();
        for (size_t i = 0; i < vm_count; i++) {
                Vm *vm = vm_list[i];
                if (!vm)
                        continue;
                if (vm->owner != getpid()) {
                        /* a forked child: our parent's VMs are not ours to stop */
                        vm_close_channels(vm);
                        strbuf_done(&vm->console);
                        vm_free(vm);
                        vm_list[i] = NULL;
                        continue;
                }
                vm_stop(vm);
                char p[sizeof vm->rundir + 16];
                const char *names[] = { "serial", "qmp", "shell", "tpm" };
                for (size_t j = 0; j < ELEMENTSOF(names); j++) {
                        snprintf(p, sizeof p, "%s/%s", vm->rundir, names[j]);
                        (void) unlink(p);
                }
                (void) rmdir(vm->rundir);
                strbuf_done(&vm->console);
                vm_free(vm);
                vm_list[i] = NULL;
        }
        vm_count = 0;
}

/* async-signal-safe: only kill() */
void vm_kill_all_from_signal(void) {
        for (size_t i = 0; i < vm_count; i++) {
                Vm *vm = vm_list[i];
                if (!vm || vm->owner != getpid())
                        continue;
                if (vm->qemu_pid > 0)
                        kill(vm->qemu_pid, SIGKILL);
                if (vm->swtpm_pid > 0)
                        kill(vm->swtpm_pid, SIGKILL);
        }
}

const char *vm_name(const Vm *vm) { return vm->name; }
const char *vm_dir(const Vm *vm) { return vm->dir; }
int vm_ssh_port(const Vm *vm) { return vm->ssh_port; }
bool vm_running(const Vm *vm) { return vm->qemu_pid > 0; }
int vm_qemu_status(const Vm *vm) { return vm->qemu_status; }
int64_t vm_started_ms(const Vm *vm) { return vm->started_ms; }
Vm *vm_nth(size_t i) { return i < vm_count ? vm_list[i] : NULL; }
