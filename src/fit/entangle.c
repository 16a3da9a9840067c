/*
 * entangle.c — Schmidt spectra of the MPS weight tensors. See entangle.h.
 */
#include "entangle.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evalstats.h"

/* Below this fraction of the largest squared Schmidt value an eigenvalue is round-off of the Gram route. */
#define ROUNDOFF_REL 1e-14
#define SMALL_SV 1e-3

/* G' = Σ_p C_pᵀ G C_p (left transfer), C_p = core[p] as bl × br. */
static void left_step(const double *C, int ph, int bl, int br, const double *G, double *Gn, double *T) {
  memset(Gn, 0, (size_t)br * br * sizeof *Gn);
  for (int p = 0; p < ph; p++) {
    const double *Cp = C + (size_t)p * bl * br;
    for (int a = 0; a < bl; a++)          /* T = G C_p */
      for (int b = 0; b < br; b++) {
        double s = 0;
        for (int c = 0; c < bl; c++) s += G[a * bl + c] * Cp[c * br + b];
        T[a * br + b] = s;
      }
    for (int b = 0; b < br; b++)
      for (int b2 = 0; b2 < br; b2++) {
        double s = 0;
        for (int a = 0; a < bl; a++) s += Cp[a * br + b] * T[a * br + b2];
        Gn[b * br + b2] += s;
      }
  }
}

/* H' = Σ_p C_p H C_pᵀ (right transfer). */
static void right_step(const double *C, int ph, int bl, int br, const double *H, double *Hn, double *T) {
  memset(Hn, 0, (size_t)bl * bl * sizeof *Hn);
  for (int p = 0; p < ph; p++) {
    const double *Cp = C + (size_t)p * bl * br;
    for (int a = 0; a < bl; a++)          /* T = C_p H */
      for (int b = 0; b < br; b++) {
        double s = 0;
        for (int c = 0; c < br; c++) s += Cp[a * br + c] * H[c * br + b];
        T[a * br + b] = s;
      }
    for (int a = 0; a < bl; a++)
      for (int a2 = 0; a2 < bl; a2++) {
        double s = 0;
        for (int b = 0; b < br; b++) s += T[a * br + b] * Cp[a2 * br + b];
        Hn[a * bl + a2] += s;
      }
  }
}

double tnace_page_entropy(int m, int n) {
  if (m > n) { const int t = m; m = n; n = t; }
  double s = 0;
  for (long k = (long)n + 1; k <= (long)m * n; k++) s += 1.0 / (double)k;
  return s - (m - 1) / (2.0 * n);
}

/* Squared Schmidt values (descending, into lam[chi]) from the Gram matrices G (left) and H (right). */
static int schmidt_sq(int chi, const double *G, const double *H, double *lam, double *w) {
  double *V = w, *M = w + (size_t)chi * chi, *T = w + 2 * (size_t)chi * chi, *g = w + 3 * (size_t)chi * chi;
  memcpy(V, G, (size_t)chi * chi * sizeof *V);
  if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', chi, V, chi, g)) return -1;
  for (int a = 0; a < chi; a++)   /* T = V diag(√g) */
    for (int k = 0; k < chi; k++) T[a * chi + k] = V[a * chi + k] * sqrt(g[k] > 0 ? g[k] : 0);
  for (int a = 0; a < chi; a++)   /* M = √G = T Vᵀ */
    for (int b = 0; b < chi; b++) {
      double s = 0;
      for (int k = 0; k < chi; k++) s += T[a * chi + k] * V[b * chi + k];
      M[a * chi + b] = s;
    }
  for (int a = 0; a < chi; a++)   /* T = √G H */
    for (int b = 0; b < chi; b++) {
      double s = 0;
      for (int k = 0; k < chi; k++) s += M[a * chi + k] * H[k * chi + b];
      T[a * chi + b] = s;
    }
  for (int a = 0; a < chi; a++)   /* V = T √G (symmetric) */
    for (int b = 0; b < chi; b++) {
      double s = 0;
      for (int k = 0; k < chi; k++) s += T[a * chi + k] * M[k * chi + b];
      V[a * chi + b] = s;
    }
  if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', chi, V, chi, g)) return -1;
  for (int k = 0; k < chi; k++) lam[k] = g[chi - 1 - k];   /* ascending → descending */
  return 0;
}

