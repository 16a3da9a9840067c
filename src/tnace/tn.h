/*
 * tn.h — tensor-network (MPS) terms over the ACE descriptor indices and their contraction with the
 * atomic base, without ever forming B^(ν) (Sommer & Dunham eq. 16–17, Fig. 6a, 8b; Darby et al.,
 * tensor-reduced ACE).
 *
 * A ν-term for one central species is an MPS with 3ν sites, copy k = 0..ν−1 owning sites
 *   s = 3k   : species  α_k  (physical dim n_el)
 *   s = 3k+1 : radial   n_k  (physical dim nmax)
 *   s = 3k+2 : angular  λ_k  (physical dim fus.n_lambda[k], see fusion.h)
 * Core s is stored row-major as [phys][bond[s]][bond[s+1]], bond[0] = 1, bond[3ν] = 1 for an MPS term and
 * K ≥ 1 for a layer of an MPO term (the open index b of J_b below).
 * The weight tensor is W_{α0 n0 λ0 … } = core_0[α0] core_1[n0] core_2[λ0] … (a 1×1 matrix product).
 *
 * Contraction order (never forms B): for each copy the three cores are multiplied once into the channel
 * map U^(k)[α][n][λ] = core_{3k}[α] core_{3k+1}[n] core_{3k+2}[λ] (bond[3k] × bond[3k+3] matrices), then
 *   c^(k)_{λm} = Σ_{α,n} U^(k)[α][n][λ] A_{α n l(λ) m}          (channels; mixes species and radial)
 *   E = Σ_{leaves} coef · c^(0)_{chan0} c^(1)_{chan1} … c^(ν−1)_{chan ν−1}   (matrix chain, 1×1)
 * evaluated on the fusion-tree prefix trie (fusion.h): each trie node holds the row vector of its prefix
 * product. The adjoint pass returns g^(k) = ∂E/∂c^(k); the tangent pass (dual numbers) returns the
 * directional derivative of E and of g^(k) for given input tangents dc^(k) (used by the trainer).
 *
 * The trie is walked level by level in channel-major order (the schedule below): the level-k nodes of one
 * channel ch all multiply the same matrix c^(k)_ch, so a level is one small matrix product per channel,
 * (nodes of ch) × bond[3k] times bond[3k] × bond[3k+3], with the parents' rows gathered in place
 * (kern.h). The level-0 "nodes" are the rows of c^(0) themselves.
 *
 * Right to left: E is also Σ_leaves coef · c^(ν−1)ᵀ … c^(0)ᵀ, the same chain over the reversed tuples
 * (tnace_fusion_reverse); for ν ≥ 3 its prefix trie can have fewer middle nodes, and the term then keeps a
 * reversed view (rev, below) that the evaluator contracts instead.
 *
 * Pair form: a ν = 2 MPS term is a quadratic form in A (its leaves pair each channel ch = (λ, m) with
 * itself, coefficient coef_ch),
 *   E = ½ Σ_ch coef_ch A_chᵀ S_λ A_ch,  S_λ = U0_λ U1_λᵀ + U1_λ U0_λᵀ   ((n_el·nmax)² per label λ),
 * with A_ch the column (α, n) ↦ A_{α n lm(ch)} and U0, U1 the channel maps of the two copies as
 * (n_el·nmax) × χ matrices; ∂E/∂A_ch = coef_ch S_λ A_ch. tn_prepare stores S when that costs fewer
 * operations than channels + trie + ∂E/∂A (n_el·nmax < 4χ, roughly); the evaluator then calls
 * tn_pair_energy. The channel route (tn_channels, tn_forward, …) stays valid for every term.
 * When one copy b is species-blind (model.h, scopies: its channel map is the same V_λ (nmax × χ) for every
 * neighbour species, U_b = 1 ⊗ V), S_λ = P_λ (1ᵀ ⊗ I) + (1 ⊗ I) P_λᵀ with P_λ = U_r,λ V_λᵀ (n_el·nmax × nmax,
 * r the other copy), so S_λ A_ch = P_λ Ā_ch + 1 ⊗ P_λᵀ A_ch with Ā_ch = Σ_α A_{α,ch}: 2 n_el·nmax² operations
 * per channel instead of (n_el·nmax)². tn_prepare stores P (tn_pair_blind) when every species block of U_b
 * is bitwise the same, as the trainer writes blind copies.
 */
#ifndef TNACE_TN_H
#define TNACE_TN_H

#include <stddef.h>
#include "fusion.h"

#define TNACE_MAX_SITES (3 * TNACE_MAX_NU)

