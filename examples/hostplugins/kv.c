/* kv.c -- a native host plug-in: a small key-value store with a file behind it.
 *
 * Host module orchestra_kv, on the caller's linear memory (any ABI):
 *
 *   put(key i32, key_len i32, value i32, value_len i32)        store a value
 *   get(key i32, key_len i32, dst i32, cap i32) -> i32         the value's length, or -1 if
 *                                                              absent; copied to dst only if
 *                                                              it fits in cap
 *   delete(key i32, key_len i32) -> i32                        1 if it was there, else 0
 *   incr(key i32, key_len i32, delta i64) -> i64               add to a counter (decimal
 *                                                              text value), return it
 *   count() -> i64                                             number of keys
 *
 * Options:
 *   path         the file behind the store (default: none, the store lives in memory).
 *                Read at init; every change is appended to it and flushed, so a
 *                restarted worker finds what the previous one stored.
 *   max_entries  refuse new keys past this many (default 10000).
 *
 * Each worker process has its own copy of the store (loaded from the file at init):
 * run the plug-in using it with `instances: 1` to share one store between calls, or
 * accept that instances see each other's writes only after a restart.
 *
 * Build:
 *   cc -shared -fPIC -O2 -I"$(orchestra plugins --include-dir)" -o liborchestra_kv.so kv.c
 */

#include <orchestra_hostplugin.h>

#include <errno.h>
#include <stdlib.h>

#define KEY_MAX 4096u
#define VALUE_MAX (16u << 20)

typedef struct {
    uint8_t *key, *value;
    uint32_t key_len, value_len;
} entry;

typedef struct {
    entry *entries;
    uint32_t count, cap, max;
    FILE *log;
} store;

static entry *lookup(store *s, const uint8_t *key, uint32_t len) {
    for (uint32_t i = 0; i < s->count; i++)
        if (s->entries[i].key_len == len && memcmp(s->entries[i].key, key, len) == 0)
            return &s->entries[i];
    return NULL;
}

static uint8_t *dup(const uint8_t *p, uint32_t n) {
    uint8_t *d = malloc(n ? n : 1);
    if (d != NULL && n) memcpy(d, p, n);
    return d;
}

/* Returns NULL on success, else a static message. */
static const char *set(store *s, const uint8_t *key, uint32_t klen, const uint8_t *val,
                       uint32_t vlen) {
    entry *e = lookup(s, key, klen);
    uint8_t *v = dup(val, vlen);
    if (v == NULL) return "out of memory";
    if (e != NULL) {
        free(e->value);
        e->value = v;
        e->value_len = vlen;
        return NULL;
    }
    if (s->count >= s->max) {
        free(v);
        return "the store is full (option max_entries)";
    }
    if (s->count == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 16;
        entry *bigger = realloc(s->entries, cap * sizeof *bigger);
        if (bigger == NULL) {
            free(v);
            return "out of memory";
        }
        s->entries = bigger;
        s->cap = cap;
    }
    uint8_t *k = dup(key, klen);
    if (k == NULL) {
        free(v);
        return "out of memory";
    }
    s->entries[s->count++] = (entry){k, v, klen, vlen};
    return NULL;
}

static int unset(store *s, const uint8_t *key, uint32_t klen) {
    entry *e = lookup(s, key, klen);
    if (e == NULL) return 0;
    free(e->key);
    free(e->value);
    *e = s->entries[--s->count];
    return 1;
}

/* The log: records of op ('P' put, 'D' delete), u32 key length, u32 value length
 * (little-endian), key, value. */
static int append(store *s, char op, const uint8_t *key, uint32_t klen, const uint8_t *val,
                  uint32_t vlen) {
    if (s->log == NULL) return 0;
    uint8_t head[9] = {(uint8_t)op};
    for (int i = 0; i < 4; i++) {
        head[1 + i] = (uint8_t)(klen >> (8 * i));
        head[5 + i] = (uint8_t)(vlen >> (8 * i));
    }
    if (fwrite(head, 1, 9, s->log) != 9 || fwrite(key, 1, klen, s->log) != klen ||
        (vlen && fwrite(val, 1, vlen, s->log) != vlen) || fflush(s->log) != 0)
        return -1;
    return 0;
}

