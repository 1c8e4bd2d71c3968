"""Orchestra's WasmEdge compatibility library and the discovery of WasmEdge C-API
plug-ins: the library's SONAME and symbol versions, a plug-in linked against it
with ``-z now`` (and one linked against nothing), descriptors of API versions 3-5
read in the probe (functions found by running ``create``), an unsupported API
version, options, and the registry's WasmEdge-named calls. The plug-ins are
written to WasmEdge's documented C API and compiled here with ``cc``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestra.errors import PluginLoadError
from orchestra.hostplugins import HostPluginRegistry, WasmEdgeHostPlugin, include_dir
from orchestra.hostplugins._wasmedge import compat_library

from .test_hostplugins_registry import define_flags

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)")

#: A WasmEdge C-API plug-in, written to WasmEdge's documented API. -D switches:
#: API_VERSION (default: the header's), NAME, MODULE, CREATE_CRASH.
WASMEDGE_PLUGIN = r"""
#include <stdlib.h>
#include <string.h>
#include <wasmedge/wasmedge.h>

#ifndef NAME
#define NAME "wetest"
#endif
#ifndef MODULE
#define MODULE "wetest"
#endif
#ifndef API_VERSION
#define API_VERSION WasmEdge_Plugin_CurrentAPIVersion
#endif

static WasmEdge_String greeting;          /* option "greeting" (string) */
static int32_t scale;                     /* option "scale" (int32) */
static bool loud;                         /* option "loud" (toggle) */
static const WasmEdge_String default_greeting = {5, "hello"};
static const int32_t default_scale = 3;

struct state { int64_t calls; int finalized; };

/* greet(ptr, cap) -> len: writes the greeting into the caller's memory. */
static WasmEdge_Result greet(void *data, const WasmEdge_CallingFrameContext *frame,
                             const WasmEdge_Value *in, WasmEdge_Value *out) {
  (void)data;
  uint32_t ptr = (uint32_t)WasmEdge_ValueGetI32(in[0]), cap = (uint32_t)WasmEdge_ValueGetI32(in[1]);
  WasmEdge_MemoryInstanceContext *mem = WasmEdge_CallingFrameGetMemoryInstance(frame, 0);
  uint32_t n = greeting.Length < cap ? greeting.Length : cap;
  uint8_t *p = WasmEdge_MemoryInstanceGetPointer(mem, ptr, n);
  if (p == NULL) return WasmEdge_ResultGen(WasmEdge_ErrCategory_UserLevelError, 77);
  memcpy(p, greeting.Buf, n);
  if (loud) for (uint32_t i = 0; i < n; i++) if (p[i] >= 'a' && p[i] <= 'z') p[i] -= 32;
  out[0] = WasmEdge_ValueGenI32((int32_t)n);
  return WasmEdge_Result_Success;
}

/* arith(i32, i64, f32, f64) -> (i32, i64, f32, f64) */
static WasmEdge_Result arith(void *data, const WasmEdge_CallingFrameContext *frame,
                             const WasmEdge_Value *in, WasmEdge_Value *out) {
  (void)data; (void)frame;
  out[0] = WasmEdge_ValueGenI32(WasmEdge_ValueGetI32(in[0]) * scale);
  out[1] = WasmEdge_ValueGenI64(WasmEdge_ValueGetI64(in[1]) * 2);
  out[2] = WasmEdge_ValueGenF32(WasmEdge_ValueGetF32(in[2]) + 0.5f);
  out[3] = WasmEdge_ValueGenF64(WasmEdge_ValueGetF64(in[3]) * 2.0);
  return WasmEdge_Result_Success;
}

/* sum(ptr, len) -> i32: byte sum, read through the const pointer. */
static WasmEdge_Result sum(void *data, const WasmEdge_CallingFrameContext *frame,
                           const WasmEdge_Value *in, WasmEdge_Value *out) {
  (void)data;
  uint32_t ptr = (uint32_t)WasmEdge_ValueGetI32(in[0]), len = (uint32_t)WasmEdge_ValueGetI32(in[1]);
  const uint8_t *p = WasmEdge_MemoryInstanceGetPointerConst(
      WasmEdge_CallingFrameGetMemoryInstance(frame, 0), ptr, len);
  if (p == NULL) return WasmEdge_ResultGen(WasmEdge_ErrCategory_UserLevelError, 78);
  int32_t s = 0;
  for (uint32_t i = 0; i < len; i++) s += p[i];
  out[0] = WasmEdge_ValueGenI32(s);
  return WasmEdge_Result_Success;
}

static WasmEdge_Result fail(void *data, const WasmEdge_CallingFrameContext *frame,
                            const WasmEdge_Value *in, WasmEdge_Value *out) {
  (void)data; (void)frame; (void)out;
  return WasmEdge_ResultGen(WasmEdge_ErrCategory_UserLevelError, (uint32_t)WasmEdge_ValueGetI32(in[0]));
}

static WasmEdge_Result terminate(void *data, const WasmEdge_CallingFrameContext *frame,
                                 const WasmEdge_Value *in, WasmEdge_Value *out) {
  (void)data; (void)frame; (void)in; (void)out;
  return WasmEdge_Result_Terminate;
}

/* count() -> i64: the data pointer given to FunctionInstanceCreate. */
static WasmEdge_Result count(void *data, const WasmEdge_CallingFrameContext *frame,
                             const WasmEdge_Value *in, WasmEdge_Value *out) {
  (void)frame; (void)in;
  struct state *st = data;
  out[0] = WasmEdge_ValueGenI64(++st->calls);
  return WasmEdge_Result_Success;
}