/* MPS: E_t = ⟨W|B^(ν)⟩ with W an MPS (bond[3ν] = 1).
 * MPO: E_t = ⟨B^(ν)|T̂|B^(ν)⟩ with T̂ = Σ_b |F_b⟩⟨F'_b| (paper eq. 18, Fig. 7b, there on ν = 2): two ν-MPS
 *      layers, the ket F and the bra F', whose right boundary bonds (bond[3ν] = K, the MPO rank) are joined,
 *      so that E_t = Σ_b J_b J'_b with J = ⟨F|B⟩, J' = ⟨F'|B⟩ (tn_forward_vec): a rank-K quadratic form in
 *      the ν invariant. In site-wise form T̂ is an MPO of bond dimension ≤ K χ²; its effective body order is
 *      2ν + 1 (two ν invariants): 5 on the power spectrum, 7 on the bispectrum (as quadratic SNAP's products
 *      of bispectrum components, but of rank K). */
/* Embedding (model: embed): one ν-MPS layer with an open right bond of K ≥ 2 outputs J_b = ⟨F_b|B⟩, read out
 *      nonlinearly, as the several densities of PACE's embedding (Lysogorskiy et al., npj Comput Mater 7, 97,
 *      eq. 4; the Finnis–Sinclair square root of EAM):
 *        E_t = J_0 + Σ_{b=1}^{K−1} f(J_b; s/b),   f(x; σ) = x (1 + (x/σ)²)^(−1/4)          (tn_embed)
 *      f is smooth and odd, f ≈ x for |x| ≪ σ and f ≈ sign(x) √(σ|x|) for |x| ≫ σ; s (eV, `scale`) sets where
 *      the square root begins, and the outputs b ≥ 1 get distinct σ_b = s/b so that no two are interchangeable
 *      (from the symmetric start J = 0 the fit would otherwise keep them equal). The adjoint is seeded with
 *      f'(J_b); the trainer's Gauss–Newton rows use f'' too. */
enum { TNACE_MODEL_MPS = 0, TNACE_MODEL_MPO = 1, TNACE_MODEL_EMB = 2 };

/* The embedding read-out above: returns E_t = J_0 + Σ_{b≥1} f(J_b; s/b) of the K outputs J[K] (eV) for scale
 * s > 0 (eV), and writes d1[b] = ∂E_t/∂J_b and, when d2 is not NULL, d2[b] = ∂²E_t/∂J_b² (the Hessian is
 * diagonal). */
double tn_embed(int K, double s, const double *J, double *d1, double *d2);

typedef struct tnace_tn {
  int nu, lmax, nmax, n_el, model;
  tnace_fusion fus;
  int phys[TNACE_MAX_SITES];
  int bond[TNACE_MAX_SITES + 1];
  double *core[TNACE_MAX_SITES];   /* [phys][bond[s]][bond[s+1]] */
  /* Derived by tn_init* (never written by clients): the channel-major schedule of trie levels k ≥ 1.
   * The nodes of channel ch are j = grp[k][ch] .. grp[k][ch+1]−1 (sorted by channel, then as in the trie);
   * node j's row vector is row j of the level's values (w->val[k], [n_nodes][bond[3k+3]]); its parent's
   * row starts at element voff[k][j] of c^(0) (k = 1: the parent's channel × bond[3]) or of the level
   * k−1 values (k ≥ 2: the parent's position × bond[3k]). coef_cm: the leaf coefficients in that order. */
  int *grp[TNACE_MAX_NU];          /* [n_chan[k] + 1] */
  int *voff[TNACE_MAX_NU];         /* [n_nodes[k]] */
  double *coef_cm;                 /* [n_nodes[ν−1]] (ν ≥ 2) */
  /* Derived by tn_prepare (never written by clients): */
  double *U[TNACE_MAX_NU];         /* [n_el][nmax][n_lambda][bond[3k]][bond[3k+3]] */
  double *Ut[TNACE_MAX_NU];        /* the same values as [n_el][n_lambda][bond[3k]·bond[3k+3]][nmax] */
  size_t c_size[TNACE_MAX_NU];     /* n_chan[k] * bond[3k] * bond[3k+3] */
  unsigned char blind[TNACE_MAX_NU]; /* copy k is species-blind: every species block of U^(k) bitwise the same
                                    * (the trainer's species_copies); tn_channels then contracts U^(k) once
                                    * with Ā = Σ_α A_α, and tn_grad_A adds one ∂E/∂Ā to every species */
  double *S;                       /* pair form (see above), [n_lambda][n_el·nmax][n_el·nmax], or NULL; with
                                    * a blind copy (tn_pair_blind), P_λ = U_r,λ V_λᵀ instead:
                                    * [n_lambda][n_el·nmax][nmax] */
  /* The same term contracted right to left, or NULL (MPS terms with ν ≥ 3 only): copies reversed (its copy
   * k is copy ν−1−k here), fusion trie of the reversed leaf tuples (tnace_fusion_reverse), channel maps
   * transposed (U'^(k) = U^(ν−1−k)ᵀ), no cores. tn_init* builds it when its trie costs at least 3 % fewer
   * multiply-adds (Σ over middle levels of nodes × bond_l × bond_r), tn_prepare fills its channel maps, and
   * tn_ws_reserve sizes a workspace for both views. It gives the same E and ∂E/∂A. The evaluator
   * (tnace_atom_energy) contracts with it; the trainer, which needs the channels of each copy of this term,
   * does not. */
  struct tnace_tn *rev;
} tnace_tn;

