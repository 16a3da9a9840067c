/*
 * potential_yaml.c — reading a potential file (docs/potential-format.md) into a pio_doc
 * (potential_file.h); potential_load.c validates it and builds the tnace_potential.
 *
 * Reading streams libyaml parser events straight into flat arrays (no document tree: a 100 MB file has
 * millions of numbers), so the keys may come in any order: the whole file is parsed into the pio_doc
 * (each value with its line) before anything is validated against other keys. Each value is checked on
 * its own here (type, range, the size limits of tnace_limits.h), so a file asking for a bond or nmax no
 * tensor network can have is refused before anything of its size is allocated. Every error message is
 * "<path>:<line>: <key>: <what is wrong>", the first error found wins.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "model.h"
#include "potential_file.h"
#include "tnace_limits.h"
#include "util.h"

/* Metadata is a free-form tree: a bound keeps a hostile file from exhausting the stack. */
#define META_MAX_DEPTH 64

const char *const pio_site_kind[3] = {"species", "radial", "angular"};

static const char *const top_keys[N_TOPKEYS] = {"format", "version", "units", "elements", "e0", "radial",
                                               "cutoff", "r_min", "repulsion", "terms", "cores",
                                               "grade", "property", "metadata"};
/* Keys that must be present. */
static const unsigned top_required = (1u << K_FORMAT) | (1u << K_VERSION) | (1u << K_UNITS) |
                                     (1u << K_ELEMENTS) | (1u << K_E0) | (1u << K_RADIAL) |
                                     (1u << K_CUTOFF) | (1u << K_TERMS) | (1u << K_CORES);

void pio_doc_free(pio_doc *d) {
  for (int i = 0; i < d->n_core; i++)
    for (int s = 0; s < d->core[i].n_site; s++) free(d->core[i].site[s].data);
  free(d->core);
  for (int i = 0; i < d->n_grade; i++) { free(d->grade[i].cols.data); free(d->grade[i].ainv.data); }
  tnace_meta_free(d->meta);
  memset(d, 0, sizeof *d);
}

/* ============================================================================================== */
/* Errors                                                                                           */
/* ============================================================================================== */

int pio_fail(pio_err *e, int code, int line, const char *key, const char *fmt, ...) {
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
  if (n < e->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->err + n, e->errlen - n, fmt, ap);
    va_end(ap);
  }
  return code;
}

const char *pio_key(char *buf, size_t len, const char *fmt, ...) {
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
  pio_err *e;
} rd;

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
  tnace_yaml_err ye;
  if (r->e->rc) return r->e->rc;
  int code = tnace_yaml_next_event(&r->p, &r->ev, &r->has_ev, r->f, &ye);
  return code ? pio_fail(r->e, code, ye.line, ye.at_key ? key : NULL, "%s", ye.msg) : 0;
}

static const char *sc_text(const rd *r) { return (const char *)r->ev.data.scalar.value; }

static int want(rd *r, yaml_event_type_t type, const char *key, const char *what) {
  if (r->ev.type == type) return 0;
  if (r->ev.type == YAML_SCALAR_EVENT && r->ev.data.scalar.length == 0 &&
      r->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
    return pio_fail(r->e, TNACE_ERR_PARSE, ev_line(r), key, "expected %s, got nothing (empty value)", what);
  if (r->ev.type == YAML_SCALAR_EVENT)
    return pio_fail(r->e, TNACE_ERR_PARSE, ev_line(r), key, "expected %s, got '%.40s'", what, sc_text(r));
  return pio_fail(r->e, TNACE_ERR_PARSE, ev_line(r), key, "expected %s, got %s", what, ev_name(&r->ev));
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
    return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key, "NaN/Inf not allowed (got '%.40s')", s);
  if (!*s) return pio_fail(r->e, TNACE_ERR_PARSE, ev_line(r), key, "expected a number, got nothing");
  return pio_fail(r->e, TNACE_ERR_PARSE, ev_line(r), key, "expected a number, got '%.40s'", s);
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
    return pio_fail(r->e, TNACE_ERR_PARSE, ev_line(r), key, "expected an integer, got '%.40s'", s);
  if (errno == ERANGE || v < lo || v > hi)
    return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key, "%.40s is out of range (%ld..%ld)", s, lo, hi);
  *out = v;
  return 0;
}