static WasmEdge_Result crash(void *data, const WasmEdge_CallingFrameContext *frame,
                             const WasmEdge_Value *in, WasmEdge_Value *out) {
  (void)data; (void)frame; (void)in; (void)out;
  volatile int *p = NULL;
  *p = 1;
  return WasmEdge_Result_Success;
}

static void finalize(void *data) { free(data); }

static void add(WasmEdge_ModuleInstanceContext *mod, const char *name, WasmEdge_HostFunc_t fn,
                void *data, const WasmEdge_ValType *p, uint32_t np, const WasmEdge_ValType *r,
                uint32_t nr) {
  WasmEdge_FunctionTypeContext *type = WasmEdge_FunctionTypeCreate(p, np, r, nr);
  WasmEdge_FunctionInstanceContext *f = WasmEdge_FunctionInstanceCreate(type, fn, data, 0);
  WasmEdge_FunctionTypeDelete(type);
  WasmEdge_String s = WasmEdge_StringCreateByCString(name);
  WasmEdge_ModuleInstanceAddFunction(mod, s, f);
  WasmEdge_StringDelete(s);
}

static WasmEdge_ModuleInstanceContext *create(const WasmEdge_ModuleDescriptor *desc) {
  (void)desc;
#ifdef CREATE_CRASH
  volatile int *boom = NULL;
  *boom = 1;
#endif
  struct state *st = calloc(1, sizeof *st);
  WasmEdge_String name = WasmEdge_StringCreateByCString(MODULE);
  WasmEdge_ModuleInstanceContext *mod = WasmEdge_ModuleInstanceCreateWithData(name, st, finalize);
  WasmEdge_StringDelete(name);
  WasmEdge_ValType i32 = WasmEdge_ValTypeGenI32(), i64 = WasmEdge_ValTypeGenI64();
  WasmEdge_ValType f32 = WasmEdge_ValTypeGenF32(), f64 = WasmEdge_ValTypeGenF64();
  WasmEdge_ValType two[2] = {i32, i32};
  WasmEdge_ValType four[4] = {i32, i64, f32, f64};
  add(mod, "greet", greet, NULL, two, 2, &i32, 1);
  add(mod, "arith", arith, NULL, four, 4, four, 4);
  add(mod, "sum", sum, NULL, two, 2, &i32, 1);
  add(mod, "fail", fail, NULL, &i32, 1, NULL, 0);
  add(mod, "terminate", terminate, NULL, NULL, 0, &i32, 1);
  add(mod, "count", count, WasmEdge_ModuleInstanceGetHostData(mod), NULL, 0, &i64, 1);
  add(mod, "crash", crash, NULL, NULL, 0, NULL, 0);
  return mod;
}

static WasmEdge_ModuleDescriptor modules[] = {{MODULE, "a test module", create}};
static WasmEdge_ProgramOption options[] = {
    {"greeting", "what greet writes", WasmEdge_ProgramOptionType_String, &greeting, &default_greeting},
    {"scale", "arith's i32 factor", WasmEdge_ProgramOptionType_Int32, &scale, &default_scale},
    {"loud", "upper-case greetings", WasmEdge_ProgramOptionType_Toggle, &loud, NULL},
};
static WasmEdge_PluginDescriptor descriptor = {
    NAME, "a WasmEdge C-API test plug-in", API_VERSION, {1, 4, 2, 0}, 1, 3, modules, options,
};

WASMEDGE_CAPI_PLUGIN_EXPORT const WasmEdge_PluginDescriptor *WasmEdge_Plugin_GetDescriptor(void) {
  return &descriptor;
}
"""


#: A WasmEdge plug-in whose create adds a table, two memories and a global to its
#: module besides functions that use them (the module instance is their data
#: pointer). One memory type is made with the 0.16 form of MemoryTypeCreate (the
#: limit a struct by value, bound to WasmEdge_MemoryTypeCreate@WASMEDGE_0.16), the
#: rest with 0.17's WasmEdge_LimitContext. Link it against the SONAME.
INSTANCES_PLUGIN = r"""
#include <string.h>
#include <wasmedge/wasmedge.h>

typedef struct { bool HasMax; bool Shared; uint32_t Min; uint32_t Max; } limit_016;
extern WasmEdge_MemoryTypeContext *memory_type_016(const limit_016);
extern limit_016 memory_type_limit_016(const WasmEdge_MemoryTypeContext *);
__asm__(".symver memory_type_016,WasmEdge_MemoryTypeCreate@WASMEDGE_0.16");
__asm__(".symver memory_type_limit_016,WasmEdge_MemoryTypeGetLimit@WASMEDGE_0.16");

static WasmEdge_String name(const char *s) { return WasmEdge_StringWrap(s, (uint32_t)strlen(s)); }

/* bump() -> i64: the global "counter", plus one. */
static WasmEdge_Result bump(void *mod, const WasmEdge_CallingFrameContext *frame,
                            const WasmEdge_Value *in, WasmEdge_Value *out) {
  (void)frame; (void)in;
  WasmEdge_GlobalInstanceContext *g = WasmEdge_ModuleInstanceFindGlobal(mod, name("counter"));
  int64_t n = WasmEdge_ValueGetI64(WasmEdge_GlobalInstanceGetValue(g)) + 1;
  WasmEdge_Result r = WasmEdge_GlobalInstanceSetValue(g, WasmEdge_ValueGenI64(n));
  out[0] = WasmEdge_ValueGenI64(n);
  return r;
}

/* stash(ptr, len) -> i32: copies the caller's bytes (its memory found through the
 * calling frame's module instance) into the memory "scratch" and sums them there. */
