// orchestra_pdk.h -- a minimal Extism-ABI plug-in development kit for C.
//
// Written for Orchestra from the ABI description in docs/extism.md (it is not
// Extism's c-pdk). A plug-in built with it runs unchanged under the Extism
// SDK and under Orchestra.
//
// The ABI in one paragraph: the host owns a second memory ("kernel memory")
// that the plug-in reaches only through the `extism:host/env` imports below.
// Blocks in it are named by 64-bit handles (offsets; 0 = null / absent). An
// export has the type `int32_t fn(void)`: it reads its input with
// input_length/input_load_*, writes its output into a block it allocates and
// marks it with output_set, and fails by setting an error block (error_set)
// or by returning non-zero.
//
// Ownership: a handle passed to output_set, error_set, var_set, config_get,
// var_get, http_request and log_* is taken over by the callee -- do not free
// or reuse it. Handles returned by config_get, var_get, http_request and host
// functions belong to the plug-in (free them or let the per-call reset
// reclaim them).
//
// Only the imports a plug-in actually calls end up in its wasm module, so
// including this header costs nothing for the functions you do not use.
//
// Build (see examples/build.py), e.g.:
//   python -m ziglang cc --target=wasm32-wasi -O2 -s -mexec-model=reactor \
//       -Iexamples/plugins/extism -o kitchen.wasm kitchen.c

#ifndef ORCHESTRA_PDK_H
#define ORCHESTRA_PDK_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t orchestra_handle;   // i64 offset into kernel memory; 0 = null

#define ORCHESTRA_ENV(name) \
    __attribute__((import_module("extism:host/env"), import_name(name)))

// Export a function under NAME; its C signature must be `int32_t fn(void)`.
#define ORCHESTRA_EXPORT(name) __attribute__((export_name(name)))

// --- extism:host/env: kernel functions (memory and I/O) ----------------------

ORCHESTRA_ENV("alloc")          orchestra_handle extism_alloc(uint64_t n);
ORCHESTRA_ENV("free")           void extism_free(orchestra_handle h);
ORCHESTRA_ENV("length")         uint64_t extism_length(orchestra_handle h);
ORCHESTRA_ENV("length_unsafe")  uint64_t extism_length_unsafe(orchestra_handle h);
ORCHESTRA_ENV("load_u8")        int32_t extism_load_u8(orchestra_handle p);
ORCHESTRA_ENV("load_u64")       uint64_t extism_load_u64(orchestra_handle p);
ORCHESTRA_ENV("store_u8")       void extism_store_u8(orchestra_handle p, int32_t v);
ORCHESTRA_ENV("store_u64")      void extism_store_u64(orchestra_handle p, uint64_t v);
ORCHESTRA_ENV("input_length")   uint64_t extism_input_length(void);
ORCHESTRA_ENV("input_offset")   orchestra_handle extism_input_offset(void);
ORCHESTRA_ENV("input_load_u8")  int32_t extism_input_load_u8(uint64_t off);
ORCHESTRA_ENV("input_load_u64") uint64_t extism_input_load_u64(uint64_t off);
ORCHESTRA_ENV("output_set")     void extism_output_set(orchestra_handle h, uint64_t len);
ORCHESTRA_ENV("error_set")      void extism_error_set(orchestra_handle h);
ORCHESTRA_ENV("error_get")      orchestra_handle extism_error_get(void);
ORCHESTRA_ENV("memory_bytes")   uint64_t extism_memory_bytes(void);

// --- extism:host/env: host functions -----------------------------------------

ORCHESTRA_ENV("config_get")       orchestra_handle extism_config_get(orchestra_handle key);
ORCHESTRA_ENV("var_get")          orchestra_handle extism_var_get(orchestra_handle key);
ORCHESTRA_ENV("var_set")          void extism_var_set(orchestra_handle key, orchestra_handle val);
ORCHESTRA_ENV("http_request")     orchestra_handle extism_http_request(orchestra_handle req,
                                                                       orchestra_handle body);
ORCHESTRA_ENV("http_status_code") int32_t extism_http_status_code(void);
ORCHESTRA_ENV("http_headers")     orchestra_handle extism_http_headers(void);
ORCHESTRA_ENV("log_trace")        void extism_log_trace(orchestra_handle msg);
ORCHESTRA_ENV("log_debug")        void extism_log_debug(orchestra_handle msg);
ORCHESTRA_ENV("log_info")         void extism_log_info(orchestra_handle msg);
ORCHESTRA_ENV("log_warn")         void extism_log_warn(orchestra_handle msg);
ORCHESTRA_ENV("log_error")        void extism_log_error(orchestra_handle msg);
ORCHESTRA_ENV("get_log_level")    int32_t extism_get_log_level(void);

// Log levels as returned by extism_get_log_level (INT32_MAX = logging off).
enum orchestra_log_level {
    ORCHESTRA_LOG_TRACE = 0,
    ORCHESTRA_LOG_DEBUG = 1,
    ORCHESTRA_LOG_INFO = 2,
    ORCHESTRA_LOG_WARN = 3,
    ORCHESTRA_LOG_ERROR = 4,
};

// --- host functions from other modules ----------------------------------------

// Declare a host function NAME from `extism:host/user` with the usual
// handle-in, handle-out type (i64) -> i64, callable from C as C_NAME:
//
//   ORCHESTRA_HOST_FN(host_reverse, "reverse");
//
// The import exists only if C_NAME is called (or its address taken), and
// then the host must provide it (the Extism SDK refuses to instantiate a
// module with an unresolved import).
#define ORCHESTRA_HOST_FN(c_name, name)                                         \
    __attribute__((import_module("extism:host/user"), import_name(name)))      \
    orchestra_handle c_name(orchestra_handle input)

