// hostdemo.c -- an Extism-ABI plug-in calling the example host plug-ins of
// examples/hostplugins: orchestra_zhash and orchestra_kv (native, C) and
// orchestra_text (Python). It runs only where those modules are granted
// (config/hostplugins.yaml); elsewhere its imports are refused, or mocked.
//
//   annotate     "<line> [crc32=xxxxxxxx seen=N words=W]": the CRC-32 of the line
//                (orchestra_zhash, reading this plug-in's own linear memory), how
//                many times the line was seen (orchestra_kv.incr, kept in the
//                store's file) and its word count (orchestra_text, a kernel block)
//   compress     zlib-compress the input (orchestra_zhash/blocks, kernel blocks)
//   decompress   the reverse
//   put          input "key=value": store it (orchestra_kv), output "ok"
//   get          input "key": the stored value (an error if there is none)
//
// build-flags: -mexec-model=reactor -Wl,-z,stack-size=65536

#include "orchestra_pdk.h"

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

// Linear-memory functions take (pointer, length) pairs in this module's memory.
IMPORT("orchestra_zhash", "crc32") int32_t zhash_crc32(const void *p, uint32_t n);
IMPORT("orchestra_kv", "put") void kv_put(const void *k, uint32_t kn, const void *v, uint32_t vn);
IMPORT("orchestra_kv", "get") int32_t kv_get(const void *k, uint32_t kn, void *dst, uint32_t cap);
IMPORT("orchestra_kv", "incr") int64_t kv_incr(const void *k, uint32_t kn, int64_t delta);
// Block functions take and return kernel block handles.
IMPORT("orchestra_zhash/blocks", "compress") orchestra_handle zblk_compress(orchestra_handle h);
IMPORT("orchestra_zhash/blocks", "decompress") orchestra_handle zblk_decompress(orchestra_handle h);
IMPORT("orchestra_text", "word_count") int64_t text_word_count(orchestra_handle h);

static size_t put_hex32(char *out, uint32_t v) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 7; i >= 0; i--, v >>= 4) out[i] = digits[v & 15];
    return 8;
}

static size_t put_str(char *out, const char *s) {
    size_t n = strlen(s);
    memcpy(out, s, n);
    return n;
}

ORCHESTRA_EXPORT("annotate") int32_t annotate(void) {
    size_t n;
    char *line = orchestra_input(&n);
    if (line == NULL) return orchestra_error("out of memory");
    uint32_t crc = (uint32_t)zhash_crc32(line, (uint32_t)n);
    int64_t seen = n ? kv_incr(line, (uint32_t)n, 1) : 0;
    orchestra_handle block = orchestra_store(line, n);
    int64_t words = block ? text_word_count(block) : 0;
    char *out = malloc(n + 80);
    if (out == NULL) return orchestra_error("out of memory");
    size_t len = 0;
    memcpy(out, line, n);
    len += n;
    len += put_str(out + len, " [crc32=");
    len += put_hex32(out + len, crc);
    len += put_str(out + len, " seen=");
    len += orchestra_fmt_i64(out + len, seen);
    len += put_str(out + len, " words=");
    len += orchestra_fmt_i64(out + len, words);
    out[len++] = ']';
    int rc = orchestra_output(out, len);
    free(out);
    free(line);
    return rc == 0 ? 0 : orchestra_error("out of memory");
}

static int32_t through(orchestra_handle (*fn)(orchestra_handle)) {
    size_t n;
    char *in = orchestra_input(&n);
    if (in == NULL) return orchestra_error("out of memory");
    orchestra_handle h = fn(orchestra_store(in, n));
    free(in);
    if (h != 0) extism_output_set(h, extism_length(h));
    return 0;
}

ORCHESTRA_EXPORT("compress") int32_t compress(void) { return through(zblk_compress); }

ORCHESTRA_EXPORT("decompress") int32_t decompress(void) { return through(zblk_decompress); }

ORCHESTRA_EXPORT("put") int32_t put(void) {
    size_t n;
    char *in = orchestra_input(&n);
    if (in == NULL) return orchestra_error("out of memory");
    char *eq = memchr(in, '=', n);
    if (eq == NULL || eq == in) {
        free(in);
        return orchestra_error("put: expected key=value");
    }
    size_t kn = (size_t)(eq - in);
    kv_put(in, (uint32_t)kn, eq + 1, (uint32_t)(n - kn - 1));
    free(in);
    return orchestra_output_str("ok");
}

ORCHESTRA_EXPORT("get") int32_t get(void) {
    size_t n;
    char *key = orchestra_input(&n);
    if (key == NULL) return orchestra_error("out of memory");
    char small[256];
    int32_t len = kv_get(key, (uint32_t)n, small, sizeof small);
    if (len < 0) {
        free(key);
        return orchestra_error("get: no such key");
    }
    char *value = small;
    if ((size_t)len > sizeof small) {  // too big for the first buffer: ask again
        value = malloc((size_t)len);
        if (value == NULL) return orchestra_error("out of memory");
        kv_get(key, (uint32_t)n, value, (uint32_t)len);
    }
    int rc = orchestra_output(value, (size_t)len);
    if (value != small) free(value);
    free(key);
    return rc == 0 ? 0 : orchestra_error("out of memory");
}
