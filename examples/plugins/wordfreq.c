// wordfreq.c -- a `wasi-command`-ABI example plug-in: the five most
// frequent words of its input, as a JSON object.
//
// ABI: wasi-command. The module exports `_start` (and `memory`); a call's
// input is stdin, its output is stdout, and a non-zero exit is an error.
//
// A word is a maximal run of ASCII letters, folded to lowercase. The output
// is a single-line JSON object, most frequent first (ties: alphabetical),
// with no trailing newline, e.g.  {"the":3,"a":2}  -- or {} for no words.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP_N 5

typedef struct {
    char *word;      // NUL-terminated, lowercase; NULL means an empty slot
    size_t count;
} entry;

static entry *table;
static size_t capacity;   // always a power of two
static size_t used;

static void die(const char *msg) {
    fprintf(stderr, "wordfreq: %s\n", msg);
    exit(1);
}

static size_t hash(const char *s, size_t n) {
    size_t h = 1469598103934665603ull & (size_t)-1;  // FNV-1a
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull & (size_t)-1;
    }
    return h;
}

static entry *slot_for(entry *t, size_t cap, const char *s, size_t n) {
    size_t i = hash(s, n) & (cap - 1);
    while (t[i].word && !(strlen(t[i].word) == n && memcmp(t[i].word, s, n) == 0)) {
        i = (i + 1) & (cap - 1);   // linear probing
    }
    return &t[i];
}

static void grow_table(void) {
    size_t new_cap = capacity ? capacity * 2 : 256;
    entry *t = calloc(new_cap, sizeof *t);
    if (!t) die("out of memory");
    for (size_t i = 0; i < capacity; i++) {
        if (table[i].word) {
            *slot_for(t, new_cap, table[i].word, strlen(table[i].word)) = table[i];
        }
    }
    free(table);
    table = t;
    capacity = new_cap;
}

static void add_word(const char *s, size_t n) {
    if ((used + 1) * 4 > capacity * 3) grow_table();   // keep load <= 75%
    entry *e = slot_for(table, capacity, s, n);
    if (!e->word) {
        e->word = malloc(n + 1);
        if (!e->word) die("out of memory");
        memcpy(e->word, s, n);
        e->word[n] = '\0';
        used++;
    }
    e->count++;
}

// Does a rank before b? Higher count first, then alphabetical.
static int ranks_before(const entry *a, const entry *b) {
    if (a->count != b->count) return a->count > b->count;
    return strcmp(a->word, b->word) < 0;
}

int main(void) {
    // Read all of stdin.
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    if (!buf) die("out of memory");
    for (;;) {
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) die("out of memory");
        }
        size_t n = fread(buf + len, 1, cap - len, stdin);
        len += n;
        if (n == 0) {
            if (ferror(stdin)) die("read error");
            break;
        }
    }

    // Count words (lowercased in place).
    grow_table();
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? buf[i] : ' ';
        if (c >= 'A' && c <= 'Z') buf[i] = c = (char)(c - 'A' + 'a');
        if (c >= 'a' && c <= 'z') continue;
        if (i > start) add_word(buf + start, i - start);
        start = i + 1;
    }

    // Pick the top N by insertion into a small sorted array.
    const entry *top[TOP_N];
    size_t ntop = 0;
    for (size_t i = 0; i < capacity; i++) {
        const entry *e = &table[i];
        if (!e->word) continue;
        size_t pos = ntop;
        while (pos > 0 && ranks_before(e, top[pos - 1])) pos--;
        if (pos >= TOP_N) continue;
        if (ntop < TOP_N) ntop++;
        memmove(&top[pos + 1], &top[pos], (ntop - 1 - pos) * sizeof top[0]);
        top[pos] = e;
    }

    // Words are letters only, so they need no JSON escaping.
    putchar('{');
    for (size_t i = 0; i < ntop; i++) {
        printf("%s\"%s\":%zu", i ? "," : "", top[i]->word, top[i]->count);
    }
    putchar('}');
    if (fflush(stdout) != 0) die("write error");
    return 0;
}
