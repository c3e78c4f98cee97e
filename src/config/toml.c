/* SPDX-License-Identifier: MIT */
/* TOML 1.0.0 parser: one pass over the input, building the TomlValue tree
 * directly.  Design notes (see docs/toml.md):
 *
 * - The input is checked for valid UTF-8 once, up front; everything after
 *   that may assume well-formed UTF-8.
 * - Positions are computed lazily from byte offsets with a forward-only
 *   cache (line, column at the last asked offset), so asking for the
 *   position of every key and value costs O(input) in total.
 * - Nodes are plain TomlValues carved, with their keys, strings and items
 *   arrays, from an arena owned by the root (TomlDocument); parse-time
 *   bookkeeping (how a table was created, nesting depth, arena membership)
 *   lives in the `internal` field.  toml_free() of the root drops the
 *   arena; nodes built by hand (internal = 0) are freed piece by piece.
 * - Duplicate detection: tables with up to SMALL_TABLE keys are searched
 *   linearly; bigger ones are indexed in one parser-wide hash table keyed by
 *   (table, key), which is thrown away when parsing ends.
 * - Nesting (tables, arrays, dotted keys) is limited to TOML_MAX_DEPTH
 *   levels, which also bounds the recursion of the parser, toml_free() and
 *   the JSON writer. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#include "config/toml.h"
#include "util/c-locale.h"
#include "util/grow.h"
#include "util/hex.h"
#include "util/macro.h"

enum {
        /* tables */
        NODE_DEFINED = 1 << 0,  /* by a [header], a [[header]] element, or the root */
        NODE_DOTTED  = 1 << 1,  /* created or extended through dotted keys */
        NODE_FROZEN  = 1 << 2,  /* an inline table whose closing brace was seen */
        /* arrays */
        NODE_AOT     = 1 << 3,  /* created by [[header]] (else: a static array value) */
        /* any node */
        NODE_ARENA    = 1 << 4, /* lives in its document's arena: toml_free() ignores it */
        NODE_DOCUMENT = 1 << 5, /* the root of a parsed document: owns the arena */
};

/* A node is exactly a TomlValue (so callers may build nodes with calloc);
 * v.internal holds the NODE_* flags in its low 8 bits and the nesting
 * depth above them.  The capacity of items arrays follows from n (see
 * items_grow_to()). */
typedef struct TomlNode {
        TomlValue v;
} TomlNode;

/* Everything of a parsed document (nodes, keys, strings, items arrays) is
 * carved out of big blocks owned by the root: one page fault per page
 * instead of one malloc() per object was worth 3x on the benchmark.  Blocks
 * grow geometrically; big ones are mmap()ed and advised to use huge
 * pages. */
typedef struct ArenaBlock {
        struct ArenaBlock *next;
        size_t size;            /* of the whole block */
        bool mapped;            /* mmap()ed, else malloc()ed */
} ArenaBlock;

typedef struct Arena {
        ArenaBlock *blocks;
        char *ptr, *end;        /* free space of the newest block */
        size_t next_size;
} Arena;

typedef struct TomlDocument {
        TomlValue root;         /* must stay first */
        Arena arena;
} TomlDocument;

/* Under AddressSanitizer, free arena space is poisoned and every object
 * is followed by a poisoned red zone, so overflows between objects are
 * still caught. */
#if defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define TOML_ASAN 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#  define TOML_ASAN 1
#endif
#ifdef TOML_ASAN
#  include <sanitizer/asan_interface.h>
#  define ARENA_REDZONE 16
#else
#  define ASAN_POISON_MEMORY_REGION(p, n) ((void) (p), (void) (n))
#  define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void) (p), (void) (n))
#  define ARENA_REDZONE 0
#endif

#define ARENA_ALIGN 8
#define ARENA_MIN_BLOCK ((size_t) 1 << 10)
#define ARENA_MAX_BLOCK ((size_t) 1 << 30)
#define HUGE_PAGE_SIZE ((size_t) 2 << 20)
#define ARENA_MAP_BLOCK (4 * HUGE_PAGE_SIZE) /* blocks this big are mmap()ed */

static inline size_t align_up(size_t n, size_t a) {
        return (n + a - 1) & ~(a - 1);
}

static int arena_add_block(Arena *a, size_t need) {
        size_t header = align_up(sizeof(ArenaBlock), ARENA_ALIGN);
        size_t size = a->next_size;
        if (need > SIZE_MAX / 4)
                return -ENOMEM;
        while (size < need + header + ARENA_REDZONE)
                size *= 2;

        ArenaBlock *b;
        bool mapped = size >= ARENA_MAP_BLOCK;
        if (mapped) {
                size = align_up(size, HUGE_PAGE_SIZE);
                /* over-allocate by one huge page to align the block to one */
                char *p = mmap(NULL, size + HUGE_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                               -1, 0);
                if (p == MAP_FAILED)
                        return -ENOMEM;
                char *start = (char *) align_up((uintptr_t) p, HUGE_PAGE_SIZE);
                if (start > p)
                        (void) munmap(p, (size_t) (start - p));
                if (start + size < p + size + HUGE_PAGE_SIZE)
                        (void) munmap(start + size, (size_t) (p + size + HUGE_PAGE_SIZE - (start + size)));
                (void) madvise(start, size, MADV_HUGEPAGE);
                b = (ArenaBlock *) start;
        } else {
                b = malloc(size);
                if (!b)
                        return -ENOMEM;
        }
        *b = (ArenaBlock) { .next = a->blocks, .size = size, .mapped = mapped };
        a->blocks = b;
        a->ptr = (char *) b + header;
        a->end = (char *) b + size;
        ASAN_POISON_MEMORY_REGION(a->ptr, (size_t) (a->end - a->ptr));
        a->next_size = size < ARENA_MAX_BLOCK ? size * 2 : size;
        return 0;
}

static void *arena_alloc(Arena *a, size_t n) {
        if (n > SIZE_MAX / 2)
                return NULL;
        size_t span = align_up(n ? n : 1, ARENA_ALIGN) + ARENA_REDZONE;
        if ((size_t) (a->end - a->ptr) < span && arena_add_block(a, span) < 0)
                return NULL;
        void *p = a->ptr;
        a->ptr += span;
        ASAN_UNPOISON_MEMORY_REGION(p, n);
        return p;
}

/* Grows an items array from n to cap elements: in place when it is the
 * newest allocation, else by copying (the old copy stays in the arena). */
static void *arena_grow_array(Arena *a, void *old, size_t old_bytes, size_t cap, size_t elem) {
        if (cap > SIZE_MAX / 2 / elem)
                return NULL;
        size_t bytes = cap * elem;
        if (old && (char *) old + align_up(old_bytes, ARENA_ALIGN) + ARENA_REDZONE == a->ptr &&
            (size_t) (a->end - (char *) old) >= align_up(bytes, ARENA_ALIGN) + ARENA_REDZONE) {
                a->ptr = (char *) old + align_up(bytes, ARENA_ALIGN) + ARENA_REDZONE;
                ASAN_UNPOISON_MEMORY_REGION(old, bytes);
                return old;
        }
        void *p = arena_alloc(a, bytes);
        if (p && old_bytes > 0)
                memcpy(p, old, old_bytes);
        return p;
}

static void arena_free(Arena *a) {
        for (ArenaBlock *b = a->blocks, *next; b; b = next) {
                next = b->next;
                ASAN_UNPOISON_MEMORY_REGION(b, b->size);
                if (b->mapped)
                        (void) munmap(b, b->size);
                else
                        free(b);
        }
        *a = (Arena) {};
}

static inline uint32_t node_depth(const TomlNode *n) {
        return n->v.internal >> 8;
}

#define SMALL_TABLE 32

typedef struct Buf {
        char *p;
        size_t len, cap;
} Buf;

typedef struct KeyPart {
        size_t off, len;        /* in Parser.keybuf */
        const char *src;        /* where the part starts in the input */
        TomlPos pos;
} KeyPart;

typedef struct IndexEntry {
        TomlNode *table;        /* NULL: empty slot */
        uint32_t item;
        uint32_t hash;
} IndexEntry;

