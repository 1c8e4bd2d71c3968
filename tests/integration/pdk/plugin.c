// The PDK suite's plug-in in C, against Extism's host functions as the Extism C PDK
// declares them (extism:host/env); no header of ours. Built by test_extism_pdks.py:
//   python -m ziglang cc --target=wasm32-wasi -mexec-model=reactor -O2 -s -o plugin.wasm plugin.c
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT(n) __attribute__((import_module("extism:host/env"), import_name(n)))
#define EXPORT(n) __attribute__((export_name(n)))
typedef uint64_t handle;

IMPORT("input_length") uint64_t extism_input_length(void);
IMPORT("input_load_u8") uint8_t extism_input_load_u8(uint64_t);
IMPORT("alloc") handle extism_alloc(uint64_t);
IMPORT("length") uint64_t extism_length(handle);
IMPORT("load_u8") uint8_t extism_load_u8(uint64_t);
IMPORT("store_u8") void extism_store_u8(uint64_t, uint8_t);
IMPORT("output_set") void extism_output_set(handle, uint64_t);
IMPORT("error_set") void extism_error_set(handle);
IMPORT("config_get") handle extism_config_get(handle);
IMPORT("var_get") handle extism_var_get(handle);
IMPORT("var_set") void extism_var_set(handle, handle);
IMPORT("get_log_level") int32_t extism_get_log_level(void);
IMPORT("log_trace") void extism_log_trace(handle);
IMPORT("log_debug") void extism_log_debug(handle);
IMPORT("log_info") void extism_log_info(handle);
IMPORT("log_warn") void extism_log_warn(handle);
IMPORT("log_error") void extism_log_error(handle);
IMPORT("http_request") handle extism_http_request(handle, handle);
IMPORT("http_status_code") int32_t extism_http_status_code(void);
__attribute__((import_module("extism:host/user"), import_name("reverse"))) handle reverse(handle);

static char buf[65536];

static handle put(const char *data, uint64_t n) {
    handle h = extism_alloc(n);
    for (uint64_t i = 0; i < n; i++) extism_store_u8(h + i, (uint8_t)data[i]);
    return h;
}

static handle put_str(const char *s) { return put(s, strlen(s)); }

static uint64_t input(void) {  // the input into buf, NUL-terminated; its length
    uint64_t n = extism_input_length();
    if (n >= sizeof buf) n = sizeof buf - 1;
    for (uint64_t i = 0; i < n; i++) buf[i] = (char)extism_input_load_u8(i);
    buf[n] = 0;
    return n;
}

static uint64_t get(handle h, char *out, uint64_t cap) {  // block h into out
    uint64_t n = h ? extism_length(h) : 0;
    if (n >= cap) n = cap - 1;
    for (uint64_t i = 0; i < n; i++) out[i] = (char)extism_load_u8(h + i);
    out[n] = 0;
    return n;
}

static void output_str(const char *s) {
    uint64_t n = strlen(s);
    extism_output_set(put(s, n), n);
}

EXPORT("echo") int32_t echo(void) {
    uint64_t n = input();
    extism_output_set(put(buf, n), n);
    return 0;
}

EXPORT("greet") int32_t greet(void) {
    char greeting[256], out[1024];
    input();
    if (!get(extism_config_get(put_str("greeting")), greeting, sizeof greeting))
        strcpy(greeting, "hello");
    snprintf(out, sizeof out, "%s, %s", greeting, buf);
    output_str(out);
    return 0;
}

EXPORT("count") int32_t count(void) {
    char value[32];
    get(extism_var_get(put_str("n")), value, sizeof value);
    long n = 0;
    for (char *p = value; *p; p++) n = n * 10 + (*p - '0');
    snprintf(value, sizeof value, "%ld", n + 1);
    extism_var_set(put_str("n"), put_str(value));
    output_str(value);
    return 0;
}

EXPORT("tally") int32_t tally(void) {  // every input this instance has seen, each + ';'
    static char seen[sizeof buf];
    uint64_t n = get(extism_var_get(put_str("seen")), seen, sizeof seen);
    uint64_t m = input();
    if (n + m + 1 >= sizeof seen) return 1;
    memcpy(seen + n, buf, m);
    seen[n + m] = ';';
    extism_var_set(put_str("seen"), put(seen, n + m + 1));
    extism_output_set(put(seen, n + m + 1), n + m + 1);
    return 0;
}

EXPORT("logs") int32_t logs(void) {  // as the C PDK does: only at or above the host's level
    int32_t level = extism_get_log_level();
    if (level <= 0) extism_log_trace(put_str("c trace line"));
    if (level <= 1) extism_log_debug(put_str("c debug line"));
    if (level <= 2) extism_log_info(put_str("c info line"));
    if (level <= 3) extism_log_warn(put_str("c warn line"));
    if (level <= 4) extism_log_error(put_str("c error line"));
    output_str("logged");
    return 0;
}

EXPORT("fail") int32_t fail(void) {
    char out[1024];
    input();
    snprintf(out, sizeof out, "failed: %s", buf);
    extism_error_set(put_str(out));
    return 1;
}

EXPORT("rc") int32_t rc(void) { return 3; }

EXPORT("quit") int32_t quit(void) {  // output "bye", then exit(input digit): WASI proc_exit
    uint64_t n = input();
    output_str("bye");
    exit(n ? buf[0] - '0' : 0);
}

EXPORT("http_get") int32_t http_get(void) {  // input: a URL; output: "STATUS BODY"
    static char req[2048], body[8192];
    input();
    snprintf(req, sizeof req, "{\"url\": \"%s\"}", buf);
    handle res = extism_http_request(put_str(req), 0);
    uint64_t n = get(res, body, sizeof body);
    snprintf(buf, sizeof buf, "%d %.*s", (int)extism_http_status_code(), (int)n, body);
    output_str(buf);
    return 0;
}

EXPORT("host_reverse") int32_t host_reverse(void) {  // through extism:host/user
    uint64_t n = input();
    handle out = reverse(put(buf, n));
    extism_output_set(out, extism_length(out));
    return 0;
}

EXPORT("read_file") int32_t read_file(void) {  // input: a path under /data (WASI)
    char path[1024];
    input();
    snprintf(path, sizeof path, "/data/%s", buf);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(path, sizeof path, "cannot open /data/%s", buf);
        extism_error_set(put_str(path));
        return 1;
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    extism_output_set(put(buf, n), n);
    return 0;
}
