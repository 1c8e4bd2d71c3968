// kitchen.c -- an Extism-ABI plug-in with many small exports, for checking
// that a host implements the ABI the way the Extism SDK does (conformance
// tests: tests/integration/test_extism_sdk_reference.py).
//
// It imports only `extism:host/env` functions (no host functions, no WASI),
// so any Extism host can load it. The exports that need a host function or
// the network live in kitchen_host.c and kitchen_http.c.
//
//   echo         output = input
//   reverse      output = input, bytes reversed
//   fail         error "boom: <input>" and return 1
//   nonzero      return 7 without setting an error
//   big          output = input repeated 1000 times
//   config       output = config value of the key named by the input;
//                error "missing" if there is no such key
//   vars         "k=v" sets var k to v (an empty v removes it), outputs "ok";
//                "k" outputs var k, or "<none>" if it is not set
//   log          logs the input at trace, debug, info, warn and error;
//                outputs get_log_level() in decimal
//   counter      adds 1 to a C global and outputs it in decimal (plug-in
//                memory persists across calls: 1, 2, 3, ...)
//   spin         loops forever (for timeouts / cancellation)
//   trap         executes `unreachable`
//   alloc_many   allocates 10000 16-byte kernel blocks (100 rounds of 100
//                live blocks), frees them all and outputs "ok" (for leak
//                checks: call it many times)
//
// build-flags: -mexec-model=reactor -Wl,-z,stack-size=65536

#include "orchestra_pdk.h"

ORCHESTRA_EXPORT("echo") int32_t echo(void) {
    size_t len;
    char *in = orchestra_input(&len);
    if (in == NULL) return orchestra_error("out of memory");
    int rc = orchestra_output(in, len);
    free(in);
    return rc == 0 ? 0 : orchestra_error("out of memory");
}

ORCHESTRA_EXPORT("reverse") int32_t reverse(void) {
    size_t len;
    char *in = orchestra_input(&len);
    if (in == NULL) return orchestra_error("out of memory");
    for (size_t i = 0, j = len; i + 1 < j; i++, j--) {
        char c = in[i];
        in[i] = in[j - 1];
        in[j - 1] = c;
    }
    int rc = orchestra_output(in, len);
    free(in);
    return rc == 0 ? 0 : orchestra_error("out of memory");
}

ORCHESTRA_EXPORT("fail") int32_t fail(void) {
    size_t len;
    char *in = orchestra_input(&len);
    if (in == NULL) return orchestra_error("out of memory");
    char *msg = malloc(len + 6);
    if (msg == NULL) return orchestra_error("out of memory");
    memcpy(msg, "boom: ", 6);
    memcpy(msg + 6, in, len);
    orchestra_error_n(msg, len + 6);
    free(msg);
    free(in);
    return 1;
}

ORCHESTRA_EXPORT("nonzero") int32_t nonzero(void) {
    return 7;
}

ORCHESTRA_EXPORT("big") int32_t big(void) {
    size_t len;
    char *in = orchestra_input(&len);
    if (in == NULL) return orchestra_error("out of memory");
    size_t total = len * 1000;
    if (total == 0) {
        free(in);
        return 0;
    }
    // Write straight into one kernel block, one copy of the input at a time.
    orchestra_handle h = extism_alloc(total);
    if (h == 0) {
        free(in);
        return orchestra_error("out of memory");
    }
    for (size_t k = 0; k < 1000; k++) {
        orchestra_handle base = h + (uint64_t)k * len;
        size_t i = 0;
        for (; i + 8 <= len; i += 8) {
            uint64_t word;
            memcpy(&word, in + i, 8);
            extism_store_u64(base + i, word);
        }
        for (; i < len; i++) extism_store_u8(base + i, (unsigned char)in[i]);
    }
    extism_output_set(h, total);
    free(in);
    return 0;
}

