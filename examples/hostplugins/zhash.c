/* zhash.c -- a native host plug-in: hashes and zlib compression on bytes.
 *
 * Two host modules:
 *
 *   orchestra_zhash          works on the caller's linear memory (any ABI):
 *     crc32(ptr i32, len i32) -> i32
 *     fnv1a64(ptr i32, len i32) -> i64
 *     compress(src i32, len i32, dst i32, cap i32) -> i32     bytes written
 *     decompress(src i32, len i32, dst i32, cap i32) -> i32   bytes written
 *
 *   orchestra_zhash/blocks   works on Extism kernel blocks (extism ABI callers):
 *     compress(block i64) -> i64
 *     decompress(block i64) -> i64
 *     crc32_hex(block i64) -> i64      8 lowercase hex digits
 *
 * Options: level (zlib level 0-9, default 6), max_output (largest decompressed
 * block, default 67108864).
 *
 * Build (examples/build.py does it; without zlib add -DORCHESTRA_NO_ZLIB and drop -lz):
 *   cc -shared -fPIC -O2 -I"$(orchestra plugins --include-dir)" \
 *      -o liborchestra_zhash.so zhash.c -lz
 *
 * build-flags: -lz
 * build-fallback-flags: -DORCHESTRA_NO_ZLIB
 */

#include <orchestra_hostplugin.h>

#include <stdlib.h>
#ifndef ORCHESTRA_NO_ZLIB
#include <zlib.h>
#endif

typedef struct {
    int level;
    uint64_t max_output;
} zhash_state;

#ifndef ORCHESTRA_NO_ZLIB
static zhash_state defaults = {6, 64u << 20};

static zhash_state *state(orchestra_ctx_t *ctx) {
    return ctx->plugin_data ? (zhash_state *)ctx->plugin_data : &defaults;
}
#endif

/* ---- hashes ------------------------------------------------------------------- */

static uint32_t crc_table[256];

static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

