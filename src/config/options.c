/* SPDX-License-Identifier: MIT */
/* The options a host file may set (wave 1), with the plan's defaults.
 * `keystone options` prints this table; docs/configuration.md explains it. */
#include "config/schema.h"

#define END { .name = NULL }

static const char *const roles[] = { "server", "workstation", NULL };
static const char *const kernels[] = { "cloud", "standard", NULL };
static const char *const root_login[] = { "no", "prohibit-password", NULL };
static const char *const encryptions[] = {
        "aes-256-gcm", "aes-192-gcm", "aes-128-gcm", "aes-256-ccm", "aes-192-ccm", "aes-128-ccm", NULL
};
static const char *const initrd_ssh_modes[] = { "auto", "always", NULL };
static const char *const compressions[] = { "zstd", "lz4", "gzip", "zle", "off", NULL };

static const OptionDef string_elem = { .name = "string", .type = OPT_STRING };
static const OptionDef package_elem = {
        .name = "package", .type = OPT_STRING, .validate = validate_package_name,
};
static const OptionDef group_name_elem = {
        .name = "group", .type = OPT_STRING, .validate = validate_user_name,
};
static const OptionDef ssh_key_elem = {
        .name = "ssh-key", .type = OPT_STRING, .validate = validate_ssh_public_key,
};
static const OptionDef pcr_elem = { .name = "pcr", .type = OPT_INT, .min = 0, .max = 23 };

static const OptionDef host_options[] = {
        { .name = "name", .type = OPT_STRING, .required = true, .validate = validate_hostname,
          .description = "The machine's host name (a DNS label: letters, digits, '-'). "
                         "Also its mDNS name, NAME.local.",
          .example = "\"server1\"" },
        { .name = "time-zone", .type = OPT_STRING, .default_toml = "\"UTC\"",
          .validate = validate_time_zone,
          .description = "Time zone, as a name from the tz database.",
          .example = "\"Europe/Berlin\"" },
        { .name = "role", .type = OPT_ENUM, .enum_values = roles, .default_toml = "\"server\"",
          .description = "What the machine is: a headless server, or a workstation with the "
                         "Hyprland desktop. The `server` and `workstation` modules set it.",
          .example = "\"workstation\"" },
        { .name = "packages", .type = OPT_LIST, .elem = &package_elem, .unique = true,
          .default_toml = "[]",
          .description = "Extra Debian packages to install. Lists from all modules are joined.",
          .example = "[\"htop\", \"tmux\"]" },
        END
};

/* boot.initrd-ssh: keystone-init's keystone.initrd-ssh* parameters (docs/init.md) */
static const OptionDef initrd_ssh_options[] = {
        { .name = "enable", .type = OPT_BOOL, .default_toml = "false",
          .description = "Run OpenSSH's sshd in the initrd, so the credstore can be unlocked over SSH "
                         "(`keystone unlock`) when the TPM does not open it. `keystone build` then needs "
                         "--host-keys DIR (the host key the operator pins) and an address (below, or "
                         "--initrd-ssh-net); root logs in with the keys of the users in group sudo and "
                         "--ssh-key.",
          .example = "true" },
        { .name = "mode", .type = OPT_ENUM, .enum_values = initrd_ssh_modes, .default_toml = "\"auto\"",
          .description = "`auto`: sshd only when the TPM does not open the credstore and a secret must be "
                         "asked for; `always`: sshd from the start of the boot.",
          .example = "\"always\"" },
        { .name = "address", .type = OPT_STRING,
          .description = "The IPv4 address and prefix length sshd listens on in the initrd (checked as "
                         "keystone-init checks keystone.initrd-ssh.address). `keystone build "
                         "--initrd-ssh-net address=…` overrides it.",
          .example = "\"192.0.2.7/24\"" },
        { .name = "gateway", .type = OPT_STRING,
          .description = "A default route for the initrd's network (an IPv4 address).",
          .example = "\"192.0.2.1\"" },
        { .name = "interface", .type = OPT_STRING,
          .description = "The network interface, as the kernel names it in the initrd (no udev there: "
                         "eth0, not enp1s0); default the first besides lo. Not with `mac`.",
          .example = "\"eth0\"" },
        { .name = "mac", .type = OPT_STRING,
          .description = "The network interface by its hardware address. Not with `interface`.",
          .example = "\"52:54:00:12:34:56\"" },
        END
};