typedef orchestra_handle (*orchestra_host_fn)(orchestra_handle input);

// --- helpers -------------------------------------------------------------------

// Write V in decimal to BUF (at least 21 bytes), NUL-terminated; returns the
// number of digits. (No stdio: it would pull WASI imports into the module.)
static inline size_t orchestra_fmt_u64(char *buf, uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return n;
}

static inline size_t orchestra_fmt_i64(char *buf, int64_t v) {
    if (v >= 0) return orchestra_fmt_u64(buf, (uint64_t)v);
    buf[0] = '-';
    return 1 + orchestra_fmt_u64(buf + 1, 0 - (uint64_t)v);
}

// Copy LEN bytes from plug-in memory into a new kernel block; returns its
// handle, or 0 if LEN is 0 or the allocation failed.
static inline orchestra_handle orchestra_store(const void *data, size_t len) {
    if (len == 0) return 0;
    orchestra_handle h = extism_alloc((uint64_t)len);
    if (h == 0) return 0;
    const unsigned char *p = (const unsigned char *)data;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t word;
        memcpy(&word, p + i, 8);  // wasm is little-endian, like the kernel
        extism_store_u64(h + i, word);
    }
    for (; i < len; i++) extism_store_u8(h + i, p[i]);
    return h;
}

static inline orchestra_handle orchestra_store_str(const char *s) {
    return orchestra_store(s, strlen(s));
}

// Copy the whole kernel block H into a new malloc'd buffer (NUL-terminated
// for convenience; *LEN gets the length without the NUL). Returns NULL if H
// is 0 or malloc fails. The block itself is left alone.
static inline char *orchestra_load(orchestra_handle h, size_t *len) {
    if (len) *len = 0;
    if (h == 0) return NULL;
    size_t n = (size_t)extism_length(h);
    char *buf = (char *)malloc(n + 1);
    if (buf == NULL) return NULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t word = extism_load_u64(h + i);
        memcpy(buf + i, &word, 8);
    }
    for (; i < n; i++) buf[i] = (char)extism_load_u8(h + i);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

// The whole input of this call in a malloc'd, NUL-terminated buffer (NULL if
// malloc fails; an empty input gives ""). *LEN gets its length.
static inline char *orchestra_input(size_t *len) {
    size_t n = (size_t)extism_input_length();
    char *buf = (char *)malloc(n + 1);
    if (len) *len = 0;
    if (buf == NULL) return NULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t word = extism_input_load_u64(i);
        memcpy(buf + i, &word, 8);
    }
    for (; i < n; i++) buf[i] = (char)extism_input_load_u8(i);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

// Make DATA[0..LEN) this call's output. An empty output sets nothing (a call
// that never sets an output returns empty bytes). Returns 0 on success, -1 if
// kernel memory could not be allocated.
static inline int orchestra_output(const void *data, size_t len) {
    if (len == 0) return 0;
    orchestra_handle h = orchestra_store(data, len);
    if (h == 0) return -1;
    extism_output_set(h, (uint64_t)len);
    return 0;
}

static inline int orchestra_output_str(const char *s) {
    return orchestra_output(s, strlen(s));
}

// Set the call's error text (the call then fails whatever the export
// returns). Returns 1, so `return orchestra_error("...");` reads well.
static inline int32_t orchestra_error_n(const char *msg, size_t len) {
    extism_error_set(orchestra_store(msg, len));
    return 1;
}

static inline int32_t orchestra_error(const char *msg) {
    return orchestra_error_n(msg, strlen(msg));
}

// Config value of KEY as a malloc'd NUL-terminated buffer, or NULL if the key
// is absent. *LEN gets the length.
static inline char *orchestra_config(const char *key, size_t *len) {
    orchestra_handle h = extism_config_get(orchestra_store_str(key));
    char *value = orchestra_load(h, len);
    if (h != 0) extism_free(h);
    return value;
}

// Var KEY as a malloc'd NUL-terminated buffer, or NULL if it is not set.
static inline char *orchestra_var(const char *key, size_t *len) {
    orchestra_handle h = extism_var_get(orchestra_store_str(key));
    char *value = orchestra_load(h, len);
    if (h != 0) extism_free(h);
    return value;
}

// Set var KEY to VALUE[0..LEN); LEN 0 removes it.
static inline void orchestra_var_set(const char *key, const void *value, size_t len) {
    orchestra_handle k = orchestra_store_str(key);
    orchestra_handle v = orchestra_store(value, len);  // 0 when len is 0: remove
    extism_var_set(k, v);
}

// Log MSG at LEVEL (an orchestra_log_level).
static inline void orchestra_log(int level, const char *msg, size_t len) {
    orchestra_handle h = orchestra_store(msg, len);
    switch (level) {
        case ORCHESTRA_LOG_TRACE: extism_log_trace(h); break;
        case ORCHESTRA_LOG_DEBUG: extism_log_debug(h); break;
        case ORCHESTRA_LOG_INFO: extism_log_info(h); break;
        case ORCHESTRA_LOG_WARN: extism_log_warn(h); break;
        default: extism_log_error(h); break;
    }
}

// Call the host function FN (declared with ORCHESTRA_HOST_FN) with
// DATA[0..LEN) as its input block; returns its result block's bytes in a
// malloc'd NUL-terminated buffer (NULL if it returned 0). *OUT_LEN gets the
// length.
static inline char *orchestra_call_host(orchestra_host_fn fn, const void *data, size_t len,
                                        size_t *out_len) {
    orchestra_handle result = fn(orchestra_store(data, len));
    char *out = orchestra_load(result, out_len);
    if (result != 0) extism_free(result);
    return out;
}

#endif  // ORCHESTRA_PDK_H
