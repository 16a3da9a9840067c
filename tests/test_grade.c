/*
 * test_grade.c — the extrapolation grade (src/tnace/grade.c, src/fit/grade_fit.c):
 *  - the tangent features are ∂E_i/∂U: E is linear in each entry of each channel map, so a central
 *    difference of a term's energy equals the feature to rounding, for every kind of term (ν = 1..4, a
 *    pair-form term, an MPO) and both species; the terms by the channel route add up to the evaluator's
 *    energy (pair form, right-to-left views);
 *  - the active set: every training environment has γ ≤ the MaxVol tolerance, recomputed one atom at a
 *    time by tnace_atom_grade; the active environments reach γ = 1; compressed and rattled cells are graded
 *    far above 1; the grade is invariant under rotation;
 *  - the potential file keeps the grade (γ identical after save → load, byte-identical re-save) and refuses a
 *    grade that does not fit the model, naming line and key; a potential without a grade says so.
 */
#include "grade_fit.h"
#include "model.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long rng = 0x2545F4914F6CDD1DULL;
static double urand(void) { return test_rand(&rng); }

static tnace_potential *make_pot(void) {
  const char *el[] = {"Cu", "Ni"};
  /* ν = 1; ν = 2 in pair form (n_el·nmax < 4χ); ν = 2, 3 (right-to-left view where cheaper), 4; an MPO; an embed */
  const tnace_term_spec spec[] = {{1, 0, 4, 2, 0, 0, 0, 0, 0, 0, 0}, {2, 3, 2, 6, 0, 0, 0, 0, 0, 0, 0}, {2, 4, 4, 3, 0, 0, 0, 0, 0, 0, 0},
                                  {3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0}, {4, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0}, {2, 2, 3, 2, TNACE_MODEL_MPO, 2, 0, 0, 0, 0, 0},
                                  {2, 2, 3, 3, TNACE_MODEL_EMB, 3, 0, 0, 0, 0, 0.05}};
  enum { NT = 7 };
  char err[512];
  tnace_potential *p = NULL;
  int rc = tnace_potential_create(&p, 2, el, NT, spec, 4.0, 5.0, err, sizeof err);
  CHECK(rc == 0, "create: %s", err);
  if (rc) exit(1);
  for (int i = 0; i < 2 * NT; i++)
    for (int L = 0; L < tnace_n_layers(p, i % NT); L++) {
      tnace_tn *t = tnace_layer(p, i / NT, i % NT, L);
      for (int s = 0; s < 3 * t->nu; s++)
        for (size_t q = 0; q < tn_core_size(t, s); q++) t->core[s][q] = 0.6 * (2.0 * urand() - 1.0);
    }
  rc = tnace_potential_prepare(p, err, sizeof err);
  CHECK(rc == 0, "prepare: %s", err);
  CHECK(p->tn[2].S || p->tn[1].S, "a pair-form term (tn.h) is covered");
  return p;
}

/* Term t of species a by the channel route (ket and bra of an MPO) on the A basis already in ws. */
static double term_energy(const tnace_potential *p, tnace_workspace *ws, int a, int t) {
  const tnace_tn *tn = tnace_layer(p, a, t, 0);
  tn_channels(tn, ws->A, p->nmax, p->lmax, &ws->tw, 0);
  if (p->spec[t].model == TNACE_MODEL_EMB) {
    tn_forward_vec(tn, &ws->tw, ws->J1);
    return tn_embed(p->spec[t].rank, p->spec[t].escale, ws->J1, ws->J2, NULL);
  }
  if (p->spec[t].model != TNACE_MODEL_MPO) return tn_forward(tn, &ws->tw);
  const tnace_tn *br = tnace_layer(p, a, t, 1);
  tn_forward_vec(tn, &ws->tw, ws->J1);
  tn_channels(br, ws->A, p->nmax, p->lmax, &ws->tw2, 0);
  tn_forward_vec(br, &ws->tw2, ws->J2);
  double e = 0;
  for (int b = 0; b < p->spec[t].rank; b++) e += ws->J1[b] * ws->J2[b];
  return e;
}

