/*
 * potential_save.c — writing a potential file (docs/potential-format.md): tnace_potential_save.
 *
 * Uses stdio for the fixed part (core data as wrapped flow sequences, "%.17g" or the exact "%.15g") and
 * libyaml's emitter for the free-form metadata tree, so that any string is quoted correctly. Numbers are
 * written in the C locale. Errors are "<path>: <what is wrong>" (potential_file.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "model.h"
#include "potential_file.h"
#include "util.h"

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

/* `<lead>: [ ... ]` (lead: the indented key, e.g. "        data"), one line per at most 6 numbers indented
 * `indent` spaces, a matrix row (`row` numbers) never sharing a line. */
static void put_data(FILE *f, const char *lead, int indent, const double *x, size_t n, int row) {
  char line[6 * 28 + 64];
  fprintf(f, "%s: [", lead);
  if (n <= 6) {
    for (size_t i = 0; i < n; i++) {
      size_t len = put_num(line, x[i]);
      if (i) fputs(", ", f);
      fwrite(line, 1, len, f);
    }
    fputs("]\n", f);
    return;
  }
  fputs("\n", f);
  size_t i = 0;
  while (i < n) {
    size_t len = (size_t)indent;
    memset(line, ' ', len);
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

/* The extrapolation grade (model.h: tnace_grade_el), one entry per species. */
static void put_grade(FILE *f, const tnace_potential *pot) {
  fputs("grade:\n", f);
  for (int a = 0; a < pot->n_el; a++) {
    const tnace_grade_el *g = &pot->grade[a];
    fputs("  - element: ", f);
    put_sym(f, pot->elem[a]);
    fprintf(f, "\n    features: %d\n    training_environments: %ld\n    columns: [", g->D, g->n_train);
    for (int k = 0; k < g->m; k++) fprintf(f, "%s%d", k == 0 ? "" : k % 16 ? ", " : ",\n      ", g->col[k]);
    fputs("]\n", f);
    put_data(f, "    active_set_inverse", 6, g->ainv, (size_t)g->m * g->m, g->m);
  }
}

/* The file itself (called in the C locale); `meta_text` is emitted first so that a metadata problem
 * leaves no file behind. */
static int save_text(const tnace_potential *pot, const char *path, pio_err *e) {
  char b1[40], b2[40];
  char *meta_text = NULL;
  if (pot->meta) {
    int rc = meta_to_text(pot->meta, &meta_text);
    if (rc)
      return pio_fail(e, rc, 0, "metadata",
                      rc == TNACE_ERR_NOMEM ? "out of memory" : "cannot be written as YAML (invalid UTF-8?)");
  }

  FILE *f = fopen(path, "wb");
  if (!f) {
    free(meta_text);
    return pio_fail(e, TNACE_ERR_IO, 0, NULL, "cannot open for writing: %s", strerror(errno));
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
    else if (sp->model == TNACE_MODEL_EMB)
      fprintf(f, "  - {nu: %d, lmax: %d, nmax: %d, chi: %d, model: embed, rank: %d, scale: %s", sp->nu, sp->lmax,
              sp->nmax, sp->chi, sp->rank, shortest(sp->escale, b2, sizeof b2));
    else
      fprintf(f, "  - {nu: %d, lmax: %d, nmax: %d, chi: %d, model: mps", sp->nu, sp->lmax, sp->nmax, sp->chi);
    if (sp->srank > 0) fprintf(f, ", species_rank: %d", sp->srank);
    if (sp->pool) fprintf(f, ", pool: true");
    if (sp->shared) fprintf(f, ", shared: true");
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
        fprintf(f, "      - kind: %s\n        shape: [%d, %d, %d]\n", pio_site_kind[s % 3], tn->phys[s], tn->bond[s],
                tn->bond[s + 1]);
        put_data(f, "        data", 10, tn->core[s], tn_core_size(tn, s), tn->bond[s + 1]);
      }
    }
  if (pot->prop.set) {
    fprintf(f, "property: {name: %s, kind: %s, ", pot->prop.name, pot->prop.intensive ? "intensive" : "extensive");
    if (pot->prop.n_per) {
      fputs("per: [", f);
      for (int k = 0; k < pot->prop.n_per; k++) {
        if (k) fputs(", ", f);
        put_sym(f, pot->elem[pot->prop.per[k]]);
      }
      fputs("], ", f);
    }
    fprintf(f, "units: %s}\n", pot->prop.units);
  }
  if (pot->has_grade) put_grade(f, pot);
  if (meta_text) fputs(meta_text, f);
  free(meta_text);

  int werr = ferror(f) ? (errno ? errno : EIO) : 0;
  if (fflush(f) != 0 && !werr) werr = errno ? errno : EIO;
  if (fclose(f) != 0 && !werr) werr = errno ? errno : EIO;
  free(iobuf);
  if (werr) return pio_fail(e, TNACE_ERR_IO, 0, NULL, "write failed: %s", strerror(werr));
  return 0;
}

int tnace_potential_save(const tnace_potential *pot, const char *path, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  pio_err e = {path ? path : "(null)", err, errlen, 0};
  if (!pot || !path) return pio_fail(&e, TNACE_ERR_ARG, 0, NULL, "tnace_potential_save: NULL argument");
  /* Refuse to write a file that could not be read back. */
  for (int a = 0; a < pot->n_el; a++)
    for (int t = 0; t < pot->n_terms; t++)
      for (int layer = 0; layer < tnace_n_layers(pot, t); layer++) {
      const tnace_tn *tn = tnace_layer(pot, a, t, layer);
      for (int s = 0; s < 3 * tn->nu; s++) {
        size_t n = tn_core_size(tn, s);
        for (size_t i = 0; i < n; i++)
          if (!isfinite(tn->core[s][i]))
            return pio_fail(&e, TNACE_ERR_NUMERIC, 0, NULL, "core of element %s, term %d, site %d has a NaN/Inf",
                            pot->elem[a], t, s);
      }
    }
  if (pot->meta && pot->meta->kind != TNACE_META_MAP)
    return pio_fail(&e, TNACE_ERR_VALUE, 0, "metadata", "must be a mapping");
  tnace_cloc loc = tnace_cloc_push();
  int rc = save_text(pot, path, &e);
  tnace_cloc_pop(loc);
  return rc;
}
