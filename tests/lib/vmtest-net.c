/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/run.h"
#include "vm/netns.h"
#include "vm/vm.h"
#include "vmtest-net.h"
#include "vmtest.h"

static int ip(const char *const argv[]) {
        RunResult res = {};
        int r = run(argv, &(RunOptions) { .timeout_ms = 30 * 1000 }, &res);
        if (r == -EPROTO)
                log_error("vmtest: %s %s %s: %s", argv[0], argv[1], argv[2], run_result_describe(&res));
        run_result_done(&res);
        return r;
}

int vmtest_netns_add_r(const char *name) {
        if (!name || !*name || strchr(name, '/'))
                return -EINVAL;
        (void) vmtest_netns_del_r(name);
        return ip((const char *[]) { "ip", "netns", "add", name, NULL });
}

int vmtest_netns_del_r(const char *name) {
        char path[256];
        snprintf(path, sizeof path, "/run/netns/%s", name);
        if (access(path, F_OK) < 0)
                return 0;
        return ip((const char *[]) { "ip", "netns", "del", name, NULL });
}

int vmtest_netns_lan_up_r(const char *name, const char *ifname, const char *addr_cidr) {
        int r = ip((const char *[]) { "ip", "-n", name, "link", "set", ifname, "up", NULL });
        if (r >= 0)
                r = ip((const char *[]) { "ip", "-n", name, "addr", "replace", addr_cidr, "dev", ifname, NULL });
        if (r >= 0)
                r = ip((const char *[]) { "ip", "-n", name, "route", "replace", "224.0.0.0/4", "dev", ifname,
                                          NULL });
        return r;
}

static int make_udp_socket(void *userdata) {
        (void) userdata;
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        return fd < 0 ? -errno : fd;
}

/* The first A record for HOSTNAME in the answer section of a response to
 * query ID. */
static int parse_answer(const unsigned char *msg, int len, unsigned id, const char *hostname, char *ret,
                        size_t size) {
        ns_msg h;
        if (ns_initparse(msg, len, &h) < 0 || ns_msg_id(h) != id || !ns_msg_getflag(h, ns_f_qr))
                return -EBADMSG;
        for (int i = 0; i < ns_msg_count(h, ns_s_an); i++) {
                ns_rr rr;
                if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
                        return -EBADMSG;
                /* the cache-flush bit shares the class field in mDNS */
                if (ns_rr_type(rr) != ns_t_a || (ns_rr_class(rr) & 0x7fff) != ns_c_in || ns_rr_rdlen(rr) != 4 ||
                    strcasecmp(ns_rr_name(rr), hostname) != 0)
                        continue;
                if (!inet_ntop(AF_INET, ns_rr_rdata(rr), ret, size))
                        return -errno;
                return 0;
        }
        return -ENOENT;
}

int vmtest_mdns_resolve_r(const char *netns, const char *hostname, int timeout_ms, char *ret_addr,
                          size_t size) {
        if (!netns || !hostname || !ret_addr || size < INET_ADDRSTRLEN)
                return -EINVAL;
        unsigned char query[NS_PACKETSZ];
        int qlen = res_mkquery(ns_o_query, hostname, ns_c_in, ns_t_a, NULL, 0, NULL, query, sizeof query);
        if (qlen < 0)
                return -EINVAL;
        /* mDNS queries carry no recursion-desired bit */
        query[2] &= (unsigned char) ~0x01;
        unsigned id = (unsigned) query[0] << 8 | query[1];

        _cleanup_close_ int fd = vm_netns_call_r(netns, make_udp_socket, NULL);
        if (fd < 0)
                return fd;
        const struct sockaddr_in group = { .sin_family = AF_INET, .sin_port = htons(5353),
                                           .sin_addr.s_addr = htonl(0xe00000fb) /* 224.0.0.251 */ };
        int64_t end = monotonic_ms() + timeout_ms, next_send = 0;
        for (;;) {
                int64_t t = monotonic_ms();
                if (t >= end)
                        return -ETIMEDOUT;
                if (t >= next_send) {
                        /* ENETUNREACH while the link comes up: keep asking */
                        (void) sendto(fd, query, qlen, 0, (const struct sockaddr *) &group, sizeof group);
                        next_send = t + 1000;
                }
                int64_t wait = (next_send < end ? next_send : end) - t;
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, (int) (wait > 0 ? wait : 1)) <= 0)
                        continue;
                unsigned char msg[NS_MAXMSG];
                ssize_t n = recv(fd, msg, sizeof msg, 0);
                if (n > 0 && parse_answer(msg, (int) n, id, hostname, ret_addr, size) == 0)
                        return 0;
        }
}