/* The features are ∂E_i/∂U: E is linear in each entry of each channel map, so a central difference of the
 * term's energy in one entry of U^(k) is exact up to rounding (an embed term's is not: there a small step, and
 * a bound of its truncation error). Also: the sum of the terms by the channel
 * route equals the evaluator's energy (which uses the pair form and right-to-left views). */
static void test_features_fd(void) {
  tnace_potential *p = make_pot();
  enum { N = 14 };
  double r[N][3];
  int sp[N];
  for (int j = 0; j < N; j++) {
    double v[3], d;
    do {
      for (int k = 0; k < 3; k++) v[k] = 2 * urand() - 1;
      d = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    } while (d < 0.1 || d > 1);
    const double len = 1.8 + 2.0 * urand();
    for (int k = 0; k < 3; k++) r[j][k] = v[k] / d * len;
    sp[j] = urand() < 0.5;
  }
  tnace_workspace *ws = tnace_workspace_new(p, N);
  for (int a = 0; a < 2; a++) {
    const size_t D = tnace_grade_n_features(p, a);
    double *f = malloc(D * sizeof(double)), E = 0.0;
    CHECK(tnace_atom_grade_features(p, ws, a, N, (const double(*)[3])r, sp, f) == 0, "features: %s",
          tnace_workspace_error(ws));
    tnace_atom_energy(p, ws, a, N, (const double(*)[3])r, sp, &E, NULL);
    double Et = p->e0[a];
    for (int t = 0; t < p->n_terms; t++) Et += term_energy(p, ws, a, t);
    CHECK_CLOSE(Et, E, 1e-11);
    int n_checked = 0;
    size_t off = 0;
    for (int t = 0; t < p->n_terms; t++)
      for (int L = 0; L < tnace_n_layers(p, t); L++) {
        tnace_tn *tn = tnace_layer(p, a, t, L);
        for (int k = 0; k < tn->nu; k++) {
          const size_t u = (size_t)tn->n_el * tn->nmax * tn->fus.n_lambda[k] * tn->bond[3 * k] * tn->bond[3 * k + 3];
          for (size_t i = 0; i < u; i += 1 + (size_t)(9 * urand())) {
            double *x = &tn->U[k][i], x0 = *x;
            const int emb = p->spec[t].model == TNACE_MODEL_EMB;
            const double h = emb ? 1e-5 : 0.01, tol = emb ? 1e-6 : 1e-9;
            *x = x0 + h;
            const double Ep = term_energy(p, ws, a, t);
            *x = x0 - h;
            const double Em = term_energy(p, ws, a, t);
            *x = x0;
            const double fd = (Ep - Em) / (2 * h);
            CHECK(fabs(fd - f[off + i]) <= tol * fmax(1.0, fabs(fd)), "species %d term %d layer %d copy %d entry %zu: "
                  "FD %.12g vs %.12g", a, t, L, k, i, fd, f[off + i]);
            n_checked++;
          }
          off += u;
        }
      }
    CHECK(off == D && n_checked > 100, "walked %zu of %zu features, checked %d", off, D, n_checked);
    free(f);
  }
  tnace_workspace_free(ws);
  tnace_potential_free(p);
}

/* A rattled simple-cubic 2×2×2 cell of lattice constant a, random species. */
static int make_cell(tnace_struct *s, double a, double rattle, int id) {
  double pos[8][3], cell[3][3] = {{2 * a, 0, 0}, {0, 2 * a, 0}, {0, 0, 2 * a}};
  int sp[8], pbc[3] = {1, 1, 1}, q = 0;
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      for (int k = 0; k < 2; k++, q++) {
        pos[q][0] = i * a + rattle * (2 * urand() - 1);
        pos[q][1] = j * a + rattle * (2 * urand() - 1);
        pos[q][2] = k * a + rattle * (2 * urand() - 1);
        sp[q] = urand() < 0.5;
      }
  char src[32], err[256];
  snprintf(src, sizeof src, "cell%d", id);
  const int rc = tnace_struct_build(s, 8, sp, (const double(*)[3])pos, cell, pbc, 4.0, src, err, sizeof err);
  CHECK(rc == 0, "struct: %s", err);
  return rc;
}