static WasmEdge_Result stash(void *mod, const WasmEdge_CallingFrameContext *frame,
                             const WasmEdge_Value *in, WasmEdge_Value *out) {
  uint32_t ptr = (uint32_t)WasmEdge_ValueGetI32(in[0]), len = (uint32_t)WasmEdge_ValueGetI32(in[1]);
  WasmEdge_MemoryInstanceContext *own = WasmEdge_ModuleInstanceFindMemory(mod, name("scratch"));
  const WasmEdge_ModuleInstanceContext *caller = WasmEdge_CallingFrameGetModuleInstance(frame);
  const uint8_t *from = WasmEdge_MemoryInstanceGetPointerConst(
      WasmEdge_ModuleInstanceFindMemory(caller, name("memory")), ptr, len);
  if (WasmEdge_ModuleInstanceListMemoryLength(caller) != 1) from = NULL;
  if (from == NULL) return WasmEdge_ResultGen(WasmEdge_ErrCategory_UserLevelError, 1);
  WasmEdge_Result r = WasmEdge_MemoryInstanceSetData(own, from, 65530, len);
  if (!WasmEdge_ResultOK(r)) return r;
  const uint8_t *p = WasmEdge_MemoryInstanceGetPointerConst(own, 65530, len);
  int32_t s = 0;
  for (uint32_t i = 0; i < len; i++) s += p[i];
  out[0] = WasmEdge_ValueGenI32(s);
  return WasmEdge_Result_Success;
}

/* grow() -> i32: "scratch" grown by a page (its maximum is 2), its page count. */
static WasmEdge_Result grow(void *mod, const WasmEdge_CallingFrameContext *frame,
                            const WasmEdge_Value *in, WasmEdge_Value *out) {
  (void)frame; (void)in;
  WasmEdge_MemoryInstanceContext *own = WasmEdge_ModuleInstanceFindMemory(mod, name("scratch"));
  WasmEdge_Result r = WasmEdge_MemoryInstanceGrowPage(own, 1);
  out[0] = WasmEdge_ValueGenI32((int32_t)WasmEdge_MemoryInstanceGetPageSize(own));
  return r;
}

/* shape() -> (i32, i32, i32): the pages of "legacy" (made through the 0.16 form),
 * the minimum of its limit read back through the 0.16 form, the table's size. */
static WasmEdge_Result shape(void *mod, const WasmEdge_CallingFrameContext *frame,
                             const WasmEdge_Value *in, WasmEdge_Value *out) {
  (void)frame; (void)in;
  WasmEdge_MemoryInstanceContext *legacy = WasmEdge_ModuleInstanceFindMemory(mod, name("legacy"));
  limit_016 lim = memory_type_limit_016(WasmEdge_MemoryInstanceGetMemoryType(legacy));
  WasmEdge_TableInstanceContext *t = WasmEdge_ModuleInstanceFindTable(mod, name("refs"));
  out[0] = WasmEdge_ValueGenI32((int32_t)WasmEdge_MemoryInstanceGetPageSize(legacy));
  out[1] = WasmEdge_ValueGenI32((int32_t)lim.Min);
  out[2] = WasmEdge_ValueGenI32((int32_t)WasmEdge_TableInstanceGetSize(t));
  return WasmEdge_Result_Success;
}

static void add(WasmEdge_ModuleInstanceContext *mod, const char *fname, WasmEdge_HostFunc_t fn,
                const WasmEdge_ValType *p, uint32_t np, const WasmEdge_ValType *r, uint32_t nr) {
  WasmEdge_FunctionTypeContext *type = WasmEdge_FunctionTypeCreate(p, np, r, nr);
  WasmEdge_ModuleInstanceAddFunction(mod, name(fname), WasmEdge_FunctionInstanceCreate(type, fn, mod, 0));
  WasmEdge_FunctionTypeDelete(type);
}

static WasmEdge_ModuleInstanceContext *create(const WasmEdge_ModuleDescriptor *desc) {
  (void)desc;
  WasmEdge_ModuleInstanceContext *mod = WasmEdge_ModuleInstanceCreate(name("weinst"));
  WasmEdge_LimitContext *lim = WasmEdge_LimitCreateWithMax(1, 2, false, false);
  WasmEdge_MemoryTypeContext *mt = WasmEdge_MemoryTypeCreate(lim);
  WasmEdge_LimitDelete(lim);
  if (WasmEdge_LimitGetMax(WasmEdge_MemoryTypeGetLimit(mt)) != 2) return NULL;
  WasmEdge_ModuleInstanceAddMemory(mod, name("scratch"), WasmEdge_MemoryInstanceCreate(mt));
  WasmEdge_MemoryTypeDelete(mt);
  limit_016 old = {true, false, 3, 5};
  mt = memory_type_016(old);
  WasmEdge_ModuleInstanceAddMemory(mod, name("legacy"), WasmEdge_MemoryInstanceCreate(mt));
  WasmEdge_MemoryTypeDelete(mt);
  lim = WasmEdge_LimitCreate(4, false);
  WasmEdge_TableTypeContext *tt = WasmEdge_TableTypeCreate(WasmEdge_ValTypeGenFuncRef(), lim);
  WasmEdge_LimitDelete(lim);
  WasmEdge_TableInstanceContext *table = WasmEdge_TableInstanceCreate(tt);
  WasmEdge_TableTypeDelete(tt);
  if (!WasmEdge_ResultOK(WasmEdge_TableInstanceGrow(table, 2))) return NULL;
  WasmEdge_ModuleInstanceAddTable(mod, name("refs"), table);
  WasmEdge_GlobalTypeContext *gt = WasmEdge_GlobalTypeCreate(WasmEdge_ValTypeGenI64(), WasmEdge_Mutability_Var);
  WasmEdge_ModuleInstanceAddGlobal(mod, name("counter"), WasmEdge_GlobalInstanceCreate(gt, WasmEdge_ValueGenI64(0)));
  WasmEdge_GlobalTypeDelete(gt);
  WasmEdge_ValType i32 = WasmEdge_ValTypeGenI32(), i64 = WasmEdge_ValTypeGenI64();
  WasmEdge_ValType two[2] = {i32, i32}, three[3] = {i32, i32, i32};
  add(mod, "bump", bump, NULL, 0, &i64, 1);
  add(mod, "stash", stash, two, 2, &i32, 1);
  add(mod, "grow", grow, NULL, 0, &i32, 1);
  add(mod, "shape", shape, NULL, 0, three, 3);
  return mod;
}

