/*
 * potential_yaml.c — reading and writing potential files (format: docs/potential-format.md).
 *
 * Reading streams libyaml parser events straight into flat arrays (no document tree: a 100 MB file has
 * millions of numbers), so the keys may come in any order: the whole file is first parsed into a `doc`
 * (each value with its line), then validated and turned into a tnace_potential. Every error message is
 * "<path>:<line>: <key>: <what is wrong>", the first error found wins.
 *
 * Writing uses stdio for the fixed part (core data as wrapped flow sequences, "%.17g" or the exact
 * "%.15g") and libyaml's emitter for the free-form metadata tree, so that any string is quoted correctly.
 * Numbers are read and written in the C locale.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "model.h"
#include "util.h"
#include "ylm.h"

/* meta.c */
int tnace_meta_scalar_needs_quotes(const char *s);
void tnace_meta_format_double(double v, char *buf, size_t len);
size_t tnace_fix_exponent(char *buf, size_t n);

#define META_MAX_DEPTH 64
#define MAX_NMAX 10000
#define MAX_BOND 1000000

static const char *const site_kind[3] = {"species", "radial", "angular"};

/* Numbers are read and written in the "C" locale whatever the host program set (a decimal comma would
 * break strtod / printf): switched for this thread only, with uselocale. */
typedef struct { locale_t c, old; } cloc;
static cloc cloc_push(void) {
  cloc l = {newlocale(LC_NUMERIC_MASK, "C", (locale_t)0), (locale_t)0};
  if (l.c) l.old = uselocale(l.c);
  return l;
}
static void cloc_pop(cloc l) {
  if (!l.c) return;
  uselocale(l.old);
  freelocale(l.c);
}

/* ============================================================================================== */
/* Parsed (not yet validated) file content                                                          */
/* ============================================================================================== */

typedef struct {
  int line;
  unsigned seen;                /* bit per key of {kind, shape, data} */
  int kind;                     /* 0 species, 1 radial, 2 angular, -1 unknown */
  char kind_text[24];
  int kind_line, shape_line, data_line;
  int shape[3];
  double *data;
  size_t n, cap;
} site_in;

typedef struct {
  int line;
  unsigned seen;
  char elem[8];
  int elem_line;
  long term;
  int term_line;
  int bond[TNACE_MAX_SITES + 1], n_bond, bond_line;
  site_in site[TNACE_MAX_SITES];
  int n_site, sites_line;
  int layer, layer_line;        /* 0 ket (default), 1 bra: the two layers of an mpo term */
} core_in;

enum {
  K_FORMAT, K_VERSION, K_UNITS, K_ELEMENTS, K_E0, K_RADIAL, K_CUTOFF, K_RMIN, K_REPULSION, K_TERMS,
  K_CORES, K_METADATA, N_TOPKEYS
};
static const char *const top_keys[N_TOPKEYS] = {"format", "version", "units", "elements", "e0", "radial",
                                               "cutoff", "r_min", "repulsion", "terms", "cores",
                                               "metadata"};
/* Keys that must be present. */
static const unsigned top_required = (1u << K_FORMAT) | (1u << K_VERSION) | (1u << K_UNITS) |
                                     (1u << K_ELEMENTS) | (1u << K_E0) | (1u << K_RADIAL) |
                                     (1u << K_CUTOFF) | (1u << K_TERMS) | (1u << K_CORES);

typedef struct {
  unsigned seen;
  int map_line;
  int key_line[N_TOPKEYS];
  int n_el;
  char elem[TNACE_MAX_ELEMENTS][4];
  int n_e0;
  double e0[TNACE_MAX_ELEMENTS];
  double lambda;
  int cut_is_scalar, cut_rows, cut_cols[TNACE_MAX_ELEMENTS];
  double cut[TNACE_MAX_ELEMENTS][TNACE_MAX_ELEMENTS];
  int cut_line[TNACE_MAX_ELEMENTS][TNACE_MAX_ELEMENTS];
  double r_min;
  int rep_type;
  double rep_inner, rep_outer;
  int n_terms;
  tnace_term_spec spec[TNACE_MAX_TERMS];
  core_in *core;
  int n_core, cap_core;
  tnace_meta *meta;
} doc;

static void doc_free(doc *d) {
  for (int i = 0; i < d->n_core; i++)
    for (int s = 0; s < d->core[i].n_site; s++) free(d->core[i].site[s].data);
  free(d->core);
  tnace_meta_free(d->meta);
  memset(d, 0, sizeof *d);
}

/* ============================================================================================== */
/* Errors                                                                                           */
/* ============================================================================================== */

typedef struct {
  const char *file;
  char *err;
  size_t errlen;
  int rc;
} ectx;

/* Record "<file>:<line>: <key>: <message>" (key may be NULL, line ≤ 0: no line) unless an error was
 * already recorded; returns the error code (the first one recorded). */
static int failv(ectx *e, int code, int line, const char *key, const char *fmt, va_list ap) {
  if (e->rc) return e->rc;
  e->rc = code;
  if (!e->err || !e->errlen) return code;
  size_t n = 0;
  int w;
  if (line > 0)
    w = snprintf(e->err, e->errlen, "%s:%d: ", e->file, line);
  else
    w = snprintf(e->err, e->errlen, "%s: ", e->file);
  if (w > 0) n = (size_t)w < e->errlen ? (size_t)w : e->errlen - 1;
  if (key && n < e->errlen) {
    w = snprintf(e->err + n, e->errlen - n, "%s: ", key);
    if (w > 0) n += (size_t)w < e->errlen - n ? (size_t)w : e->errlen - n - 1;
  }
  if (n < e->errlen) vsnprintf(e->err + n, e->errlen - n, fmt, ap);
  return code;
}

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static int fail(ectx *e, int code, int line, const char *key, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  failv(e, code, line, key, fmt, ap);
  va_end(ap);
  return e->rc;
}

/* Key path of an error, built only when there is one. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static const char *kp(char *buf, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, len, fmt, ap);
  va_end(ap);
  return buf;
}

/* ============================================================================================== */
/* Event reader                                                                                     */
/* ============================================================================================== */

typedef struct {
  yaml_parser_t p;
  yaml_event_t ev;
  int has_ev;
  FILE *f;
  ectx e;
} rd;

/* Line (1-based) of byte `offset` of the input file: libyaml's reader errors give only the offset. */
static int offset_line(FILE *f, size_t offset) {
  int line = 1, c;
  if (!f || fseek(f, 0, SEEK_SET) != 0) return 0;
  for (size_t i = 0; i < offset && (c = getc(f)) != EOF; i++) line += c == '\n';
  return line;
}

static int ev_line(const rd *r) { return (int)r->ev.start_mark.line + 1; }

static const char *ev_name(const yaml_event_t *ev) {
  switch (ev->type) {
    case YAML_SCALAR_EVENT: return "a scalar";
    case YAML_SEQUENCE_START_EVENT: return "a sequence";
    case YAML_MAPPING_START_EVENT: return "a mapping";
    case YAML_SEQUENCE_END_EVENT: return "the end of a sequence";
    case YAML_MAPPING_END_EVENT: return "the end of a mapping";
    case YAML_DOCUMENT_START_EVENT: return "a new document";
    case YAML_DOCUMENT_END_EVENT: return "the end of the document";
    case YAML_STREAM_END_EVENT: return "the end of the file";
    default: return "an unexpected event";
  }
}

/* Next event into r->ev. `key` (may be NULL) names where we are, for syntax errors. */
static int rd_next(rd *r, const char *key) {
  if (r->has_ev) {
    yaml_event_delete(&r->ev);
    r->has_ev = 0;
  }
  if (r->e.rc) return r->e.rc;
  if (!yaml_parser_parse(&r->p, &r->ev)) {
    const yaml_parser_t *p = &r->p;
    if (p->error == YAML_MEMORY_ERROR) return fail(&r->e, TNACE_ERR_NOMEM, 0, NULL, "out of memory");
    if (p->error == YAML_READER_ERROR)
      return fail(&r->e, TNACE_ERR_PARSE, offset_line(r->f, p->problem_offset), NULL,
                  "cannot read file: %s (byte %zu)", p->problem ? p->problem : "read error", p->problem_offset);
    int line = (int)p->problem_mark.line + 1;
    if (p->context)
      return fail(&r->e, TNACE_ERR_PARSE, line, key, "YAML syntax error: %s (%s at line %d)",
                  p->problem ? p->problem : "?", p->context, (int)p->context_mark.line + 1);
    return fail(&r->e, TNACE_ERR_PARSE, line, key, "YAML syntax error: %s", p->problem ? p->problem : "?");
  }
  r->has_ev = 1;
  if (r->ev.type == YAML_ALIAS_EVENT)
    return fail(&r->e, TNACE_ERR_PARSE, ev_line(r), key, "YAML aliases (*%s) are not supported",
                (const char *)r->ev.data.alias.anchor);
  return 0;
}

