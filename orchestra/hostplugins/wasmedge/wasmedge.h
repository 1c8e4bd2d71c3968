/* wasmedge/wasmedge.h -- Orchestra's declaration of the WasmEdge C API, as far
 * as WasmEdge C-API host plug-ins use it.
 *
 * Written for Orchestra from WasmEdge's public documentation and binary
 * interface (the C API reference and the plug-in guide on wasmedge.org, and the
 * layouts a built plug-in depends on); it is not WasmEdge's header. Its purpose:
 * a WasmEdge C-API plug-in's source builds against it unchanged,
 *
 *     cc -shared -fPIC -I"$(orchestra plugins --include-dir)" -o libmine.so mine.c
 *
 * and the resulting library loads in Orchestra's workers, where the functions
 * declared here are served by Orchestra's compatibility library (SONAME
 * libwasmedge.so.0, symbol versions WASMEDGE_0.14 ... WASMEDGE_0.17). See
 * docs/hostplugins.md, "WasmEdge plug-ins", for what is implemented and what is
 * a stub that fails cleanly.
 *
 * Binary layouts that must match WasmEdge's (plug-in API versions 3, 4 and 5):
 *   WasmEdge_String  { uint32_t Length; const char *Buf; }
 *   WasmEdge_Result  { uint32_t Code; }   Code = category << 24 | code (24 bits)
 *   WasmEdge_ValType { uint8_t Data[8]; } (opaque: make it with ValTypeGen*)
 *   WasmEdge_Value   { uint128_t Value; WasmEdge_ValType Type; }  32 bytes, 16-aligned
 *   WasmEdge_PluginDescriptor, WasmEdge_ModuleDescriptor, WasmEdge_ProgramOption
 *   as declared below.
 */

#ifndef WASMEDGE_C_API_H
#define WASMEDGE_C_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifndef WASMEDGE_CAPI_EXPORT
#define WASMEDGE_CAPI_EXPORT __attribute__((visibility("default")))
#endif
#ifndef WASMEDGE_CAPI_NOEXCEPT
#ifdef __cplusplus
#define WASMEDGE_CAPI_NOEXCEPT noexcept
#else
#define WASMEDGE_CAPI_NOEXCEPT
#endif
#endif
#ifndef WASMEDGE_CAPI_PLUGIN_EXPORT
#define WASMEDGE_CAPI_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* The version of the WasmEdge C API these declarations follow. */
#define WASMEDGE_VERSION "0.17.0"
#define WASMEDGE_VERSION_MAJOR 0
#define WASMEDGE_VERSION_MINOR 17
#define WASMEDGE_VERSION_PATCH 0
/* Plug-in API version of a plug-in built against this header (WasmEdge 0.17
 * speaks 5; Orchestra loads 3, 4 and 5): what a descriptor's APIVersion is set to. */
#define WasmEdge_Plugin_CurrentAPIVersion 5

#if !defined(WASMEDGE_NO_INT128)
__extension__ typedef unsigned __int128 uint128_t;
__extension__ typedef __int128 int128_t;
#else
typedef struct uint128_t { uint64_t Low; uint64_t High; } uint128_t;
typedef struct int128_t { uint64_t Low; int64_t High; } int128_t;
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- logging (WasmEdge 0.15 on) ----------------------------------------- */

enum WasmEdge_LogLevel {
  WasmEdge_LogLevel_Trace = 0,
  WasmEdge_LogLevel_Debug,
  WasmEdge_LogLevel_Info,
  WasmEdge_LogLevel_Warn,
  WasmEdge_LogLevel_Error,
  WasmEdge_LogLevel_Critical,
  WasmEdge_LogLevel_Off,
};
typedef enum WasmEdge_LogLevel WasmEdge_LogLevel;

/* ---- plain values ------------------------------------------------------ */

typedef struct WasmEdge_ValType { uint8_t Data[8]; } WasmEdge_ValType;

typedef struct WasmEdge_Value {
  uint128_t Value;        /* the bits of the value, zero-extended */
  WasmEdge_ValType Type;
} WasmEdge_Value;

typedef struct WasmEdge_String { uint32_t Length; const char *Buf; } WasmEdge_String;
typedef struct WasmEdge_Bytes { uint32_t Length; const uint8_t *Buf; } WasmEdge_Bytes;
typedef struct WasmEdge_Result { uint32_t Code; } WasmEdge_Result;

#ifdef __cplusplus
#define WasmEdge_Result_Success (WasmEdge_Result{0x00})
#define WasmEdge_Result_Terminate (WasmEdge_Result{0x01})
#define WasmEdge_Result_Fail (WasmEdge_Result{0x02})
#else
#define WasmEdge_Result_Success ((WasmEdge_Result){.Code = 0x00})
#define WasmEdge_Result_Terminate ((WasmEdge_Result){.Code = 0x01})
#define WasmEdge_Result_Fail ((WasmEdge_Result){.Code = 0x02})
#endif

/* Limits of tables and memories: an opaque context since WasmEdge 0.17 (0.16 and
 * before passed a struct {bool HasMax; bool Shared; uint32_t Min; uint32_t Max;}
 * by value: the compatibility library serves that form under the symbol
 * versions WASMEDGE_0.14 to WASMEDGE_0.16, and to unversioned references). */
typedef struct WasmEdge_LimitContext WasmEdge_LimitContext;

/* Error categories: a result's top 8 bits. */
enum WasmEdge_ErrCategory {
  WasmEdge_ErrCategory_WASM = 0x00,
  WasmEdge_ErrCategory_UserLevelError = 0x01,
};

/* Codes of the WASM category: the general ones and those of the execution phase,
 * which host functions report (WasmEdge defines loading, validation and
 * instantiation codes too, 0x01xx to 0x03xx, not declared here). */
