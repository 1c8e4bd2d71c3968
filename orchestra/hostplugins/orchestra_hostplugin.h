/* orchestra_hostplugin.h -- the native host plug-in ABI of Orchestra, version 1.
 *
 * A native host plug-in is a shared library that adds host modules (named groups
 * of host functions) to the wasm plug-ins granted them (`host_modules:` in the
 * config). It exports ONE symbol, ORCHESTRA_HOSTPLUGIN_SYMBOL, returning a
 * descriptor: ABI version, name, version, description, options, modules ->
 * functions (name, wasm signature, C function pointer), and optional init/fini.
 *
 * Build one against the header shipped inside the Orchestra package:
 *
 *     cc -shared -fPIC -O2 -I"$(orchestra plugins --include-dir)" \
 *        -o liborchestra_myplugin.so myplugin.c
 *
 * and put it on a search path (ORCHESTRA_PLUGIN_PATH, `host_plugins.paths`, or
 * <sys.prefix>/lib/orchestra/plugins). `orchestra plugins` lists what it finds.
 *
 * Rules of the ABI (version 1):
 *
 *  - Only fixed-width integer types, pointers and NUL-terminated UTF-8 strings
 *    cross it. Every struct begins with the fields that identify it, and the
 *    descriptor begins with `abi_version`, so a host reads that first and stops
 *    if it is not the version it speaks.
 *  - The descriptor and everything it points to must stay valid and unchanged
 *    while the library is loaded (static const data is the usual way).
 *  - Values cross as uint64_t bit patterns, one per wasm value: an i32 in the
 *    low 32 bits (upper bits: ignore on input, anything on output), an i64 as
 *    is, an f32 as its IEEE-754 bits in the low 32 bits, an f64 as its bits. Use
 *    the ORCHESTRA_ARG_* / ORCHESTRA_RET_* macros below.
 *  - A host function returns 0 on success. Non-zero means failure: write a
 *    message with orchestra_fail() (or into ctx->error yourself); the wasm call
 *    that made it traps and the caller gets HostFunctionError with that message.
 *  - A host function runs in the worker process of ONE plug-in instance, one
 *    call at a time (an instance is an actor), with the GIL released. A crash in
 *    it kills that worker only: the call gets PluginCrashed and the supervisor
 *    restarts the worker. Keep global state per process (or in plugin_data).
 *  - ctx->memory is the calling instance's linear memory (its export "memory"),
 *    valid only during the call: do not keep the pointer. Bounds are yours to
 *    check (orchestra_mem() does). It is NULL when the caller exports no memory
 *    or the function has ORCHESTRA_FN_NO_MEMORY.
 *  - ctx->kernel is the Extism kernel memory, for functions flagged
 *    ORCHESTRA_FN_KERNEL (only extism-ABI plug-ins may import those; NULL for
 *    other functions). Blocks in it are named by i64 handles (offsets); read one
 *    with orchestra_block(), make one with orchestra_block_new(). Allocating may
 *    move kernel memory: re-read ctx->kernel after ctx->block_alloc (the helpers
 *    do).
 *  - Filling in the context costs time on every call (about 1 us for the linear
 *    memory, a little less for the kernel): a function that needs neither should
 *    be flagged ORCHESTRA_FN_NO_MEMORY (and not ORCHESTRA_FN_KERNEL).
 *  - init(options) runs once per worker process that is granted one of the
 *    plug-in's modules, before its first call; Orchestra also runs init/fini once
 *    in a throw-away probe process when it discovers the plug-in, so init should
 *    not have effects that must happen exactly once. fini runs at normal worker
 *    exit (not after a crash or kill).
 */

#ifndef ORCHESTRA_HOSTPLUGIN_H
#define ORCHESTRA_HOSTPLUGIN_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ORCHESTRA_HOSTPLUGIN_ABI_VERSION 1u

/* The one exported symbol: `const orchestra_plugin_t *orchestra_hostplugin_descriptor(void)`. */
#define ORCHESTRA_HOSTPLUGIN_SYMBOL "orchestra_hostplugin_descriptor"

/* Limits the host checks when it reads a descriptor. */
#define ORCHESTRA_MAX_VALUES 16u         /* params (or results) per function */
#define ORCHESTRA_ERROR_CAPACITY 1024u   /* bytes of ctx->error, NUL included */

/* Wasm value types, with their codes in the wasm binary format. */
#define ORCHESTRA_I32 ((uint8_t)0x7F)
#define ORCHESTRA_I64 ((uint8_t)0x7E)
#define ORCHESTRA_F32 ((uint8_t)0x7D)
#define ORCHESTRA_F64 ((uint8_t)0x7C)

