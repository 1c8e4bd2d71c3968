;; Orchestra's Extism kernel.
;;
;; A standalone module (no imports) instantiated in the same wasmtime Store as
;; an Extism plug-in. The host links its function exports as the plug-in's
;; `extism:host/env` kernel functions and reads/writes the exported "memory"
;; directly. Written from the ABI facts in docs/extism.md; no code taken
;; from Extism.
;;
;; ----------------------------------------------------------------------------
;; Memory layout (all integers little-endian)
;; ----------------------------------------------------------------------------
;;
;;   [0, 64)    control block (kernel state; the host may read it directly)
;;                 0  u64  input offset   (handle of the input, 0 = none)
;;                 8  u64  input length
;;                16  u64  output offset
;;                24  u64  output length
;;                32  u64  error handle   (0 = no error)
;;                40  u64  heap top       (address of the next block header)
;;                48  u64  last block     (header address of the last block, 0 = none)
;;                56  u32  free count     (number of free blocks below the top)
;;                60  u32  epoch          (incremented by every reset)
;;              The plug-in cannot see it: load_* of p < 64 return 0 and
;;              store_* there are ignored.
;;
;;   [64, top)  the heap: blocks laid out back to back, each a 16-byte header
;;              followed by `cap` data bytes. A handle is the address of a
;;              block's data, so the first handle is 80 and 0 is never valid.
;;
;;   Block header, at h - 16 for the block with handle h:
;;                 +0  u32  length   used length (the n given to alloc)
;;                 +4  u32  cap      capacity = n rounded up to 8
;;                 +8  u32  prev     header address of the previous block, 0 for the first
;;                +12  u32  tag      LIVE_MAGIC or FREE_MAGIC, xor epoch, xor (u32) h
;;
;;   Blocks are 8-byte aligned (headers and handles). The tag mixes in the
;;   epoch so handles kept from an earlier call (before a reset) are not live,
;;   and the handle so a header copied elsewhere does not look live.
;;
;; ----------------------------------------------------------------------------
;; Allocator invariants (between kernel calls)
;; ----------------------------------------------------------------------------
;;
;;   * Walking headers from 64 by `cap + 16` reaches `top` exactly.
;;   * No two adjacent blocks are both free (free coalesces both ways).
;;   * The last block, if any, is live (freeing it moves `top` back).
;;   * `free count` is the number of free blocks; when it is 0 alloc is a
;;     pure O(1) bump, otherwise alloc first-fit scans the heap and reuses the
;;     first free block large enough, falling back to the bump.
;;   * A reused block is split when at least 48 bytes would be left over (a
;;     16-byte header + >= 32 data bytes); the remainder is a new free block.
;;     Otherwise the whole block is handed out (its `cap` stays larger).
;;   * Block data is not zeroed by alloc, but everything above `top` is zero
;;     unless this call wrote it (see "Between calls" below).
;;   * Memory never shrinks; reset moves `top` back to 64.
;;
;; ----------------------------------------------------------------------------
;; Between calls: nothing of one call is left for the next
;; ----------------------------------------------------------------------------
;;
;;   An instance serves many callers, so a call must never see the bytes of an
;;   earlier one (its input, output, host-written blocks such as HTTP bodies).
;;   reset zeroes [64, max(top, $hwm)): `top` is as high as the heap is now,
;;   and $hwm as high as it was before `free` last moved `top` back, or as
;;   high as a raw store above `top` reached. Stores below `top` (the fast
;;   path) need no bookkeeping; a store above it (rare) raises $hwm. So at the
;;   start of every call, all of [64, memory size) is zero, and zeroing costs
;;   only what the last call used.
;;
;; ----------------------------------------------------------------------------
;; The input ring (workers with shared-memory payload rings only)
;; ----------------------------------------------------------------------------
;;
;;   [ring_at, 4 GiB)  the worker's input ring, mapped by the host into this
;;              memory's reservation *above* its current size (so it counts
;;              against no memory limit and `memory_bytes` does not see it).
;;              A large input stays where the supervisor wrote it: the host
;;              starts the call with orchestra_begin_ring and the input's
;;              offset lies in the ring; nothing is copied. wasm loads there
;;              work because wasmtime compiles a 32-bit memory with a 4 GiB
;;              reservation without bounds checks (the host maps the ring only
;;              then, and tests pin it). The plug-in reaches the ring only
;;              through its own input: input_load_*, and load_* / store_* /
;;              length on addresses inside [input offset, + input length),
;;              as with an input block (the span is this call's alone until it
;;              ends). alloc never grows memory past ring_at. Without a ring,
;;              ring_at is 4 GiB.
;;
;;              The input may still be arriving: the supervisor copies it in
;;              chunks and publishes how far it got (a u64 monotonic ring
;;              position at $written, in the ring's header page, mapped below
;;              the ring). For such an input the control block's "input length"
;;              (offset 8) counts the bytes known to be there, and $in_len is the
;;              length (input_length returns it): input_load_* keep their one
;;              compare on the fast path and wait (spin on an atomic load) only
;;              when they reach past what has arrived, so the plug-in computes
;;              while the rest is still being copied. For any other input both
;;              are the length.
;;
;; A plug-in can overwrite headers (they are in kernel memory). The allocator
;; then may hand out overlapping blocks, but it never traps and never loops
;; forever: every header read is bounds-checked against `top` (<= memory size)
;; and the scan always advances by at least 16 bytes.
(module
  (memory (export "memory") 1)

  ;; heap top starts at 64 (the rest of the control block starts zeroed)
  (data (i32.const 40) "\40")

  ;; the input ring's address (see the layout above); 4 GiB = no ring
  (global $ring_at (mut i64) (i64.const 0x100000000))
  ;; where the supervisor publishes how far the input ring is written (0: nowhere)
  (global $written (mut i64) (i64.const 0))
  ;; how high this call's writes reached, besides `top` (see "Between calls")
  (global $hwm (mut i64) (i64.const 64))
  ;; the input's length, and the monotonic ring position of its first byte
  (global $in_len (mut i64) (i64.const 0))
  (global $in_pos (mut i64) (i64.const 0))

  ;; LIVE_MAGIC = 0x4C495645 ("LIVE"), FREE_MAGIC = 0x46524545 ("FREE")

  ;; ------------------------------------------------------------------------
  ;; internal helpers
  ;; ------------------------------------------------------------------------

  ;; current memory size in bytes
  (func $mem_bytes (result i64)
    (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))

  ;; tag a block with handle $h should carry for $magic in this epoch
  (func $tag (param $h i64) (param $magic i32) (result i32)
    (i32.xor
      (i32.xor (local.get $magic) (i32.load (i32.const 60)))
      (i32.wrap_i64 (local.get $h))))

  ;; 1 if the header at $a (with $a + 16 <= top) is a free block of this epoch
  (func $is_free_header (param $a i64) (result i32)
    (i32.eq
      (i32.load offset=12 (i32.wrap_i64 (local.get $a)))
      (call $tag (i64.add (local.get $a) (i64.const 16)) (i32.const 0x46524545))))

  ;; 1 if $h is the handle of a live block: 8-aligned, 80 <= h < top, live
  ;; tag for this epoch and handle, and the block ends at or below top.
  (func $is_live (param $h i64) (result i32)
    (local $top i64)
    (local.set $top (i64.load (i32.const 40)))
    (if (i64.ne (i64.and (local.get $h) (i64.const 7)) (i64.const 0))
      (then (return (i32.const 0))))
    (if (i64.lt_u (local.get $h) (i64.const 80))
      (then (return (i32.const 0))))
    (if (i64.ge_u (local.get $h) (local.get $top))
      (then (return (i32.const 0))))
    ;; 80 <= h < top <= memory size, so the header [h-16, h) is readable
    (if (i32.ne
          (i32.load offset=12 (i32.wrap_i64 (i64.sub (local.get $h) (i64.const 16))))
          (call $tag (local.get $h) (i32.const 0x4C495645)))
      (then (return (i32.const 0))))
    (i64.le_u
      (i64.add (local.get $h)
               (i64.load32_u offset=4 (i32.wrap_i64 (i64.sub (local.get $h) (i64.const 16)))))
      (local.get $top)))

  ;; 1 if [p, p + n) lies inside the input (the raw loads' way into the ring),
  ;; once those bytes have arrived
  (func $in_input (param $p i64) (param $n i64) (result i32)
    (local $off i64) (local $len i64)
    (local.set $off (i64.sub (local.get $p) (i64.load (i32.const 0))))
    (local.set $len (global.get $in_len))
    (if (i32.eqz (i32.and (i64.lt_u (local.get $off) (local.get $len))
                          (i64.ge_u (i64.sub (local.get $len) (local.get $off)) (local.get $n))))
      (then (return (i32.const 0))))
    (call $wait (i64.add (local.get $off) (local.get $n)))
    (i32.const 1))

  ;; wait until the first $need bytes of the input are written ($need <= input
  ;; length). Spins on the supervisor's published position: the copy runs at
  ;; memory speed, far ahead of a plug-in reading, so this waits only at the start.
  (func $wait (param $need i64)
    (local $len i64) (local $r i64)
    (if (i64.le_u (local.get $need) (i64.load (i32.const 8))) (then (return)))
    (local.set $len (global.get $in_len))
    (if (i64.eqz (global.get $written))
      (then (i64.store (i32.const 8) (local.get $len)) (return)))
    (loop $spin
      (local.set $r (i64.sub (i64.atomic.load (i32.wrap_i64 (global.get $written)))
                             (global.get $in_pos)))
      ;; before the input's start (a wrapped difference): nothing yet
      (if (i64.gt_s (i64.const 0) (local.get $r)) (then (local.set $r (i64.const 0))))
      (if (i64.gt_u (local.get $r) (local.get $len)) (then (local.set $r (local.get $len))))
      (i64.store (i32.const 8) (local.get $r))
      (br_if $spin (i64.lt_u (local.get $r) (local.get $need)))))

  ;; 1 if $h is the handle of an input that lies in the ring
  (func $is_ring_input (param $h i64) (result i32)
    (i32.and (i64.ge_u (local.get $h) (global.get $ring_at))
             (i64.eq (local.get $h) (i64.load (i32.const 0)))))

  ;; add $d to the free count
  (func $free_count_add (param $d i32)
    (i32.store (i32.const 56) (i32.add (i32.load (i32.const 56)) (local.get $d))))

  ;; if a block header starts at $next (below top), set its prev to $a
  (func $set_prev_of (param $next i64) (param $a i64)
    (if (i64.le_u (i64.add (local.get $next) (i64.const 16)) (i64.load (i32.const 40)))
      (then (i32.store offset=8 (i32.wrap_i64 (local.get $next)) (i32.wrap_i64 (local.get $a))))))

  ;; First fit: header address of a free block with cap >= $size, taken out
  ;; of the free set (split if much larger), or 0 if none fits.
  (func $take_free (param $size i64) (result i64)
    (local $a i64) (local $cap i64) (local $rest i64) (local $r i64) (local $top i64)
    (local.set $top (i64.load (i32.const 40)))
    (local.set $a (i64.const 64))
    (block $none
      (loop $scan
        (br_if $none (i64.gt_u (i64.add (local.get $a) (i64.const 16)) (local.get $top)))
        (local.set $cap (i64.load32_u offset=4 (i32.wrap_i64 (local.get $a))))
        ;; a block running past the top means a corrupted chain: stop
        (br_if $none (i64.gt_u (i64.add (i64.add (local.get $a) (i64.const 16)) (local.get $cap))
                               (local.get $top)))
        (if (i32.and (call $is_free_header (local.get $a))
                     (i64.ge_u (local.get $cap) (local.get $size)))
          (then
            (local.set $rest (i64.sub (local.get $cap) (local.get $size)))
            (if (i64.ge_u (local.get $rest) (i64.const 48))
              (then
                ;; split: [a: size][r: rest - 16], r stays free (count unchanged)
                (local.set $r (i64.add (i64.add (local.get $a) (i64.const 16)) (local.get $size)))
                (i32.store offset=0 (i32.wrap_i64 (local.get $r)) (i32.const 0))
                (i32.store offset=4 (i32.wrap_i64 (local.get $r))
                           (i32.wrap_i64 (i64.sub (local.get $rest) (i64.const 16))))
                (i32.store offset=8 (i32.wrap_i64 (local.get $r)) (i32.wrap_i64 (local.get $a)))
                (i32.store offset=12 (i32.wrap_i64 (local.get $r))
                           (call $tag (i64.add (local.get $r) (i64.const 16)) (i32.const 0x46524545)))
                (i32.store offset=4 (i32.wrap_i64 (local.get $a)) (i32.wrap_i64 (local.get $size)))
                (call $set_prev_of
                      (i64.add (i64.add (local.get $a) (i64.const 16)) (local.get $cap))
                      (local.get $r)))
              (else (call $free_count_add (i32.const -1))))
            (return (local.get $a))))
        (local.set $a (i64.add (i64.add (local.get $a) (i64.const 16)) (local.get $cap)))
        (br $scan)))
    (i64.const 0))

  ;; ------------------------------------------------------------------------
  ;; allocation
  ;; ------------------------------------------------------------------------

  ;; alloc(n) -> handle; 0 when n == 0, n is too large, or memory cannot grow
  (func $alloc (export "alloc") (param $n i64) (result i64)
    (local $size i64) (local $a i64) (local $h i64) (local $end i64) (local $mem i64)
    (if (i64.eqz (local.get $n)) (then (return (i64.const 0))))
    ;; more than 4 GiB - 64 KiB can never fit a 32-bit memory
    (if (i64.gt_u (local.get $n) (i64.const 0xFFFF0000)) (then (return (i64.const 0))))
    (local.set $size (i64.and (i64.add (local.get $n) (i64.const 7)) (i64.const -8)))

    ;; reuse a free block (only scanned when there is one)
    (if (i32.load (i32.const 56))
      (then
        (local.set $a (call $take_free (local.get $size)))
        (if (i64.ne (local.get $a) (i64.const 0))
          (then
            (local.set $h (i64.add (local.get $a) (i64.const 16)))
            (i32.store offset=0 (i32.wrap_i64 (local.get $a)) (i32.wrap_i64 (local.get $n)))
            (i32.store offset=12 (i32.wrap_i64 (local.get $a))
                       (call $tag (local.get $h) (i32.const 0x4C495645)))
            (return (local.get $h))))))

    ;; bump: new block at the top, growing memory by the pages needed
    (local.set $a (i64.load (i32.const 40)))
    (local.set $h (i64.add (local.get $a) (i64.const 16)))
    (local.set $end (i64.add (local.get $h) (local.get $size)))
    (local.set $mem (call $mem_bytes))
    (if (i64.gt_u (local.get $end) (local.get $mem))
      (then
        (if (i64.gt_u (local.get $end) (global.get $ring_at)) (then (return (i64.const 0))))
        (if (i32.eq
              (memory.grow
                (i32.wrap_i64
                  (i64.shr_u (i64.add (i64.sub (local.get $end) (local.get $mem)) (i64.const 0xFFFF))
                             (i64.const 16))))
              (i32.const -1))
          (then (return (i64.const 0))))))
    (i32.store offset=0 (i32.wrap_i64 (local.get $a)) (i32.wrap_i64 (local.get $n)))
    (i32.store offset=4 (i32.wrap_i64 (local.get $a)) (i32.wrap_i64 (local.get $size)))
    (i32.store offset=8 (i32.wrap_i64 (local.get $a)) (i32.load (i32.const 48)))
    (i32.store offset=12 (i32.wrap_i64 (local.get $a))
               (call $tag (local.get $h) (i32.const 0x4C495645)))
    (i64.store (i32.const 48) (local.get $a))
    (i64.store (i32.const 40) (local.get $end))
    (local.get $h))

  ;; free(h): no-op unless h is a live block. Coalesces with free neighbours;
  ;; a free block at the end moves the top back. Freeing the input block
  ;; clears the input (offset and length become 0). The output and error
  ;; handles are left as they are.
  (func (export "free") (param $h i64)
    (local $a i64) (local $cap i64) (local $n i64) (local $p i64)
    (if (i32.eqz (call $is_live (local.get $h))) (then (return)))
    (if (i64.eq (local.get $h) (i64.load (i32.const 0)))
      (then
        (i64.store (i32.const 0) (i64.const 0))
        (i64.store (i32.const 8) (i64.const 0))
        (global.set $in_len (i64.const 0))))
    (local.set $a (i64.sub (local.get $h) (i64.const 16)))
    (local.set $cap (i64.load32_u offset=4 (i32.wrap_i64 (local.get $a))))
    (i32.store offset=12 (i32.wrap_i64 (local.get $a))
               (call $tag (local.get $h) (i32.const 0x46524545)))
    (call $free_count_add (i32.const 1))

    ;; absorb the next block if it is free
    (local.set $n (i64.add (local.get $h) (local.get $cap)))
    (if (i64.le_u (i64.add (local.get $n) (i64.const 16)) (i64.load (i32.const 40)))
      (then
        (if (call $is_free_header (local.get $n))
          (then
            (local.set $cap
              (i64.add (i64.add (local.get $cap) (i64.const 16))
                       (i64.load32_u offset=4 (i32.wrap_i64 (local.get $n)))))
            (i32.store offset=4 (i32.wrap_i64 (local.get $a)) (i32.wrap_i64 (local.get $cap)))
            (call $free_count_add (i32.const -1))
            (call $set_prev_of
                  (i64.add (i64.add (local.get $a) (i64.const 16)) (local.get $cap))
                  (local.get $a))))))

    ;; merge into the previous block if it is free (and really adjacent)
    (local.set $p (i64.load32_u offset=8 (i32.wrap_i64 (local.get $a))))
    (if (i32.and (i64.ge_u (local.get $p) (i64.const 64))
                 (i64.le_u (i64.add (local.get $p) (i64.const 16)) (local.get $a)))
      (then
        (if (i32.and
              (call $is_free_header (local.get $p))
              (i64.eq (i64.add (i64.add (local.get $p) (i64.const 16))
                               (i64.load32_u offset=4 (i32.wrap_i64 (local.get $p))))
                      (local.get $a)))
          (then
            (local.set $cap
              (i64.add (i64.add (local.get $cap) (i64.const 16))
                       (i64.load32_u offset=4 (i32.wrap_i64 (local.get $p)))))
            (local.set $a (local.get $p))
            (i32.store offset=4 (i32.wrap_i64 (local.get $a)) (i32.wrap_i64 (local.get $cap)))
            (call $free_count_add (i32.const -1))
            (call $set_prev_of
                  (i64.add (i64.add (local.get $a) (i64.const 16)) (local.get $cap))
                  (local.get $a))))))

    ;; a free block at the end is dropped: the top moves back to its header
    ;; (and $hwm keeps how high it was, for reset to zero)
    (if (i64.ge_u (i64.add (i64.add (local.get $a) (i64.const 16)) (local.get $cap))
                  (i64.load (i32.const 40)))
      (then
        (call $reach (i64.load (i32.const 40)))
        (i64.store (i32.const 40) (local.get $a))
        (i64.store (i32.const 48) (i64.load32_u offset=8 (i32.wrap_i64 (local.get $a))))
        (call $free_count_add (i32.const -1)))))

  ;; length(h): used length of the live block h, else 0
  (func (export "length") (param $h i64) (result i64)
    (if (call $is_ring_input (local.get $h)) (then (return (global.get $in_len))))
    (if (result i64) (call $is_live (local.get $h))
      (then (i64.load32_u (i32.wrap_i64 (i64.sub (local.get $h) (i64.const 16)))))
      (else (i64.const 0))))

  ;; length_unsafe(h): the length field at h - 16 without checking the block
  ;; (only a bounds check so it cannot trap; 0 when h < 80 or h > memory size)
  (func (export "length_unsafe") (param $h i64) (result i64)
    (if (call $is_ring_input (local.get $h)) (then (return (global.get $in_len))))
    (if (result i64)
        (i64.le_u (i64.sub (local.get $h) (i64.const 80))
                  (i64.sub (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16))
                           (i64.const 80)))
      (then (i64.load32_u (i32.wrap_i64 (i64.sub (local.get $h) (i64.const 16)))))
      (else (i64.const 0))))

  ;; memory_bytes(): bytes the allocator manages (current memory size)
  (func (export "memory_bytes") (result i64)
    (call $mem_bytes))

  ;; raise $hwm to $end (an address this call wrote below)
  (func $reach (param $end i64)
    (if (i64.gt_u (local.get $end) (global.get $hwm)) (then (global.set $hwm (local.get $end)))))

  ;; zero [$from, max(top, $hwm)) (within memory): what this call wrote there
  (func $clear (param $from i64)
    (local $end i64) (local $mem i64)
    (local.set $end (i64.load (i32.const 40)))
    (if (i64.gt_u (global.get $hwm) (local.get $end)) (then (local.set $end (global.get $hwm))))
    (local.set $mem (call $mem_bytes))
    (if (i64.gt_u (local.get $end) (local.get $mem)) (then (local.set $end (local.get $mem))))
    (if (i64.gt_u (local.get $end) (local.get $from))
      (then (memory.fill (i32.wrap_i64 (local.get $from)) (i32.const 0)
                         (i32.wrap_i64 (i64.sub (local.get $end) (local.get $from))))))
    (global.set $hwm (i64.const 64)))

  ;; reset(): per-call reset. Every block is released (top back to 64, no
  ;; free blocks, new epoch so old handles are no longer live), everything
  ;; the call wrote is zeroed, and input/output/error are cleared. Memory is
  ;; kept.
  (func $reset (export "reset")
    (call $clear (i64.const 64))
    (call $release))

  ;; the per-call state back to empty (blocks, input, output, error)
  (func $release
    (i64.store (i32.const 0) (i64.const 0))
    (i64.store (i32.const 8) (i64.const 0))
    (i64.store (i32.const 16) (i64.const 0))
    (i64.store (i32.const 24) (i64.const 0))
    (i64.store (i32.const 32) (i64.const 0))
    (i64.store (i32.const 40) (i64.const 64))
    (i64.store (i32.const 48) (i64.const 0))
    (i32.store (i32.const 56) (i32.const 0))
    (i32.store (i32.const 60) (i32.add (i32.load (i32.const 60)) (i32.const 1)))
    (global.set $in_len (i64.const 0)))

  ;; ------------------------------------------------------------------------
  ;; raw access (hot: kept to one unsigned compare each, two for store_u64)
  ;; Valid range is [64, memory size); out of range loads give 0 and stores
  ;; are ignored. (p - 64) wraps for p < 64, so one unsigned compare covers
  ;; both ends, for any i64 p. Stores compare against the heap top instead
  ;; and take a slow path above it (see "Between calls").
  ;; ------------------------------------------------------------------------

  (func (export "load_u8") (param $p i64) (result i32)
    (if (result i32)
        (i64.lt_u (i64.sub (local.get $p) (i64.const 64))
                  (i64.sub (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16))
                           (i64.const 64)))
      (then (i32.load8_u (i32.wrap_i64 (local.get $p))))
      (else (if (result i32) (call $in_input (local.get $p) (i64.const 1))
        (then (i32.load8_u (i32.wrap_i64 (local.get $p))))
        (else (i32.const 0))))))

  (func (export "load_u64") (param $p i64) (result i64)
    (if (result i64)
        (i64.le_u (i64.sub (local.get $p) (i64.const 64))
                  (i64.sub (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16))
                           (i64.const 72)))
      (then (i64.load (i32.wrap_i64 (local.get $p))))
      (else (if (result i64) (call $in_input (local.get $p) (i64.const 8))
        (then (i64.load (i32.wrap_i64 (local.get $p))))
        (else (i64.const 0))))))

  ;; Stores below the heap top take one compare (two for u64); a store above
  ;; it, up to the memory's size, goes the slow way and raises $hwm so that
  ;; reset zeroes it (see "Between calls").
  (func (export "store_u8") (param $p i64) (param $v i32)
    (if (i64.lt_u (i64.sub (local.get $p) (i64.const 64))
                  (i64.sub (i64.load (i32.const 40)) (i64.const 64)))
      (then (i32.store8 (i32.wrap_i64 (local.get $p)) (local.get $v)))
      (else (if (call $store_slow (local.get $p) (i64.const 1))
        (then (i32.store8 (i32.wrap_i64 (local.get $p)) (local.get $v)))))))

  (func (export "store_u64") (param $p i64) (param $v i64)
    (local $top i64)
    (local.set $top (i64.load (i32.const 40)))
    ;; p - 64 < top - 71 (no wrap: an empty heap, top < 71, takes the slow path)
    (if (i64.lt_u (i64.sub (local.get $p) (i64.const 64))
                  (select (i64.sub (local.get $top) (i64.const 71)) (i64.const 0)
                          (i64.ge_u (local.get $top) (i64.const 71))))
      (then (i64.store (i32.wrap_i64 (local.get $p)) (local.get $v)))
      (else (if (call $store_slow (local.get $p) (i64.const 8))
        (then (i64.store (i32.wrap_i64 (local.get $p)) (local.get $v)))))))

  ;; 1 if a $n-byte store at $p (not below the heap top) is allowed: inside
  ;; [64, memory size), noted in $hwm, or inside the input (in the ring)
  (func $store_slow (param $p i64) (param $n i64) (result i32)
    (if (i64.le_u (i64.sub (local.get $p) (i64.const 64))
                  (i64.sub (call $mem_bytes) (i64.add (i64.const 64) (local.get $n))))
      (then
        (call $reach (i64.add (local.get $p) (local.get $n)))
        (return (i32.const 1))))
    (call $in_input (local.get $p) (local.get $n)))

  ;; ------------------------------------------------------------------------
  ;; input
  ;; ------------------------------------------------------------------------

  ;; input_set(h, len): the input is [h, h + len). A range outside
  ;; [64, memory size) makes the input empty (0, 0) instead, so the
  ;; input_load_* fast paths only need to check the offset against the length
  ;; (memory never shrinks, so a range valid now stays in bounds).
  (func $input_set (export "input_set") (param $h i64) (param $len i64)
    (local $mem i64)
    (local.set $mem (call $mem_bytes))
    (if (i32.and
          (i32.and (i64.ge_u (local.get $h) (i64.const 64))
                   (i64.le_u (local.get $h) (local.get $mem)))
          (i64.le_u (local.get $len) (i64.sub (local.get $mem) (local.get $h))))
      (then
        (i64.store (i32.const 0) (local.get $h))
        (i64.store (i32.const 8) (local.get $len))
        (global.set $in_len (local.get $len)))
      (else
        (i64.store (i32.const 0) (i64.const 0))
        (i64.store (i32.const 8) (i64.const 0))
        (global.set $in_len (i64.const 0)))))

  (func (export "input_length") (result i64)
    (global.get $in_len))

  (func (export "input_offset") (result i64)
    (i64.load (i32.const 0)))

  ;; input byte at offset off; 0 unless off < input length
  (func (export "input_load_u8") (param $off i64) (result i32)
    (if (result i32) (i64.lt_u (local.get $off) (i64.load (i32.const 8)))
      (then (i32.load8_u (i32.wrap_i64 (i64.add (i64.load (i32.const 0)) (local.get $off)))))
      (else (call $input_slow_u8 (local.get $off)))))

  ;; the slow paths: past what has arrived (wait), or past the input (0)
  (func $input_slow_u8 (param $off i64) (result i32)
    (if (i64.ge_u (local.get $off) (global.get $in_len)) (then (return (i32.const 0))))
    (call $wait (i64.add (local.get $off) (i64.const 1)))
    (i32.load8_u (i32.wrap_i64 (i64.add (i64.load (i32.const 0)) (local.get $off)))))

  (func $input_slow_u64 (param $off i64) (result i64)
    (local $len i64)
    (local.set $len (global.get $in_len))
    (if (i32.eqz (i32.and (i64.lt_u (local.get $off) (local.get $len))
                          (i64.ge_u (i64.sub (local.get $len) (local.get $off)) (i64.const 8))))
      (then (return (i64.const 0))))
    (call $wait (i64.add (local.get $off) (i64.const 8)))
    (i64.load (i32.wrap_i64 (i64.add (i64.load (i32.const 0)) (local.get $off)))))

  ;; input u64 at offset off; 0 unless off + 8 <= input length
  (func (export "input_load_u64") (param $off i64) (result i64)
    (local $len i64)
    (local.set $len (i64.load (i32.const 8)))
    (if (result i64)
        (i32.and (i64.lt_u (local.get $off) (local.get $len))
                 (i64.ge_u (i64.sub (local.get $len) (local.get $off)) (i64.const 8)))
      (then (i64.load (i32.wrap_i64 (i64.add (i64.load (i32.const 0)) (local.get $off)))))
      (else (call $input_slow_u64 (local.get $off)))))

  ;; ------------------------------------------------------------------------
  ;; output and error (stored as given; the host validates when reading)
  ;; ------------------------------------------------------------------------

  (func (export "output_set") (param $h i64) (param $len i64)
    (i64.store (i32.const 16) (local.get $h))
    (i64.store (i32.const 24) (local.get $len)))

  (func (export "output_length") (result i64)
    (i64.load (i32.const 24)))

  (func (export "output_offset") (result i64)
    (i64.load (i32.const 16)))

  (func (export "error_set") (param $h i64)
    (i64.store (i32.const 32) (local.get $h)))

  (func (export "error_get") (result i64)
    (i64.load (i32.const 32)))

  ;; ------------------------------------------------------------------------
  ;; host-only helper (not linked into the plug-in's extism:host/env)
  ;; ------------------------------------------------------------------------

  ;; orchestra_begin(len) -> handle: the host's per-call prologue in one call:
  ;; reset, allocate the input block (when len > 0) and mark it as the input.
  ;; Returns the input handle (0 for an empty input), or -1 when the input
  ;; cannot be allocated (memory limit). The host then writes the input bytes
  ;; at the handle and reads output/error from the control block afterwards.
  ;; The input block will be [80, 80 + len), which the host then writes whole,
  ;; so only what lies above it is zeroed; that span counts as this call's
  ;; ($hwm), so that if the input cannot be allocated the next reset zeroes it.
  (func (export "orchestra_begin") (param $len i64) (result i64)
    (local $h i64)
    (if (i32.or (i64.eqz (local.get $len)) (i64.gt_u (local.get $len) (i64.const 0xFFFF0000)))
      (then (call $reset))
      (else
        (call $clear (i64.add (i64.const 80) (local.get $len)))
        (call $release)
        (call $reach (i64.add (i64.const 80) (local.get $len)))))
    (if (i64.eqz (local.get $len)) (then (return (i64.const 0))))
    (local.set $h (call $alloc (local.get $len)))
    (if (i64.eqz (local.get $h)) (then (return (i64.const -1))))
    (call $input_set (local.get $h) (local.get $len))
    (local.get $h))

  ;; orchestra_ring(at, written) -> 1: the host has mapped its input ring (and
  ;; the ring's header page) in [at, 4 GiB), above the memory's current size;
  ;; alloc will not grow memory into it. written: the address of the u64 where
  ;; the supervisor publishes how far the ring is written (8-aligned, inside the
  ;; mapping), 0 if inputs are always written whole before a call. 0 (nothing
  ;; changed) if memory already reaches past at, or at is not on a 64 KiB wasm
  ;; page boundary (memory.grow would round up across it).
  (func (export "orchestra_ring") (param $at i64) (param $written i64) (result i32)
    (if (i32.or (i32.or (i64.lt_u (local.get $at) (call $mem_bytes))
                        (i64.gt_u (local.get $at) (i64.const 0x100000000)))
                (i64.ne (i64.and (local.get $at) (i64.const 0xFFFF)) (i64.const 0)))
      (then (return (i32.const 0))))
    (if (i64.ne (local.get $written) (i64.const 0))
      (then
        (if (i32.or (i32.or (i64.lt_u (local.get $written) (local.get $at))
                            (i64.gt_u (local.get $written) (i64.const 0xFFFFFFF8)))
                    (i64.ne (i64.and (local.get $written) (i64.const 7)) (i64.const 0)))
          (then (return (i32.const 0))))))
    (global.set $ring_at (local.get $at))
    (global.set $written (local.get $written))
    (i32.const 1))

  ;; orchestra_begin_ring(offset, len, pos) -> 1: the per-call prologue for an
  ;; input in the ring: reset, and the input is [offset, offset + len), which is
  ;; ring position pos onwards (its bytes may still be arriving, see $wait). 0
  ;; (and no input) when that range is not inside the ring.
  (func (export "orchestra_begin_ring")
        (param $off i64) (param $len i64) (param $pos i64) (result i32)
    (call $reset)
    (if (i32.or (i32.or (i64.lt_u (local.get $off) (global.get $ring_at))
                        (i64.ge_u (local.get $off) (i64.const 0x100000000)))
                (i64.gt_u (local.get $len)
                          (i64.sub (i64.const 0x100000000) (local.get $off))))
      (then (return (i32.const 0))))
    (i64.store (i32.const 0) (local.get $off))
    (i64.store (i32.const 8) (i64.const 0))  ;; nothing known to have arrived yet
    (global.set $in_len (local.get $len))
    (global.set $in_pos (local.get $pos))
    (i32.const 1))
)