typedef struct Parser {
        const char *start, *end, *cur;

        /* position cache: pc_ptr is at pc_line, pc_col */
        const char *pc_ptr;
        uint32_t pc_line, pc_col;

        bool failed;
        TomlPos error_pos;      /* the first error: where, and why */
        char error[256];

        Buf buf;                /* scratch for decoded strings and numbers */
        Buf keybuf;             /* decoded parts of the key being parsed */
        KeyPart *parts;
        size_t n_parts, parts_cap;

        Arena *arena;
        TomlNode *root, *current;

        IndexEntry *index;      /* (table, key) → item, for big tables */
        size_t index_mask, index_used;

        locale_t loc;
        uint64_t seed;          /* for hash_key() */
        char keymsg[160];       /* rendered key for messages */
        char chmsg[32];         /* rendered character for messages */
} Parser;

/* ---------------------------------------------------------------------- */
/* small helpers */

static inline bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static inline bool is_bare_key_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_';
}

static inline bool is_ws(char c) {
        return c == ' ' || c == '\t';
}

static int buf_reserve(Buf *b, size_t extra) {
        if (b->cap - b->len > extra)
                return 0;
        if (extra >= SIZE_MAX - b->len)
                return -ENOMEM;
        char *p = grow_realloc(b->p, &b->cap, b->len + extra + 1, 256);
        if (!p)
                return -ENOMEM;
        b->p = p;
        return 0;
}

static int buf_append(Buf *b, const char *s, size_t n) {
        int r = buf_reserve(b, n);
        if (r < 0)
                return r;
        memcpy(b->p + b->len, s, n);
        b->len += n;
        return 0;
}

static inline int buf_putc(Buf *b, char c) {
        if (b->cap - b->len <= 1) {
                int r = buf_reserve(b, 1);
                if (r < 0)
                        return r;
        }
        b->p[b->len++] = c;
        return 0;
}


static char *arena_strdup(Parser *P, const char *s, size_t n) {
        char *p = arena_alloc(P->arena, n + 1);
        if (!p)
                return NULL;
        if (n > 0)
                memcpy(p, s, n);
        p[n] = 0;
        return p;
}

/* Length of the UTF-8 sequence starting at s (1..4), or 0 if it is not a
 * well-formed sequence: no overlong forms, no surrogates, ≤ U+10FFFF. */
static size_t utf8_sequence_length(const uint8_t *s, size_t avail) {
        uint8_t c = s[0];
        if (c < 0x80)
                return 1;
        if (c < 0xC2)
                return 0;
        if (c < 0xE0)
                return avail >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
        if (c < 0xF0) {
                if (avail < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
                        return 0;
                if (c == 0xE0 && s[1] < 0xA0)
                        return 0; /* overlong */
                if (c == 0xED && s[1] >= 0xA0)
                        return 0; /* surrogate */
                return 3;
        }
        if (c < 0xF5) {
                if (avail < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
                        return 0;
                if (c == 0xF0 && s[1] < 0x90)
                        return 0; /* overlong */
                if (c == 0xF4 && s[1] >= 0x90)
                        return 0; /* > U+10FFFF */
                return 4;
        }
        return 0;
}

/* Offset of the first byte that is not part of well-formed UTF-8, or n. */
static size_t utf8_first_invalid(const uint8_t *s, size_t n) {
        size_t i = 0;
        while (i < n) {
                /* ASCII fast path, 8 bytes at a time */
                while (i + 8 <= n) {
                        uint64_t w;
                        memcpy(&w, s + i, 8);
                        if (w & UINT64_C(0x8080808080808080))
                                break;
                        i += 8;
                }
                if (i >= n)
                        break;
                if (s[i] < 0x80) {
                        i++;
                        continue;
                }
                size_t l = utf8_sequence_length(s + i, n - i);
                if (l == 0)
                        return i;
                i += l;
        }
        return n;
}

static uint32_t utf8_decode(const uint8_t *s, size_t avail) {
        size_t l = utf8_sequence_length(s, avail);
        switch (l) {
        case 1: return s[0];
        case 2: return (uint32_t) (s[0] & 0x1F) << 6 | (s[1] & 0x3F);
        case 3: return (uint32_t) (s[0] & 0x0F) << 12 | (uint32_t) (s[1] & 0x3F) << 6 | (s[2] & 0x3F);
        case 4: return (uint32_t) (s[0] & 0x07) << 18 | (uint32_t) (s[1] & 0x3F) << 12 |
                       (uint32_t) (s[2] & 0x3F) << 6 | (s[3] & 0x3F);
        default: return 0xFFFD;
        }
}

static size_t utf8_encode(uint32_t cp, char out[static 4]) {
        if (cp < 0x80) {
                out[0] = (char) cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char) (0xC0 | cp >> 6);
                out[1] = (char) (0x80 | (cp & 0x3F));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char) (0xE0 | cp >> 12);
                out[1] = (char) (0x80 | (cp >> 6 & 0x3F));
                out[2] = (char) (0x80 | (cp & 0x3F));
                return 3;
        }
        out[0] = (char) (0xF0 | cp >> 18);
        out[1] = (char) (0x80 | (cp >> 12 & 0x3F));
        out[2] = (char) (0x80 | (cp >> 6 & 0x3F));
        out[3] = (char) (0x80 | (cp & 0x3F));
        return 4;
}

/* ---------------------------------------------------------------------- */
/* positions and errors */

static TomlPos pos_at(Parser *P, const char *at) {
        if (at < P->pc_ptr) {
                /* only happens for error positions: start over */
                P->pc_ptr = P->start;
                P->pc_line = 1;
                P->pc_col = 1;
        }
        for (;;) {
                const char *nl = memchr(P->pc_ptr, '\n', (size_t) (at - P->pc_ptr));
                if (!nl)
                        break;
                P->pc_line++;
                P->pc_col = 1;
                P->pc_ptr = nl + 1;
        }
        uint32_t col = P->pc_col;
        for (const char *s = P->pc_ptr; s < at; s++)
                col += ((uint8_t) *s & 0xC0) != 0x80;
        P->pc_col = col;
        P->pc_ptr = at;
        return (TomlPos) { P->pc_line, P->pc_col };
}

static _printf_(3, 0) int vfail_pos(Parser *P, TomlPos pos, const char *fmt, va_list ap) {
        if (!P->failed) {
                P->error_pos = pos;
                vsnprintf(P->error, sizeof(P->error), fmt, ap);
        }
        P->failed = true;
        return -EINVAL;
}

static _printf_(3, 4) int fail_pos(Parser *P, TomlPos pos, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = vfail_pos(P, pos, fmt, ap);
        va_end(ap);
        return r;
}

static _printf_(3, 4) int fail_at(Parser *P, const char *at, const char *fmt, ...) {
        va_list ap;
        TomlPos pos = P->failed ? (TomlPos) {} : pos_at(P, at);
        va_start(ap, fmt);
        int r = vfail_pos(P, pos, fmt, ap);
        va_end(ap);
        return r;
}

/* A human description of the character at `at`, for messages. */
static const char *describe(Parser *P, const char *at) {
        if (at >= P->end)
                return "end of input";
        uint8_t c = (uint8_t) *at;
        switch (c) {
        case '\n': return "end of line";
        case '\r': return "carriage return";
        case '\t': return "tab";
        case ' ': return "space";
        case '\'': return "\"'\"";
        default: break;
        }
        if (c > 0x20 && c < 0x7F)
                snprintf(P->chmsg, sizeof(P->chmsg), "'%c'", c);
        else
                snprintf(P->chmsg, sizeof(P->chmsg), "U+%04" PRIX32,
                         utf8_decode((const uint8_t *) at, (size_t) (P->end - at)));
        return P->chmsg;
}

/* Renders parts [0, n) of the current key as TOML would spell them. */
static const char *render_key(Parser *P, size_t n) {
        char *o = P->keymsg;
        size_t room = sizeof(P->keymsg) - 4; /* space for "..." and NUL */
        size_t len = 0;

#define EMIT(ch) do { if (len < room) o[len] = (ch); len++; } while (0)
        for (size_t i = 0; i < n && len < room; i++) {
                const char *k = P->keybuf.p + P->parts[i].off;
                size_t kl = P->parts[i].len;
                bool bare = kl > 0;
                for (size_t j = 0; j < kl && bare; j++)
                        bare = is_bare_key_char(k[j]);
                if (i > 0)
                        EMIT('.');
                if (!bare)
                        EMIT('"');
                for (size_t j = 0; j < kl; j++) {
                        uint8_t c = (uint8_t) k[j];
                        if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') {
                                char esc[8];
                                snprintf(esc, sizeof(esc), "\\u%04X", c);
                                for (const char *e = esc; *e; e++)
                                        EMIT(*e);
                        } else
                                EMIT((char) c);
                }
                if (!bare)
                        EMIT('"');
        }
