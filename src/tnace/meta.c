/*
 * meta.c — free-form potential metadata (model.h: tnace_meta): a small YAML tree of maps, sequences and
 * scalars kept as text. Maps keep insertion order; setting an existing key replaces its node in place
 * (same position). Read from / written to the `metadata:` key of a potential file by potential_yaml.c and
 * potential_save.c, which also use the scalar formatting below (declared in potential_file.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "potential_file.h"
#include "util.h"

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* True when the plain (unquoted) scalar `s` would not read back as a string under the YAML 1.1 or 1.2
 * core schemas: empty / null / booleans (yes, no, on, off, y, n, true, false in any case) / anything that
 * starts like a number (digits, sign, dot: ints, floats, .inf, .nan, dates, sexagesimals). Conservative:
 * quoting a string that did not need it is harmless. Characters that make a plain scalar impossible
 * (": ", " #", leading "-", "[", ...) are the emitter's business (libyaml quotes those itself). */
int tnace_meta_scalar_needs_quotes(const char *s) {
  static const char *const words[] = {"~", "null", "true", "false", "yes", "no", "on", "off", "y", "n"};
  if (!s || !*s) return 1;
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    const char *w = words[i], *p = s;
    while (*w && *p && tolower((unsigned char)*p) == *w) p++, w++;
    if (!*w && !*p) return 1;
  }
  unsigned char c = (unsigned char)s[0];
  if (isdigit(c) || c == '+' || c == '-' || c == '.') {
    unsigned char c1 = (unsigned char)s[1];
    if (isdigit(c)) return 1;
    if (c == '.' && (isdigit(c1) || tolower(c1) == 'i' || tolower(c1) == 'n')) return 1;
    if ((c == '+' || c == '-') && (isdigit(c1) || c1 == '.')) return 1;
  }
  /* Anything else strtod would take whole ("inf", "nan", "infinity", "0x1p3" is covered above). */
  char *end;
  (void)strtod(s, &end);
  return end != s && *end == '\0';
}

/* "1e-05" → "1.0e-05" in place (buf has room for 2 more chars): YAML 1.1 readers (PyYAML) take a
 * mantissa without a dot for a string. Returns the new length. */
size_t tnace_fix_exponent(char *buf, size_t n) {
  char *e = memchr(buf, 'e', n);
  if (!e || memchr(buf, '.', (size_t)(e - buf))) return n;
  memmove(e + 2, e, n - (size_t)(e - buf) + 1);
  e[0] = '.';
  e[1] = '0';
  return n + 2;
}

/* Shortest "%.{15,16,17}g" text that reads back (strtod) as exactly v, with a dot before any exponent;
 * YAML's .nan / .inf / -.inf for non-finite values. len ≥ 32. */