static int ev_int(rd *r, const char *key, long lo, long hi, int *out) {
  long v = 0;
  if (ev_long(r, key, lo, hi, &v)) return r->e->rc;
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
  if (rd_next(r, ctx)) return r->e->rc;
  if (r->ev.type == YAML_MAPPING_END_EVENT) {
    *end = 1;
    return 0;
  }
  if (r->ev.type != YAML_SCALAR_EVENT)
    return pio_fail(r->e, TNACE_ERR_PARSE, ev_line(r), ctx, "mapping keys must be strings, got %s",
                    ev_name(&r->ev));
  const char *k = sc_text(r);
  for (int i = 0; i < nkeys; i++)
    if (strcmp(k, keys[i]) == 0) {
      const char *path = ctx ? pio_key(buf, sizeof buf, "%s.%s", ctx, k) : k;
      if (*seen & (1u << i)) return pio_fail(r->e, TNACE_ERR_PARSE, ev_line(r), path, "duplicate key");
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
  const char *path = ctx ? pio_key(buf, sizeof buf, "%s.%.60s", ctx, k) : pio_key(buf, sizeof buf, "%.60s", k);
  return pio_fail(r->e, TNACE_ERR_PARSE, ev_line(r), path, "unknown key (allowed: %s)", allowed);
}

/* After the end of a mapping: every key in `required` was seen. */
static int check_required(rd *r, int map_line, const char *ctx, const char *const *keys, int nkeys,
                          unsigned seen, unsigned required) {
  char buf[160];
  for (int i = 0; i < nkeys; i++)
    if ((required & (1u << i)) && !(seen & (1u << i)))
      return pio_fail(r->e, TNACE_ERR_PARSE, map_line,
                      ctx ? pio_key(buf, sizeof buf, "%s.%s", ctx, keys[i]) : keys[i], "missing required key");
  return 0;
}

/* Read a flow/block sequence of numbers at the current event (SEQUENCE_START) into buf[0..max);
 * *n = count. More than max numbers is an error. */
static int read_num_seq(rd *r, const char *key, double *buf, int max, int *n) {
  char kb[160];
  if (want(r, YAML_SEQUENCE_START_EVENT, key, "a sequence of numbers")) return r->e->rc;
  for (*n = 0;; (*n)++) {
    if (rd_next(r, key)) return r->e->rc;
    if (r->ev.type == YAML_SEQUENCE_END_EVENT) return 0;
    if (*n >= max)
      return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key, "too many values (at most %d)", max);
    if (ev_double(r, pio_key(kb, sizeof kb, "%s[%d]", key, *n), &buf[*n])) return r->e->rc;
  }
}

static int read_int_seq(rd *r, const char *key, int *buf, int max, long lo, long hi, int *n) {
  char kb[160];
  if (want(r, YAML_SEQUENCE_START_EVENT, key, "a sequence of integers")) return r->e->rc;
  for (*n = 0;; (*n)++) {
    if (rd_next(r, key)) return r->e->rc;
    if (r->ev.type == YAML_SEQUENCE_END_EVENT) return 0;
    if (*n >= max)
      return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key, "too many values (at most %d)", max);
    if (ev_int(r, pio_key(kb, sizeof kb, "%s[%d]", key, *n), lo, hi, &buf[*n])) return r->e->rc;
  }
}

/* ---- top-level values ------------------------------------------------------------------------ */

static int read_elements(rd *r, pio_doc *d) {
  char kb[64], sym[16];
  if (want(r, YAML_SEQUENCE_START_EVENT, "elements", "a sequence of element symbols")) return r->e->rc;
  for (d->n_el = 0;; d->n_el++) {
    if (rd_next(r, "elements")) return r->e->rc;
    if (r->ev.type == YAML_SEQUENCE_END_EVENT) break;
    const char *key = pio_key(kb, sizeof kb, "elements[%d]", d->n_el);
    if (d->n_el >= TNACE_MAX_ELEMENTS)
      return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), "elements", "too many elements (at most %d)",
                      TNACE_MAX_ELEMENTS);
    if (ev_str(r, key, sym, sizeof sym)) return r->e->rc;
    if (strlen(sc_text(r)) > 3 || tnace_atomic_number(sym) == 0)
      return pio_fail(r->e, TNACE_ERR_ELEMENT, ev_line(r), key, "unknown element '%.40s'", sc_text(r));
    for (int i = 0; i < d->n_el; i++)
      if (strcmp(d->elem[i], sym) == 0)
        return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key, "duplicate element '%s' (also elements[%d])",
                        sym, i);
    memcpy(d->elem[d->n_el], sym, 4);
  }
  if (d->n_el == 0)
    return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), "elements", "at least one element is required");
  return 0;
}

static int read_radial(rd *r, pio_doc *d) {
  static const char *const keys[] = {"basis", "lambda"};
  char buf[32];
  unsigned seen = 0;
  int idx = 0, end = 0, line = ev_line(r);
  if (want(r, YAML_MAPPING_START_EVENT, "radial", "a mapping {basis: chebexpcos, lambda: ...}"))
    return r->e->rc;
  for (;;) {
    if (next_key(r, "radial", keys, 2, &seen, &idx, &end)) return r->e->rc;
    if (end) break;
    if (rd_next(r, "radial")) return r->e->rc;
    if (idx == 0) {
      if (ev_str(r, "radial.basis", buf, sizeof buf)) return r->e->rc;
      if (strcmp(buf, "chebexpcos") != 0)
        return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), "radial.basis",
                        "unknown radial basis '%.40s' (supported: chebexpcos)", sc_text(r));
    } else {
      if (ev_double(r, "radial.lambda", &d->lambda)) return r->e->rc;
      if (!(d->lambda > 0))
        return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), "radial.lambda", "must be > 0 (got %s)", sc_text(r));
    }
  }
  return check_required(r, line, "radial", keys, 2, seen, 3u);
}