static const char *sc_text(const rd *r) { return (const char *)r->ev.data.scalar.value; }

static int want(rd *r, yaml_event_type_t type, const char *key, const char *what) {
  if (r->ev.type == type) return 0;
  if (r->ev.type == YAML_SCALAR_EVENT && r->ev.data.scalar.length == 0 &&
      r->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
    return fail(&r->e, TNACE_ERR_PARSE, ev_line(r), key, "expected %s, got nothing (empty value)", what);
  if (r->ev.type == YAML_SCALAR_EVENT)
    return fail(&r->e, TNACE_ERR_PARSE, ev_line(r), key, "expected %s, got '%.40s'", what, sc_text(r));
  return fail(&r->e, TNACE_ERR_PARSE, ev_line(r), key, "expected %s, got %s", what, ev_name(&r->ev));
}

static int is_nonfinite_text(const char *s) {
  if (*s == '+' || *s == '-') s++;
  if (*s == '.') s++;
  return !strcasecmp(s, "nan") || !strcasecmp(s, "inf") || !strcasecmp(s, "infinity");
}

/* Scalar text → finite double. Returns 0, or an error. Fast path for the data arrays. */
static inline int text_double(const char *s, size_t len, double *out) {
  char *end;
  if (!len || *s == ' ' || *s == '\t') return 1;
  *out = strtod(s, &end);
  if (end != s + len) return 1;
  if (!isfinite(*out)) return 2;
  return 0;
}

static int bad_number(rd *r, const char *key) {
  if (r->ev.type != YAML_SCALAR_EVENT) return want(r, YAML_SCALAR_EVENT, key, "a number");
  const char *s = sc_text(r);
  if (is_nonfinite_text(s) || text_double(s, r->ev.data.scalar.length, &(double){0}) == 2)
    return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), key, "NaN/Inf not allowed (got '%.40s')", s);
  if (!*s) return fail(&r->e, TNACE_ERR_PARSE, ev_line(r), key, "expected a number, got nothing");
  return fail(&r->e, TNACE_ERR_PARSE, ev_line(r), key, "expected a number, got '%.40s'", s);
}

/* The current event as a finite number. */
static int ev_double(rd *r, const char *key, double *out) {
  if (r->ev.type != YAML_SCALAR_EVENT || text_double(sc_text(r), r->ev.data.scalar.length, out))
    return bad_number(r, key);
  return 0;
}

/* The current event as an integer in [lo, hi]. */
static int ev_long(rd *r, const char *key, long lo, long hi, long *out) {
  if (r->ev.type != YAML_SCALAR_EVENT) return want(r, YAML_SCALAR_EVENT, key, "an integer");
  const char *s = sc_text(r);
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (!*s || *s == ' ' || end != s + r->ev.data.scalar.length)
    return fail(&r->e, TNACE_ERR_PARSE, ev_line(r), key, "expected an integer, got '%.40s'", s);
  if (errno == ERANGE || v < lo || v > hi)
    return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), key, "%.40s is out of range (%ld..%ld)", s, lo, hi);
  *out = v;
  return 0;
}

static int ev_int(rd *r, const char *key, long lo, long hi, int *out) {
  long v = 0;
  if (ev_long(r, key, lo, hi, &v)) return r->e.rc;
  *out = (int)v;
  return 0;
}

/* The current event as a string (copied, truncated to len−1 chars: callers compare afterwards). */
static int ev_str(rd *r, const char *key, char *buf, size_t len) {
  if (r->ev.type != YAML_SCALAR_EVENT) return want(r, YAML_SCALAR_EVENT, key, "a string");
  snprintf(buf, len, "%s", sc_text(r));
  return 0;
}

/* Read the next mapping key into `k`, or detect the end of the mapping (*end = 1). The key must be one
 * of keys[0..nkeys) (error naming `ctx`), not seen before in this mapping; *idx gets its index. */
static int next_key(rd *r, const char *ctx, const char *const *keys, int nkeys, unsigned *seen, int *idx,
                    int *end) {
  char buf[160];
  *end = 0;
  if (rd_next(r, ctx)) return r->e.rc;
  if (r->ev.type == YAML_MAPPING_END_EVENT) {
    *end = 1;
    return 0;
  }
  if (r->ev.type != YAML_SCALAR_EVENT)
    return fail(&r->e, TNACE_ERR_PARSE, ev_line(r), ctx, "mapping keys must be strings, got %s",
                ev_name(&r->ev));
  const char *k = sc_text(r);
  for (int i = 0; i < nkeys; i++)
    if (strcmp(k, keys[i]) == 0) {
      const char *path = ctx ? kp(buf, sizeof buf, "%s.%s", ctx, k) : k;
      if (*seen & (1u << i)) return fail(&r->e, TNACE_ERR_PARSE, ev_line(r), path, "duplicate key");
      *seen |= 1u << i;
      *idx = i;
      return 0;
    }
  char allowed[256];
  size_t n = 0;
  for (int i = 0; i < nkeys && n < sizeof allowed; i++) {
    int w = snprintf(allowed + n, sizeof allowed - n, "%s%s", i ? ", " : "", keys[i]);
    if (w > 0) n += (size_t)w;
  }
  const char *path = ctx ? kp(buf, sizeof buf, "%s.%.60s", ctx, k) : kp(buf, sizeof buf, "%.60s", k);
  return fail(&r->e, TNACE_ERR_PARSE, ev_line(r), path, "unknown key (allowed: %s)", allowed);
}

/* After the end of a mapping: every key in `required` was seen. */
static int check_required(rd *r, int map_line, const char *ctx, const char *const *keys, int nkeys,
                          unsigned seen, unsigned required) {
  char buf[160];
  for (int i = 0; i < nkeys; i++)
    if ((required & (1u << i)) && !(seen & (1u << i)))
      return fail(&r->e, TNACE_ERR_PARSE, map_line,
                  ctx ? kp(buf, sizeof buf, "%s.%s", ctx, keys[i]) : keys[i], "missing required key");
  return 0;
}

/* Read a flow/block sequence of numbers at the current event (SEQUENCE_START) into buf[0..max);
 * *n = count. More than max numbers is an error. */
static int read_num_seq(rd *r, const char *key, double *buf, int max, int *n) {
  char kb[160];
  if (want(r, YAML_SEQUENCE_START_EVENT, key, "a sequence of numbers")) return r->e.rc;
  for (*n = 0;; (*n)++) {
    if (rd_next(r, key)) return r->e.rc;
    if (r->ev.type == YAML_SEQUENCE_END_EVENT) return 0;
    if (*n >= max)
      return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), key, "too many values (at most %d)", max);
    if (ev_double(r, kp(kb, sizeof kb, "%s[%d]", key, *n), &buf[*n])) return r->e.rc;
  }
}

static int read_int_seq(rd *r, const char *key, int *buf, int max, long lo, long hi, int *n) {
  char kb[160];
  if (want(r, YAML_SEQUENCE_START_EVENT, key, "a sequence of integers")) return r->e.rc;
  for (*n = 0;; (*n)++) {
    if (rd_next(r, key)) return r->e.rc;
    if (r->ev.type == YAML_SEQUENCE_END_EVENT) return 0;
    if (*n >= max)
      return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), key, "too many values (at most %d)", max);
    if (ev_int(r, kp(kb, sizeof kb, "%s[%d]", key, *n), lo, hi, &buf[*n])) return r->e.rc;
  }
}

/* ---- top-level values ------------------------------------------------------------------------ */

