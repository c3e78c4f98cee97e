/* SPDX-License-Identifier: MIT */
#pragma once

/* A list of files Keystone generates into an image: a model that can be
 * written out as canonical text (for the cache key) and applied to an
 * unpacked root directory. */

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

typedef enum GenKind {
        GEN_FILE,      /* create or replace a regular file */
        GEN_APPEND,    /* append to an existing file (passwd, group…) */
        GEN_DIR,
        GEN_SYMLINK,   /* content is the target */
        GEN_GROUP_MEMBER, /* path /etc/group, content "GROUP:USER": adds USER to
                           * GROUP (and in /etc/gshadow when there is one),
                           * creating GROUP as a system group (the highest free
                           * gid below 1000) when the image has none */
} GenKind;

typedef struct GenFile {
        GenKind kind;
        char *path;    /* absolute, inside the image */
        mode_t mode;
        uid_t uid;
        gid_t gid;
        char *content;
} GenFile;

typedef struct GenList {
        GenFile *items;
        size_t n;
} GenList;

int gen_add(GenList *l, GenKind kind, const char *path, mode_t mode, uid_t uid, gid_t gid, const char *content);
int gen_addf(GenList *l, GenKind kind, const char *path, mode_t mode, uid_t uid, gid_t gid, const char *fmt, ...)
        __attribute__((format(printf, 7, 8)));
void gen_list_done(GenList *l);
/* Canonical text: one record per item, contents length-prefixed. */
int gen_list_serialize(const GenList *l, char **ret);
/* Applies the list under root (a directory we unpacked ourselves); every
 * item gets mtime (SOURCE_DATE_EPOCH). */
int gen_list_apply(const GenList *l, const char *root, time_t mtime);