#undef EMIT
        if (len > room) {
                /* cut at a character boundary */
                len = room;
                while (len > 0 && ((uint8_t) o[len] & 0xC0) == 0x80)
                        len--;
                memcpy(o + len, "...", 3);
                len += 3;
        }
        o[len] = 0;
        return o;
}

/* ---------------------------------------------------------------------- */
/* nodes */

static int node_new(Parser *P, TomlType type, const char *at, TomlPos pos, uint32_t depth, TomlNode **ret) {
        if (depth > TOML_MAX_DEPTH)
                return fail_at(P, at, "nesting too deep (more than %d levels of tables and arrays)",
                               TOML_MAX_DEPTH);
        TomlNode *n = arena_alloc(P->arena, sizeof(TomlNode));
        if (!n)
                return -ENOMEM;
        *n = (TomlNode) {
                .v.type = type,
                .v.pos = pos,
                .v.internal = depth << 8 | NODE_ARENA,
        };
        *ret = n;
        return 0;
}

/* Items arrays hold 4, 8, 16, … entries: with n entries in use, returns
 * the capacity to grow to before adding one more, or 0 if there is room. */
static size_t items_grow_to(size_t n) {
        if (n == 0)
                return 4;
        if (n >= 4 && (n & (n - 1)) == 0)
                return n * 2;
        return 0;
}

static inline uint64_t mix64(uint64_t h) {
        /* MurmurHash3's finaliser: a bijection that spreads every bit */
        h ^= h >> 33;
        h *= UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 33;
        h *= UINT64_C(0xc4ceb9fe1a85ec53);
        h ^= h >> 33;
        return h;
}

/* Hash of (table, key), seeded per parse: which keys collide depends on a
 * random seed, so a document cannot be crafted to make lookups quadratic. */
static uint32_t hash_key(const Parser *P, const TomlNode *t, const char *k, size_t len) {
        uint64_t h = P->seed ^ (uint64_t) (uintptr_t) t * UINT64_C(0x9E3779B97F4A7C15) ^ len;
        for (; len >= 8; k += 8, len -= 8) {
                uint64_t w;
                memcpy(&w, k, 8);
                h = mix64(h ^ w);
        }
        uint64_t w = 0;
        if (len > 0)
                memcpy(&w, k, len);
        return (uint32_t) mix64(h ^ w ^ UINT64_C(0x8000000000000000));
}

static int index_grow(Parser *P) {
        size_t cap = P->index ? (P->index_mask + 1) * 2 : 1024;
        IndexEntry *e = calloc(cap, sizeof(IndexEntry));
        if (!e)
                return -ENOMEM;
        if (P->index) {
                for (size_t i = 0; i <= P->index_mask; i++) {
                        if (!P->index[i].table)
                                continue;
                        size_t j = P->index[i].hash & (cap - 1);
                        while (e[j].table)
                                j = (j + 1) & (cap - 1);
                        e[j] = P->index[i];
                }
                free(P->index);
        }
        P->index = e;
        P->index_mask = cap - 1;
        return 0;
}

static int index_add(Parser *P, TomlNode *t, uint32_t item) {
        if (!P->index || (P->index_used + 1) * 2 > P->index_mask + 1) {
                int r = index_grow(P);
                if (r < 0)
                        return r;
        }
        const TomlKeyValue *kv = &t->v.table.items[item];
        uint32_t h = hash_key(P, t, kv->key, kv->key_len);
        size_t j = h & P->index_mask;
        while (P->index[j].table)
                j = (j + 1) & P->index_mask;
        P->index[j] = (IndexEntry) { t, item, h };
        P->index_used++;
        return 0;
}

static TomlKeyValue *table_find(Parser *P, TomlNode *t, const char *k, size_t len) {
        TomlKeyValue *items = t->v.table.items;
        size_t n = t->v.table.n;

        if (n <= SMALL_TABLE) {
                for (size_t i = 0; i < n; i++)
                        if (items[i].key_len == len && memcmp(items[i].key, k, len) == 0)
                                return &items[i];
                return NULL;
        }
        uint32_t h = hash_key(P, t, k, len);
        for (size_t j = h & P->index_mask; P->index[j].table; j = (j + 1) & P->index_mask) {
                const IndexEntry *e = &P->index[j];
                if (e->table == t && e->hash == h) {
                        TomlKeyValue *kv = &items[e->item];
                        if (kv->key_len == len && memcmp(kv->key, k, len) == 0)
                                return kv;
                }
        }
        return NULL;
}

