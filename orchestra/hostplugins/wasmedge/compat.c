/* compat.c -- Orchestra's WasmEdge C API compatibility library.
 *
 * Built on first use (orchestra/hostplugins/_wasmedge.py) into
 * $ORCHESTRA_CACHE_DIR/wasmedge/<source hash>/libwasmedge.so.0 with
 *
 *     cc -shared -fPIC -O2 -I<this folder's parent> -Wl,-soname,libwasmedge.so.0
 *        -Wl,--version-script=compat.map compat.c
 *
 * and loaded RTLD_GLOBAL into the worker (and the probe) before a WasmEdge
 * plug-in, so the plug-in's `NEEDED libwasmedge.so.0` and its versioned
 * references (WasmEdge_X@WASMEDGE_0.16, ...) resolve here.
 *
 * What it implements: what a C-API plug-in's `create` and host functions use
 * (strings, value types, values, limits, function/table/memory/global types and
 * instances, module instances, results, the calling frame's memory). The five
 * limit functions changed in 0.17 have both forms (see the end of this file).
 * Everything else in the C API is a stub
 * that reports itself on stderr and fails (NULL, 0, WasmEdge_Result_Fail), so a
 * plug-in linked with `-z now` still loads. Calls come in through
 * orchestra_wasmedge_call(), an Orchestra native host function (see
 * orchestra_hostplugin.h) whose plugin_data is the function instance.
 *
 * Written for Orchestra from the public C API documentation; it shares no code
 * with WasmEdge.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestra_hostplugin.h"
#include "wasmedge/wasmedge.h"

/* Every API function is defined as orchestra_impl_<name> (checked against the
 * header's declaration of <name>) and exported under <name> in each symbol
 * version, below. */
#define API(ret, name) __typeof__(name) orchestra_impl_##name; ret orchestra_impl_##name

#define ORCHESTRA_WASMEDGE_EXPORT __attribute__((visibility("default")))

static void unsupported(const char *name) {
  fprintf(stderr,
          "orchestra: %s is not supported by Orchestra's WasmEdge compatibility library "
          "(docs/hostplugins.md); it failed without effect\n",
          name);
}

/* ---- value types: Data[0] is the wasm type code ------------------------ */

enum { VT_I32 = 0x7F, VT_I64 = 0x7E, VT_F32 = 0x7D, VT_F64 = 0x7C, VT_V128 = 0x7B,
       VT_FUNCREF = 0x70, VT_EXTERNREF = 0x6F };

static WasmEdge_ValType valtype(uint8_t code) {
  WasmEdge_ValType t;
  memset(&t, 0, sizeof t);
  t.Data[0] = code;
  if (code == VT_FUNCREF || code == VT_EXTERNREF) t.Data[1] = 1; /* nullable */
  return t;
}

API(const char *, WasmEdge_VersionGet)(void) { return WASMEDGE_VERSION; }
API(uint32_t, WasmEdge_VersionGetMajor)(void) { return WASMEDGE_VERSION_MAJOR; }
API(uint32_t, WasmEdge_VersionGetMinor)(void) { return WASMEDGE_VERSION_MINOR; }
API(uint32_t, WasmEdge_VersionGetPatch)(void) { return WASMEDGE_VERSION_PATCH; }
API(void, WasmEdge_LogSetErrorLevel)(void) {}
API(void, WasmEdge_LogSetDebugLevel)(void) {}
API(void, WasmEdge_LogOff)(void) {}
/* Orchestra's compatibility library logs nothing itself: level and callback have no effect. */
API(void, WasmEdge_LogSetLevel)(const enum WasmEdge_LogLevel Level) { (void)Level; }
API(void, WasmEdge_LogSetCallback)(WasmEdge_LogCallback_t Callback) { (void)Callback; }

API(WasmEdge_ValType, WasmEdge_ValTypeGenI32)(void) { return valtype(VT_I32); }
API(WasmEdge_ValType, WasmEdge_ValTypeGenI64)(void) { return valtype(VT_I64); }
API(WasmEdge_ValType, WasmEdge_ValTypeGenF32)(void) { return valtype(VT_F32); }
API(WasmEdge_ValType, WasmEdge_ValTypeGenF64)(void) { return valtype(VT_F64); }
API(WasmEdge_ValType, WasmEdge_ValTypeGenV128)(void) { return valtype(VT_V128); }
API(WasmEdge_ValType, WasmEdge_ValTypeGenFuncRef)(void) { return valtype(VT_FUNCREF); }
API(WasmEdge_ValType, WasmEdge_ValTypeGenExternRef)(void) { return valtype(VT_EXTERNREF); }
API(bool, WasmEdge_ValTypeIsEqual)(const WasmEdge_ValType ValType1, const WasmEdge_ValType ValType2) {
  return memcmp(ValType1.Data, ValType2.Data, sizeof ValType1.Data) == 0;
}
API(bool, WasmEdge_ValTypeIsI32)(const WasmEdge_ValType ValType) { return ValType.Data[0] == VT_I32; }
API(bool, WasmEdge_ValTypeIsI64)(const WasmEdge_ValType ValType) { return ValType.Data[0] == VT_I64; }
API(bool, WasmEdge_ValTypeIsF32)(const WasmEdge_ValType ValType) { return ValType.Data[0] == VT_F32; }
API(bool, WasmEdge_ValTypeIsF64)(const WasmEdge_ValType ValType) { return ValType.Data[0] == VT_F64; }
API(bool, WasmEdge_ValTypeIsV128)(const WasmEdge_ValType ValType) { return ValType.Data[0] == VT_V128; }
API(bool, WasmEdge_ValTypeIsFuncRef)(const WasmEdge_ValType ValType) { return ValType.Data[0] == VT_FUNCREF; }
API(bool, WasmEdge_ValTypeIsExternRef)(const WasmEdge_ValType ValType) { return ValType.Data[0] == VT_EXTERNREF; }
API(bool, WasmEdge_ValTypeIsRef)(const WasmEdge_ValType ValType) {
  return ValType.Data[0] == VT_FUNCREF || ValType.Data[0] == VT_EXTERNREF;
}
API(bool, WasmEdge_ValTypeIsRefNull)(const WasmEdge_ValType ValType) {
  return orchestra_impl_WasmEdge_ValTypeIsRef(ValType) && ValType.Data[1] == 1;
}

/* ---- values ------------------------------------------------------------- */

static WasmEdge_Value value(uint128_t bits, uint8_t code) {
  WasmEdge_Value v;
  memset(&v, 0, sizeof v);
  v.Value = bits;
  v.Type = valtype(code);
  return v;
}

API(WasmEdge_Value, WasmEdge_ValueGenI32)(const int32_t Val) { return value((uint32_t)Val, VT_I32); }
API(WasmEdge_Value, WasmEdge_ValueGenI64)(const int64_t Val) { return value((uint64_t)Val, VT_I64); }
API(WasmEdge_Value, WasmEdge_ValueGenF32)(const float Val) {
  uint32_t bits;
  memcpy(&bits, &Val, sizeof bits);
  return value(bits, VT_F32);
}
API(WasmEdge_Value, WasmEdge_ValueGenF64)(const double Val) {
  uint64_t bits;
  memcpy(&bits, &Val, sizeof bits);
  return value(bits, VT_F64);
}
API(WasmEdge_Value, WasmEdge_ValueGenV128)(const int128_t Val) { return value((uint128_t)Val, VT_V128); }
API(WasmEdge_Value, WasmEdge_ValueGenFuncRef)(const WasmEdge_FunctionInstanceContext *Cxt) {
  return value((uintptr_t)Cxt, VT_FUNCREF);
}
API(WasmEdge_Value, WasmEdge_ValueGenExternRef)(void *Ref) { return value((uintptr_t)Ref, VT_EXTERNREF); }
API(int32_t, WasmEdge_ValueGetI32)(const WasmEdge_Value Val) { return (int32_t)(uint32_t)Val.Value; }
API(int64_t, WasmEdge_ValueGetI64)(const WasmEdge_Value Val) { return (int64_t)(uint64_t)Val.Value; }
API(float, WasmEdge_ValueGetF32)(const WasmEdge_Value Val) {
  uint32_t bits = (uint32_t)Val.Value;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}
API(double, WasmEdge_ValueGetF64)(const WasmEdge_Value Val) {
  uint64_t bits = (uint64_t)Val.Value;
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}
API(int128_t, WasmEdge_ValueGetV128)(const WasmEdge_Value Val) { return (int128_t)Val.Value; }
API(bool, WasmEdge_ValueIsNullRef)(const WasmEdge_Value Val) { return Val.Value == 0; }
API(const WasmEdge_FunctionInstanceContext *, WasmEdge_ValueGetFuncRef)(const WasmEdge_Value Val) {
  return (const WasmEdge_FunctionInstanceContext *)(uintptr_t)Val.Value;
}
API(void *, WasmEdge_ValueGetExternRef)(const WasmEdge_Value Val) { return (void *)(uintptr_t)Val.Value; }

/* ---- strings and bytes (owned copies are NUL-terminated) --------------- */

static char *copy(const char *buf, uint32_t len) {
  char *out = malloc((size_t)len + 1);
  if (out == NULL) return NULL;
  if (len) memcpy(out, buf, len);
  out[len] = '\0';
  return out;
}

API(WasmEdge_String, WasmEdge_StringCreateByCString)(const char *Str) {
  WasmEdge_String s = {0, NULL};
  if (Str == NULL) return s;
  s.Length = (uint32_t)strlen(Str);
  s.Buf = copy(Str, s.Length);
  if (s.Buf == NULL) s.Length = 0;
  return s;
}
API(WasmEdge_String, WasmEdge_StringCreateByBuffer)(const char *Buf, const uint32_t Len) {
  WasmEdge_String s = {0, NULL};
  if (Buf == NULL || Len == 0) return s;
  s.Buf = copy(Buf, Len);
  s.Length = s.Buf ? Len : 0;
  return s;
}
API(WasmEdge_String, WasmEdge_StringWrap)(const char *Buf, const uint32_t Len) {
  WasmEdge_String s = {Len, Buf};
  return s;
}
API(bool, WasmEdge_StringIsEqual)(const WasmEdge_String Str1, const WasmEdge_String Str2) {
  return Str1.Length == Str2.Length && (Str1.Length == 0 || memcmp(Str1.Buf, Str2.Buf, Str1.Length) == 0);
}
API(uint32_t, WasmEdge_StringCopy)(const WasmEdge_String Str, char *Buf, const uint32_t Len) {
  uint32_t n = Str.Length < Len ? Str.Length : Len;
  if (Buf == NULL) return 0;
  if (n) memcpy(Buf, Str.Buf, n);
  if (n < Len) memset(Buf + n, 0, Len - n);
  return n;
}
API(void, WasmEdge_StringDelete)(WasmEdge_String Str) { free((void *)Str.Buf); }
API(WasmEdge_Bytes, WasmEdge_BytesCreate)(const uint8_t *Buf, const uint32_t Len) {
  WasmEdge_Bytes b = {0, NULL};
  if (Buf == NULL || Len == 0) return b;
  b.Buf = (const uint8_t *)copy((const char *)Buf, Len);
  b.Length = b.Buf ? Len : 0;
  return b;
}
API(WasmEdge_Bytes, WasmEdge_BytesWrap)(const uint8_t *Buf, const uint32_t Len) {
  WasmEdge_Bytes b = {Len, Buf};
  return b;
}
API(void, WasmEdge_BytesDelete)(WasmEdge_Bytes Bytes) { free((void *)Bytes.Buf); }

/* ---- results ------------------------------------------------------------ */

API(bool, WasmEdge_ResultOK)(const WasmEdge_Result Res) { return Res.Code == 0x00 || Res.Code == 0x01; }
API(WasmEdge_Result, WasmEdge_ResultGen)(const enum WasmEdge_ErrCategory Category, const uint32_t Code) {
  WasmEdge_Result r = {((uint32_t)Category << 24) | (Code & 0x00FFFFFFu)};
  return r;
}
static WasmEdge_Result wasm_error(enum WasmEdge_ErrCode code) {
  return orchestra_impl_WasmEdge_ResultGen(WasmEdge_ErrCategory_WASM, (uint32_t)code);
}
API(uint32_t, WasmEdge_ResultGetCode)(const WasmEdge_Result Res) { return Res.Code & 0x00FFFFFFu; }
API(enum WasmEdge_ErrCategory, WasmEdge_ResultGetCategory)(const WasmEdge_Result Res) {
  return (enum WasmEdge_ErrCategory)(Res.Code >> 24);
}
API(const char *, WasmEdge_ResultGetMessage)(const WasmEdge_Result Res) {
  if ((Res.Code >> 24) != WasmEdge_ErrCategory_WASM) return "user defined error code";
  switch (Res.Code & 0x00FFFFFFu) {
    case 0x00: return "success";
    case 0x01: return "terminated";
    case 0x02: return "generic runtime error";
    case 0x03: return "cost limit exceeded";
    case 0x04: return "wrong VM workflow";
    case 0x05: return "wasm function not found";
    case 0x06: return "AOT runtime is disabled in this build";
    case 0x07: return "execution interrupted";
    case 0x0A: return "set value into const";
    case 0x0B: return "set value type mismatch";
    case 0x0407: return "out of bounds table access";
    case 0x0408: return "out of bounds memory access";
    case 0x040E: return "host function failed";
    case 0x040F: return "reference type mismatch";
    default: return "WasmEdge error";
  }
}

/* ---- function types ------------------------------------------------------- */

struct WasmEdge_FunctionTypeContext {
  uint32_t params, results;
  WasmEdge_ValType *types; /* params, then results */
};

static WasmEdge_FunctionTypeContext *new_type(const WasmEdge_ValType *p, uint32_t np,
                                              const WasmEdge_ValType *r, uint32_t nr) {
  WasmEdge_FunctionTypeContext *t = calloc(1, sizeof *t);
  if (t == NULL) return NULL;
  t->types = calloc((size_t)np + nr + 1, sizeof(WasmEdge_ValType));
  if (t->types == NULL) {
    free(t);
    return NULL;
  }
  if (np) memcpy(t->types, p, np * sizeof *p);
  if (nr) memcpy(t->types + np, r, nr * sizeof *r);
  t->params = np;
  t->results = nr;
  return t;
}