enum WasmEdge_ErrCode {
  WasmEdge_ErrCode_Success = 0x0000,
  WasmEdge_ErrCode_Terminated = 0x0001,
  WasmEdge_ErrCode_RuntimeError = 0x0002,
  WasmEdge_ErrCode_CostLimitExceeded = 0x0003,
  WasmEdge_ErrCode_WrongVMWorkflow = 0x0004,
  WasmEdge_ErrCode_FuncNotFound = 0x0005,
  WasmEdge_ErrCode_AOTDisabled = 0x0006,
  WasmEdge_ErrCode_Interrupted = 0x0007,
  WasmEdge_ErrCode_NotValidated = 0x0008,
  WasmEdge_ErrCode_NonNullRequired = 0x0009,
  WasmEdge_ErrCode_SetValueToConst = 0x000A,
  WasmEdge_ErrCode_SetValueErrorType = 0x000B,
  WasmEdge_ErrCode_UserDefError = 0x000C,
  WasmEdge_ErrCode_WrongInstanceAddress = 0x0400,
  WasmEdge_ErrCode_WrongInstanceIndex = 0x0401,
  WasmEdge_ErrCode_InstrTypeMismatch = 0x0402,
  WasmEdge_ErrCode_FuncSigMismatch = 0x0403,
  WasmEdge_ErrCode_DivideByZero = 0x0404,
  WasmEdge_ErrCode_IntegerOverflow = 0x0405,
  WasmEdge_ErrCode_InvalidConvToInt = 0x0406,
  WasmEdge_ErrCode_TableOutOfBounds = 0x0407,
  WasmEdge_ErrCode_MemoryOutOfBounds = 0x0408,
  WasmEdge_ErrCode_ArrayOutOfBounds = 0x0409,
  WasmEdge_ErrCode_Unreachable = 0x040A,
  WasmEdge_ErrCode_UninitializedElement = 0x040B,
  WasmEdge_ErrCode_UndefinedElement = 0x040C,
  WasmEdge_ErrCode_IndirectCallTypeMismatch = 0x040D,
  WasmEdge_ErrCode_HostFuncError = 0x040E,
  WasmEdge_ErrCode_RefTypeMismatch = 0x040F,
  WasmEdge_ErrCode_UnalignedAtomicAccess = 0x0410,
  WasmEdge_ErrCode_ExpectSharedMemory = 0x0411,
  WasmEdge_ErrCode_CastNullToNonNull = 0x0412,
  WasmEdge_ErrCode_AccessNullFunc = 0x0413,
  WasmEdge_ErrCode_AccessNullStruct = 0x0414,
  WasmEdge_ErrCode_AccessNullArray = 0x0415,
  WasmEdge_ErrCode_AccessNullI31 = 0x0416,
  WasmEdge_ErrCode_AccessNullException = 0x0417,
  WasmEdge_ErrCode_CastFailed = 0x0418,
  WasmEdge_ErrCode_UncaughtException = 0x0419,
};

/* Enumerations that only appear in the signatures of functions Orchestra stubs;
 * their values are not relied upon. */
enum WasmEdge_Proposal {
  WasmEdge_Proposal_ImportExportMutGlobals = 0,
  WasmEdge_Proposal_NonTrapFloatToIntConversions,
  WasmEdge_Proposal_SignExtensionOperators,
  WasmEdge_Proposal_MultiValue,
  WasmEdge_Proposal_BulkMemoryOperations,
  WasmEdge_Proposal_ReferenceTypes,
  WasmEdge_Proposal_SIMD,
  WasmEdge_Proposal_TailCall,
  WasmEdge_Proposal_ExtendedConst,
  WasmEdge_Proposal_FunctionReferences,
  WasmEdge_Proposal_GC,
  WasmEdge_Proposal_MultiMemories,
  WasmEdge_Proposal_Threads,
  WasmEdge_Proposal_RelaxSIMD,
  WasmEdge_Proposal_Annotations,
  WasmEdge_Proposal_Memory64,
  WasmEdge_Proposal_ExceptionHandling,
  WasmEdge_Proposal_Component,
};
enum WasmEdge_HostRegistration { WasmEdge_HostRegistration_Wasi = 0 };
enum WasmEdge_RunMode { WasmEdge_RunMode_Interpreter = 0, WasmEdge_RunMode_JIT, WasmEdge_RunMode_AOT };
enum WasmEdge_Standard { WasmEdge_Standard_WASM_1 = 0, WasmEdge_Standard_WASM_2, WasmEdge_Standard_WASM_3 };
enum WasmEdge_CompilerOptimizationLevel {
  WasmEdge_CompilerOptimizationLevel_O0 = 0,
  WasmEdge_CompilerOptimizationLevel_O1,
  WasmEdge_CompilerOptimizationLevel_O2,
  WasmEdge_CompilerOptimizationLevel_O3,
  WasmEdge_CompilerOptimizationLevel_Os,
  WasmEdge_CompilerOptimizationLevel_Oz,
};
enum WasmEdge_CompilerOutputFormat {
  WasmEdge_CompilerOutputFormat_Native = 0,
  WasmEdge_CompilerOutputFormat_Wasm,
};
enum WasmEdge_Mutability { WasmEdge_Mutability_Const = 0, WasmEdge_Mutability_Var };
enum WasmEdge_ExternalType {
  WasmEdge_ExternalType_Function = 0,
  WasmEdge_ExternalType_Table,
  WasmEdge_ExternalType_Memory,
  WasmEdge_ExternalType_Global,
  WasmEdge_ExternalType_Tag,
};

/* ---- opaque contexts --------------------------------------------------- */

typedef struct WasmEdge_ConfigureContext WasmEdge_ConfigureContext;
typedef struct WasmEdge_StatisticsContext WasmEdge_StatisticsContext;
typedef struct WasmEdge_ASTModuleContext WasmEdge_ASTModuleContext;
typedef struct WasmEdge_FunctionTypeContext WasmEdge_FunctionTypeContext;
typedef struct WasmEdge_MemoryTypeContext WasmEdge_MemoryTypeContext;
typedef struct WasmEdge_TableTypeContext WasmEdge_TableTypeContext;
typedef struct WasmEdge_GlobalTypeContext WasmEdge_GlobalTypeContext;
typedef struct WasmEdge_TagTypeContext WasmEdge_TagTypeContext;
typedef struct WasmEdge_ImportTypeContext WasmEdge_ImportTypeContext;
typedef struct WasmEdge_ExportTypeContext WasmEdge_ExportTypeContext;
typedef struct WasmEdge_CompilerContext WasmEdge_CompilerContext;
typedef struct WasmEdge_LoaderContext WasmEdge_LoaderContext;
typedef struct WasmEdge_ValidatorContext WasmEdge_ValidatorContext;
typedef struct WasmEdge_ExecutorContext WasmEdge_ExecutorContext;
typedef struct WasmEdge_StoreContext WasmEdge_StoreContext;
typedef struct WasmEdge_ModuleInstanceContext WasmEdge_ModuleInstanceContext;
typedef struct WasmEdge_FunctionInstanceContext WasmEdge_FunctionInstanceContext;
typedef struct WasmEdge_TableInstanceContext WasmEdge_TableInstanceContext;
typedef struct WasmEdge_MemoryInstanceContext WasmEdge_MemoryInstanceContext;
typedef struct WasmEdge_GlobalInstanceContext WasmEdge_GlobalInstanceContext;
typedef struct WasmEdge_TagInstanceContext WasmEdge_TagInstanceContext;
typedef struct WasmEdge_CallingFrameContext WasmEdge_CallingFrameContext;
typedef struct WasmEdge_Async WasmEdge_Async;
typedef struct WasmEdge_VMContext WasmEdge_VMContext;
typedef struct WasmEdge_PluginContext WasmEdge_PluginContext;

