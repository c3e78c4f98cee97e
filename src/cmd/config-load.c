/* SPDX-License-Identifier: MIT */
#include "cmd/cmd.h"
#include "cmd/config-load.h"

int cmd_config_load(const char *path, Config **ret) {
        ConfigDiagnostics d = {};
        int r = config_load(path, ret, &d);
        if (r < 0) {
                for (size_t i = 0; i < d.n; i++)
                        fprintf(stderr, "%s\n", d.messages[i]);
                if (r == -EINVAL)
                        log_error("%s: %zu problem%s in the configuration; fix %s and run 'keystone eval %s' again",
                                  path, d.n, d.n == 1 ? "" : "s", d.n == 1 ? "it" : "them", path);
                else if (d.n == 0)
                        log_error_errno(r, "Failed to load %s: %m", path);
                else
                        log_error("Failed to load %s", path);
        }
        config_diagnostics_done(&d);
        return r;
}