static int read_cutoff(rd *r, pio_doc *d) {
  char kb[64];
  if (r->ev.type == YAML_SCALAR_EVENT) {
    d->cut_is_scalar = 1;
    d->cut_line[0][0] = ev_line(r);
    return ev_double(r, "cutoff", &d->cut[0][0]);
  }
  if (want(r, YAML_SEQUENCE_START_EVENT, "cutoff", "a number or a matrix [[...], ...]")) return r->e->rc;
  for (d->cut_rows = 0;; d->cut_rows++) {
    if (rd_next(r, "cutoff")) return r->e->rc;
    if (r->ev.type == YAML_SEQUENCE_END_EVENT) break;
    int a = d->cut_rows;
    if (a >= TNACE_MAX_ELEMENTS)
      return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), "cutoff", "too many rows (at most %d)",
                      TNACE_MAX_ELEMENTS);
    const char *key = pio_key(kb, sizeof kb, "cutoff[%d]", a);
    if (want(r, YAML_SEQUENCE_START_EVENT, key, "a row of numbers [..]")) return r->e->rc;
    for (d->cut_cols[a] = 0;; d->cut_cols[a]++) {
      if (rd_next(r, key)) return r->e->rc;
      if (r->ev.type == YAML_SEQUENCE_END_EVENT) break;
      int b = d->cut_cols[a];
      if (b >= TNACE_MAX_ELEMENTS)
        return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key, "too many values (at most %d)",
                        TNACE_MAX_ELEMENTS);
      d->cut_line[a][b] = ev_line(r);
      if (ev_double(r, pio_key(kb, sizeof kb, "cutoff[%d][%d]", a, b), &d->cut[a][b])) return r->e->rc;
    }
  }
  return 0;
}

static int read_repulsion(rd *r, pio_doc *d) {
  static const char *const keys[] = {"type", "inner", "outer"};
  char buf[32];
  unsigned seen = 0;
  int idx = 0, end = 0, line = ev_line(r);
  if (want(r, YAML_MAPPING_START_EVENT, "repulsion", "a mapping {type: none|zbl, inner: .., outer: ..}"))
    return r->e->rc;
  for (;;) {
    if (next_key(r, "repulsion", keys, 3, &seen, &idx, &end)) return r->e->rc;
    if (end) break;
    if (rd_next(r, "repulsion")) return r->e->rc;
    if (idx == 0) {
      if (ev_str(r, "repulsion.type", buf, sizeof buf)) return r->e->rc;
      if (strcmp(buf, "none") == 0)
        d->rep_type = TNACE_REP_NONE;
      else if (strcmp(buf, "zbl") == 0)
        d->rep_type = TNACE_REP_ZBL;
      else
        return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), "repulsion.type",
                        "unknown repulsion '%.40s' (supported: none, zbl)", sc_text(r));
    } else {
      const char *key = idx == 1 ? "repulsion.inner" : "repulsion.outer";
      double *v = idx == 1 ? &d->rep_inner : &d->rep_outer;
      if (ev_double(r, key, v)) return r->e->rc;
      if (*v < 0) return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key, "must be >= 0 (got %s)", sc_text(r));
    }
  }
  if (check_required(r, line, "repulsion", keys, 3, seen, 1u)) return r->e->rc;
  if (d->rep_type == TNACE_REP_ZBL) {
    if (check_required(r, line, "repulsion", keys, 3, seen, 7u)) return r->e->rc;
    if (!(d->rep_inner < d->rep_outer))
      return pio_fail(r->e, TNACE_ERR_VALUE, line, "repulsion", "inner (%g) must be < outer (%g)", d->rep_inner,
                      d->rep_outer);
  }
  return 0;
}

