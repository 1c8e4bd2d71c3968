"""Tiny WAT plug-ins, as source text, for tests of the runtime.

Each constant is a complete WebAssembly text module; assemble it with
``wasmtime.wat2wasm`` (or hand the text to anything that accepts WAT).
Their ABIs (see README.md, "Calling conventions (ABIs)"):

* ``core``: ADD, TRAP, LOOP, SLOW, GROW, COUNTER
* ``wasi-command``: ECHO_WASI, EXIT_CODE
"""

from __future__ import annotations

#: core: ``add(i32, i32) -> i32``, the wrapping sum.
ADD = """\
(module
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
"""

#: wasi-command: copies stdin to stdout, 64 KiB at a time; exits 1 on an
#: I/O error.
ECHO_WASI = """\
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit"
    (func $proc_exit (param i32)))
  ;; 0..7 iovec, 8..11 byte count, 1024..66559 buffer
  (memory (export "memory") 2)
  (func (export "_start")
    (local $ptr i32) (local $left i32)
    (loop $read
      (i32.store (i32.const 0) (i32.const 1024))
      (i32.store (i32.const 4) (i32.const 65536))
      (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
        (then (call $proc_exit (i32.const 1)) (unreachable)))
      (local.set $left (i32.load (i32.const 8)))
      (if (local.get $left)   ;; zero bytes read: end of input
        (then
          (local.set $ptr (i32.const 1024))
          (loop $write
            (i32.store (i32.const 0) (local.get $ptr))
            (i32.store (i32.const 4) (local.get $left))
            (if (i32.or
                  (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
                  (i32.eqz (i32.load (i32.const 8))))
              (then (call $proc_exit (i32.const 1)) (unreachable)))
            (local.set $ptr (i32.add (local.get $ptr) (i32.load (i32.const 8))))
            (local.set $left (i32.sub (local.get $left) (i32.load (i32.const 8))))
            (br_if $write (local.get $left)))
          (br $read)))))
)
"""

#: core: ``boom() -> ()`` traps (``unreachable``); ``ok() -> i32`` returns 7,
#: to show an instance still works (or is replaced) after a trap.
TRAP = """\
(module
  (func (export "boom") unreachable)
  (func (export "ok") (result i32) (i32.const 7)))
"""

#: core: ``spin() -> ()`` never returns; for timeouts and cancellation.
LOOP = """\
(module
  (func (export "spin")
    (loop $forever (br $forever))))
"""

#: core: ``work(n: i32) -> i32`` busy-loops n * 1000 times, then returns n.
SLOW = """\
(module
  (func (export "work") (param $n i32) (result i32)
    (local $i i32)
    (local.set $i (i32.mul (local.get $n) (i32.const 1000)))
    (block $done
      (loop $busy
        (br_if $done (i32.le_s (local.get $i) (i32.const 0)))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $busy)))
    (local.get $n)))
"""

#: core: ``grow(pages: i32) -> i32`` runs ``memory.grow`` and returns its
#: result: the old size in pages, or -1 if the memory could not grow (e.g.
#: over a memory limit). Memory starts at one page and declares no maximum.
GROW = """\
(module
  (memory (export "memory") 1)
  (func (export "grow") (param $pages i32) (result i32)
    (memory.grow (local.get $pages))))
"""

#: wasi-command: writes ``bad`` to stdout, then exits with code 3.
EXIT_CODE = """\
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit"
    (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "bad")
  (func (export "_start")
    ;; iovec {buf = 16, len = 3} at 0; bytes written at 8
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $proc_exit (i32.const 3))
    unreachable))
"""

#: core: ``incr() -> i32`` adds one to a mutable global and returns it
#: (1, 2, 3, ...), to show that instance state persists between calls.
COUNTER = """\
(module
  (global $count (mut i32) (i32.const 0))
  (func (export "incr") (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.get $count)))
"""

