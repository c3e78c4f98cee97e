/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "init/datasets.h"
#include "util/error-message.h"
#include "util/macro.h"

static void dataset_done(InitDataset *d) {
        free(d->name);
        free(d->mountpoint);
        free(d->encryptionroot);
        *d = (InitDataset) {};
}

void init_mount_plan_done(InitMountPlan *p) {
        for (size_t i = 0; i < p->n; i++)
                dataset_done(&p->mounts[i]);
        free(p->mounts);
        *p = (InitMountPlan) {};
}

typedef struct Row {
        char *f[4];             /* name, mountpoint, canmount, encryptionroot: point into the line copy */
} Row;

static size_t depth(const char *mp) {
        size_t d = 0;
        for (; *mp; mp++)
                d += *mp == '/';
        return d;
}

/* "/a/b": no "." or ".." components, no "//", no trailing '/' */
static bool mountpoint_clean(const char *mp) {
        for (const char *p = mp; *p == '/'; ) {
                p++;
                size_t l = strcspn(p, "/");
                if (l == 0 || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                p += l;
        }
        return true;
}

static int cmp_mount(const void *a, const void *b) {
        const InitDataset *x = a, *y = b;
        size_t dx = depth(x->mountpoint), dy = depth(y->mountpoint);
        if (dx != dy)
                return dx < dy ? -1 : 1;
        int c = strcmp(x->mountpoint, y->mountpoint);
        return c ? c : strcmp(x->name, y->name);
}

static int plan_add(InitMountPlan *p, const char *name, const char *mp, const char *er) {
        InitDataset *m = reallocarray(p->mounts, p->n + 1, sizeof *m);
        if (!m)
                return -ENOMEM;
        p->mounts = m;
        InitDataset d = { strdup(name), strdup(mp), strdup(er) };
        if (!d.name || !d.mountpoint || !d.encryptionroot) {
                dataset_done(&d);
                return -ENOMEM;
        }
        p->mounts[p->n++] = d;
        return 0;
}

static int refuse(const InitDataset *d, const char *want, char **ret_error) {
        bool plain = streq(d->encryptionroot, "-") || streq(d->encryptionroot, "");
        return error_set(ret_error, -EPERM,
                         "refusing to mount %s on %s: its encryptionroot is %s, not %s, so its contents are not "
                         "protected by the credstore's key and may have been put there by anyone with access to "
                         "the disk. Inspect it from a trusted system ('zfs get encryptionroot,mountpoint,canmount "
                         "%s'); if it is yours, move it below %s, otherwise destroy it or set canmount=off",
                         d->name, d->mountpoint, plain ? "none (not encrypted)" : d->encryptionroot, want, d->name,
                         want);
}

int init_mount_plan(const char *listing, const char *generation, const char *encryptionroot,
                    InitMountPlan *ret, char **ret_error) {
        _cleanup_free_ char *copy = strdup(listing);
        if (!copy)
                return -ENOMEM;
        InitMountPlan p = {};
        InitDataset gen = {};
        char gens[1024] = "";
        size_t lineno = 0;
        int r = 0;
        char *save = NULL;
        const char *slash = strrchr(generation, '/');
        size_t parent_len = slash ? (size_t) (slash - generation) : 0;

        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                lineno++;
                Row row = {};
                char *q = line;
                size_t k = 0;
                for (; k < 4 && q; k++) {
                        row.f[k] = q;
                        q = strchr(q, '\t');
                        if (q)
                                *q++ = 0;
                }
                if (k != 4 || q || !*row.f[0] || !*row.f[1] || !*row.f[2] || !*row.f[3]) {
                        r = error_set(ret_error, -EBADMSG, "line %zu of 'zfs list' is not NAME MOUNTPOINT CANMOUNT "
                                      "ENCRYPTIONROOT separated by tabs: '%.80s'. The zfs program of the initrd "
                                      "does not match keystone-init", lineno, line);
                        goto fail;
                }
                const char *name = row.f[0], *mp = row.f[1], *canmount = row.f[2], *er = row.f[3];
                if (streq(name, generation)) {
                        dataset_done(&gen);
                        gen = (InitDataset) { strdup(name), strdup("/"), strdup(er) };
                        if (!gen.name || !gen.mountpoint || !gen.encryptionroot) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        continue;
                }
                /* siblings of the generation, for the error message */
                if (slash && strlen(name) > parent_len && strneq(name, generation, parent_len + 1) &&
                    !strchr(name + parent_len + 1, '/') && strlen(gens) + strlen(name) + 3 < sizeof gens)
                        snprintf(gens + strlen(gens), sizeof gens - strlen(gens), "%s%s", *gens ? ", " : "",
                                 name + parent_len + 1);
                /* what `zfs mount -a` would mount, and the layout's shared
                 * datasets, which keystone disk apply makes canmount=noauto so
                 * that nothing but keystone-init (or keystone disk mount)
                 * mounts them; the generations (mountpoint /) are left out */
                if (streq(canmount, "off") || mp[0] != '/' || streq(mp, "/"))
                        continue;
                if (!mountpoint_clean(mp)) {
                        r = error_set(ret_error, -EBADMSG, "refusing to mount %s: its mountpoint '%.200s' has '.', "
                                      "'..' or empty components and could point outside /sysroot. Set a plain "
                                      "absolute mountpoint (zfs set mountpoint=/PATH %s)", name, mp, name);
                        goto fail;
                }
                if ((r = plan_add(&p, name, mp, er)) < 0)
                        goto fail;
        }
        if (!gen.name) {
                r = error_set(ret_error, -ENOENT, "the generation %s does not exist in the pool (generations "
                              "there: %s). Choose another boot entry, or check keystone.generation= on the kernel "
                              "command line", generation, *gens ? gens : "none");
                goto fail;
        }
        if (!streq(gen.encryptionroot, encryptionroot)) {
                r = refuse(&gen, encryptionroot, ret_error);
                goto fail;
        }
        if (p.n > 0) /* qsort(NULL, 0, …) is undefined */
                qsort(p.mounts, p.n, sizeof *p.mounts, cmp_mount);
        for (size_t i = 0; i < p.n; i++)
                if (!streq(p.mounts[i].encryptionroot, encryptionroot)) {
                        r = refuse(&p.mounts[i], encryptionroot, ret_error);
                        goto fail;
                }
        /* the generation first */
        InitDataset *m = reallocarray(p.mounts, p.n + 1, sizeof *m);
        if (!m) {
                r = -ENOMEM;
                goto fail;
        }
        p.mounts = m;
        memmove(p.mounts + 1, p.mounts, p.n * sizeof *p.mounts);
        p.mounts[0] = gen;
        gen = (InitDataset) {};
        p.n++;
        *ret = p;
        return 0;
fail:
        dataset_done(&gen);
        init_mount_plan_done(&p);
        return r;
}