static int read_terms(rd *r, pio_doc *d) {
  static const char *const keys[] = {"nu", "lmax", "nmax", "chi", "model", "rank", "species_rank", "species_copies",
                                     "pool", "shared", "scale"};
  char kb[64], kb2[80], buf[32];
  if (want(r, YAML_SEQUENCE_START_EVENT, "terms", "a sequence of {nu, lmax, nmax, chi, model}"))
    return r->e->rc;
  for (d->n_terms = 0;; d->n_terms++) {
    if (rd_next(r, "terms")) return r->e->rc;
    if (r->ev.type == YAML_SEQUENCE_END_EVENT) break;
    if (d->n_terms >= TNACE_MAX_TERMS)
      return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), "terms", "too many terms (at most %d)", TNACE_MAX_TERMS);
    const char *ctx = pio_key(kb, sizeof kb, "terms[%d]", d->n_terms);
    tnace_term_spec *sp = &d->spec[d->n_terms];
    unsigned seen = 0;
    int idx = 0, end = 0, line = ev_line(r);
    if (want(r, YAML_MAPPING_START_EVENT, ctx, "a mapping {nu, lmax, nmax, chi, model}")) return r->e->rc;
    for (;;) {
      if (next_key(r, ctx, keys, 11, &seen, &idx, &end)) return r->e->rc;
      if (end) break;
      const char *key = pio_key(kb2, sizeof kb2, "%s.%s", ctx, keys[idx]);
      if (rd_next(r, key)) return r->e->rc;
      switch (idx) {
        case 0: if (ev_int(r, key, 1, TNACE_MAX_NU, &sp->nu)) return r->e->rc; break;
        case 1: if (ev_int(r, key, 0, TNACE_LMAX_LIMIT, &sp->lmax)) return r->e->rc; break;
        case 2: if (ev_int(r, key, 1, TNACE_MAX_NMAX, &sp->nmax)) return r->e->rc; break;
        case 3: if (ev_int(r, key, 1, TNACE_MAX_BOND, &sp->chi)) return r->e->rc; break;
        case 5: if (ev_int(r, key, 1, TNACE_MAX_BOND, &sp->rank)) return r->e->rc; break;
        case 6: if (ev_int(r, key, 1, TNACE_MAX_ELEMENTS, &sp->srank)) return r->e->rc; break;
        case 7: if (ev_int(r, key, 1, TNACE_MAX_NU, &sp->scopies)) return r->e->rc; break;
        case 8:
        case 9: {
          int *flag = idx == 8 ? &sp->pool : &sp->shared;
          if (ev_str(r, key, buf, sizeof buf)) return r->e->rc;
          if (!strcmp(buf, "true")) *flag = 1;
          else if (!strcmp(buf, "false")) *flag = 0;
          else return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key, "'%.40s': true or false", sc_text(r));
          break;
        }
        case 10:
          if (ev_double(r, key, &sp->escale)) return r->e->rc;
          if (!(sp->escale > 0 && sp->escale <= TNACE_MAX_EMBED_SCALE))
            return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key, "%g eV: must be in (0, %g]", sp->escale,
                            TNACE_MAX_EMBED_SCALE);
          break;
        default:
          if (ev_str(r, key, buf, sizeof buf)) return r->e->rc;
          if (!strcmp(buf, "mps"))
            sp->model = TNACE_MODEL_MPS;
          else if (!strcmp(buf, "mpo"))
            sp->model = TNACE_MODEL_MPO;
          else if (!strcmp(buf, "embed"))
            sp->model = TNACE_MODEL_EMB;
          else
            return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key,
                            "unknown model '%.40s' (supported: mps, mpo, embed)", sc_text(r));
      }
    }
    if (check_required(r, line, ctx, keys, 11, seen, 31u)) return r->e->rc;
    if (sp->pool && sp->model != TNACE_MODEL_MPO)
      return pio_fail(r->e, TNACE_ERR_VALUE, line, ctx, "pool: true is for model: mpo");
    if (sp->scopies > sp->nu)
      return pio_fail(r->e, TNACE_ERR_VALUE, line, ctx, "species_copies (%d) exceeds nu (%d)", sp->scopies, sp->nu);
    if (sp->model == TNACE_MODEL_MPO && !(seen & 32u))
      return pio_fail(r->e, TNACE_ERR_PARSE, line, ctx, "an mpo term needs its rank (the bond joining its layers)");
    if (sp->model == TNACE_MODEL_EMB && (!(seen & 32u) || !(seen & 1024u)))
      return pio_fail(r->e, TNACE_ERR_PARSE, line, ctx, "an embed term needs its rank (outputs) and scale");
    if (sp->model == TNACE_MODEL_EMB && sp->rank < 2)
      return pio_fail(r->e, TNACE_ERR_VALUE, line, ctx, "an embed term needs rank ≥ 2 (got %d)", sp->rank);
    if (sp->model == TNACE_MODEL_MPS && (seen & 32u))
      return pio_fail(r->e, TNACE_ERR_VALUE, line, ctx, "rank is only for model: mpo or embed");
    if (sp->model != TNACE_MODEL_EMB && (seen & 1024u))
      return pio_fail(r->e, TNACE_ERR_VALUE, line, ctx, "scale is only for model: embed");
  }
  return 0;
}