static int make_tcp_socket(void *userdata) {
        (void) userdata;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        return fd < 0 ? -errno : fd;
}

int vmtest_tcp_probe_r(const char *netns, const char *addr, int port, int timeout_ms, char *banner,
                       size_t banner_size) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        if (banner_size)
                *banner = 0;
        if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1 || port <= 0 || port > 65535)
                return -EINVAL;
        _cleanup_close_ int fd = vm_netns_call_r(netns, make_tcp_socket, NULL);
        if (fd < 0)
                return fd;
        int64_t end = monotonic_ms() + timeout_ms;
        if (connect(fd, (const struct sockaddr *) &sa, sizeof sa) < 0 && errno != EINPROGRESS)
                return -errno;
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int n = poll(&p, 1, timeout_ms);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ETIMEDOUT;      /* no SYN-ACK and no RST: dropped */
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                return -errno;
        if (err)
                return -err;            /* ECONNREFUSED: an RST came back */
        if (!banner_size)
                return 0;
        /* what the server says first (sshd: "SSH-2.0-…") */
        size_t got = 0;
        while (got + 1 < banner_size && !memchr(banner, '\n', got)) {
                int64_t left = end - monotonic_ms();
                p = (struct pollfd) { .fd = fd, .events = POLLIN };
                if (left <= 0 || poll(&p, 1, (int) left) <= 0)
                        break;
                ssize_t k = read(fd, banner + got, banner_size - 1 - got);
                if (k <= 0)
                        break;
                got += (size_t) k;
                banner[got] = 0;
        }
        return 0;
}

/* ---- test layer ---- */

static char netns_name[32];
static pid_t netns_owner;

static void netns_at_exit(void) {
        if (netns_name[0] && getpid() == netns_owner) {
                vm_destroy_all(); /* the taps go with their VMs first */
                (void) vmtest_netns_del_r(netns_name);
        }
}

const char *vmtest_netns(void) {
        if (netns_name[0])
                return netns_name;
        char name[sizeof netns_name];
        snprintf(name, sizeof name, "ksvm-%d", (int) getpid());
        int r = vmtest_netns_add_r(name);
        if (r < 0)
                vmtest_fail("cannot make the network namespace %s: %s (needs root and iproute2)", name,
                            strerror(-r));
        snprintf(netns_name, sizeof netns_name, "%s", name);
        netns_owner = getpid();
        atexit(netns_at_exit);
        return netns_name;
}

void vmtest_netns_lan_up(const char *addr_cidr) {
        int r = vmtest_netns_lan_up_r(vmtest_netns(), "lan0", addr_cidr);
        if (r < 0)
                vmtest_fail("cannot bring up lan0 with %s in the network namespace %s: %s", addr_cidr,
                            vmtest_netns(), strerror(-r));
}

const char *vmtest_mdns_resolve(const char *hostname, int timeout_s) {
        static char addr[INET_ADDRSTRLEN];
        int r = vmtest_mdns_resolve_r(vmtest_netns(), hostname, timeout_s * 1000, addr, sizeof addr);
        if (r == -ETIMEDOUT)
                vmtest_fail("no mDNS answer for %s within %d s from the network namespace %s "
                            "(is avahi-daemon running in the guest, with an address on its LAN NIC?)",
                            hostname, timeout_s, vmtest_netns());
        if (r < 0)
                vmtest_fail("mDNS query for %s from %s: %s", hostname, vmtest_netns(), strerror(-r));
        return addr;
}