API(WasmEdge_FunctionTypeContext *, WasmEdge_FunctionTypeCreate)(const WasmEdge_ValType *ParamList,
                                                                 const uint32_t ParamLen,
                                                                 const WasmEdge_ValType *ReturnList,
                                                                 const uint32_t ReturnLen) {
  if ((ParamLen && ParamList == NULL) || (ReturnLen && ReturnList == NULL)) return NULL;
  return new_type(ParamList, ParamLen, ReturnList, ReturnLen);
}
API(uint32_t, WasmEdge_FunctionTypeGetParametersLength)(const WasmEdge_FunctionTypeContext *Cxt) {
  return Cxt ? Cxt->params : 0;
}
API(uint32_t, WasmEdge_FunctionTypeGetParameters)(const WasmEdge_FunctionTypeContext *Cxt,
                                                  WasmEdge_ValType *List, const uint32_t Len) {
  if (Cxt == NULL) return 0;
  for (uint32_t i = 0; List && i < Len && i < Cxt->params; i++) List[i] = Cxt->types[i];
  return Cxt->params;
}
API(uint32_t, WasmEdge_FunctionTypeGetReturnsLength)(const WasmEdge_FunctionTypeContext *Cxt) {
  return Cxt ? Cxt->results : 0;
}
API(uint32_t, WasmEdge_FunctionTypeGetReturns)(const WasmEdge_FunctionTypeContext *Cxt,
                                               WasmEdge_ValType *List, const uint32_t Len) {
  if (Cxt == NULL) return 0;
  for (uint32_t i = 0; List && i < Len && i < Cxt->results; i++) List[i] = Cxt->types[Cxt->params + i];
  return Cxt->results;
}
API(void, WasmEdge_FunctionTypeDelete)(WasmEdge_FunctionTypeContext *Cxt) {
  if (Cxt == NULL) return;
  free(Cxt->types);
  free(Cxt);
}

/* ---- function and module instances ---------------------------------------- */

struct WasmEdge_FunctionInstanceContext {
  WasmEdge_FunctionTypeContext *type;
  WasmEdge_HostFunc_t fn;
  WasmEdge_WrapFunc_t wrap;
  void *binding;
  void *data;
  char *name; /* set when added to a module */
  struct WasmEdge_FunctionInstanceContext *next;
};

/* A table, memory or global added to a module instance (kind: 't', 'm', 'g'). */
struct export {
  char kind;
  char *name;
  void *instance;
  struct export *next;
};

static void delete_exports(struct export *e);

struct WasmEdge_ModuleInstanceContext {
  WasmEdge_String name; /* owned */
  void *host_data;
  void (*finalizer)(void *);
  WasmEdge_FunctionInstanceContext *first, *last;
  uint32_t count;
  struct export *exports; /* tables, memories and globals added, newest first (owned) */
  bool borrowed;          /* a calling frame's view of its caller: not the plug-in's to delete */
};

static WasmEdge_FunctionInstanceContext *new_function(const WasmEdge_FunctionTypeContext *type) {
  WasmEdge_FunctionInstanceContext *f;
  if (type == NULL) return NULL;
  f = calloc(1, sizeof *f);
  if (f == NULL) return NULL;
  f->type = new_type(type->types, type->params, type->types + type->params, type->results);
  if (f->type == NULL) {
    free(f);
    return NULL;
  }
  return f;
}

API(WasmEdge_FunctionInstanceContext *, WasmEdge_FunctionInstanceCreate)(const WasmEdge_FunctionTypeContext *Type,
                                                                         WasmEdge_HostFunc_t HostFunc, void *Data,
                                                                         const uint64_t Cost) {
  WasmEdge_FunctionInstanceContext *f;
  (void)Cost;
  if (HostFunc == NULL || (f = new_function(Type)) == NULL) return NULL;
  f->fn = HostFunc;
  f->data = Data;
  return f;
}
API(WasmEdge_FunctionInstanceContext *, WasmEdge_FunctionInstanceCreateBinding)(
    const WasmEdge_FunctionTypeContext *Type, WasmEdge_WrapFunc_t WrapFunc, void *Binding, void *Data,
    const uint64_t Cost) {
  WasmEdge_FunctionInstanceContext *f;
  (void)Cost;
  if (WrapFunc == NULL || (f = new_function(Type)) == NULL) return NULL;
  f->wrap = WrapFunc;
  f->binding = Binding;
  f->data = Data;
  return f;
}
API(const void *, WasmEdge_FunctionInstanceGetData)(const WasmEdge_FunctionInstanceContext *Cxt) {
  return Cxt ? Cxt->data : NULL;
}
API(const WasmEdge_FunctionTypeContext *, WasmEdge_FunctionInstanceGetFunctionType)(
    const WasmEdge_FunctionInstanceContext *Cxt) {
  return Cxt ? Cxt->type : NULL;
}
API(void, WasmEdge_FunctionInstanceDelete)(WasmEdge_FunctionInstanceContext *Cxt) {
  if (Cxt == NULL) return;
  orchestra_impl_WasmEdge_FunctionTypeDelete(Cxt->type);
  free(Cxt->name);
  free(Cxt);
}

static WasmEdge_ModuleInstanceContext *new_module(WasmEdge_String name, void *data, void (*fin)(void *)) {
  WasmEdge_ModuleInstanceContext *m = calloc(1, sizeof *m);
  if (m == NULL) return NULL;
  m->name.Buf = copy(name.Buf ? name.Buf : "", name.Buf ? name.Length : 0);
  m->name.Length = m->name.Buf ? name.Length : 0;
  m->host_data = data;
  m->finalizer = fin;
  return m;
}

API(WasmEdge_ModuleInstanceContext *, WasmEdge_ModuleInstanceCreate)(const WasmEdge_String ModuleName) {
  return new_module(ModuleName, NULL, NULL);
}
API(WasmEdge_ModuleInstanceContext *, WasmEdge_ModuleInstanceCreateWithData)(const WasmEdge_String ModuleName,
                                                                             void *HostData,
                                                                             void (*Finalizer)(void *)) {
  return new_module(ModuleName, HostData, Finalizer);
}
API(WasmEdge_String, WasmEdge_ModuleInstanceGetModuleName)(const WasmEdge_ModuleInstanceContext *Cxt) {
  WasmEdge_String none = {0, NULL};
  return Cxt ? Cxt->name : none;
}
API(void *, WasmEdge_ModuleInstanceGetHostData)(const WasmEdge_ModuleInstanceContext *Cxt) {
  return Cxt ? Cxt->host_data : NULL;
}
API(WasmEdge_FunctionInstanceContext *, WasmEdge_ModuleInstanceFindFunction)(const WasmEdge_ModuleInstanceContext *Cxt,
                                                                             const WasmEdge_String Name) {
  for (WasmEdge_FunctionInstanceContext *f = Cxt ? Cxt->first : NULL; f; f = f->next) {
    if (strlen(f->name) == Name.Length && memcmp(f->name, Name.Buf, Name.Length) == 0) return f;
  }
  return NULL;
}
API(uint32_t, WasmEdge_ModuleInstanceListFunctionLength)(const WasmEdge_ModuleInstanceContext *Cxt) {
  return Cxt ? Cxt->count : 0;
}
API(uint32_t, WasmEdge_ModuleInstanceListFunction)(const WasmEdge_ModuleInstanceContext *Cxt,
                                                   WasmEdge_String *Names, const uint32_t Len) {
  uint32_t i = 0;
  if (Cxt == NULL) return 0;
  for (WasmEdge_FunctionInstanceContext *f = Cxt->first; f && Names && i < Len; f = f->next, i++) {
    Names[i].Buf = f->name;
    Names[i].Length = (uint32_t)strlen(f->name);
  }
  return Cxt->count;
}
API(void, WasmEdge_ModuleInstanceAddFunction)(WasmEdge_ModuleInstanceContext *Cxt, const WasmEdge_String Name,
                                              WasmEdge_FunctionInstanceContext *FuncCxt) {
  if (Cxt == NULL || Cxt->borrowed || FuncCxt == NULL || FuncCxt->name != NULL) return;
  FuncCxt->name = copy(Name.Buf ? Name.Buf : "", Name.Buf ? Name.Length : 0);
  if (FuncCxt->name == NULL) return;
  WasmEdge_FunctionInstanceContext *old = orchestra_impl_WasmEdge_ModuleInstanceFindFunction(Cxt, Name);
  if (old != NULL) { /* a later export of the same name replaces it */
    old->fn = FuncCxt->fn;
    old->wrap = FuncCxt->wrap;
    old->binding = FuncCxt->binding;
    old->data = FuncCxt->data;
    WasmEdge_FunctionTypeContext *t = old->type;
    old->type = FuncCxt->type;
    FuncCxt->type = t;
    orchestra_impl_WasmEdge_FunctionInstanceDelete(FuncCxt);
    return;
  }
  if (Cxt->last) Cxt->last->next = FuncCxt;
  else Cxt->first = FuncCxt;
  Cxt->last = FuncCxt;
  Cxt->count++;
}
API(void, WasmEdge_ModuleInstanceDelete)(WasmEdge_ModuleInstanceContext *Cxt) {
  if (Cxt == NULL || Cxt->borrowed) return;
  for (WasmEdge_FunctionInstanceContext *f = Cxt->first, *next; f; f = next) {
    next = f->next;
    orchestra_impl_WasmEdge_FunctionInstanceDelete(f);
  }
  delete_exports(Cxt->exports);
  if (Cxt->finalizer) Cxt->finalizer(Cxt->host_data);
  free((void *)Cxt->name.Buf);
  free(Cxt);
}

/* ---- the calling frame and the caller's memory ---------------------------- */

struct WasmEdge_MemoryInstanceContext {
  uint8_t *base;
  uint64_t size;
  WasmEdge_MemoryTypeContext *type; /* NULL: the caller's memory (not the plug-in's) */
};

struct WasmEdge_CallingFrameContext {
  WasmEdge_MemoryInstanceContext memory;
  /* The caller as a module instance, made on demand (CallingFrameGetModuleInstance):
   * it exports its memory as "memory", nothing else. */
  WasmEdge_ModuleInstanceContext caller;
  struct export caller_memory;
};

API(WasmEdge_Result, WasmEdge_MemoryInstanceGetData)(const WasmEdge_MemoryInstanceContext *Cxt, uint8_t *Data,
                                                     const uint32_t Offset, const uint32_t Length) {
  if (Cxt == NULL || Cxt->base == NULL || (uint64_t)Offset + Length > Cxt->size || (Length && Data == NULL))
    return wasm_error(WasmEdge_ErrCode_MemoryOutOfBounds);
  if (Length) memcpy(Data, Cxt->base + Offset, Length);
  return WasmEdge_Result_Success;
}
API(WasmEdge_Result, WasmEdge_MemoryInstanceSetData)(WasmEdge_MemoryInstanceContext *Cxt, const uint8_t *Data,
                                                     const uint32_t Offset, const uint32_t Length) {
  if (Cxt == NULL || Cxt->base == NULL || (uint64_t)Offset + Length > Cxt->size || (Length && Data == NULL))
    return wasm_error(WasmEdge_ErrCode_MemoryOutOfBounds);
  if (Length) memcpy(Cxt->base + Offset, Data, Length);
  return WasmEdge_Result_Success;
}
API(uint8_t *, WasmEdge_MemoryInstanceGetPointer)(WasmEdge_MemoryInstanceContext *Cxt, const uint32_t Offset,
                                                  const uint32_t Length) {
  if (Cxt == NULL || Cxt->base == NULL || (uint64_t)Offset + Length > Cxt->size) return NULL;
  return Cxt->base + Offset;
}
API(const uint8_t *, WasmEdge_MemoryInstanceGetPointerConst)(const WasmEdge_MemoryInstanceContext *Cxt,
                                                             const uint32_t Offset, const uint32_t Length) {
  if (Cxt == NULL || Cxt->base == NULL || (uint64_t)Offset + Length > Cxt->size) return NULL;
  return Cxt->base + Offset;
}
API(uint32_t, WasmEdge_MemoryInstanceGetPageSize)(const WasmEdge_MemoryInstanceContext *Cxt) {
  return Cxt ? (uint32_t)(Cxt->size / 65536u) : 0;
}
API(WasmEdge_ExecutorContext *, WasmEdge_CallingFrameGetExecutor)(const WasmEdge_CallingFrameContext *Cxt) {
  (void)Cxt;
  return NULL; /* the caller runs in wasmtime: there is no WasmEdge executor */
}
API(const WasmEdge_ModuleInstanceContext *, WasmEdge_CallingFrameGetModuleInstance)(
    const WasmEdge_CallingFrameContext *Cxt) {
  WasmEdge_CallingFrameContext *frame = (WasmEdge_CallingFrameContext *)Cxt;
  if (frame == NULL) return NULL;
  memset(&frame->caller, 0, sizeof frame->caller);
  frame->caller.borrowed = true;
  if (frame->memory.base != NULL) {
    frame->caller_memory.kind = 'm';
    frame->caller_memory.name = (char *)"memory";
    frame->caller_memory.instance = &frame->memory;
    frame->caller_memory.next = NULL;
    frame->caller.exports = &frame->caller_memory;
  }
  return &frame->caller;
}
API(WasmEdge_MemoryInstanceContext *, WasmEdge_CallingFrameGetMemoryInstance)(
    const WasmEdge_CallingFrameContext *Cxt, const uint32_t Idx) {
  if (Cxt == NULL || Idx != 0 || Cxt->memory.base == NULL) return NULL;
  return (WasmEdge_MemoryInstanceContext *)&Cxt->memory;
}

/* ---- limits, types, and the plug-in's own tables, memories and globals ------
 * A plug-in's create may make these and add them to its module. They live in
 * the plug-in's worker and its host functions may use them; wasm cannot import
 * them (Orchestra links only the host functions of a WasmEdge module into
 * wasmtime): an import of one is refused at load as not a function. */

struct WasmEdge_LimitContext {
  uint64_t min, max;
  bool has_max, shared, is64;
  struct WasmEdge_LimitContext *next_live; /* the live ones, to check a pointer without reading it */
};

static WasmEdge_LimitContext *live_limits;

static WasmEdge_LimitContext *new_limit(uint64_t min, uint64_t max, bool has_max, bool shared, bool is64) {
  WasmEdge_LimitContext *l = calloc(1, sizeof *l);
  if (l == NULL) return NULL;
  l->min = min;
  l->max = max;
  l->has_max = has_max;
  l->shared = shared;
  l->is64 = is64;
  l->next_live = live_limits;
  live_limits = l;
  return l;
}

/* A limit made here, or NULL (a pointer that is not one is never read: a
 * plug-in mixing the 0.16 and 0.17 forms of the limit functions gets NULL). */
static const WasmEdge_LimitContext *limit(const WasmEdge_LimitContext *l) {
  for (const WasmEdge_LimitContext *x = live_limits; x; x = x->next_live)
    if (x == l) return l;
  return NULL;
}

static void free_limit(WasmEdge_LimitContext *l) {
  for (WasmEdge_LimitContext **x = &live_limits; *x; x = &(*x)->next_live) {
    if (*x == l) {
      *x = l->next_live;
      free(l);
      return;
    }
  }
}