/* data: numbers appended into s->data (grown by doubling). The hot loop of a big file. */
static int read_data(rd *r, pio_site *s, const char *key) {
  if (want(r, YAML_SEQUENCE_START_EVENT, key, "a sequence of numbers")) return r->e->rc;
  s->data_line = ev_line(r);
  for (;;) {
    if (rd_next(r, key)) return r->e->rc;
    if (r->ev.type == YAML_SEQUENCE_END_EVENT) return 0;
    if (s->n == s->cap) {
      size_t cap = s->cap ? 2 * s->cap : 256;
      double *p = cap < SIZE_MAX / sizeof(double) ? realloc(s->data, cap * sizeof(double)) : NULL;
      if (!p) return pio_fail(r->e, TNACE_ERR_NOMEM, ev_line(r), key, "out of memory");
      s->data = p;
      s->cap = cap;
    }
    if (r->ev.type != YAML_SCALAR_EVENT ||
        text_double((const char *)r->ev.data.scalar.value, r->ev.data.scalar.length, &s->data[s->n])) {
      char kb[200];
      return bad_number(r, pio_key(kb, sizeof kb, "%s[%zu]", key, s->n));
    }
    if (fabs(s->data[s->n]) > TNACE_MAX_ABS_VALUE) {
      char kb[200];
      return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), pio_key(kb, sizeof kb, "%s[%zu]", key, s->n),
                      "%g is not a fitted value (|x| > %g)", s->data[s->n], TNACE_MAX_ABS_VALUE);
    }
    s->n++;
  }
}

static int read_site(rd *r, pio_site *s, const char *ctx) {
  static const char *const keys[] = {"kind", "shape", "data"};
  char kb[128], buf[24];
  int idx = 0, end = 0, n = 0;
  s->line = ev_line(r);
  s->kind = -1;
  if (want(r, YAML_MAPPING_START_EVENT, ctx, "a mapping {kind, shape, data}")) return r->e->rc;
  for (;;) {
    if (next_key(r, ctx, keys, 3, &s->seen, &idx, &end)) return r->e->rc;
    if (end) break;
    const char *key = pio_key(kb, sizeof kb, "%s.%s", ctx, keys[idx]);
    if (rd_next(r, key)) return r->e->rc;
    if (idx == 0) {
      if (ev_str(r, key, buf, sizeof buf)) return r->e->rc;
      s->kind_line = ev_line(r);
      snprintf(s->kind_text, sizeof s->kind_text, "%s", buf);
      for (int k = 0; k < 3; k++)
        if (strcmp(buf, pio_site_kind[k]) == 0) s->kind = k;
      if (s->kind < 0)
        return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key,
                        "unknown site kind '%.40s' (species, radial or angular)", sc_text(r));
    } else if (idx == 1) {
      s->shape_line = ev_line(r);
      if (read_int_seq(r, key, s->shape, 3, 1, INT_MAX, &n)) return r->e->rc;
      if (n != 3)
        return pio_fail(r->e, TNACE_ERR_VALUE, s->shape_line, key,
                        "expected 3 dimensions [phys, bond_left, bond_right], got %d", n);
    } else {
      if (read_data(r, s, key)) return r->e->rc;
    }
  }
  return check_required(r, s->line, ctx, keys, 3, s->seen, 7u);
}

static int read_core(rd *r, pio_core *c, const char *ctx) {
  static const char *const keys[] = {"element", "term", "bonds", "sites", "layer"};
  char kb[96], kb2[128];
  int idx = 0, end = 0;
  c->line = ev_line(r);
  if (want(r, YAML_MAPPING_START_EVENT, ctx, "a mapping {element, term, bonds, sites}")) return r->e->rc;
  for (;;) {
    if (next_key(r, ctx, keys, 5, &c->seen, &idx, &end)) return r->e->rc;
    if (end) break;
    const char *key = pio_key(kb, sizeof kb, "%s.%s", ctx, keys[idx]);
    if (rd_next(r, key)) return r->e->rc;
    switch (idx) {
      case 4: {
        char lb[16];
        c->layer_line = ev_line(r);
        if (ev_str(r, key, lb, sizeof lb)) return r->e->rc;
        if (!strcmp(lb, "ket"))
          c->layer = 0;
        else if (!strcmp(lb, "bra"))
          c->layer = 1;
        else
          return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key, "unknown layer '%.40s' (ket or bra)", sc_text(r));
        break;
      }
      case 0:
        c->elem_line = ev_line(r);
        if (ev_str(r, key, c->elem, sizeof c->elem)) return r->e->rc;
        break;
      case 1:
        c->term_line = ev_line(r);
        if (ev_long(r, key, 0, TNACE_MAX_TERMS - 1, &c->term)) return r->e->rc;
        break;
      case 2:
        c->bond_line = ev_line(r);
        if (read_int_seq(r, key, c->bond, TNACE_MAX_SITES + 1, 1, TNACE_MAX_BOND, &c->n_bond)) return r->e->rc;
        break;
      default:
        c->sites_line = ev_line(r);
        if (want(r, YAML_SEQUENCE_START_EVENT, key, "a sequence of sites")) return r->e->rc;
        for (c->n_site = 0;;) {
          if (rd_next(r, key)) return r->e->rc;
          if (r->ev.type == YAML_SEQUENCE_END_EVENT) break;
          if (c->n_site >= TNACE_MAX_SITES)
            return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key, "too many sites (at most %d)",
                            TNACE_MAX_SITES);
          pio_site *s = &c->site[c->n_site++];
          if (read_site(r, s, pio_key(kb2, sizeof kb2, "%s[%d]", key, c->n_site - 1))) return r->e->rc;
        }
    }
  }
  return check_required(r, c->line, ctx, keys, 5, c->seen, 15u);
}