static int read_elements(rd *r, doc *d) {
  char kb[64], sym[16];
  if (want(r, YAML_SEQUENCE_START_EVENT, "elements", "a sequence of element symbols")) return r->e.rc;
  for (d->n_el = 0;; d->n_el++) {
    if (rd_next(r, "elements")) return r->e.rc;
    if (r->ev.type == YAML_SEQUENCE_END_EVENT) break;
    const char *key = kp(kb, sizeof kb, "elements[%d]", d->n_el);
    if (d->n_el >= TNACE_MAX_ELEMENTS)
      return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), "elements", "too many elements (at most %d)",
                  TNACE_MAX_ELEMENTS);
    if (ev_str(r, key, sym, sizeof sym)) return r->e.rc;
    if (strlen(sc_text(r)) > 3 || tnace_atomic_number(sym) == 0)
      return fail(&r->e, TNACE_ERR_ELEMENT, ev_line(r), key, "unknown element '%.40s'", sc_text(r));
    for (int i = 0; i < d->n_el; i++)
      if (strcmp(d->elem[i], sym) == 0)
        return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), key, "duplicate element '%s' (also elements[%d])",
                    sym, i);
    memcpy(d->elem[d->n_el], sym, 4);
  }
  if (d->n_el == 0)
    return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), "elements", "at least one element is required");
  return 0;
}

static int read_radial(rd *r, doc *d) {
  static const char *const keys[] = {"basis", "lambda"};
  char buf[32];
  unsigned seen = 0;
  int idx = 0, end = 0, line = ev_line(r);
  if (want(r, YAML_MAPPING_START_EVENT, "radial", "a mapping {basis: chebexpcos, lambda: ...}"))
    return r->e.rc;
  for (;;) {
    if (next_key(r, "radial", keys, 2, &seen, &idx, &end)) return r->e.rc;
    if (end) break;
    if (rd_next(r, "radial")) return r->e.rc;
    if (idx == 0) {
      if (ev_str(r, "radial.basis", buf, sizeof buf)) return r->e.rc;
      if (strcmp(buf, "chebexpcos") != 0)
        return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), "radial.basis",
                    "unknown radial basis '%.40s' (supported: chebexpcos)", sc_text(r));
    } else {
      if (ev_double(r, "radial.lambda", &d->lambda)) return r->e.rc;
      if (!(d->lambda > 0))
        return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), "radial.lambda", "must be > 0 (got %s)", sc_text(r));
    }
  }
  return check_required(r, line, "radial", keys, 2, seen, 3u);
}

static int read_cutoff(rd *r, doc *d) {
  char kb[64];
  if (r->ev.type == YAML_SCALAR_EVENT) {
    d->cut_is_scalar = 1;
    d->cut_line[0][0] = ev_line(r);
    return ev_double(r, "cutoff", &d->cut[0][0]);
  }
  if (want(r, YAML_SEQUENCE_START_EVENT, "cutoff", "a number or a matrix [[...], ...]")) return r->e.rc;
  for (d->cut_rows = 0;; d->cut_rows++) {
    if (rd_next(r, "cutoff")) return r->e.rc;
    if (r->ev.type == YAML_SEQUENCE_END_EVENT) break;
    int a = d->cut_rows;
    if (a >= TNACE_MAX_ELEMENTS)
      return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), "cutoff", "too many rows (at most %d)",
                  TNACE_MAX_ELEMENTS);
    const char *key = kp(kb, sizeof kb, "cutoff[%d]", a);
    if (want(r, YAML_SEQUENCE_START_EVENT, key, "a row of numbers [..]")) return r->e.rc;
    for (d->cut_cols[a] = 0;; d->cut_cols[a]++) {
      if (rd_next(r, key)) return r->e.rc;
      if (r->ev.type == YAML_SEQUENCE_END_EVENT) break;
      int b = d->cut_cols[a];
      if (b >= TNACE_MAX_ELEMENTS)
        return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), key, "too many values (at most %d)",
                    TNACE_MAX_ELEMENTS);
      d->cut_line[a][b] = ev_line(r);
      if (ev_double(r, kp(kb, sizeof kb, "cutoff[%d][%d]", a, b), &d->cut[a][b])) return r->e.rc;
    }
  }
  return 0;
}

static int read_repulsion(rd *r, doc *d) {
  static const char *const keys[] = {"type", "inner", "outer"};
  char buf[32];
  unsigned seen = 0;
  int idx = 0, end = 0, line = ev_line(r);
  if (want(r, YAML_MAPPING_START_EVENT, "repulsion", "a mapping {type: none|zbl, inner: .., outer: ..}"))
    return r->e.rc;
  for (;;) {
    if (next_key(r, "repulsion", keys, 3, &seen, &idx, &end)) return r->e.rc;
    if (end) break;
    if (rd_next(r, "repulsion")) return r->e.rc;
    if (idx == 0) {
      if (ev_str(r, "repulsion.type", buf, sizeof buf)) return r->e.rc;
      if (strcmp(buf, "none") == 0)
        d->rep_type = TNACE_REP_NONE;
      else if (strcmp(buf, "zbl") == 0)
        d->rep_type = TNACE_REP_ZBL;
      else
        return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), "repulsion.type",
                    "unknown repulsion '%.40s' (supported: none, zbl)", sc_text(r));
    } else {
      const char *key = idx == 1 ? "repulsion.inner" : "repulsion.outer";
      double *v = idx == 1 ? &d->rep_inner : &d->rep_outer;
      if (ev_double(r, key, v)) return r->e.rc;
      if (*v < 0) return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), key, "must be >= 0 (got %s)", sc_text(r));
    }
  }
  if (check_required(r, line, "repulsion", keys, 3, seen, 1u)) return r->e.rc;
  if (d->rep_type == TNACE_REP_ZBL) {
    if (check_required(r, line, "repulsion", keys, 3, seen, 7u)) return r->e.rc;
    if (!(d->rep_inner < d->rep_outer))
      return fail(&r->e, TNACE_ERR_VALUE, line, "repulsion", "inner (%g) must be < outer (%g)", d->rep_inner,
                  d->rep_outer);
  }
  return 0;
}

static int read_terms(rd *r, doc *d) {
  static const char *const keys[] = {"nu", "lmax", "nmax", "chi", "model", "rank", "species_rank", "species_copies"};
  char kb[64], kb2[80], buf[32];
  if (want(r, YAML_SEQUENCE_START_EVENT, "terms", "a sequence of {nu, lmax, nmax, chi, model}"))
    return r->e.rc;
  for (d->n_terms = 0;; d->n_terms++) {
    if (rd_next(r, "terms")) return r->e.rc;
    if (r->ev.type == YAML_SEQUENCE_END_EVENT) break;
    if (d->n_terms >= TNACE_MAX_TERMS)
      return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), "terms", "too many terms (at most %d)", TNACE_MAX_TERMS);
    const char *ctx = kp(kb, sizeof kb, "terms[%d]", d->n_terms);
    tnace_term_spec *sp = &d->spec[d->n_terms];
    unsigned seen = 0;
    int idx = 0, end = 0, line = ev_line(r);
    if (want(r, YAML_MAPPING_START_EVENT, ctx, "a mapping {nu, lmax, nmax, chi, model}")) return r->e.rc;
    for (;;) {
      if (next_key(r, ctx, keys, 8, &seen, &idx, &end)) return r->e.rc;
      if (end) break;
      const char *key = kp(kb2, sizeof kb2, "%s.%s", ctx, keys[idx]);
      if (rd_next(r, key)) return r->e.rc;
      switch (idx) {
        case 0: if (ev_int(r, key, 1, TNACE_MAX_NU, &sp->nu)) return r->e.rc; break;
        case 1: if (ev_int(r, key, 0, TNACE_LMAX_LIMIT, &sp->lmax)) return r->e.rc; break;
        case 2: if (ev_int(r, key, 1, MAX_NMAX, &sp->nmax)) return r->e.rc; break;
        case 3: if (ev_int(r, key, 1, MAX_BOND, &sp->chi)) return r->e.rc; break;
        case 5: if (ev_int(r, key, 1, MAX_BOND, &sp->rank)) return r->e.rc; break;
        case 6: if (ev_int(r, key, 1, TNACE_MAX_ELEMENTS, &sp->srank)) return r->e.rc; break;
        case 7: if (ev_int(r, key, 1, TNACE_MAX_NU, &sp->scopies)) return r->e.rc; break;
        default:
          if (ev_str(r, key, buf, sizeof buf)) return r->e.rc;
          if (!strcmp(buf, "mps"))
            sp->model = TNACE_MODEL_MPS;
          else if (!strcmp(buf, "mpo"))
            sp->model = TNACE_MODEL_MPO;
          else
            return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), key, "unknown model '%.40s' (supported: mps, mpo)",
                        sc_text(r));
      }
    }
    if (check_required(r, line, ctx, keys, 8, seen, 31u)) return r->e.rc;
    if (sp->scopies > sp->nu)
      return fail(&r->e, TNACE_ERR_VALUE, line, ctx, "species_copies (%d) exceeds nu (%d)", sp->scopies, sp->nu);
    if (sp->model == TNACE_MODEL_MPO && sp->nu != 2)
      return fail(&r->e, TNACE_ERR_VALUE, line, ctx, "an mpo term acts on the nu = 2 invariant (got nu = %d)", sp->nu);
    if (sp->model == TNACE_MODEL_MPO && !(seen & 32u))
      return fail(&r->e, TNACE_ERR_PARSE, line, ctx, "an mpo term needs its rank (the bond joining its layers)");
    if (sp->model != TNACE_MODEL_MPO && (seen & 32u))
      return fail(&r->e, TNACE_ERR_VALUE, line, ctx, "rank is only for model: mpo");
  }
  return 0;
}