static const OptionDef boot_options[] = {
        { .name = "kernel", .type = OPT_ENUM, .enum_values = kernels, .default_toml = "\"cloud\"",
          .description = "Debian kernel flavour: `cloud` (linux-image-cloud-amd64: small, boots "
                         "fast, enough for servers and VMs) or `standard` (linux-image-amd64: "
                         "all hardware drivers; workstations need it).",
          .example = "\"standard\"" },
        { .name = "kernel-params", .type = OPT_LIST, .elem = &string_elem, .default_toml = "[]",
          .description = "Extra kernel command-line parameters, appended to Keystone's own.",
          .example = "[\"quiet\"]" },
        { .name = "emergency-access", .type = OPT_BOOL, .default_toml = "false",
          .description = "When a boot step fails, keystone-init starts a root shell on the console "
                         "(keystone.emergency=shell on the kernel command line) instead of halting. "
                         "Anyone at the console gets that shell: leave it off on machines others "
                         "can touch.",
          .example = "true" },
        { .name = "initrd-ssh", .type = OPT_GROUP, .children = initrd_ssh_options,
          .description = "Unlock over SSH in the initrd (docs/init.md)." },
        END
};

static const OptionDef user_options[] = {
        { .name = "description", .type = OPT_STRING, .default_toml = "\"\"", .validate = validate_gecos,
          .description = "Full name or comment (the GECOS field).", .example = "\"Alice Admin\"" },
        { .name = "uid", .type = OPT_INT, .min = 1000, .max = 59999,
          .description = "Numeric user id; chosen from 1000 upwards when not set.",
          .example = "1000" },
        { .name = "groups", .type = OPT_LIST, .elem = &group_name_elem, .unique = true,
          .default_toml = "[]",
          .description = "Supplementary groups. `sudo` grants administrator rights.",
          .example = "[\"sudo\"]" },
        { .name = "shell", .type = OPT_PATH, .default_toml = "\"/bin/bash\"", .validate = validate_shell,
          .description = "Login shell.", .example = "\"/usr/bin/zsh\"" },
        { .name = "ssh-keys", .type = OPT_LIST, .elem = &ssh_key_elem, .unique = true,
          .default_toml = "[]",
          .description = "SSH public keys allowed to log in as this user (authorized_keys lines).",
          .example = "[\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJvb2sga2V5IGV4YW1wbGUgb25seSBub3QgcmVhbA alice@laptop\"]" },
        END
};
static const OptionDef user_elem = {
        .name = "user", .type = OPT_GROUP, .children = user_options, .validate = validate_user_name,
};

static const OptionDef ssh_options[] = {
        { .name = "enable", .type = OPT_BOOL, .default_toml = "true",
          .description = "Run the OpenSSH server.", .example = "false" },
        { .name = "port", .type = OPT_INT, .min = 1, .max = 65535, .default_toml = "22",
          .description = "TCP port sshd listens on (opened in the firewall).", .example = "2222" },
        { .name = "password-authentication", .type = OPT_BOOL, .default_toml = "false",
          .description = "Allow password logins. Off: keys only.", .example = "true" },
        { .name = "permit-root-login", .type = OPT_ENUM, .enum_values = root_login,
          .default_toml = "\"no\"",
          .description = "Whether root may log in over SSH (`prohibit-password`: with a key only).",
          .example = "\"prohibit-password\"" },
        END
};

static const OptionDef dataset_options[] = {
        { .name = "mountpoint", .type = OPT_STRING, .default_toml = "\"none\"",
          .validate = validate_mountpoint,
          .description = "Where the dataset is mounted on the installed system (an absolute "
                         "path), or `none` for a container dataset.",
          .example = "\"/srv\"" },
        END
};
static const OptionDef dataset_elem = {
        .name = "dataset", .type = OPT_GROUP, .children = dataset_options,
        .validate = validate_dataset_name,
};