static int read_cores(rd *r, pio_doc *d) {
  char kb[32];
  if (want(r, YAML_SEQUENCE_START_EVENT, "cores", "a sequence of cores")) return r->e->rc;
  for (;;) {
    if (rd_next(r, "cores")) return r->e->rc;
    if (r->ev.type == YAML_SEQUENCE_END_EVENT) return 0;
    if (d->n_core >= TNACE_MAX_ELEMENTS * TNACE_MAX_TERMS)
      return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), "cores", "too many cores (at most %d)",
                      TNACE_MAX_ELEMENTS * TNACE_MAX_TERMS);
    if (d->n_core == d->cap_core) {
      int cap = d->cap_core ? 2 * d->cap_core : 8;
      pio_core *p = realloc(d->core, (size_t)cap * sizeof *p);
      if (!p) return pio_fail(r->e, TNACE_ERR_NOMEM, ev_line(r), "cores", "out of memory");
      d->core = p;
      d->cap_core = cap;
    }
    pio_core *c = &d->core[d->n_core++];
    memset(c, 0, sizeof *c);
    if (read_core(r, c, pio_key(kb, sizeof kb, "cores[%d]", d->n_core - 1))) return r->e->rc;
  }
}

/* ---- property: {name, kind: intensive|extensive, per: [symbols], units} ------------------------------- */

static int read_property(rd *r, pio_doc *d) {
  static const char *const keys[] = {"name", "kind", "per", "units"};
  char buf[64], kb[64];
  unsigned seen = 0;
  int idx = 0, end = 0;
  d->prop_line = ev_line(r);
  d->prop.set = 1;
  snprintf(d->prop.units, sizeof d->prop.units, "eV");
  if (want(r, YAML_MAPPING_START_EVENT, "property", "a mapping {name, kind, per, units}")) return r->e->rc;
  for (;;) {
    if (next_key(r, "property", keys, 4, &seen, &idx, &end)) return r->e->rc;
    if (end) break;
    const char *key = pio_key(kb, sizeof kb, "property.%s", keys[idx]);
    if (rd_next(r, key)) return r->e->rc;
    if (idx == 0 && ev_str(r, key, d->prop.name, sizeof d->prop.name)) return r->e->rc;
    if (idx == 3 && ev_str(r, key, d->prop.units, sizeof d->prop.units)) return r->e->rc;
    if (idx == 1) {
      if (ev_str(r, key, buf, sizeof buf)) return r->e->rc;
      if (strcmp(buf, "intensive") && strcmp(buf, "extensive"))
        return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key, "'%.40s': intensive or extensive", buf);
      d->prop.intensive = !strcmp(buf, "intensive");
    }
    if (idx == 2) {
      d->prop_per_line = ev_line(r);
      if (want(r, YAML_SEQUENCE_START_EVENT, key, "a sequence of element symbols")) return r->e->rc;
      for (d->prop.n_per = 0;; d->prop.n_per++) {
        if (rd_next(r, key)) return r->e->rc;
        if (r->ev.type == YAML_SEQUENCE_END_EVENT) break;
        if (d->prop.n_per >= TNACE_MAX_ELEMENTS)
          return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key, "more than %d elements", TNACE_MAX_ELEMENTS);
        if (ev_str(r, key, d->prop_per[d->prop.n_per], sizeof d->prop_per[0])) return r->e->rc;
      }
    }
  }
  return check_required(r, d->prop_line, "property", keys, 4, seen, 3u);
}

/* ---- grade: one entry per species --------------------------------------------------------------- */

static int read_grade_entry(rd *r, pio_grade *g, const char *ctx) {
  static const char *const keys[] = {"element", "features", "training_environments", "columns",
                                     "active_set_inverse"};
  char kb[128];
  int idx = 0, end = 0;
  g->line = ev_line(r);
  if (want(r, YAML_MAPPING_START_EVENT, ctx, "a mapping {element, features, training_environments, columns, "
                                             "active_set_inverse}"))
    return r->e->rc;
  for (;;) {
    if (next_key(r, ctx, keys, 5, &g->seen, &idx, &end)) return r->e->rc;
    if (end) break;
    const char *key = pio_key(kb, sizeof kb, "%s.%s", ctx, keys[idx]);
    if (rd_next(r, key)) return r->e->rc;
    switch (idx) {
      case 0: g->elem_line = ev_line(r); if (ev_str(r, key, g->elem, sizeof g->elem)) return r->e->rc; break;
      case 1: g->features_line = ev_line(r); if (ev_long(r, key, 1, INT_MAX, &g->features)) return r->e->rc; break;
      case 2: g->n_train_line = ev_line(r); if (ev_long(r, key, 0, LONG_MAX, &g->n_train)) return r->e->rc; break;
      case 3: if (read_data(r, &g->cols, key)) return r->e->rc; break;
      default: if (read_data(r, &g->ainv, key)) return r->e->rc; break;
    }
  }
  return check_required(r, g->line, ctx, keys, 5, g->seen, 31u);
}