static const char *replay(store *s, FILE *f) {
    uint8_t head[9];
    while (fread(head, 1, 9, f) == 9) {
        uint32_t klen = 0, vlen = 0;
        for (int i = 0; i < 4; i++) {
            klen |= (uint32_t)head[1 + i] << (8 * i);
            vlen |= (uint32_t)head[5 + i] << (8 * i);
        }
        if (klen > KEY_MAX || vlen > VALUE_MAX || (head[0] != 'P' && head[0] != 'D'))
            return "the file is not an orchestra_kv log";
        uint8_t *buf = malloc((size_t)klen + vlen + 1);
        if (buf == NULL) return "out of memory";
        if (fread(buf, 1, (size_t)klen + vlen, f) != (size_t)klen + vlen) {
            free(buf);
            break; /* a torn last record (crash mid-write): ignore it */
        }
        const char *err = head[0] == 'P' ? set(s, buf, klen, buf + klen, vlen) : NULL;
        if (head[0] == 'D') unset(s, buf, klen);
        free(buf);
        if (err != NULL) return err;
    }
    return NULL;
}

static store *the(orchestra_ctx_t *ctx) { return (store *)ctx->plugin_data; }

#define MEM(ptr, len, what)                                                          \
    const uint8_t *what = orchestra_mem(ctx, ptr, len);                              \
    if (what == NULL)                                                                \
        return orchestra_fail(ctx, #what " [%u, +%u) is outside linear memory",      \
                              (unsigned)(ptr), (unsigned)(len));

static int32_t kv_put(orchestra_ctx_t *ctx, const uint64_t *args, uint64_t *results) {
    (void)results;
    uint32_t klen = ORCHESTRA_ARG_U32(args, 1), vlen = ORCHESTRA_ARG_U32(args, 3);
    MEM(ORCHESTRA_ARG_U32(args, 0), klen, key)
    MEM(ORCHESTRA_ARG_U32(args, 2), vlen, value)
    if (klen == 0 || klen > KEY_MAX) return orchestra_fail(ctx, "put: key of %u bytes (1-%u)", klen, KEY_MAX);
    if (vlen > VALUE_MAX) return orchestra_fail(ctx, "put: value of %u bytes (at most %u)", vlen, VALUE_MAX);
    const char *err = set(the(ctx), key, klen, value, vlen);
    if (err != NULL) return orchestra_fail(ctx, "put: %s", err);
    if (append(the(ctx), 'P', key, klen, value, vlen) != 0)
        return orchestra_fail(ctx, "put: writing the file failed: %s", strerror(errno));
    return 0;
}

static int32_t kv_get(orchestra_ctx_t *ctx, const uint64_t *args, uint64_t *results) {
    uint32_t klen = ORCHESTRA_ARG_U32(args, 1), cap = ORCHESTRA_ARG_U32(args, 3);
    MEM(ORCHESTRA_ARG_U32(args, 0), klen, key)
    entry *e = lookup(the(ctx), key, klen);
    if (e == NULL) {
        ORCHESTRA_RET_I32(results, 0, -1);
        return 0;
    }
    if (e->value_len <= cap) {
        uint8_t *dst = orchestra_mem(ctx, ORCHESTRA_ARG_U32(args, 2), e->value_len);
        if (dst == NULL) return orchestra_fail(ctx, "get: dst is outside linear memory");
        memcpy(dst, e->value, e->value_len);
    }
    ORCHESTRA_RET_I32(results, 0, (int32_t)e->value_len);
    return 0;
}

static int32_t kv_delete(orchestra_ctx_t *ctx, const uint64_t *args, uint64_t *results) {
    uint32_t klen = ORCHESTRA_ARG_U32(args, 1);
    MEM(ORCHESTRA_ARG_U32(args, 0), klen, key)
    int removed = unset(the(ctx), key, klen);
    if (removed && append(the(ctx), 'D', key, klen, NULL, 0) != 0)
        return orchestra_fail(ctx, "delete: writing the file failed: %s", strerror(errno));
    ORCHESTRA_RET_I32(results, 0, removed);
    return 0;
}

static int32_t kv_incr(orchestra_ctx_t *ctx, const uint64_t *args, uint64_t *results) {
    uint32_t klen = ORCHESTRA_ARG_U32(args, 1);
    int64_t delta = ORCHESTRA_ARG_I64(args, 2);
    MEM(ORCHESTRA_ARG_U32(args, 0), klen, key)
    if (klen == 0 || klen > KEY_MAX) return orchestra_fail(ctx, "incr: key of %u bytes (1-%u)", klen, KEY_MAX);
    entry *e = lookup(the(ctx), key, klen);
    long long value = 0;
    if (e != NULL) {
        char text[32] = {0};
        char *end;
        if (e->value_len == 0 || e->value_len >= sizeof text)
            return orchestra_fail(ctx, "incr: the value is not a number");
        memcpy(text, e->value, e->value_len);
        value = strtoll(text, &end, 10);
        if (*end != '\0') return orchestra_fail(ctx, "incr: the value '%s' is not a number", text);
    }
    value += delta;
    char text[32];
    int n = snprintf(text, sizeof text, "%lld", value);
    const char *err = set(the(ctx), key, klen, (const uint8_t *)text, (uint32_t)n);
    if (err != NULL) return orchestra_fail(ctx, "incr: %s", err);
    if (append(the(ctx), 'P', key, klen, (const uint8_t *)text, (uint32_t)n) != 0)
        return orchestra_fail(ctx, "incr: writing the file failed: %s", strerror(errno));
    ORCHESTRA_RET_I64(results, 0, value);
    return 0;
}