static double struct_gmax(const tnace_potential *p, tnace_workspace *ws, const tnace_struct *s, double *g) {
  int bad = -1;
  const int rc = tnace_struct_grade(p, ws, s, g, &bad);
  CHECK(rc == 0, "grade of %s atom %d: %s", s->source, bad, tnace_workspace_error(ws));
  double m = 0;
  for (int j = 0; j < s->n; j++) m = fmax(m, g[j]);
  return m;
}

static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  rewind(f);
  char *b = malloc(*n + 1);
  if (fread(b, 1, *n, f) != *n) *n = 0;
  b[*n] = 0;
  fclose(f);
  return b;
}

/* Write text with the first `from` replaced by `to`, load it, expect failure with `want` in the message. */
static void expect_load_error(const char *text, const char *from, const char *to, const char *want) {
  const char *at = strstr(text, from);
  CHECK(at != NULL, "'%s' in the saved file", from);
  if (!at) return;
  const char *path = "test_grade_bad.yaml";
  FILE *f = fopen(path, "wb");
  fwrite(text, 1, (size_t)(at - text), f);
  fputs(to, f);
  fputs(at + strlen(from), f);
  fclose(f);
  tnace_potential *q = NULL;
  char err[512] = "";
  const int rc = tnace_potential_load(path, &q, err, sizeof err);
  CHECK(rc != 0 && q == NULL, "loading with '%s' -> '%s' must fail", from, to);
  CHECK(strstr(err, want) != NULL && strstr(err, "test_grade_bad.yaml:") != NULL, "message '%s' should name the file, "
        "line and '%s'", err, want);
  tnace_potential_free(q);
}