/* data: numbers appended into s->data (grown by doubling). The hot loop of a big file. */
static int read_data(rd *r, site_in *s, const char *key) {
  if (want(r, YAML_SEQUENCE_START_EVENT, key, "a sequence of numbers")) return r->e.rc;
  s->data_line = ev_line(r);
  for (;;) {
    if (rd_next(r, key)) return r->e.rc;
    if (r->ev.type == YAML_SEQUENCE_END_EVENT) return 0;
    if (s->n == s->cap) {
      size_t cap = s->cap ? 2 * s->cap : 256;
      double *p = cap < SIZE_MAX / sizeof(double) ? realloc(s->data, cap * sizeof(double)) : NULL;
      if (!p) return fail(&r->e, TNACE_ERR_NOMEM, ev_line(r), key, "out of memory");
      s->data = p;
      s->cap = cap;
    }
    if (r->ev.type != YAML_SCALAR_EVENT ||
        text_double((const char *)r->ev.data.scalar.value, r->ev.data.scalar.length, &s->data[s->n])) {
      char kb[200];
      return bad_number(r, kp(kb, sizeof kb, "%s[%zu]", key, s->n));
    }
    s->n++;
  }
}

static int read_site(rd *r, site_in *s, const char *ctx) {
  static const char *const keys[] = {"kind", "shape", "data"};
  char kb[128], buf[24];
  int idx = 0, end = 0, n = 0;
  s->line = ev_line(r);
  s->kind = -1;
  if (want(r, YAML_MAPPING_START_EVENT, ctx, "a mapping {kind, shape, data}")) return r->e.rc;
  for (;;) {
    if (next_key(r, ctx, keys, 3, &s->seen, &idx, &end)) return r->e.rc;
    if (end) break;
    const char *key = kp(kb, sizeof kb, "%s.%s", ctx, keys[idx]);
    if (rd_next(r, key)) return r->e.rc;
    if (idx == 0) {
      if (ev_str(r, key, buf, sizeof buf)) return r->e.rc;
      s->kind_line = ev_line(r);
      snprintf(s->kind_text, sizeof s->kind_text, "%s", buf);
      for (int k = 0; k < 3; k++)
        if (strcmp(buf, site_kind[k]) == 0) s->kind = k;
      if (s->kind < 0)
        return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), key,
                    "unknown site kind '%.40s' (species, radial or angular)", sc_text(r));
    } else if (idx == 1) {
      s->shape_line = ev_line(r);
      if (read_int_seq(r, key, s->shape, 3, 1, INT_MAX, &n)) return r->e.rc;
      if (n != 3)
        return fail(&r->e, TNACE_ERR_VALUE, s->shape_line, key,
                    "expected 3 dimensions [phys, bond_left, bond_right], got %d", n);
    } else {
      if (read_data(r, s, key)) return r->e.rc;
    }
  }
  return check_required(r, s->line, ctx, keys, 3, s->seen, 7u);
}

static int read_core(rd *r, core_in *c, const char *ctx) {
  static const char *const keys[] = {"element", "term", "bonds", "sites", "layer"};
  char kb[96], kb2[128];
  int idx = 0, end = 0;
  c->line = ev_line(r);
  if (want(r, YAML_MAPPING_START_EVENT, ctx, "a mapping {element, term, bonds, sites}")) return r->e.rc;
  for (;;) {
    if (next_key(r, ctx, keys, 5, &c->seen, &idx, &end)) return r->e.rc;
    if (end) break;
    const char *key = kp(kb, sizeof kb, "%s.%s", ctx, keys[idx]);
    if (rd_next(r, key)) return r->e.rc;
    switch (idx) {
      case 4: {
        char lb[16];
        c->layer_line = ev_line(r);
        if (ev_str(r, key, lb, sizeof lb)) return r->e.rc;
        if (!strcmp(lb, "ket"))
          c->layer = 0;
        else if (!strcmp(lb, "bra"))
          c->layer = 1;
        else
          return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), key, "unknown layer '%.40s' (ket or bra)", sc_text(r));
        break;
      }
      case 0:
        c->elem_line = ev_line(r);
        if (ev_str(r, key, c->elem, sizeof c->elem)) return r->e.rc;
        break;
      case 1:
        c->term_line = ev_line(r);
        if (ev_long(r, key, 0, TNACE_MAX_TERMS - 1, &c->term)) return r->e.rc;
        break;
      case 2:
        c->bond_line = ev_line(r);
        if (read_int_seq(r, key, c->bond, TNACE_MAX_SITES + 1, 1, MAX_BOND, &c->n_bond)) return r->e.rc;
        break;
      default:
        c->sites_line = ev_line(r);
        if (want(r, YAML_SEQUENCE_START_EVENT, key, "a sequence of sites")) return r->e.rc;
        for (c->n_site = 0;;) {
          if (rd_next(r, key)) return r->e.rc;
          if (r->ev.type == YAML_SEQUENCE_END_EVENT) break;
          if (c->n_site >= TNACE_MAX_SITES)
            return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), key, "too many sites (at most %d)",
                        TNACE_MAX_SITES);
          site_in *s = &c->site[c->n_site++];
          if (read_site(r, s, kp(kb2, sizeof kb2, "%s[%d]", key, c->n_site - 1))) return r->e.rc;
        }
    }
  }
  return check_required(r, c->line, ctx, keys, 5, c->seen, 15u);
}

static int read_cores(rd *r, doc *d) {
  char kb[32];
  if (want(r, YAML_SEQUENCE_START_EVENT, "cores", "a sequence of cores")) return r->e.rc;
  for (;;) {
    if (rd_next(r, "cores")) return r->e.rc;
    if (r->ev.type == YAML_SEQUENCE_END_EVENT) return 0;
    if (d->n_core >= TNACE_MAX_ELEMENTS * TNACE_MAX_TERMS)
      return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), "cores", "too many cores (at most %d)",
                  TNACE_MAX_ELEMENTS * TNACE_MAX_TERMS);
    if (d->n_core == d->cap_core) {
      int cap = d->cap_core ? 2 * d->cap_core : 8;
      core_in *p = realloc(d->core, (size_t)cap * sizeof *p);
      if (!p) return fail(&r->e, TNACE_ERR_NOMEM, ev_line(r), "cores", "out of memory");
      d->core = p;
      d->cap_core = cap;
    }
    core_in *c = &d->core[d->n_core++];
    memset(c, 0, sizeof *c);
    if (read_core(r, c, kp(kb, sizeof kb, "cores[%d]", d->n_core - 1))) return r->e.rc;
  }
}

/* ---- metadata: events → tnace_meta tree -------------------------------------------------------- */

static int read_meta_node(rd *r, tnace_meta **out, const char *key, int depth);