typedef struct WasmEdge_LogMessage {
  WasmEdge_String Message;
  WasmEdge_String LoggerName;
  WasmEdge_LogLevel Level;
  time_t Time;
  uint64_t ThreadId;
} WasmEdge_LogMessage;
typedef void (*WasmEdge_LogCallback_t)(const WasmEdge_LogMessage *Message);

/* A host function: Params and Returns hold exactly as many values as its
 * function type says. Return WasmEdge_Result_Success, WasmEdge_Result_Terminate
 * (ends the wasm call) or an error (WasmEdge_ResultGen). */
typedef WasmEdge_Result (*WasmEdge_HostFunc_t)(void *Data,
                                               const WasmEdge_CallingFrameContext *CallFrameCxt,
                                               const WasmEdge_Value *Params,
                                               WasmEdge_Value *Returns);
/* The same, for language bindings: This is the Binding given at creation. */
typedef WasmEdge_Result (*WasmEdge_WrapFunc_t)(void *This, void *Data,
                                               const WasmEdge_CallingFrameContext *CallFrameCxt,
                                               const WasmEdge_Value *Params, const uint32_t ParamLen,
                                               WasmEdge_Value *Returns, const uint32_t ReturnLen);

/* ---- plug-in descriptors (what WasmEdge_Plugin_GetDescriptor returns) --- */

typedef enum WasmEdge_ProgramOptionType {
  WasmEdge_ProgramOptionType_None,
  WasmEdge_ProgramOptionType_Toggle,   /* Storage: bool * */
  WasmEdge_ProgramOptionType_Int8,
  WasmEdge_ProgramOptionType_Int16,
  WasmEdge_ProgramOptionType_Int32,
  WasmEdge_ProgramOptionType_Int64,
  WasmEdge_ProgramOptionType_UInt8,
  WasmEdge_ProgramOptionType_UInt16,
  WasmEdge_ProgramOptionType_UInt32,
  WasmEdge_ProgramOptionType_UInt64,
  WasmEdge_ProgramOptionType_Float,
  WasmEdge_ProgramOptionType_Double,
  WasmEdge_ProgramOptionType_String,   /* Storage: WasmEdge_String * */
} WasmEdge_ProgramOptionType;

typedef struct WasmEdge_ProgramOption {
  const char *Name;
  const char *Description;
  WasmEdge_ProgramOptionType Type;
  void *Storage;             /* where the host writes the value given */
  const void *DefaultValue;  /* same type as *Storage, or NULL */
} WasmEdge_ProgramOption;

typedef struct WasmEdge_ModuleDescriptor {
  const char *Name;
  const char *Description;
  WasmEdge_ModuleInstanceContext *(*Create)(const struct WasmEdge_ModuleDescriptor *);
} WasmEdge_ModuleDescriptor;

typedef struct WasmEdge_PluginVersionData {
  uint32_t Major;
  uint32_t Minor;
  uint32_t Patch;
  uint32_t Build;
} WasmEdge_PluginVersionData;

typedef struct WasmEdge_PluginDescriptor {
  const char *Name;
  const char *Description;
  uint32_t APIVersion;
  WasmEdge_PluginVersionData Version;
  uint32_t ModuleCount;
  uint32_t ProgramOptionCount;
  WasmEdge_ModuleDescriptor *ModuleDescriptions;
  WasmEdge_ProgramOption *ProgramOptions;
} WasmEdge_PluginDescriptor;

/* Exported by the plug-in (not by the library). */
WASMEDGE_CAPI_PLUGIN_EXPORT extern const WasmEdge_PluginDescriptor *
WasmEdge_Plugin_GetDescriptor(void);

/* ---- the C API --------------------------------------------------------- */

