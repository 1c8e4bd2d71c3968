// count_vowels.c -- an Extism-ABI plug-in in the style of Extism's reference
// "count-vowels" example, built on orchestra_pdk.h.
//
// Export `count_vowels`: counts the bytes of the input that are in the set
// given by config key "vowels" (default "aeiouAEIOU"), adds the count to a
// running total kept in the var "total" (8-byte little-endian unsigned
// integer; it persists across calls for the life of the instance), and
// outputs JSON:
//
//   {"count":3,"total":3,"vowels":"aeiouAEIOU"}
//
// build-flags: -mexec-model=reactor -Wl,-z,stack-size=65536

#include "orchestra_pdk.h"

static const char DEFAULT_VOWELS[] = "aeiouAEIOU";

// Append S[0..N) to OUT as the body of a JSON string (no quotes).
static size_t json_escape(char *out, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            out[o++] = '\\';
            out[o++] = 'u';
            out[o++] = '0';
            out[o++] = '0';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
}

ORCHESTRA_EXPORT("count_vowels") int32_t count_vowels(void) {
    size_t input_len = 0, vowels_len = 0, total_len = 0;
    char *input = orchestra_input(&input_len);
    if (input == NULL) return orchestra_error("out of memory");

    char *vowels = orchestra_config("vowels", &vowels_len);
    const char *set = vowels ? vowels : DEFAULT_VOWELS;
    size_t set_len = vowels ? vowels_len : sizeof DEFAULT_VOWELS - 1;

    unsigned char in_set[256] = {0};
    for (size_t i = 0; i < set_len; i++) in_set[(unsigned char)set[i]] = 1;
    uint64_t count = 0;
    for (size_t i = 0; i < input_len; i++) count += in_set[(unsigned char)input[i]];

    uint64_t total = 0;
    char *stored = orchestra_var("total", &total_len);
    if (stored != NULL && total_len == 8) memcpy(&total, stored, 8);
    free(stored);
    total += count;
    orchestra_var_set("total", &total, 8);

    // Each byte escapes to at most 6; plus the fixed text and two numbers.
    char *json = malloc(set_len * 6 + 96);
    if (json == NULL) return orchestra_error("out of memory");
    size_t n = 0;
    memcpy(json + n, "{\"count\":", 9), n += 9;
    n += orchestra_fmt_u64(json + n, count);
    memcpy(json + n, ",\"total\":", 9), n += 9;
    n += orchestra_fmt_u64(json + n, total);
    memcpy(json + n, ",\"vowels\":\"", 11), n += 11;
    n += json_escape(json + n, set, set_len);
    json[n++] = '"';
    json[n++] = '}';
    int rc = orchestra_output(json, n);
    free(json);
    free(vowels);
    free(input);
    return rc == 0 ? 0 : orchestra_error("out of memory");
}