static int32_t kv_count(orchestra_ctx_t *ctx, const uint64_t *args, uint64_t *results) {
    (void)args;
    ORCHESTRA_RET_I64(results, 0, the(ctx)->count);
    return 0;
}

static const uint8_t I32x2[] = {ORCHESTRA_I32, ORCHESTRA_I32};
static const uint8_t I32x4[] = {ORCHESTRA_I32, ORCHESTRA_I32, ORCHESTRA_I32, ORCHESTRA_I32};
static const uint8_t INCR[] = {ORCHESTRA_I32, ORCHESTRA_I32, ORCHESTRA_I64};
static const uint8_t I32[] = {ORCHESTRA_I32};
static const uint8_t I64[] = {ORCHESTRA_I64};

static const orchestra_function_t functions[] = {
    {"put", I32x4, 4, 0, NULL, kv_put, 0, 0, "store value under key"},
    {"get", I32x4, 4, 1, I32, kv_get, 0, 0, "value length (-1: absent); copied if it fits"},
    {"delete", I32x2, 2, 1, I32, kv_delete, 0, 0, "remove key; 1 if it was there"},
    {"incr", INCR, 3, 1, I64, kv_incr, 0, 0, "add delta to a counter, return it"},
    {"count", NULL, 0, 1, I64, kv_count, ORCHESTRA_FN_NO_MEMORY, 0, "number of keys"},
};

static const orchestra_module_t modules[] = {{"orchestra_kv", functions, 5, 0}};

static const orchestra_option_t options[] = {
    {"path", "file behind the store (appended to, replayed at init)", NULL},
    {"max_entries", "most keys the store holds", "10000"},
};

static void kv_fini(void *data) {
    store *s = data;
    if (s == NULL) return;
    for (uint32_t i = 0; i < s->count; i++) {
        free(s->entries[i].key);
        free(s->entries[i].value);
    }
    free(s->entries);
    if (s->log != NULL) fclose(s->log);
    free(s);
}

static int32_t kv_init(const orchestra_option_value_t *opts, uint32_t n, void **data,
                       char *error, uint32_t cap) {
    store *s = calloc(1, sizeof *s);
    if (s == NULL) return snprintf(error, cap, "out of memory"), 1;
    char *end;
    const char *max = orchestra_option(opts, n, "max_entries", "10000");
    unsigned long m = strtoul(max, &end, 10);
    if (*end != '\0' || m == 0 || m > 10000000ul) {
        snprintf(error, cap, "option max_entries: expected 1-10000000, got '%s'", max);
        kv_fini(s);
        return 1;
    }
    s->max = (uint32_t)m;
    const char *path = orchestra_option(opts, n, "path", NULL);
    if (path != NULL && *path != '\0') {
        FILE *f = fopen(path, "rb");
        if (f != NULL) {
            const char *err = replay(s, f);
            fclose(f);
            if (err != NULL) {
                snprintf(error, cap, "%s: %s", path, err);
                kv_fini(s);
                return 1;
            }
        }
        s->log = fopen(path, "ab");
        if (s->log == NULL) {
            snprintf(error, cap, "cannot open %s: %s", path, strerror(errno));
            kv_fini(s);
            return 1;
        }
    }
    *data = s;
    return 0;
}

static const orchestra_plugin_t plugin = {
    ORCHESTRA_HOSTPLUGIN_ABI_VERSION,
    sizeof(orchestra_plugin_t),
    "orchestra_kv",
    "1.0.0",
    "a small key-value store, kept in memory with an append-only file behind it",
    modules,
    1,
    2,
    options,
    kv_init,
    kv_fini,
};

ORCHESTRA_HOSTPLUGIN_EXPORT const orchestra_plugin_t *orchestra_hostplugin_descriptor(void) {
    return &plugin;
}
