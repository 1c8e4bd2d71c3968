;; math.wat -- a `core`-ABI example: plain numeric functions.
;;
;; ABI: core. Numeric parameters in, numeric results out; on the CLI the
;; arguments and results are JSON lists, e.g. add [2, 3] -> [5].
;;
;; Exports:
;;   add(i32, i32) -> i32    wrapping 32-bit sum
;;   mul(i64, i64) -> i64    wrapping 64-bit product
;;   fib(i32) -> i64         n-th Fibonacci number, iteratively:
;;                           fib(0) = 0, fib(1) = 1, fib(90) = 2880067194370816120;
;;                           n <= 0 gives 0, results wrap past fib(92)
;;   memory                  (unused, exported for hosts that expect one)
(module
  (memory (export "memory") 1)

  (func (export "add") (param $a i32) (param $b i32) (result i32)
    (i32.add (local.get $a) (local.get $b)))

  (func (export "mul") (param $a i64) (param $b i64) (result i64)
    (i64.mul (local.get $a) (local.get $b)))

  (func (export "fib") (param $n i32) (result i64)
    (local $a i64) (local $b i64) (local $t i64)
    ;; invariant: a = fib(k), b = fib(k + 1); n counts down to 0
    (local.set $b (i64.const 1))
    (block $done
      (loop $step
        (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $t (i64.add (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $t))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $step)))
    (local.get $a))
)
