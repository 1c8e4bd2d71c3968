// The PDK suite's plug-in in Rust (std, wasm32-wasi), against Extism's host functions
// declared as the Extism Rust PDK's bindings declare them (the extism-pdk crate is not
// on a registry these machines reach). Built by test_extism_pdks.py with Debian's
// rustc and its wasm32 std (apt: rustc libstd-rust-dev-wasm32 lld):
//   rustc --target wasm32-wasi --crate-type cdylib -C opt-level=s -C strip=symbols plugin.rs
use std::fs;

type Handle = u64;

#[link(wasm_import_module = "extism:host/env")]
extern "C" {
    fn input_length() -> u64;
    fn input_load_u8(offset: u64) -> u8;
    fn alloc(n: u64) -> Handle;
    fn length(h: Handle) -> u64;
    fn load_u8(offset: u64) -> u8;
    fn store_u8(offset: u64, value: u8);
    fn output_set(h: Handle, n: u64);
    fn error_set(h: Handle);
    fn config_get(key: Handle) -> Handle;
    fn var_get(key: Handle) -> Handle;
    fn var_set(key: Handle, value: Handle);
    fn get_log_level() -> i32;
    fn log_trace(h: Handle);
    fn log_debug(h: Handle);
    fn log_info(h: Handle);
    fn log_warn(h: Handle);
    fn log_error(h: Handle);
    fn http_request(req: Handle, body: Handle) -> Handle;
    fn http_status_code() -> i32;
}

#[link(wasm_import_module = "extism:host/user")]
extern "C" {
    fn reverse(h: Handle) -> Handle;
}

fn put(data: &[u8]) -> Handle {
    unsafe {
        let h = alloc(data.len() as u64);
        for (i, c) in data.iter().enumerate() {
            store_u8(h + i as u64, *c);
        }
        h
    }
}

fn input() -> Vec<u8> {
    unsafe { (0..input_length()).map(|i| input_load_u8(i)).collect() }
}

fn get(h: Handle) -> Vec<u8> {
    if h == 0 {
        return Vec::new();
    }
    unsafe { (0..length(h)).map(|i| load_u8(h + i)).collect() }
}

fn output(data: &[u8]) {
    unsafe { output_set(put(data), data.len() as u64) }
}

fn fail_with(message: &str) -> i32 {
    unsafe { error_set(put(message.as_bytes())) };
    1
}

#[no_mangle]
pub extern "C" fn echo() -> i32 {
    output(&input());
    0
}

#[no_mangle]
pub extern "C" fn greet() -> i32 {
    let mut greeting = get(unsafe { config_get(put(b"greeting")) });
    if greeting.is_empty() {
        greeting = b"hello".to_vec();
    }
    greeting.extend_from_slice(b", ");
    greeting.extend_from_slice(&input());
    output(&greeting);
    0
}

#[no_mangle]
pub extern "C" fn count() -> i32 {
    let value = get(unsafe { var_get(put(b"n")) });
    let n: u64 = String::from_utf8_lossy(&value).parse().unwrap_or(0);
    let next = (n + 1).to_string();
    unsafe { var_set(put(b"n"), put(next.as_bytes())) };
    output(next.as_bytes());
    0
}

#[no_mangle]
pub extern "C" fn tally() -> i32 {
    let mut seen = get(unsafe { var_get(put(b"seen")) });
    seen.extend_from_slice(&input());
    seen.push(b';');
    unsafe { var_set(put(b"seen"), put(&seen)) };
    output(&seen);
    0
}

#[no_mangle]
pub extern "C" fn logs() -> i32 {
    let level = unsafe { get_log_level() };
    unsafe {
        if level <= 0 {
            log_trace(put(b"rust trace line"));
        }
        if level <= 1 {
            log_debug(put(b"rust debug line"));
        }
        if level <= 2 {
            log_info(put(b"rust info line"));
        }
        if level <= 3 {
            log_warn(put(b"rust warn line"));
        }
        if level <= 4 {
            log_error(put(b"rust error line"));
        }
    }
    output(b"logged");
    0
}

#[no_mangle]
pub extern "C" fn fail() -> i32 {
    fail_with(&format!("failed: {}", String::from_utf8_lossy(&input())))
}

#[no_mangle]
pub extern "C" fn rc() -> i32 {
    3
}

#[no_mangle]
pub extern "C" fn quit() -> i32 {
    // output "bye", then exit with the input's digit (WASI proc_exit)
    let data = input();
    output(b"bye");
    std::process::exit(data.first().map_or(0, |c| (*c - b'0') as i32));
}

#[no_mangle]
pub extern "C" fn http_get() -> i32 {
    let url = String::from_utf8_lossy(&input()).into_owned();
    let req = format!("{{\"url\": \"{}\"}}", url);
    let body = get(unsafe { http_request(put(req.as_bytes()), 0) });
    let mut out = format!("{} ", unsafe { http_status_code() }).into_bytes();
    out.extend_from_slice(&body);
    output(&out);
    0
}

#[no_mangle]
pub extern "C" fn host_reverse() -> i32 {
    unsafe {
        let out = reverse(put(&input()));
        output_set(out, length(out));
    }
    0
}

#[no_mangle]
pub extern "C" fn read_file() -> i32 {
    // std::fs through WASI: the path resolves against the preopened /data
    let name = String::from_utf8_lossy(&input()).into_owned();
    match fs::read(format!("/data/{}", name)) {
        Ok(data) => {
            output(&data);
            0
        }
        Err(_) => fail_with(&format!("cannot open /data/{}", name)),
    }
}
