// kitchen_host.c -- an Extism-ABI plug-in that calls a host function.
//
// It imports `reverse` from `extism:host/user`, type (i64) -> i64: the host
// gets a kernel block holding the bytes and returns a new block with them
// reversed. A host must provide that import to load this module (the Extism
// SDK refuses unresolved imports), which is why this export is not in
// kitchen.c.
//
//   host_reverse   output = reverse(input), via the host
//
// build-flags: -mexec-model=reactor -Wl,-z,stack-size=65536

#include "orchestra_pdk.h"

ORCHESTRA_HOST_FN(host_reverse_import, "reverse");

ORCHESTRA_EXPORT("host_reverse") int32_t host_reverse(void) {
    size_t len, out_len;
    char *in = orchestra_input(&len);
    if (in == NULL) return orchestra_error("out of memory");
    char *out = orchestra_call_host(host_reverse_import, in, len, &out_len);
    free(in);
    if (out == NULL) return 0;  // the host returned no block: empty output
    int rc = orchestra_output(out, out_len);
    free(out);
    return rc == 0 ? 0 : orchestra_error("out of memory");
}
