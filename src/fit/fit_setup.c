/*
 * fit_setup.c — the steps of a fit that use a config but not the command line (fit_setup.h): the
 * potential the config describes, the metrics path, the early output check, the seeded validation split
 * and E0 from isolated atoms.
 */
#define _POSIX_C_SOURCE 200809L
#include "fit_setup.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cv.h"
#include "util.h"

int tnace_fitconfig_make_potential(const tnace_fitconfig *cfg, tnace_potential **out, char *err, size_t errlen) {
  const char *names[TNACE_MAX_ELEMENTS];
  *out = NULL;
  for (int a = 0; a < cfg->n_el; a++) names[a] = cfg->elem[a];
  tnace_potential *p = NULL;
  int rc = tnace_potential_create(&p, cfg->n_el, names, cfg->n_terms, cfg->spec, cfg->rcut[0][0], cfg->lambda, err, errlen);
  if (rc) return rc;
  for (int a = 0; a < cfg->n_el; a++) {
    for (int b = 0; b < cfg->n_el; b++) p->rcut[a][b] = cfg->rcut[a][b];
    p->e0[a] = cfg->e0_mode == TNACE_E0_FIXED ? cfg->e0[a] : 0.0;
  }
  p->r_min = cfg->r_min;
  p->rep_type = cfg->rep_type;
  p->rep_inner = cfg->rep_type == TNACE_REP_ZBL ? cfg->rep_inner : 0.0;
  p->rep_outer = cfg->rep_type == TNACE_REP_ZBL ? cfg->rep_outer : 0.0;
  p->prop = cfg->prop;
  if ((rc = tnace_potential_prepare(p, err, errlen))) {
    tnace_potential_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

const char *tnace_fitconfig_metrics_path(const tnace_fitconfig *cfg, const char *potential, char *buf, size_t len) {
  if (!buf || !len) return NULL;
  if (cfg && cfg->out_metrics) {
    snprintf(buf, len, "%s", cfg->out_metrics);
    return buf;
  }
  if ((cfg && cfg->metrics_set) || !potential) return NULL;
  tnace_sibling_path(potential, ".metrics.json", buf, len);
  return buf;
}

int tnace_sibling_path(const char *potential, const char *suffix, char *buf, size_t len) {
  size_t n = strlen(potential);
  const char *base = strrchr(potential, '/');
  base = base ? base + 1 : potential;
  if (n > 5 && !strcmp(potential + n - 5, ".yaml") && potential + n - 5 > base) n -= 5;
  else if (n > 4 && !strcmp(potential + n - 4, ".yml") && potential + n - 4 > base) n -= 4;
  return (size_t)snprintf(buf, len, "%.*s%s", (int)n, potential, suffix) >= len ? -1 : 0;
}

int tnace_check_writable(const char *path, char *err, size_t errlen) {
  struct stat st;
  if (!path || !*path) {
    snprintf(err, errlen, "cannot write '': empty file name");
    return TNACE_ERR_IO;
  }
  const int existed = stat(path, &st) == 0;
  if (existed && S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "cannot write '%s': is a directory", path);
    return TNACE_ERR_IO;
  }
  FILE *f = fopen(path, "a");
  if (!f) {
    snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    return TNACE_ERR_IO;
  }
  fclose(f);
  if (!existed) remove(path);
  return 0;
}

/* Number of structures a fraction moves: round(fraction · n), at least 1, leaving at least 1. */
static int split_count(int n, double fraction) {
  int m = (int)floor(fraction * n + 0.5);
  if (m < 1) m = 1;
  if (m > n - 1) m = n - 1;
  return m;
}

/* Move the m structures with to_valid[i] set from train to the end of valid, both keeping their order. */
static int move_marked(tnace_dataset *train, tnace_dataset *valid, const unsigned char *to_valid, int m, char *err,
                       size_t errlen) {
  const int n = train->n;
  tnace_struct *tr = malloc((size_t)(n - m) * sizeof *tr);
  tnace_struct *va = tr ? realloc(valid->s, (size_t)(valid->n + m) * sizeof *va) : NULL;
  if (va) valid->s = va;
  if (!tr || !va) {
    free(tr);
    snprintf(err, errlen, "out of memory");
    return TNACE_ERR_NOMEM;
  }
  int it = 0, iv = valid->n;
  for (int i = 0; i < n; i++) {
    if (to_valid[i]) va[iv++] = train->s[i];
    else tr[it++] = train->s[i];
  }
  free(train->s);
  train->s = tr;
  train->n = n - m;
  valid->n += m;
  return 0;
}

/* Common argument checks of both splits: 1 = nothing to do, 0 = split, else the error code (< 0). */
static int split_args(const tnace_dataset *train, double fraction, char *err, size_t errlen) {
  if (!(fraction >= 0 && fraction < 1)) {
    snprintf(err, errlen, "validation fraction %g is not in [0, 1)", fraction);
    return TNACE_ERR_VALUE;
  }
  const int n = train->n;
  if (fraction == 0 || n == 0) return 1;
  if (n < 2) {
    snprintf(err, errlen, "cannot split a validation fraction off %d training structure%s", n, n == 1 ? "" : "s");
    return TNACE_ERR_VALUE;
  }
  return 0;
}

int tnace_fitconfig_split(tnace_dataset *train, tnace_dataset *valid, double fraction, unsigned long long seed,
                          char *err, size_t errlen) {
  const int a = split_args(train, fraction, err, errlen);
  if (a) return a > 0 ? 0 : a;
  const int n = train->n, m = split_count(n, fraction);
  int *perm = malloc((size_t)n * sizeof *perm);
  unsigned char *to_valid = calloc((size_t)n, 1);
  int rc = perm && to_valid ? 0 : TNACE_ERR_NOMEM;
  if (!rc) {
    unsigned long long state = seed;
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
      int j = (int)(tnace_splitmix64(&state) % (unsigned long long)(i + 1));
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    for (int i = 0; i < m; i++) to_valid[perm[i]] = 1;
    rc = move_marked(train, valid, to_valid, m, err, errlen);
  } else {
    snprintf(err, errlen, "out of memory");
  }
  free(perm);
  free(to_valid);
  return rc;
}

int tnace_fitconfig_split_stratified(tnace_dataset *train, tnace_dataset *valid, double fraction,
                                     unsigned long long seed, char *err, size_t errlen) {
  const int a = split_args(train, fraction, err, errlen);
  if (a) return a > 0 ? 0 : a;
  const int n = train->n, m = split_count(n, fraction);
  int *order = malloc((size_t)n * sizeof *order);
  unsigned char *to_valid = calloc((size_t)n, 1);
  int rc = order && to_valid ? tnace_cv_group_order(train, seed, order, err, errlen) : TNACE_ERR_NOMEM;
  if (rc == TNACE_ERR_NOMEM) snprintf(err, errlen, "out of memory");
  if (!rc) {
    /* systematic sampling with a random start u: position j is taken when ⌊(j+1)m/n + u⌋ > ⌊jm/n + u⌋, which
     * takes exactly m positions, evenly spread, so each group gets ⌊or⌈ its share */
    unsigned long long state = seed ^ 0x5851F42D4C957F2DULL;
    const double u = (double)(tnace_splitmix64(&state) >> 11) * (1.0 / 9007199254740992.0);
    for (int j = 0; j < n; j++)
      if (floor((double)(j + 1) * m / n + u) > floor((double)j * m / n + u)) to_valid[order[j]] = 1;
    rc = move_marked(train, valid, to_valid, m, err, errlen);
  }
  free(order);
  free(to_valid);
  return rc;
}

int tnace_fitconfig_split_data(const tnace_fitconfig *cfg, tnace_dataset *train, tnace_dataset *valid, char *err,
                               size_t errlen) {
  if (cfg->stratify) return tnace_fitconfig_split_stratified(train, valid, cfg->valid_fraction, cfg->split_seed, err, errlen);
  return tnace_fitconfig_split(train, valid, cfg->valid_fraction, cfg->split_seed, err, errlen);
}

int tnace_fitconfig_isolated_e0(const tnace_dataset *ds, int n_el, const char (*elem)[4], double *e0, int *n_found,
                                char *err, size_t errlen) {
  double sum[TNACE_MAX_ELEMENTS] = {0};
  int cnt[TNACE_MAX_ELEMENTS] = {0};
  if (n_el < 1 || n_el > TNACE_MAX_ELEMENTS) {
    snprintf(err, errlen, "bad number of elements %d", n_el);
    return TNACE_ERR_ARG;
  }
  for (int i = 0; ds && i < ds->n; i++) {
    const tnace_struct *s = &ds->s[i];
    if (s->n != 1 || !s->has_energy || s->off[1] - s->off[0] != 0) continue;
    const int a = s->species[0];
    if (a < 0 || a >= n_el) continue;
    sum[a] += s->energy;
    cnt[a]++;
  }
  char missing[128] = "";
  size_t len = 0;
  for (int a = 0; a < n_el; a++) {
    if (n_found) n_found[a] = cnt[a];
    e0[a] = cnt[a] ? sum[a] / cnt[a] : 0.0;
    if (!cnt[a] && len < sizeof missing) {
      int w = snprintf(missing + len, sizeof missing - len, "%s%s", len ? ", " : "", elem[a]);
      if (w > 0) len += (size_t)w;
    }
  }
  if (len) {
    snprintf(err, errlen,
             "no isolated-atom frame for %s in the training data (a frame with one atom, an energy and no neighbour "
             "within the cutoff)",
             missing);
    return TNACE_ERR_VALUE;
  }
  return 0;
}

int tnace_fitconfig_check_quantities(const tnace_fitconfig *cfg, const char *config_path, const tnace_dataset *train,
                                     const tnace_dataset *valid, FILE *out, char *err, size_t errlen) {
  static const char *const what[3] = {"energy", "forces", "stress"};
  static const char *const noun[3] = {"an energy", "forces", "a stress (and a cell periodic in 3 directions)"};
  const double w[3] = {cfg->opts.kappa_e, cfg->opts.kappa_f, cfg->opts.kappa_s};
  long n[3] = {0, 0, 0};
  const tnace_dataset *sets[2] = {train, valid};
  for (int k = 0; k < 2; k++)
    for (int i = 0; sets[k] && i < sets[k]->n; i++) {
      const tnace_struct *s = &sets[k]->s[i];
      n[0] += s->has_energy;
      n[1] += s->has_forces;
      n[2] += s->has_stress;
    }
  for (int q = 0; q < 3; q++) {
    if (!(w[q] > 0) || n[q] > 0) continue;
    if (cfg->loss_line[q] > 0) {
      snprintf(err, errlen,
               "%s:%d: loss.%s: weight %g, but no structure of the data has %s: the keys or units are wrong "
               "(data.keys, data.units; tnace-fit --dry-run lists what was found), or set the weight to 0",
               config_path, cfg->loss_line[q], what[q], w[q], noun[q]);
      return TNACE_ERR_VALUE;
    }
    if (out) fprintf(out, "  note: no structure has %s; the default weight loss.%s %g fits nothing\n", noun[q],
                     what[q], w[q]);
  }
  /* an energy key named like a per-atom quantity read as structure totals (issue #16: a formation energy per
   * atom fitted as a total is silently wrong by the atom count) */
  static const char *const per_atom_hint[] = {"formation", "per_atom", "peratom", "natom", "per_cation", "_pa"};
  const char *ek = cfg->keys.energy;
  for (size_t h = 0; out && ek && !cfg->keys.energy_per_atom && h < sizeof per_atom_hint / sizeof *per_atom_hint; h++)
    if (strstr(ek, per_atom_hint[h])) {
      fprintf(out, "  note: data.keys.energy '%s' sounds like a per-atom quantity, but energies are read as structure "
                   "totals: if its values are per atom, declare data.units: {energy: eV/atom}\n", ek);
      break;
    }
  return 0;
}

/* First difference between the models of a and b (elements, cutoffs, radial basis, repulsion, terms, bonds),
 * written to what; 0 if they are the same model. */
static int model_differs(const tnace_potential *a, const tnace_potential *b, char *what, size_t len) {
  if (a->n_el != b->n_el) return snprintf(what, len, "%d elements, the config's %d", b->n_el, a->n_el), 1;
  for (int s = 0; s < a->n_el; s++) {
    if (strcmp(a->elem[s], b->elem[s]))
      return snprintf(what, len, "element %d is %s, the config's %s", s, b->elem[s], a->elem[s]), 1;
    for (int t = 0; t < a->n_el; t++)
      if (a->rcut[s][t] != b->rcut[s][t])
        return snprintf(what, len, "cutoff %s-%s %g Å, the config's %g", a->elem[s], a->elem[t], b->rcut[s][t],
                        a->rcut[s][t]), 1;
  }
  if (a->lambda != b->lambda || a->r_min != b->r_min || a->rep_type != b->rep_type || a->rep_inner != b->rep_inner ||
      a->rep_outer != b->rep_outer)
    return snprintf(what, len, "radial lambda / r_min / repulsion differ from the config's"), 1;
  if (a->n_terms != b->n_terms) return snprintf(what, len, "%d terms, the config's %d", b->n_terms, a->n_terms), 1;
  for (int t = 0; t < a->n_terms; t++) {
    const tnace_term_spec *p = &a->spec[t], *q = &b->spec[t];
    if (p->nu != q->nu || p->lmax != q->lmax || p->nmax != q->nmax || p->model != q->model || p->rank != q->rank ||
        p->srank != q->srank || p->scopies != q->scopies || p->escale != q->escale)
      return snprintf(what, len, "term %d is {nu %d, lmax %d, nmax %d}, the config's {nu %d, lmax %d, nmax %d} (or "
                      "its model, rank, scale, species_rank, species_copies differ)", t, q->nu, q->lmax, q->nmax, p->nu,
                      p->lmax, p->nmax), 1;
    for (int e = 0; e < a->n_el; e++)
      for (int l = 0; l < tnace_n_layers(a, t); l++) {
        const tnace_tn *x = tnace_layer(a, e, t, l), *y = tnace_layer(b, e, t, l);
        for (int k = 0; k <= 3 * x->nu; k++)
          if (x->bond[k] != y->bond[k])
            return snprintf(what, len, "term %d: bond %d is %d, the config's %d (chi)", t, k, y->bond[k], x->bond[k]), 1;
      }
  }
  return 0;
}

int tnace_fit_init_from(tnace_potential *pot, const tnace_potential *src, const char *src_path, char *err,
                        size_t errlen) {
  char what[256];
  if (model_differs(pot, src, what, sizeof what)) {
    snprintf(err, errlen, "%s: %s: starting from a potential needs the config's model", src_path, what);
    return TNACE_ERR_VALUE;
  }
  for (int s = 0; s < pot->n_el; s++) pot->e0[s] = src->e0[s];
  for (int t = 0; t < pot->n_terms; t++)
    for (int e = 0; e < pot->n_el; e++)
      for (int l = 0; l < tnace_n_layers(pot, t); l++) {
        tnace_tn *x = tnace_layer(pot, e, t, l);
        const tnace_tn *y = tnace_layer(src, e, t, l);
        for (int k = 0; k < 3 * x->nu; k++) memcpy(x->core[k], y->core[k], tn_core_size(x, k) * sizeof(double));
      }
  return tnace_potential_prepare(pot, err, errlen);
}
