// The PDK suite's plug-in in Zig, against Extism's host functions (extism:host/env)
// declared as the Extism Zig PDK does, and WASI files through Zig's std.Io. Built by
// test_extism_pdks.py:
//   python -m ziglang build-exe plugin.zig -target wasm32-wasi -fno-entry -rdynamic -O ReleaseSmall
const std = @import("std");

extern "extism:host/env" fn input_length() u64;
extern "extism:host/env" fn input_load_u8(offset: u64) u8;
extern "extism:host/env" fn alloc(n: u64) u64;
extern "extism:host/env" fn length(h: u64) u64;
extern "extism:host/env" fn load_u8(offset: u64) u8;
extern "extism:host/env" fn store_u8(offset: u64, value: u8) void;
extern "extism:host/env" fn output_set(h: u64, n: u64) void;
extern "extism:host/env" fn error_set(h: u64) void;
extern "extism:host/env" fn config_get(key: u64) u64;
extern "extism:host/env" fn var_get(key: u64) u64;
extern "extism:host/env" fn var_set(key: u64, value: u64) void;
extern "extism:host/env" fn get_log_level() i32;
extern "extism:host/env" fn log_trace(h: u64) void;
extern "extism:host/env" fn log_debug(h: u64) void;
extern "extism:host/env" fn log_info(h: u64) void;
extern "extism:host/env" fn log_warn(h: u64) void;
extern "extism:host/env" fn log_error(h: u64) void;
extern "extism:host/env" fn http_request(req: u64, body: u64) u64;
extern "extism:host/env" fn http_status_code() i32;
extern "extism:host/user" fn reverse(h: u64) u64;

var buf: [65536]u8 = undefined;
var scratch: [65536]u8 = undefined;

fn put(data: []const u8) u64 {
    const h = alloc(data.len);
    for (data, 0..) |c, i| store_u8(h + i, c);
    return h;
}

fn input() []u8 {
    const n: usize = @intCast(@min(input_length(), buf.len));
    for (0..n) |i| buf[i] = input_load_u8(i);
    return buf[0..n];
}

fn get(h: u64, out: []u8) []u8 {
    if (h == 0) return out[0..0];
    const n: usize = @intCast(@min(length(h), out.len));
    for (0..n) |i| out[i] = load_u8(h + i);
    return out[0..n];
}

fn output(data: []const u8) void {
    output_set(put(data), data.len);
}

export fn echo() i32 {
    output(input());
    return 0;
}

export fn greet() i32 {
    const name = input();
    var greeting_buf: [256]u8 = undefined;
    var greeting = get(config_get(put("greeting")), &greeting_buf);
    if (greeting.len == 0) greeting = @constCast("hello");
    const out = std.fmt.bufPrint(&scratch, "{s}, {s}", .{ greeting, name }) catch return 1;
    output(out);
    return 0;
}

export fn count() i32 {
    var value_buf: [32]u8 = undefined;
    const value = get(var_get(put("n")), &value_buf);
    const n = if (value.len == 0) 0 else std.fmt.parseInt(u64, value, 10) catch return 1;
    const next = std.fmt.bufPrint(&value_buf, "{d}", .{n + 1}) catch return 1;
    var_set(put("n"), put(next));
    output(next);
    return 0;
}

export fn tally() i32 {
    // every input this instance has seen, each followed by ';'
    var seen = get(var_get(put("seen")), &scratch);
    const data = input();
    if (seen.len + data.len + 1 > scratch.len) return 1;
    @memcpy(scratch[seen.len..][0..data.len], data);
    scratch[seen.len + data.len] = ';';
    seen = scratch[0 .. seen.len + data.len + 1];
    var_set(put("seen"), put(seen));
    output(seen);
    return 0;
}

export fn logs() i32 {
    const level = get_log_level();
    if (level <= 0) log_trace(put("zig trace line"));
    if (level <= 1) log_debug(put("zig debug line"));
    if (level <= 2) log_info(put("zig info line"));
    if (level <= 3) log_warn(put("zig warn line"));
    if (level <= 4) log_error(put("zig error line"));
    output("logged");
    return 0;
}

export fn fail() i32 {
    const out = std.fmt.bufPrint(&scratch, "failed: {s}", .{input()}) catch return 1;
    error_set(put(out));
    return 1;
}

export fn rc() i32 {
    return 3;
}

export fn quit() i32 {
    // output "bye", then exit with the input's digit (WASI proc_exit)
    const data = input();
    output("bye");
    std.process.exit(if (data.len == 0) 0 else data[0] - '0');
}

export fn http_get() i32 {
    var req_buf: [2048]u8 = undefined;
    const req = std.fmt.bufPrint(&req_buf, "{{\"url\": \"{s}\"}}", .{input()}) catch return 1;
    const body = get(http_request(put(req), 0), &buf);
    const out = std.fmt.bufPrint(&scratch, "{d} {s}", .{ http_status_code(), body }) catch return 1;
    output(out);
    return 0;
}

export fn host_reverse() i32 {
    const out = reverse(put(input()));
    output_set(out, length(out));
    return 0;
}

export fn read_file() i32 {
    // std.Io on WASI: the current directory is the first preopen (here /data)
    const io = std.Io.Threaded.global_single_threaded.io();
    const name = input();
    const data = std.Io.Dir.cwd().readFile(io, name, &scratch) catch {
        const out = std.fmt.bufPrint(&scratch, "cannot open /data/{s}", .{name}) catch return 1;
        error_set(put(out));
        return 1;
    };
    output(data);
    return 0;
}