/* orchestra_function_t.flags */
#define ORCHESTRA_FN_NO_MEMORY 1u   /* never reads memory: ctx->memory/kernel stay NULL (faster) */
#define ORCHESTRA_FN_KERNEL 2u      /* uses Extism kernel blocks: only extism-ABI callers may import it */

typedef struct orchestra_ctx orchestra_ctx_t;

/* What a host function sees of its call. One per function; the host fills it in
 * before each call. */
struct orchestra_ctx {
    uint32_t abi_version;        /* ORCHESTRA_HOSTPLUGIN_ABI_VERSION */
    uint32_t reserved;
    uint8_t *memory;             /* the caller's linear memory, or NULL */
    uint64_t memory_size;        /* in bytes */
    uint8_t *kernel;             /* Extism kernel memory (ORCHESTRA_FN_KERNEL), or NULL */
    uint64_t kernel_size;        /* in bytes */
    void *plugin_data;           /* what init stored in *plugin_data (NULL without init) */
    /* A new kernel block of LENGTH bytes; its handle, or 0 if it cannot be
     * allocated (or LENGTH is 0, or the function is not ORCHESTRA_FN_KERNEL).
     * Updates ctx->kernel and ctx->kernel_size. */
    uint64_t (*block_alloc)(orchestra_ctx_t *ctx, uint64_t length);
    /* The length of the kernel block HANDLE (0 for 0 or a bad handle). */
    uint64_t (*block_length)(orchestra_ctx_t *ctx, uint64_t handle);
    char error[ORCHESTRA_ERROR_CAPACITY];  /* the failure message, NUL-terminated */
};

/* A host function: ARGS holds one value per wasm param, RESULTS room for one
 * per wasm result. Returns 0, or non-zero with a message in ctx->error. */
typedef int32_t (*orchestra_host_fn_t)(orchestra_ctx_t *ctx, const uint64_t *args,
                                       uint64_t *results);

typedef struct {
    const char *name;            /* the import name wasm uses */
    const uint8_t *params;       /* param_count value types (ORCHESTRA_I32, ...) */
    uint32_t param_count;        /* <= ORCHESTRA_MAX_VALUES */
    uint32_t result_count;       /* <= ORCHESTRA_MAX_VALUES */
    const uint8_t *results;      /* result_count value types */
    orchestra_host_fn_t fn;
    uint32_t flags;              /* ORCHESTRA_FN_* */
    uint32_t reserved;           /* 0 */
    const char *description;     /* may be NULL */
} orchestra_function_t;

typedef struct {
    const char *name;            /* the import module wasm uses, e.g. "my_hash" */
    const orchestra_function_t *functions;
    uint32_t function_count;
    uint32_t reserved;           /* 0 */
} orchestra_module_t;

/* An option the plug-in accepts (config: host_plugins.options.NAME.KEY). */
typedef struct {
    const char *name;
    const char *description;     /* may be NULL */
    const char *default_value;   /* may be NULL; documentation only */
} orchestra_option_t;

/* One configured option, as given to init: both strings NUL-terminated. */
typedef struct {
    const char *name;
    const char *value;
} orchestra_option_value_t;

/* Optional. Returns 0, or non-zero with a message in ERROR (ERROR_CAPACITY
 * bytes): the plug-in then fails to load. May store per-process state in
 * *PLUGIN_DATA; host functions see it as ctx->plugin_data. OPTIONS is valid
 * only during the call. */
typedef int32_t (*orchestra_init_fn_t)(const orchestra_option_value_t *options,
                                       uint32_t option_count, void **plugin_data,
                                       char *error, uint32_t error_capacity);
/* Optional. Called at normal exit with what init stored. */
typedef void (*orchestra_fini_fn_t)(void *plugin_data);

typedef struct {
    uint32_t abi_version;        /* ORCHESTRA_HOSTPLUGIN_ABI_VERSION: always first */
    uint32_t struct_size;        /* sizeof(orchestra_plugin_t) */
    const char *name;            /* unique; [A-Za-z0-9_.-]+ */
    const char *version;         /* e.g. "1.0.0" */
    const char *description;     /* may be NULL */
    const orchestra_module_t *modules;
    uint32_t module_count;
    uint32_t option_count;
    const orchestra_option_t *options;
    orchestra_init_fn_t init;    /* may be NULL */
    orchestra_fini_fn_t fini;    /* may be NULL */
} orchestra_plugin_t;