void tnace_meta_format_double(double v, char *buf, size_t len) {
  if (isnan(v)) { snprintf(buf, len, ".nan"); return; }
  if (isinf(v)) { snprintf(buf, len, v > 0 ? ".inf" : "-.inf"); return; }
  /* "C" numbers whatever the host program's LC_NUMERIC (this thread only) */
  tnace_cloc loc = tnace_cloc_push();
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(buf, len, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  tnace_cloc_pop(loc);
  if (n > 0 && (size_t)n + 2 < len) tnace_fix_exponent(buf, (size_t)n);
}

static tnace_meta *node_new(tnace_meta_kind kind) {
  tnace_meta *n = calloc(1, sizeof *n);
  if (n) n->kind = kind;
  return n;
}

static void free_list(tnace_meta *m) {
  while (m) {
    tnace_meta *next = m->next;
    tnace_meta_free(m);
    m = next;
  }
}

/* Free a node's payload (value and children), keeping key and sibling link. */
static void node_clear(tnace_meta *n) {
  free(n->value);
  n->value = NULL;
  free_list(n->child);
  n->child = NULL;
  n->quoted = 0;
}

tnace_meta *tnace_meta_new_map(void) { return node_new(TNACE_META_MAP); }

tnace_meta *tnace_meta_get(const tnace_meta *m, const char *key) {
  if (!m || m->kind != TNACE_META_MAP || !key) return NULL;
  for (tnace_meta *c = m->child; c; c = c->next)
    if (c->key && strcmp(c->key, key) == 0) return c;
  return NULL;
}

/* The node for `key` in map m: the existing one cleared and re-kinded (position kept) or a new one at
 * the end. `value` (may be NULL) is copied first so that a failed allocation changes nothing. */
static tnace_meta *set_node(tnace_meta *m, const char *key, tnace_meta_kind kind, const char *value,
                            int quoted) {
  if (!m || m->kind != TNACE_META_MAP || !key) return NULL;
  char *v = NULL;
  if (value && !(v = dupstr(value))) return NULL;
  tnace_meta *n = tnace_meta_get(m, key);
  if (n) {
    node_clear(n);
  } else {
    n = node_new(kind);
    char *k = dupstr(key);
    if (!n || !k) { free(n); free(k); free(v); return NULL; }
    n->key = k;
    tnace_meta **tail = &m->child;
    while (*tail) tail = &(*tail)->next;
    *tail = n;
  }
  n->kind = kind;
  n->value = v;
  n->quoted = quoted;
  return n;
}

tnace_meta *tnace_meta_set(tnace_meta *m, const char *key, const char *value) {
  if (!value) value = "";
  return set_node(m, key, TNACE_META_SCALAR, value, tnace_meta_scalar_needs_quotes(value));
}

tnace_meta *tnace_meta_set_num(tnace_meta *m, const char *key, double value) {
  char buf[40];
  tnace_meta_format_double(value, buf, sizeof buf);
  return set_node(m, key, TNACE_META_SCALAR, buf, 0);
}

tnace_meta *tnace_meta_set_map(tnace_meta *m, const char *key) {
  return set_node(m, key, TNACE_META_MAP, NULL, 0);
}

tnace_meta *tnace_meta_set_seq(tnace_meta *m, const char *key) {
  return set_node(m, key, TNACE_META_SEQ, NULL, 0);
}

tnace_meta *tnace_meta_append(tnace_meta *seq, const char *value) {
  if (!seq || seq->kind != TNACE_META_SEQ) return NULL;
  if (!value) value = "";
  tnace_meta *n = node_new(TNACE_META_SCALAR);
  char *v = dupstr(value);
  if (!n || !v) { free(n); free(v); return NULL; }
  n->value = v;
  n->quoted = tnace_meta_scalar_needs_quotes(value);
  tnace_meta **tail = &seq->child;
  while (*tail) tail = &(*tail)->next;
  *tail = n;
  return n;
}

/* Copy of one node (key, value, children), not of its siblings. */
static tnace_meta *clone_node(const tnace_meta *m) {
  tnace_meta *n = node_new(m->kind);
  if (!n) return NULL;
  n->quoted = m->quoted;
  if ((m->key && !(n->key = dupstr(m->key))) || (m->value && !(n->value = dupstr(m->value)))) {
    tnace_meta_free(n);
    return NULL;
  }
  tnace_meta **tail = &n->child;
  for (const tnace_meta *c = m->child; c; c = c->next) {
    if (!(*tail = clone_node(c))) { tnace_meta_free(n); return NULL; }
    tail = &(*tail)->next;
  }
  return n;
}

tnace_meta *tnace_meta_clone(const tnace_meta *m) {
  return m ? clone_node(m) : NULL;
}

/* Frees m and its subtree; not its siblings (a root has none; a node still linked into a parent must
 * not be freed on its own). */
void tnace_meta_free(tnace_meta *m) {
  if (!m) return;
  free_list(m->child);
  free(m->key);
  free(m->value);
  free(m);
}