static int read_grade(rd *r, pio_doc *d) {
  char kb[32];
  if (want(r, YAML_SEQUENCE_START_EVENT, "grade", "a sequence (one entry per element)")) return r->e->rc;
  for (;;) {
    if (rd_next(r, "grade")) return r->e->rc;
    if (r->ev.type == YAML_SEQUENCE_END_EVENT) return 0;
    if (d->n_grade >= TNACE_MAX_ELEMENTS)
      return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), "grade", "more than %d entries", TNACE_MAX_ELEMENTS);
    pio_grade *g = &d->grade[d->n_grade++];
    if (read_grade_entry(r, g, pio_key(kb, sizeof kb, "grade[%d]", d->n_grade - 1))) return r->e->rc;
  }
}

/* ---- metadata: events → tnace_meta tree -------------------------------------------------------- */

static int read_meta_node(rd *r, tnace_meta **out, const char *key, int depth);

static int meta_fill(rd *r, tnace_meta *n, const char *key, int depth) {
  char kb[200];
  tnace_meta **tail = &n->child;
  int i = 0;
  for (;; i++) {
    if (rd_next(r, key)) return r->e->rc;
    if (r->ev.type == YAML_MAPPING_END_EVENT || r->ev.type == YAML_SEQUENCE_END_EVENT) return 0;
    char *k = NULL;
    if (n->kind == TNACE_META_MAP) {
      if (r->ev.type != YAML_SCALAR_EVENT)
        return pio_fail(r->e, TNACE_ERR_PARSE, ev_line(r), key, "mapping keys must be scalars, got %s",
                        ev_name(&r->ev));
      for (tnace_meta *c = n->child; c; c = c->next)
        if (strcmp(c->key, sc_text(r)) == 0)
          return pio_fail(r->e, TNACE_ERR_PARSE, ev_line(r), pio_key(kb, sizeof kb, "%s.%.60s", key, sc_text(r)),
                          "duplicate key");
      if (!(k = strdup(sc_text(r)))) return pio_fail(r->e, TNACE_ERR_NOMEM, ev_line(r), key, "out of memory");
      pio_key(kb, sizeof kb, "%s.%.60s", key, k);
      if (rd_next(r, kb)) { free(k); return r->e->rc; }
    } else {
      pio_key(kb, sizeof kb, "%s[%d]", key, i);
    }
    if (read_meta_node(r, tail, kb, depth + 1)) { free(k); return r->e->rc; }
    (*tail)->key = k;
    tail = &(*tail)->next;
  }
}

/* The node starting at the current event. */
static int read_meta_node(rd *r, tnace_meta **out, const char *key, int depth) {
  *out = NULL;
  if (depth > META_MAX_DEPTH)
    return pio_fail(r->e, TNACE_ERR_PARSE, ev_line(r), key, "nested deeper than %d levels", META_MAX_DEPTH);
  tnace_meta *n = calloc(1, sizeof *n);
  if (!n) return pio_fail(r->e, TNACE_ERR_NOMEM, ev_line(r), key, "out of memory");
  *out = n;
  switch (r->ev.type) {
    case YAML_SCALAR_EVENT: {
      const yaml_event_t *ev = &r->ev;
      n->kind = TNACE_META_SCALAR;
      if (!(n->value = strdup(sc_text(r)))) return pio_fail(r->e, TNACE_ERR_NOMEM, ev_line(r), key, "out of memory");
      n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                  (ev->data.scalar.tag && strcmp((const char *)ev->data.scalar.tag, YAML_STR_TAG) == 0);
      return 0;
    }
    case YAML_MAPPING_START_EVENT: n->kind = TNACE_META_MAP; return meta_fill(r, n, key, depth);
    case YAML_SEQUENCE_START_EVENT: n->kind = TNACE_META_SEQ; return meta_fill(r, n, key, depth);
    default: return want(r, YAML_SCALAR_EVENT, key, "a value");
  }
}

static int read_metadata(rd *r, pio_doc *d) {
  if (r->ev.type == YAML_SCALAR_EVENT && r->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
    const char *s = sc_text(r);
    if (!*s || !strcmp(s, "~") || !strcasecmp(s, "null")) return 0; /* no metadata */
  }
  if (want(r, YAML_MAPPING_START_EVENT, "metadata", "a mapping")) return r->e->rc;
  return read_meta_node(r, &d->meta, "metadata", 0);
}

/* ---- the document ------------------------------------------------------------------------------ */