static int meta_fill(rd *r, tnace_meta *n, const char *key, int depth) {
  char kb[200];
  tnace_meta **tail = &n->child;
  int i = 0;
  for (;; i++) {
    if (rd_next(r, key)) return r->e.rc;
    if (r->ev.type == YAML_MAPPING_END_EVENT || r->ev.type == YAML_SEQUENCE_END_EVENT) return 0;
    char *k = NULL;
    if (n->kind == TNACE_META_MAP) {
      if (r->ev.type != YAML_SCALAR_EVENT)
        return fail(&r->e, TNACE_ERR_PARSE, ev_line(r), key, "mapping keys must be scalars, got %s",
                    ev_name(&r->ev));
      for (tnace_meta *c = n->child; c; c = c->next)
        if (strcmp(c->key, sc_text(r)) == 0)
          return fail(&r->e, TNACE_ERR_PARSE, ev_line(r), kp(kb, sizeof kb, "%s.%.60s", key, sc_text(r)),
                      "duplicate key");
      if (!(k = strdup(sc_text(r)))) return fail(&r->e, TNACE_ERR_NOMEM, ev_line(r), key, "out of memory");
      kp(kb, sizeof kb, "%s.%.60s", key, k);
      if (rd_next(r, kb)) { free(k); return r->e.rc; }
    } else {
      kp(kb, sizeof kb, "%s[%d]", key, i);
    }
    if (read_meta_node(r, tail, kb, depth + 1)) { free(k); return r->e.rc; }
    (*tail)->key = k;
    tail = &(*tail)->next;
  }
}

/* The node starting at the current event. */
static int read_meta_node(rd *r, tnace_meta **out, const char *key, int depth) {
  *out = NULL;
  if (depth > META_MAX_DEPTH)
    return fail(&r->e, TNACE_ERR_PARSE, ev_line(r), key, "nested deeper than %d levels", META_MAX_DEPTH);
  tnace_meta *n = calloc(1, sizeof *n);
  if (!n) return fail(&r->e, TNACE_ERR_NOMEM, ev_line(r), key, "out of memory");
  *out = n;
  switch (r->ev.type) {
    case YAML_SCALAR_EVENT: {
      const yaml_event_t *ev = &r->ev;
      n->kind = TNACE_META_SCALAR;
      if (!(n->value = strdup(sc_text(r)))) return fail(&r->e, TNACE_ERR_NOMEM, ev_line(r), key, "out of memory");
      n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                  (ev->data.scalar.tag && strcmp((const char *)ev->data.scalar.tag, YAML_STR_TAG) == 0);
      return 0;
    }
    case YAML_MAPPING_START_EVENT: n->kind = TNACE_META_MAP; return meta_fill(r, n, key, depth);
    case YAML_SEQUENCE_START_EVENT: n->kind = TNACE_META_SEQ; return meta_fill(r, n, key, depth);
    default: return want(r, YAML_SCALAR_EVENT, key, "a value");
  }
}

static int read_metadata(rd *r, doc *d) {
  if (r->ev.type == YAML_SCALAR_EVENT && r->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
    const char *s = sc_text(r);
    if (!*s || !strcmp(s, "~") || !strcasecmp(s, "null")) return 0; /* no metadata */
  }
  if (want(r, YAML_MAPPING_START_EVENT, "metadata", "a mapping")) return r->e.rc;
  return read_meta_node(r, &d->meta, "metadata", 0);
}

/* ---- the document ------------------------------------------------------------------------------ */

static int read_doc(rd *r, doc *d) {
  char buf[64];
  if (rd_next(r, NULL) || want(r, YAML_STREAM_START_EVENT, NULL, "a YAML stream")) return r->e.rc;
  if (rd_next(r, NULL)) return r->e.rc;
  if (r->ev.type == YAML_STREAM_END_EVENT)
    return fail(&r->e, TNACE_ERR_PARSE, ev_line(r), NULL,
                "empty file (expected a mapping with format: " TNACE_FORMAT_NAME ")");
  if (want(r, YAML_DOCUMENT_START_EVENT, NULL, "a YAML document") || rd_next(r, NULL)) return r->e.rc;
  if (r->ev.type != YAML_MAPPING_START_EVENT)
    return fail(&r->e, TNACE_ERR_PARSE, ev_line(r), NULL,
                "expected a mapping with format: " TNACE_FORMAT_NAME " at the top level, got %s",
                ev_name(&r->ev));
  d->map_line = ev_line(r);
  for (;;) {
    int idx = 0, end = 0;
    if (next_key(r, NULL, top_keys, N_TOPKEYS, &d->seen, &idx, &end)) return r->e.rc;
    if (end) break;
    const char *key = top_keys[idx];
    d->key_line[idx] = ev_line(r);
    if (rd_next(r, key)) return r->e.rc;
    int n = 0;
    switch (idx) {
      case K_FORMAT:
        if (ev_str(r, key, buf, sizeof buf)) return r->e.rc;
        if (strcmp(sc_text(r), TNACE_FORMAT_NAME) != 0)
          return fail(&r->e, TNACE_ERR_PARSE, ev_line(r), key, "expected '" TNACE_FORMAT_NAME "', got '%.40s'",
                      sc_text(r));
        break;
      case K_VERSION: {
        long v = 0;
        if (ev_long(r, key, LONG_MIN, LONG_MAX, &v)) return r->e.rc;
        if (v != TNACE_FORMAT_VERSION)
          return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), key,
                      "unsupported format version %ld (this libtnace reads version %d)", v,
                      TNACE_FORMAT_VERSION);
        break;
      }
      case K_UNITS:
        if (ev_str(r, key, buf, sizeof buf)) return r->e.rc;
        if (strcmp(sc_text(r), "metal") != 0)
          return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), key,
                      "unsupported units '%.40s' (only 'metal': Å, eV)", sc_text(r));
        break;
      case K_ELEMENTS: if (read_elements(r, d)) return r->e.rc; break;
      case K_E0:
        if (read_num_seq(r, key, d->e0, TNACE_MAX_ELEMENTS, &n)) return r->e.rc;
        d->n_e0 = n;
        break;
      case K_RADIAL: if (read_radial(r, d)) return r->e.rc; break;
      case K_CUTOFF: if (read_cutoff(r, d)) return r->e.rc; break;
      case K_RMIN:
        if (ev_double(r, key, &d->r_min)) return r->e.rc;
        if (d->r_min < 0)
          return fail(&r->e, TNACE_ERR_VALUE, ev_line(r), key, "must be >= 0 (got %s)", sc_text(r));
        break;
      case K_REPULSION: if (read_repulsion(r, d)) return r->e.rc; break;
      case K_TERMS: if (read_terms(r, d)) return r->e.rc; break;
      case K_CORES: if (read_cores(r, d)) return r->e.rc; break;
      default: if (read_metadata(r, d)) return r->e.rc; break;
    }
  }
  if (check_required(r, d->map_line, NULL, top_keys, N_TOPKEYS, d->seen, top_required)) return r->e.rc;
  if (rd_next(r, NULL) || want(r, YAML_DOCUMENT_END_EVENT, NULL, "the end of the document")) return r->e.rc;
  if (rd_next(r, NULL)) return r->e.rc;
  if (r->ev.type != YAML_STREAM_END_EVENT)
    return fail(&r->e, TNACE_ERR_PARSE, ev_line(r), NULL, "more than one YAML document in the file");
  return 0;
}

/* ============================================================================================== */
/* Validation and construction                                                                      */
/* ============================================================================================== */

