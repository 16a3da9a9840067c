/*
 * potential_load.c — tnace_potential_load: a potential file parsed by potential_yaml.c (a pio_doc,
 * potential_file.h) is validated as a whole (counts per element, cutoff matrix, cores against the terms,
 * shapes against bonds and data) and turned into a tnace_potential. Sizes are checked against each
 * other before any core of the file's size is allocated. Every error message is
 * "<path>:<line>: <key>: <what is wrong>", the first error found wins.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "potential_file.h"
#include "util.h"

static int build_core(pio_err *e, const pio_doc *d, const pio_core *c, int ci, tnace_potential *pot,
                      unsigned char *have, int *first_line) {
  char kb[96];
  int a = -1;
  for (int i = 0; i < d->n_el; i++)
    if (strcmp(d->elem[i], c->elem) == 0) a = i;
  if (a < 0)
    return pio_fail(e, TNACE_ERR_ELEMENT, c->elem_line, pio_key(kb, sizeof kb, "cores[%d].element", ci),
                    "'%s' is not one of the elements", c->elem);
  if (c->term >= d->n_terms)
    return pio_fail(e, TNACE_ERR_VALUE, c->term_line, pio_key(kb, sizeof kb, "cores[%d].term", ci),
                    "term %ld does not exist (%d terms)", c->term, d->n_terms);
  int t = (int)c->term, at = a * d->n_terms + t;
  const tnace_term_spec *sp = &d->spec[t];
  const int mpo = sp->model == TNACE_MODEL_MPO;
  if (c->layer && !mpo)
    return pio_fail(e, TNACE_ERR_VALUE, c->layer_line, pio_key(kb, sizeof kb, "cores[%d].layer", ci),
                    "term %d is an mps term: it has no bra layer", t);
  const int slot = 2 * at + c->layer;
  if (have[slot])
    return pio_fail(e, TNACE_ERR_VALUE, c->line, pio_key(kb, sizeof kb, "cores[%d]", ci),
                    "duplicate core for element %s, term %d%s (first at line %d)", c->elem, t,
                    mpo ? (c->layer ? ", layer bra" : ", layer ket") : "", first_line[slot]);
  have[slot] = 1;
  first_line[slot] = c->line;

  int ns = 3 * sp->nu;
  const int kout = mpo || sp->model == TNACE_MODEL_EMB ? sp->rank : 1;
  if (c->n_bond != ns + 1)
    return pio_fail(e, TNACE_ERR_VALUE, c->bond_line, pio_key(kb, sizeof kb, "cores[%d].bonds", ci),
                    "expected %d bond dimensions (3*nu+1, nu = %d), got %d", ns + 1, sp->nu, c->n_bond);
  if (c->bond[0] != 1 || c->bond[ns] != kout)
    return pio_fail(e, TNACE_ERR_VALUE, c->bond_line, pio_key(kb, sizeof kb, "cores[%d].bonds", ci),
                    "the first bond dimension must be 1 and the last %d%s (got %d and %d)", kout,
                    kout > 1 ? " (the term's rank)" : "", c->bond[0], c->bond[ns]);
  if (c->n_site != ns)
    return pio_fail(e, TNACE_ERR_VALUE, c->sites_line, pio_key(kb, sizeof kb, "cores[%d].sites", ci),
                    "expected %d sites (3 per copy, nu = %d), got %d", ns, sp->nu, c->n_site);
  /* Shapes against bonds and data counts, before allocating anything of the file's sizes. */
  for (int s = 0; s < ns; s++) {
    const pio_site *si = &c->site[s];
    if (si->kind != s % 3)
      return pio_fail(e, TNACE_ERR_VALUE, si->kind_line, pio_key(kb, sizeof kb, "cores[%d].sites[%d].kind", ci, s),
                      "expected '%s' (site %d = copy %d %s), got '%s'", pio_site_kind[s % 3], s, s / 3,
                      pio_site_kind[s % 3], si->kind_text);
    if (si->shape[1] != c->bond[s] || si->shape[2] != c->bond[s + 1])
      return pio_fail(e, TNACE_ERR_VALUE, si->shape_line, pio_key(kb, sizeof kb, "cores[%d].sites[%d].shape", ci, s),
                      "[%d, %d, %d] does not match bonds (expected [phys, %d, %d])", si->shape[0], si->shape[1],
                      si->shape[2], c->bond[s], c->bond[s + 1]);
    size_t want_n = (size_t)si->shape[0];
    int ovf = 0;
    for (int k = 1; k < 3; k++) {
      if (want_n > SIZE_MAX / (size_t)si->shape[k]) ovf = 1;
      else want_n *= (size_t)si->shape[k];
    }
    if (ovf || si->n != want_n)
      return pio_fail(e, TNACE_ERR_VALUE, si->data_line ? si->data_line : si->line,
                      pio_key(kb, sizeof kb, "cores[%d].sites[%d].data", ci, s),
                      "expected %zu numbers (shape [%d, %d, %d]), got %zu", ovf ? SIZE_MAX : want_n, si->shape[0],
                  si->shape[1], si->shape[2], si->n);
  }
  tnace_tn tn;
  char msg[256] = "";
  memset(&tn, 0, sizeof tn);
  int rc = tn_init_bonds(&tn, sp->nu, sp->lmax, sp->nmax, d->n_el, c->bond, msg, sizeof msg);
  if (rc) {
    tn_free(&tn);
    return pio_fail(e, rc, c->bond_line, pio_key(kb, sizeof kb, "cores[%d].bonds", ci), "%s", msg);
  }
  for (int s = 0; s < ns; s++) {
    const pio_site *si = &c->site[s];
    if (si->shape[0] != tn.phys[s] || tn_core_size(&tn, s) != si->n) {
      const char *why = s % 3 == 0 ? "the number of elements"
                      : s % 3 == 1 ? "nmax of the term"
                                   : "the number of angular labels of this copy for the term's nu, lmax";
      pio_fail(e, TNACE_ERR_VALUE, si->shape_line, pio_key(kb, sizeof kb, "cores[%d].sites[%d].shape", ci, s),
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

static int build_grade(pio_err *e, const pio_doc *d, tnace_potential *pot);

static int build(pio_err *e, const pio_doc *d, tnace_potential **out) {
  char kb[64], msg[256] = "";
  *out = NULL;
  if (d->n_e0 != d->n_el)
    return pio_fail(e, TNACE_ERR_VALUE, d->key_line[K_E0], "e0", "expected %d values (one per element), got %d",
                    d->n_el, d->n_e0);
  /* cutoff */
  double rc[TNACE_MAX_ELEMENTS][TNACE_MAX_ELEMENTS];
  if (d->cut_is_scalar) {
    for (int a = 0; a < d->n_el; a++)
      for (int b = 0; b < d->n_el; b++) rc[a][b] = d->cut[0][0];
    if (!(d->cut[0][0] > 0 && d->cut[0][0] <= TNACE_MAX_CUTOFF))
      return pio_fail(e, TNACE_ERR_VALUE, d->cut_line[0][0], "cutoff", "must be in (0, %g] Å (got %g)", TNACE_MAX_CUTOFF,
                      d->cut[0][0]);
  } else {
    if (d->cut_rows != d->n_el)
      return pio_fail(e, TNACE_ERR_VALUE, d->key_line[K_CUTOFF], "cutoff",
                      "expected a number or a %dx%d matrix (one row per element), got %d rows", d->n_el, d->n_el,
                      d->cut_rows);
    for (int a = 0; a < d->n_el; a++) {
      if (d->cut_cols[a] != d->n_el)
        return pio_fail(e, TNACE_ERR_VALUE, d->key_line[K_CUTOFF], pio_key(kb, sizeof kb, "cutoff[%d]", a),
                        "expected %d values, got %d", d->n_el, d->cut_cols[a]);
      for (int b = 0; b < d->n_el; b++) {
        rc[a][b] = d->cut[a][b];
        if (!(rc[a][b] > 0 && rc[a][b] <= TNACE_MAX_CUTOFF))
          return pio_fail(e, TNACE_ERR_VALUE, d->cut_line[a][b], pio_key(kb, sizeof kb, "cutoff[%d][%d]", a, b),
                          "must be in (0, %g] Å (got %g)", TNACE_MAX_CUTOFF, rc[a][b]);
      }
    }
    for (int a = 0; a < d->n_el; a++)
      for (int b = 0; b < a; b++)
        if (rc[a][b] != rc[b][a])
          return pio_fail(e, TNACE_ERR_VALUE, d->cut_line[a][b], pio_key(kb, sizeof kb, "cutoff[%d][%d]", a, b),
                          "matrix not symmetric: %.17g != cutoff[%d][%d] = %.17g", rc[a][b], b, a, rc[b][a]);
  }
  for (int a = 0; a < d->n_el; a++)
    for (int b = 0; b < d->n_el; b++)
      if (d->r_min >= rc[a][b])
        return pio_fail(e, TNACE_ERR_VALUE, d->key_line[K_RMIN], "r_min", "%g must be smaller than the cutoff %g",
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
    return pio_fail(e, code ? code : TNACE_ERR_NOMEM, d->key_line[K_TERMS], "terms", "%s", msg);
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
        pio_fail(e, TNACE_ERR_VALUE, d->key_line[K_CORES], "cores", "missing core for element %s, term %d%s",
                 d->elem[at / d->n_terms], at % d->n_terms, layer ? ", layer bra" : "");
        goto fail;
      }
  code = tnace_potential_prepare(pot, msg, sizeof msg);
  if (code) {
    pio_fail(e, code, d->map_line, NULL, "%s", msg);
    goto fail;
  }
  if (pot->pool_size > 0 && (!d->prop.set || d->n_grade)) {
    pio_fail(e, TNACE_ERR_VALUE, d->prop.set ? d->key_line[K_GRADE] : d->key_line[K_TERMS],
             d->prop.set ? "grade" : "terms", d->prop.set ? "a model with terms pooled over the structure has no grade"
             : "a term pooled over the structure (pool: true) needs a property section: such a model is not an "
             "interatomic potential");
    goto fail;
  }
  if (d->n_grade && build_grade(e, d, pot)) goto fail;
  if (d->prop.set) {
    pot->prop = d->prop;
    for (int k = 0; k < d->prop.n_per; k++)
      if ((pot->prop.per[k] = tnace_potential_element_index(pot, d->prop_per[k])) < 0) {
        pio_fail(e, TNACE_ERR_VALUE, d->prop_per_line, "property.per", "'%s' is not an element of this potential",
                 d->prop_per[k]);
        goto fail;
      }
  }
  *out = pot;
  return 0;
fail:
  tnace_potential_free(pot);
  return e->rc;
}

/* The `grade` section: one entry per element of the file, each matching this model (its number of features,
 * column indices below it, an m × m inverse). A grade built for other cores cannot be told from these
 * shapes; tnace-fit writes it into the same file as the cores it belongs to. */
static int build_grade(pio_err *e, const pio_doc *d, tnace_potential *pot) {
  char kb[64], msg[256];
  int seen[TNACE_MAX_ELEMENTS] = {0};
  for (int i = 0; i < d->n_grade; i++) {
    const pio_grade *g = &d->grade[i];
    int a = tnace_potential_element_index(pot, g->elem);
    if (a < 0)
      return pio_fail(e, TNACE_ERR_VALUE, g->elem_line, pio_key(kb, sizeof kb, "grade[%d].element", i),
                      "'%s' is not an element of this potential", g->elem);
    if (seen[a]++)
      return pio_fail(e, TNACE_ERR_VALUE, g->elem_line, pio_key(kb, sizeof kb, "grade[%d].element", i),
                      "second grade entry for %s", g->elem);
    const size_t D = tnace_grade_n_features(pot, a);
    if ((size_t)g->features != D)
      return pio_fail(e, TNACE_ERR_VALUE, g->features_line, pio_key(kb, sizeof kb, "grade[%d].features", i),
                      "%ld, but the model of %s has %zu (the grade belongs to another model)", g->features, g->elem, D);
    const size_t m = g->cols.n;
    int *col = malloc((m ? m : 1) * sizeof(int));
    if (!col) return pio_fail(e, TNACE_ERR_NOMEM, g->line, "grade", "out of memory");
    for (size_t k = 0; k < m; k++) {
      const double c = g->cols.data[k];
      if (c != floor(c) || c < 0 || c >= (double)D) {
        free(col);
        return pio_fail(e, TNACE_ERR_VALUE, g->cols.data_line, pio_key(kb, sizeof kb, "grade[%d].columns[%zu]", i, k),
                        "%g is not a feature index (0..%zu)", c, D - 1);
      }
      col[k] = (int)c;
    }
    if (m < 1 || g->ainv.n != m * m) {
      free(col);
      return pio_fail(e, TNACE_ERR_VALUE, g->ainv.data_line, pio_key(kb, sizeof kb, "grade[%d].active_set_inverse", i),
                      "%zu values for %zu columns (expected %zu × %zu)", g->ainv.n, m, m, m);
    }
    int rc = tnace_potential_set_grade(pot, a, (int)m, col, g->ainv.data, g->n_train, msg, sizeof msg);
    free(col);
    if (rc) return pio_fail(e, rc, g->line, pio_key(kb, sizeof kb, "grade[%d]", i), "%s", msg);
  }
  for (int a = 0; a < pot->n_el; a++)
    if (!seen[a])
      return pio_fail(e, TNACE_ERR_VALUE, d->key_line[K_GRADE], "grade", "no entry for %s (one per element)",
                      pot->elem[a]);
  return 0;
}

int tnace_potential_load(const char *path, tnace_potential **out, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (out) *out = NULL;
  pio_err e0 = {path ? path : "(null)", err, errlen, 0};
  if (!path || !out) return pio_fail(&e0, TNACE_ERR_ARG, 0, NULL, "tnace_potential_load: NULL argument");
  FILE *f = fopen(path, "rb");
  if (!f) return pio_fail(&e0, TNACE_ERR_IO, 0, NULL, "cannot open: %s", strerror(errno));
  pio_doc *d = calloc(1, sizeof *d);
  if (!d) {
    fclose(f);
    return pio_fail(&e0, TNACE_ERR_NOMEM, 0, NULL, "out of memory");
  }
  tnace_cloc loc = tnace_cloc_push();
  int rc = pio_read_doc(f, d, &e0);
  fclose(f);
  tnace_potential *pot = NULL;
  if (!rc) rc = build(&e0, d, &pot);
  tnace_cloc_pop(loc);
  if (!rc) {
    pot->meta = d->meta;
    d->meta = NULL;
    *out = pot;
  }
  pio_doc_free(d);
  free(d);
  return rc;
}