API(WasmEdge_LimitContext *, WasmEdge_LimitCreate)(const uint64_t Min, const bool Is64Bit) {
  return new_limit(Min, 0, false, false, Is64Bit);
}
API(WasmEdge_LimitContext *, WasmEdge_LimitCreateWithMax)(const uint64_t Min, const uint64_t Max, const bool Is64Bit,
                                                          const bool IsShared) {
  return Max < Min ? NULL : new_limit(Min, Max, true, IsShared, Is64Bit);
}
API(uint64_t, WasmEdge_LimitGetMin)(const WasmEdge_LimitContext *Cxt) { return limit(Cxt) ? Cxt->min : 0; }
API(uint64_t, WasmEdge_LimitGetMax)(const WasmEdge_LimitContext *Cxt) { return limit(Cxt) ? Cxt->max : 0; }
API(bool, WasmEdge_LimitHasMax)(const WasmEdge_LimitContext *Cxt) { return limit(Cxt) ? Cxt->has_max : false; }
API(bool, WasmEdge_LimitIsShared)(const WasmEdge_LimitContext *Cxt) { return limit(Cxt) ? Cxt->shared : false; }
API(bool, WasmEdge_LimitIs64Bit)(const WasmEdge_LimitContext *Cxt) { return limit(Cxt) ? Cxt->is64 : false; }
API(bool, WasmEdge_LimitIsEqual)(const WasmEdge_LimitContext *Lim1, const WasmEdge_LimitContext *Lim2) {
  if (!limit(Lim1) || !limit(Lim2)) return false;
  return Lim1->min == Lim2->min && Lim1->has_max == Lim2->has_max && Lim1->shared == Lim2->shared &&
         Lim1->is64 == Lim2->is64 && (!Lim1->has_max || Lim1->max == Lim2->max);
}
API(void, WasmEdge_LimitDelete)(WasmEdge_LimitContext *Cxt) {
  if (limit(Cxt)) free_limit(Cxt);
}

struct WasmEdge_TableTypeContext {
  WasmEdge_ValType ref;
  WasmEdge_LimitContext *limit; /* owned */
};
struct WasmEdge_MemoryTypeContext {
  WasmEdge_LimitContext *limit; /* owned */
};
struct WasmEdge_GlobalTypeContext {
  WasmEdge_ValType type;
  enum WasmEdge_Mutability mut;
};

static WasmEdge_LimitContext *copy_limit(const WasmEdge_LimitContext *l) {
  return limit(l) ? new_limit(l->min, l->max, l->has_max, l->shared, l->is64) : NULL;
}
static WasmEdge_TableTypeContext *new_table_type(WasmEdge_ValType ref, WasmEdge_LimitContext *l) {
  WasmEdge_TableTypeContext *t;
  if (l == NULL || !orchestra_impl_WasmEdge_ValTypeIsRef(ref) || (t = calloc(1, sizeof *t)) == NULL) {
    if (l) free_limit(l);
    return NULL;
  }
  t->ref = ref;
  t->limit = l;
  return t;
}
static WasmEdge_MemoryTypeContext *new_memory_type(WasmEdge_LimitContext *l) {
  WasmEdge_MemoryTypeContext *t;
  if (l == NULL || (t = calloc(1, sizeof *t)) == NULL) {
    if (l) free_limit(l);
    return NULL;
  }
  t->limit = l;
  return t;
}

API(WasmEdge_TableTypeContext *, WasmEdge_TableTypeCreate)(const WasmEdge_ValType RefType,
                                                           const WasmEdge_LimitContext *Limit) {
  return new_table_type(RefType, copy_limit(Limit));
}
API(WasmEdge_ValType, WasmEdge_TableTypeGetRefType)(const WasmEdge_TableTypeContext *Cxt) {
  return Cxt ? Cxt->ref : valtype(VT_FUNCREF);
}
API(const WasmEdge_LimitContext *, WasmEdge_TableTypeGetLimit)(const WasmEdge_TableTypeContext *Cxt) {
  return Cxt ? Cxt->limit : NULL;
}
API(void, WasmEdge_TableTypeDelete)(WasmEdge_TableTypeContext *Cxt) {
  if (Cxt == NULL) return;
  free_limit(Cxt->limit);
  free(Cxt);
}
API(WasmEdge_MemoryTypeContext *, WasmEdge_MemoryTypeCreate)(const WasmEdge_LimitContext *Limit) {
  return new_memory_type(copy_limit(Limit));
}
API(const WasmEdge_LimitContext *, WasmEdge_MemoryTypeGetLimit)(const WasmEdge_MemoryTypeContext *Cxt) {
  return Cxt ? Cxt->limit : NULL;
}
API(void, WasmEdge_MemoryTypeDelete)(WasmEdge_MemoryTypeContext *Cxt) {
  if (Cxt == NULL) return;
  free_limit(Cxt->limit);
  free(Cxt);
}
API(WasmEdge_GlobalTypeContext *, WasmEdge_GlobalTypeCreate)(const WasmEdge_ValType ValType,
                                                             const enum WasmEdge_Mutability Mut) {
  WasmEdge_GlobalTypeContext *t = calloc(1, sizeof *t);
  if (t == NULL) return NULL;
  t->type = ValType;
  t->mut = Mut;
  return t;
}
API(WasmEdge_ValType, WasmEdge_GlobalTypeGetValType)(const WasmEdge_GlobalTypeContext *Cxt) {
  return Cxt ? Cxt->type : valtype(VT_I32);
}
API(enum WasmEdge_Mutability, WasmEdge_GlobalTypeGetMutability)(const WasmEdge_GlobalTypeContext *Cxt) {
  return Cxt ? Cxt->mut : WasmEdge_Mutability_Const;
}
API(void, WasmEdge_GlobalTypeDelete)(WasmEdge_GlobalTypeContext *Cxt) { free(Cxt); }

/* The limit functions of WasmEdge 0.16 and before: the limit a struct passed by
 * value. Exported as <name>@WASMEDGE_0.14/0.15/0.16 (what a plug-in linked
 * against those references, and what an unversioned reference binds to, as
 * with libwasmedge 0.17.1); the forms above are <name>@@WASMEDGE_0.17. */
typedef struct orchestra_limit_016 { bool HasMax; bool Shared; uint32_t Min; uint32_t Max; } orchestra_limit_016;

static WasmEdge_LimitContext *limit_of_016(orchestra_limit_016 l) {
  if (l.HasMax && l.Max < l.Min) return NULL;
  return new_limit(l.Min, l.HasMax ? l.Max : 0, l.HasMax, l.Shared, false);
}
static orchestra_limit_016 limit_016(const WasmEdge_LimitContext *l) {
  orchestra_limit_016 r = {false, false, 0, 0};
  if (limit(l)) {
    r.HasMax = l->has_max;
    r.Shared = l->shared;
    r.Min = (uint32_t)l->min;
    r.Max = (uint32_t)l->max;
  }
  return r;
}
ORCHESTRA_WASMEDGE_EXPORT bool orchestra_016_WasmEdge_LimitIsEqual(const orchestra_limit_016 Lim1,
                                                                   const orchestra_limit_016 Lim2) {
  return Lim1.HasMax == Lim2.HasMax && Lim1.Shared == Lim2.Shared && Lim1.Min == Lim2.Min &&
         (!Lim1.HasMax || Lim1.Max == Lim2.Max);
}
ORCHESTRA_WASMEDGE_EXPORT WasmEdge_TableTypeContext *orchestra_016_WasmEdge_TableTypeCreate(
    const WasmEdge_ValType RefType, const orchestra_limit_016 Limit) {
  return new_table_type(RefType, limit_of_016(Limit));
}
ORCHESTRA_WASMEDGE_EXPORT orchestra_limit_016 orchestra_016_WasmEdge_TableTypeGetLimit(const WasmEdge_TableTypeContext *Cxt) {
  return limit_016(Cxt ? Cxt->limit : NULL);
}
ORCHESTRA_WASMEDGE_EXPORT WasmEdge_MemoryTypeContext *orchestra_016_WasmEdge_MemoryTypeCreate(const orchestra_limit_016 Limit) {
  return new_memory_type(limit_of_016(Limit));
}
ORCHESTRA_WASMEDGE_EXPORT orchestra_limit_016 orchestra_016_WasmEdge_MemoryTypeGetLimit(const WasmEdge_MemoryTypeContext *Cxt) {
  return limit_016(Cxt ? Cxt->limit : NULL);
}

/* Tables. */
struct WasmEdge_TableInstanceContext {
  WasmEdge_TableTypeContext *type; /* owned copy */
  uint32_t size;
  WasmEdge_Value *data;
};


API(WasmEdge_TableInstanceContext *, WasmEdge_TableInstanceCreateWithInit)(const WasmEdge_TableTypeContext *TabType,
                                                                           const WasmEdge_Value Value) {
  WasmEdge_TableInstanceContext *t;
  if (TabType == NULL || TabType->limit->min > 10000000u || (t = calloc(1, sizeof *t)) == NULL) return NULL;
  t->type = new_table_type(TabType->ref, copy_limit(TabType->limit));
  t->size = (uint32_t)TabType->limit->min;
  t->data = calloc(t->size ? t->size : 1, sizeof *t->data);
  if (t->type == NULL || t->data == NULL) {
    orchestra_impl_WasmEdge_TableTypeDelete(t->type);
    free(t->data);
    free(t);
    return NULL;
  }
  for (uint32_t i = 0; i < t->size; i++) t->data[i] = Value;
  return t;
}
API(WasmEdge_TableInstanceContext *, WasmEdge_TableInstanceCreate)(const WasmEdge_TableTypeContext *TabType) {
  return orchestra_impl_WasmEdge_TableInstanceCreateWithInit(TabType, value(0, TabType ? TabType->ref.Data[0] : VT_FUNCREF));
}
API(const WasmEdge_TableTypeContext *, WasmEdge_TableInstanceGetTableType)(const WasmEdge_TableInstanceContext *Cxt) {
  return Cxt ? Cxt->type : NULL;
}
API(WasmEdge_Result, WasmEdge_TableInstanceGetData)(const WasmEdge_TableInstanceContext *Cxt, WasmEdge_Value *Data,
                                                    const uint32_t Offset) {
  if (Cxt == NULL || Data == NULL || Offset >= Cxt->size) return wasm_error(WasmEdge_ErrCode_TableOutOfBounds);
  *Data = Cxt->data[Offset];
  return WasmEdge_Result_Success;
}
API(WasmEdge_Result, WasmEdge_TableInstanceSetData)(WasmEdge_TableInstanceContext *Cxt, WasmEdge_Value Data,
                                                    const uint32_t Offset) {
  if (Cxt == NULL || Offset >= Cxt->size) return wasm_error(WasmEdge_ErrCode_TableOutOfBounds);
  if (Data.Type.Data[0] != Cxt->type->ref.Data[0]) return wasm_error(WasmEdge_ErrCode_RefTypeMismatch);
  Cxt->data[Offset] = Data;
  return WasmEdge_Result_Success;
}
API(uint32_t, WasmEdge_TableInstanceGetSize)(const WasmEdge_TableInstanceContext *Cxt) { return Cxt ? Cxt->size : 0; }
API(WasmEdge_Result, WasmEdge_TableInstanceGrow)(WasmEdge_TableInstanceContext *Cxt, const uint32_t Size) {
  WasmEdge_Value *data;
  uint64_t n;
  if (Cxt == NULL) return WasmEdge_Result_Fail;
  n = (uint64_t)Cxt->size + Size;
  if (n > 10000000u || (Cxt->type->limit->has_max && n > Cxt->type->limit->max))
    return wasm_error(WasmEdge_ErrCode_TableOutOfBounds);
  if ((data = realloc(Cxt->data, (n ? n : 1) * sizeof *data)) == NULL) return WasmEdge_Result_Fail;
  for (uint64_t i = Cxt->size; i < n; i++) data[i] = value(0, Cxt->type->ref.Data[0]);
  Cxt->data = data;
  Cxt->size = (uint32_t)n;
  return WasmEdge_Result_Success;
}
API(void, WasmEdge_TableInstanceDelete)(WasmEdge_TableInstanceContext *Cxt) {
  if (Cxt == NULL) return;
  orchestra_impl_WasmEdge_TableTypeDelete(Cxt->type);
  free(Cxt->data);
  free(Cxt);
}

/* Memories: a plug-in's own memory is zeroed pages of its worker's heap. */
#define PAGE 65536u
#define MAX_OWN_PAGES 16384u /* 1 GiB */

API(WasmEdge_MemoryInstanceContext *, WasmEdge_MemoryInstanceCreate)(const WasmEdge_MemoryTypeContext *MemType) {
  WasmEdge_MemoryInstanceContext *m;
  if (MemType == NULL || MemType->limit->min > MAX_OWN_PAGES || (m = calloc(1, sizeof *m)) == NULL) return NULL;
  m->type = new_memory_type(copy_limit(MemType->limit));
  m->size = MemType->limit->min * PAGE;
  m->base = calloc(m->size ? m->size : 1, 1);
  if (m->type == NULL || m->base == NULL) {
    orchestra_impl_WasmEdge_MemoryTypeDelete(m->type);
    free(m->base);
    free(m);
    return NULL;
  }
  return m;
}
API(const WasmEdge_MemoryTypeContext *, WasmEdge_MemoryInstanceGetMemoryType)(const WasmEdge_MemoryInstanceContext *Cxt) {
  return Cxt ? Cxt->type : NULL;
}
API(WasmEdge_Result, WasmEdge_MemoryInstanceGrowPage)(WasmEdge_MemoryInstanceContext *Cxt, const uint32_t Page) {
  uint64_t pages;
  uint8_t *base;
  if (Cxt == NULL || Cxt->type == NULL) return WasmEdge_Result_Fail; /* the caller's memory grows only from wasm */
  pages = Cxt->size / PAGE + Page;
  if (pages > MAX_OWN_PAGES || (Cxt->type->limit->has_max && pages > Cxt->type->limit->max))
    return wasm_error(WasmEdge_ErrCode_MemoryOutOfBounds);
  if ((base = realloc(Cxt->base, pages ? pages * PAGE : 1)) == NULL) return WasmEdge_Result_Fail;
  memset(base + Cxt->size, 0, pages * PAGE - Cxt->size);
  Cxt->base = base;
  Cxt->size = pages * PAGE;
  return WasmEdge_Result_Success;
}
API(void, WasmEdge_MemoryInstanceDelete)(WasmEdge_MemoryInstanceContext *Cxt) {
  if (Cxt == NULL || Cxt->type == NULL) return; /* the caller's memory is not the plug-in's to delete */
  orchestra_impl_WasmEdge_MemoryTypeDelete(Cxt->type);
  free(Cxt->base);
  free(Cxt);
}

