// The PDK suite's plug-in in AssemblyScript, with the Extism AssemblyScript PDK
// (@extism/as-pdk from npm). Built by test_extism_pdks.py:
//   asc plugin.ts --outFile plugin.wasm --use abort=plugin/myAbort -O
import { Config, Host, LogLevel, Memory, Var } from "@extism/as-pdk";
import { error_set, http_request, length, output_set } from "@extism/as-pdk/lib/env";

// Not in this version of the PDK: declared here, as the later PDKs do.
@external("extism:host/env", "http_status_code")
declare function http_status_code(): i32;
@external("extism:host/env", "log_trace")
declare function log_trace(message: u64): void;
@external("extism:host/env", "get_log_level")
declare function get_log_level(): i32;

@external("extism:host/user", "reverse")
declare function reverse(data: u64): u64;

// WASI glue (the AssemblyScript PDK has none): the preview1 calls a file read needs.
@external("wasi_snapshot_preview1", "fd_prestat_get")
declare function fd_prestat_get(fd: u32, prestat: usize): u16;
@external("wasi_snapshot_preview1", "fd_prestat_dir_name")
declare function fd_prestat_dir_name(fd: u32, path: usize, len: usize): u16;
@external("wasi_snapshot_preview1", "path_open")
declare function path_open(
  dirfd: u32, dirflags: u32, path: usize, pathLen: usize, oflags: u16,
  rightsBase: u64, rightsInheriting: u64, fdflags: u16, opened: usize
): u16;
@external("wasi_snapshot_preview1", "fd_read")
declare function fd_read(fd: u32, iovs: usize, iovsLen: usize, nread: usize): u16;
@external("wasi_snapshot_preview1", "fd_close")
declare function fd_close(fd: u32): u16;
@external("wasi_snapshot_preview1", "proc_exit")
declare function proc_exit(code: u32): void;

const RIGHT_FD_READ: u64 = 2;

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

export function tally(): i32 {
  // every input this instance has seen, each followed by ';'
  const seen = Var.getString("seen");
  const next = (seen == null ? "" : seen) + Host.inputString() + ";";
  Var.set("seen", Uint8Array.wrap(String.UTF8.encode(next)));
  Host.outputString(next);
  return 0;
}

export function logs(): i32 {
  // this PDK has no trace level (declared above) and no get_log_level check of its
  // own; the host filters the other levels
  if (get_log_level() <= 0) log_trace(Memory.allocateString("as trace line").offset);
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

export function quit(): i32 {
  // output "bye", then exit with the input's digit (WASI proc_exit)
  const data = Host.input();
  Host.outputString("bye");
  proc_exit(data.length == 0 ? 0 : <u32>(data[0] - 48));
  return 0;
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

// The preopened directory named `dir`, as wasi-libc finds it: fds from 3 up until
// fd_prestat_get fails. -1 if none.
function preopen(dir: string): i32 {
  const prestat = new ArrayBuffer(8);
  for (let fd: u32 = 3; fd < 64; fd++) {
    if (fd_prestat_get(fd, changetype<usize>(prestat)) != 0) break;
    const len = load<u32>(changetype<usize>(prestat), 4);
    const name = new ArrayBuffer(len);
    fd_prestat_dir_name(fd, changetype<usize>(name), len);
    if (String.UTF8.decode(name) == dir) return <i32>fd;
  }
  return -1;
}

function readFile(dir: string, name: string): Uint8Array | null {
  const at = preopen(dir);
  if (at < 0) return null;
  const path = String.UTF8.encode(name);
  const fdOut = new ArrayBuffer(4);
  const rc = path_open(
    <u32>at, 0, changetype<usize>(path), path.byteLength, 0, RIGHT_FD_READ, 0, 0,
    changetype<usize>(fdOut)
  );
  if (rc != 0) return null;
  const fd = load<u32>(changetype<usize>(fdOut));
  const chunk = new Uint8Array(65536);
  const iov = new ArrayBuffer(8);
  const nread = new ArrayBuffer(4);
  let data = new Uint8Array(0);
  while (true) {
    store<u32>(changetype<usize>(iov), chunk.dataStart);
    store<u32>(changetype<usize>(iov), <u32>chunk.length, 4);
    if (fd_read(fd, changetype<usize>(iov), 1, changetype<usize>(nread)) != 0) break;
    const n = load<u32>(changetype<usize>(nread));
    if (n == 0) break;
    const grown = new Uint8Array(data.length + n);
    grown.set(data);
    grown.set(chunk.subarray(0, n), data.length);
    data = grown;
  }
  fd_close(fd);
  return data;
}

export function read_file(): i32 {
  // input: a path under /data, the guest path of a WASI allowed path
  const name = Host.inputString();
  const data = readFile("/data", name);
  if (data == null) {
    error_set(Memory.allocateString("cannot open /data/" + name).offset);
    return 1;
  }
  Host.output(data);
  return 0;
}
