/*
 * fit_priv.h — the trainer's internal pieces (not installed, not for clients: fit.h is the trainer's API).
 *
 * One fitting sweep (fit.c) moves the orthogonality centre through every copy of every chain; at each copy
 * level it builds the U-space rows of the training data once (fit_rows.c: copy_pass), maps them to the
 * coordinates of each site in turn (fit_rows.c: map_rows), solves the ridge problem of that site
 * (fit_solve.c) and moves the centre on by QR (fit_gauge.c). The equations are in fit.h and tn.h.
 *
 * Chains: an MPS term is one chain; an MPO term is two (its ket and bra layers, "mates"). All chains of all
 * centre species are solved jointly at each step: total energies and forces couple them.
 */
#ifndef TNACE_FIT_PRIV_H
#define TNACE_FIT_PRIV_H

#include <stddef.h>

#include "fit.h"
#include "model.h"

/* Chains of one potential: one per MPS term, two per MPO term. */
#define TNACE_MAX_CHAINS (2 * TNACE_MAX_TERMS)

/* Per-structure row layout within a copy pass: [energy][forces of sampled atoms, 3 each][6 virials]. */
typedef struct {
  int n_rows, row0;        /* rows of this structure, first global row */
  int e_row, f_row, s_row; /* local offsets, −1 when absent */
  int n_sel;
  unsigned species;        /* the centre species it holds, as bits: its rows are zero in the others' columns */
  double w_e, w_f, w_s;    /* row weights (already normalised) */
} struct_rows;

/* U-space column layout of one copy level (copy p of every chain): chain c of centre species a owns the
 * columns [uoff[c][a], uoff[c][a+1]) of its current copy kt[c]; E0 has one column per species at e0off. */
typedef struct {
  int p;                                             /* copy level */
  int kt[TNACE_MAX_CHAINS];                          /* copy of chain c at this level: min(p, ν−1) */
  size_t uoff[TNACE_MAX_CHAINS][TNACE_MAX_ELEMENTS + 1];
  size_t e0off, D;                                   /* E0 columns, all columns */
  unsigned char active[TNACE_MAX_CHAINS];            /* chains whose sites this pass solves (all, or one layer of
                                                        the MPO terms: E = J·J' is bilinear in ket and bra) */
} copy_level;

typedef struct {
  tnace_potential *pot;
  const tnace_dataset *ds;
  const tnace_fit_opts *o;
  unsigned char **sel;     /* [struct][atom] sampled for force rows */
  int **sel_row;           /* [struct][atom] index among sampled atoms, −1 */
  struct_rows *sr;
  int n_rows;
  int nthreads;
  double *Ucat;            /* the current copy's U maps of all species, stacked like the row columns */
  int n_chunks, *chunk_s0; /* structure ranges whose rows fit the memory budget together */
  int n_chains;            /* MPS chains: one per MPS term, two per MPO term (ket, bra) */
  int chain_t[TNACE_MAX_CHAINS], chain_layer[TNACE_MAX_CHAINS];
  int chain_mate[TNACE_MAX_CHAINS]; /* the other layer of an MPO term, −1 for an MPS term */
  int sd[TNACE_MAX_CHAINS][TNACE_MAX_NU];            /* species rank of copy k's species site (0: full) */
  unsigned char sfix[TNACE_MAX_CHAINS][TNACE_MAX_NU]; /* 1: species-blind copy, E fixed (d = 1) */
  double *Ef[TNACE_MAX_CHAINS][TNACE_MAX_ELEMENTS][TNACE_MAX_NU]; /* species factors E (n_el × d), NULL:
                                                                     the site is not rank-constrained */
  /* The solve's buffers, allocated once for the target bonds: U-space rows (max_chunk_rows × Dmax) and
   * targets, site rows J (max_chunk_rows × Dc_max), normal equations H, b, ridge, x_old, residual; for
   * species sites the rows of S (Jsp), SVD scratch (Sbuf) and the fixed Gt of each Ẽ solve. */
  size_t Dmax, Dc_max;
  int max_chunk_rows;
  double *rows, *y, *J, *H, *b, *lamv, *xold, *resid, *Jsp, *Sbuf;
  double *Jsh;             /* shared terms: one species' site rows before they are added to species 0's */
  double *Gt[TNACE_MAX_CHAINS][TNACE_MAX_ELEMENTS];
  /* Embed terms (tn.h) make a site step a Gauss–Newton step; their columns get the Levenberg–Marquardt damping
   * emb_mu · diag(JᵀWJ) toward the current cores, raised when a sweep raised the training loss (fit.c). */
  int has_emb;
  double emb_mu;
} fit_ctx;

/* Chain c of centre species a. */
static inline tnace_tn *fit_chain(const fit_ctx *F, int a, int c) {
  return tnace_layer(F->pot, a, F->chain_t[c], F->chain_layer[c]);
}
/* Chain c is an embed term (tn.h: E_t = J_0 + Σ_b f(J_b)). */
static inline int fit_chain_emb(const fit_ctx *F, int c) {
  return F->pot->spec[F->chain_t[c]].model == TNACE_MODEL_EMB;
}