/* Whether the pair form of t (t->S) holds P_λ for a species-blind copy rather than S_λ (see above). */
static inline int tn_pair_blind(const tnace_tn *t) { return t->S && (t->blind[0] || t->blind[1]); }

/* Scratch for one term's contraction; sized by tn_ws_alloc for the largest term of a potential. */
typedef struct {
  double *c[TNACE_MAX_NU], *g[TNACE_MAX_NU];      /* channels and ∂E/∂channels, [n_chan][bl][br] */
  double *val[TNACE_MAX_NU], *adj[TNACE_MAX_NU];  /* trie node row vectors [n_nodes][bond out] */
  double *dc[TNACE_MAX_NU], *dg[TNACE_MAX_NU];    /* tangents (trainer only) */
  double *dval[TNACE_MAX_NU], *dadj[TNACE_MAX_NU];
  double *tmp;                                    /* scratch of tn_backward*, tn_tangent*, tn_grad_A and
                                                     tn_pair_energy */
  double *z, *dz;                                 /* leaf sums Σ coef·(parent row) per leaf channel (tn.c)
                                                     and their tangent */
  double *seed;                                   /* [K] the seed of the last tn_backward_seed */
  double *sp;                                     /* [nmax][(lmax+1)²] species sum Ā of tn_channels, ∂E/∂Ā
                                                     of tn_grad_A (blind copies) */
  size_t cap_c[TNACE_MAX_NU], cap_node[TNACE_MAX_NU], cap_tmp, cap_z, cap_seed, cap_sp;
} tnace_tn_ws;

/* Allocate term `t` (cores zeroed, fusion tree built) for given nu, lmax, nmax, n_el and bond
 * dimension chi (internal bonds min(chi, largest rank the site dims allow)). The channel maps are not
 * computed: fill the cores, then call tn_prepare. Returns 0 or an error. */
int tn_init(tnace_tn *t, int nu, int lmax, int nmax, int n_el, int chi, char *err, size_t errlen);
/* The same with an open right boundary bond of dimension kout (an MPO layer; kout = 1 is tn_init). */
int tn_init_open(tnace_tn *t, int nu, int lmax, int nmax, int n_el, int chi, int kout, char *err, size_t errlen);
/* Allocate with explicit bond dims bond[0..3nu] (bond[0] = 1, bond[3nu] ≥ 1). */
int tn_init_bonds(tnace_tn *t, int nu, int lmax, int nmax, int n_el, const int *bond, char *err, size_t errlen);
/* Lower the bonds bond[0..ns] of an MPS with site dimensions ph[0..ns−1] (effective ones: d for a species
 * site of rank d, 1 for a species-blind one) until every bond is within the TT ranks its neighbours allow:
 * bond[s+1] ≤ ph[s]·bond[s] (left to right), then bond[s] ≤ ph[s]·bond[s+1] (right to left); the boundary
 * bonds stay. Then QR/LQ gauge moves through every site are full rank. */
void tn_clamp_bonds(int ns, const int *ph, int *bond);
void tn_free(tnace_tn *t);
/* Number of entries of core s, and of all cores. */
size_t tn_core_size(const tnace_tn *t, int s);
size_t tn_n_params(const tnace_tn *t);
/* Recompute the channel maps U^(k) from the cores; call after any core changes. Returns 0 or NOMEM. */
int tn_prepare(tnace_tn *t);

/* Grow `w` to hold term t's contraction, and that of its right-to-left view t->rev if it has one (no-op
 * when already large enough); t must be prepared (tn_prepare). 0 or TNACE_ERR_NOMEM. */
int tn_ws_reserve(tnace_tn_ws *w, const tnace_tn *t);
void tn_ws_free(tnace_tn_ws *w);

/* A-basis layout used by all functions below: A[α][n][lm], α < n_el, n < nmaxA, lm < (lmaxA+1)^2, with
 * nmaxA ≥ t->nmax, lmaxA ≥ t->lmax (the potential's global basis). */