static WasmEdge_ModuleDescriptor modules[] = {{"weinst", "host instances", create}};
static WasmEdge_PluginDescriptor descriptor = {
    "weinst", "tables, memories and globals", WasmEdge_Plugin_CurrentAPIVersion, {0, 1, 0, 0}, 1, 0, modules, NULL,
};
WASMEDGE_CAPI_PLUGIN_EXPORT const WasmEdge_PluginDescriptor *WasmEdge_Plugin_GetDescriptor(void) {
  return &descriptor;
}
"""

#: Every function of WasmEdge's C API (0.14 to 0.17, Linux), by the names in
#: WasmEdge's published list of libwasmedge's exported symbols.
WASMEDGE_C_API = """
ASTModuleDelete ASTModuleListExports ASTModuleListExportsLength ASTModuleListImports
ASTModuleListImportsLength AsyncCancel AsyncDelete AsyncGet AsyncGetReturnsLength AsyncWait
AsyncWaitFor BytesCreate BytesDelete BytesWrap CallingFrameGetExecutor
CallingFrameGetMemoryInstance CallingFrameGetModuleInstance CompilerCompile
CompilerCompileFromBuffer CompilerCompileFromBytes CompilerCreate CompilerDelete
ConfigureAddHostRegistration ConfigureAddProposal ConfigureCompilerGetOptimizationLevel
ConfigureCompilerGetOutputFormat ConfigureCompilerIsDumpIR ConfigureCompilerIsGenericBinary
ConfigureCompilerIsInterruptible ConfigureCompilerSetDumpIR ConfigureCompilerSetGenericBinary
ConfigureCompilerSetInterruptible ConfigureCompilerSetOptimizationLevel
ConfigureCompilerSetOutputFormat ConfigureCreate ConfigureDelete ConfigureGetMaxMemoryPage
ConfigureGetRunMode ConfigureHasHostRegistration ConfigureHasProposal ConfigureIsAllowAFUNIX
ConfigureIsForceInterpreter ConfigureRemoveHostRegistration ConfigureRemoveProposal
ConfigureSetAllowAFUNIX ConfigureSetForceInterpreter ConfigureSetMaxMemoryPage
ConfigureSetRunMode ConfigureSetWASMStandard ConfigureStatisticsIsCostMeasuring
ConfigureStatisticsIsInstructionCounting ConfigureStatisticsIsTimeMeasuring
ConfigureStatisticsSetCostMeasuring ConfigureStatisticsSetInstructionCounting
ConfigureStatisticsSetTimeMeasuring Driver_Compiler Driver_Tool Driver_UniTool
Driver_WasiNNRPCServer ExecutorAsyncInvoke ExecutorCreate ExecutorDelete
ExecutorExperimentalRegisterPostHostFunction ExecutorExperimentalRegisterPreHostFunction
ExecutorInstantiate ExecutorInvoke ExecutorRegister ExecutorRegisterImport
ExecutorRegisterImportWithAlias ExportTypeGetExternalName ExportTypeGetExternalType
ExportTypeGetFunctionType ExportTypeGetGlobalType ExportTypeGetMemoryType ExportTypeGetTableType
ExportTypeGetTagType FunctionInstanceCreate FunctionInstanceCreateBinding FunctionInstanceDelete
FunctionInstanceGetData FunctionInstanceGetFunctionType FunctionTypeCreate FunctionTypeDelete
FunctionTypeGetParameters FunctionTypeGetParametersLength FunctionTypeGetReturns
FunctionTypeGetReturnsLength GlobalInstanceCreate GlobalInstanceDelete GlobalInstanceGetGlobalType
GlobalInstanceGetValue GlobalInstanceSetValue GlobalTypeCreate GlobalTypeDelete
GlobalTypeGetMutability GlobalTypeGetValType ImportTypeGetExternalName ImportTypeGetExternalType
ImportTypeGetFunctionType ImportTypeGetGlobalType ImportTypeGetMemoryType ImportTypeGetModuleName
ImportTypeGetTableType ImportTypeGetTagType LimitCreate LimitCreateWithMax LimitDelete LimitGetMax
LimitGetMin LimitHasMax LimitIs64Bit LimitIsEqual LimitIsShared LoaderCreate LoaderDelete
LoaderParseFromBuffer LoaderParseFromBytes LoaderParseFromFile LoaderSerializeASTModule LogOff
LogSetCallback LogSetDebugLevel LogSetErrorLevel LogSetLevel MemoryInstanceCreate
MemoryInstanceDelete MemoryInstanceGetData MemoryInstanceGetMemoryType MemoryInstanceGetPageSize
MemoryInstanceGetPointer MemoryInstanceGetPointerConst MemoryInstanceGrowPage MemoryInstanceSetData
MemoryTypeCreate MemoryTypeDelete MemoryTypeGetLimit ModuleInstanceAddFunction
ModuleInstanceAddGlobal ModuleInstanceAddMemory ModuleInstanceAddTable ModuleInstanceCreate
ModuleInstanceCreateWASI ModuleInstanceCreateWASIWithFds ModuleInstanceCreateWithData
ModuleInstanceDelete ModuleInstanceFindFunction ModuleInstanceFindGlobal ModuleInstanceFindMemory
ModuleInstanceFindTable ModuleInstanceFindTag ModuleInstanceGetHostData
ModuleInstanceGetModuleName ModuleInstanceInitWASI ModuleInstanceInitWASIWithFds
ModuleInstanceInitWasmEdgeProcess ModuleInstanceListFunction ModuleInstanceListFunctionLength
ModuleInstanceListGlobal ModuleInstanceListGlobalLength ModuleInstanceListMemory
ModuleInstanceListMemoryLength ModuleInstanceListTable ModuleInstanceListTableLength
ModuleInstanceListTag ModuleInstanceListTagLength ModuleInstanceWASIGetExitCode
ModuleInstanceWASIGetNativeHandler PluginCreateModule PluginFind PluginGetPluginName
PluginInitWASINN PluginListModule PluginListModuleLength PluginListPlugins
PluginListPluginsLength PluginLoadFromPath PluginLoadWithDefaultPaths ResultGen
ResultGetCategory ResultGetCode ResultGetMessage ResultOK StatisticsClear StatisticsCreate
StatisticsDelete StatisticsGetInstrCount StatisticsGetInstrPerSecond StatisticsGetTotalCost
StatisticsSetCostLimit StatisticsSetCostTable StoreCreate StoreDelete StoreFindModule
StoreListModule StoreListModuleLength StringCopy StringCreateByBuffer StringCreateByCString
StringDelete StringIsEqual StringWrap TableInstanceCreate TableInstanceCreateWithInit
TableInstanceDelete TableInstanceGetData TableInstanceGetSize TableInstanceGetTableType
TableInstanceGrow TableInstanceSetData TableTypeCreate TableTypeDelete TableTypeGetLimit
TableTypeGetRefType TagInstanceGetTagType TagTypeGetFunctionType VMAsyncExecute
VMAsyncExecuteRegistered VMAsyncRunWasmFromASTModule VMAsyncRunWasmFromBuffer
VMAsyncRunWasmFromBytes VMAsyncRunWasmFromFile VMCleanup VMCreate VMDelete VMExecute
VMExecuteRegistered VMForceDeleteRegisteredModule VMGetActiveModule VMGetExecutorContext
VMGetFunctionList VMGetFunctionListLength VMGetFunctionType VMGetFunctionTypeRegistered
VMGetImportModuleContext VMGetLoaderContext VMGetRegisteredModule VMGetStatisticsContext
VMGetStoreContext VMGetValidatorContext VMInstantiate VMListRegisteredModule
VMListRegisteredModuleLength VMLoadWasmFromASTModule VMLoadWasmFromBuffer VMLoadWasmFromBytes
VMLoadWasmFromFile VMRegisterModuleFromASTModule VMRegisterModuleFromBuffer
VMRegisterModuleFromBytes VMRegisterModuleFromFile VMRegisterModuleFromImport
VMRegisterModuleFromImportWithAlias VMRunWasmFromASTModule VMRunWasmFromBuffer
VMRunWasmFromBytes VMRunWasmFromFile VMValidate ValTypeGenExternRef ValTypeGenF32 ValTypeGenF64
ValTypeGenFuncRef ValTypeGenI32 ValTypeGenI64 ValTypeGenV128 ValTypeIsEqual ValTypeIsExternRef
ValTypeIsF32 ValTypeIsF64 ValTypeIsFuncRef ValTypeIsI32 ValTypeIsI64 ValTypeIsRef
ValTypeIsRefNull ValTypeIsV128 ValidatorCreate ValidatorDelete ValidatorValidate
ValueGenExternRef ValueGenF32 ValueGenF64 ValueGenFuncRef ValueGenI32 ValueGenI64 ValueGenV128
ValueGetExternRef ValueGetF32 ValueGetF64 ValueGetFuncRef ValueGetI32 ValueGetI64 ValueGetV128
ValueIsNullRef VersionGet VersionGetMajor VersionGetMinor VersionGetPatch
""".split()
LIMIT_FORMS = ("LimitIsEqual", "MemoryTypeCreate", "MemoryTypeGetLimit", "TableTypeCreate")
LIMIT_FORMS += ("TableTypeGetLimit",)
"""The functions whose 0.16 form (a limit struct by value) differs from 0.17's."""


