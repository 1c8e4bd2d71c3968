// kitchen_http.c -- an Extism-ABI plug-in that makes an HTTP request through
// the host (`extism:host/env` http_request). The host only lets it reach
// hosts listed in the manifest's allowed_hosts.
//
//   http_get   the input is a URL; sends {"url": <input>, "method": "GET"}
//              with no body and outputs "<status>\n<body>"
//
// build-flags: -mexec-model=reactor -Wl,-z,stack-size=65536

#include "orchestra_pdk.h"

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
            memcpy(out + o, "\\u00", 4);
            out[o + 4] = hex[c >> 4];
            out[o + 5] = hex[c & 15];
            o += 6;
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
}

ORCHESTRA_EXPORT("http_get") int32_t http_get(void) {
    static const char head[] = "{\"url\":\"";
    static const char tail[] = "\",\"method\":\"GET\"}";
    size_t url_len;
    char *url = orchestra_input(&url_len);
    if (url == NULL) return orchestra_error("out of memory");
    char *req = malloc(sizeof head + url_len * 6 + sizeof tail);
    if (req == NULL) return orchestra_error("out of memory");
    size_t n = 0;
    memcpy(req, head, sizeof head - 1);
    n += sizeof head - 1;
    n += json_escape(req + n, url, url_len);
    memcpy(req + n, tail, sizeof tail - 1);
    n += sizeof tail - 1;
    free(url);

    orchestra_handle body = extism_http_request(orchestra_store(req, n), 0);
    free(req);
    int32_t status = extism_http_status_code();

    size_t body_len = 0;
    char *body_bytes = orchestra_load(body, &body_len);  // NULL: empty body
    if (body != 0) extism_free(body);
    char *out = malloc(24 + body_len);
    if (out == NULL) return orchestra_error("out of memory");
    size_t m = orchestra_fmt_i64(out, status);
    out[m++] = '\n';
    if (body_len) memcpy(out + m, body_bytes, body_len);
    m += body_len;
    free(body_bytes);
    int rc = orchestra_output(out, m);
    free(out);
    return rc == 0 ? 0 : orchestra_error("out of memory");
}