static uint32_t crc32_of(const uint8_t *p, uint64_t n) {
    if (crc_table[1] == 0) crc_init();
    uint32_t c = 0xFFFFFFFFu;
    for (uint64_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static uint64_t fnv1a64_of(const uint8_t *p, uint64_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---- zlib into a malloc'd buffer ---------------------------------------------- */

#ifndef ORCHESTRA_NO_ZLIB
static int32_t deflate_buf(orchestra_ctx_t *ctx, const uint8_t *src, uint64_t n,
                           uint8_t **out, uint64_t *out_len) {
    uLongf cap = compressBound((uLong)n);
    *out = malloc(cap ? cap : 1);
    if (*out == NULL) return orchestra_fail(ctx, "compress: out of memory");
    int rc = compress2(*out, &cap, src, (uLong)n, state(ctx)->level);
    if (rc != Z_OK) {
        free(*out);
        return orchestra_fail(ctx, "compress: zlib error %d", rc);
    }
    *out_len = cap;
    return 0;
}

static int32_t inflate_buf(orchestra_ctx_t *ctx, const uint8_t *src, uint64_t n,
                           uint8_t **out, uint64_t *out_len) {
    uint64_t max = state(ctx)->max_output, cap = n * 4 + 64, len = 0;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK) return orchestra_fail(ctx, "decompress: zlib init failed");
    uint8_t *buf = malloc(cap);
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)n;
    int rc = Z_OK;
    while (buf != NULL) {
        zs.next_out = buf + len;
        zs.avail_out = (uInt)(cap - len);
        rc = inflate(&zs, Z_NO_FLUSH);
        len = cap - zs.avail_out;
        if (rc == Z_STREAM_END || (rc != Z_OK && rc != Z_BUF_ERROR)) break;
        if (zs.avail_out != 0 && zs.avail_in == 0) {  /* input ended mid-stream */
            rc = Z_DATA_ERROR;
            break;
        }
        if (cap >= max) {
            inflateEnd(&zs);
            free(buf);
            return orchestra_fail(ctx, "decompress: output exceeds max_output (%llu bytes)",
                                  (unsigned long long)max);
        }
        cap = cap * 2 > max ? max : cap * 2;
        uint8_t *bigger = realloc(buf, cap);
        if (bigger == NULL) free(buf);
        buf = bigger;
    }
    inflateEnd(&zs);
    if (buf == NULL) return orchestra_fail(ctx, "decompress: out of memory");
    if (rc != Z_STREAM_END) {
        free(buf);
        return orchestra_fail(ctx, "decompress: not zlib data (zlib error %d)", rc);
    }
    *out = buf;
    *out_len = len;
    return 0;
}
#else
static int32_t deflate_buf(orchestra_ctx_t *ctx, const uint8_t *src, uint64_t n,
                           uint8_t **out, uint64_t *out_len) {
    (void)src, (void)n, (void)out, (void)out_len;
    return orchestra_fail(ctx, "compress: this build of orchestra_zhash has no zlib");
}
static int32_t inflate_buf(orchestra_ctx_t *ctx, const uint8_t *src, uint64_t n,
                           uint8_t **out, uint64_t *out_len) {
    (void)src, (void)n, (void)out, (void)out_len;
    return orchestra_fail(ctx, "decompress: this build of orchestra_zhash has no zlib");
}
#endif

/* ---- module orchestra_zhash: linear memory ------------------------------------ */

static int32_t mem_crc32(orchestra_ctx_t *ctx, const uint64_t *args, uint64_t *results) {
    uint32_t ptr = ORCHESTRA_ARG_U32(args, 0), len = ORCHESTRA_ARG_U32(args, 1);
    const uint8_t *p = orchestra_mem(ctx, ptr, len);
    if (p == NULL) return orchestra_fail(ctx, "crc32: [%u, +%u) is outside linear memory", ptr, len);
    ORCHESTRA_RET_I32(results, 0, crc32_of(p, len));
    return 0;
}

static int32_t mem_fnv1a64(orchestra_ctx_t *ctx, const uint64_t *args, uint64_t *results) {
    uint32_t ptr = ORCHESTRA_ARG_U32(args, 0), len = ORCHESTRA_ARG_U32(args, 1);
    const uint8_t *p = orchestra_mem(ctx, ptr, len);
    if (p == NULL) return orchestra_fail(ctx, "fnv1a64: [%u, +%u) is outside linear memory", ptr, len);
    ORCHESTRA_RET_I64(results, 0, fnv1a64_of(p, len));
    return 0;
}

typedef int32_t (*transform_fn)(orchestra_ctx_t *, const uint8_t *, uint64_t, uint8_t **,
                                uint64_t *);

static int32_t mem_transform(orchestra_ctx_t *ctx, const uint64_t *args, uint64_t *results,
                             transform_fn f, const char *what) {
    uint32_t src = ORCHESTRA_ARG_U32(args, 0), len = ORCHESTRA_ARG_U32(args, 1);
    uint32_t dst = ORCHESTRA_ARG_U32(args, 2), cap = ORCHESTRA_ARG_U32(args, 3);
    const uint8_t *in = orchestra_mem(ctx, src, len);
    uint8_t *out = orchestra_mem(ctx, dst, cap);
    if (in == NULL || out == NULL)
        return orchestra_fail(ctx, "%s: a buffer is outside linear memory", what);
    uint8_t *buf;
    uint64_t n;
    if (f(ctx, in, len, &buf, &n) != 0) return 1;
    if (n > cap) {
        free(buf);
        return orchestra_fail(ctx, "%s: the destination holds %u bytes, %llu needed", what, cap,
                              (unsigned long long)n);
    }
    memcpy(out, buf, n);
    free(buf);
    ORCHESTRA_RET_I32(results, 0, (int32_t)n);
    return 0;
}

static int32_t mem_compress(orchestra_ctx_t *ctx, const uint64_t *args, uint64_t *results) {
    return mem_transform(ctx, args, results, deflate_buf, "compress");
}

static int32_t mem_decompress(orchestra_ctx_t *ctx, const uint64_t *args, uint64_t *results) {
    return mem_transform(ctx, args, results, inflate_buf, "decompress");
}

/* ---- module orchestra_zhash/blocks: Extism kernel blocks ---------------------- */

static int32_t block_transform(orchestra_ctx_t *ctx, const uint64_t *args, uint64_t *results,
                               transform_fn f) {
    uint64_t len;
    const uint8_t *in = orchestra_block(ctx, ORCHESTRA_ARG_U64(args, 0), &len);
    uint8_t *buf;
    uint64_t n;
    /* The input lives in kernel memory, which the allocation below may move: f
     * copies it into buf first. */
    if (f(ctx, in ? in : (const uint8_t *)"", len, &buf, &n) != 0) return 1;
    uint64_t h = orchestra_block_new(ctx, buf, n);
    free(buf);
    if (n != 0 && h == 0) return orchestra_fail(ctx, "out of kernel memory (%llu bytes)",
                                                (unsigned long long)n);
    ORCHESTRA_RET_I64(results, 0, h);
    return 0;
}

static int32_t blk_compress(orchestra_ctx_t *ctx, const uint64_t *args, uint64_t *results) {
    return block_transform(ctx, args, results, deflate_buf);
}

static int32_t blk_decompress(orchestra_ctx_t *ctx, const uint64_t *args, uint64_t *results) {
    return block_transform(ctx, args, results, inflate_buf);
}

static int32_t blk_crc32_hex(orchestra_ctx_t *ctx, const uint64_t *args, uint64_t *results) {
    uint64_t len;
    const uint8_t *in = orchestra_block(ctx, ORCHESTRA_ARG_U64(args, 0), &len);
    char hex[9];
    snprintf(hex, sizeof hex, "%08x", crc32_of(in ? in : (const uint8_t *)"", len));
    uint64_t h = orchestra_block_new(ctx, hex, 8);
    if (h == 0) return orchestra_fail(ctx, "out of kernel memory");
    ORCHESTRA_RET_I64(results, 0, h);
    return 0;
}

/* ---- the descriptor ------------------------------------------------------------- */

static const uint8_t I32x2[] = {ORCHESTRA_I32, ORCHESTRA_I32};
static const uint8_t I32x4[] = {ORCHESTRA_I32, ORCHESTRA_I32, ORCHESTRA_I32, ORCHESTRA_I32};
static const uint8_t I32[] = {ORCHESTRA_I32};
static const uint8_t I64[] = {ORCHESTRA_I64};

static const orchestra_function_t memory_functions[] = {
    {"crc32", I32x2, 2, 1, I32, mem_crc32, 0, 0, "CRC-32 (zlib's) of [ptr, ptr+len)"},
    {"fnv1a64", I32x2, 2, 1, I64, mem_fnv1a64, 0, 0, "FNV-1a 64-bit hash of [ptr, ptr+len)"},
    {"compress", I32x4, 4, 1, I32, mem_compress, 0, 0, "zlib-compress src into dst"},
    {"decompress", I32x4, 4, 1, I32, mem_decompress, 0, 0, "zlib-decompress src into dst"},
};

static const orchestra_function_t block_functions[] = {
    {"compress", I64, 1, 1, I64, blk_compress, ORCHESTRA_FN_KERNEL, 0, "zlib-compress a block"},
    {"decompress", I64, 1, 1, I64, blk_decompress, ORCHESTRA_FN_KERNEL, 0,
     "zlib-decompress a block"},
    {"crc32_hex", I64, 1, 1, I64, blk_crc32_hex, ORCHESTRA_FN_KERNEL, 0,
     "CRC-32 of a block, as 8 hex digits"},
};

static const orchestra_module_t modules[] = {
    {"orchestra_zhash", memory_functions, 4, 0},
    {"orchestra_zhash/blocks", block_functions, 3, 0},
};

static const orchestra_option_t options[] = {
    {"level", "zlib compression level, 0-9", "6"},
    {"max_output", "largest decompressed output, in bytes", "67108864"},
};

static int32_t zhash_init(const orchestra_option_value_t *opts, uint32_t n, void **data,
                          char *error, uint32_t cap) {
    zhash_state *s = malloc(sizeof *s);
    if (s == NULL) return snprintf(error, cap, "out of memory"), 1;
    char *end;
    const char *level = orchestra_option(opts, n, "level", "6");
    s->level = (int)strtol(level, &end, 10);
    if (*end != '\0' || s->level < 0 || s->level > 9) {
        free(s);
        snprintf(error, cap, "option level: expected 0-9, got '%s'", level);
        return 1;
    }
    const char *max = orchestra_option(opts, n, "max_output", "67108864");
    s->max_output = strtoull(max, &end, 10);
    if (*end != '\0' || s->max_output == 0) {
        free(s);
        snprintf(error, cap, "option max_output: expected a positive number, got '%s'", max);
        return 1;
    }
    crc_init();
    *data = s;
    return 0;
}

static void zhash_fini(void *data) { free(data); }

static const orchestra_plugin_t plugin = {
    ORCHESTRA_HOSTPLUGIN_ABI_VERSION,
    sizeof(orchestra_plugin_t),
    "orchestra_zhash",
    "1.0.0",
#ifndef ORCHESTRA_NO_ZLIB
    "CRC-32, FNV-1a and zlib compression on bytes (linear memory or Extism blocks)",
#else
    "CRC-32 and FNV-1a on bytes (built without zlib: compress/decompress fail)",
#endif
    modules,
    2,
    2,
    options,
    zhash_init,
    zhash_fini,
};

ORCHESTRA_HOSTPLUGIN_EXPORT const orchestra_plugin_t *orchestra_hostplugin_descriptor(void) {
    return &plugin;
}
