/* SPDX-License-Identifier: MIT */
#pragma once

#include "image/files.h"
#include "image/image.h"

/* Keystone's generated files for an image (see etc.c). */
int image_etc_generate(const ImageSpec *spec, const char *root_uuid, GenList *l);

/* The server's services (etc-server.c): sshd keys only, the nftables
 * firewall, avahi mDNS, the time zone, no display manager. */
int image_etc_server(const ImageSpec *spec, GenList *l);

/* /etc/fstab and /etc/crypttab (etc-disk.c): from the disk layout when the
 * host has one (spec->n_datasets > 0), else one ext4 root by UUID. */
int image_etc_disk(const ImageSpec *spec, const char *root_uuid, GenList *l);

/* /etc/keystone/tpm.toml, the first-boot enrollment and the login banner
 * units of an installed machine with a credstore (etc-tpm.c). */
int image_etc_tpm(const ImageSpec *spec, GenList *l);