#if defined(_WIN32)
#define ORCHESTRA_HOSTPLUGIN_EXPORT __declspec(dllexport)
#else
#define ORCHESTRA_HOSTPLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* Define it as: ORCHESTRA_HOSTPLUGIN_EXPORT const orchestra_plugin_t *
 *               orchestra_hostplugin_descriptor(void) { return &my_plugin; } */
ORCHESTRA_HOSTPLUGIN_EXPORT const orchestra_plugin_t *orchestra_hostplugin_descriptor(void);

/* ---- helpers (static inline: nothing to link) -------------------------------- */

#define ORCHESTRA_ARG_I32(args, i) ((int32_t)(uint32_t)(args)[i])
#define ORCHESTRA_ARG_U32(args, i) ((uint32_t)(args)[i])
#define ORCHESTRA_ARG_I64(args, i) ((int64_t)(args)[i])
#define ORCHESTRA_ARG_U64(args, i) ((uint64_t)(args)[i])
#define ORCHESTRA_ARG_F32(args, i) orchestra_bits_to_f32((uint32_t)(args)[i])
#define ORCHESTRA_ARG_F64(args, i) orchestra_bits_to_f64((args)[i])
#define ORCHESTRA_RET_I32(results, i, v) ((results)[i] = (uint64_t)(uint32_t)(int32_t)(v))
#define ORCHESTRA_RET_I64(results, i, v) ((results)[i] = (uint64_t)(int64_t)(v))
#define ORCHESTRA_RET_F32(results, i, v) ((results)[i] = (uint64_t)orchestra_f32_to_bits(v))
#define ORCHESTRA_RET_F64(results, i, v) ((results)[i] = orchestra_f64_to_bits(v))

static inline float orchestra_bits_to_f32(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}
static inline double orchestra_bits_to_f64(uint64_t bits) {
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}
static inline uint32_t orchestra_f32_to_bits(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}
static inline uint64_t orchestra_f64_to_bits(double d) {
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits;
}

/* Write a printf-style message into ctx->error; returns 1, so a function can
 * `return orchestra_fail(ctx, "bad key %u", k);`. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static inline int32_t orchestra_fail(orchestra_ctx_t *ctx, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
    va_end(ap);
    return 1;
}

/* [PTR, PTR + LEN) of the caller's linear memory, or NULL if out of bounds (or
 * there is no memory). PTR and LEN are wasm32 addresses (u32). */
static inline uint8_t *orchestra_mem(orchestra_ctx_t *ctx, uint64_t ptr, uint64_t len) {
    if (ctx->memory == NULL || ptr > ctx->memory_size || len > ctx->memory_size - ptr)
        return NULL;
    return ctx->memory + ptr;
}

/* The bytes of kernel block HANDLE (length in *LEN), or NULL for handle 0, a bad
 * handle or a non-extism caller. Valid until the next block_alloc. */
static inline const uint8_t *orchestra_block(orchestra_ctx_t *ctx, uint64_t handle,
                                             uint64_t *len) {
    *len = 0;
    if (ctx->kernel == NULL || handle == 0) return NULL;
    uint64_t n = ctx->block_length(ctx, handle);
    if (handle > ctx->kernel_size || n > ctx->kernel_size - handle) return NULL;
    *len = n;
    return ctx->kernel + handle;
}

/* A new kernel block holding DATA[0..LEN); its handle, or 0 if it cannot be
 * allocated. DATA must not point into kernel memory (it may move). */
static inline uint64_t orchestra_block_new(orchestra_ctx_t *ctx, const void *data,
                                           uint64_t len) {
    if (len == 0) return 0;
    uint64_t h = ctx->block_alloc(ctx, len);
    if (h == 0 || ctx->kernel == NULL || h > ctx->kernel_size || len > ctx->kernel_size - h)
        return 0;
    memcpy(ctx->kernel + h, data, (size_t)len);
    return h;
}

/* The value of option NAME in OPTIONS, or DEFAULT_VALUE. */
static inline const char *orchestra_option(const orchestra_option_value_t *options,
                                           uint32_t count, const char *name,
                                           const char *default_value) {
    for (uint32_t i = 0; i < count; i++)
        if (options[i].name != NULL && strcmp(options[i].name, name) == 0)
            return options[i].value;
    return default_value;
}

#ifdef __cplusplus
}
#endif

#endif /* ORCHESTRA_HOSTPLUGIN_H */
