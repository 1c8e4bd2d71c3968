;; vowels.wat -- append " [vowels=N]", N = the number of ASCII vowels
;; (aeiouAEIOU) in the input, in decimal. No newline is added.
;;
;; ABI: wasi-command. Exports `_start` and `memory`, nothing else callable.
;; A call's input is stdin, its output is stdout; a non-zero exit
;; (proc_exit) is an error. Last stage of the demo text pipeline
;;   log line -> redact -> shout -> vowels
;;
;; Memory layout:
;;   0..7     iovec {buf: i32, len: i32} passed to fd_read / fd_write
;;   8..11    byte count returned by fd_read / fd_write
;;   16..47   the suffix " [vowels=N]" (N is at most 10 digits)
;;   1024..   the whole of stdin (written back unchanged)
;; Memory grows 1 MiB at a time, as needed, while stdin is read.
;;
;; Exit codes: 0 ok, 1 I/O error, 2 out of memory.
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit"
    (func $proc_exit (param i32)))

  (memory (export "memory") 1)

  (global $IOV i32 (i32.const 0))
  (global $COUNT i32 (i32.const 8))
  (global $BUF i32 (i32.const 1024))
  (global $SUFFIX i32 (i32.const 16))
  (data (i32.const 16) " [vowels=")   ;; 9 bytes; the digits follow

  ;; Read all of stdin into memory at $BUF; return its length.
  (func $read_all (result i32)
    (local $len i32) (local $free i32)
    (loop $more
      ;; free = bytes of memory after the data read so far
      (local.set $free
        (i32.sub (i32.shl (memory.size) (i32.const 16))
                 (i32.add (global.get $BUF) (local.get $len))))
      ;; keep at least 64 KiB to read into: grow by 16 pages (1 MiB)
      (if (i32.lt_u (local.get $free) (i32.const 65536))
        (then
          (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1))
            (then (call $proc_exit (i32.const 2)) (unreachable)))
          (local.set $free (i32.add (local.get $free) (i32.const 1048576)))))
      ;; fd_read(stdin, &iov, 1, &count) into the free space
      (i32.store (global.get $IOV) (i32.add (global.get $BUF) (local.get $len)))
      (i32.store offset=4 (global.get $IOV) (local.get $free))
      (if (call $fd_read (i32.const 0) (global.get $IOV) (i32.const 1) (global.get $COUNT))
        (then (call $proc_exit (i32.const 1)) (unreachable)))
      ;; zero bytes read means end of input
      (if (i32.load (global.get $COUNT))
        (then
          (local.set $len (i32.add (local.get $len) (i32.load (global.get $COUNT))))
          (br $more))))
    (local.get $len))

  ;; Write len bytes at ptr to stdout, looping over short writes.
  (func $write_all (param $ptr i32) (param $len i32)
    (block $done
      (loop $more
        (br_if $done (i32.eqz (local.get $len)))
        (i32.store (global.get $IOV) (local.get $ptr))
        (i32.store offset=4 (global.get $IOV) (local.get $len))
        ;; an error, or no progress, is an I/O error
        (if (i32.or
              (call $fd_write (i32.const 1) (global.get $IOV) (i32.const 1) (global.get $COUNT))
              (i32.eqz (i32.load (global.get $COUNT))))
          (then (call $proc_exit (i32.const 1)) (unreachable)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.load (global.get $COUNT))))
        (local.set $len (i32.sub (local.get $len) (i32.load (global.get $COUNT))))
        (br $more))))

  ;; Is byte c an ASCII vowel? Setting bit 5 lowercases letters (and maps
  ;; no other byte onto a lowercase vowel), so compare c | 0x20 to "aeiou".
  (func $is_vowel (param $c i32) (result i32)
    (local.set $c (i32.or (local.get $c) (i32.const 0x20)))
    (i32.or
      (i32.or (i32.eq (local.get $c) (i32.const 0x61))      ;; a
              (i32.eq (local.get $c) (i32.const 0x65)))     ;; e
      (i32.or (i32.eq (local.get $c) (i32.const 0x69))      ;; i
              (i32.or (i32.eq (local.get $c) (i32.const 0x6f))     ;; o
                      (i32.eq (local.get $c) (i32.const 0x75)))))) ;; u

  (func (export "_start")
    (local $len i32) (local $p i32) (local $end i32)
    (local $n i32) (local $digits i32) (local $t i32)
    (local.set $len (call $read_all))
    ;; count the vowels
    (local.set $p (global.get $BUF))
    (local.set $end (i32.add (global.get $BUF) (local.get $len)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $n
          (i32.add (local.get $n) (call $is_vowel (i32.load8_u (local.get $p)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $each)))
    ;; number of decimal digits of n (at least one, for 0)
    (local.set $t (local.get $n))
    (loop $count
      (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
      (local.set $t (i32.div_u (local.get $t) (i32.const 10)))
      (br_if $count (local.get $t)))
    ;; write the digits after " [vowels=", last digit first, then ']'
    (local.set $p (i32.add (i32.add (global.get $SUFFIX) (i32.const 9)) (local.get $digits)))
    (i32.store8 (local.get $p) (i32.const 0x5d))   ;; ']'
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 0x30) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (local.get $n)))
    ;; the input unchanged, then the suffix
    (call $write_all (global.get $BUF) (local.get $len))
    (call $write_all (global.get $SUFFIX) (i32.add (i32.const 10) (local.get $digits))))
)
