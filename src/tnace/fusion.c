/*
 * fusion.c — build the prefix trie of real-basis SO(3) fusion-tree coefficients (fusion.h).
 *
 * For each allowed angular path (l_0 … l_{ν−1}; L_1 … L_{ν−2}) the complex-basis coupling tensor is
 *   Qc(μ) = Π_{k=1}^{ν−2} ⟨L_{k−1} M_{k−1} l_k μ_k | L_k M_k⟩ · (−1)^(L−M)/√(2L+1) · δ(μ_{ν−1}, −M)
 * with L_0 = l_0, M_k = μ_0 + … + μ_k, L = L_{ν−2} = l_{ν−1}, M = M_{ν−2} (for ν = 2 no CG factor;
 * for ν = 1 Qc = 1). Each path's Qc has unit Frobenius norm (CG orthonormality).
 *
 * Real basis: the channels of the model are real-Y channels A^r = S A^c (S = tnace_real_from_complex,
 * unitary), so A^c = S^† A^r and
 *   B = Σ_μ Qc(μ) Π_k A^c_k(μ_k) = Σ_m Qr(m) Π_k A^r_k(m_k),   Qr(m) = Σ_μ Qc(μ) Π_k conj(S[m_k][μ_k]).
 * Row m of S has entries only in columns μ = ±|m|, so each Qc(μ) is scattered to the ≤ 2^ν real tuples
 * with |m_k| = |μ_k|. Reality: conj(S[m][μ]) = (−1)^μ S[m][−μ] (that is Y^{−μ} = (−1)^μ conj Y^μ), Qc is
 * real, Σμ = 0 and Qc(−μ) = (−1)^(Σl) Qc(μ) (CG symmetry at every vertex), so conj Qr = (−1)^(Σl) Qr: real
 * for the even Σl kept here. This is checked per path (|Im| ≤ 1e-12 of the path's largest entry). A
 * purely imaginary path (odd Σl, never enumerated) would be multiplied by −i, i.e. Im Qr is kept; any
 * other mixture is reported as an error.
 *
 * The terms (one per real tuple with |coef| ≥ 1e-14) are sorted lexicographically by channel tuple, so
 * that the distinct prefixes of each length appear in (parent, chan) order: the trie levels are then
 * read off in one pass. Labels per copy are the (l, L) pairs that occur in some kept term, sorted by
 * (l, L); channels are numbered label by label, m = −l..l.
 *
 * Cost: CG values are cached per (l1, l2, L) block and computed on first use (tnace_wigner3j is exact
 * but not cheap); everything else is linear in the number of (complex) tensor entries.
 */
#include "fusion.h"

#include <complex.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "tnace.h"
#include "ylm.h"

#define COEF_DROP 1e-14 /* coefficients below this are treated as exact zeros */
#define IMAG_TOL 1e-12  /* allowed |Im| / max|Qr| of a path that should be real */
/* Measured cost per unit of tnace_fusion_work_estimate (nu = 4, l_max 9 and 11: 1.0e6 → 0.24 GB, 8 s;
 * 4.0e6 → 1.65 GB, 51 s), used only to word the refusal. */
#define FUSION_BYTES_PER_WORK 415.0
#define FUSION_SECONDS_PER_WORK 1.3e-5

typedef struct {
  int ch[TNACE_MAX_NU]; /* raw channel code per copy (see raw_code), later the trie channel */
  double c;
} term;

typedef struct {
  int l[TNACE_MAX_NU]; /* l_k */
  int L[TNACE_MAX_NU]; /* L[k] intermediate after coupling copies 0..k (k = 1..ν−2); L[0] = l_0 */
} path;

/* Build context: everything that must be freed on every exit path lives here. */
typedef struct {
  int nu, lmax;
  double **cg_blk;           /* [(lmax+1)^3] CG blocks [(2l1+1)(2l2+1)] by (l1, l2, L), lazily filled */
  double complex **S;        /* [lmax+1] real_from_complex matrices */
  double complex *acc;       /* dense Qr accumulator of one path */
  term *terms;
  size_t n_terms, cap_terms;
  char *err;
  size_t errlen;
} ctx;