/* ---- fit.c ---------------------------------------------------------------------------------------- */

/* Uniform number in [0, 1) from (seed, a, b) by splitmix64: deterministic per-(seed, structure, atom)
 * decisions independent of thread order. */
double fit_hash_uniform(unsigned long long seed, unsigned long long a, unsigned long long b);

/* ---- fit_gauge.c: the orthogonality centre, species factors, bond growth --------------------------- */

/* G (d × m) = Eᵀ S for a species core S (ne × m) and factor E (ne × d, orthonormal columns). */
void fit_sp_project(const double *E, int ne, int d, const double *S, size_t m, double *G);
/* S (ne × m) = E G. */
void fit_sp_expand(const double *E, int ne, int d, const double *G, size_t m, double *S);
/* Orthonormal basis (ne × d, columns) of the columns of X (ne × d), by QR; X is overwritten by it. */
int fit_sp_orthonormalize(double *X, int ne, int d);
/* Move the centre right through core s (QR), plainly (E NULL) or through a species factor E of rank d. */
int fit_move_right(tnace_tn *t, int s, const double *E, int d);
/* Right-canonical form with the centre at site 0; E[k]: the species factor of copy k (NULL: plain). */
int fit_canonicalize(tnace_tn *t, double *const *E, const int *d);
/* Start the species factor of copy k of t (rank d, or blind: d = 1 fixed uniform); *E_out NULL when d
 * does not constrain the site. */
int fit_sp_factor_init(tnace_tn *t, int k, int d, int blind, unsigned long long seed, double **E_out);
/* Bonds of the growth schedule: min(target, chi) per bond, clamped to the TT ranks (tn_clamp_bonds). */
void fit_capped_bonds(const tnace_tn *t, const int *target, int chi, const int *dk, double *const *E, int *nb);
/* Re-shape t to bonds nb by subspace expansion (the function is unchanged; cores stay right-canonical). */
int fit_reshape_bonds(tnace_tn *t, const int *nb, double *const *E, const int *dk, unsigned long long seed);
/* MPO terms: give ket and bra layers the same norm (fixes the flat direction ket·s, bra/s). */
int fit_balance_mpo(tnace_potential *pot);

/* ---- fit_rows.c: the least-squares rows ------------------------------------------------------------ */

/* Plan every structure's rows (which atoms give force rows, weights normalised to κ·mean): F->sr, sel,
 * sel_row, n_rows. Returns 0 or TNACE_ERR_NOMEM (what was allocated is freed by fit_free_rows). */
int fit_plan_rows(fit_ctx *F);
void fit_free_rows(fit_ctx *F);
/* Rows (scaled by √w) and targets y of structures s0..s1−1 in U space for copy level L (see fit_rows.c). */
int fit_copy_pass(fit_ctx *F, const copy_level *L, int s0, int s1, double *rows, double *y, char *err,
                  size_t errlen);
/* Map U-space rows (n_rows × D_U) to the coordinates of core s of copy k: J_s = J_U M_s. */
int fit_map_rows(const tnace_tn *t, int k, int s, const double *rows, size_t ld_rows, int n_rows, double *out,
                 size_t ld_out, int nthreads);

/* ---- fit_solve.c: the ridge solves ------------------------------------------------------------------ */

/* H += Jᵀ J (upper triangle, H row-major Dc × Dc) for rows J (nrows × Dc, row stride Dc) that are zero outside
 * the sorted, disjoint column ranges [lo[g], hi[g]), g < n_rg: only the products of those ranges are formed
 * (one dsyrk per range, one dgemm per pair of ranges, in pieces of at most FIT_SYRK_PIECE columns shared out
 * over nthreads; each piece of H is summed by one thread in row order, so H does not depend on nthreads).
 * A structure's rows are zero in the columns of centre species it does not hold: with several elements this
 * forms the normal equations in a fraction of the dense dsyrk's multiply-adds. Returns 0 or TNACE_ERR_NOMEM. */
enum { FIT_SYRK_PIECE = 256 };
int fit_syrk_ranges(const double *J, size_t Dc, int nrows, const size_t *lo, const size_t *hi, int n_rg, double *H,
                    int nthreads);
/* Solve (H + diag λ) x = b in place (b ← x) for symmetric H (upper triangle, row-major, overwritten). */
int fit_ridge_solve(int n, double *H, double *b, const double *lambda);
/* E0 per element by least squares on the per-atom energies of ds (pot->e0 ← the solution). */
int fit_e0(tnace_potential *pot, const tnace_dataset *ds);
/* Stack the current U maps of level L and E0 into F->Ucat, in the column layout of L (the targets use
 * them: y' = ref − (pred − row·vec U)). */
void fit_load_Ucat(fit_ctx *F, const copy_level *L);
/* Solve site q of every chain at copy level L (jointly, with E0), then move each chain's centre right.
 * Needs F->Ucat holding the level's maps (fit.c). Returns 0 or an error code with a message. */
int fit_solve_site(fit_ctx *F, const copy_level *L, int q, double lam, char *err, size_t errlen);

#endif