static void test_active_set(void) {
  tnace_potential *p = make_pot();
  enum { NS = 40 };
  tnace_dataset ds = {0};
  ds.s = calloc(NS, sizeof *ds.s);
  for (int i = 0; i < NS; i++) make_cell(&ds.s[ds.n++], 2.45 + 0.3 * urand(), 0.25, i);
  tnace_grade_opts o;
  tnace_grade_opts_default(&o);
  o.size = 48;
  o.sample = 200;
  o.threads = 1;
  tnace_grade_report rep;
  char err[512];
  tnace_workspace *ws = tnace_workspace_new(p, 64);
  double g[8];
  CHECK(tnace_struct_grade(p, ws, &ds.s[0], g, NULL) == TNACE_ERR_VALUE &&
            strstr(tnace_workspace_error(ws), "no extrapolation grade"),
        "a potential without a grade says so: %s", tnace_workspace_error(ws));
  const int rc = tnace_grade_build(p, &ds, NULL, 0, &o, &rep, err, sizeof err);
  CHECK(rc == 0, "build: %s", err);
  CHECK(tnace_potential_has_grade(p), "grade set");
  for (int a = 0; a < 2; a++) {
    CHECK(rep.m[a] > 10 && rep.m[a] <= 48, "species %d: m = %d", a, rep.m[a]);
    CHECK(rep.gmax[a] <= o.maxvol_tol + 1e-9, "species %d: training max %.6f", a, rep.gmax[a]);
  }
  /* one atom at a time, by the public per-atom call */
  double gmax = 0, n_one = 0;
  for (int i = 0; i < ds.n; i++) {
    gmax = fmax(gmax, struct_gmax(p, ws, &ds.s[i], g));
    for (int j = 0; j < 8; j++) n_one += fabs(g[j] - 1.0) < 1e-9;
  }
  CHECK(gmax <= o.maxvol_tol + 1e-9 && fabs(gmax - fmax(rep.gmax[0], rep.gmax[1])) < 1e-9,
        "training max %.12f vs build %.12f / %.12f", gmax, rep.gmax[0], rep.gmax[1]);
  CHECK(n_one >= 1, "some active environment has grade 1 (%g)", n_one);
  /* out of the training domain: compressed, strongly rattled */
  tnace_struct c;
  make_cell(&c, 1.9, 0.05, 100);
  const double gc = struct_gmax(p, ws, &c, g);
  CHECK(gc > 2.0, "compressed cell graded %.3f", gc);
  tnace_struct_free(&c);
  make_cell(&c, 2.6, 0.6, 101);
  const double gr = struct_gmax(p, ws, &c, g);
  CHECK(gr > 2.0, "rattled cell graded %.3f", gr);
  /* rotation invariance of one atom's grade */
  {
    const tnace_struct *s = &ds.s[3];
    const int nn = s->off[1] - s->off[0];
    double (*d)[3] = malloc((size_t)nn * sizeof *d), g0, g1;
    const double cth = cos(0.7), sth = sin(0.7);
    for (int k = 0; k < nn; k++) {
      const double *v = s->d[s->off[0] + k];
      d[k][0] = cth * v[0] - sth * v[1]; d[k][1] = sth * v[0] + cth * v[1]; d[k][2] = v[2];
    }
    tnace_atom_grade(p, ws, s->species[0], nn, (const double(*)[3])s->d, s->nsp, &g0);
    tnace_atom_grade(p, ws, s->species[0], nn, (const double(*)[3])d, s->nsp, &g1);
    CHECK(fabs(g0 - g1) <= 1e-9 * fmax(1, g0), "rotated: %.15g vs %.15g", g1, g0);
    free(d);
  }
  tnace_struct_free(&c);
  /* the file keeps it */
  CHECK(tnace_potential_save(p, "test_grade.yaml", err, sizeof err) == 0, "save: %s", err);
  tnace_potential *q = NULL;
  CHECK(tnace_potential_load("test_grade.yaml", &q, err, sizeof err) == 0, "load: %s", err);
  if (q) {
    tnace_workspace *wq = tnace_workspace_new(q, 64);
    double gq[8];
    int same = 1;
    for (int i = 0; i < ds.n; i++) {
      struct_gmax(p, ws, &ds.s[i], g);
      struct_gmax(q, wq, &ds.s[i], gq);
      for (int j = 0; j < 8; j++) same &= g[j] == gq[j];
    }
    CHECK(same, "grades after save and load are identical");
    CHECK(tnace_potential_save(q, "test_grade2.yaml", err, sizeof err) == 0, "save: %s", err);
    size_t n1, n2;
    char *t1 = slurp("test_grade.yaml", &n1), *t2 = slurp("test_grade2.yaml", &n2);
    CHECK(t1 && t2 && n1 == n2 && !memcmp(t1, t2, n1), "re-save byte-identical");
    if (t1) {
      char buf[64];
      snprintf(buf, sizeof buf, "features: %d", q->grade[0].D);
      expect_load_error(t1, buf, "features: 7", "grade[0].features");
      expect_load_error(t1, "active_set_inverse: [\n", "active_set_inverse: [\n      1.0,\n", "grade[0].active_set_inverse");
      expect_load_error(t1, "columns: [", "columns: [100000, ", "grade[0].columns[0]");
      expect_load_error(t1, "columns: [", "columns: [-1.5, ", "grade[0].columns[0]");
      expect_load_error(t1, "  - element: Ni\n    features", "  - element: Cu\n    features", "second grade entry");
      expect_load_error(t1, "  - element: Cu\n    features", "  - element: Fe\n    features", "grade[0].element");
      expect_load_error(t1, "training_environments:", "training_atoms:", "unknown key");
    }
    free(t1); free(t2);
    tnace_workspace_free(wq);
    tnace_potential_free(q);
  }
  tnace_workspace_free(ws);
  tnace_potential_free(p);
  tnace_dataset_free(&ds);
}

int main(void) {
  test_features_fd();
  test_active_set();
  return test_summary("test_grade");
}