/* Globals. */
struct WasmEdge_GlobalInstanceContext {
  WasmEdge_GlobalTypeContext type;
  WasmEdge_Value value;
};

API(WasmEdge_GlobalInstanceContext *, WasmEdge_GlobalInstanceCreate)(const WasmEdge_GlobalTypeContext *GlobType,
                                                                     const WasmEdge_Value Value) {
  WasmEdge_GlobalInstanceContext *g;
  if (GlobType == NULL || Value.Type.Data[0] != GlobType->type.Data[0] || (g = calloc(1, sizeof *g)) == NULL)
    return NULL;
  g->type = *GlobType;
  g->value = Value;
  return g;
}
API(const WasmEdge_GlobalTypeContext *, WasmEdge_GlobalInstanceGetGlobalType)(const WasmEdge_GlobalInstanceContext *Cxt) {
  return Cxt ? &Cxt->type : NULL;
}
API(WasmEdge_Value, WasmEdge_GlobalInstanceGetValue)(const WasmEdge_GlobalInstanceContext *Cxt) {
  return Cxt ? Cxt->value : value(0, VT_I32);
}
API(WasmEdge_Result, WasmEdge_GlobalInstanceSetValue)(WasmEdge_GlobalInstanceContext *Cxt, const WasmEdge_Value Value) {
  if (Cxt == NULL) return WasmEdge_Result_Fail;
  if (Cxt->type.mut != WasmEdge_Mutability_Var) return wasm_error(WasmEdge_ErrCode_SetValueToConst);
  if (Value.Type.Data[0] != Cxt->type.type.Data[0]) return wasm_error(WasmEdge_ErrCode_SetValueErrorType);
  Cxt->value = Value;
  return WasmEdge_Result_Success;
}
API(void, WasmEdge_GlobalInstanceDelete)(WasmEdge_GlobalInstanceContext *Cxt) { free(Cxt); }

/* A module's tables, memories and globals. */
static void delete_instance(char kind, void *instance) {
  if (kind == 't') orchestra_impl_WasmEdge_TableInstanceDelete(instance);
  if (kind == 'm') orchestra_impl_WasmEdge_MemoryInstanceDelete(instance);
  if (kind == 'g') orchestra_impl_WasmEdge_GlobalInstanceDelete(instance);
}
static void delete_exports(struct export *e) {
  while (e) {
    struct export *next = e->next;
    delete_instance(e->kind, e->instance);
    free(e->name);
    free(e);
    e = next;
  }
}
static struct export *find_export(const WasmEdge_ModuleInstanceContext *m, char kind, WasmEdge_String name) {
  for (struct export *e = m ? m->exports : NULL; e; e = e->next)
    if (e->kind == kind && strlen(e->name) == name.Length && memcmp(e->name, name.Buf, name.Length) == 0) return e;
  return NULL;
}
static void add_export(WasmEdge_ModuleInstanceContext *m, char kind, WasmEdge_String name, void *instance) {
  struct export *e, *old;
  if (m == NULL || m->borrowed || instance == NULL) return;
  if ((old = find_export(m, kind, name)) != NULL) { /* a later export of the same name replaces it */
    if (old->instance != instance) delete_instance(kind, old->instance);
    old->instance = instance;
    return;
  }
  if ((e = calloc(1, sizeof *e)) == NULL) return;
  e->kind = kind;
  e->name = copy(name.Buf ? name.Buf : "", name.Buf ? name.Length : 0);
  e->instance = instance;
  e->next = m->exports;
  m->exports = e;
}
static uint32_t list_exports(const WasmEdge_ModuleInstanceContext *m, char kind, WasmEdge_String *names, uint32_t len) {
  uint32_t n = 0;
  for (struct export *e = m ? m->exports : NULL; e; e = e->next) {
    if (e->kind != kind) continue;
    if (names && n < len) {
      names[n].Buf = e->name;
      names[n].Length = (uint32_t)strlen(e->name);
    }
    n++;
  }
  return n;
}

API(void, WasmEdge_ModuleInstanceAddTable)(WasmEdge_ModuleInstanceContext *Cxt, const WasmEdge_String Name,
                                           WasmEdge_TableInstanceContext *TableCxt) {
  add_export(Cxt, 't', Name, TableCxt);
}
API(void, WasmEdge_ModuleInstanceAddMemory)(WasmEdge_ModuleInstanceContext *Cxt, const WasmEdge_String Name,
                                            WasmEdge_MemoryInstanceContext *MemoryCxt) {
  add_export(Cxt, 'm', Name, MemoryCxt);
}
API(void, WasmEdge_ModuleInstanceAddGlobal)(WasmEdge_ModuleInstanceContext *Cxt, const WasmEdge_String Name,
                                            WasmEdge_GlobalInstanceContext *GlobalCxt) {
  add_export(Cxt, 'g', Name, GlobalCxt);
}
API(WasmEdge_TableInstanceContext *, WasmEdge_ModuleInstanceFindTable)(const WasmEdge_ModuleInstanceContext *Cxt,
                                                                       const WasmEdge_String Name) {
  struct export *e = find_export(Cxt, 't', Name);
  return e ? e->instance : NULL;
}
API(WasmEdge_MemoryInstanceContext *, WasmEdge_ModuleInstanceFindMemory)(const WasmEdge_ModuleInstanceContext *Cxt,
                                                                         const WasmEdge_String Name) {
  struct export *e = find_export(Cxt, 'm', Name);
  return e ? e->instance : NULL;
}
API(WasmEdge_GlobalInstanceContext *, WasmEdge_ModuleInstanceFindGlobal)(const WasmEdge_ModuleInstanceContext *Cxt,
                                                                         const WasmEdge_String Name) {
  struct export *e = find_export(Cxt, 'g', Name);
  return e ? e->instance : NULL;
}
API(uint32_t, WasmEdge_ModuleInstanceListTableLength)(const WasmEdge_ModuleInstanceContext *Cxt) {
  return list_exports(Cxt, 't', NULL, 0);
}
API(uint32_t, WasmEdge_ModuleInstanceListTable)(const WasmEdge_ModuleInstanceContext *Cxt, WasmEdge_String *Names,
                                                const uint32_t Len) {
  return list_exports(Cxt, 't', Names, Len);
}
API(uint32_t, WasmEdge_ModuleInstanceListMemoryLength)(const WasmEdge_ModuleInstanceContext *Cxt) {
  return list_exports(Cxt, 'm', NULL, 0);
}
API(uint32_t, WasmEdge_ModuleInstanceListMemory)(const WasmEdge_ModuleInstanceContext *Cxt, WasmEdge_String *Names,
                                                 const uint32_t Len) {
  return list_exports(Cxt, 'm', Names, Len);
}
API(uint32_t, WasmEdge_ModuleInstanceListGlobalLength)(const WasmEdge_ModuleInstanceContext *Cxt) {
  return list_exports(Cxt, 'g', NULL, 0);
}
API(uint32_t, WasmEdge_ModuleInstanceListGlobal)(const WasmEdge_ModuleInstanceContext *Cxt, WasmEdge_String *Names,
                                                 const uint32_t Len) {
  return list_exports(Cxt, 'g', Names, Len);
}
/* Host modules have no tags (WasmEdge's C API cannot add one). */
API(WasmEdge_TagInstanceContext *, WasmEdge_ModuleInstanceFindTag)(const WasmEdge_ModuleInstanceContext *Cxt,
                                                                   const WasmEdge_String Name) {
  (void)Cxt; (void)Name;
  return NULL;
}
API(uint32_t, WasmEdge_ModuleInstanceListTagLength)(const WasmEdge_ModuleInstanceContext *Cxt) { (void)Cxt; return 0; }
API(uint32_t, WasmEdge_ModuleInstanceListTag)(const WasmEdge_ModuleInstanceContext *Cxt, WasmEdge_String *Names,
                                              const uint32_t Len) {
  (void)Cxt; (void)Names; (void)Len;
  return 0;
}

/* ---- the rest of the C API: stubs that fail cleanly ------------------------ */

