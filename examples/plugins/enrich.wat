;; enrich.wat -- add a field to a JSON object by asking another plug-in.
;;
;; ABI: extism (imports extism:host/env). One export:
;;   enrich  the input is a JSON object. The string value of field `from`
;;           (config, default "service") is passed to the host function
;;           extism:host/user lookup, and its answer is added as field `to`
;;           (config, default "owner"); "unknown" when the answer is empty or
;;           the object has no such field. Not a JSON object: an error,
;;           "the record is not a JSON object".
;;
;;   {"service":"payments","msg":"..."} -> {"service":"payments","msg":"...","owner":"team-payments"}
;;
;; Nothing in this module knows where lookup comes from. In config/logs.yaml
;; the import is a route, served by another plug-in's export:
;;
;;   enrich:
;;     source: ../examples/plugins/enrich.wat
;;     imports: {"extism:host/user.lookup": owners.lookup}
;;
;; so each call of lookup leaves this worker as a message, runs on an instance
;; of `owners` (lookup.wat), and the answer comes back into this call.
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "load_u64" (func $load_u64 (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "extism:host/env" "config_get" (func $config_get (param i64) (result i64)))
  (import "extism:host/user" "lookup" (func $lookup (param i64) (result i64)))

  ;; ---- shared helpers (the same in logparse, mask, enrich, render) ----------
  ;; Memory: 96.. "\u00", 112.. hex digits, 128..4095 this plug-in's strings,
  ;; 4096.. a heap reset at every call (input, config values, then the output).
  (memory (export "memory") 1)
  (data (i32.const 96) "\\u00")
  (data (i32.const 112) "0123456789abcdef")
  (global $heap (mut i32) (i32.const 4096))
  (global $out (mut i32) (i32.const 4096))

  ;; Grow memory so that [0, end) is addressable (trap when it cannot).
  (func $ensure (param $end i32)
    (local $have i32)
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have))
                                                     (i32.const 0xFFFF))
                                            (i32.const 16)))
                    (i32.const -1))
          (then (unreachable))))))

  ;; Copy the call's input to the heap; return (ptr, len).
  (func $read_input (result i32 i32)
    (local $dst i32) (local $n i32) (local $i i32)
    (local.set $dst (global.get $heap))
    (local.set $n (i32.wrap_i64 (call $input_length)))
    (call $ensure (i32.add (local.get $dst) (local.get $n)))
    (block $done (loop $words
      (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $n)))
      (i64.store (i32.add (local.get $dst) (local.get $i))
                 (call $input_load_u64 (i64.extend_i32_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br $words)))
    (block $done (loop $bytes
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.add (local.get $dst) (local.get $i))
                  (call $input_load_u8 (i64.extend_i32_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $bytes)))
    (global.set $heap (i32.add (local.get $dst) (local.get $n)))
    (local.get $dst) (local.get $n))

  ;; A new kernel block holding [ptr, ptr + len) (0 when len is 0).
  (func $to_block (param $ptr i32) (param $len i32) (result i64)
    (local $h i64) (local $i i32)
    (local.set $h (call $alloc (i64.extend_i32_u (local.get $len))))
    (block $done (loop $words
      (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $len)))
      (call $store_u64 (i64.add (local.get $h) (i64.extend_i32_u (local.get $i)))
                       (i64.load (i32.add (local.get $ptr) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br $words)))
    (block $done (loop $bytes
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (call $store_u8 (i64.add (local.get $h) (i64.extend_i32_u (local.get $i)))
                      (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $bytes)))
    (local.get $h))

  ;; Copy kernel block h to the heap; return (ptr, len); (heap, 0) for handle 0.
  (func $from_block (param $h i64) (result i32 i32)
    (local $dst i32) (local $n i32) (local $i i32)
    (local.set $dst (global.get $heap))
    (if (i64.eqz (local.get $h)) (then (return (local.get $dst) (i32.const 0))))
    (local.set $n (i32.wrap_i64 (call $length (local.get $h))))
    (call $ensure (i32.add (local.get $dst) (local.get $n)))
    (block $done (loop $words
      (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $n)))
      (i64.store (i32.add (local.get $dst) (local.get $i))
                 (call $load_u64 (i64.add (local.get $h) (i64.extend_i32_u (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br $words)))
    (block $done (loop $bytes
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.add (local.get $dst) (local.get $i))
                  (call $load_u8 (i64.add (local.get $h) (i64.extend_i32_u (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $bytes)))
    (global.set $heap (i32.add (local.get $dst) (local.get $n)))
    (local.get $dst) (local.get $n))

  ;; The config value of key [key, key + klen) on the heap, else the default.
  (func $config (param $key i32) (param $klen i32) (param $dflt i32) (param $dlen i32)
                (result i32 i32)
    (local $h i64)
    (local.set $h (call $config_get (call $to_block (local.get $key) (local.get $klen))))
    (if (i64.eqz (local.get $h)) (then (return (local.get $dflt) (local.get $dlen))))
    (call $from_block (local.get $h)))

  ;; Output [ptr, ptr + len).
  (func $output (param $ptr i32) (param $len i32)
    (call $output_set (call $to_block (local.get $ptr) (local.get $len))
                      (i64.extend_i32_u (local.get $len))))

  ;; Set the error [ptr, ptr + len) and return 1 (the export's failure code).
  (func $fail (param $ptr i32) (param $len i32) (result i32)
    (call $error_set (call $to_block (local.get $ptr) (local.get $len)))
    (i32.const 1))

  ;; Append bytes at the output cursor.
  (func $emit (param $src i32) (param $len i32)
    (call $ensure (i32.add (global.get $out) (local.get $len)))
    (memory.copy (global.get $out) (local.get $src) (local.get $len))
    (global.set $out (i32.add (global.get $out) (local.get $len))))

  (func $emit_byte (param $c i32)
    (call $ensure (i32.add (global.get $out) (i32.const 1)))
    (i32.store8 (global.get $out) (local.get $c))
    (global.set $out (i32.add (global.get $out) (i32.const 1))))

  ;; Append bytes as the inside of a JSON string: " and \ escaped, control
  ;; characters as \u00XX.
  (func $emit_escaped (param $src i32) (param $len i32)
    (local $end i32) (local $c i32)
    (local.set $end (i32.add (local.get $src) (local.get $len)))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
      (local.set $c (i32.load8_u (local.get $src)))
      (if (i32.or (i32.eq (local.get $c) (i32.const 0x22)) (i32.eq (local.get $c) (i32.const 0x5C)))
        (then (call $emit_byte (i32.const 0x5C)) (call $emit_byte (local.get $c)))
        (else
          (if (i32.lt_u (local.get $c) (i32.const 0x20))
            (then
              (call $emit (i32.const 96) (i32.const 4))
              (call $emit_byte (i32.load8_u (i32.add (i32.const 112)
                                                     (i32.shr_u (local.get $c) (i32.const 4)))))
              (call $emit_byte (i32.load8_u (i32.add (i32.const 112)
                                                     (i32.and (local.get $c) (i32.const 15))))))
            (else (call $emit_byte (local.get $c))))))
      (local.set $src (i32.add (local.get $src) (i32.const 1)))
      (br $each))))

  (func $is_space (param $c i32) (result i32)
    (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x20)) (i32.eq (local.get $c) (i32.const 0x09)))
            (i32.or (i32.eq (local.get $c) (i32.const 0x0A)) (i32.eq (local.get $c) (i32.const 0x0D)))))

  (func $skip_space (param $p i32) (param $end i32) (result i32)
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (br_if $done (i32.eqz (call $is_space (i32.load8_u (local.get $p)))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $each)))
    (local.get $p))

  ;; Where the JSON value of key [name, name + nlen) starts in [json, json + n),
  ;; or -1. A flat scan for "name" followed by a colon: enough for the flat
  ;; objects these examples pass along (an unescaped quote cannot occur inside
  ;; a JSON string, so a match is a key).
  (func $find_field (param $json i32) (param $n i32) (param $name i32) (param $nlen i32)
                    (result i32)
    (local $p i32) (local $end i32) (local $q i32) (local $i i32)
    (local.set $end (i32.add (local.get $json) (local.get $n)))
    (local.set $p (local.get $json))
    (block $missing (loop $scan
      (br_if $missing (i32.gt_u (i32.add (i32.add (local.get $p) (local.get $nlen)) (i32.const 3))
                                (local.get $end)))
      (block $next
        (br_if $next (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x22)))
        (if (i32.gt_u (local.get $p) (local.get $json))
          (then (br_if $next (i32.eq (i32.load8_u (i32.sub (local.get $p) (i32.const 1)))
                                     (i32.const 0x5C)))))
        (local.set $i (i32.const 0))
        (block $same (loop $cmp
          (br_if $same (i32.ge_u (local.get $i) (local.get $nlen)))
          (br_if $next (i32.ne (i32.load8_u (i32.add (i32.add (local.get $p) (i32.const 1))
                                                     (local.get $i)))
                               (i32.load8_u (i32.add (local.get $name) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $cmp)))
        (local.set $q (i32.add (i32.add (local.get $p) (i32.const 1)) (local.get $nlen)))
        (br_if $next (i32.ne (i32.load8_u (local.get $q)) (i32.const 0x22)))
        (local.set $q (call $skip_space (i32.add (local.get $q) (i32.const 1)) (local.get $end)))
        (br_if $next (i32.ge_u (local.get $q) (local.get $end)))
        (br_if $next (i32.ne (i32.load8_u (local.get $q)) (i32.const 0x3A)))   ;; ':'
        (local.set $q (call $skip_space (i32.add (local.get $q) (i32.const 1)) (local.get $end)))
        (br_if $next (i32.ge_u (local.get $q) (local.get $end)))
        (return (local.get $q)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $scan)))
    (i32.const -1))

  ;; The end (closing quote) of a JSON string whose contents start at p.
  (func $string_end (param $p i32) (param $end i32) (result i32)
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (br_if $done (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x22)))
      (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x5C))
        (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $each)))
    (if (result i32) (i32.gt_u (local.get $p) (local.get $end))
      (then (local.get $end)) (else (local.get $p))))

  ;; The end of a JSON scalar other than a string (number, true, false, null).
  (func $token_end (param $p i32) (param $end i32) (result i32)
    (local $c i32)
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $c (i32.load8_u (local.get $p)))
      (br_if $done (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x2C))     ;; ,
                                   (i32.eq (local.get $c) (i32.const 0x7D)))    ;; }
                           (i32.or (i32.eq (local.get $c) (i32.const 0x5D))     ;; ]
                                   (call $is_space (local.get $c)))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $each)))
    (local.get $p))
  ;; ---- end of shared helpers -------------------------------------------------

  (data (i32.const 128) "from")
  (data (i32.const 136) "service")
  (data (i32.const 144) "to")
  (data (i32.const 152) "owner")
  (data (i32.const 160) "unknown")
  (data (i32.const 188) "\":\"")
  (data (i32.const 192) "\"}")
  (data (i32.const 208) "the record is not a JSON object")

  ;; p moved back over spaces (not below lo).
  (func $back_space (param $p i32) (param $lo i32) (result i32)
    (block $done (loop $each
      (br_if $done (i32.le_u (local.get $p) (local.get $lo)))
      (br_if $done (i32.eqz (call $is_space (i32.load8_u (i32.sub (local.get $p) (i32.const 1))))))
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (br $each)))
    (local.get $p))

  (func (export "enrich") (result i32)
    (local $from i32) (local $from_n i32) (local $to i32) (local $to_n i32)
    (local $in i32) (local $n i32) (local $end i32) (local $first i32) (local $close i32)
    (local $p i32) (local $key_end i32) (local $val i32) (local $val_n i32)
    (local $got i32) (local $got_n i32) (local $start i32)
    (global.set $heap (i32.const 4096))
    (call $config (i32.const 128) (i32.const 4) (i32.const 136) (i32.const 7))
    (local.set $from_n) (local.set $from)
    (call $config (i32.const 144) (i32.const 2) (i32.const 152) (i32.const 5))
    (local.set $to_n) (local.set $to)
    (call $read_input) (local.set $n) (local.set $in)
    (local.set $end (i32.add (local.get $in) (local.get $n)))
    ;; a JSON object: '{' first and '}' last (spaces aside)
    (local.set $first (call $skip_space (local.get $in) (local.get $end)))
    (local.set $close (call $back_space (local.get $end) (local.get $in)))
    (if (i32.or (i32.le_u (local.get $close) (i32.add (local.get $first) (i32.const 1)))
                (i32.or (i32.ne (i32.load8_u (local.get $first)) (i32.const 0x7B))
                        (i32.ne (i32.load8_u (i32.sub (local.get $close) (i32.const 1)))
                                (i32.const 0x7D))))
      (then (return (call $fail (i32.const 208) (i32.const 31)))))
    (local.set $close (i32.sub (local.get $close) (i32.const 1)))          ;; at the '}'
    ;; the key is the string value of field `from`; the answer of lookup(key)
    ;; is the value of the new field `to` ("unknown" when there is none)
    (local.set $val (i32.const 160))
    (local.set $val_n (i32.const 7))
    (local.set $p (call $find_field (local.get $in) (local.get $n)
                                    (local.get $from) (local.get $from_n)))
    (if (i32.ge_s (local.get $p) (i32.const 0))
      (then
        (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x22))
          (then
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (local.set $key_end (call $string_end (local.get $p) (local.get $end)))
            (if (i32.gt_u (local.get $key_end) (local.get $p))
              (then
                (call $from_block
                  (call $lookup (call $to_block (local.get $p)
                                                (i32.sub (local.get $key_end) (local.get $p)))))
                (local.set $got_n) (local.set $got)
                (if (local.get $got_n)
                  (then (local.set $val (local.get $got)) (local.set $val_n (local.get $got_n))))))))))
    (local.set $start (global.get $heap))
    (global.set $out (local.get $start))
    (call $emit (local.get $in) (i32.sub (local.get $close) (local.get $in)))   ;; all but the '}'
    ;; a comma unless the object was empty
    (if (i32.ne (i32.load8_u (i32.sub (call $back_space (local.get $close) (local.get $in))
                                      (i32.const 1)))
                (i32.const 0x7B))
      (then (call $emit_byte (i32.const 0x2C))))
    (call $emit_byte (i32.const 0x22))
    (call $emit_escaped (local.get $to) (local.get $to_n))
    (call $emit (i32.const 188) (i32.const 3))
    (call $emit_escaped (local.get $val) (local.get $val_n))
    (call $emit (i32.const 192) (i32.const 2))
    (call $output (local.get $start) (i32.sub (global.get $out) (local.get $start)))
    (i32.const 0))
)
