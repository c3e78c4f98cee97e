/* SPDX-License-Identifier: MIT */
/* Which Debian packages each role brings. */
#include "image/image.h"
#include "util/macro.h"

/* Every Keystone machine: systemd as init, udev (needed for /dev/zvol and
 * /dev/virtio-ports links), sshd, the TPM tools. */
static const char *const server_packages[] = {
        "systemd-sysv", "udev", "dbus", "openssh-server", "iproute2", "tpm2-tools", NULL,
};

/* The desktop packages come with the workstation issue; until then a
 * workstation is a server with the standard kernel. */
static const char *const workstation_packages[] = {
        "systemd-sysv", "udev", "dbus", "openssh-server", "iproute2", "tpm2-tools", NULL,
};

int image_role_packages(const char *role, const char *kernel_flavour, const char *const **ret,
                        const char **ret_kernel_package) {
        const char *const *p;
        if (!role || streq(role, "server"))
                p = server_packages;
        else if (streq(role, "workstation"))
                p = workstation_packages;
        else
                return -EINVAL;
        const char *k;
        if (!kernel_flavour || streq(kernel_flavour, "cloud"))
                k = "linux-image-cloud-amd64";
        else if (streq(kernel_flavour, "standard"))
                k = "linux-image-amd64";
        else
                return -EINVAL;
        if (ret)
                *ret = p;
        if (ret_kernel_package)
                *ret_kernel_package = k;
        return 0;
}
