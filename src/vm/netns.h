/* SPDX-License-Identifier: MIT */
#pragma once

/* Entering a network namespace for one call: the VM driver makes a VM's
 * LAN tap (VmConfig.lan_netns) inside the namespace named there, and the
 * tests make their sockets for that LAN the same way. */

/* Calls make(userdata) with the calling thread inside the network namespace
 * NETNS (/run/netns/NETNS) and returns what it returned (an fd, or -errno);
 * the thread is back in its own namespace afterwards (an fd made in there,
 * a socket or a tap, stays tied to NETNS).  -ENOENT: no such namespace. */
int vm_netns_call_r(const char *netns, int (*make)(void *userdata), void *userdata);