static const OptionDef disk_options[] = {
        { .name = "device", .type = OPT_PATH,
          .description = "The disk to install on. Prefer a stable name under /dev/disk/by-id/. "
                         "`keystone disk` and `keystone install` need it; `keystone vm` uses "
                         "its own virtual disk.",
          .example = "\"/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T123456\"" },
        { .name = "esp-size", .type = OPT_SIZE, .default_toml = "\"1G\"", .validate = validate_esp_size,
          .description = "Size of the EFI system partition (vfat, mounted on /boot; holds "
                         "systemd-boot and the signed UKIs).",
          .example = "\"2G\"" },
        { .name = "swap-size", .type = OPT_SIZE, .default_toml = "\"8G\"",
          .description = "Size of the swap partition at the end of the disk, encrypted with a "
                         "fresh random key at every boot. \"0\" for no swap.",
          .example = "\"16G\"" },
        { .name = "pool", .type = OPT_STRING, .default_toml = "\"rpool\"",
          .validate = validate_pool_name,
          .description = "Name of the ZFS pool.", .example = "\"tank\"" },
        { .name = "ashift", .type = OPT_INT, .min = 9, .max = 16, .default_toml = "12",
          .description = "ZFS ashift: log2 of the pool's sector size (12 = 4 KiB).",
          .example = "13" },
        { .name = "compression", .type = OPT_ENUM, .enum_values = compressions,
          .default_toml = "\"zstd\"",
          .description = "ZFS compression for every dataset.", .example = "\"lz4\"" },
        { .name = "encryption", .type = OPT_ENUM, .enum_values = encryptions,
          .default_toml = "\"aes-256-gcm\"",
          .description = "ZFS native encryption of rpool/crypt (the key lives in the credstore).",
          .example = "\"aes-128-gcm\"" },
        { .name = "credstore-size", .type = OPT_SIZE, .default_toml = "\"100M\"",
          .validate = validate_credstore_size,
          .description = "Size of the rpool/credstore zvol: a LUKS2 volume holding the ZFS key, "
                         "unlocked by the TPM, a password or the recovery key.",
          .example = "\"128M\"" },
        { .name = "datasets", .type = OPT_ATTRS, .elem = &dataset_elem, .default_toml = "{}",
          .description = "ZFS datasets below the pool, by name (relative to the pool). The "
                         "`disk-single-root` module declares the plan's layout.",
          .example = "{ \"crypt/srv\" = { mountpoint = \"/srv\" } }" },
        END
};

static const OptionDef secure_boot_options[] = {
        { .name = "enable", .type = OPT_BOOL, .default_toml = "false",
          .description = "Sign the boot chain with the owner's keys and enroll them in the "
                         "firmware (the `secure-boot` module turns it on).",
          .example = "true" },
        { .name = "key-dir", .type = OPT_PATH, .default_toml = "\"/var/lib/keystone/secureboot\"",
          .description = "Directory of the owner's PK, KEK and db keys, in sbctl's layout.",
          .example = "\"/etc/secureboot\"" },
        END
};

static const OptionDef tpm_options[] = {
        { .name = "enable", .type = OPT_BOOL, .default_toml = "false",
          .description = "Unlock the credstore with the TPM (the `tpm` module turns it on): `keystone vm` "
                         "and `keystone tpm enroll --auto` enroll it, keystone-init unseals it. Off: no TPM "
                         "enrollment, and keystone-init leaves the TPM alone (keystone.tpm=0): the password "
                         "or the recovery key opens the credstore.",
          .example = "true" },
        { .name = "pcrs", .type = OPT_LIST, .elem = &pcr_elem, .unique = true,
          .default_toml = "[1, 7]",
          .description = "PCRs (sha256 bank) the credstore key is sealed to: 1 = firmware "
                         "configuration, 7 = Secure Boot state. Used by `keystone vm`, `keystone tpm "
                         "enroll --host` and `--auto` (on the machine, from /etc/keystone/tpm.toml).",
          .example = "[7]" },
        { .name = "bind-pcr15", .type = OPT_BOOL, .default_toml = "true",
          .description = "Also bind PCR 15 at its zero value; the initrd extends PCR 15 after "
                         "unlocking, so the key cannot be unsealed again in the same boot.",
          .example = "false" },
        END
};

static const OptionDef root_options[] = {
        { .name = "host", .type = OPT_GROUP, .children = host_options,
          .description = "The machine itself." },
        { .name = "boot", .type = OPT_GROUP, .children = boot_options,
          .description = "Kernel and command line." },
        { .name = "users", .type = OPT_ATTRS, .elem = &user_elem, .default_toml = "{}",
          .description = "Login users, by name.",
          .example = "{ alice = { groups = [\"sudo\"], ssh-keys = [\"ssh-ed25519 AAAA… alice@laptop\"] } }" },
        { .name = "ssh", .type = OPT_GROUP, .children = ssh_options,
          .description = "The OpenSSH server." },
        { .name = "disk", .type = OPT_GROUP, .children = disk_options,
          .description = "Disk layout: GPT with ESP, ZFS pool and swap; credstore." },
        { .name = "secure-boot", .type = OPT_GROUP, .children = secure_boot_options,
          .description = "Verified boot with the owner's keys." },
        { .name = "tpm", .type = OPT_GROUP, .children = tpm_options,
          .description = "TPM2-bound unlock of the credstore." },
        END
};

static const OptionDef root = {
        .name = "", .type = OPT_GROUP, .children = root_options,
};

const OptionDef *schema_root(void) {
        return &root;
}