#: A plug-in in the shape of WasmEdge's plug-in guide: designated initializers,
#: WasmEdge_Plugin_CurrentAPIVersion, the module named by its descriptor; valid C11
#: and C++20.
GUIDE_STYLE_PLUGIN = r"""
#include <wasmedge/wasmedge.h>

static WasmEdge_Result Mul(void *Data, const WasmEdge_CallingFrameContext *CallFrameCxt,
                           const WasmEdge_Value *In, WasmEdge_Value *Out) {
  (void)Data; (void)CallFrameCxt;
  Out[0] = WasmEdge_ValueGenI64(WasmEdge_ValueGetI64(In[0]) * WasmEdge_ValueGetI64(In[1]));
  return WasmEdge_Result_Success;
}

static WasmEdge_ModuleInstanceContext *CreateModule(const struct WasmEdge_ModuleDescriptor *Desc) {
  WasmEdge_String ModuleName = WasmEdge_StringCreateByCString(Desc->Name);
  WasmEdge_ModuleInstanceContext *Mod = WasmEdge_ModuleInstanceCreate(ModuleName);
  WasmEdge_StringDelete(ModuleName);
  WasmEdge_ValType Params[2] = {WasmEdge_ValTypeGenI64(), WasmEdge_ValTypeGenI64()};
  WasmEdge_ValType Returns[1] = {WasmEdge_ValTypeGenI64()};
  WasmEdge_FunctionTypeContext *FType = WasmEdge_FunctionTypeCreate(Params, 2, Returns, 1);
  WasmEdge_String FuncName = WasmEdge_StringCreateByCString("mul");
  WasmEdge_ModuleInstanceAddFunction(Mod, FuncName, WasmEdge_FunctionInstanceCreate(FType, Mul, NULL, 0));
  WasmEdge_StringDelete(FuncName);
  WasmEdge_FunctionTypeDelete(FType);
  return Mod;
}

static WasmEdge_ModuleDescriptor ModuleDesc[] = {{
    .Name = "guide_module",
    .Description = "a module in the guide's shape",
    .Create = CreateModule,
}};

static WasmEdge_PluginDescriptor Desc[] = {{
    .Name = "guide_style",
    .Description = "",
    .APIVersion = WasmEdge_Plugin_CurrentAPIVersion,
    .Version = {.Major = 0, .Minor = 2, .Patch = 1, .Build = 0},
    .ModuleCount = 1,
    .ProgramOptionCount = 0,
    .ModuleDescriptions = ModuleDesc,
    .ProgramOptions = NULL,
}};

WASMEDGE_CAPI_PLUGIN_EXPORT const WasmEdge_PluginDescriptor *WasmEdge_Plugin_GetDescriptor(void) {
  return &Desc[0];
}
"""


