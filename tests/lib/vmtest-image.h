/* SPDX-License-Identifier: MIT */
#pragma once

/* Test images for VM scenarios: a host file from tests/vm/hosts/ built by
 * the image builder with the test shell, and a VmConfig that boots it. */

#include "image/image.h"
#include "vm/vm.h"

/* The machine-local SSH key pair tests log in with (made once with
 * ssh-keygen under the cache directory, never committed): the private key's
 * path and the public key line. */
void vmtest_ssh_key(const char **ret_private_path, const char **ret_public);

/* Loads tests/vm/hosts/<name>.toml (under $SRCDIR), adds the test key to
 * every user, turns on the test shell, and builds (or finds in the cache)
 * the image.  Prints how long each stage took or that it was cached. */
void vmtest_build_host(const char *host_name, ImageArtifacts *ret);

/* A VmConfig that boots the image: the cached root image as a qcow2
 * overlay, the kernel through fw_cfg with the image's command line. */
VmConfig vmtest_config_for(const ImageArtifacts *a, const char *vm_name);