#: extism: ``upper`` (input uppercased, logged at info), ``fail`` (error_set "boom",
#: returns 1), ``rc`` (returns 7 with no error), ``spin`` (loops forever) and
#: ``reverse_via_host`` (passes the input block to the host function
#: ``extism:host/user.reverse`` and outputs the block it returns).
EXTISM_KITCHEN = """\
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_offset" (func $input_offset (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "extism:host/env" "log_info" (func $log_info (param i64)))
  (import "extism:host/user" "reverse" (func $reverse (param i64) (result i64)))
  (func (export "upper") (result i32)
    (local $n i64) (local $i i64) (local $out i64) (local $c i32)
    (local.set $n (call $input_length))
    (local.set $out (call $alloc (local.get $n)))
    (block $done (loop $l
      (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
      (local.set $c (call $input_load_u8 (local.get $i)))
      (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
        (then (local.set $c (i32.sub (local.get $c) (i32.const 32)))))
      (call $store_u8 (i64.add (local.get $out) (local.get $i)) (local.get $c))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $l)))
    (call $log_info (local.get $out))
    (call $output_set (local.get $out) (local.get $n))
    (i32.const 0))
  (func (export "fail") (result i32)
    (local $h i64)
    (local.set $h (call $alloc (i64.const 4)))
    (call $store_u8 (local.get $h) (i32.const 98))
    (call $store_u8 (i64.add (local.get $h) (i64.const 1)) (i32.const 111))
    (call $store_u8 (i64.add (local.get $h) (i64.const 2)) (i32.const 111))
    (call $store_u8 (i64.add (local.get $h) (i64.const 3)) (i32.const 109))
    (call $error_set (local.get $h))
    (i32.const 1))
  (func (export "rc") (result i32) (i32.const 7))
  (func (export "spin") (result i32) (loop $l (br $l)) (i32.const 0))
  (func (export "reverse_via_host") (result i32)
    (local $r i64)
    (local.set $r (call $reverse (call $input_offset)))
    (call $output_set (local.get $r) (call $length (local.get $r)))
    (i32.const 0)))
"""

#: extism, for routed imports: ``run`` (the output of the import
#: ``extism:host/user.next`` called with the input block), ``echo`` (the input) and
#: ``shout`` (the input with a ``!`` appended).
FORWARD = """(module
  (import "extism:host/env" "input_offset" (func $in (result i64)))
  (import "extism:host/env" "input_length" (func $inlen (result i64)))
  (import "extism:host/env" "length" (func $len (param i64) (result i64)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "load_u8" (func $load (param i64) (result i32)))
  (import "extism:host/env" "store_u8" (func $store (param i64 i32)))
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  (import "extism:host/user" "next" (func $next (param i64) (result i64)))
  (func (export "run") (result i32) (local $r i64)
    (local.set $r (call $next (call $in)))
    (call $out (local.get $r) (call $len (local.get $r)))
    (i32.const 0))
  (func (export "echo") (result i32)
    (call $out (call $in) (call $inlen))
    (i32.const 0))
  (func (export "shout") (result i32) (local $n i64) (local $h i64) (local $i i64)
    (local.set $n (call $inlen))
    (local.set $h (call $alloc (i64.add (local.get $n) (i64.const 1))))
    (block $d (loop $l
      (br_if $d (i64.ge_u (local.get $i) (local.get $n)))
      (call $store (i64.add (local.get $h) (local.get $i))
                   (call $load (i64.add (call $in) (local.get $i))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $l)))
    (call $store (i64.add (local.get $h) (local.get $n)) (i32.const 33))
    (call $out (local.get $h) (i64.add (local.get $n) (i64.const 1)))
    (i32.const 0)))"""