/* Statistics of one cut from its squared Schmidt values (descending). */
static int cut_stats(tnace_cut *c, const double *lam) {
  const int chi = c->chi;
  double tot = 0;
  for (int k = 0; k < chi; k++) tot += lam[k] > 0 ? lam[k] : 0;
  if (!(tot > 0)) return -1;
  double S = 0, S2 = 0, xi[TNACE_MAX_BOND];   /* chi ≤ TNACE_MAX_BOND */
  int nxi = 0;
  c->n_small = 0;
  for (int k = 0; k < chi; k++) {
    const double p = lam[k] > ROUNDOFF_REL * lam[0] ? lam[k] / tot : 0.0;
    c->schmidt[k] = sqrt(p);
    if (p > 0) {
      S -= p * log(p);
      S2 += p * log(p) * log(p);
      xi[nxi++] = -log(p);
    }
    if (c->schmidt[k] < SMALL_SV * c->schmidt[0]) c->n_small++;
  }
  c->entropy = S;
  c->capacity = S2 - S * S;
  c->ln_chi = log((double)chi);
  c->page = tnace_page_entropy(chi, chi);
  c->s_ratio = c->schmidt[chi - 1] / c->schmidt[0];
  double r = 0;
  int nr = 0;
  for (int k = 0; k + 2 < nxi; k++) {   /* ξ ascending already (p descending) */
    const double d1 = xi[k + 1] - xi[k], d2 = xi[k + 2] - xi[k + 1], hi = d1 > d2 ? d1 : d2;
    if (hi > 0) { r += (d1 < d2 ? d1 : d2) / hi; nr++; }
  }
  c->r_mean = nr ? r / nr : NAN;
  return 0;
}

void tnace_mps_cuts_free(tnace_mps_cuts *c) {
  if (!c) return;
  for (int i = 0; i < c->n_cuts; i++) free(c->cut[i].schmidt);
  memset(c, 0, sizeof *c);
}

int tnace_mps_entanglement(const tnace_tn *tn, tnace_mps_cuts *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  const int ns = 3 * tn->nu;
  int bmax = 1;
  for (int s = 0; s <= ns; s++) bmax = tn->bond[s] > bmax ? tn->bond[s] : bmax;
  const size_t bb = (size_t)bmax * bmax;
  double *G = calloc((size_t)(ns + 1) * bb, sizeof *G), *H = calloc((size_t)(ns + 1) * bb, sizeof *H);
  double *w = malloc((4 * bb + bmax) * sizeof *w), *lam = malloc((size_t)bmax * sizeof *lam);
  int rc = G && H && w && lam ? 0 : TNACE_ERR_NOMEM;
  if (rc) snprintf(err, errlen, "out of memory");
  if (!rc) {
    G[0] = 1.0;   /* G[s]: left environment at bond s (bond[s]²), H[s]: right one */
    for (int s = 0; s < ns; s++) left_step(tn->core[s], tn->phys[s], tn->bond[s], tn->bond[s + 1], G + s * bb, G + (s + 1) * bb, w);
    for (int b = 0; b < tn->bond[ns]; b++) H[ns * bb + (size_t)b * tn->bond[ns] + b] = 1.0;   /* an MPO's K traced */
    for (int s = ns - 1; s >= 0; s--) right_step(tn->core[s], tn->phys[s], tn->bond[s], tn->bond[s + 1], H + (s + 1) * bb, H + s * bb, w);
  }
  for (int s = 1; !rc && s < ns; s++) {
    tnace_cut *c = &out->cut[out->n_cuts];
    c->site = s;
    c->chi = tn->bond[s];
    c->between_copies = s % 3 == 0;
    if (!(c->schmidt = calloc((size_t)c->chi, sizeof *c->schmidt))) { rc = TNACE_ERR_NOMEM; snprintf(err, errlen, "out of memory"); break; }
    out->n_cuts++;
    if (schmidt_sq(c->chi, G + s * bb, H + s * bb, lam, w) || cut_stats(c, lam)) {
      snprintf(err, errlen, "bond %d: %s", s, "no Schmidt values (eigensolver failed or the weight tensor is zero)");
      rc = TNACE_ERR_NUMERIC;
    }
  }
  free(G);
  free(H);
  free(w);
  free(lam);
  if (rc) tnace_mps_cuts_free(out);
  return rc;
}