ORCHESTRA_EXPORT("config") int32_t config(void) {
    size_t key_len, value_len;
    char *key = orchestra_input(&key_len);
    if (key == NULL) return orchestra_error("out of memory");
    // orchestra_config takes a C string; pass the key through a handle so
    // that keys containing NUL bytes work too.
    orchestra_handle h = extism_config_get(orchestra_store(key, key_len));
    free(key);
    if (h == 0) return orchestra_error("missing");
    char *value = orchestra_load(h, &value_len);
    extism_free(h);
    if (value == NULL) return orchestra_error("out of memory");
    int rc = orchestra_output(value, value_len);
    free(value);
    return rc == 0 ? 0 : orchestra_error("out of memory");
}

ORCHESTRA_EXPORT("vars") int32_t vars(void) {
    size_t len;
    char *in = orchestra_input(&len);
    if (in == NULL) return orchestra_error("out of memory");
    char *eq = memchr(in, '=', len);
    if (eq != NULL) {
        *eq = '\0';
        size_t key_len = (size_t)(eq - in);
        size_t value_len = len - key_len - 1;
        orchestra_handle k = orchestra_store(in, key_len);
        orchestra_handle v = orchestra_store(eq + 1, value_len);  // 0: remove
        extism_var_set(k, v);
        free(in);
        return orchestra_output_str("ok") == 0 ? 0 : orchestra_error("out of memory");
    }
    orchestra_handle h = extism_var_get(orchestra_store(in, len));
    free(in);
    if (h == 0) return orchestra_output_str("<none>") == 0 ? 0 : orchestra_error("out of memory");
    size_t value_len;
    char *value = orchestra_load(h, &value_len);
    extism_free(h);
    if (value == NULL) return orchestra_error("out of memory");
    int rc = orchestra_output(value, value_len);
    free(value);
    return rc == 0 ? 0 : orchestra_error("out of memory");
}

ORCHESTRA_EXPORT("log") int32_t log_(void) {
    size_t len;
    char *in = orchestra_input(&len);
    if (in == NULL) return orchestra_error("out of memory");
    for (int level = ORCHESTRA_LOG_TRACE; level <= ORCHESTRA_LOG_ERROR; level++) {
        orchestra_log(level, in, len);
    }
    free(in);
    char buf[24];
    size_t n = orchestra_fmt_i64(buf, extism_get_log_level());
    return orchestra_output(buf, n) == 0 ? 0 : orchestra_error("out of memory");
}

static uint64_t calls;

ORCHESTRA_EXPORT("counter") int32_t counter(void) {
    char buf[24];
    size_t n = orchestra_fmt_u64(buf, ++calls);
    return orchestra_output(buf, n) == 0 ? 0 : orchestra_error("out of memory");
}

ORCHESTRA_EXPORT("spin") int32_t spin(void) {
    volatile uint64_t n = 0;
    for (;;) n++;
}

ORCHESTRA_EXPORT("trap") int32_t trap(void) {
    __builtin_trap();
}

// 10000 blocks in 100 rounds of 100 live blocks: all-10000-live would make
// the Extism kernel's allocator (a linear scan of the blocks) quadratic.
#define ALLOC_ROUNDS 100
#define ALLOC_LIVE 100

ORCHESTRA_EXPORT("alloc_many") int32_t alloc_many(void) {
    orchestra_handle blocks[ALLOC_LIVE];
    for (int round = 0; round < ALLOC_ROUNDS; round++) {
        for (int i = 0; i < ALLOC_LIVE; i++) {
            blocks[i] = extism_alloc(16);
            if (blocks[i] == 0) return orchestra_error("alloc failed");
            extism_store_u64(blocks[i], (uint64_t)(round * ALLOC_LIVE + i));
        }
        for (int i = 0; i < ALLOC_LIVE; i++) {
            if (extism_load_u64(blocks[i]) != (uint64_t)(round * ALLOC_LIVE + i)) {
                return orchestra_error("corrupt block");
            }
            extism_free(blocks[i]);
        }
    }
    return orchestra_output_str("ok") == 0 ? 0 : orchestra_error("out of memory");
}