#: extism, for inputs read in place from the worker's input ring: ``where``
#: (24 bytes: input_offset, length and length_unsafe of that handle, as u64 LE),
#: ``copy_loads`` / ``copy_input_loads`` (the input copied with load_u64/load_u8
#: from input_offset, or with input_load_u64/u8), ``echo`` (output_set on the input
#: handle itself), ``scribble`` (stores "XY" over the input's first two bytes with
#: store_u8, then echoes it), ``stash`` (var_set "k" to the input handle) and
#: ``unstash`` (outputs var "k"), ``beyond`` (8 bytes: load_u64 just past the
#: input's end), ``scribble_around`` (store_u8 just before and just after the input,
#: store_u64 over its last 4 bytes and 4 past them; outputs nothing), ``past`` (an
#: output of 16 bytes right after the input's end), ``trap`` (unreachable).
RING_PROBE = """(module
  (import "extism:host/env" "input_offset" (func $in (result i64)))
  (import "extism:host/env" "input_length" (func $inlen (result i64)))
  (import "extism:host/env" "input_load_u8" (func $iload8 (param i64) (result i32)))
  (import "extism:host/env" "input_load_u64" (func $iload64 (param i64) (result i64)))
  (import "extism:host/env" "length" (func $len (param i64) (result i64)))
  (import "extism:host/env" "length_unsafe" (func $lenu (param i64) (result i64)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "load_u8" (func $load8 (param i64) (result i32)))
  (import "extism:host/env" "load_u64" (func $load64 (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store64 (param i64 i64)))
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  (import "extism:host/env" "var_set" (func $var_set (param i64 i64)))
  (import "extism:host/env" "var_get" (func $var_get (param i64) (result i64)))
  (func $key (result i64) (local $k i64)
    (local.set $k (call $alloc (i64.const 1)))
    (call $store8 (local.get $k) (i32.const 107))
    (local.get $k))
  (func (export "where") (result i32) (local $h i64)
    (local.set $h (call $alloc (i64.const 24)))
    (call $store64 (local.get $h) (call $in))
    (call $store64 (i64.add (local.get $h) (i64.const 8)) (call $len (call $in)))
    (call $store64 (i64.add (local.get $h) (i64.const 16)) (call $lenu (call $in)))
    (call $out (local.get $h) (i64.const 24))
    (i32.const 0))
  (func (export "copy_loads") (result i32) (local $n i64) (local $h i64) (local $i i64)
    (local.set $n (call $inlen))
    (local.set $h (call $alloc (local.get $n)))
    (block $d (loop $l
      (br_if $d (i64.gt_u (i64.add (local.get $i) (i64.const 8)) (local.get $n)))
      (call $store64 (i64.add (local.get $h) (local.get $i))
                     (call $load64 (i64.add (call $in) (local.get $i))))
      (local.set $i (i64.add (local.get $i) (i64.const 8)))
      (br $l)))
    (block $d (loop $l
      (br_if $d (i64.ge_u (local.get $i) (local.get $n)))
      (call $store8 (i64.add (local.get $h) (local.get $i))
                    (call $load8 (i64.add (call $in) (local.get $i))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $l)))
    (call $out (local.get $h) (local.get $n))
    (i32.const 0))
  (func (export "copy_input_loads") (result i32) (local $n i64) (local $h i64) (local $i i64)
    (local.set $n (call $inlen))
    (local.set $h (call $alloc (local.get $n)))
    (block $d (loop $l
      (br_if $d (i64.gt_u (i64.add (local.get $i) (i64.const 8)) (local.get $n)))
      (call $store64 (i64.add (local.get $h) (local.get $i)) (call $iload64 (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 8)))
      (br $l)))
    (block $d (loop $l
      (br_if $d (i64.ge_u (local.get $i) (local.get $n)))
      (call $store8 (i64.add (local.get $h) (local.get $i)) (call $iload8 (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $l)))
    (call $out (local.get $h) (local.get $n))
    (i32.const 0))
  (func (export "echo") (result i32)
    (call $out (call $in) (call $len (call $in)))
    (i32.const 0))
  (func (export "scribble") (result i32)
    (call $store8 (call $in) (i32.const 88))
    (call $store8 (i64.add (call $in) (i64.const 1)) (i32.const 89))
    (call $out (call $in) (call $inlen))
    (i32.const 0))
  (func (export "stash") (result i32)
    (call $var_set (call $key) (call $in))
    (i32.const 0))
  (func (export "unstash") (result i32) (local $v i64)
    (local.set $v (call $var_get (call $key)))
    (call $out (local.get $v) (call $len (local.get $v)))
    (i32.const 0))
  (func (export "beyond") (result i32) (local $h i64)
    (local.set $h (call $alloc (i64.const 8)))
    (call $store64 (local.get $h) (call $load64 (i64.add (call $in) (call $inlen))))
    (call $out (local.get $h) (i64.const 8))
    (i32.const 0))
  (func (export "scribble_around") (result i32)
    (call $store8 (i64.sub (call $in) (i64.const 1)) (i32.const 90))
    (call $store8 (i64.add (call $in) (call $inlen)) (i32.const 90))
    (call $store64 (i64.sub (i64.add (call $in) (call $inlen)) (i64.const 4)) (i64.const -1))
    (i32.const 0))
  (func (export "past") (result i32)
    (call $out (i64.add (call $in) (call $inlen)) (i64.const 16))
    (i32.const 0))
  (func (export "trap") (result i32) unreachable))
"""

ALL: dict[str, str] = {
    "ADD": ADD,
    "ECHO_WASI": ECHO_WASI,
    "TRAP": TRAP,
    "LOOP": LOOP,
    "SLOW": SLOW,
    "GROW": GROW,
    "EXIT_CODE": EXIT_CODE,
    "COUNTER": COUNTER,
    "EXTISM_KITCHEN": EXTISM_KITCHEN,
    "FORWARD": FORWARD,
    "RING_PROBE": RING_PROBE,
}
"""Every plug-in above, by constant name."""
