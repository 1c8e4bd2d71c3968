;; textstats.wat -- small text analyzers, one export each.
;;
;; ABI: extism (imports extism:host/env). Bytes in, bytes out:
;;   words        the number of words (runs of bytes other than space, tab,
;;                CR, LF), in decimal: "to be or not" -> "4"
;;   vowels       the number of ASCII vowels (aeiouAEIOU), in decimal
;;   has_letters  "true" when the input holds an ASCII letter, else "false"
;;                (a filter verdict: config/text.yaml drops blank lines with it)
;;
;; The input is read in place through input_load_u8; nothing is copied.
;; Memory layout: 16..31 decimal digits (written backwards), 32.. "true",
;; 40.. "false".
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))

  (memory (export "memory") 1)
  (data (i32.const 32) "true")
  (data (i32.const 40) "false")

  ;; Output [ptr, ptr + len) of this module's memory.
  (func $output (param $ptr i32) (param $len i32)
    (local $h i64) (local $i i32)
    (local.set $h (call $alloc (i64.extend_i32_u (local.get $len))))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (call $store_u8 (i64.add (local.get $h) (i64.extend_i32_u (local.get $i)))
                      (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
    (call $output_set (local.get $h) (i64.extend_i32_u (local.get $len))))

  ;; Output n in decimal (digits written backwards from 32).
  (func $output_number (param $n i32)
    (local $p i32)
    (local.set $p (i32.const 32))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
                  (i32.add (i32.const 0x30) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (local.get $n)))
    (call $output (local.get $p) (i32.sub (i32.const 32) (local.get $p))))

  (func $is_space (param $c i32) (result i32)
    (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x20)) (i32.eq (local.get $c) (i32.const 0x09)))
            (i32.or (i32.eq (local.get $c) (i32.const 0x0A)) (i32.eq (local.get $c) (i32.const 0x0D)))))

  ;; Setting bit 5 lowercases letters (and maps no other byte onto one).
  (func $is_vowel (param $c i32) (result i32)
    (local.set $c (i32.or (local.get $c) (i32.const 0x20)))
    (i32.or
      (i32.or (i32.eq (local.get $c) (i32.const 0x61))      ;; a
              (i32.eq (local.get $c) (i32.const 0x65)))     ;; e
      (i32.or (i32.eq (local.get $c) (i32.const 0x69))      ;; i
              (i32.or (i32.eq (local.get $c) (i32.const 0x6F))        ;; o
                      (i32.eq (local.get $c) (i32.const 0x75))))))    ;; u

  (func $is_letter (param $c i32) (result i32)
    (i32.lt_u (i32.sub (i32.or (local.get $c) (i32.const 0x20)) (i32.const 0x61)) (i32.const 26)))

  (func (export "words") (result i32)
    (local $n i64) (local $i i64) (local $words i32) (local $in_word i32) (local $space i32)
    (local.set $n (call $input_length))
    (block $done (loop $each
      (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
      (local.set $space (call $is_space (call $input_load_u8 (local.get $i))))
      ;; a word starts at a non-space byte that follows a space (or the start)
      (if (i32.and (i32.eqz (local.get $space)) (i32.eqz (local.get $in_word)))
        (then (local.set $words (i32.add (local.get $words) (i32.const 1)))))
      (local.set $in_word (i32.eqz (local.get $space)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $each)))
    (call $output_number (local.get $words))
    (i32.const 0))

  (func (export "vowels") (result i32)
    (local $n i64) (local $i i64) (local $count i32)
    (local.set $n (call $input_length))
    (block $done (loop $each
      (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
      (local.set $count (i32.add (local.get $count)
                                 (call $is_vowel (call $input_load_u8 (local.get $i)))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $each)))
    (call $output_number (local.get $count))
    (i32.const 0))

  (func (export "has_letters") (result i32)
    (local $n i64) (local $i i64)
    (local.set $n (call $input_length))
    (block $done (loop $each
      (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
      (if (call $is_letter (call $input_load_u8 (local.get $i)))
        (then
          (call $output (i32.const 32) (i32.const 4))     ;; "true"
          (return (i32.const 0))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $each)))
    (call $output (i32.const 40) (i32.const 5))           ;; "false"
    (i32.const 0))
)