static int read_doc(rd *r, pio_doc *d) {
  char buf[64];
  if (rd_next(r, NULL) || want(r, YAML_STREAM_START_EVENT, NULL, "a YAML stream")) return r->e->rc;
  if (rd_next(r, NULL)) return r->e->rc;
  if (r->ev.type == YAML_STREAM_END_EVENT)
    return pio_fail(r->e, TNACE_ERR_PARSE, ev_line(r), NULL,
                    "empty file (expected a mapping with format: " TNACE_FORMAT_NAME ")");
  if (want(r, YAML_DOCUMENT_START_EVENT, NULL, "a YAML document") || rd_next(r, NULL)) return r->e->rc;
  if (r->ev.type != YAML_MAPPING_START_EVENT)
    return pio_fail(r->e, TNACE_ERR_PARSE, ev_line(r), NULL,
                    "expected a mapping with format: " TNACE_FORMAT_NAME " at the top level, got %s",
                    ev_name(&r->ev));
  d->map_line = ev_line(r);
  for (;;) {
    int idx = 0, end = 0;
    if (next_key(r, NULL, top_keys, N_TOPKEYS, &d->seen, &idx, &end)) return r->e->rc;
    if (end) break;
    const char *key = top_keys[idx];
    d->key_line[idx] = ev_line(r);
    if (rd_next(r, key)) return r->e->rc;
    int n = 0;
    switch (idx) {
      case K_FORMAT:
        if (ev_str(r, key, buf, sizeof buf)) return r->e->rc;
        if (strcmp(sc_text(r), TNACE_FORMAT_NAME) != 0)
          return pio_fail(r->e, TNACE_ERR_PARSE, ev_line(r), key, "expected '" TNACE_FORMAT_NAME "', got '%.40s'",
                          sc_text(r));
        break;
      case K_VERSION: {
        long v = 0;
        if (ev_long(r, key, LONG_MIN, LONG_MAX, &v)) return r->e->rc;
        if (v != TNACE_FORMAT_VERSION)
          return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key,
                          "unsupported format version %ld (this libtnace reads version %d)", v,
                          TNACE_FORMAT_VERSION);
        break;
      }
      case K_UNITS:
        if (ev_str(r, key, buf, sizeof buf)) return r->e->rc;
        if (strcmp(sc_text(r), "metal") != 0)
          return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key,
                          "unsupported units '%.40s' (only 'metal': Å, eV)", sc_text(r));
        break;
      case K_ELEMENTS: if (read_elements(r, d)) return r->e->rc; break;
      case K_E0:
        if (read_num_seq(r, key, d->e0, TNACE_MAX_ELEMENTS, &n)) return r->e->rc;
        d->n_e0 = n;
        break;
      case K_RADIAL: if (read_radial(r, d)) return r->e->rc; break;
      case K_CUTOFF: if (read_cutoff(r, d)) return r->e->rc; break;
      case K_RMIN:
        if (ev_double(r, key, &d->r_min)) return r->e->rc;
        if (d->r_min < 0)
          return pio_fail(r->e, TNACE_ERR_VALUE, ev_line(r), key, "must be >= 0 (got %s)", sc_text(r));
        break;
      case K_REPULSION: if (read_repulsion(r, d)) return r->e->rc; break;
      case K_TERMS: if (read_terms(r, d)) return r->e->rc; break;
      case K_CORES: if (read_cores(r, d)) return r->e->rc; break;
      case K_GRADE: if (read_grade(r, d)) return r->e->rc; break;
      case K_PROPERTY: if (read_property(r, d)) return r->e->rc; break;
      default: if (read_metadata(r, d)) return r->e->rc; break;
    }
  }
  if (check_required(r, d->map_line, NULL, top_keys, N_TOPKEYS, d->seen, top_required)) return r->e->rc;
  if (rd_next(r, NULL) || want(r, YAML_DOCUMENT_END_EVENT, NULL, "the end of the document")) return r->e->rc;
  if (rd_next(r, NULL)) return r->e->rc;
  if (r->ev.type != YAML_STREAM_END_EVENT)
    return pio_fail(r->e, TNACE_ERR_PARSE, ev_line(r), NULL, "more than one YAML document in the file");
  return 0;
}

int pio_read_doc(FILE *f, pio_doc *d, pio_err *e) {
  rd *r = calloc(1, sizeof *r);
  if (!r || !yaml_parser_initialize(&r->p)) {
    free(r);
    return pio_fail(e, TNACE_ERR_NOMEM, 0, NULL, "out of memory");
  }
  r->e = e;
  r->f = f;
  yaml_parser_set_input_file(&r->p, f);
  int rc = read_doc(r, d);
  if (r->has_ev) yaml_event_delete(&r->ev);
  yaml_parser_delete(&r->p);
  free(r);
  if (!rc && ferror(f)) rc = pio_fail(e, TNACE_ERR_IO, 0, NULL, "read error: %s", strerror(errno));
  return rc;
}