def cc_wasmedge_plugin(
    out: Path, *, link: bool = True, source: str = WASMEDGE_PLUGIN, **defines: str | int | bool
) -> Path:
    """Compile ``source`` (:data:`WASMEDGE_PLUGIN`) into ``out``; ``link``: against
    the compatibility library's SONAME with ``-z now`` (as against a real
    libwasmedge), else with its WasmEdge symbols left undefined."""
    out.parent.mkdir(parents=True, exist_ok=True)
    src = out.with_suffix(".c")
    src.write_text(source)
    flags = define_flags(defines)
    cmd = ["cc", "-shared", "-fPIC", "-O1", "-I", str(include_dir()), "-o", str(out), str(src)]
    if link:
        lib = compat_library()
        cmd += [f"-L{lib.parent}", f"-l:{lib.name}", "-Wl,-z,now"]
    subprocess.run([*cmd, *flags], check=True, capture_output=True)
    src.unlink()
    return out


def _readelf(*args: str) -> str:
    return subprocess.run(["readelf", *args], check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs readelf")
def test_the_library_has_wasmedges_soname_and_symbol_versions(tmp_path: Path) -> None:
    lib = compat_library()
    assert lib.name == "libwasmedge.so.0"
    assert "Library soname: [libwasmedge.so.0]" in _readelf("-d", str(lib))
    symbols = _readelf("--dyn-syms", "-W", str(lib))
    for version in ("@@WASMEDGE_0.17", "@WASMEDGE_0.16", "@WASMEDGE_0.15", "@WASMEDGE_0.14"):
        assert f"WasmEdge_StringCreateByCString{version}" in symbols
        assert f"WasmEdge_VMCreate{version}" in symbols  # a stub, present for -z now
    plugin = cc_wasmedge_plugin(tmp_path / "libwe.so")
    dynamic = _readelf("-d", str(plugin))
    assert "Shared library: [libwasmedge.so.0]" in dynamic
    assert "WASMEDGE_0.17" in _readelf("-V", str(plugin))


@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs readelf")
def test_every_c_api_function_resolves_in_a_plugin_linked_with_z_now(tmp_path: Path) -> None:
    """A plug-in referencing every function of WasmEdge's C API (declared by our
    header), linked against the SONAME with -z now, loads; the stubs among them
    fail cleanly when called (create checks two, else it returns NULL)."""
    refs = ",\n".join(f"  (const void *)&WasmEdge_{n}" for n in WASMEDGE_C_API)
    source = WASMEDGE_PLUGIN.replace(
        "static WasmEdge_ModuleInstanceContext *create(const WasmEdge_ModuleDescriptor *desc) {\n"
        "  (void)desc;\n",
        "static WasmEdge_ModuleInstanceContext *create(const WasmEdge_ModuleDescriptor *desc) {\n"
        "  (void)desc;\n"
        "  if (WasmEdge_VMCreate(NULL, NULL) != NULL) return NULL;\n"
        "  if (WasmEdge_ResultOK(WasmEdge_VMValidate(NULL))) return NULL;\n",
    )
    source += f"__attribute__((used)) const void *const every_function[] = {{\n{refs}\n}};\n"
    plugin = cc_wasmedge_plugin(tmp_path / "libevery.so", source=source)
    assert "NOW" in _readelf("-d", str(plugin))  # FLAGS BIND_NOW or FLAGS_1 NOW
    needed = _readelf("--dyn-syms", "-W", str(plugin))
    exported = _readelf("--dyn-syms", "-W", str(compat_library()))
    for n in WASMEDGE_C_API:
        assert f"WasmEdge_{n}@WASMEDGE_0.17" in needed, n
        for version in ("@@WASMEDGE_0.17", "@WASMEDGE_0.16", "@WASMEDGE_0.15", "@WASMEDGE_0.14"):
            assert f"WasmEdge_{n}{version}" in exported, (n, version)
    (found,) = HostPluginRegistry().load_from_path(plugin)
    assert "arith" in found.signatures("wetest")


@pytest.mark.parametrize(
    "compiler",
    [["cc", "-std=c11", "-pedantic"], ["c++", "-x", "c++", "-std=c++20"]],
    ids=["c", "cxx"],
)
def test_a_plugin_in_the_guides_shape_builds_unchanged_against_the_header(
    tmp_path: Path, compiler: list[str]
) -> None:
    if shutil.which(compiler[0]) is None:
        pytest.skip(f"needs {compiler[0]}")
    src, out = tmp_path / "guide.c", tmp_path / "plugins" / "libwasmedgePluginGuide.so"
    src.write_text(GUIDE_STYLE_PLUGIN)
    out.parent.mkdir()
    flags = ["-Wall", "-Wextra", "-Werror", "-DWASMEDGE_PLUGIN", "-shared", "-fPIC"]
    cmd = [*compiler, *flags, "-I", str(include_dir()), "-o", str(out), str(src)]
    subprocess.run(cmd, check=True, capture_output=True)
    (found,) = HostPluginRegistry().load_from_path(out.parent)
    assert (found.name, found.version, found.module_names()) == (
        "guide_style",
        "0.2.1",
        ["guide_module"],
    )
    assert found.signatures("guide_module") == {"mul": (("i64", "i64"), ("i64",))}


@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs readelf")
def test_the_limit_functions_have_a_016_and_a_017_form(tmp_path: Path) -> None:
    """0.17 changed five functions from a limit struct by value to a
    WasmEdge_LimitContext: @WASMEDGE_0.16 (and an unversioned reference, the first
    version node) is the old form, @@WASMEDGE_0.17 the new; the rest share one."""
    symbols = {
        line.split()[-1]: line.split()[1]
        for line in _readelf("--dyn-syms", "-W", str(compat_library())).splitlines()
        if "WasmEdge_" in line
    }
    for n in WASMEDGE_C_API:
        old, new = symbols[f"WasmEdge_{n}@WASMEDGE_0.16"], symbols[f"WasmEdge_{n}@@WASMEDGE_0.17"]
        assert (old != new) == (n in LIMIT_FORMS), n
        assert symbols[f"WasmEdge_{n}@WASMEDGE_0.14"] == old


def test_tables_memories_and_globals_of_a_module_are_the_plugins_own(tmp_path: Path) -> None:
    """A module's create may add tables, memories and globals (0.16 and 0.17 limit
    forms): they are made and kept for the plug-in's host functions; wasm cannot
    import them, and the library says which they are."""
    plugin = cc_wasmedge_plugin(tmp_path / "libweinst.so", source=INSTANCES_PLUGIN)
    (found,) = HostPluginRegistry().load_from_path(plugin)
    assert found.signatures("weinst") == {
        "bump": ((), ("i64",)),
        "grow": ((), ("i32",)),
        "shape": ((), ("i32", "i32", "i32")),
        "stash": (("i32", "i32"), ("i32",)),
    }
    lib = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from orchestra.hostplugins._wasmedge import open_wasmedge; "
            "print(open_wasmedge(sys.argv[1]).unserved)",
            str(plugin),
        ],
        capture_output=True,
        text=True,
        check=True,
    )  # in a child: the plug-in stays out of this process
    assert lib.stdout.strip() == (
        "{'weinst': ('global counter', 'memory legacy', 'memory scratch', 'table refs')}"
    )