static int build_core(ectx *e, const doc *d, const core_in *c, int ci, tnace_potential *pot,
                      unsigned char *have, int *first_line) {
  char kb[96];
  int a = -1;
  for (int i = 0; i < d->n_el; i++)
    if (strcmp(d->elem[i], c->elem) == 0) a = i;
  if (a < 0)
    return fail(e, TNACE_ERR_ELEMENT, c->elem_line, kp(kb, sizeof kb, "cores[%d].element", ci),
                "'%s' is not one of the elements", c->elem);
  if (c->term >= d->n_terms)
    return fail(e, TNACE_ERR_VALUE, c->term_line, kp(kb, sizeof kb, "cores[%d].term", ci),
                "term %ld does not exist (%d terms)", c->term, d->n_terms);
  int t = (int)c->term, at = a * d->n_terms + t;
  const tnace_term_spec *sp = &d->spec[t];
  const int mpo = sp->model == TNACE_MODEL_MPO;
  if (c->layer && !mpo)
    return fail(e, TNACE_ERR_VALUE, c->layer_line, kp(kb, sizeof kb, "cores[%d].layer", ci),
                "term %d is an mps term: it has no bra layer", t);
  const int slot = 2 * at + c->layer;
  if (have[slot])
    return fail(e, TNACE_ERR_VALUE, c->line, kp(kb, sizeof kb, "cores[%d]", ci),
                "duplicate core for element %s, term %d%s (first at line %d)", c->elem, t,
                mpo ? (c->layer ? ", layer bra" : ", layer ket") : "", first_line[slot]);
  have[slot] = 1;
  first_line[slot] = c->line;

  int ns = 3 * sp->nu;
  const int kout = mpo ? sp->rank : 1;
  if (c->n_bond != ns + 1)
    return fail(e, TNACE_ERR_VALUE, c->bond_line, kp(kb, sizeof kb, "cores[%d].bonds", ci),
                "expected %d bond dimensions (3*nu+1, nu = %d), got %d", ns + 1, sp->nu, c->n_bond);
  if (c->bond[0] != 1 || c->bond[ns] != kout)
    return fail(e, TNACE_ERR_VALUE, c->bond_line, kp(kb, sizeof kb, "cores[%d].bonds", ci),
                "the first bond dimension must be 1 and the last %d%s (got %d and %d)", kout,
                mpo ? " (the term's rank)" : "", c->bond[0], c->bond[ns]);
  if (c->n_site != ns)
    return fail(e, TNACE_ERR_VALUE, c->sites_line, kp(kb, sizeof kb, "cores[%d].sites", ci),
                "expected %d sites (3 per copy, nu = %d), got %d", ns, sp->nu, c->n_site);
  /* Shapes against bonds and data counts, before allocating anything of the file's sizes. */
  for (int s = 0; s < ns; s++) {
    const site_in *si = &c->site[s];
    if (si->kind != s % 3)
      return fail(e, TNACE_ERR_VALUE, si->kind_line, kp(kb, sizeof kb, "cores[%d].sites[%d].kind", ci, s),
                  "expected '%s' (site %d = copy %d %s), got '%s'", site_kind[s % 3], s, s / 3,
                  site_kind[s % 3], si->kind_text);
    if (si->shape[1] != c->bond[s] || si->shape[2] != c->bond[s + 1])
      return fail(e, TNACE_ERR_VALUE, si->shape_line, kp(kb, sizeof kb, "cores[%d].sites[%d].shape", ci, s),
                  "[%d, %d, %d] does not match bonds (expected [phys, %d, %d])", si->shape[0], si->shape[1],
                  si->shape[2], c->bond[s], c->bond[s + 1]);
    size_t want_n = (size_t)si->shape[0];
    int ovf = 0;
    for (int k = 1; k < 3; k++) {
      if (want_n > SIZE_MAX / (size_t)si->shape[k]) ovf = 1;
      else want_n *= (size_t)si->shape[k];
    }
    if (ovf || si->n != want_n)
      return fail(e, TNACE_ERR_VALUE, si->data_line ? si->data_line : si->line,
                  kp(kb, sizeof kb, "cores[%d].sites[%d].data", ci, s),
                  "expected %zu numbers (shape [%d, %d, %d]), got %zu", ovf ? SIZE_MAX : want_n, si->shape[0],
                  si->shape[1], si->shape[2], si->n);
  }
  tnace_tn tn;
  char msg[256] = "";
  memset(&tn, 0, sizeof tn);
  int rc = tn_init_bonds(&tn, sp->nu, sp->lmax, sp->nmax, d->n_el, c->bond, msg, sizeof msg);
  if (rc) {
    tn_free(&tn);
    return fail(e, rc, c->bond_line, kp(kb, sizeof kb, "cores[%d].bonds", ci), "%s", msg);
  }
  for (int s = 0; s < ns; s++) {
    const site_in *si = &c->site[s];
    if (si->shape[0] != tn.phys[s] || tn_core_size(&tn, s) != si->n) {
      const char *why = s % 3 == 0 ? "the number of elements"
                      : s % 3 == 1 ? "nmax of the term"
                                   : "the number of angular labels of this copy for the term's nu, lmax";
      fail(e, TNACE_ERR_VALUE, si->shape_line, kp(kb, sizeof kb, "cores[%d].sites[%d].shape", ci, s),
           "physical dimension %d should be %d (%s)", si->shape[0], tn.phys[s], why);
      tn_free(&tn);
      return e->rc;
    }
    memcpy(tn.core[s], si->data, si->n * sizeof(double));
  }
  tnace_tn *dst = tnace_layer(pot, a, t, c->layer);
  tn_free(dst);
  *dst = tn;
  return 0;
}

static int build(ectx *e, const doc *d, tnace_potential **out) {
  char kb[64], msg[256] = "";
  *out = NULL;
  if (d->n_e0 != d->n_el)
    return fail(e, TNACE_ERR_VALUE, d->key_line[K_E0], "e0", "expected %d values (one per element), got %d",
                d->n_el, d->n_e0);
  /* cutoff */
  double rc[TNACE_MAX_ELEMENTS][TNACE_MAX_ELEMENTS];
  if (d->cut_is_scalar) {
    for (int a = 0; a < d->n_el; a++)
      for (int b = 0; b < d->n_el; b++) rc[a][b] = d->cut[0][0];
    if (!(d->cut[0][0] > 0))
      return fail(e, TNACE_ERR_VALUE, d->cut_line[0][0], "cutoff", "must be > 0 (got %g)", d->cut[0][0]);
  } else {
    if (d->cut_rows != d->n_el)
      return fail(e, TNACE_ERR_VALUE, d->key_line[K_CUTOFF], "cutoff",
                  "expected a number or a %dx%d matrix (one row per element), got %d rows", d->n_el, d->n_el,
                  d->cut_rows);
    for (int a = 0; a < d->n_el; a++) {
      if (d->cut_cols[a] != d->n_el)
        return fail(e, TNACE_ERR_VALUE, d->key_line[K_CUTOFF], kp(kb, sizeof kb, "cutoff[%d]", a),
                    "expected %d values, got %d", d->n_el, d->cut_cols[a]);
      for (int b = 0; b < d->n_el; b++) {
        rc[a][b] = d->cut[a][b];
        if (!(rc[a][b] > 0))
          return fail(e, TNACE_ERR_VALUE, d->cut_line[a][b], kp(kb, sizeof kb, "cutoff[%d][%d]", a, b),
                      "must be > 0 (got %g)", rc[a][b]);
      }
    }
    for (int a = 0; a < d->n_el; a++)
      for (int b = 0; b < a; b++)
        if (rc[a][b] != rc[b][a])
          return fail(e, TNACE_ERR_VALUE, d->cut_line[a][b], kp(kb, sizeof kb, "cutoff[%d][%d]", a, b),
                      "matrix not symmetric: %.17g != cutoff[%d][%d] = %.17g", rc[a][b], b, a, rc[b][a]);
  }
  for (int a = 0; a < d->n_el; a++)
    for (int b = 0; b < d->n_el; b++)
      if (d->r_min >= rc[a][b])
        return fail(e, TNACE_ERR_VALUE, d->key_line[K_RMIN], "r_min", "%g must be smaller than the cutoff %g",
                    d->r_min, rc[a][b]);

  const char *names[TNACE_MAX_ELEMENTS];
  for (int a = 0; a < d->n_el; a++) names[a] = d->elem[a];
  /* Created with chi = 1 (tiny placeholder cores): every term is re-allocated below with the file's bond
   * dimensions; chi itself is kept in the spec. */
  tnace_term_spec spec1[TNACE_MAX_TERMS];
  for (int t = 0; t < d->n_terms; t++) {
    spec1[t] = d->spec[t];
    spec1[t].chi = 1;
  }
  tnace_potential *pot = NULL;
  int code = tnace_potential_create(&pot, d->n_el, names, d->n_terms, spec1, rc[0][0], d->lambda, msg,
                                    sizeof msg);
  if (code || !pot) {
    if (pot) tnace_potential_free(pot);
    return fail(e, code ? code : TNACE_ERR_NOMEM, d->key_line[K_TERMS], "terms", "%s", msg);
  }
  for (int t = 0; t < d->n_terms; t++) pot->spec[t] = d->spec[t];
  for (int a = 0; a < d->n_el; a++) {
    pot->e0[a] = d->e0[a];
    for (int b = 0; b < d->n_el; b++) pot->rcut[a][b] = rc[a][b];
  }
  pot->r_min = d->r_min;
  pot->rep_type = d->rep_type;
  pot->rep_inner = d->rep_type == TNACE_REP_ZBL ? d->rep_inner : 0;
  pot->rep_outer = d->rep_type == TNACE_REP_ZBL ? d->rep_outer : 0;

  int nat = d->n_el * d->n_terms;
  unsigned char have[2 * TNACE_MAX_ELEMENTS * TNACE_MAX_TERMS] = {0};
  int first_line[2 * TNACE_MAX_ELEMENTS * TNACE_MAX_TERMS] = {0};
  for (int i = 0; i < d->n_core; i++)
    if (build_core(e, d, &d->core[i], i, pot, have, first_line)) goto fail;
  for (int at = 0; at < nat; at++)
    for (int layer = 0; layer < (d->spec[at % d->n_terms].model == TNACE_MODEL_MPO ? 2 : 1); layer++)
      if (!have[2 * at + layer]) {
        fail(e, TNACE_ERR_VALUE, d->key_line[K_CORES], "cores", "missing core for element %s, term %d%s",
             d->elem[at / d->n_terms], at % d->n_terms, layer ? ", layer bra" : "");
        goto fail;
      }
  code = tnace_potential_prepare(pot, msg, sizeof msg);
  if (code) {
    fail(e, code, d->map_line, NULL, "%s", msg);
    goto fail;
  }
  *out = pot;
  return 0;
fail:
  tnace_potential_free(pot);
  return e->rc;
}

