/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* Growing buffers: the capacity doubles, from FIRST, until it holds NEED
 * bytes.  grow_size() returns that capacity (HAVE when it is enough
 * already), or 0 when it would overflow. */
size_t grow_size(size_t have, size_t need, size_t first);

/* realloc(P) to grow_size(*alloc, need, first) when *alloc is less than
 * NEED; sets *alloc.  NULL (P left as it was) when out of memory. */
void *grow_realloc(void *p, size_t *alloc, size_t need, size_t first);
