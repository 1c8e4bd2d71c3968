// primes.c -- a `core`-ABI example plug-in: count the primes <= n.
//
// ABI: core. The module exports `count_primes(i32) -> i32` and `memory`
// and imports nothing: it is built freestanding (no libc, no WASI), as a
// library without an entry point, so a host can call the export directly.
//
// It is deliberately CPU-bound (trial division, no allocation), which makes
// it handy for CPU benchmarks: count_primes(100) == 25,
// count_primes(1000000) == 78498.
//
// build-flags: -nostdlib -Wl,--no-entry

#include <stdint.h>

static int is_prime(uint32_t k) {
    if (k < 2) return 0;
    if (k < 4) return 1;            // 2 and 3
    if (k % 2 == 0) return 0;
    for (uint32_t d = 3; d <= k / d; d += 2) {
        if (k % d == 0) return 0;
    }
    return 1;
}

__attribute__((export_name("count_primes")))
int32_t count_primes(int32_t n) {
    int32_t count = 0;
    for (int32_t k = 2; k <= n; k++) {
        count += is_prime((uint32_t)k);
    }
    return count;
}
