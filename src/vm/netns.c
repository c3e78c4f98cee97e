/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/macro.h"
#include "vm/netns.h"

int vm_netns_call_r(const char *netns, int (*make)(void *userdata), void *userdata) {
        char path[256];
        if (!netns || !*netns || strchr(netns, '/') || !make)
                return -EINVAL;
        snprintf(path, sizeof path, "/run/netns/%s", netns);
        _cleanup_close_ int target = open(path, O_RDONLY | O_CLOEXEC);
        if (target < 0)
                return log_error_errno(-errno, "vm: network namespace %s: %m (make it first: ip netns add)",
                                       path);
        _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return -errno;
        if (setns(target, CLONE_NEWNET) < 0)
                return log_error_errno(-errno, "vm: cannot enter the network namespace %s: %m", netns);
        int r = make(userdata);
        /* back whatever happened: every later socket of this thread (qmp,
         * ssh forwards) must be made in our own namespace */
        if (setns(self, CLONE_NEWNET) < 0) {
                log_error_errno(-errno, "vm: cannot return from the network namespace %s: %m", netns);
                abort();
        }
        return r;
}
