// The PDK suite's plug-in in AssemblyScript, with the Extism AssemblyScript PDK
// (@extism/as-pdk from npm). Built by test_extism_pdks.py:
//   asc plugin.ts --outFile plugin.wasm --use abort=plugin/myAbort -O
import { Config, Host, LogLevel, Memory, Var } from "@extism/as-pdk";
import { error_set, http_request, length, output_set } from "@extism/as-pdk/lib/env";

// Not in this version of the PDK: declared here, as the later PDKs do.
@external("extism:host/env", "http_status_code")
declare function http_status_code(): i32;

@external("extism:host/user", "reverse")
declare function reverse(data: u64): u64;

function myAbort(
  message: string | null,
  fileName: string | null,
  lineNumber: u32,
  columnNumber: u32
): void {}

export function echo(): i32 {
  Host.output(Host.input());
  return 0;
}

export function greet(): i32 {
  const greeting = Config.get("greeting");
  Host.outputString((greeting == null ? "hello" : greeting) + ", " + Host.inputString());
  return 0;
}

export function count(): i32 {
  const value = Var.getString("n");
  const n = value == null ? 0 : I64.parseInt(value);
  const next = (n + 1).toString();
  Var.set("n", Uint8Array.wrap(String.UTF8.encode(next)));
  Host.outputString(next);
  return 0;
}

export function logs(): i32 {
  // this PDK has no trace level and no get_log_level check of its own
  Host.log(LogLevel.Debug, "as debug line");
  Host.log(LogLevel.Info, "as info line");
  Host.log(LogLevel.Warn, "as warn line");
  Host.log(LogLevel.Error, "as error line");
  Host.outputString("logged");
  return 0;
}

export function fail(): i32 {
  error_set(Memory.allocateString("failed: " + Host.inputString()).offset);
  return 1;
}

export function rc(): i32 {
  return 3;
}

export function http_get(): i32 {
  // this PDK version has no Http class: the request JSON by hand
  const req = Memory.allocateString('{"url": "' + Host.inputString() + '"}');
  const res = http_request(req.offset, 0);
  const body = res == 0 ? "" : new Memory(res, length(res)).toString();
  Host.outputString(http_status_code().toString() + " " + body);
  return 0;
}

export function host_reverse(): i32 {
  const out = reverse(Memory.allocateBytes(Host.input()).offset);
  output_set(out, length(out));
  return 0;
}
