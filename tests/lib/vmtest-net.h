/* SPDX-License-Identifier: MIT */
#pragma once

/* A private LAN for one VM scenario: a network namespace on the host
 * holding the tap end of the VM's second NIC (VmConfig.lan_netns), with an
 * address of its own, from which the test queries the guest the way another
 * machine on its LAN would, mDNS first.  Nothing in it reaches the host's
 * own network: the namespace has no other device and no route out. */

#include <stddef.h>

/* ---- 0 or -errno, no output (the sockets are made in NETNS with
 * vm_netns_call_r(), src/vm/netns.h) ---- */

/* Makes the network namespace NAME ("ip netns add"), replacing a stale one
 * of that name. */
int vmtest_netns_add_r(const char *name);
int vmtest_netns_del_r(const char *name);
/* In NAME: the tap IFNAME up with ADDR_CIDR ("10.77.0.2/24") and a route for
 * multicast (224.0.0.0/4) on it. */
int vmtest_netns_lan_up_r(const char *name, const char *ifname, const char *addr_cidr);
/* An mDNS query for HOSTNAME's A record ("boot-flow.local"), sent from
 * inside NETNS to 224.0.0.251:5353 from an ordinary port (a "legacy unicast"
 * query, RFC 6762 §6.7: the responder answers to our port directly), asked
 * again every second until an answer arrives or timeout_ms passes.  The
 * address goes to ret_addr (dotted quad).  -ETIMEDOUT: no one answered. */
int vmtest_mdns_resolve_r(const char *netns, const char *hostname, int timeout_ms, char *ret_addr,
                          size_t size);

/* A TCP connection to ADDR:PORT from inside NETNS, waiting at most
 * timeout_ms: 0 when it was accepted (then, when banner_size > 0, what the
 * server sends first, up to its first line, NUL-terminated, in banner);
 * -ECONNREFUSED when an RST came back (nothing listens, or a firewall
 * rejects); -ETIMEDOUT when nothing came back at all (a firewall drops). */
int vmtest_tcp_probe_r(const char *netns, const char *addr, int port, int timeout_ms, char *banner,
                       size_t banner_size);

/* ---- test layer: fails the test with a report ---- */

/* The scenario's namespace, "ksvm-<pid>", made on first call and deleted
 * when the test exits. */
const char *vmtest_netns(void);
void vmtest_netns_lan_up(const char *addr_cidr);
/* The address HOSTNAME resolves to over mDNS from vmtest_netns(). */
const char *vmtest_mdns_resolve(const char *hostname, int timeout_s);