int tnace_potential_load(const char *path, tnace_potential **out, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (out) *out = NULL;
  ectx e0 = {path ? path : "(null)", err, errlen, 0};
  if (!path || !out) return fail(&e0, TNACE_ERR_ARG, 0, NULL, "tnace_potential_load: NULL argument");
  FILE *f = fopen(path, "rb");
  if (!f) return fail(&e0, TNACE_ERR_IO, 0, NULL, "cannot open: %s", strerror(errno));
  rd *r = calloc(1, sizeof *r);
  doc *d = calloc(1, sizeof *d);
  if (!r || !d || !yaml_parser_initialize(&r->p)) {
    free(r);
    free(d);
    fclose(f);
    return fail(&e0, TNACE_ERR_NOMEM, 0, NULL, "out of memory");
  }
  r->e = e0;
  r->f = f;
  yaml_parser_set_input_file(&r->p, f);
  cloc loc = cloc_push();
  int rc = read_doc(r, d);
  if (r->has_ev) yaml_event_delete(&r->ev);
  yaml_parser_delete(&r->p);
  if (!rc && ferror(f)) rc = fail(&r->e, TNACE_ERR_IO, 0, NULL, "read error: %s", strerror(errno));
  fclose(f);
  tnace_potential *pot = NULL;
  if (!rc) rc = build(&r->e, d, &pot);
  cloc_pop(loc);
  if (!rc) {
    pot->meta = d->meta;
    d->meta = NULL;
    *out = pot;
  }
  doc_free(d);
  free(d);
  free(r);
  return rc;
}

/* ============================================================================================== */
/* Writing                                                                                          */
/* ============================================================================================== */

typedef struct {
  char *p;
  size_t n, cap;
  int nomem;
} sbuf;

static int sbuf_write(void *data, unsigned char *buf, size_t size) {
  sbuf *b = data;
  if (b->n + size + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (b->n + size + 1 > cap) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) { b->nomem = 1; return 0; }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, buf, size);
  b->n += size;
  return 1;
}

static int emit_scalar(yaml_emitter_t *em, const char *v, int quoted) {
  yaml_event_t ev;
  if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)(v ? v : ""), -1, !quoted, 1,
                                    YAML_ANY_SCALAR_STYLE))
    return 0;
  return yaml_emitter_emit(em, &ev);
}

static int emit_meta(yaml_emitter_t *em, const tnace_meta *m, int depth) {
  yaml_event_t ev;
  if (depth > 1000) return 0;
  switch (m->kind) {
    case TNACE_META_MAP:
      if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) ||
          !yaml_emitter_emit(em, &ev))
        return 0;
      for (const tnace_meta *c = m->child; c; c = c->next)
        if (!emit_scalar(em, c->key ? c->key : "", c->key ? tnace_meta_scalar_needs_quotes(c->key) : 1) ||
            !emit_meta(em, c, depth + 1))
          return 0;
      return yaml_mapping_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
    case TNACE_META_SEQ:
      if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE) ||
          !yaml_emitter_emit(em, &ev))
        return 0;
      for (const tnace_meta *c = m->child; c; c = c->next)
        if (!emit_meta(em, c, depth + 1)) return 0;
      return yaml_sequence_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
    default:
      return emit_scalar(em, m->value, m->quoted);
  }
}

/* "metadata:\n  ..." as YAML text in *out (malloc'd, NUL-terminated). 0 or an error code. */
static int meta_to_text(const tnace_meta *m, char **out) {
  yaml_emitter_t em;
  yaml_event_t ev;
  sbuf b = {0};
  *out = NULL;
  if (!yaml_emitter_initialize(&em)) return TNACE_ERR_NOMEM;
  yaml_emitter_set_output(&em, sbuf_write, &b);
  yaml_emitter_set_unicode(&em, 1);
  yaml_emitter_set_width(&em, -1);
  yaml_emitter_set_indent(&em, 2);
  int ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) && yaml_emitter_emit(&em, &ev) &&
           yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) && yaml_emitter_emit(&em, &ev) &&
           yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) &&
           yaml_emitter_emit(&em, &ev) && emit_scalar(&em, "metadata", 0) && emit_meta(&em, m, 0) &&
           yaml_mapping_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev) &&
           yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&em, &ev) &&
           yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev) && yaml_emitter_flush(&em);
  yaml_emitter_delete(&em);
  if (!ok || b.nomem) {
    free(b.p);
    return b.nomem ? TNACE_ERR_NOMEM : TNACE_ERR_VALUE;
  }
  if (!b.p) return TNACE_ERR_VALUE;
  b.p[b.n] = '\0';
  *out = b.p;
  return 0;
}

/* A scalar that must stay a string (element symbols such as No, Y, N): quoted when YAML would read the
 * plain form as something else. */
static void put_sym(FILE *f, const char *s) {
  if (tnace_meta_scalar_needs_quotes(s))
    fprintf(f, "\"%s\"", s);
  else
    fputs(s, f);
}

static const char *shortest(double v, char *buf, size_t len) {
  tnace_meta_format_double(v, buf, len);
  return buf;
}

/* x at buf (room for 32 chars) as "%.17g", or as "%.15g" when that reads back exactly (0.1, not
 * 0.10000000000000001); with a dot before any exponent. Returns the length.
 * A 15-digit form D can exist only when the 17-digit mantissa ends in 00..12 or 88..99: |x − D| is at
 * most half an ulp, ≤ 11.5 units of the 17th digit, and D is a multiple of 100 such units. So the
 * (slow) strtod check is skipped for most trained parameters. */
static size_t put_num(char *buf, double x) {
  int w = snprintf(buf, 32, "%.17g", x);
  if (w < 2) return w > 0 ? (size_t)w : 0;
  const char *e = memchr(buf, 'e', (size_t)w);
  size_t m = e ? (size_t)(e - buf) : (size_t)w;
  /* significant digits of the mantissa (%g drops trailing zeros) and its last two as a 17-digit one */
  int nd = 0, last2 = 0, started = 0;
  for (size_t i = 0; i < m; i++) {
    char c = buf[i];
    if (c < '0' || c > '9') continue;
    if (c != '0') started = 1;
    if (started) nd++, last2 = (10 * last2 + (c - '0')) % 100;
  }
  if (nd == 16) last2 = (last2 % 10) * 10;
  if (nd >= 16) {
    if (last2 <= 12 || last2 >= 88) {
      char b15[32];
      int w15 = snprintf(b15, sizeof b15, "%.15g", x);
      if (w15 > 0 && w15 < w && strtod(b15, NULL) == x) {
        memcpy(buf, b15, (size_t)w15 + 1);
        w = w15;
      }
    }
  }
  return tnace_fix_exponent(buf, (size_t)w);
}