@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs readelf")
def test_a_plugin_linked_against_an_older_libwasmedge_loads(tmp_path: Path) -> None:
    """A plug-in built against a libwasmedge whose symbols are WASMEDGE_0.16 (a
    stand-in built here: the same source, versioned 0.16 only) references
    WasmEdge_X@WASMEDGE_0.16, which Orchestra's library also defines."""
    from orchestra.hostplugins._wasmedge import SOURCE_DIR

    old = tmp_path / "old"
    old.mkdir()
    (old / "v16.map").write_text("WASMEDGE_0.16 { global: WasmEdge_*; orchestra_*; local: *; };\n")
    subprocess.run(
        [
            "cc", "-shared", "-fPIC", f"-I{SOURCE_DIR.parent}", "-DORCHESTRA_WASMEDGE_NO_SYMVER",
            "-Wl,-soname,libwasmedge.so.0", f"-Wl,--version-script={old / 'v16.map'}",
            "-o", str(old / "libwasmedge.so.0"), str(SOURCE_DIR / "compat.c"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    src = tmp_path / "we.c"
    src.write_text(WASMEDGE_PLUGIN)
    plugin = tmp_path / "plugins" / "libwe.so"
    plugin.parent.mkdir()
    cmd = ["cc", "-shared", "-fPIC", "-I", str(include_dir()), "-o", str(plugin), str(src)]
    subprocess.run([*cmd, f"-L{old}", "-l:libwasmedge.so.0", "-Wl,-z,now"], check=True)
    needs = _readelf("-V", str(plugin))
    assert "WASMEDGE_0.16" in needs and "WASMEDGE_0.17" not in needs
    (found,) = HostPluginRegistry().load_from_path(plugin.parent)
    assert "arith" in found.signatures("wetest")


@pytest.mark.parametrize("link", [True, False], ids=["linked", "unlinked"])
@pytest.mark.parametrize("api", [3, 4, 5])
def test_the_probe_lists_modules_and_functions_by_running_create(
    tmp_path: Path, link: bool, api: int
) -> None:
    plugin = cc_wasmedge_plugin(tmp_path / "libwe.so", link=link, API_VERSION=api)
    registry = HostPluginRegistry()
    (found,) = registry.load_from_path(tmp_path)
    assert isinstance(found, WasmEdgeHostPlugin)
    assert (found.kind, found.name, found.version) == ("wasmedge", "wetest", "1.4.2")
    assert found.descriptor.api_version == api
    assert found.file == str(plugin)
    assert registry.list_plugins() == ["wetest"]
    assert found.module_names() == ["wetest"]
    sigs = found.signatures("wetest")
    assert sigs["greet"] == (("i32", "i32"), ("i32",))
    assert sigs["arith"] == (("i32", "i64", "f32", "f64"), ("i32", "i64", "f32", "f64"))
    assert sigs["fail"] == (("i32",), ())
    assert sorted(sigs) == ["arith", "count", "crash", "fail", "greet", "sum", "terminate"]
    assert [(o.name, o.default) for o in found.option_docs()] == [
        ("greeting", "hello"),
        ("scale", "3"),
        ("loud", None),
    ]


def test_another_api_version_is_refused_naming_it(tmp_path: Path) -> None:
    cc_wasmedge_plugin(tmp_path / "libold.so", API_VERSION=2)
    with pytest.raises(PluginLoadError) as info:
        HostPluginRegistry().load_from_path(tmp_path)
    assert "built for WasmEdge plug-in API version 2; Orchestra loads versions 3, 4, 5" in (
        info.value.message
    )


def test_a_crash_in_create_is_reported_with_the_plugin_and_modules(tmp_path: Path) -> None:
    cc_wasmedge_plugin(tmp_path / "libboom.so", CREATE_CRASH=True, NAME="boom", MODULE="boommod")
    registry = HostPluginRegistry()
    registry.load_from_path(tmp_path, strict=False)
    (failure,) = registry.errors
    assert "crashed the probe process (signal SIGSEGV) in init" in failure.message
    assert (failure.plugin, failure.modules) == ("boom", ("boommod",))


def test_bad_options_are_load_errors_naming_the_option(tmp_path: Path) -> None:
    cc_wasmedge_plugin(tmp_path / "libwe.so")
    for options, expected in (
        ({"scale": "many"}, "option 'scale' must be a int32, got 'many'"),
        ({"colour": "red"}, "unknown option(s) colour; it takes: greeting, loud, scale"),
    ):
        registry = HostPluginRegistry(options={"wetest": options})
        with pytest.raises(PluginLoadError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            registry.load_from_path(tmp_path)


def test_a_cxx_plugin_is_refused_as_out_of_scope(tmp_path: Path) -> None:
    """WasmEdge's own plug-ins are C++ against its internals: they export
    GetDescriptor and need libwasmedge; the probe says why they cannot load."""
    src = tmp_path / "cxx.c"
    src.write_text("const void *GetDescriptor(void) { return 0; }\n")
    lib = compat_library()
    out = tmp_path / "plugins" / "libwasmedgePluginFake.so"
    out.parent.mkdir()
    cmd = ["cc", "-shared", "-fPIC", "-o", str(out), str(src), "-Wl,--no-as-needed"]
    subprocess.run([*cmd, f"-L{lib.parent}", f"-l:{lib.name}"], check=True, capture_output=True)
    registry = HostPluginRegistry()
    registry.load_from_path(out.parent, strict=False)
    (failure,) = registry.errors
    assert "built in C++ against WasmEdge's internals (it exports GetDescriptor)" in (
        failure.message
    )


def test_the_header_is_under_the_include_dir() -> None:
    assert (include_dir() / "wasmedge" / "wasmedge.h").is_file()


def test_wasmedge_mocks_log_once_per_plugin_and_answer_as_wasmedge() -> None:
    from orchestra.errors import MissingHostPlugin
    from orchestra.hostplugins._wasmedge_mocks import WASMEDGE_MOCKS, mock_function, mock_problem

    logged: list[tuple[str, str]] = []
    tf = mock_function("wasmedge_tensorflow", "run_session", ["/p"], lambda *e: logged.append(e))
    tf2 = mock_function("wasmedge_tensorflow", "clear_input", ["/p"], lambda *e: logged.append(e))
    assert (tf(0), tf(0), tf2(0)) == (1, 1, 1)
    assert logged == [
        (
            "error",
            "WasmEdge-Tensorflow plug-in not installed: host function "
            "wasmedge_tensorflow.run_session is WasmEdge's mock (searched: /p); install the "
            "plug-in on a search path and grant host_modules: [wasmedge_tensorflow]",
        )
    ]
    log = mock_function("wasi:logging/logging", "log", [], lambda *e: logged.append(e))
    with pytest.raises(MissingHostPlugin, match="wasi-logging plug-in not installed"):
        log(0, 0, 0, 0, 0)
    with pytest.raises(MissingHostPlugin, match="wasi-logging plug-in not installed"):
        mock_function("logging", "log", [])(0, 0, 0, 0, 0)  # its older module name
    # nn, five crypto, logging (two names), process, image, tf, tflite, sd
    assert len(WASMEDGE_MOCKS) == 13
    assert len(WASMEDGE_MOCKS["wasmedge_tensorflow"].functions) == 10
    assert len(WASMEDGE_MOCKS["wasmedge_tensorflowlite"].functions) == 7
    assert mock_problem("wasi_ephemeral_nn", "load", ["i32"] * 5, ["i32"]) is None
    assert "has no function 'nope'" in (mock_problem("wasmedge_image", "nope", [], []) or "")


def test_without_a_compiler_the_library_is_a_clear_load_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCHESTRA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CC", "no-such-cc")
    with pytest.raises(PluginLoadError) as info:
        compat_library()
    assert info.value.message == (
        "WasmEdge plug-ins need Orchestra's compatibility library, built once with a C "
        "compiler, and 'no-such-cc' is not on PATH: install one (e.g. gcc or clang), or set CC"
    )


def test_inspect_reports_an_import_wasmedge_would_mock(tmp_path: Path) -> None:
    """``orchestra inspect`` on a module importing a module WasmEdge mocks says so
    (bound: mocked), in its text and its JSON."""
    from orchestra.config import PluginSpec
    from orchestra.inspect import inspect_module, render_report

    src = tmp_path / "nn.wat"
    src.write_text(
        '(module (import "wasi_ephemeral_nn" "load"'
        " (func (param i32 i32 i32 i32 i32) (result i32))))"
    )
    info = inspect_module(PluginSpec(source=str(src)))
    (imp,) = info["imports"]
    assert imp["bound"] == "mocked" and "mocked as WasmEdge does" in imp["detail"]
    assert "mocked as WasmEdge does" in render_report(info)