/* Appends key → value to t (key, value: in the arena). */
static int table_add(Parser *P, TomlNode *t, char *key, size_t key_len, TomlPos key_pos, TomlNode *value) {
        int r;

        size_t cap = items_grow_to(t->v.table.n);
        if (cap > 0) {
                TomlKeyValue *items = arena_grow_array(P->arena, t->v.table.items, t->v.table.n * sizeof(TomlKeyValue),
                                                       cap, sizeof(TomlKeyValue));
                if (!items)
                        return -ENOMEM;
                t->v.table.items = items;
        }
        size_t i = t->v.table.n++;
        t->v.table.items[i] = (TomlKeyValue) {
                .key = key,
                .key_len = key_len,
                .key_pos = key_pos,
                .value = &value->v,
        };
        if (t->v.table.n == SMALL_TABLE + 1) {
                for (size_t j = 0; j < t->v.table.n; j++) {
                        r = index_add(P, t, (uint32_t) j);
                        if (r < 0)
                                return r;
                }
        } else if (t->v.table.n > SMALL_TABLE + 1) {
                r = index_add(P, t, (uint32_t) i);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int array_add(Parser *P, TomlNode *a, TomlNode *value) {
        size_t cap = items_grow_to(a->v.array.n);
        if (cap > 0) {
                TomlValue **items = arena_grow_array(P->arena, a->v.array.items, a->v.array.n * sizeof(TomlValue *),
                                                     cap, sizeof(TomlValue *));
                if (!items)
                        return -ENOMEM;
                a->v.array.items = items;
        }
        a->v.array.items[a->v.array.n++] = &value->v;
        return 0;
}

static const char *type_with_article(TomlType t) {
        switch (t) {
        case TOML_TABLE: return "a table";
        case TOML_ARRAY: return "an array";
        case TOML_STRING: return "a string";
        case TOML_INTEGER: return "an integer";
        case TOML_FLOAT: return "a float";
        case TOML_BOOL: return "a boolean";
        case TOML_DATETIME: return "a date-time";
        case TOML_DATETIME_LOCAL: return "a local date-time";
        case TOML_DATE_LOCAL: return "a local date";
        case TOML_TIME_LOCAL: return "a local time";
        }
        return "a value";
}

static inline TomlNode *node_of(TomlValue *v) {
        return (TomlNode *) v;
}

/* ---------------------------------------------------------------------- */
/* whitespace, comments, newlines */

static inline void skip_ws(Parser *P) {
        while (P->cur < P->end && is_ws(*P->cur))
                P->cur++;
}

/* At '#': skips to the end of the line (not consuming the newline). */
static int skip_comment(Parser *P) {
        const char *s = P->cur + 1;
        for (; s < P->end; s++) {
                uint8_t c = (uint8_t) *s;
                if ((c >= 0x20 && c != 0x7F) || c == '\t')
                        continue;
                if (c == '\n')
                        break;
                if (c == '\r' && s + 1 < P->end && s[1] == '\n')
                        break;
                return fail_at(P, s, "control character %s is not allowed in a comment", describe(P, s));
        }
        P->cur = s;
        return 0;
}

/* Consumes one newline (LF or CRLF): 1 if there was one, 0 if not. */
static int eat_newline(Parser *P) {
        if (P->cur >= P->end)
                return 0;
        if (*P->cur == '\n') {
                P->cur++;
                return 1;
        }
        if (*P->cur == '\r') {
                if (P->cur + 1 < P->end && P->cur[1] == '\n') {
                        P->cur += 2;
                        return 1;
                }
                return fail_at(P, P->cur, "carriage return not followed by a newline");
        }
        return 0;
}

/* After a key/value pair or a table header: optional whitespace and
 * comment, then a newline or the end of input. */
static int expect_line_end(Parser *P, const char *what) {
        skip_ws(P);
        if (P->cur < P->end && *P->cur == '#') {
                int r = skip_comment(P);
                if (r < 0)
                        return r;
        }
        if (P->cur >= P->end)
                return 0;
        int r = eat_newline(P);
        if (r < 0)
                return r;
        if (r == 0)
                return fail_at(P, P->cur, "expected a newline after %s, found %s", what, describe(P, P->cur));
        return 0;
}

/* Whitespace, comments and newlines, as allowed inside arrays. */
static int skip_blank(Parser *P) {
        for (;;) {
                skip_ws(P);
                if (P->cur < P->end && *P->cur == '#') {
                        int r = skip_comment(P);
                        if (r < 0)
                                return r;
                }
                int r = eat_newline(P);
                if (r <= 0)
                        return r;
        }
}

/* ---------------------------------------------------------------------- */
/* strings */

/* s is after a backslash (not a line-ending one); appends the escaped
 * character to out and returns where the escape ends via *s. */
static int parse_escape(Parser *P, const char **s, Buf *out) {
        const char *e = *s;
        if (e >= P->end)
                return fail_at(P, e, "unterminated escape sequence at end of input");
        char c;
        switch (*e) {
        case 'b': c = '\b'; break;
        case 't': c = '\t'; break;
        case 'n': c = '\n'; break;
        case 'f': c = '\f'; break;
        case 'r': c = '\r'; break;
        case '"': c = '"'; break;
        case '\\': c = '\\'; break;
        case 'u':
        case 'U': {
                int digits = *e == 'u' ? 4 : 8;
                uint32_t cp = 0;
                for (int i = 1; i <= digits; i++) {
                        int h = e + i < P->end ? hex_digit_value(e[i]) : -1;
                        if (h < 0)
                                return fail_at(P, e - 1, "escape \\%c needs exactly %d hexadecimal digits",
                                               *e, digits);
                        cp = cp << 4 | (uint32_t) h;
                }
                if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        return fail_at(P, e - 1, "escape \\%c%.*s is not a Unicode scalar value", *e, digits,
                                       e + 1);
                char u[4];
                size_t l = utf8_encode(cp, u);
                *s = e + 1 + digits;
                return buf_append(out, u, l);
        }
        default:
                return fail_at(P, e - 1, "invalid escape sequence '\\' followed by %s", describe(P, e));
        }
        *s = e + 1;
        return buf_putc(out, c);
}

/* The bytes a string delimited by q (a '"' basic or a '\'' literal
 * string) may contain as they are: everything but control characters (tab
 * is fine; newline in multi-line strings), q, and in basic strings '\'. */
static inline bool string_plain(uint8_t c, char q, bool ml) {
        return (c >= 0x20 && c != 0x7F && c != (uint8_t) q && (q != '"' || c != '\\')) || c == '\t' ||
               (ml && c == '\n');
}

/* Appends the run of plain bytes at *s to out and moves *s past it; fails
 * when the input ends there, before the closing delimiter. */
static int take_plain(Parser *P, const char **s, char q, bool ml, Buf *out) {
        static const char *const unterminated[2][2] = {
                { "unterminated string: missing closing '\"'",
                  "unterminated multi-line string: missing closing '\"\"\"'" },
                { "unterminated literal string: missing closing \"'\"",
                  "unterminated multi-line literal string: missing closing \"'''\"" },
        };
        const char *run = *s, *e = *s;
        while (e < P->end && string_plain((uint8_t) *e, q, ml))
                e++;
        *s = e;
        if (e >= P->end)
                return fail_at(P, e, "%s", unterminated[q == '\''][ml]);
        return e > run ? buf_append(out, run, (size_t) (e - run)) : 0;
}

/* s at a run of delimiter quotes q inside a multi-line string.  Returns 1
 * if the string ends here (the extra 1-2 quotes are content), 0 if the
 * quotes are content, <0 on error.  Advances *s past what it consumed. */
static int ml_quotes(Parser *P, const char **s, char q, Buf *out) {
        const char *e = *s;
        size_t n = 0;
        while (e + n < P->end && e[n] == q)
                n++;
        if (n < 3) {
                *s = e + n;
                return buf_append(out, e, n);
        }
        if (n > 5)
                return fail_at(P, e + 5, "too many quotes at the end of a multi-line string (at most two "
                               "may precede the closing delimiter)");
        int r = buf_append(out, e, n - 3);
        if (r < 0)
                return r;
        *s = e + n;
        return 1;
}

/* *s at a backslash in a basic string: decodes the escape, or in a
 * multi-line string passes over a line-ending backslash ('\' [ws] newline)
 * and all the white space and newlines after it. */
static int take_escape(Parser *P, const char **s, bool ml, Buf *out) {
        const char *e = *s + 1;
        while (ml && e < P->end && is_ws(*e))
                e++;
        if (ml && e < P->end && (*e == '\n' || (*e == '\r' && e + 1 < P->end && e[1] == '\n'))) {
                while (e < P->end) {
                        if (is_ws(*e) || *e == '\n')
                                e++;
                        else if (*e == '\r' && e + 1 < P->end && e[1] == '\n')
                                e += 2;
                        else
                                break;
                }
                *s = e;
                return 0;
        }
        (*s)++;
        return parse_escape(P, s, out);
}

/* s at a byte no string may hold there: a newline in a single-line string,
 * a carriage return without a newline, a control character. */
static int fail_string_byte(Parser *P, const char *s, char q, bool ml) {
        if (!ml && (*s == '\n' || *s == '\r'))
                return fail_at(P, s, q == '"'
                               ? "unterminated string: newlines are not allowed in a single-line "
                                 "string (use \"\"\" for multi-line strings)"
                               : "unterminated literal string: newlines are not allowed in a "
                                 "single-line string (use ''' for multi-line strings)");
        if (*s == '\r')
                return fail_at(P, s, "carriage return not followed by a newline in a multi-line string");
        if (q == '"')
                return fail_at(P, s, "control character %s is not allowed in a string (use an escape sequence)",
                               describe(P, s));
        return fail_at(P, s, "control character %s is not allowed in a literal string", describe(P, s));
}

/* cur at the opening delimiter of a string (q is '"' or '\'', ml: the
 * delimiter is three of them): decodes its content into out and leaves
 * cur after the closing delimiter.  One function for the four kinds of
 * string: they differ only in what string_plain() lets through, in
 * escapes (basic strings) and in newlines and quote runs (multi-line). */
static int parse_string(Parser *P, char q, bool ml, Buf *out) {
        const char *s = P->cur + (ml ? 3 : 1);
        int r;

        /* a newline right after the opening delimiter is trimmed */
        if (ml && s < P->end && *s == '\n')
                s++;
        else if (ml && s + 1 < P->end && s[0] == '\r' && s[1] == '\n')
                s += 2;

        for (;;) {
                r = take_plain(P, &s, q, ml, out);
                if (r < 0)
                        return r;
                if (*s == q && !ml) {
                        P->cur = s + 1;
                        return 0;
                }
                if (*s == q) {
                        r = ml_quotes(P, &s, q, out);
                        if (r > 0)
                                P->cur = s;
                } else if (*s == '\\' && q == '"')
                        r = take_escape(P, &s, ml, out);
                else if (ml && *s == '\r' && s + 1 < P->end && s[1] == '\n') {
                        /* CRLF is stored as LF */
                        r = buf_putc(out, '\n');
                        s += 2;
                } else
                        return fail_string_byte(P, s, q, ml);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
}

static inline bool at_triple(Parser *P, char q) {
        return P->end - P->cur >= 3 && P->cur[0] == q && P->cur[1] == q && P->cur[2] == q;
}

/* ---------------------------------------------------------------------- */
/* keys */

static int parse_simple_key(Parser *P, KeyPart *part) {
        const char *s = P->cur;
        int r;

        part->src = s;
        part->off = P->keybuf.len;
        if (s >= P->end || *s == '\n' || *s == '\r')
                return fail_at(P, s, "expected a key, found %s", describe(P, s));
        part->pos = pos_at(P, s);

        if (is_bare_key_char(*s)) {
                const char *e = s;
                while (e < P->end && is_bare_key_char(*e))
                        e++;
                r = buf_append(&P->keybuf, s, (size_t) (e - s));
                if (r < 0)
                        return r;
                P->cur = e;
        } else if (*s == '"' || *s == '\'') {
                if (at_triple(P, *s))
                        return fail_at(P, s, "a multi-line string cannot be a key");
                r = parse_string(P, *s, false, &P->keybuf);
                if (r < 0)
                        return r;
        } else
                return fail_at(P, s, "expected a key, found %s (bare keys may only contain A-Z a-z 0-9 _ -; "
                               "quote other keys)", describe(P, s));

        part->len = P->keybuf.len - part->off;
        return 0;
}

/* Parses a (dotted) key into P->parts; leaves cur after trailing
 * whitespace. */
static int parse_key(Parser *P) {
        P->n_parts = 0;
        P->keybuf.len = 0;
        /* keep keybuf.p non-NULL, even when every part is "" */
        int r = buf_reserve(&P->keybuf, 1);
        if (r < 0)
                return r;
        for (;;) {
                if (P->n_parts >= TOML_MAX_DEPTH)
                        return fail_at(P, P->cur, "key has too many dotted parts (more than %d)", TOML_MAX_DEPTH);
                if (P->n_parts == P->parts_cap) {
                        size_t cap = P->parts_cap ? P->parts_cap * 2 : 8;
                        KeyPart *p = reallocarray(P->parts, cap, sizeof(KeyPart));
                        if (!p)
                                return -ENOMEM;
                        P->parts = p;
                        P->parts_cap = cap;
                }
                r = parse_simple_key(P, &P->parts[P->n_parts]);
                if (r < 0)
                        return r;
                P->n_parts++;
                skip_ws(P);
                if (P->cur < P->end && *P->cur == '.') {
                        P->cur++;
                        skip_ws(P);
                        continue;
                }
                return 0;
        }
}

static inline const char *part_key(Parser *P, size_t i) {
        return P->keybuf.p + P->parts[i].off;
}

/* ---------------------------------------------------------------------- */
/* values */

static int parse_value(Parser *P, uint32_t depth, TomlNode **ret);

static int make_string(Parser *P, const char *at, TomlPos pos, uint32_t depth, TomlNode **ret) {
        TomlNode *n = NULL;
        int r = node_new(P, TOML_STRING, at, pos, depth, &n);
        if (r < 0)
                return r;
        n->v.string.ptr = arena_strdup(P, P->buf.p, P->buf.len);
        if (!n->v.string.ptr)
                return -ENOMEM;
        n->v.string.len = P->buf.len;
        *ret = n;
        return 0;
}

static int parse_string_value(Parser *P, TomlPos pos, uint32_t depth, TomlNode **ret) {
        const char *at = P->cur;
        int r;

        P->buf.len = 0;
        r = parse_string(P, *at, at_triple(P, *at), &P->buf);
        if (r < 0)
                return r;
        return make_string(P, at, pos, depth, ret);
}

/* Digits of the given base with '_' allowed only between two digits;
 * appends the digits (without '_') to P->buf.  *s must be at a digit. */
static int scan_digits(Parser *P, const char **s, int base, size_t *ret_count) {
        const char *e = *s;
        size_t count = 0;
        for (;;) {
                char c = e < P->end ? *e : 0;
                int d = hex_digit_value(c);
                if (d >= 0 && d < base) {
                        int r = buf_putc(&P->buf, c);
                        if (r < 0)
                                return r;
                        count++;
                        e++;
                        continue;
                }
                if (c == '_') {
                        char next = e + 1 < P->end ? e[1] : 0;
                        int nd = hex_digit_value(next);
                        if (count == 0 || nd < 0 || nd >= base)
                                return fail_at(P, e, "'_' in a number must be between two digits");
                        e++;
                        continue;
                }
                break;
        }
        *s = e;
        *ret_count = count;
        return 0;
}

static int parse_number(Parser *P, TomlPos pos, uint32_t depth, TomlNode **ret) {
        const char *start = P->cur, *s = start;
        bool neg = false, has_sign = false;
        TomlNode *n = NULL;
        size_t count;
        int r;

        if (*s == '+' || *s == '-') {
                neg = *s == '-';
                has_sign = true;
                s++;
        }
        if (P->end - s >= 3 && (memcmp(s, "inf", 3) == 0 || memcmp(s, "nan", 3) == 0)) {
                r = node_new(P, TOML_FLOAT, start, pos, depth, &n);
                if (r < 0)
                        return r;
                if (*s == 'i')
                        n->v.floating = neg ? -INFINITY : INFINITY;
                else
                        n->v.floating = neg ? -NAN : NAN;
                P->cur = s + 3;
                *ret = n;
                return 0;
        }
        if (s >= P->end || !is_digit(*s))
                return fail_at(P, s, "expected a digit, inf or nan after the sign, found %s", describe(P, s));

        if (*s == '0' && s + 1 < P->end && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
                int base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
                if (has_sign)
                        return fail_at(P, start, "hexadecimal, octal and binary integers cannot have a sign");
                s += 2;
                int d = s < P->end ? hex_digit_value(*s) : -1;
                if (d < 0 || d >= base)
                        return fail_at(P, s, "expected a %s digit after '0%c', found %s",
                                       base == 16 ? "hexadecimal" : base == 8 ? "octal" : "binary", s[-1],
                                       describe(P, s));
                P->buf.len = 0;
                r = scan_digits(P, &s, base, &count);
                if (r < 0)
                        return r;
                uint64_t v = 0;
                for (size_t i = 0; i < P->buf.len; i++) {
                        uint64_t dv = (uint64_t) hex_digit_value(P->buf.p[i]);
                        if (v > (UINT64_C(0x7FFFFFFFFFFFFFFF) - dv) / (uint64_t) base)
                                return fail_at(P, start, "integer does not fit in 64 bits (%" PRId64 " to %" PRId64 ")",
                                               INT64_MIN, INT64_MAX);
                        v = v * (uint64_t) base + dv;
                }
                r = node_new(P, TOML_INTEGER, start, pos, depth, &n);
                if (r < 0)
                        return r;
                n->v.integer = (int64_t) v;
                P->cur = s;
                *ret = n;
                return 0;
        }

        P->buf.len = 0;
        if (neg) {
                r = buf_putc(&P->buf, '-');
                if (r < 0)
                        return r;
        }
        const char *int_start = s;
        r = scan_digits(P, &s, 10, &count);
        if (r < 0)
                return r;
        if (*int_start == '0' && count > 1)
                return fail_at(P, int_start, "leading zeros are not allowed in numbers");
        size_t int_end = P->buf.len;

        bool is_float = false;
        if (s < P->end && *s == '.') {
                is_float = true;
                s++;
                if (s >= P->end || !is_digit(*s))
                        return fail_at(P, s, "expected a digit after the decimal point, found %s", describe(P, s));
                r = buf_putc(&P->buf, '.');
                if (r < 0)
                        return r;
                r = scan_digits(P, &s, 10, &count);
                if (r < 0)
                        return r;
        }
        if (s < P->end && (*s == 'e' || *s == 'E')) {
                is_float = true;
                s++;
                r = buf_putc(&P->buf, 'e');
                if (r < 0)
                        return r;
                if (s < P->end && (*s == '+' || *s == '-')) {
                        r = buf_putc(&P->buf, *s);
                        if (r < 0)
                                return r;
                        s++;
                }
                if (s >= P->end || !is_digit(*s))
                        return fail_at(P, s, "expected a digit in the exponent, found %s", describe(P, s));
                r = scan_digits(P, &s, 10, &count);
                if (r < 0)
                        return r;
        }

        if (is_float) {
                r = buf_putc(&P->buf, 0);
                if (r < 0)
                        return r;
                if (!P->loc)
                        P->loc = c_locale();
                errno = 0;
                double d = P->loc ? strtod_l(P->buf.p, NULL, P->loc) : strtod(P->buf.p, NULL);
                if (isinf(d))
                        return fail_at(P, start, "float is too large for a 64-bit float");
                r = node_new(P, TOML_FLOAT, start, pos, depth, &n);
                if (r < 0)
                        return r;
                n->v.floating = d;
        } else {
                uint64_t v = 0, limit = neg ? UINT64_C(0x8000000000000000) : UINT64_C(0x7FFFFFFFFFFFFFFF);
                for (size_t i = neg; i < int_end; i++) {
                        uint64_t dv = (uint64_t) (P->buf.p[i] - '0');
                        if (v > (limit - dv) / 10)
                                return fail_at(P, start, "integer does not fit in 64 bits (%" PRId64 " to %" PRId64 ")",
                                               INT64_MIN, INT64_MAX);
                        v = v * 10 + dv;
                }
                r = node_new(P, TOML_INTEGER, start, pos, depth, &n);
                if (r < 0)
                        return r;
                n->v.integer = neg ? (int64_t) (0 - v) : (int64_t) v;
        }
        P->cur = s;
        *ret = n;
        return 0;
}

static bool digits_at(Parser *P, const char *s, size_t n) {
        if ((size_t) (P->end - s) < n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_digit(s[i]))
                        return false;
        return true;
}

static int num2(const char *s) {
        return (s[0] - '0') * 10 + (s[1] - '0');
}

static int days_in_month(int year, int month) {
        static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
                return 29;
        return days[month - 1];
}

/* HH:MM:SS[.fraction] at *s. */
static int parse_time_part(Parser *P, const char **s, TomlDatetime *dt) {
        const char *t = *s;
        if (!digits_at(P, t, 2) || P->end - t < 8 || t[2] != ':' || !digits_at(P, t + 3, 2) || t[5] != ':' ||
            !digits_at(P, t + 6, 2))
                return fail_at(P, t, "invalid time: expected HH:MM:SS (two digits each, seconds required)");
        dt->hour = num2(t);
        dt->minute = num2(t + 3);
        dt->second = num2(t + 6);
        if (dt->hour > 23)
                return fail_at(P, t, "invalid time: hour %02d is out of range (00-23)", dt->hour);
        if (dt->minute > 59)
                return fail_at(P, t + 3, "invalid time: minute %02d is out of range (00-59)", dt->minute);
        if (dt->second > 60)
                return fail_at(P, t + 6, "invalid time: second %02d is out of range (00-60)", dt->second);
        t += 8;
        if (t < P->end && *t == '.') {
                t++;
                if (t >= P->end || !is_digit(*t))
                        return fail_at(P, t, "invalid time: expected digits after '.'");
                uint32_t ns = 0;
                int nd = 0;
                for (; t < P->end && is_digit(*t); t++)
                        if (nd < 9) {
                                ns = ns * 10 + (uint32_t) (*t - '0');
                                nd++;
                        }
                for (; nd < 9; nd++)
                        ns *= 10;
                dt->nanosecond = ns;
        }
        *s = t;
        return 0;
}

static int parse_datetime(Parser *P, TomlPos pos, uint32_t depth, TomlNode **ret) {
        const char *start = P->cur, *s = start;
        TomlDatetime dt = {};
        TomlType type;
        int r;

        if (digits_at(P, s, 4) && P->end - s > 4 && s[4] == '-') {
                if (P->end - s < 10 || !digits_at(P, s + 5, 2) || s[7] != '-' || !digits_at(P, s + 8, 2))
                        return fail_at(P, s, "invalid date: expected YYYY-MM-DD");
                dt.year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + num2(s + 2);
                dt.month = num2(s + 5);
                dt.day = num2(s + 8);
                if (dt.month < 1 || dt.month > 12)
                        return fail_at(P, s + 5, "invalid date: month %02d is out of range (01-12)", dt.month);
                if (dt.day < 1 || dt.day > days_in_month(dt.year, dt.month))
                        return fail_at(P, s + 8, "invalid date: day %02d does not exist in %04d-%02d", dt.day,
                                       dt.year, dt.month);
                s += 10;
                bool has_time = false;
                if (s < P->end && (*s == 'T' || *s == 't'))
                        has_time = true;
                else if (P->end - s >= 2 && *s == ' ' && is_digit(s[1]))
                        has_time = true;
                if (!has_time)
                        type = TOML_DATE_LOCAL;
                else {
                        s++;
                        r = parse_time_part(P, &s, &dt);
                        if (r < 0)
                                return r;
                        type = TOML_DATETIME_LOCAL;
                        if (s < P->end && (*s == 'Z' || *s == 'z')) {
                                type = TOML_DATETIME;
                                s++;
                        } else if (s < P->end && (*s == '+' || *s == '-')) {
                                const char *o = s + 1;
                                if (!digits_at(P, o, 2) || P->end - o < 5 || o[2] != ':' || !digits_at(P, o + 3, 2))
                                        return fail_at(P, s, "invalid time offset: expected Z or ±HH:MM");
                                int oh = num2(o), om = num2(o + 3);
                                if (oh > 23 || om > 59)
                                        return fail_at(P, s, "invalid time offset %.6s: out of range", s);
                                dt.offset_minutes = (*s == '-' ? -1 : 1) * (oh * 60 + om);
                                type = TOML_DATETIME;
                                s += 6;
                        }
                }
        } else {
                r = parse_time_part(P, &s, &dt);
                if (r < 0)
                        return r;
                type = TOML_TIME_LOCAL;
        }

        TomlNode *n = NULL;
        r = node_new(P, type, start, pos, depth, &n);
        if (r < 0)
                return r;
        char *text = arena_strdup(P, start, (size_t) (s - start));
        if (!text)
                return -ENOMEM;
        for (char *c = text; *c; c++)
                if (*c == 't' || *c == ' ')
                        *c = 'T';
                else if (*c == 'z')
                        *c = 'Z';
        n->v.datetime.text = text;
        n->v.datetime.dt = dt;
        P->cur = s;
        *ret = n;
        return 0;
}

/* cur at the '[' or '{' opening an array or inline table: its node, and
 * cur after the bracket */
static int open_container(Parser *P, TomlType type, TomlPos pos, uint32_t depth, TomlNode **ret) {
        int r = node_new(P, type, P->cur, pos, depth, ret);
        if (r < 0)
                return r;
        P->cur++;
        return 0;
}

static int parse_array(Parser *P, TomlPos pos, uint32_t depth, TomlNode **ret) {
        TomlNode *a = NULL;
        int r = open_container(P, TOML_ARRAY, pos, depth, &a);
        if (r < 0)
                return r;
        for (;;) {
                r = skip_blank(P);
                if (r < 0)
                        goto fail;
                if (P->cur >= P->end) {
                        r = fail_at(P, P->cur, "unterminated array: expected ']'");
                        goto fail;
                }
                if (*P->cur == ']')
                        break;
                TomlNode *item = NULL;
                if ((r = parse_value(P, depth + 1, &item)) < 0 || (r = array_add(P, a, item)) < 0 ||
                    (r = skip_blank(P)) < 0)
                        goto fail;
                if (P->cur < P->end && *P->cur == ',') {
                        P->cur++;
                        continue;
                }
                if (P->cur < P->end && *P->cur == ']')
                        break;
                if (P->cur >= P->end)
                        r = fail_at(P, P->cur, "unterminated array: expected ']'");
                else
                        r = fail_at(P, P->cur, "expected ',' or ']' after an array element, found %s",
                                    describe(P, P->cur));
                goto fail;
        }
        P->cur++;
        *ret = a;
        return 0;
fail:
        toml_free(&a->v);
        return r;
}

static int parse_keyval(Parser *P, TomlNode *table);

static int parse_inline_table(Parser *P, TomlPos pos, uint32_t depth, TomlNode **ret) {
        TomlNode *t = NULL;
        int r = open_container(P, TOML_TABLE, pos, depth, &t);
        if (r < 0)
                return r;
        skip_ws(P);
        if (P->cur < P->end && *P->cur == '}')
                goto done;
        for (;;) {
                if (P->cur < P->end && (*P->cur == '\n' || *P->cur == '\r' || *P->cur == '#')) {
                        r = fail_at(P, P->cur, "an inline table must be on one line: expected a key, found %s",
                                    describe(P, P->cur));
                        goto fail;
                }
                r = parse_keyval(P, t);
                if (r < 0)
                        goto fail;
                skip_ws(P);
                if (P->cur < P->end && *P->cur == ',') {
                        P->cur++;
                        skip_ws(P);
                        if (P->cur < P->end && *P->cur == '}') {
                                r = fail_at(P, P->cur, "trailing comma is not allowed in an inline table");
                                goto fail;
                        }
                        continue;
                }
                if (P->cur < P->end && *P->cur == '}')
                        break;
                if (P->cur < P->end && (*P->cur == '\n' || *P->cur == '\r' || *P->cur == '#'))
                        r = fail_at(P, P->cur, "an inline table must be on one line: expected ',' or '}', found %s",
                                    describe(P, P->cur));
                else
                        r = fail_at(P, P->cur, "expected ',' or '}' in an inline table, found %s", describe(P, P->cur));
                goto fail;
        }
done:
        P->cur++;
        t->v.internal |= NODE_FROZEN;
        *ret = t;
        return 0;
fail:
        toml_free(&t->v);
        return r;
}

static int parse_value(Parser *P, uint32_t depth, TomlNode **ret) {
        const char *s = P->cur;

        if (s >= P->end || *s == '\n' || *s == '\r' || *s == '#')
                return fail_at(P, s, "expected a value, found %s", describe(P, s));

        TomlPos pos = pos_at(P, s);
        switch (*s) {
        case '"':
        case '\'':
                return parse_string_value(P, pos, depth, ret);
        case '[':
                return parse_array(P, pos, depth, ret);
        case '{':
                return parse_inline_table(P, pos, depth, ret);
        case 't':
        case 'f': {
                bool b = *s == 't';
                size_t l = b ? 4 : 5;
                if ((size_t) (P->end - s) < l || memcmp(s, b ? "true" : "false", l) != 0)
                        break;
                TomlNode *n = NULL;
                int r = node_new(P, TOML_BOOL, s, pos, depth, &n);
                if (r < 0)
                        return r;
                n->v.boolean = b;
                P->cur = s + l;
                *ret = n;
                return 0;
        }
        case 'i':
        case 'n':
                if (P->end - s < 3 || (memcmp(s, "inf", 3) != 0 && memcmp(s, "nan", 3) != 0))
                        break;
                return parse_number(P, pos, depth, ret);
        case '+':
        case '-':
                return parse_number(P, pos, depth, ret);
        default:
                if (!is_digit(*s))
                        break;
                if ((digits_at(P, s, 4) && P->end - s > 4 && s[4] == '-') ||
                    (digits_at(P, s, 2) && P->end - s > 2 && s[2] == ':'))
                        return parse_datetime(P, pos, depth, ret);
                return parse_number(P, pos, depth, ret);
        }
        if (is_bare_key_char(*s))
                return fail_at(P, s, "invalid value (strings must be quoted; booleans are lower-case true/false)");
        return fail_at(P, s, "expected a value, found %s", describe(P, s));
}

/* ---------------------------------------------------------------------- */
/* key/value pairs and table headers */

/* A new node of the given type (at src, pos) added to table t under the
 * key part i, with the flags set. */
static int table_add_new(Parser *P, TomlNode *t, size_t i, TomlType type, const char *src, TomlPos pos,
                         uint32_t flags, TomlNode **ret) {
        const KeyPart *part = &P->parts[i];
        TomlNode *n = NULL;
        int r = node_new(P, type, src, pos, node_depth(t) + 1, &n);
        if (r < 0)
                return r;
        n->v.internal |= flags;
        char *k = arena_strdup(P, part_key(P, i), part->len);
        if (!k)
                return -ENOMEM;
        r = table_add(P, t, k, part->len, part->pos, n);
        if (r < 0)
                return r;
        *ret = n;
        return 0;
}

/* What the key part i names in table t: the value there (*ret_kv is its
 * entry), or else a new node made as table_add_new() does (*ret_kv NULL). */
static int table_get_or_add(Parser *P, TomlNode *t, size_t i, TomlType type, const char *src, TomlPos pos,
                            uint32_t flags, TomlKeyValue **ret_kv, TomlNode **ret) {
        TomlKeyValue *kv = table_find(P, t, part_key(P, i), P->parts[i].len);
        *ret_kv = kv;
        if (!kv)
                return table_add_new(P, t, i, type, src, pos, flags, ret);
        *ret = node_of(kv->value);
        return 0;
}

/* The table that the last part of the key in P->parts goes into, from the
 * table t: each part before it names a table, created here when missing.
 * dotted: the key of a key/value pair (a.b = 1; the tables are marked as
 * made by dotted keys); else a [table] or [[array]] header, where a part
 * may name an array of tables, meaning its last element, and a table
 * created here may be defined by its own header later. */
static int key_parent_table(Parser *P, TomlNode *t, bool dotted, TomlNode **ret) {
        for (size_t i = 0; i + 1 < P->n_parts; i++) {
                const KeyPart *part = &P->parts[i];
                TomlKeyValue *kv = NULL;
                TomlNode *child = NULL;
                int r = table_get_or_add(P, t, i, TOML_TABLE, part->src, part->pos, dotted ? NODE_DOTTED : 0, &kv,
                                         &child);
                if (r < 0)
                        return r;
                if (!kv) {
                        t = child;
                        continue;
                }
                if (!dotted && child->v.type == TOML_ARRAY) {
                        if (!(child->v.internal & NODE_AOT))
                                return fail_pos(P, part->pos, "cannot add a table to the array %s (line %" PRIu32
                                                "): it is a static array, not an array of tables",
                                                render_key(P, i + 1), kv->key_pos.line);
                        /* [[a]] then [a.b]: b goes into the last element of a */
                        child = node_of(child->v.array.items[child->v.array.n - 1]);
                } else if (child->v.type != TOML_TABLE)
                        return fail_pos(P, part->pos, "cannot use %s as a table: it is already %s (line %" PRIu32 ")",
                                        render_key(P, i + 1), type_with_article(child->v.type), kv->key_pos.line);
                else if (child->v.internal & NODE_FROZEN)
                        return fail_pos(P, part->pos, "cannot add %sto the inline table %s (line %" PRIu32
                                        "): inline tables are complete once closed",
                                        dotted ? "keys " : "", render_key(P, i + 1), kv->key_pos.line);
                else if (dotted && (child->v.internal & NODE_DEFINED))
                        return fail_pos(P, part->pos, "cannot add keys with dotted keys to the table %s, which "
                                        "is defined by a [table] header (line %" PRIu32 ")",
                                        render_key(P, i + 1), child->v.pos.line);
                if (dotted)
                        child->v.internal |= NODE_DOTTED;
                t = child;
        }
        *ret = t;
        return 0;
}

static int parse_keyval(Parser *P, TomlNode *table) {
        int r = parse_key(P);
        if (r < 0)
                return r;
        if (P->cur >= P->end || *P->cur != '=')
                return fail_at(P, P->cur, "expected '=' after the key %s, found %s", render_key(P, P->n_parts),
                               describe(P, P->cur));
        P->cur++;
        skip_ws(P);

        /* the dotted parts name tables, created here if needed */
        TomlNode *t = NULL;
        r = key_parent_table(P, table, true, &t);
        if (r < 0)
                return r;
        size_t last = P->n_parts - 1;

        const KeyPart *part = &P->parts[last];
        TomlKeyValue *dup = table_find(P, t, part_key(P, last), part->len);
        if (dup)
                return fail_pos(P, part->pos, "duplicate key %s (first defined on line %" PRIu32 ")",
                                render_key(P, P->n_parts), dup->key_pos.line);

        TomlPos key_pos = part->pos;
        size_t key_len = part->len;
        char *key = arena_strdup(P, part_key(P, last), key_len);
        if (!key)
                return -ENOMEM;

        TomlNode *value = NULL;
        r = parse_value(P, node_depth(t) + 1, &value);
        if (r < 0)
                return r;
        return table_add(P, t, key, key_len, key_pos, value);
}

static int parse_header(Parser *P) {
        const char *start = P->cur;
        TomlPos pos = pos_at(P, start);
        bool aot = P->end - start >= 2 && start[1] == '[';
        int r;

        P->cur += aot ? 2 : 1;
        skip_ws(P);
        r = parse_key(P);
        if (r < 0)
                return r;
        if (P->cur >= P->end || *P->cur != ']' || (aot && (P->end - P->cur < 2 || P->cur[1] != ']')))
                return fail_at(P, P->cur, "expected '%s' to close the table header, found %s", aot ? "]]" : "]",
                               describe(P, P->cur));
        P->cur += aot ? 2 : 1;

        TomlNode *t = NULL;
        r = key_parent_table(P, P->root, false, &t);
        if (r < 0)
                return r;
        size_t last = P->n_parts - 1;

        const KeyPart *part = &P->parts[last];
        TomlKeyValue *kv = NULL;
        TomlNode *target = NULL;
        if (!aot) {
                r = table_get_or_add(P, t, last, TOML_TABLE, start, pos, NODE_DEFINED, &kv, &target);
                if (r < 0)
                        return r;
                if (kv) {
                        if (target->v.type != TOML_TABLE)
                                return fail_pos(P, part->pos, "cannot define table %s: it is already %s (line %" PRIu32 ")",
                                                render_key(P, P->n_parts), type_with_article(target->v.type),
                                                kv->key_pos.line);
                        if (target->v.internal & NODE_FROZEN)
                                return fail_pos(P, part->pos, "cannot define table %s: it is already an inline table (line %" PRIu32 ")",
                                                render_key(P, P->n_parts), kv->key_pos.line);
                        if (target->v.internal & NODE_DOTTED)
                                return fail_pos(P, part->pos, "cannot define table %s: it was already created with "
                                                "dotted keys (line %" PRIu32 ")",
                                                render_key(P, P->n_parts), kv->key_pos.line);
                        if (target->v.internal & NODE_DEFINED)
                                return fail_pos(P, part->pos, "table %s is defined twice (first on line %" PRIu32 ")",
                                                render_key(P, P->n_parts), target->v.pos.line);
                        /* implicitly created before, defined now */
                        target->v.internal |= NODE_DEFINED;
                        target->v.pos = pos;
                        kv->key_pos = part->pos;
                }
        } else {
                TomlNode *array = NULL;
                r = table_get_or_add(P, t, last, TOML_ARRAY, start, pos, NODE_AOT, &kv, &array);
                if (r < 0)
                        return r;
                if (kv) {
                        if (array->v.type != TOML_ARRAY || !(array->v.internal & NODE_AOT))
                                return fail_pos(P, part->pos, "cannot define %s as an array of tables: it is already %s (line %" PRIu32 ")",
                                                render_key(P, P->n_parts),
                                                array->v.type == TOML_ARRAY ? "a static array" :
                                                type_with_article(array->v.type),
                                                kv->key_pos.line);
                }
                r = node_new(P, TOML_TABLE, start, pos, node_depth(array) + 1, &target);
                if (r < 0)
                        return r;
                target->v.internal |= NODE_DEFINED;
                r = array_add(P, array, target);
                if (r < 0)
                        return r;
        }
        P->current = target;
        return 0;
}

static int parse_document(Parser *P) {
        int r;
        for (;;) {
                skip_ws(P);
                if (P->cur >= P->end)
                        return 0;
                const char *what = NULL; /* what must end its line */
                switch (*P->cur) {
                case '#':
                        r = skip_comment(P);
                        what = "a comment";
                        break;
                case '\n':
                case '\r':
                        r = eat_newline(P);
                        break;
                case '[':
                        r = parse_header(P);
                        what = "a table header";
                        break;
                default:
                        r = parse_keyval(P, P->current);
                        what = "a key/value pair";
                        break;
                }
                if (r >= 0 && what)
                        r = expect_line_end(P, what);
                if (r < 0)
                        return r;
        }
}

static int parse(Parser *P, const char *data, size_t size, TomlValue **ret);

int toml_parse(const char *data, size_t size, TomlValue **ret, TomlPos *ret_error_pos, char **ret_error) {
        Parser P = {
                .start = data,
                .end = data + size,
                .cur = data,
                .pc_ptr = data,
                .pc_line = 1,
                .pc_col = 1,
        };
        if (!ret || (!data && size > 0))
                return -EINVAL;
        int r = parse(&P, data, size, ret);
        if (r < 0) {
                if (!P.failed)
                        snprintf(P.error, sizeof P.error, "%s", strerror(-r));
                if (ret_error_pos)
                        *ret_error_pos = P.error_pos;
                if (ret_error) {
                        free(*ret_error);
                        *ret_error = strdup(P.error);
                }
        }
        return r;
}

static int parse(Parser *P, const char *data, size_t size, TomlValue **ret) {
        if (size > UINT32_MAX)
                return fail_pos(P, (TomlPos) { 1, 1 }, "document too large (more than 4 GiB)");

        size_t bad = utf8_first_invalid((const uint8_t *) data, size);
        if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
                /* a byte order mark is not part of the document */
                P->start = P->cur = P->pc_ptr = data + 3;
        }
        if (bad < size)
                return fail_at(P, data + bad, "invalid UTF-8 (byte 0x%02X); TOML files must be UTF-8",
                               (uint8_t) data[bad]);

        if (getrandom(&P->seed, sizeof(P->seed), GRND_NONBLOCK) != sizeof(P->seed))
                P->seed = (uint64_t) (uintptr_t) P ^ (uint64_t) time(NULL) * UINT64_C(0x9E3779B97F4A7C15);

        TomlDocument *doc = malloc(sizeof(TomlDocument));
        if (!doc)
                return -ENOMEM;
        *doc = (TomlDocument) {
                .root.type = TOML_TABLE,
                .root.pos = { 1, 1 },
                .root.internal = NODE_DEFINED | NODE_DOCUMENT,
                /* roughly what a document needs, so a big one takes few blocks */
                .arena.next_size = size < ARENA_MIN_BLOCK / 4 ? ARENA_MIN_BLOCK :
                                   size < ARENA_MAX_BLOCK / 4 ? align_up(size * 4, ARENA_MIN_BLOCK) : ARENA_MAX_BLOCK,
        };
        P->arena = &doc->arena;
        P->root = P->current = (TomlNode *) &doc->root;

        int r = parse_document(P);

        free(P->buf.p);
        free(P->keybuf.p);
        free(P->parts);
        free(P->index);
        if (r < 0) {
                toml_free(&doc->root);
                return r;
        }
        *ret = &doc->root;
        return 0;
}

/* ---------------------------------------------------------------------- */
/* the tree */

/* Frees a node built by hand and its hand-built parts; nodes of parsed
 * documents (roots included) belong to their documents. */
static void free_built(TomlValue *v) {
        if (!v || (v->internal & (NODE_ARENA | NODE_DOCUMENT)))
                return;
        switch (v->type) {
        case TOML_TABLE:
                for (size_t i = 0; i < v->table.n; i++) {
                        free(v->table.items[i].key);
                        free_built(v->table.items[i].value);
                }
                free(v->table.items);
                break;
        case TOML_ARRAY:
                for (size_t i = 0; i < v->array.n; i++)
                        free_built(v->array.items[i]);
                free(v->array.items);
                break;
        case TOML_STRING:
                free(v->string.ptr);
                break;
        case TOML_DATETIME:
        case TOML_DATETIME_LOCAL:
        case TOML_DATE_LOCAL:
        case TOML_TIME_LOCAL:
                free(v->datetime.text);
                break;
        case TOML_INTEGER:
        case TOML_FLOAT:
        case TOML_BOOL:
                break;
        }
        free(v);
}

void toml_free(TomlValue *v) {
        if (v && (v->internal & NODE_DOCUMENT)) {
                /* a parsed document: everything is in its arena */
                TomlDocument *doc = (TomlDocument *) v;
                arena_free(&doc->arena);
                free(doc);
                return;
        }
        free_built(v);
}

const TomlKeyValue *toml_table_get_kv(const TomlValue *table, const char *key) {
        if (!table || table->type != TOML_TABLE || !key)
                return NULL;
        size_t len = strlen(key);
        for (size_t i = 0; i < table->table.n; i++) {
                const TomlKeyValue *kv = &table->table.items[i];
                if (kv->key_len == len && memcmp(kv->key, key, len) == 0)
                        return kv;
        }
        return NULL;
}

TomlValue *toml_table_get(const TomlValue *table, const char *key) {
        const TomlKeyValue *kv = toml_table_get_kv(table, key);
        return kv ? kv->value : NULL;
}

const char *toml_type_name(TomlType t) {
        switch (t) {
        case TOML_TABLE: return "table";
        case TOML_ARRAY: return "array";
        case TOML_STRING: return "string";
        case TOML_INTEGER: return "integer";
        case TOML_FLOAT: return "float";
        case TOML_BOOL: return "bool";
        case TOML_DATETIME: return "datetime";
        case TOML_DATETIME_LOCAL: return "datetime-local";
        case TOML_DATE_LOCAL: return "date-local";
        case TOML_TIME_LOCAL: return "time-local";
        }
        return "unknown";
}