API(WasmEdge_ConfigureContext *, WasmEdge_ConfigureCreate)(void) { unsupported("WasmEdge_ConfigureCreate"); return NULL; }
API(void, WasmEdge_ConfigureAddProposal)(WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_Proposal Prop) { (void)Cxt; (void)Prop; unsupported("WasmEdge_ConfigureAddProposal"); }
API(void, WasmEdge_ConfigureRemoveProposal)(WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_Proposal Prop) { (void)Cxt; (void)Prop; unsupported("WasmEdge_ConfigureRemoveProposal"); }
API(bool, WasmEdge_ConfigureHasProposal)(const WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_Proposal Prop) { (void)Cxt; (void)Prop; unsupported("WasmEdge_ConfigureHasProposal"); return 0; }
API(void, WasmEdge_ConfigureAddHostRegistration)(WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_HostRegistration Host) { (void)Cxt; (void)Host; unsupported("WasmEdge_ConfigureAddHostRegistration"); }
API(void, WasmEdge_ConfigureRemoveHostRegistration)(WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_HostRegistration Host) { (void)Cxt; (void)Host; unsupported("WasmEdge_ConfigureRemoveHostRegistration"); }
API(bool, WasmEdge_ConfigureHasHostRegistration)(const WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_HostRegistration Host) { (void)Cxt; (void)Host; unsupported("WasmEdge_ConfigureHasHostRegistration"); return 0; }
API(void, WasmEdge_ConfigureSetMaxMemoryPage)(WasmEdge_ConfigureContext *Cxt, const uint32_t Page) { (void)Cxt; (void)Page; unsupported("WasmEdge_ConfigureSetMaxMemoryPage"); }
API(uint32_t, WasmEdge_ConfigureGetMaxMemoryPage)(const WasmEdge_ConfigureContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ConfigureGetMaxMemoryPage"); return 0; }
API(void, WasmEdge_ConfigureSetForceInterpreter)(WasmEdge_ConfigureContext *Cxt, const bool IsForceInterpreter) { (void)Cxt; (void)IsForceInterpreter; unsupported("WasmEdge_ConfigureSetForceInterpreter"); }
API(bool, WasmEdge_ConfigureIsForceInterpreter)(const WasmEdge_ConfigureContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ConfigureIsForceInterpreter"); return 0; }
API(void, WasmEdge_ConfigureSetAllowAFUNIX)(WasmEdge_ConfigureContext *Cxt, const bool EnableAFUNIX) { (void)Cxt; (void)EnableAFUNIX; unsupported("WasmEdge_ConfigureSetAllowAFUNIX"); }
API(bool, WasmEdge_ConfigureIsAllowAFUNIX)(const WasmEdge_ConfigureContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ConfigureIsAllowAFUNIX"); return 0; }
API(void, WasmEdge_ConfigureCompilerSetOptimizationLevel)(WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_CompilerOptimizationLevel Level) { (void)Cxt; (void)Level; unsupported("WasmEdge_ConfigureCompilerSetOptimizationLevel"); }
API(enum WasmEdge_CompilerOptimizationLevel, WasmEdge_ConfigureCompilerGetOptimizationLevel)(const WasmEdge_ConfigureContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ConfigureCompilerGetOptimizationLevel"); return (enum WasmEdge_CompilerOptimizationLevel)0; }
API(void, WasmEdge_ConfigureCompilerSetOutputFormat)(WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_CompilerOutputFormat Format) { (void)Cxt; (void)Format; unsupported("WasmEdge_ConfigureCompilerSetOutputFormat"); }
API(enum WasmEdge_CompilerOutputFormat, WasmEdge_ConfigureCompilerGetOutputFormat)(const WasmEdge_ConfigureContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ConfigureCompilerGetOutputFormat"); return (enum WasmEdge_CompilerOutputFormat)0; }
API(void, WasmEdge_ConfigureCompilerSetDumpIR)(WasmEdge_ConfigureContext *Cxt, const bool IsDump) { (void)Cxt; (void)IsDump; unsupported("WasmEdge_ConfigureCompilerSetDumpIR"); }
API(bool, WasmEdge_ConfigureCompilerIsDumpIR)(const WasmEdge_ConfigureContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ConfigureCompilerIsDumpIR"); return 0; }
API(void, WasmEdge_ConfigureCompilerSetGenericBinary)(WasmEdge_ConfigureContext *Cxt, const bool IsGeneric) { (void)Cxt; (void)IsGeneric; unsupported("WasmEdge_ConfigureCompilerSetGenericBinary"); }
API(bool, WasmEdge_ConfigureCompilerIsGenericBinary)(const WasmEdge_ConfigureContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ConfigureCompilerIsGenericBinary"); return 0; }
API(void, WasmEdge_ConfigureCompilerSetInterruptible)(WasmEdge_ConfigureContext *Cxt, const bool IsInterruptible) { (void)Cxt; (void)IsInterruptible; unsupported("WasmEdge_ConfigureCompilerSetInterruptible"); }
API(bool, WasmEdge_ConfigureCompilerIsInterruptible)(const WasmEdge_ConfigureContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ConfigureCompilerIsInterruptible"); return 0; }
API(void, WasmEdge_ConfigureStatisticsSetInstructionCounting)(WasmEdge_ConfigureContext *Cxt, const bool IsCount) { (void)Cxt; (void)IsCount; unsupported("WasmEdge_ConfigureStatisticsSetInstructionCounting"); }
API(bool, WasmEdge_ConfigureStatisticsIsInstructionCounting)(const WasmEdge_ConfigureContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ConfigureStatisticsIsInstructionCounting"); return 0; }
API(void, WasmEdge_ConfigureStatisticsSetCostMeasuring)(WasmEdge_ConfigureContext *Cxt, const bool IsMeasure) { (void)Cxt; (void)IsMeasure; unsupported("WasmEdge_ConfigureStatisticsSetCostMeasuring"); }
API(bool, WasmEdge_ConfigureStatisticsIsCostMeasuring)(const WasmEdge_ConfigureContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ConfigureStatisticsIsCostMeasuring"); return 0; }
API(void, WasmEdge_ConfigureStatisticsSetTimeMeasuring)(WasmEdge_ConfigureContext *Cxt, const bool IsMeasure) { (void)Cxt; (void)IsMeasure; unsupported("WasmEdge_ConfigureStatisticsSetTimeMeasuring"); }
API(bool, WasmEdge_ConfigureStatisticsIsTimeMeasuring)(const WasmEdge_ConfigureContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ConfigureStatisticsIsTimeMeasuring"); return 0; }
API(void, WasmEdge_ConfigureDelete)(WasmEdge_ConfigureContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ConfigureDelete"); }
API(WasmEdge_StatisticsContext *, WasmEdge_StatisticsCreate)(void) { unsupported("WasmEdge_StatisticsCreate"); return NULL; }
API(uint64_t, WasmEdge_StatisticsGetInstrCount)(const WasmEdge_StatisticsContext *Cxt) { (void)Cxt; unsupported("WasmEdge_StatisticsGetInstrCount"); return 0; }
API(double, WasmEdge_StatisticsGetInstrPerSecond)(const WasmEdge_StatisticsContext *Cxt) { (void)Cxt; unsupported("WasmEdge_StatisticsGetInstrPerSecond"); return 0; }
API(uint64_t, WasmEdge_StatisticsGetTotalCost)(const WasmEdge_StatisticsContext *Cxt) { (void)Cxt; unsupported("WasmEdge_StatisticsGetTotalCost"); return 0; }
API(void, WasmEdge_StatisticsSetCostTable)(WasmEdge_StatisticsContext *Cxt, uint64_t *CostArr, const uint32_t Len) { (void)Cxt; (void)CostArr; (void)Len; unsupported("WasmEdge_StatisticsSetCostTable"); }
API(void, WasmEdge_StatisticsSetCostLimit)(WasmEdge_StatisticsContext *Cxt, const uint64_t Limit) { (void)Cxt; (void)Limit; unsupported("WasmEdge_StatisticsSetCostLimit"); }
API(void, WasmEdge_StatisticsClear)(WasmEdge_StatisticsContext *Cxt) { (void)Cxt; unsupported("WasmEdge_StatisticsClear"); }
API(void, WasmEdge_StatisticsDelete)(WasmEdge_StatisticsContext *Cxt) { (void)Cxt; unsupported("WasmEdge_StatisticsDelete"); }
API(uint32_t, WasmEdge_ASTModuleListImportsLength)(const WasmEdge_ASTModuleContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ASTModuleListImportsLength"); return 0; }
API(uint32_t, WasmEdge_ASTModuleListImports)(const WasmEdge_ASTModuleContext *Cxt, const WasmEdge_ImportTypeContext **Imports, const uint32_t Len) { (void)Cxt; (void)Imports; (void)Len; unsupported("WasmEdge_ASTModuleListImports"); return 0; }
API(uint32_t, WasmEdge_ASTModuleListExportsLength)(const WasmEdge_ASTModuleContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ASTModuleListExportsLength"); return 0; }
API(uint32_t, WasmEdge_ASTModuleListExports)(const WasmEdge_ASTModuleContext *Cxt, const WasmEdge_ExportTypeContext **Exports, const uint32_t Len) { (void)Cxt; (void)Exports; (void)Len; unsupported("WasmEdge_ASTModuleListExports"); return 0; }
API(void, WasmEdge_ASTModuleDelete)(WasmEdge_ASTModuleContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ASTModuleDelete"); }
API(enum WasmEdge_ExternalType, WasmEdge_ImportTypeGetExternalType)(const WasmEdge_ImportTypeContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ImportTypeGetExternalType"); return (enum WasmEdge_ExternalType)0; }
API(WasmEdge_String, WasmEdge_ImportTypeGetModuleName)(const WasmEdge_ImportTypeContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ImportTypeGetModuleName"); return ((WasmEdge_String){0}); }
API(WasmEdge_String, WasmEdge_ImportTypeGetExternalName)(const WasmEdge_ImportTypeContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ImportTypeGetExternalName"); return ((WasmEdge_String){0}); }
API(const WasmEdge_FunctionTypeContext *, WasmEdge_ImportTypeGetFunctionType)(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ImportTypeContext *Cxt) { (void)ASTCxt; (void)Cxt; unsupported("WasmEdge_ImportTypeGetFunctionType"); return NULL; }
API(const WasmEdge_TableTypeContext *, WasmEdge_ImportTypeGetTableType)(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ImportTypeContext *Cxt) { (void)ASTCxt; (void)Cxt; unsupported("WasmEdge_ImportTypeGetTableType"); return NULL; }
API(const WasmEdge_MemoryTypeContext *, WasmEdge_ImportTypeGetMemoryType)(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ImportTypeContext *Cxt) { (void)ASTCxt; (void)Cxt; unsupported("WasmEdge_ImportTypeGetMemoryType"); return NULL; }
API(const WasmEdge_GlobalTypeContext *, WasmEdge_ImportTypeGetGlobalType)(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ImportTypeContext *Cxt) { (void)ASTCxt; (void)Cxt; unsupported("WasmEdge_ImportTypeGetGlobalType"); return NULL; }
API(enum WasmEdge_ExternalType, WasmEdge_ExportTypeGetExternalType)(const WasmEdge_ExportTypeContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ExportTypeGetExternalType"); return (enum WasmEdge_ExternalType)0; }
API(WasmEdge_String, WasmEdge_ExportTypeGetExternalName)(const WasmEdge_ExportTypeContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ExportTypeGetExternalName"); return ((WasmEdge_String){0}); }
API(const WasmEdge_FunctionTypeContext *, WasmEdge_ExportTypeGetFunctionType)(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ExportTypeContext *Cxt) { (void)ASTCxt; (void)Cxt; unsupported("WasmEdge_ExportTypeGetFunctionType"); return NULL; }
API(const WasmEdge_TableTypeContext *, WasmEdge_ExportTypeGetTableType)(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ExportTypeContext *Cxt) { (void)ASTCxt; (void)Cxt; unsupported("WasmEdge_ExportTypeGetTableType"); return NULL; }
API(const WasmEdge_MemoryTypeContext *, WasmEdge_ExportTypeGetMemoryType)(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ExportTypeContext *Cxt) { (void)ASTCxt; (void)Cxt; unsupported("WasmEdge_ExportTypeGetMemoryType"); return NULL; }
API(const WasmEdge_GlobalTypeContext *, WasmEdge_ExportTypeGetGlobalType)(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ExportTypeContext *Cxt) { (void)ASTCxt; (void)Cxt; unsupported("WasmEdge_ExportTypeGetGlobalType"); return NULL; }
API(WasmEdge_CompilerContext *, WasmEdge_CompilerCreate)(const WasmEdge_ConfigureContext *ConfCxt) { (void)ConfCxt; unsupported("WasmEdge_CompilerCreate"); return NULL; }
API(WasmEdge_Result, WasmEdge_CompilerCompile)(WasmEdge_CompilerContext *Cxt, const char *InPath, const char *OutPath) { (void)Cxt; (void)InPath; (void)OutPath; unsupported("WasmEdge_CompilerCompile"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_CompilerCompileFromBuffer)(WasmEdge_CompilerContext *Cxt, const uint8_t *InBuffer, const uint64_t InBufferLen, const char *OutPath) { (void)Cxt; (void)InBuffer; (void)InBufferLen; (void)OutPath; unsupported("WasmEdge_CompilerCompileFromBuffer"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_CompilerCompileFromBytes)(WasmEdge_CompilerContext *Cxt, const WasmEdge_Bytes Bytes, const char *OutPath) { (void)Cxt; (void)Bytes; (void)OutPath; unsupported("WasmEdge_CompilerCompileFromBytes"); return WasmEdge_Result_Fail; }
API(void, WasmEdge_CompilerDelete)(WasmEdge_CompilerContext *Cxt) { (void)Cxt; unsupported("WasmEdge_CompilerDelete"); }
API(WasmEdge_LoaderContext *, WasmEdge_LoaderCreate)(const WasmEdge_ConfigureContext *ConfCxt) { (void)ConfCxt; unsupported("WasmEdge_LoaderCreate"); return NULL; }
API(WasmEdge_Result, WasmEdge_LoaderParseFromFile)(WasmEdge_LoaderContext *Cxt, WasmEdge_ASTModuleContext **Module, const char *Path) { (void)Cxt; (void)Module; (void)Path; unsupported("WasmEdge_LoaderParseFromFile"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_LoaderParseFromBuffer)(WasmEdge_LoaderContext *Cxt, WasmEdge_ASTModuleContext **Module, const uint8_t *Buf, const uint32_t BufLen) { (void)Cxt; (void)Module; (void)Buf; (void)BufLen; unsupported("WasmEdge_LoaderParseFromBuffer"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_LoaderParseFromBytes)(WasmEdge_LoaderContext *Cxt, WasmEdge_ASTModuleContext **Module, const WasmEdge_Bytes Bytes) { (void)Cxt; (void)Module; (void)Bytes; unsupported("WasmEdge_LoaderParseFromBytes"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_LoaderSerializeASTModule)(WasmEdge_LoaderContext *Cxt, const WasmEdge_ASTModuleContext *ASTCxt, WasmEdge_Bytes *Buf) { (void)Cxt; (void)ASTCxt; (void)Buf; unsupported("WasmEdge_LoaderSerializeASTModule"); return WasmEdge_Result_Fail; }
API(void, WasmEdge_LoaderDelete)(WasmEdge_LoaderContext *Cxt) { (void)Cxt; unsupported("WasmEdge_LoaderDelete"); }
API(WasmEdge_ValidatorContext *, WasmEdge_ValidatorCreate)(const WasmEdge_ConfigureContext *ConfCxt) { (void)ConfCxt; unsupported("WasmEdge_ValidatorCreate"); return NULL; }
API(WasmEdge_Result, WasmEdge_ValidatorValidate)(WasmEdge_ValidatorContext *Cxt, const WasmEdge_ASTModuleContext *ASTCxt) { (void)Cxt; (void)ASTCxt; unsupported("WasmEdge_ValidatorValidate"); return WasmEdge_Result_Fail; }
API(void, WasmEdge_ValidatorDelete)(WasmEdge_ValidatorContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ValidatorDelete"); }
API(WasmEdge_ExecutorContext *, WasmEdge_ExecutorCreate)(const WasmEdge_ConfigureContext *ConfCxt, WasmEdge_StatisticsContext *StatCxt) { (void)ConfCxt; (void)StatCxt; unsupported("WasmEdge_ExecutorCreate"); return NULL; }
API(WasmEdge_Result, WasmEdge_ExecutorInstantiate)(WasmEdge_ExecutorContext *Cxt, WasmEdge_ModuleInstanceContext **ModuleCxt, WasmEdge_StoreContext *StoreCxt, const WasmEdge_ASTModuleContext *ASTCxt) { (void)Cxt; (void)ModuleCxt; (void)StoreCxt; (void)ASTCxt; unsupported("WasmEdge_ExecutorInstantiate"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_ExecutorRegister)(WasmEdge_ExecutorContext *Cxt, WasmEdge_ModuleInstanceContext **ModuleCxt, WasmEdge_StoreContext *StoreCxt, const WasmEdge_ASTModuleContext *ASTCxt, WasmEdge_String ModuleName) { (void)Cxt; (void)ModuleCxt; (void)StoreCxt; (void)ASTCxt; (void)ModuleName; unsupported("WasmEdge_ExecutorRegister"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_ExecutorRegisterImport)(WasmEdge_ExecutorContext *Cxt, WasmEdge_StoreContext *StoreCxt, const WasmEdge_ModuleInstanceContext *ImportCxt) { (void)Cxt; (void)StoreCxt; (void)ImportCxt; unsupported("WasmEdge_ExecutorRegisterImport"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_ExecutorInvoke)(WasmEdge_ExecutorContext *Cxt, const WasmEdge_FunctionInstanceContext *FuncCxt, const WasmEdge_Value *Params, const uint32_t ParamLen, WasmEdge_Value *Returns, const uint32_t ReturnLen) { (void)Cxt; (void)FuncCxt; (void)Params; (void)ParamLen; (void)Returns; (void)ReturnLen; unsupported("WasmEdge_ExecutorInvoke"); return WasmEdge_Result_Fail; }
API(WasmEdge_Async *, WasmEdge_ExecutorAsyncInvoke)(WasmEdge_ExecutorContext *Cxt, const WasmEdge_FunctionInstanceContext *FuncCxt, const WasmEdge_Value *Params, const uint32_t ParamLen) { (void)Cxt; (void)FuncCxt; (void)Params; (void)ParamLen; unsupported("WasmEdge_ExecutorAsyncInvoke"); return NULL; }
API(void, WasmEdge_ExecutorDelete)(WasmEdge_ExecutorContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ExecutorDelete"); }
API(WasmEdge_StoreContext *, WasmEdge_StoreCreate)(void) { unsupported("WasmEdge_StoreCreate"); return NULL; }
API(const WasmEdge_ModuleInstanceContext *, WasmEdge_StoreFindModule)(const WasmEdge_StoreContext *Cxt, const WasmEdge_String Name) { (void)Cxt; (void)Name; unsupported("WasmEdge_StoreFindModule"); return NULL; }
API(uint32_t, WasmEdge_StoreListModuleLength)(const WasmEdge_StoreContext *Cxt) { (void)Cxt; unsupported("WasmEdge_StoreListModuleLength"); return 0; }
API(uint32_t, WasmEdge_StoreListModule)(const WasmEdge_StoreContext *Cxt, WasmEdge_String *Names, const uint32_t Len) { (void)Cxt; (void)Names; (void)Len; unsupported("WasmEdge_StoreListModule"); return 0; }
API(void, WasmEdge_StoreDelete)(WasmEdge_StoreContext *Cxt) { (void)Cxt; unsupported("WasmEdge_StoreDelete"); }
API(WasmEdge_ModuleInstanceContext *, WasmEdge_ModuleInstanceCreateWASI)(const char *const *Args, const uint32_t ArgLen, const char *const *Envs, const uint32_t EnvLen, const char *const *Preopens, const uint32_t PreopenLen) { (void)Args; (void)ArgLen; (void)Envs; (void)EnvLen; (void)Preopens; (void)PreopenLen; unsupported("WasmEdge_ModuleInstanceCreateWASI"); return NULL; }
API(void, WasmEdge_ModuleInstanceInitWASI)(WasmEdge_ModuleInstanceContext *Cxt, const char *const *Args, const uint32_t ArgLen, const char *const *Envs, const uint32_t EnvLen, const char *const *Preopens, const uint32_t PreopenLen) { (void)Cxt; (void)Args; (void)ArgLen; (void)Envs; (void)EnvLen; (void)Preopens; (void)PreopenLen; unsupported("WasmEdge_ModuleInstanceInitWASI"); }
API(uint32_t, WasmEdge_ModuleInstanceWASIGetExitCode)(const WasmEdge_ModuleInstanceContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ModuleInstanceWASIGetExitCode"); return 0; }
API(uint32_t, WasmEdge_ModuleInstanceWASIGetNativeHandler)(const WasmEdge_ModuleInstanceContext *Cxt, int32_t Fd, uint64_t *NativeHandler) { (void)Cxt; (void)Fd; (void)NativeHandler; unsupported("WasmEdge_ModuleInstanceWASIGetNativeHandler"); return 0; }
API(void, WasmEdge_ModuleInstanceInitWasmEdgeProcess)(const char *const *AllowedCmds, const uint32_t CmdsLen, const bool AllowAll) { (void)AllowedCmds; (void)CmdsLen; (void)AllowAll; unsupported("WasmEdge_ModuleInstanceInitWasmEdgeProcess"); }
API(void, WasmEdge_AsyncWait)(const WasmEdge_Async *Cxt) { (void)Cxt; unsupported("WasmEdge_AsyncWait"); }
API(bool, WasmEdge_AsyncWaitFor)(const WasmEdge_Async *Cxt, uint64_t Milliseconds) { (void)Cxt; (void)Milliseconds; unsupported("WasmEdge_AsyncWaitFor"); return 0; }
API(void, WasmEdge_AsyncCancel)(WasmEdge_Async *Cxt) { (void)Cxt; unsupported("WasmEdge_AsyncCancel"); }
API(uint32_t, WasmEdge_AsyncGetReturnsLength)(const WasmEdge_Async *Cxt) { (void)Cxt; unsupported("WasmEdge_AsyncGetReturnsLength"); return 0; }
API(WasmEdge_Result, WasmEdge_AsyncGet)(const WasmEdge_Async *Cxt, WasmEdge_Value *Returns, const uint32_t ReturnLen) { (void)Cxt; (void)Returns; (void)ReturnLen; unsupported("WasmEdge_AsyncGet"); return WasmEdge_Result_Fail; }
API(void, WasmEdge_AsyncDelete)(WasmEdge_Async *Cxt) { (void)Cxt; unsupported("WasmEdge_AsyncDelete"); }
API(WasmEdge_VMContext *, WasmEdge_VMCreate)(const WasmEdge_ConfigureContext *ConfCxt, WasmEdge_StoreContext *StoreCxt) { (void)ConfCxt; (void)StoreCxt; unsupported("WasmEdge_VMCreate"); return NULL; }
API(WasmEdge_Result, WasmEdge_VMRegisterModuleFromFile)(WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName, const char *Path) { (void)Cxt; (void)ModuleName; (void)Path; unsupported("WasmEdge_VMRegisterModuleFromFile"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_VMRegisterModuleFromBuffer)(WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName, const uint8_t *Buf, const uint32_t BufLen) { (void)Cxt; (void)ModuleName; (void)Buf; (void)BufLen; unsupported("WasmEdge_VMRegisterModuleFromBuffer"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_VMRegisterModuleFromBytes)(WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName, const WasmEdge_Bytes Bytes) { (void)Cxt; (void)ModuleName; (void)Bytes; unsupported("WasmEdge_VMRegisterModuleFromBytes"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_VMRegisterModuleFromASTModule)(WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName, const WasmEdge_ASTModuleContext *ASTCxt) { (void)Cxt; (void)ModuleName; (void)ASTCxt; unsupported("WasmEdge_VMRegisterModuleFromASTModule"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_VMRegisterModuleFromImport)(WasmEdge_VMContext *Cxt, const WasmEdge_ModuleInstanceContext *ImportCxt) { (void)Cxt; (void)ImportCxt; unsupported("WasmEdge_VMRegisterModuleFromImport"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_VMRunWasmFromFile)(WasmEdge_VMContext *Cxt, const char *Path, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen, WasmEdge_Value *Returns, const uint32_t ReturnLen) { (void)Cxt; (void)Path; (void)FuncName; (void)Params; (void)ParamLen; (void)Returns; (void)ReturnLen; unsupported("WasmEdge_VMRunWasmFromFile"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_VMRunWasmFromBuffer)(WasmEdge_VMContext *Cxt, const uint8_t *Buf, const uint32_t BufLen, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen, WasmEdge_Value *Returns, const uint32_t ReturnLen) { (void)Cxt; (void)Buf; (void)BufLen; (void)FuncName; (void)Params; (void)ParamLen; (void)Returns; (void)ReturnLen; unsupported("WasmEdge_VMRunWasmFromBuffer"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_VMRunWasmFromBytes)(WasmEdge_VMContext *Cxt, const WasmEdge_Bytes Bytes, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen, WasmEdge_Value *Returns, const uint32_t ReturnLen) { (void)Cxt; (void)Bytes; (void)FuncName; (void)Params; (void)ParamLen; (void)Returns; (void)ReturnLen; unsupported("WasmEdge_VMRunWasmFromBytes"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_VMRunWasmFromASTModule)(WasmEdge_VMContext *Cxt, const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen, WasmEdge_Value *Returns, const uint32_t ReturnLen) { (void)Cxt; (void)ASTCxt; (void)FuncName; (void)Params; (void)ParamLen; (void)Returns; (void)ReturnLen; unsupported("WasmEdge_VMRunWasmFromASTModule"); return WasmEdge_Result_Fail; }
API(WasmEdge_Async *, WasmEdge_VMAsyncRunWasmFromFile)(WasmEdge_VMContext *Cxt, const char *Path, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen) { (void)Cxt; (void)Path; (void)FuncName; (void)Params; (void)ParamLen; unsupported("WasmEdge_VMAsyncRunWasmFromFile"); return NULL; }
API(WasmEdge_Async *, WasmEdge_VMAsyncRunWasmFromBuffer)(WasmEdge_VMContext *Cxt, const uint8_t *Buf, const uint32_t BufLen, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen) { (void)Cxt; (void)Buf; (void)BufLen; (void)FuncName; (void)Params; (void)ParamLen; unsupported("WasmEdge_VMAsyncRunWasmFromBuffer"); return NULL; }
API(WasmEdge_Async *, WasmEdge_VMAsyncRunWasmFromBytes)(WasmEdge_VMContext *Cxt, const WasmEdge_Bytes Bytes, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen) { (void)Cxt; (void)Bytes; (void)FuncName; (void)Params; (void)ParamLen; unsupported("WasmEdge_VMAsyncRunWasmFromBytes"); return NULL; }
API(WasmEdge_Async *, WasmEdge_VMAsyncRunWasmFromASTModule)(WasmEdge_VMContext *Cxt, const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen) { (void)Cxt; (void)ASTCxt; (void)FuncName; (void)Params; (void)ParamLen; unsupported("WasmEdge_VMAsyncRunWasmFromASTModule"); return NULL; }
API(WasmEdge_Result, WasmEdge_VMLoadWasmFromFile)(WasmEdge_VMContext *Cxt, const char *Path) { (void)Cxt; (void)Path; unsupported("WasmEdge_VMLoadWasmFromFile"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_VMLoadWasmFromBuffer)(WasmEdge_VMContext *Cxt, const uint8_t *Buf, const uint32_t BufLen) { (void)Cxt; (void)Buf; (void)BufLen; unsupported("WasmEdge_VMLoadWasmFromBuffer"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_VMLoadWasmFromBytes)(WasmEdge_VMContext *Cxt, const WasmEdge_Bytes Bytes) { (void)Cxt; (void)Bytes; unsupported("WasmEdge_VMLoadWasmFromBytes"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_VMLoadWasmFromASTModule)(WasmEdge_VMContext *Cxt, const WasmEdge_ASTModuleContext *ASTCxt) { (void)Cxt; (void)ASTCxt; unsupported("WasmEdge_VMLoadWasmFromASTModule"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_VMValidate)(WasmEdge_VMContext *Cxt) { (void)Cxt; unsupported("WasmEdge_VMValidate"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_VMInstantiate)(WasmEdge_VMContext *Cxt) { (void)Cxt; unsupported("WasmEdge_VMInstantiate"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_VMExecute)(WasmEdge_VMContext *Cxt, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen, WasmEdge_Value *Returns, const uint32_t ReturnLen) { (void)Cxt; (void)FuncName; (void)Params; (void)ParamLen; (void)Returns; (void)ReturnLen; unsupported("WasmEdge_VMExecute"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_VMExecuteRegistered)(WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen, WasmEdge_Value *Returns, const uint32_t ReturnLen) { (void)Cxt; (void)ModuleName; (void)FuncName; (void)Params; (void)ParamLen; (void)Returns; (void)ReturnLen; unsupported("WasmEdge_VMExecuteRegistered"); return WasmEdge_Result_Fail; }
API(WasmEdge_Async *, WasmEdge_VMAsyncExecute)(WasmEdge_VMContext *Cxt, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen) { (void)Cxt; (void)FuncName; (void)Params; (void)ParamLen; unsupported("WasmEdge_VMAsyncExecute"); return NULL; }
API(WasmEdge_Async *, WasmEdge_VMAsyncExecuteRegistered)(WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen) { (void)Cxt; (void)ModuleName; (void)FuncName; (void)Params; (void)ParamLen; unsupported("WasmEdge_VMAsyncExecuteRegistered"); return NULL; }
API(const WasmEdge_FunctionTypeContext *, WasmEdge_VMGetFunctionType)(const WasmEdge_VMContext *Cxt, const WasmEdge_String FuncName) { (void)Cxt; (void)FuncName; unsupported("WasmEdge_VMGetFunctionType"); return NULL; }
API(const WasmEdge_FunctionTypeContext *, WasmEdge_VMGetFunctionTypeRegistered)(const WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName, const WasmEdge_String FuncName) { (void)Cxt; (void)ModuleName; (void)FuncName; unsupported("WasmEdge_VMGetFunctionTypeRegistered"); return NULL; }
API(void, WasmEdge_VMCleanup)(WasmEdge_VMContext *Cxt) { (void)Cxt; unsupported("WasmEdge_VMCleanup"); }
API(WasmEdge_Result, WasmEdge_VMForceDeleteRegisteredModule)(const WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName) { (void)Cxt; (void)ModuleName; unsupported("WasmEdge_VMForceDeleteRegisteredModule"); return WasmEdge_Result_Fail; }
API(uint32_t, WasmEdge_VMGetFunctionListLength)(const WasmEdge_VMContext *Cxt) { (void)Cxt; unsupported("WasmEdge_VMGetFunctionListLength"); return 0; }
API(uint32_t, WasmEdge_VMGetFunctionList)(const WasmEdge_VMContext *Cxt, WasmEdge_String *Names, const WasmEdge_FunctionTypeContext **FuncTypes, const uint32_t Len) { (void)Cxt; (void)Names; (void)FuncTypes; (void)Len; unsupported("WasmEdge_VMGetFunctionList"); return 0; }
API(WasmEdge_ModuleInstanceContext *, WasmEdge_VMGetImportModuleContext)(const WasmEdge_VMContext *Cxt, const enum WasmEdge_HostRegistration Reg) { (void)Cxt; (void)Reg; unsupported("WasmEdge_VMGetImportModuleContext"); return NULL; }
API(const WasmEdge_ModuleInstanceContext *, WasmEdge_VMGetActiveModule)(const WasmEdge_VMContext *Cxt) { (void)Cxt; unsupported("WasmEdge_VMGetActiveModule"); return NULL; }
API(const WasmEdge_ModuleInstanceContext *, WasmEdge_VMGetRegisteredModule)(const WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName) { (void)Cxt; (void)ModuleName; unsupported("WasmEdge_VMGetRegisteredModule"); return NULL; }
API(uint32_t, WasmEdge_VMListRegisteredModuleLength)(const WasmEdge_VMContext *Cxt) { (void)Cxt; unsupported("WasmEdge_VMListRegisteredModuleLength"); return 0; }
API(uint32_t, WasmEdge_VMListRegisteredModule)(const WasmEdge_VMContext *Cxt, WasmEdge_String *Names, const uint32_t Len) { (void)Cxt; (void)Names; (void)Len; unsupported("WasmEdge_VMListRegisteredModule"); return 0; }
API(WasmEdge_StoreContext *, WasmEdge_VMGetStoreContext)(WasmEdge_VMContext *Cxt) { (void)Cxt; unsupported("WasmEdge_VMGetStoreContext"); return NULL; }
API(WasmEdge_LoaderContext *, WasmEdge_VMGetLoaderContext)(WasmEdge_VMContext *Cxt) { (void)Cxt; unsupported("WasmEdge_VMGetLoaderContext"); return NULL; }
API(WasmEdge_ValidatorContext *, WasmEdge_VMGetValidatorContext)(WasmEdge_VMContext *Cxt) { (void)Cxt; unsupported("WasmEdge_VMGetValidatorContext"); return NULL; }
API(WasmEdge_ExecutorContext *, WasmEdge_VMGetExecutorContext)(WasmEdge_VMContext *Cxt) { (void)Cxt; unsupported("WasmEdge_VMGetExecutorContext"); return NULL; }
API(WasmEdge_StatisticsContext *, WasmEdge_VMGetStatisticsContext)(WasmEdge_VMContext *Cxt) { (void)Cxt; unsupported("WasmEdge_VMGetStatisticsContext"); return NULL; }
API(void, WasmEdge_VMDelete)(WasmEdge_VMContext *Cxt) { (void)Cxt; unsupported("WasmEdge_VMDelete"); }
API(int, WasmEdge_Driver_Compiler)(int Argc, const char *Argv[]) { (void)Argc; (void)Argv; unsupported("WasmEdge_Driver_Compiler"); return 0; }
API(int, WasmEdge_Driver_Tool)(int Argc, const char *Argv[]) { (void)Argc; (void)Argv; unsupported("WasmEdge_Driver_Tool"); return 0; }
API(int, WasmEdge_Driver_UniTool)(int Argc, const char *Argv[]) { (void)Argc; (void)Argv; unsupported("WasmEdge_Driver_UniTool"); return 0; }
API(void, WasmEdge_PluginLoadWithDefaultPaths)(void) { unsupported("WasmEdge_PluginLoadWithDefaultPaths"); }
API(void, WasmEdge_PluginLoadFromPath)(const char *Path) { (void)Path; unsupported("WasmEdge_PluginLoadFromPath"); }
API(uint32_t, WasmEdge_PluginListPluginsLength)(void) { unsupported("WasmEdge_PluginListPluginsLength"); return 0; }
API(uint32_t, WasmEdge_PluginListPlugins)(WasmEdge_String *Names, const uint32_t Len) { (void)Names; (void)Len; unsupported("WasmEdge_PluginListPlugins"); return 0; }
API(const WasmEdge_PluginContext *, WasmEdge_PluginFind)(const WasmEdge_String Name) { (void)Name; unsupported("WasmEdge_PluginFind"); return NULL; }
API(WasmEdge_String, WasmEdge_PluginGetPluginName)(const WasmEdge_PluginContext *Cxt) { (void)Cxt; unsupported("WasmEdge_PluginGetPluginName"); return ((WasmEdge_String){0}); }
API(uint32_t, WasmEdge_PluginListModuleLength)(const WasmEdge_PluginContext *Cxt) { (void)Cxt; unsupported("WasmEdge_PluginListModuleLength"); return 0; }
API(uint32_t, WasmEdge_PluginListModule)(const WasmEdge_PluginContext *Cxt, WasmEdge_String *Names, const uint32_t Len) { (void)Cxt; (void)Names; (void)Len; unsupported("WasmEdge_PluginListModule"); return 0; }
API(WasmEdge_ModuleInstanceContext *, WasmEdge_PluginCreateModule)(const WasmEdge_PluginContext *Cxt, const WasmEdge_String ModuleName) { (void)Cxt; (void)ModuleName; unsupported("WasmEdge_PluginCreateModule"); return NULL; }
API(void, WasmEdge_PluginInitWASINN)(const char *const *NNPreloads, const uint32_t PreloadsLen) { (void)NNPreloads; (void)PreloadsLen; unsupported("WasmEdge_PluginInitWASINN"); }
API(void, WasmEdge_ExecutorExperimentalRegisterPreHostFunction)(WasmEdge_ExecutorContext *Cxt, void *Data, void (*Func)(void *)) { (void)Cxt; (void)Data; (void)Func; unsupported("WasmEdge_ExecutorExperimentalRegisterPreHostFunction"); }
API(void, WasmEdge_ExecutorExperimentalRegisterPostHostFunction)(WasmEdge_ExecutorContext *Cxt, void *Data, void (*Func)(void *)) { (void)Cxt; (void)Data; (void)Func; unsupported("WasmEdge_ExecutorExperimentalRegisterPostHostFunction"); }
API(void, WasmEdge_ConfigureSetRunMode)(WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_RunMode Mode) { (void)Cxt; (void)Mode; unsupported("WasmEdge_ConfigureSetRunMode"); }
API(enum WasmEdge_RunMode, WasmEdge_ConfigureGetRunMode)(const WasmEdge_ConfigureContext *Cxt) { (void)Cxt; unsupported("WasmEdge_ConfigureGetRunMode"); return WasmEdge_RunMode_Interpreter; }
API(void, WasmEdge_ConfigureSetWASMStandard)(WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_Standard Std) { (void)Cxt; (void)Std; unsupported("WasmEdge_ConfigureSetWASMStandard"); }
API(const WasmEdge_FunctionTypeContext *, WasmEdge_TagTypeGetFunctionType)(const WasmEdge_TagTypeContext *Cxt) { (void)Cxt; unsupported("WasmEdge_TagTypeGetFunctionType"); return NULL; }
API(const WasmEdge_TagTypeContext *, WasmEdge_TagInstanceGetTagType)(const WasmEdge_TagInstanceContext *Cxt) { (void)Cxt; unsupported("WasmEdge_TagInstanceGetTagType"); return NULL; }
API(const WasmEdge_TagTypeContext *, WasmEdge_ImportTypeGetTagType)(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ImportTypeContext *Cxt) { (void)ASTCxt; (void)Cxt; unsupported("WasmEdge_ImportTypeGetTagType"); return NULL; }
API(const WasmEdge_TagTypeContext *, WasmEdge_ExportTypeGetTagType)(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ExportTypeContext *Cxt) { (void)ASTCxt; (void)Cxt; unsupported("WasmEdge_ExportTypeGetTagType"); return NULL; }
API(WasmEdge_Result, WasmEdge_ExecutorRegisterImportWithAlias)(WasmEdge_ExecutorContext *Cxt, WasmEdge_StoreContext *StoreCxt, const WasmEdge_ModuleInstanceContext *ImportCxt, const WasmEdge_String AliasName) { (void)Cxt; (void)StoreCxt; (void)ImportCxt; (void)AliasName; unsupported("WasmEdge_ExecutorRegisterImportWithAlias"); return WasmEdge_Result_Fail; }
API(WasmEdge_Result, WasmEdge_VMRegisterModuleFromImportWithAlias)(WasmEdge_VMContext *Cxt, const WasmEdge_String AliasName, const WasmEdge_ModuleInstanceContext *ImportCxt) { (void)Cxt; (void)AliasName; (void)ImportCxt; unsupported("WasmEdge_VMRegisterModuleFromImportWithAlias"); return WasmEdge_Result_Fail; }
API(WasmEdge_ModuleInstanceContext *, WasmEdge_ModuleInstanceCreateWASIWithFds)(const char *const *Args, const uint32_t ArgLen, const char *const *Envs, const uint32_t EnvLen, const char *const *Preopens, const uint32_t PreopenLen, const int32_t StdInFd, const int32_t StdOutFd, const int32_t StdErrFd) { (void)Args; (void)ArgLen; (void)Envs; (void)EnvLen; (void)Preopens; (void)PreopenLen; (void)StdInFd; (void)StdOutFd; (void)StdErrFd; unsupported("WasmEdge_ModuleInstanceCreateWASIWithFds"); return NULL; }
API(void, WasmEdge_ModuleInstanceInitWASIWithFds)(WasmEdge_ModuleInstanceContext *Cxt, const char *const *Args, const uint32_t ArgLen, const char *const *Envs, const uint32_t EnvLen, const char *const *Preopens, const uint32_t PreopenLen, const int32_t StdInFd, const int32_t StdOutFd, const int32_t StdErrFd) { (void)Cxt; (void)Args; (void)ArgLen; (void)Envs; (void)EnvLen; (void)Preopens; (void)PreopenLen; (void)StdInFd; (void)StdOutFd; (void)StdErrFd; unsupported("WasmEdge_ModuleInstanceInitWASIWithFds"); }
API(int, WasmEdge_Driver_WasiNNRPCServer)(int Argc, const char *Argv[]) { (void)Argc; (void)Argv; unsupported("WasmEdge_Driver_WasiNNRPCServer"); return 1; }

/* ---- Orchestra's side (not part of the WasmEdge C API) --------------------- */

/* The result of a call that returned WasmEdge_Result_Terminate. */
#define ORCHESTRA_WASMEDGE_TERMINATED (-1)

static const char *category_name(uint32_t code) {
  return (code >> 24) == WasmEdge_ErrCategory_WASM ? "WASM" :
         (code >> 24) == WasmEdge_ErrCategory_UserLevelError ? "user-level" : "unknown";
}

/* An Orchestra native host function (orchestra_hostplugin.h) calling the
 * WasmEdge function instance in ctx->plugin_data. Values cross as uint64_t bit
 * patterns; WasmEdge_Value holds them zero-extended. */
ORCHESTRA_WASMEDGE_EXPORT int32_t orchestra_wasmedge_call(orchestra_ctx_t *ctx, const uint64_t *args,
                                                          uint64_t *results) {
  const WasmEdge_FunctionInstanceContext *f = ctx->plugin_data;
  const uint32_t np = f->type->params, nr = f->type->results;
  WasmEdge_Value params[np ? np : 1], returns[nr ? nr : 1];
  WasmEdge_CallingFrameContext frame;
  WasmEdge_Result res;
  for (uint32_t i = 0; i < np; i++) {
    uint8_t code = f->type->types[i].Data[0];
    uint64_t bits = (code == VT_I32 || code == VT_F32) ? (args[i] & 0xFFFFFFFFu) : args[i];
    params[i].Value = bits;
    params[i].Type = f->type->types[i];
  }
  for (uint32_t i = 0; i < nr; i++) {
    returns[i].Value = 0;
    returns[i].Type = f->type->types[np + i];
  }
  frame.memory.base = ctx->memory;
  frame.memory.size = ctx->memory ? ctx->memory_size : 0;
  frame.memory.type = NULL;
  res = f->wrap ? f->wrap(f->binding, f->data, &frame, params, np, returns, nr)
                : f->fn(f->data, &frame, params, returns);
  if (res.Code == 0x00) {
    for (uint32_t i = 0; i < nr; i++) results[i] = (uint64_t)returns[i].Value;
    return 0;
  }
  if (res.Code == 0x01) {
    snprintf(ctx->error, sizeof ctx->error, "it returned WasmEdge_Result_Terminate: the wasm call ends there, as in WasmEdge");
    return ORCHESTRA_WASMEDGE_TERMINATED;
  }
  snprintf(ctx->error, sizeof ctx->error, "WasmEdge result 0x%08x (%s category, code %u: %s)", res.Code,
           category_name(res.Code), res.Code & 0x00FFFFFFu, orchestra_impl_WasmEdge_ResultGetMessage(res));
  return (int32_t)(res.Code ? res.Code : 2);
}

/* What the Python side reads of a module instance that `create` returned. */
ORCHESTRA_WASMEDGE_EXPORT const char *orchestra_wasmedge_module_name(const WasmEdge_ModuleInstanceContext *m) {
  return m->name.Buf;
}
/* The name of m's index-th table, memory or global (its kind, 't', 'm' or 'g',
 * into *kind), or NULL past the last. */
ORCHESTRA_WASMEDGE_EXPORT const char *orchestra_wasmedge_module_export(const WasmEdge_ModuleInstanceContext *m,
                                                                       uint32_t index, char *kind) {
  struct export *e = m->exports;
  while (e && index--) e = e->next;
  if (e == NULL) return NULL;
  *kind = e->kind;
  return e->name;
}
ORCHESTRA_WASMEDGE_EXPORT uint32_t orchestra_wasmedge_module_size(const WasmEdge_ModuleInstanceContext *m) {
  return m->count;
}
ORCHESTRA_WASMEDGE_EXPORT WasmEdge_FunctionInstanceContext *orchestra_wasmedge_module_function(
    const WasmEdge_ModuleInstanceContext *m, uint32_t index) {
  WasmEdge_FunctionInstanceContext *f = m->first;
  while (f && index--) f = f->next;
  return f;
}
ORCHESTRA_WASMEDGE_EXPORT const char *orchestra_wasmedge_function_name(const WasmEdge_FunctionInstanceContext *f) {
  return f->name;
}
/* The wasm type codes of f's params (then results) into out (capacity cap);
 * returns params << 16 | results. */
ORCHESTRA_WASMEDGE_EXPORT uint32_t orchestra_wasmedge_function_types(const WasmEdge_FunctionInstanceContext *f,
                                                                     uint8_t *out, uint32_t cap) {
  uint32_t n = f->type->params + f->type->results;
  for (uint32_t i = 0; i < n && i < cap; i++) out[i] = f->type->types[i].Data[0];
  return (f->type->params << 16) | f->type->results;
}
ORCHESTRA_WASMEDGE_EXPORT void orchestra_wasmedge_module_delete(WasmEdge_ModuleInstanceContext *m) {
  orchestra_impl_WasmEdge_ModuleInstanceDelete(m);
}

/* ---- symbol versions -------------------------------------------------------
 * Every API function is exported as <name>@@WASMEDGE_0.17 (what a plug-in built
 * against this library references) and as <name>@WASMEDGE_0.14/0.15/0.16 (what
 * one built against a libwasmedge of those versions may reference). */

#define ORCHESTRA_WASMEDGE_API(X) \
    X(WasmEdge_VersionGet) \
    X(WasmEdge_VersionGetMajor) \
    X(WasmEdge_VersionGetMinor) \
    X(WasmEdge_VersionGetPatch) \
    X(WasmEdge_LogSetErrorLevel) \
    X(WasmEdge_LogSetDebugLevel) \
    X(WasmEdge_LogOff) \
    X(WasmEdge_LogSetLevel) \
    X(WasmEdge_LogSetCallback) \
    X(WasmEdge_ValTypeGenI32) \
    X(WasmEdge_ValTypeGenI64) \
    X(WasmEdge_ValTypeGenF32) \
    X(WasmEdge_ValTypeGenF64) \
    X(WasmEdge_ValTypeGenV128) \
    X(WasmEdge_ValTypeGenFuncRef) \
    X(WasmEdge_ValTypeGenExternRef) \
    X(WasmEdge_ValTypeIsEqual) \
    X(WasmEdge_ValTypeIsI32) \
    X(WasmEdge_ValTypeIsI64) \
    X(WasmEdge_ValTypeIsF32) \
    X(WasmEdge_ValTypeIsF64) \
    X(WasmEdge_ValTypeIsV128) \
    X(WasmEdge_ValTypeIsFuncRef) \
    X(WasmEdge_ValTypeIsExternRef) \
    X(WasmEdge_ValTypeIsRef) \
    X(WasmEdge_ValTypeIsRefNull) \
    X(WasmEdge_ValueGenI32) \
    X(WasmEdge_ValueGenI64) \
    X(WasmEdge_ValueGenF32) \
    X(WasmEdge_ValueGenF64) \
    X(WasmEdge_ValueGenV128) \
    X(WasmEdge_ValueGenFuncRef) \
    X(WasmEdge_ValueGenExternRef) \
    X(WasmEdge_ValueGetI32) \
    X(WasmEdge_ValueGetI64) \
    X(WasmEdge_ValueGetF32) \
    X(WasmEdge_ValueGetF64) \
    X(WasmEdge_ValueGetV128) \
    X(WasmEdge_ValueIsNullRef) \
    X(WasmEdge_ValueGetFuncRef) \
    X(WasmEdge_ValueGetExternRef) \
    X(WasmEdge_StringCreateByCString) \
    X(WasmEdge_StringCreateByBuffer) \
    X(WasmEdge_StringWrap) \
    X(WasmEdge_StringIsEqual) \
    X(WasmEdge_StringCopy) \
    X(WasmEdge_StringDelete) \
    X(WasmEdge_BytesCreate) \
    X(WasmEdge_BytesWrap) \
    X(WasmEdge_BytesDelete) \
    X(WasmEdge_ResultOK) \
    X(WasmEdge_ResultGen) \
    X(WasmEdge_ResultGetCode) \
    X(WasmEdge_ResultGetCategory) \
    X(WasmEdge_ResultGetMessage) \
    X(WasmEdge_ConfigureCreate) \
    X(WasmEdge_ConfigureAddProposal) \
    X(WasmEdge_ConfigureRemoveProposal) \
    X(WasmEdge_ConfigureHasProposal) \
    X(WasmEdge_ConfigureAddHostRegistration) \
    X(WasmEdge_ConfigureRemoveHostRegistration) \
    X(WasmEdge_ConfigureHasHostRegistration) \
    X(WasmEdge_ConfigureSetMaxMemoryPage) \
    X(WasmEdge_ConfigureGetMaxMemoryPage) \
    X(WasmEdge_ConfigureSetForceInterpreter) \
    X(WasmEdge_ConfigureIsForceInterpreter) \
    X(WasmEdge_ConfigureSetAllowAFUNIX) \
    X(WasmEdge_ConfigureIsAllowAFUNIX) \
    X(WasmEdge_ConfigureCompilerSetOptimizationLevel) \
    X(WasmEdge_ConfigureCompilerGetOptimizationLevel) \
    X(WasmEdge_ConfigureCompilerSetOutputFormat) \
    X(WasmEdge_ConfigureCompilerGetOutputFormat) \
    X(WasmEdge_ConfigureCompilerSetDumpIR) \
    X(WasmEdge_ConfigureCompilerIsDumpIR) \
    X(WasmEdge_ConfigureCompilerSetGenericBinary) \
    X(WasmEdge_ConfigureCompilerIsGenericBinary) \
    X(WasmEdge_ConfigureCompilerSetInterruptible) \
    X(WasmEdge_ConfigureCompilerIsInterruptible) \
    X(WasmEdge_ConfigureStatisticsSetInstructionCounting) \
    X(WasmEdge_ConfigureStatisticsIsInstructionCounting) \
    X(WasmEdge_ConfigureStatisticsSetCostMeasuring) \
    X(WasmEdge_ConfigureStatisticsIsCostMeasuring) \
    X(WasmEdge_ConfigureStatisticsSetTimeMeasuring) \
    X(WasmEdge_ConfigureStatisticsIsTimeMeasuring) \
    X(WasmEdge_ConfigureDelete) \
    X(WasmEdge_StatisticsCreate) \
    X(WasmEdge_StatisticsGetInstrCount) \
    X(WasmEdge_StatisticsGetInstrPerSecond) \
    X(WasmEdge_StatisticsGetTotalCost) \
    X(WasmEdge_StatisticsSetCostTable) \
    X(WasmEdge_StatisticsSetCostLimit) \
    X(WasmEdge_StatisticsClear) \
    X(WasmEdge_StatisticsDelete) \
    X(WasmEdge_ASTModuleListImportsLength) \
    X(WasmEdge_ASTModuleListImports) \
    X(WasmEdge_ASTModuleListExportsLength) \
    X(WasmEdge_ASTModuleListExports) \
    X(WasmEdge_ASTModuleDelete) \
    X(WasmEdge_FunctionTypeCreate) \
    X(WasmEdge_FunctionTypeGetParametersLength) \
    X(WasmEdge_FunctionTypeGetParameters) \
    X(WasmEdge_FunctionTypeGetReturnsLength) \
    X(WasmEdge_FunctionTypeGetReturns) \
    X(WasmEdge_FunctionTypeDelete) \
    X(WasmEdge_TableTypeGetRefType) \
    X(WasmEdge_TableTypeDelete) \
    X(WasmEdge_MemoryTypeDelete) \
    X(WasmEdge_GlobalTypeCreate) \
    X(WasmEdge_GlobalTypeGetValType) \
    X(WasmEdge_GlobalTypeGetMutability) \
    X(WasmEdge_GlobalTypeDelete) \
    X(WasmEdge_ImportTypeGetExternalType) \
    X(WasmEdge_ImportTypeGetModuleName) \
    X(WasmEdge_ImportTypeGetExternalName) \
    X(WasmEdge_ImportTypeGetFunctionType) \
    X(WasmEdge_ImportTypeGetTableType) \
    X(WasmEdge_ImportTypeGetMemoryType) \
    X(WasmEdge_ImportTypeGetGlobalType) \
    X(WasmEdge_ExportTypeGetExternalType) \
    X(WasmEdge_ExportTypeGetExternalName) \
    X(WasmEdge_ExportTypeGetFunctionType) \
    X(WasmEdge_ExportTypeGetTableType) \
    X(WasmEdge_ExportTypeGetMemoryType) \
    X(WasmEdge_ExportTypeGetGlobalType) \
    X(WasmEdge_CompilerCreate) \
    X(WasmEdge_CompilerCompile) \
    X(WasmEdge_CompilerCompileFromBuffer) \
    X(WasmEdge_CompilerCompileFromBytes) \
    X(WasmEdge_CompilerDelete) \
    X(WasmEdge_LoaderCreate) \
    X(WasmEdge_LoaderParseFromFile) \
    X(WasmEdge_LoaderParseFromBuffer) \
    X(WasmEdge_LoaderParseFromBytes) \
    X(WasmEdge_LoaderSerializeASTModule) \
    X(WasmEdge_LoaderDelete) \
    X(WasmEdge_ValidatorCreate) \
    X(WasmEdge_ValidatorValidate) \
    X(WasmEdge_ValidatorDelete) \
    X(WasmEdge_ExecutorCreate) \
    X(WasmEdge_ExecutorInstantiate) \
    X(WasmEdge_ExecutorRegister) \
    X(WasmEdge_ExecutorRegisterImport) \
    X(WasmEdge_ExecutorInvoke) \
    X(WasmEdge_ExecutorAsyncInvoke) \
    X(WasmEdge_ExecutorDelete) \
    X(WasmEdge_StoreCreate) \
    X(WasmEdge_StoreFindModule) \
    X(WasmEdge_StoreListModuleLength) \
    X(WasmEdge_StoreListModule) \
    X(WasmEdge_StoreDelete) \
    X(WasmEdge_ModuleInstanceCreate) \
    X(WasmEdge_ModuleInstanceCreateWithData) \
    X(WasmEdge_ModuleInstanceCreateWASI) \
    X(WasmEdge_ModuleInstanceInitWASI) \
    X(WasmEdge_ModuleInstanceWASIGetExitCode) \
    X(WasmEdge_ModuleInstanceWASIGetNativeHandler) \
    X(WasmEdge_ModuleInstanceInitWasmEdgeProcess) \
    X(WasmEdge_ModuleInstanceGetModuleName) \
    X(WasmEdge_ModuleInstanceGetHostData) \
    X(WasmEdge_ModuleInstanceFindFunction) \
    X(WasmEdge_ModuleInstanceFindTable) \
    X(WasmEdge_ModuleInstanceFindMemory) \
    X(WasmEdge_ModuleInstanceFindGlobal) \
    X(WasmEdge_ModuleInstanceListFunctionLength) \
    X(WasmEdge_ModuleInstanceListFunction) \
    X(WasmEdge_ModuleInstanceListTableLength) \
    X(WasmEdge_ModuleInstanceListTable) \
    X(WasmEdge_ModuleInstanceListMemoryLength) \
    X(WasmEdge_ModuleInstanceListMemory) \
    X(WasmEdge_ModuleInstanceListGlobalLength) \
    X(WasmEdge_ModuleInstanceListGlobal) \
    X(WasmEdge_ModuleInstanceAddFunction) \
    X(WasmEdge_ModuleInstanceAddTable) \
    X(WasmEdge_ModuleInstanceAddMemory) \
    X(WasmEdge_ModuleInstanceAddGlobal) \
    X(WasmEdge_ModuleInstanceDelete) \
    X(WasmEdge_FunctionInstanceCreate) \
    X(WasmEdge_FunctionInstanceCreateBinding) \
    X(WasmEdge_FunctionInstanceGetData) \
    X(WasmEdge_FunctionInstanceGetFunctionType) \
    X(WasmEdge_FunctionInstanceDelete) \
    X(WasmEdge_TableInstanceCreate) \
    X(WasmEdge_TableInstanceCreateWithInit) \
    X(WasmEdge_TableInstanceGetTableType) \
    X(WasmEdge_TableInstanceGetData) \
    X(WasmEdge_TableInstanceSetData) \
    X(WasmEdge_TableInstanceGetSize) \
    X(WasmEdge_TableInstanceGrow) \
    X(WasmEdge_TableInstanceDelete) \
    X(WasmEdge_MemoryInstanceCreate) \
    X(WasmEdge_MemoryInstanceGetMemoryType) \
    X(WasmEdge_MemoryInstanceGetData) \
    X(WasmEdge_MemoryInstanceSetData) \
    X(WasmEdge_MemoryInstanceGetPointer) \
    X(WasmEdge_MemoryInstanceGetPointerConst) \
    X(WasmEdge_MemoryInstanceGetPageSize) \
    X(WasmEdge_MemoryInstanceGrowPage) \
    X(WasmEdge_MemoryInstanceDelete) \
    X(WasmEdge_GlobalInstanceCreate) \
    X(WasmEdge_GlobalInstanceGetGlobalType) \
    X(WasmEdge_GlobalInstanceGetValue) \
    X(WasmEdge_GlobalInstanceSetValue) \
    X(WasmEdge_GlobalInstanceDelete) \
    X(WasmEdge_CallingFrameGetExecutor) \
    X(WasmEdge_CallingFrameGetModuleInstance) \
    X(WasmEdge_CallingFrameGetMemoryInstance) \
    X(WasmEdge_AsyncWait) \
    X(WasmEdge_AsyncWaitFor) \
    X(WasmEdge_AsyncCancel) \
    X(WasmEdge_AsyncGetReturnsLength) \
    X(WasmEdge_AsyncGet) \
    X(WasmEdge_AsyncDelete) \
    X(WasmEdge_VMCreate) \
    X(WasmEdge_VMRegisterModuleFromFile) \
    X(WasmEdge_VMRegisterModuleFromBuffer) \
    X(WasmEdge_VMRegisterModuleFromBytes) \
    X(WasmEdge_VMRegisterModuleFromASTModule) \
    X(WasmEdge_VMRegisterModuleFromImport) \
    X(WasmEdge_VMRunWasmFromFile) \
    X(WasmEdge_VMRunWasmFromBuffer) \
    X(WasmEdge_VMRunWasmFromBytes) \
    X(WasmEdge_VMRunWasmFromASTModule) \
    X(WasmEdge_VMAsyncRunWasmFromFile) \
    X(WasmEdge_VMAsyncRunWasmFromBuffer) \
    X(WasmEdge_VMAsyncRunWasmFromBytes) \
    X(WasmEdge_VMAsyncRunWasmFromASTModule) \
    X(WasmEdge_VMLoadWasmFromFile) \
    X(WasmEdge_VMLoadWasmFromBuffer) \
    X(WasmEdge_VMLoadWasmFromBytes) \
    X(WasmEdge_VMLoadWasmFromASTModule) \
    X(WasmEdge_VMValidate) \
    X(WasmEdge_VMInstantiate) \
    X(WasmEdge_VMExecute) \
    X(WasmEdge_VMExecuteRegistered) \
    X(WasmEdge_VMAsyncExecute) \
    X(WasmEdge_VMAsyncExecuteRegistered) \
    X(WasmEdge_VMGetFunctionType) \
    X(WasmEdge_VMGetFunctionTypeRegistered) \
    X(WasmEdge_VMCleanup) \
    X(WasmEdge_VMForceDeleteRegisteredModule) \
    X(WasmEdge_VMGetFunctionListLength) \
    X(WasmEdge_VMGetFunctionList) \
    X(WasmEdge_VMGetImportModuleContext) \
    X(WasmEdge_VMGetActiveModule) \
    X(WasmEdge_VMGetRegisteredModule) \
    X(WasmEdge_VMListRegisteredModuleLength) \
    X(WasmEdge_VMListRegisteredModule) \
    X(WasmEdge_VMGetStoreContext) \
    X(WasmEdge_VMGetLoaderContext) \
    X(WasmEdge_VMGetValidatorContext) \
    X(WasmEdge_VMGetExecutorContext) \
    X(WasmEdge_VMGetStatisticsContext) \
    X(WasmEdge_VMDelete) \
    X(WasmEdge_Driver_Compiler) \
    X(WasmEdge_Driver_Tool) \
    X(WasmEdge_Driver_UniTool) \
    X(WasmEdge_PluginLoadWithDefaultPaths) \
    X(WasmEdge_PluginLoadFromPath) \
    X(WasmEdge_PluginListPluginsLength) \
    X(WasmEdge_PluginListPlugins) \
    X(WasmEdge_PluginFind) \
    X(WasmEdge_PluginGetPluginName) \
    X(WasmEdge_PluginListModuleLength) \
    X(WasmEdge_PluginListModule) \
    X(WasmEdge_PluginCreateModule) \
    X(WasmEdge_PluginInitWASINN) \
    X(WasmEdge_ExecutorExperimentalRegisterPreHostFunction) \
    X(WasmEdge_ExecutorExperimentalRegisterPostHostFunction) \
    X(WasmEdge_LimitCreate) \
    X(WasmEdge_LimitCreateWithMax) \
    X(WasmEdge_LimitGetMin) \
    X(WasmEdge_LimitGetMax) \
    X(WasmEdge_LimitHasMax) \
    X(WasmEdge_LimitIsShared) \
    X(WasmEdge_LimitIs64Bit) \
    X(WasmEdge_LimitDelete) \
    X(WasmEdge_ConfigureSetRunMode) \
    X(WasmEdge_ConfigureGetRunMode) \
    X(WasmEdge_ConfigureSetWASMStandard) \
    X(WasmEdge_TagTypeGetFunctionType) \
    X(WasmEdge_TagInstanceGetTagType) \
    X(WasmEdge_ImportTypeGetTagType) \
    X(WasmEdge_ExportTypeGetTagType) \
    X(WasmEdge_ExecutorRegisterImportWithAlias) \
    X(WasmEdge_VMRegisterModuleFromImportWithAlias) \
    X(WasmEdge_ModuleInstanceCreateWASIWithFds) \
    X(WasmEdge_ModuleInstanceInitWASIWithFds) \
    X(WasmEdge_ModuleInstanceFindTag) \
    X(WasmEdge_ModuleInstanceListTagLength) \
    X(WasmEdge_ModuleInstanceListTag) \
    X(WasmEdge_Driver_WasiNNRPCServer) \
    /* end */

/* The five functions whose limit argument or result changed in 0.17. */
#define ORCHESTRA_WASMEDGE_LIMIT_API(X) \
    X(WasmEdge_LimitIsEqual) \
    X(WasmEdge_TableTypeCreate) \
    X(WasmEdge_TableTypeGetLimit) \
    X(WasmEdge_MemoryTypeCreate) \
    X(WasmEdge_MemoryTypeGetLimit) \
    /* end */

#ifndef ORCHESTRA_WASMEDGE_NO_SYMVER
#define VERSIONS(name)                                                     \
  __asm__(".symver orchestra_impl_" #name "," #name "@@WASMEDGE_0.17\n"    \
          ".symver orchestra_impl_" #name "," #name "@WASMEDGE_0.16\n"     \
          ".symver orchestra_impl_" #name "," #name "@WASMEDGE_0.15\n"     \
          ".symver orchestra_impl_" #name "," #name "@WASMEDGE_0.14");
#define LIMIT_VERSIONS(name)                                               \
  __asm__(".symver orchestra_impl_" #name "," #name "@@WASMEDGE_0.17\n"    \
          ".symver orchestra_016_" #name "," #name "@WASMEDGE_0.16\n"      \
          ".symver orchestra_016_" #name "," #name "@WASMEDGE_0.15\n"      \
          ".symver orchestra_016_" #name "," #name "@WASMEDGE_0.14");
#else /* a linker without multiple symbol versions: plain aliases, the 0.17 forms */
#define VERSIONS(name) \
  extern __typeof__(name) name __attribute__((alias("orchestra_impl_" #name), visibility("default")));
#define LIMIT_VERSIONS(name) VERSIONS(name)
#endif
ORCHESTRA_WASMEDGE_API(VERSIONS)
ORCHESTRA_WASMEDGE_LIMIT_API(LIMIT_VERSIONS)