/* Channels c^(k) = Σ U^(k) A for all copies into w->c (or, with `tangent`, into w->dc from dA). */
void tn_channels(const tnace_tn *t, const double *A, int nmaxA, int lmaxA, tnace_tn_ws *w, int tangent);
/* Tangent channels of one neighbour of species b, whose A-tangent has the rank-2 form
 *   ΔA[b][n][lm] = u[n] y1[lm] + v[n] y2[lm]   (zero for other species),
 * e.g. u = g_n' r̂_x, y1 = Y_lm, v = g_n, y2 = ∂_x Y_lm for a displacement along x. Uses the radial
 * projections Pu[k][λ] = Σ_n U^(k)[b][n][λ] u[n] and Pv[k][λ] (tn_project_radial), so that
 *   dc^(k)[λm] = Pu[k][λ] y1[lm] + Pv[k][λ] y2[lm]
 * costs n_chan·χ² instead of nmax·n_chan·χ². y1, y2 are read with strides s1, s2 (flat lm index). */
void tn_channels_pair(const tnace_tn *t, double *const *Pu, const double *y1, int s1, double *const *Pv,
                      const double *y2, int s2, tnace_tn_ws *w);
/* P[k][λ] = Σ_n U^(k)[b][n][λ] u[n] for every copy k, P[k] of size n_lambda[k]·bond[3k]·bond[3k+3]. */
void tn_project_radial(const tnace_tn *t, int b, const double *u, double *const *P);

/* Forward pass on the trie: returns E_t (bond[3ν] = 1); keeps node values in w->val (levels 1..ν−2,
 * channel-major order) and the leaf sums in w->z. Needs w->c. */
double tn_forward(const tnace_tn *t, tnace_tn_ws *w);
/* The same for any right boundary bond K = bond[3ν]: J[b] = Σ_leaves coef · (prefix product)_b, [K]. */
void tn_forward_vec(const tnace_tn *t, tnace_tn_ws *w, double *J);
/* Adjoint pass: w->g[k] = ∂E/∂c^(k). Needs tn_forward first. */
void tn_backward(const tnace_tn *t, tnace_tn_ws *w);
/* Adjoint of the scalar Σ_b seed[b] J[b]: w->g[k] = Σ_b seed[b] ∂J_b/∂c^(k), seed [K]. */
void tn_backward_seed(const tnace_tn *t, tnace_tn_ws *w, const double *seed);
/* Forward tangent of J for channel tangents w->dc: dJ [K]. Needs tn_forward_vec (w->val). */
void tn_forward_tangent_vec(const tnace_tn *t, tnace_tn_ws *w, double *dJ);
/* ∂E/∂A accumulated: dEdA[α][n][lm] += Σ_k Σ_{λ: l(λ)=l} ⟨U^(k)[α][n][λ], g^(k)_{λm}⟩. Uses w->tmp. */
void tn_grad_A(const tnace_tn *t, tnace_tn_ws *w, double *dEdA, int nmaxA, int lmaxA);
/* Pair form of a term with t->S (see above): returns E_t and, if dEdA is not NULL, adds ∂E_t/∂A to it.
 * Same A layout as tn_channels; uses w->tmp. */
double tn_pair_energy(const tnace_tn *t, const double *A, int nmaxA, int lmaxA, tnace_tn_ws *w, double *dEdA);
/* Tangent pass (forward-over-reverse): given w->dc (tangent of the channels) and the results of
 * tn_forward/tn_backward, computes w->dg[k] = directional derivative of g^(k) and returns dE. */
double tn_tangent(const tnace_tn *t, tnace_tn_ws *w);
/* The same, restricted to what the trainer needs for copy k: w->dg[k] only (other dg untouched, dE not
 * formed). Uses the forward tangent of levels < k and the reverse tangent of levels > k, so it costs
 * about half of tn_tangent; w->dc[k] is not read (g^(k) does not depend on c^(k)). */
void tn_tangent_copy(const tnace_tn *t, tnace_tn_ws *w, int k);
/* The same when the seed of tn_backward_seed itself varies along the tangent by dseed [K] (an MPO layer,
 * whose seed is the other layer's J); dseed NULL = fixed seed. */
void tn_tangent_copy_seed(const tnace_tn *t, tnace_tn_ws *w, int k, const double *dseed);

/* Entries of the channel map U^(k): n_el · nmax · n_lambda[k] · bond[3k] · bond[3k+3]. */
size_t tn_U_size(const tnace_tn *t, int k);
/* U-space gradient of copy k: out[α][n][λ] += scale · Σ_m A[α][n][l(λ) m] g[(λ, m)] for α in [a0, a1), i.e.
 * ∂E/∂U^(k) for g = ∂E/∂c^(k) (a bond[3k] × bond[3k+3] block per (α, n, λ); out has fit-style layout
 * [n_el][nmax][n_lambda][bond[3k]][bond[3k+3]], the layout of t->U[k]). Used by the trainer's rows and the
 * extrapolation grade. */
void tn_grad_U(const tnace_tn *t, int k, const double *A, int nmaxA, int lmaxA, const double *g, double scale,
               int a0, int a1, double *out);

#endif