/* ---- report ---------------------------------------------------------------------------------------- */

static void json_num(FILE *f, double x) { tnace_json_write_number(f, x, 6); }

static void json_cut(FILE *f, const tnace_cut *c) {
  fprintf(f, "{\"bond\": %d, \"chi\": %d, \"between_copies\": %s, \"entropy\": ", c->site, c->chi,
          c->between_copies ? "true" : "false");
  json_num(f, c->entropy);
  const double x[5] = {c->ln_chi, c->page, c->capacity, c->r_mean, c->s_ratio};
  static const char *const k[5] = {"ln_chi", "page", "capacity", "r_mean", "s_min_over_s_max"};
  for (int i = 0; i < 5; i++) {
    fprintf(f, ", \"%s\": ", k[i]);
    json_num(f, x[i]);
  }
  fprintf(f, ", \"n_below_1e-3\": %d, \"schmidt\": [", c->n_small);
  for (int i = 0; i < c->chi; i++) {
    if (i) fputs(", ", f);
    json_num(f, c->schmidt[i]);
  }
  fputs("]}", f);
}

static void table_cut(FILE *f, const tnace_potential *pot, const tnace_mps_cuts *m, const tnace_cut *c) {
  char rr[16];
  if (isfinite(c->r_mean)) snprintf(rr, sizeof rr, "%.3f", c->r_mean);
  else snprintf(rr, sizeof rr, "-");
  fprintf(f, "%-4s %4d %5s %4d %-7s %4d %7.3f %7.3f %6.2f %7.3f %7.3f %6s %10.2e %5d\n", pot->elem[m->element], m->term,
          m->layer ? "bra" : "ket", c->site, c->between_copies ? "copies" : "inside", c->chi, c->entropy, c->ln_chi,
          c->ln_chi > 0 ? c->entropy / c->ln_chi : 1.0, c->page, c->capacity, rr, c->s_ratio, c->n_small);
}

int tnace_entanglement_report(FILE *f, const tnace_potential *pot, const char *name, int json, char *err,
                              size_t errlen) {
  if (json) {
    fputs("{\"potential\": ", f);
    tnace_json_write_string(f, name);
    fputs(", \"mps\": [", f);
  } else {
    fprintf(f, "# entanglement of the MPS weight tensors of %s (src/fit/entangle.h)\n", name);
    fprintf(f, "%-4s %4s %5s %4s %-7s %4s %7s %7s %6s %7s %7s %6s %10s %5s\n", "el", "term", "layer", "bond", "cut",
            "chi", "S", "ln_chi", "S/lnX", "S_Page", "C", "<r>", "smin/smax", "<1e-3");
  }
  int first = 1;
  for (int a = 0; a < pot->n_el; a++)
    for (int t = 0; t < pot->n_terms; t++)
      for (int layer = 0; layer < (pot->spec[t].model == TNACE_MODEL_MPO ? 2 : 1); layer++) {
        const tnace_tn *tn = tnace_layer(pot, a, t, layer);
        if (3 * tn->nu < 2) continue;
        tnace_mps_cuts m;
        const int rc = tnace_mps_entanglement(tn, &m, err, errlen);
        if (rc) {
          char tmp[512];
          snprintf(tmp, sizeof tmp, "%s", err);
          snprintf(err, errlen, "%s: element %s, term %d: %s", name, pot->elem[a], t, tmp);
          return rc;
        }
        m.element = a;
        m.term = t;
        m.layer = layer;
        if (json) {
          fprintf(f, "%s\n {\"element\": \"%s\", \"term\": %d, \"layer\": \"%s\", \"nu\": %d, \"cuts\": [", first ? "" : ",",
                  pot->elem[a], t, layer ? "bra" : "ket", tn->nu);
          for (int i = 0; i < m.n_cuts; i++) {
            fputs(i ? ",\n  " : "\n  ", f);
            json_cut(f, &m.cut[i]);
          }
          fputs("]}", f);
        } else {
          for (int i = 0; i < m.n_cuts; i++) table_cut(f, pot, &m, &m.cut[i]);
        }
        first = 0;
        tnace_mps_cuts_free(&m);
      }
  if (json) fputs("\n]}\n", f);
  return ferror(f) ? TNACE_ERR_IO : 0;
}