/* data: [ ... ] of one core, one line per at most 6 numbers, a matrix row never shares a line. */
static void put_data(FILE *f, const double *x, size_t n, int row) {
  char line[6 * 28 + 64];
  if (n <= 6) {
    fputs("        data: [", f);
    for (size_t i = 0; i < n; i++) {
      size_t len = put_num(line, x[i]);
      if (i) fputs(", ", f);
      fwrite(line, 1, len, f);
    }
    fputs("]\n", f);
    return;
  }
  fputs("        data: [\n", f);
  size_t i = 0;
  while (i < n) {
    size_t len = 10;
    memset(line, ' ', 10);
    size_t in_row = (size_t)row - i % (size_t)row, k = in_row < 6 ? in_row : 6;
    for (size_t j = 0; j < k; j++, i++) {
      len += put_num(line + len, x[i]);
      if (i + 1 < n) { line[len++] = ','; if (j + 1 < k) line[len++] = ' '; }
    }
    if (i == n) line[len++] = ']';
    line[len++] = '\n';
    fwrite(line, 1, len, f);
  }
}

/* The file itself (called in the C locale); `meta_text` is emitted first so that a metadata problem
 * leaves no file behind. */
static int save_text(const tnace_potential *pot, const char *path, ectx *e) {
  char b1[40], b2[40];
  char *meta_text = NULL;
  if (pot->meta) {
    int rc = meta_to_text(pot->meta, &meta_text);
    if (rc)
      return fail(e, rc, 0, "metadata",
                  rc == TNACE_ERR_NOMEM ? "out of memory" : "cannot be written as YAML (invalid UTF-8?)");
  }

  FILE *f = fopen(path, "wb");
  if (!f) {
    free(meta_text);
    return fail(e, TNACE_ERR_IO, 0, NULL, "cannot open for writing: %s", strerror(errno));
  }
  static const size_t bufsize = 1 << 20;
  char *iobuf = malloc(bufsize);
  if (iobuf) setvbuf(f, iobuf, _IOFBF, bufsize);

  fprintf(f, "# tnace potential file (libtnace %s); format: docs/potential-format.md\n", TNACE_VERSION_STRING);
  fprintf(f, "format: %s\nversion: %d\nunits: metal\n", TNACE_FORMAT_NAME, TNACE_FORMAT_VERSION);
  fputs("elements: [", f);
  for (int a = 0; a < pot->n_el; a++) {
    if (a) fputs(", ", f);
    put_sym(f, pot->elem[a]);
  }
  fputs("]\ne0: [", f);
  for (int a = 0; a < pot->n_el; a++) fprintf(f, a ? ", %s" : "%s", shortest(pot->e0[a], b1, sizeof b1));
  fprintf(f, "]\nradial: {basis: chebexpcos, lambda: %s}\n", shortest(pot->lambda, b1, sizeof b1));
  int uniform = 1;
  for (int a = 0; a < pot->n_el; a++)
    for (int b = 0; b < pot->n_el; b++) uniform &= pot->rcut[a][b] == pot->rcut[0][0];
  if (uniform) {
    fprintf(f, "cutoff: %s\n", shortest(pot->rcut[0][0], b1, sizeof b1));
  } else {
    fputs("cutoff:\n", f);
    for (int a = 0; a < pot->n_el; a++) {
      fputs("  - [", f);
      for (int b = 0; b < pot->n_el; b++) fprintf(f, b ? ", %s" : "%s", shortest(pot->rcut[a][b], b1, sizeof b1));
      fputs("]\n", f);
    }
  }
  fprintf(f, "r_min: %s\n", shortest(pot->r_min, b1, sizeof b1));
  if (pot->rep_type == TNACE_REP_ZBL)
    fprintf(f, "repulsion: {type: zbl, inner: %s, outer: %s}\n", shortest(pot->rep_inner, b1, sizeof b1),
            shortest(pot->rep_outer, b2, sizeof b2));
  else
    fputs("repulsion: {type: none}\n", f);
  fputs(pot->n_terms ? "terms:\n" : "terms: []\n", f);
  for (int t = 0; t < pot->n_terms; t++) {
    const tnace_term_spec *sp = &pot->spec[t];
    if (sp->model == TNACE_MODEL_MPO)
      fprintf(f, "  - {nu: %d, lmax: %d, nmax: %d, chi: %d, model: mpo, rank: %d", sp->nu, sp->lmax, sp->nmax,
              sp->chi, sp->rank);
    else
      fprintf(f, "  - {nu: %d, lmax: %d, nmax: %d, chi: %d, model: mps", sp->nu, sp->lmax, sp->nmax, sp->chi);
    if (sp->srank > 0) fprintf(f, ", species_rank: %d", sp->srank);
    if (sp->scopies > 0) fprintf(f, ", species_copies: %d", sp->scopies);
    fputs("}\n", f);
  }
  fputs(pot->n_terms ? "cores:\n" : "cores: []\n", f);
  for (int a = 0; a < pot->n_el; a++)
    for (int t = 0; t < pot->n_terms; t++)
      for (int layer = 0; layer < tnace_n_layers(pot, t); layer++) {
      const tnace_tn *tn = tnace_layer(pot, a, t, layer);
      int ns = 3 * tn->nu;
      fputs("  - element: ", f);
      put_sym(f, pot->elem[a]);
      fprintf(f, "\n    term: %d\n", t);
      if (pot->spec[t].model == TNACE_MODEL_MPO) fprintf(f, "    layer: %s\n", layer ? "bra" : "ket");
      fputs("    bonds: [", f);
      for (int s = 0; s <= ns; s++) fprintf(f, s ? ", %d" : "%d", tn->bond[s]);
      fputs("]\n    sites:\n", f);
      for (int s = 0; s < ns; s++) {
        fprintf(f, "      - kind: %s\n        shape: [%d, %d, %d]\n", site_kind[s % 3], tn->phys[s], tn->bond[s],
                tn->bond[s + 1]);
        put_data(f, tn->core[s], tn_core_size(tn, s), tn->bond[s + 1]);
      }
    }
  if (meta_text) fputs(meta_text, f);
  free(meta_text);

  int werr = ferror(f) ? (errno ? errno : EIO) : 0;
  if (fflush(f) != 0 && !werr) werr = errno ? errno : EIO;
  if (fclose(f) != 0 && !werr) werr = errno ? errno : EIO;
  free(iobuf);
  if (werr) return fail(e, TNACE_ERR_IO, 0, NULL, "write failed: %s", strerror(werr));
  return 0;
}

int tnace_potential_save(const tnace_potential *pot, const char *path, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  ectx e = {path ? path : "(null)", err, errlen, 0};
  if (!pot || !path) return fail(&e, TNACE_ERR_ARG, 0, NULL, "tnace_potential_save: NULL argument");
  /* Refuse to write a file that could not be read back. */
  for (int a = 0; a < pot->n_el; a++)
    for (int t = 0; t < pot->n_terms; t++)
      for (int layer = 0; layer < tnace_n_layers(pot, t); layer++) {
      const tnace_tn *tn = tnace_layer(pot, a, t, layer);
      for (int s = 0; s < 3 * tn->nu; s++) {
        size_t n = tn_core_size(tn, s);
        for (size_t i = 0; i < n; i++)
          if (!isfinite(tn->core[s][i]))
            return fail(&e, TNACE_ERR_NUMERIC, 0, NULL, "core of element %s, term %d, site %d has a NaN/Inf",
                        pot->elem[a], t, s);
      }
    }
  if (pot->meta && pot->meta->kind != TNACE_META_MAP)
    return fail(&e, TNACE_ERR_VALUE, 0, "metadata", "must be a mapping");
  cloc loc = cloc_push();
  int rc = save_text(pot, path, &e);
  cloc_pop(loc);
  return rc;
}