WASMEDGE_CAPI_EXPORT extern const char *WasmEdge_VersionGet(void);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_VersionGetMajor(void);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_VersionGetMinor(void);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_VersionGetPatch(void);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_LogSetErrorLevel(void);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_LogSetDebugLevel(void);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_LogOff(void);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_LogSetLevel(const enum WasmEdge_LogLevel Level);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_LogSetCallback(WasmEdge_LogCallback_t Callback);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ValType WasmEdge_ValTypeGenI32(void);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ValType WasmEdge_ValTypeGenI64(void);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ValType WasmEdge_ValTypeGenF32(void);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ValType WasmEdge_ValTypeGenF64(void);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ValType WasmEdge_ValTypeGenV128(void);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ValType WasmEdge_ValTypeGenFuncRef(void);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ValType WasmEdge_ValTypeGenExternRef(void);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ValTypeIsEqual(const WasmEdge_ValType ValType1, const WasmEdge_ValType ValType2);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ValTypeIsI32(const WasmEdge_ValType ValType);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ValTypeIsI64(const WasmEdge_ValType ValType);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ValTypeIsF32(const WasmEdge_ValType ValType);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ValTypeIsF64(const WasmEdge_ValType ValType);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ValTypeIsV128(const WasmEdge_ValType ValType);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ValTypeIsFuncRef(const WasmEdge_ValType ValType);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ValTypeIsExternRef(const WasmEdge_ValType ValType);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ValTypeIsRef(const WasmEdge_ValType ValType);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ValTypeIsRefNull(const WasmEdge_ValType ValType);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Value WasmEdge_ValueGenI32(const int32_t Val);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Value WasmEdge_ValueGenI64(const int64_t Val);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Value WasmEdge_ValueGenF32(const float Val);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Value WasmEdge_ValueGenF64(const double Val);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Value WasmEdge_ValueGenV128(const int128_t Val);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Value WasmEdge_ValueGenFuncRef(const WasmEdge_FunctionInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Value WasmEdge_ValueGenExternRef(void *Ref);
WASMEDGE_CAPI_EXPORT extern int32_t WasmEdge_ValueGetI32(const WasmEdge_Value Val);
WASMEDGE_CAPI_EXPORT extern int64_t WasmEdge_ValueGetI64(const WasmEdge_Value Val);
WASMEDGE_CAPI_EXPORT extern float WasmEdge_ValueGetF32(const WasmEdge_Value Val);
WASMEDGE_CAPI_EXPORT extern double WasmEdge_ValueGetF64(const WasmEdge_Value Val);
WASMEDGE_CAPI_EXPORT extern int128_t WasmEdge_ValueGetV128(const WasmEdge_Value Val);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ValueIsNullRef(const WasmEdge_Value Val);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_FunctionInstanceContext *WasmEdge_ValueGetFuncRef(const WasmEdge_Value Val);
WASMEDGE_CAPI_EXPORT extern void *WasmEdge_ValueGetExternRef(const WasmEdge_Value Val);
WASMEDGE_CAPI_EXPORT extern WasmEdge_String WasmEdge_StringCreateByCString(const char *Str);
WASMEDGE_CAPI_EXPORT extern WasmEdge_String WasmEdge_StringCreateByBuffer(const char *Buf, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern WasmEdge_String WasmEdge_StringWrap(const char *Buf, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_StringIsEqual(const WasmEdge_String Str1, const WasmEdge_String Str2);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_StringCopy(const WasmEdge_String Str, char *Buf, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_StringDelete(WasmEdge_String Str);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Bytes WasmEdge_BytesCreate(const uint8_t *Buf, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Bytes WasmEdge_BytesWrap(const uint8_t *Buf, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_BytesDelete(WasmEdge_Bytes Bytes);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ResultOK(const WasmEdge_Result Res);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_ResultGen(const enum WasmEdge_ErrCategory Category, const uint32_t Code);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ResultGetCode(const WasmEdge_Result Res);
WASMEDGE_CAPI_EXPORT extern enum WasmEdge_ErrCategory WasmEdge_ResultGetCategory(const WasmEdge_Result Res);
WASMEDGE_CAPI_EXPORT extern const char *WasmEdge_ResultGetMessage(const WasmEdge_Result Res);
WASMEDGE_CAPI_EXPORT extern WasmEdge_LimitContext *WasmEdge_LimitCreate(const uint64_t Min, const bool Is64Bit);
WASMEDGE_CAPI_EXPORT extern WasmEdge_LimitContext *WasmEdge_LimitCreateWithMax(const uint64_t Min, const uint64_t Max, const bool Is64Bit, const bool IsShared);
WASMEDGE_CAPI_EXPORT extern uint64_t WasmEdge_LimitGetMin(const WasmEdge_LimitContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint64_t WasmEdge_LimitGetMax(const WasmEdge_LimitContext *Cxt);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_LimitHasMax(const WasmEdge_LimitContext *Cxt);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_LimitIsShared(const WasmEdge_LimitContext *Cxt);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_LimitIs64Bit(const WasmEdge_LimitContext *Cxt);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_LimitIsEqual(const WasmEdge_LimitContext *Lim1, const WasmEdge_LimitContext *Lim2);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_LimitDelete(WasmEdge_LimitContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ConfigureContext *WasmEdge_ConfigureCreate(void);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureAddProposal(WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_Proposal Prop);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureRemoveProposal(WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_Proposal Prop);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ConfigureHasProposal(const WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_Proposal Prop);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureAddHostRegistration(WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_HostRegistration Host);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureRemoveHostRegistration(WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_HostRegistration Host);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ConfigureHasHostRegistration(const WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_HostRegistration Host);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureSetMaxMemoryPage(WasmEdge_ConfigureContext *Cxt, const uint32_t Page);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ConfigureGetMaxMemoryPage(const WasmEdge_ConfigureContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureSetForceInterpreter(WasmEdge_ConfigureContext *Cxt, const bool IsForceInterpreter);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ConfigureIsForceInterpreter(const WasmEdge_ConfigureContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureSetRunMode(WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_RunMode Mode);
WASMEDGE_CAPI_EXPORT extern enum WasmEdge_RunMode WasmEdge_ConfigureGetRunMode(const WasmEdge_ConfigureContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureSetWASMStandard(WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_Standard Std);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureSetAllowAFUNIX(WasmEdge_ConfigureContext *Cxt, const bool EnableAFUNIX);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ConfigureIsAllowAFUNIX(const WasmEdge_ConfigureContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureCompilerSetOptimizationLevel(WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_CompilerOptimizationLevel Level);
WASMEDGE_CAPI_EXPORT extern enum WasmEdge_CompilerOptimizationLevel WasmEdge_ConfigureCompilerGetOptimizationLevel(const WasmEdge_ConfigureContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureCompilerSetOutputFormat(WasmEdge_ConfigureContext *Cxt, const enum WasmEdge_CompilerOutputFormat Format);
WASMEDGE_CAPI_EXPORT extern enum WasmEdge_CompilerOutputFormat WasmEdge_ConfigureCompilerGetOutputFormat(const WasmEdge_ConfigureContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureCompilerSetDumpIR(WasmEdge_ConfigureContext *Cxt, const bool IsDump);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ConfigureCompilerIsDumpIR(const WasmEdge_ConfigureContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureCompilerSetGenericBinary(WasmEdge_ConfigureContext *Cxt, const bool IsGeneric);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ConfigureCompilerIsGenericBinary(const WasmEdge_ConfigureContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureCompilerSetInterruptible(WasmEdge_ConfigureContext *Cxt, const bool IsInterruptible);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ConfigureCompilerIsInterruptible(const WasmEdge_ConfigureContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureStatisticsSetInstructionCounting(WasmEdge_ConfigureContext *Cxt, const bool IsCount);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ConfigureStatisticsIsInstructionCounting(const WasmEdge_ConfigureContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureStatisticsSetCostMeasuring(WasmEdge_ConfigureContext *Cxt, const bool IsMeasure);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ConfigureStatisticsIsCostMeasuring(const WasmEdge_ConfigureContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureStatisticsSetTimeMeasuring(WasmEdge_ConfigureContext *Cxt, const bool IsMeasure);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_ConfigureStatisticsIsTimeMeasuring(const WasmEdge_ConfigureContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ConfigureDelete(WasmEdge_ConfigureContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_StatisticsContext *WasmEdge_StatisticsCreate(void);
WASMEDGE_CAPI_EXPORT extern uint64_t WasmEdge_StatisticsGetInstrCount(const WasmEdge_StatisticsContext *Cxt);
WASMEDGE_CAPI_EXPORT extern double WasmEdge_StatisticsGetInstrPerSecond(const WasmEdge_StatisticsContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint64_t WasmEdge_StatisticsGetTotalCost(const WasmEdge_StatisticsContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_StatisticsSetCostTable(WasmEdge_StatisticsContext *Cxt, uint64_t *CostArr, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_StatisticsSetCostLimit(WasmEdge_StatisticsContext *Cxt, const uint64_t Limit);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_StatisticsClear(WasmEdge_StatisticsContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_StatisticsDelete(WasmEdge_StatisticsContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ASTModuleListImportsLength(const WasmEdge_ASTModuleContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ASTModuleListImports(const WasmEdge_ASTModuleContext *Cxt, const WasmEdge_ImportTypeContext **Imports, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ASTModuleListExportsLength(const WasmEdge_ASTModuleContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ASTModuleListExports(const WasmEdge_ASTModuleContext *Cxt, const WasmEdge_ExportTypeContext **Exports, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ASTModuleDelete(WasmEdge_ASTModuleContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_FunctionTypeContext *WasmEdge_FunctionTypeCreate(const WasmEdge_ValType *ParamList, const uint32_t ParamLen, const WasmEdge_ValType *ReturnList, const uint32_t ReturnLen);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_FunctionTypeGetParametersLength(const WasmEdge_FunctionTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_FunctionTypeGetParameters(const WasmEdge_FunctionTypeContext *Cxt, WasmEdge_ValType *List, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_FunctionTypeGetReturnsLength(const WasmEdge_FunctionTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_FunctionTypeGetReturns(const WasmEdge_FunctionTypeContext *Cxt, WasmEdge_ValType *List, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_FunctionTypeDelete(WasmEdge_FunctionTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_TableTypeContext *WasmEdge_TableTypeCreate(const WasmEdge_ValType RefType, const WasmEdge_LimitContext *Limit);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ValType WasmEdge_TableTypeGetRefType(const WasmEdge_TableTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_LimitContext *WasmEdge_TableTypeGetLimit(const WasmEdge_TableTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_TableTypeDelete(WasmEdge_TableTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_MemoryTypeContext *WasmEdge_MemoryTypeCreate(const WasmEdge_LimitContext *Limit);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_LimitContext *WasmEdge_MemoryTypeGetLimit(const WasmEdge_MemoryTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_MemoryTypeDelete(WasmEdge_MemoryTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_GlobalTypeContext *WasmEdge_GlobalTypeCreate(const WasmEdge_ValType ValType, const enum WasmEdge_Mutability Mut);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ValType WasmEdge_GlobalTypeGetValType(const WasmEdge_GlobalTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern enum WasmEdge_Mutability WasmEdge_GlobalTypeGetMutability(const WasmEdge_GlobalTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_GlobalTypeDelete(WasmEdge_GlobalTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_FunctionTypeContext *WasmEdge_TagTypeGetFunctionType(const WasmEdge_TagTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern enum WasmEdge_ExternalType WasmEdge_ImportTypeGetExternalType(const WasmEdge_ImportTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_String WasmEdge_ImportTypeGetModuleName(const WasmEdge_ImportTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_String WasmEdge_ImportTypeGetExternalName(const WasmEdge_ImportTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_FunctionTypeContext *WasmEdge_ImportTypeGetFunctionType(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ImportTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_TableTypeContext *WasmEdge_ImportTypeGetTableType(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ImportTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_MemoryTypeContext *WasmEdge_ImportTypeGetMemoryType(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ImportTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_GlobalTypeContext *WasmEdge_ImportTypeGetGlobalType(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ImportTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_TagTypeContext *WasmEdge_ImportTypeGetTagType(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ImportTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern enum WasmEdge_ExternalType WasmEdge_ExportTypeGetExternalType(const WasmEdge_ExportTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_String WasmEdge_ExportTypeGetExternalName(const WasmEdge_ExportTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_FunctionTypeContext *WasmEdge_ExportTypeGetFunctionType(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ExportTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_TableTypeContext *WasmEdge_ExportTypeGetTableType(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ExportTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_MemoryTypeContext *WasmEdge_ExportTypeGetMemoryType(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ExportTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_GlobalTypeContext *WasmEdge_ExportTypeGetGlobalType(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ExportTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_TagTypeContext *WasmEdge_ExportTypeGetTagType(const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_ExportTypeContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_CompilerContext *WasmEdge_CompilerCreate(const WasmEdge_ConfigureContext *ConfCxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_CompilerCompile(WasmEdge_CompilerContext *Cxt, const char *InPath, const char *OutPath);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_CompilerCompileFromBuffer(WasmEdge_CompilerContext *Cxt, const uint8_t *InBuffer, const uint64_t InBufferLen, const char *OutPath);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_CompilerCompileFromBytes(WasmEdge_CompilerContext *Cxt, const WasmEdge_Bytes Bytes, const char *OutPath);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_CompilerDelete(WasmEdge_CompilerContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_LoaderContext *WasmEdge_LoaderCreate(const WasmEdge_ConfigureContext *ConfCxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_LoaderParseFromFile(WasmEdge_LoaderContext *Cxt, WasmEdge_ASTModuleContext **Module, const char *Path);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_LoaderParseFromBuffer(WasmEdge_LoaderContext *Cxt, WasmEdge_ASTModuleContext **Module, const uint8_t *Buf, const uint32_t BufLen);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_LoaderParseFromBytes(WasmEdge_LoaderContext *Cxt, WasmEdge_ASTModuleContext **Module, const WasmEdge_Bytes Bytes);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_LoaderSerializeASTModule(WasmEdge_LoaderContext *Cxt, const WasmEdge_ASTModuleContext *ASTCxt, WasmEdge_Bytes *Buf);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_LoaderDelete(WasmEdge_LoaderContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ValidatorContext *WasmEdge_ValidatorCreate(const WasmEdge_ConfigureContext *ConfCxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_ValidatorValidate(WasmEdge_ValidatorContext *Cxt, const WasmEdge_ASTModuleContext *ASTCxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ValidatorDelete(WasmEdge_ValidatorContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ExecutorContext *WasmEdge_ExecutorCreate(const WasmEdge_ConfigureContext *ConfCxt, WasmEdge_StatisticsContext *StatCxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_ExecutorInstantiate(WasmEdge_ExecutorContext *Cxt, WasmEdge_ModuleInstanceContext **ModuleCxt, WasmEdge_StoreContext *StoreCxt, const WasmEdge_ASTModuleContext *ASTCxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_ExecutorRegister(WasmEdge_ExecutorContext *Cxt, WasmEdge_ModuleInstanceContext **ModuleCxt, WasmEdge_StoreContext *StoreCxt, const WasmEdge_ASTModuleContext *ASTCxt, WasmEdge_String ModuleName);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_ExecutorRegisterImport(WasmEdge_ExecutorContext *Cxt, WasmEdge_StoreContext *StoreCxt, const WasmEdge_ModuleInstanceContext *ImportCxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_ExecutorRegisterImportWithAlias(WasmEdge_ExecutorContext *Cxt, WasmEdge_StoreContext *StoreCxt, const WasmEdge_ModuleInstanceContext *ImportCxt, const WasmEdge_String AliasName);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_ExecutorInvoke(WasmEdge_ExecutorContext *Cxt, const WasmEdge_FunctionInstanceContext *FuncCxt, const WasmEdge_Value *Params, const uint32_t ParamLen, WasmEdge_Value *Returns, const uint32_t ReturnLen);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Async *WasmEdge_ExecutorAsyncInvoke(WasmEdge_ExecutorContext *Cxt, const WasmEdge_FunctionInstanceContext *FuncCxt, const WasmEdge_Value *Params, const uint32_t ParamLen);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ExecutorDelete(WasmEdge_ExecutorContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_StoreContext *WasmEdge_StoreCreate(void);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_ModuleInstanceContext *WasmEdge_StoreFindModule(const WasmEdge_StoreContext *Cxt, const WasmEdge_String Name);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_StoreListModuleLength(const WasmEdge_StoreContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_StoreListModule(const WasmEdge_StoreContext *Cxt, WasmEdge_String *Names, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_StoreDelete(WasmEdge_StoreContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ModuleInstanceContext *WasmEdge_ModuleInstanceCreate(const WasmEdge_String ModuleName);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ModuleInstanceContext *WasmEdge_ModuleInstanceCreateWithData(const WasmEdge_String ModuleName, void *HostData, void (*Finalizer)(void *));
WASMEDGE_CAPI_EXPORT extern WasmEdge_ModuleInstanceContext *WasmEdge_ModuleInstanceCreateWASI(const char *const *Args, const uint32_t ArgLen, const char *const *Envs, const uint32_t EnvLen, const char *const *Preopens, const uint32_t PreopenLen);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ModuleInstanceContext *WasmEdge_ModuleInstanceCreateWASIWithFds(const char *const *Args, const uint32_t ArgLen, const char *const *Envs, const uint32_t EnvLen, const char *const *Preopens, const uint32_t PreopenLen, const int32_t StdInFd, const int32_t StdOutFd, const int32_t StdErrFd);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ModuleInstanceInitWASI(WasmEdge_ModuleInstanceContext *Cxt, const char *const *Args, const uint32_t ArgLen, const char *const *Envs, const uint32_t EnvLen, const char *const *Preopens, const uint32_t PreopenLen);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ModuleInstanceInitWASIWithFds(WasmEdge_ModuleInstanceContext *Cxt, const char *const *Args, const uint32_t ArgLen, const char *const *Envs, const uint32_t EnvLen, const char *const *Preopens, const uint32_t PreopenLen, const int32_t StdInFd, const int32_t StdOutFd, const int32_t StdErrFd);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ModuleInstanceWASIGetExitCode(const WasmEdge_ModuleInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ModuleInstanceWASIGetNativeHandler(const WasmEdge_ModuleInstanceContext *Cxt, int32_t Fd, uint64_t *NativeHandler);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ModuleInstanceInitWasmEdgeProcess(const char *const *AllowedCmds, const uint32_t CmdsLen, const bool AllowAll);
WASMEDGE_CAPI_EXPORT extern WasmEdge_String WasmEdge_ModuleInstanceGetModuleName(const WasmEdge_ModuleInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void *WasmEdge_ModuleInstanceGetHostData(const WasmEdge_ModuleInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_FunctionInstanceContext *WasmEdge_ModuleInstanceFindFunction(const WasmEdge_ModuleInstanceContext *Cxt, const WasmEdge_String Name);
WASMEDGE_CAPI_EXPORT extern WasmEdge_TableInstanceContext *WasmEdge_ModuleInstanceFindTable(const WasmEdge_ModuleInstanceContext *Cxt, const WasmEdge_String Name);
WASMEDGE_CAPI_EXPORT extern WasmEdge_MemoryInstanceContext *WasmEdge_ModuleInstanceFindMemory(const WasmEdge_ModuleInstanceContext *Cxt, const WasmEdge_String Name);
WASMEDGE_CAPI_EXPORT extern WasmEdge_GlobalInstanceContext *WasmEdge_ModuleInstanceFindGlobal(const WasmEdge_ModuleInstanceContext *Cxt, const WasmEdge_String Name);
WASMEDGE_CAPI_EXPORT extern WasmEdge_TagInstanceContext *WasmEdge_ModuleInstanceFindTag(const WasmEdge_ModuleInstanceContext *Cxt, const WasmEdge_String Name);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ModuleInstanceListFunctionLength(const WasmEdge_ModuleInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ModuleInstanceListFunction(const WasmEdge_ModuleInstanceContext *Cxt, WasmEdge_String *Names, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ModuleInstanceListTableLength(const WasmEdge_ModuleInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ModuleInstanceListTable(const WasmEdge_ModuleInstanceContext *Cxt, WasmEdge_String *Names, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ModuleInstanceListMemoryLength(const WasmEdge_ModuleInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ModuleInstanceListMemory(const WasmEdge_ModuleInstanceContext *Cxt, WasmEdge_String *Names, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ModuleInstanceListGlobalLength(const WasmEdge_ModuleInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ModuleInstanceListGlobal(const WasmEdge_ModuleInstanceContext *Cxt, WasmEdge_String *Names, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ModuleInstanceListTagLength(const WasmEdge_ModuleInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_ModuleInstanceListTag(const WasmEdge_ModuleInstanceContext *Cxt, WasmEdge_String *Names, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ModuleInstanceAddFunction(WasmEdge_ModuleInstanceContext *Cxt, const WasmEdge_String Name, WasmEdge_FunctionInstanceContext *FuncCxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ModuleInstanceAddTable(WasmEdge_ModuleInstanceContext *Cxt, const WasmEdge_String Name, WasmEdge_TableInstanceContext *TableCxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ModuleInstanceAddMemory(WasmEdge_ModuleInstanceContext *Cxt, const WasmEdge_String Name, WasmEdge_MemoryInstanceContext *MemoryCxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ModuleInstanceAddGlobal(WasmEdge_ModuleInstanceContext *Cxt, const WasmEdge_String Name, WasmEdge_GlobalInstanceContext *GlobalCxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ModuleInstanceDelete(WasmEdge_ModuleInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_FunctionInstanceContext *WasmEdge_FunctionInstanceCreate(const WasmEdge_FunctionTypeContext *Type, WasmEdge_HostFunc_t HostFunc, void *Data, const uint64_t Cost);
WASMEDGE_CAPI_EXPORT extern WasmEdge_FunctionInstanceContext *WasmEdge_FunctionInstanceCreateBinding(const WasmEdge_FunctionTypeContext *Type, WasmEdge_WrapFunc_t WrapFunc, void *Binding, void *Data, const uint64_t Cost);
WASMEDGE_CAPI_EXPORT extern const void *WasmEdge_FunctionInstanceGetData(const WasmEdge_FunctionInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_FunctionTypeContext *WasmEdge_FunctionInstanceGetFunctionType(const WasmEdge_FunctionInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_FunctionInstanceDelete(WasmEdge_FunctionInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_TableInstanceContext *WasmEdge_TableInstanceCreate(const WasmEdge_TableTypeContext *TabType);
WASMEDGE_CAPI_EXPORT extern WasmEdge_TableInstanceContext *WasmEdge_TableInstanceCreateWithInit(const WasmEdge_TableTypeContext *TabType, const WasmEdge_Value Value);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_TableTypeContext *WasmEdge_TableInstanceGetTableType(const WasmEdge_TableInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_TableInstanceGetData(const WasmEdge_TableInstanceContext *Cxt, WasmEdge_Value *Data, const uint32_t Offset);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_TableInstanceSetData(WasmEdge_TableInstanceContext *Cxt, WasmEdge_Value Data, const uint32_t Offset);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_TableInstanceGetSize(const WasmEdge_TableInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_TableInstanceGrow(WasmEdge_TableInstanceContext *Cxt, const uint32_t Size);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_TableInstanceDelete(WasmEdge_TableInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_MemoryInstanceContext *WasmEdge_MemoryInstanceCreate(const WasmEdge_MemoryTypeContext *MemType);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_MemoryTypeContext *WasmEdge_MemoryInstanceGetMemoryType(const WasmEdge_MemoryInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_MemoryInstanceGetData(const WasmEdge_MemoryInstanceContext *Cxt, uint8_t *Data, const uint32_t Offset, const uint32_t Length);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_MemoryInstanceSetData(WasmEdge_MemoryInstanceContext *Cxt, const uint8_t *Data, const uint32_t Offset, const uint32_t Length);
WASMEDGE_CAPI_EXPORT extern uint8_t *WasmEdge_MemoryInstanceGetPointer(WasmEdge_MemoryInstanceContext *Cxt, const uint32_t Offset, const uint32_t Length);
WASMEDGE_CAPI_EXPORT extern const uint8_t *WasmEdge_MemoryInstanceGetPointerConst(const WasmEdge_MemoryInstanceContext *Cxt, const uint32_t Offset, const uint32_t Length);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_MemoryInstanceGetPageSize(const WasmEdge_MemoryInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_MemoryInstanceGrowPage(WasmEdge_MemoryInstanceContext *Cxt, const uint32_t Page);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_MemoryInstanceDelete(WasmEdge_MemoryInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_GlobalInstanceContext *WasmEdge_GlobalInstanceCreate(const WasmEdge_GlobalTypeContext *GlobType, const WasmEdge_Value Value);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_GlobalTypeContext *WasmEdge_GlobalInstanceGetGlobalType(const WasmEdge_GlobalInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Value WasmEdge_GlobalInstanceGetValue(const WasmEdge_GlobalInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_GlobalInstanceSetValue(WasmEdge_GlobalInstanceContext *Cxt, const WasmEdge_Value Value);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_GlobalInstanceDelete(WasmEdge_GlobalInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_TagTypeContext *WasmEdge_TagInstanceGetTagType(const WasmEdge_TagInstanceContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ExecutorContext *WasmEdge_CallingFrameGetExecutor(const WasmEdge_CallingFrameContext *Cxt);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_ModuleInstanceContext *WasmEdge_CallingFrameGetModuleInstance(const WasmEdge_CallingFrameContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_MemoryInstanceContext *WasmEdge_CallingFrameGetMemoryInstance(const WasmEdge_CallingFrameContext *Cxt, const uint32_t Idx);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_AsyncWait(const WasmEdge_Async *Cxt);
WASMEDGE_CAPI_EXPORT extern bool WasmEdge_AsyncWaitFor(const WasmEdge_Async *Cxt, uint64_t Milliseconds);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_AsyncCancel(WasmEdge_Async *Cxt);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_AsyncGetReturnsLength(const WasmEdge_Async *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_AsyncGet(const WasmEdge_Async *Cxt, WasmEdge_Value *Returns, const uint32_t ReturnLen);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_AsyncDelete(WasmEdge_Async *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_VMContext *WasmEdge_VMCreate(const WasmEdge_ConfigureContext *ConfCxt, WasmEdge_StoreContext *StoreCxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMRegisterModuleFromFile(WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName, const char *Path);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMRegisterModuleFromBuffer(WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName, const uint8_t *Buf, const uint32_t BufLen);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMRegisterModuleFromBytes(WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName, const WasmEdge_Bytes Bytes);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMRegisterModuleFromASTModule(WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName, const WasmEdge_ASTModuleContext *ASTCxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMRegisterModuleFromImport(WasmEdge_VMContext *Cxt, const WasmEdge_ModuleInstanceContext *ImportCxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMRegisterModuleFromImportWithAlias(WasmEdge_VMContext *Cxt, const WasmEdge_String AliasName, const WasmEdge_ModuleInstanceContext *ImportCxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMRunWasmFromFile(WasmEdge_VMContext *Cxt, const char *Path, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen, WasmEdge_Value *Returns, const uint32_t ReturnLen);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMRunWasmFromBuffer(WasmEdge_VMContext *Cxt, const uint8_t *Buf, const uint32_t BufLen, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen, WasmEdge_Value *Returns, const uint32_t ReturnLen);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMRunWasmFromBytes(WasmEdge_VMContext *Cxt, const WasmEdge_Bytes Bytes, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen, WasmEdge_Value *Returns, const uint32_t ReturnLen);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMRunWasmFromASTModule(WasmEdge_VMContext *Cxt, const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen, WasmEdge_Value *Returns, const uint32_t ReturnLen);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Async *WasmEdge_VMAsyncRunWasmFromFile(WasmEdge_VMContext *Cxt, const char *Path, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Async *WasmEdge_VMAsyncRunWasmFromBuffer(WasmEdge_VMContext *Cxt, const uint8_t *Buf, const uint32_t BufLen, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Async *WasmEdge_VMAsyncRunWasmFromBytes(WasmEdge_VMContext *Cxt, const WasmEdge_Bytes Bytes, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Async *WasmEdge_VMAsyncRunWasmFromASTModule(WasmEdge_VMContext *Cxt, const WasmEdge_ASTModuleContext *ASTCxt, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMLoadWasmFromFile(WasmEdge_VMContext *Cxt, const char *Path);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMLoadWasmFromBuffer(WasmEdge_VMContext *Cxt, const uint8_t *Buf, const uint32_t BufLen);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMLoadWasmFromBytes(WasmEdge_VMContext *Cxt, const WasmEdge_Bytes Bytes);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMLoadWasmFromASTModule(WasmEdge_VMContext *Cxt, const WasmEdge_ASTModuleContext *ASTCxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMValidate(WasmEdge_VMContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMInstantiate(WasmEdge_VMContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMExecute(WasmEdge_VMContext *Cxt, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen, WasmEdge_Value *Returns, const uint32_t ReturnLen);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMExecuteRegistered(WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen, WasmEdge_Value *Returns, const uint32_t ReturnLen);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Async *WasmEdge_VMAsyncExecute(WasmEdge_VMContext *Cxt, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Async *WasmEdge_VMAsyncExecuteRegistered(WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName, const WasmEdge_String FuncName, const WasmEdge_Value *Params, const uint32_t ParamLen);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_FunctionTypeContext *WasmEdge_VMGetFunctionType(const WasmEdge_VMContext *Cxt, const WasmEdge_String FuncName);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_FunctionTypeContext *WasmEdge_VMGetFunctionTypeRegistered(const WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName, const WasmEdge_String FuncName);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_VMCleanup(WasmEdge_VMContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_Result WasmEdge_VMForceDeleteRegisteredModule(const WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_VMGetFunctionListLength(const WasmEdge_VMContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_VMGetFunctionList(const WasmEdge_VMContext *Cxt, WasmEdge_String *Names, const WasmEdge_FunctionTypeContext **FuncTypes, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ModuleInstanceContext *WasmEdge_VMGetImportModuleContext(const WasmEdge_VMContext *Cxt, const enum WasmEdge_HostRegistration Reg);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_ModuleInstanceContext *WasmEdge_VMGetActiveModule(const WasmEdge_VMContext *Cxt);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_ModuleInstanceContext *WasmEdge_VMGetRegisteredModule(const WasmEdge_VMContext *Cxt, const WasmEdge_String ModuleName);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_VMListRegisteredModuleLength(const WasmEdge_VMContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_VMListRegisteredModule(const WasmEdge_VMContext *Cxt, WasmEdge_String *Names, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern WasmEdge_StoreContext *WasmEdge_VMGetStoreContext(WasmEdge_VMContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_LoaderContext *WasmEdge_VMGetLoaderContext(WasmEdge_VMContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ValidatorContext *WasmEdge_VMGetValidatorContext(WasmEdge_VMContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ExecutorContext *WasmEdge_VMGetExecutorContext(WasmEdge_VMContext *Cxt);
WASMEDGE_CAPI_EXPORT extern WasmEdge_StatisticsContext *WasmEdge_VMGetStatisticsContext(WasmEdge_VMContext *Cxt);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_VMDelete(WasmEdge_VMContext *Cxt);
WASMEDGE_CAPI_EXPORT extern int WasmEdge_Driver_Compiler(int Argc, const char *Argv[]);
WASMEDGE_CAPI_EXPORT extern int WasmEdge_Driver_Tool(int Argc, const char *Argv[]);
WASMEDGE_CAPI_EXPORT extern int WasmEdge_Driver_UniTool(int Argc, const char *Argv[]);
WASMEDGE_CAPI_EXPORT extern int WasmEdge_Driver_WasiNNRPCServer(int Argc, const char *Argv[]);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_PluginLoadWithDefaultPaths(void);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_PluginLoadFromPath(const char *Path);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_PluginListPluginsLength(void);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_PluginListPlugins(WasmEdge_String *Names, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern const WasmEdge_PluginContext *WasmEdge_PluginFind(const WasmEdge_String Name);
WASMEDGE_CAPI_EXPORT extern WasmEdge_String WasmEdge_PluginGetPluginName(const WasmEdge_PluginContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_PluginListModuleLength(const WasmEdge_PluginContext *Cxt);
WASMEDGE_CAPI_EXPORT extern uint32_t WasmEdge_PluginListModule(const WasmEdge_PluginContext *Cxt, WasmEdge_String *Names, const uint32_t Len);
WASMEDGE_CAPI_EXPORT extern WasmEdge_ModuleInstanceContext *WasmEdge_PluginCreateModule(const WasmEdge_PluginContext *Cxt, const WasmEdge_String ModuleName);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_PluginInitWASINN(const char *const *NNPreloads, const uint32_t PreloadsLen);
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ExecutorExperimentalRegisterPreHostFunction(WasmEdge_ExecutorContext *Cxt, void *Data, void (*Func)(void *));
WASMEDGE_CAPI_EXPORT extern void WasmEdge_ExecutorExperimentalRegisterPostHostFunction(WasmEdge_ExecutorContext *Cxt, void *Data, void (*Func)(void *));

#ifdef __cplusplus
}
#endif

#endif /* WASMEDGE_C_API_H */