static int fail(ctx *c, int code, const char *fmt, ...) {
  if (c->err && c->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

/* Labels are keyed by (l, L) with L = −1 for plain copies; the raw channel code orders channels by
 * (l, L, m), the same order as the final channel numbering, so sorting raw codes sorts channels. */
static int label_key(const ctx *c, int l, int L) { return l * (c->lmax + 2) + (L + 1); }
static int raw_code(const ctx *c, int key, int m) { return key * (2 * c->lmax + 1) + (m + c->lmax); }

/* ⟨l1 m1 l2 m2 | L, m1+m2⟩ from the cache; NULL block on allocation failure is reported via *nomem. */
static double cg_cached(ctx *c, int l1, int m1, int l2, int m2, int L, int *nomem) {
  const int n1 = 2 * l1 + 1, n2 = 2 * l2 + 1, d = c->lmax + 1;
  double **slot = &c->cg_blk[((size_t)l1 * d + l2) * d + L];
  if (!*slot) {
    double *b = malloc(sizeof(double) * (size_t)n1 * n2);
    if (!b) {
      *nomem = 1;
      return 0.0;
    }
    for (int a = -l1; a <= l1; a++)
      for (int e = -l2; e <= l2; e++)
        b[(a + l1) * n2 + (e + l2)] = (abs(a + e) <= L) ? tnace_clebsch_gordan(l1, a, l2, e, L, a + e) : 0.0;
    *slot = b;
  }
  return (*slot)[(m1 + l1) * n2 + (m2 + l2)];
}

/* Add Qc(μ) to every real tuple m with |m_k| = |μ_k|, weighted by Π_k conj(S[m_k][μ_k]). */
static void scatter(ctx *c, const path *p, const int *mu, double complex q) {
  const int nu = c->nu;
  for (int mask = 0; mask < (1 << nu); mask++) {
    double complex w = q;
    size_t idx = 0;
    int skip = 0;
    for (int k = 0; k < nu; k++) {
      const int l = p->l[k], n = 2 * l + 1, a = abs(mu[k]);
      const int bit = (mask >> k) & 1;
      if (a == 0 && bit) {
        skip = 1; /* μ = 0 has a single real partner m = 0 */
        break;
      }
      const int m = bit ? -a : a;
      w *= conj(c->S[l][(m + l) * n + (mu[k] + l)]);
      idx = idx * (size_t)n + (size_t)(m + l);
    }
    if (!skip) c->acc[idx] += w;
  }
}

/* Enumerate μ_k for copies k..ν−2 with running coefficient q and running M (= M_{k−1}). */
static int enum_mu(ctx *c, const path *p, int k, int *mu, int M, double q) {
  const int nu = c->nu < TNACE_MAX_NU ? c->nu : TNACE_MAX_NU; /* clamp: lets the compiler bound k */
  if (k >= nu - 1) {
    const int L = p->l[nu - 1];
    if (abs(M) > L) return 0;
    mu[nu - 1] = -M;
    const double fin = ((L - M) & 1 ? -1.0 : 1.0) / sqrt(2.0 * L + 1.0);
    scatter(c, p, mu, q * fin);
    return 0;
  }
  const int l = p->l[k];
  for (int m = -l; m <= l; m++) {
    mu[k] = m;
    if (k == 0) {
      int rc = enum_mu(c, p, 1, mu, m, 1.0);
      if (rc) return rc;
      continue;
    }
    const int Lp = p->L[k - 1], Lk = p->L[k], Mk = M + m;
    if (abs(Mk) > Lk) continue;
    int nomem = 0;
    const double g = cg_cached(c, Lp, M, l, m, Lk, &nomem);
    if (nomem) return TNACE_ERR_NOMEM;
    if (g == 0.0) continue;
    int rc = enum_mu(c, p, k + 1, mu, Mk, q * g);
    if (rc) return rc;
  }
  return 0;
}

static int push_term(ctx *c, const term *t) {
  if (c->n_terms >= TNACE_MAX_FUSION_TERMS)
    return fail(c, TNACE_ERR_VALUE, "fusion: tree for nu = %d, lmax = %d has more than %zu terms; reduce lmax", c->nu,
                c->lmax, (size_t)TNACE_MAX_FUSION_TERMS);
  if (c->n_terms == c->cap_terms) {
    size_t cap = c->cap_terms ? 2 * c->cap_terms : 1024;
    term *nt = realloc(c->terms, cap * sizeof(term));
    if (!nt) return fail(c, TNACE_ERR_NOMEM, "fusion: out of memory");
    c->terms = nt;
    c->cap_terms = cap;
  }
  c->terms[c->n_terms++] = *t;
  return 0;
}

/* Compute one path's real coefficients and append its non-zero terms. */
static int do_path(ctx *c, const path *p) {
  const int nu = c->nu;
  size_t total = 1;
  for (int k = 0; k < nu; k++) total *= (size_t)(2 * p->l[k] + 1);
  memset(c->acc, 0, total * sizeof(double complex));
  int mu[TNACE_MAX_NU];
  if (nu == 1) {
    mu[0] = 0;
    scatter(c, p, mu, 1.0);
  } else {
    int rc = enum_mu(c, p, 0, mu, 0, 1.0);
    if (rc) return fail(c, rc, "fusion: out of memory");
  }

  double maxabs = 0.0, maxre = 0.0, maxim = 0.0;
  for (size_t i = 0; i < total; i++) {
    maxabs = fmax(maxabs, cabs(c->acc[i]));
    maxre = fmax(maxre, fabs(creal(c->acc[i])));
    maxim = fmax(maxim, fabs(cimag(c->acc[i])));
  }
  int use_imag = 0;
  if (maxim > IMAG_TOL * maxabs) {
    if (maxre <= IMAG_TOL * maxabs)
      use_imag = 1; /* purely imaginary path: multiply by −i, i.e. keep Im */
    else
      return fail(c, TNACE_ERR_VALUE,
                  "fusion: path (l = %d %d %d %d) has complex real-basis coefficients (|Re| %.3g, |Im| %.3g)",
                  p->l[0], nu > 1 ? p->l[1] : -1, nu > 2 ? p->l[2] : -1, nu > 3 ? p->l[3] : -1, maxre, maxim);
  }

  int keys[TNACE_MAX_NU];
  for (int k = 0; k < nu; k++) keys[k] = label_key(c, p->l[k], (k >= 1 && k <= nu - 3) ? p->L[k] : -1);
  for (size_t i = 0; i < total; i++) {
    const double v = use_imag ? cimag(c->acc[i]) : creal(c->acc[i]);
    if (fabs(v) < COEF_DROP) continue;
    term t;
    memset(&t, 0, sizeof t);
    size_t r = i;
    for (int k = nu - 1; k >= 0; k--) {
      const int n = 2 * p->l[k] + 1;
      t.ch[k] = raw_code(c, keys[k], (int)(r % (size_t)n) - p->l[k]);
      r /= (size_t)n;
    }
    t.c = v;
    int rc = push_term(c, &t);
    if (rc) return rc;
  }
  return 0;
}

/* Enumerate the free intermediates L_1..L_{ν−3} (L_{ν−2} = l_{ν−1} is fixed), then compute the path. */
static int enum_L(ctx *c, path *p, int k) {
  const int nu = c->nu < TNACE_MAX_NU ? c->nu : TNACE_MAX_NU;
  if (k >= nu - 2) {
    /* last coupling (L_{ν−3} l_{ν−2}) → L_{ν−2} = l_{ν−1} must be triangle-allowed */
    const int a = p->L[k - 1], b = p->l[k], L = p->l[nu - 1];
    if (L < abs(a - b) || L > a + b) return 0;
    p->L[k] = L;
    return do_path(c, p);
  }
  const int a = p->L[k - 1], b = p->l[k];
  const int hi = a + b < c->lmax ? a + b : c->lmax;
  for (int L = abs(a - b); L <= hi; L++) {
    p->L[k] = L;
    int rc = enum_L(c, p, k + 1);
    if (rc) return rc;
  }
  return 0;
}

/* Enumerate non-decreasing l tuples (ν ≥ 3) and hand each parity-allowed one to enum_L. */
static int enum_l(ctx *c, path *p, int k, int lo) {
  const int nu = c->nu < TNACE_MAX_NU ? c->nu : TNACE_MAX_NU;
  if (k >= nu) {
    int s = 0;
    for (int i = 0; i < nu; i++) s += p->l[i];
    if (s & 1) return 0;
    p->L[0] = p->l[0];
    return enum_L(c, p, 1);
  }
  for (int l = lo; l <= c->lmax; l++) {
    p->l[k] = l;
    int rc = enum_l(c, p, k + 1, l);
    if (rc) return rc;
  }
  return 0;
}

static int cmp_term(const void *x, const void *y) {
  const term *a = x, *b = y;
  for (int k = 0; k < TNACE_MAX_NU; k++)
    if (a->ch[k] != b->ch[k]) return a->ch[k] < b->ch[k] ? -1 : 1;
  return 0;
}

static void ctx_free(ctx *c) {
  if (c->cg_blk) {
    const size_t d = (size_t)c->lmax + 1;
    for (size_t i = 0; i < d * d * d; i++) free(c->cg_blk[i]);
    free(c->cg_blk);
  }
  if (c->S) {
    for (int l = 0; l <= c->lmax; l++) free(c->S[l]);
    free(c->S);
  }
  free(c->acc);
  free(c->terms);
}

void tnace_fusion_free(tnace_fusion *f) {
  if (!f) return;
  for (int k = 0; k < TNACE_MAX_NU; k++) {
    free(f->lam_l[k]);
    free(f->lam_L[k]);
    free(f->chan_off[k]);
    free(f->chan_lam[k]);
    free(f->chan_lm[k]);
    free(f->parent[k]);
    free(f->chan[k]);
  }
  free(f->coef);
  memset(f, 0, sizeof *f);
}

/* Labels, channel tables and the raw-code → channel map of copy k from the sorted terms. */
static int build_labels(ctx *c, tnace_fusion *f, int k, int *raw2chan) {
  const int lmax = c->lmax, nkeys = (lmax + 1) * (lmax + 2), nm = 2 * lmax + 1;
  int *key2lam = malloc(sizeof(int) * (size_t)nkeys);
  if (!key2lam) return TNACE_ERR_NOMEM;
  for (int i = 0; i < nkeys; i++) key2lam[i] = -1;
  for (size_t t = 0; t < c->n_terms; t++) key2lam[c->terms[t].ch[k] / nm] = 0;
  int nl = 0;
  for (int i = 0; i < nkeys; i++)
    if (key2lam[i] >= 0) key2lam[i] = nl++;
  f->n_lambda[k] = nl;
  f->lam_l[k] = malloc(sizeof(int) * (size_t)(nl ? nl : 1));
  f->lam_L[k] = malloc(sizeof(int) * (size_t)(nl ? nl : 1));
  f->chan_off[k] = malloc(sizeof(int) * (size_t)(nl + 1));
  if (!f->lam_l[k] || !f->lam_L[k] || !f->chan_off[k]) {
    free(key2lam);
    return TNACE_ERR_NOMEM;
  }
  int nch = 0;
  for (int i = 0; i < nkeys; i++) {
    const int lam = key2lam[i];
    if (lam < 0) continue;
    const int l = i / (lmax + 2), L = i % (lmax + 2) - 1;
    f->lam_l[k][lam] = l;
    f->lam_L[k][lam] = L;
    f->chan_off[k][lam] = nch;
    for (int m = -l; m <= l; m++) raw2chan[raw_code(c, i, m)] = nch + m + l;
    nch += 2 * l + 1;
  }
  f->chan_off[k][nl] = nch;
  f->n_chan[k] = nch;
  f->chan_lam[k] = malloc(sizeof(int) * (size_t)(nch ? nch : 1));
  f->chan_lm[k] = malloc(sizeof(int) * (size_t)(nch ? nch : 1));
  if (!f->chan_lam[k] || !f->chan_lm[k]) {
    free(key2lam);
    return TNACE_ERR_NOMEM;
  }
  for (int lam = 0; lam < nl; lam++) {
    const int l = f->lam_l[k][lam];
    for (int m = -l; m <= l; m++) {
      f->chan_lam[k][f->chan_off[k][lam] + m + l] = lam;
      f->chan_lm[k][f->chan_off[k][lam] + m + l] = l * l + l + m;
    }
  }
  free(key2lam);
  return 0;
}

/* The prefix trie (parent, chan, coef of f) of n sorted terms T over nu copies (channels already mapped):
 * a new prefix at level k starts where a term first differs from its predecessor at some copy ≤ k.
 * Returns 0, TNACE_ERR_VALUE (more than INT_MAX nodes on a level) or TNACE_ERR_NOMEM. */
static int trie_of_terms(tnace_fusion *f, int nu, const term *T, size_t n) {
  size_t cnt[TNACE_MAX_NU] = {0}; /* pass 1: count */
  for (size_t t = 0; t < n; t++) {
    int d = 0;
    if (t > 0)
      while (d < nu && T[t].ch[d] == T[t - 1].ch[d]) d++;
    for (int k = d; k < nu; k++) cnt[k]++;
  }
  for (int k = 0; k < nu; k++) {
    if (cnt[k] > (size_t)INT_MAX) return TNACE_ERR_VALUE;
    f->n_nodes[k] = (int)cnt[k];
    f->parent[k] = malloc(sizeof(int) * (cnt[k] ? cnt[k] : 1));
    f->chan[k] = malloc(sizeof(int) * (cnt[k] ? cnt[k] : 1));
    if (!f->parent[k] || !f->chan[k]) return TNACE_ERR_NOMEM;
  }
  f->coef = malloc(sizeof(double) * (cnt[nu - 1] ? cnt[nu - 1] : 1));
  if (!f->coef) return TNACE_ERR_NOMEM;
  int cur[TNACE_MAX_NU] = {0}, next[TNACE_MAX_NU] = {0}; /* pass 2: fill */
  for (size_t t = 0; t < n; t++) {
    int d = 0;
    if (t > 0)
      while (d < nu && T[t].ch[d] == T[t - 1].ch[d]) d++;
    for (int k = d; k < nu; k++) {
      cur[k] = next[k]++;
      f->parent[k][cur[k]] = k ? cur[k - 1] : 0;
      f->chan[k][cur[k]] = T[t].ch[k];
    }
    f->coef[cur[nu - 1]] = T[t].c;
  }
  return 0;
}

/* The trie from the sorted, merged terms of the build. */
static int build_trie(ctx *c, tnace_fusion *f) {
  const int rc = trie_of_terms(f, c->nu, c->terms, c->n_terms);
  if (rc == TNACE_ERR_VALUE) return fail(c, rc, "fusion: trie too large (more than %d nodes on a level)", INT_MAX);
  if (rc) return fail(c, rc, "fusion: out of memory");
  return 0;
}

/* The complex-basis m-tuples of a path with |M_k| ≤ L_k for every partial sum and M = 0 at the end: the work
 * of its CG products (the real-basis leaves it yields are 2–3 × more). A walk over M, O(ν l_max²). */
static double path_bound(int nu, const path *p, int lmax) {
  double cnt[2 * TNACE_LMAX_LIMIT + 1], nxt[2 * TNACE_LMAX_LIMIT + 1];
  const int w = 2 * lmax + 1;
  for (int M = 0; M < w; M++) cnt[M] = (abs(M - lmax) <= p->l[0]) ? 1.0 : 0.0;
  for (int k = 1; k < nu; k++) {
    const int Lk = k < nu - 1 ? p->L[k] : 0;
    for (int M = 0; M < w; M++) nxt[M] = 0.0;
    for (int M = 0; M < w; M++)
      if (cnt[M] > 0)
        for (int m = -p->l[k]; m <= p->l[k]; m++) {
          const int Mn = M + m;
          if (Mn >= 0 && Mn < w && abs(Mn - lmax) <= Lk) nxt[Mn] += cnt[M];
        }
    memcpy(cnt, nxt, sizeof(double) * (size_t)w);
  }
  return cnt[lmax];
}

/* The same paths as enum_l / enum_L, summing path_bound. */
static double bound_L(int nu, int lmax, path *p, int k) {
  nu = nu < TNACE_MAX_NU ? nu : TNACE_MAX_NU;   /* (callers check; this tells the compiler) */
  if (k >= nu - 2 || k >= TNACE_MAX_NU - 1) {
    const int a = p->L[k - 1], b = p->l[k], L = p->l[nu - 1];
    if (L < abs(a - b) || L > a + b) return 0.0;
    p->L[k] = L;
    return path_bound(nu, p, lmax);
  }
  double n = 0.0;
  const int a = p->L[k - 1], b = p->l[k], hi = a + b < lmax ? a + b : lmax;
  for (int L = abs(a - b); L <= hi; L++) {
    p->L[k] = L;
    n += bound_L(nu, lmax, p, k + 1);
  }
  return n;
}

static double bound_l(int nu, int lmax, path *p, int k, int lo) {
  nu = nu < TNACE_MAX_NU ? nu : TNACE_MAX_NU;
  if (k >= nu || k >= TNACE_MAX_NU) {
    int s = 0;
    for (int i = 0; i < nu; i++) s += p->l[i];
    if (s & 1) return 0.0;
    p->L[0] = p->l[0];
    return nu == 1 ? 1.0 : nu == 2 ? (p->l[0] == p->l[1] ? 2.0 * p->l[0] + 1 : 0.0) : bound_L(nu, lmax, p, 1);
  }
  double n = 0.0;
  for (int l = lo; l <= lmax; l++) {
    p->l[k] = l;
    n += bound_l(nu, lmax, p, k + 1, l);
  }
  return n;
}

double tnace_fusion_work_estimate(int nu, int lmax) {
  if (nu < 1 || nu > TNACE_MAX_NU || lmax < 0 || lmax > TNACE_LMAX_LIMIT) return 0.0;
  if (nu == 1) return 1.0;
  path p;
  memset(&p, 0, sizeof p);
  return bound_l(nu, lmax, &p, 0, 0);
}

int tnace_fusion_check_size(int nu, int lmax, char *err, size_t errlen) {
  const double work = tnace_fusion_work_estimate(nu, lmax);
  if (!(work > TNACE_MAX_FUSION_WORK)) return 0;
  if (err && errlen)
    snprintf(err, errlen,
             "the coupling tree of nu = %d, lmax = %d would take about %.1f GB and %.0f s to build, on every MPI rank "
             "that loads it (work %.3g, limit %.3g: TNACE_MAX_FUSION_WORK in tnace_limits.h); reduce lmax", nu, lmax,
             work * FUSION_BYTES_PER_WORK / 1e9, work * FUSION_SECONDS_PER_WORK, work, (double)TNACE_MAX_FUSION_WORK);
  return TNACE_ERR_VALUE;
}

int tnace_fusion_build(tnace_fusion *f, int nu, int lmax, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (!f) {
    if (err && errlen) snprintf(err, errlen, "fusion: NULL output");
    return TNACE_ERR_ARG;
  }
  memset(f, 0, sizeof *f);
  ctx c;
  memset(&c, 0, sizeof c);
  c.nu = nu;
  c.lmax = lmax;
  c.err = err;
  c.errlen = errlen;
  if (nu < 1 || nu > TNACE_MAX_NU) return fail(&c, TNACE_ERR_VALUE, "fusion: nu = %d out of range 1..%d", nu, TNACE_MAX_NU);
  if (lmax < 0 || lmax > TNACE_LMAX_LIMIT)
    return fail(&c, TNACE_ERR_VALUE, "fusion: lmax = %d out of range 0..%d", lmax, TNACE_LMAX_LIMIT);
  if (tnace_fusion_check_size(nu, lmax, err, errlen)) return TNACE_ERR_VALUE;
  f->nu = nu;
  f->lmax = lmax;

  int rc = 0;
  int *raw2chan = NULL;
  const size_t d = (size_t)lmax + 1;
  size_t acc_n = 1;
  for (int k = 0; k < nu; k++) acc_n *= 2 * d - 1;
  c.cg_blk = calloc(d * d * d, sizeof(double *));
  c.S = calloc(d, sizeof(double complex *));
  c.acc = malloc(acc_n * sizeof(double complex));
  if (!c.cg_blk || !c.S || !c.acc) {
    rc = fail(&c, TNACE_ERR_NOMEM, "fusion: out of memory");
    goto out;
  }
  for (int l = 0; l <= lmax; l++) {
    c.S[l] = malloc(sizeof(double complex) * (size_t)(2 * l + 1) * (2 * l + 1));
    if (!c.S[l]) {
      rc = fail(&c, TNACE_ERR_NOMEM, "fusion: out of memory");
      goto out;
    }
    tnace_real_from_complex(l, c.S[l]);
  }

  /* enumerate paths */
  path p;
  memset(&p, 0, sizeof p);
  if (nu == 1) {
    rc = do_path(&c, &p); /* l_0 = 0 */
  } else if (nu == 2) {
    for (int l = 0; l <= lmax && !rc; l++) {
      p.l[0] = p.l[1] = l;
      p.L[0] = l;
      rc = do_path(&c, &p);
    }
  } else {
    rc = enum_l(&c, &p, 0, 0);
  }
  if (rc) goto out;

  /* sort, merge equal channel tuples (distinct paths differ in their labels, so this is a safeguard),
   * drop zeros */
  qsort(c.terms, c.n_terms, sizeof(term), cmp_term);
  size_t w = 0;
  for (size_t t = 0; t < c.n_terms; t++) {
    if (w > 0 && cmp_term(&c.terms[w - 1], &c.terms[t]) == 0)
      c.terms[w - 1].c += c.terms[t].c;
    else
      c.terms[w++] = c.terms[t];
  }
  c.n_terms = w;
  w = 0;
  for (size_t t = 0; t < c.n_terms; t++)
    if (fabs(c.terms[t].c) >= COEF_DROP) c.terms[w++] = c.terms[t];
  c.n_terms = w;
  if (c.n_terms == 0) { /* cannot happen: every allowed path has a unit-norm coefficient tensor */
    rc = fail(&c, TNACE_ERR_VALUE, "fusion: no terms for nu = %d, lmax = %d", nu, lmax);
    goto out;
  }

  /* labels and channels per copy, then rewrite raw codes as channels (order-preserving) */
  raw2chan = malloc(sizeof(int) * (d * (d + 1) * (2 * d - 1)));
  if (!raw2chan) {
    rc = fail(&c, TNACE_ERR_NOMEM, "fusion: out of memory");
    goto out;
  }
  for (int k = 0; k < nu && !rc; k++) {
    rc = build_labels(&c, f, k, raw2chan);
    if (rc) {
      rc = fail(&c, rc, "fusion: out of memory");
      break;
    }
    for (size_t t = 0; t < c.n_terms; t++) c.terms[t].ch[k] = raw2chan[c.terms[t].ch[k]];
  }
  if (rc) goto out;
  rc = build_trie(&c, f);

out:
  free(raw2chan);
  ctx_free(&c);
  if (rc) tnace_fusion_free(f);
  return rc;
}

static int cmp_term_n(const term *a, const term *b, int nu) {
  for (int k = 0; k < nu; k++)
    if (a->ch[k] != b->ch[k]) return a->ch[k] < b->ch[k] ? -1 : 1;
  return 0;
}

static int copy_ints(int **dst, const int *src, int n) {
  *dst = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
  if (!*dst) return 1;
  if (n > 0) memcpy(*dst, src, sizeof(int) * (size_t)n);
  return 0;
}

/* Sort the leaves lexicographically by their channel tuples (merge sort: qsort has no context argument for nu). */
static void sort_rev(term *a, term *tmp, size_t n, int nu) {
  if (n < 2) return;
  const size_t h = n / 2;
  sort_rev(a, tmp, h, nu);
  sort_rev(a + h, tmp, n - h, nu);
  size_t i = 0, j = h, o = 0;
  while (i < h && j < n) tmp[o++] = cmp_term_n(&a[j], &a[i], nu) < 0 ? a[j++] : a[i++];
  while (i < h) tmp[o++] = a[i++];
  while (j < n) tmp[o++] = a[j++];
  memcpy(a, tmp, n * sizeof *a);
}

int tnace_fusion_reverse(const tnace_fusion *f, tnace_fusion *r, char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  const int nu = f->nu, L = nu - 1;
  const size_t nl = (size_t)f->n_nodes[L];
  r->nu = nu;
  r->lmax = f->lmax;
  for (int k = 0; k < nu; k++) { /* copy k of r is copy L−k of f */
    const int q = L - k, nlam = f->n_lambda[q], nch = f->n_chan[q];
    r->n_lambda[k] = nlam;
    r->n_chan[k] = nch;
    if (copy_ints(&r->lam_l[k], f->lam_l[q], nlam) || copy_ints(&r->lam_L[k], f->lam_L[q], nlam) ||
        copy_ints(&r->chan_off[k], f->chan_off[q], nlam + 1) || copy_ints(&r->chan_lam[k], f->chan_lam[q], nch) ||
        copy_ints(&r->chan_lm[k], f->chan_lm[q], nch))
      goto nomem;
  }
  term *lv = malloc(sizeof *lv * (nl ? nl : 1)), *tmp = malloc(sizeof *tmp * (nl ? nl : 1));
  if (!lv || !tmp) { free(lv); free(tmp); goto nomem; }
  for (size_t j = 0; j < nl; j++) { /* walk each leaf up to the root; store its channels reversed */
    int node = (int)j;
    for (int k = L; k >= 0; k--) {
      lv[j].ch[L - k] = f->chan[k][node];
      node = f->parent[k][node];
    }
    lv[j].c = f->coef[j];
  }
  sort_rev(lv, tmp, nl, nu);
  free(tmp);
  const int rc = trie_of_terms(r, nu, lv, nl); /* ≤ nl nodes per level, and nl fits in an int */
  free(lv);
  if (rc) goto nomem;
  return 0;
nomem:
  tnace_fusion_free(r);
  snprintf(err, errlen, "fusion: out of memory");
  return TNACE_ERR_NOMEM;
}
