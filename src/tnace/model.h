/*
 * model.h — the internal layout of a potential (struct tnace_potential) and of the per-atom workspace,
 * shared by the evaluator (potential.c), the potential files (potential_yaml.c reads the YAML,
 * potential_load.c builds the potential, potential_save.c writes it) and the trainer. Clients outside
 * libtnace use tnace.h only.
 */
#ifndef TNACE_MODEL_H
#define TNACE_MODEL_H

#include <stddef.h>
#include "tnace.h"
#include "tn.h"
#include "ylm.h"

#include "tnace_limits.h"

/* Free-form metadata: a small YAML tree (maps keep insertion order; scalars are kept as text, with
 * `quoted` set when the scalar must be written quoted to stay a string). */
typedef enum { TNACE_META_SCALAR = 0, TNACE_META_MAP = 1, TNACE_META_SEQ = 2 } tnace_meta_kind;
typedef struct tnace_meta {
  tnace_meta_kind kind;
  char *key;                  /* key in the parent map, NULL in a sequence or for the root */
  char *value;                /* scalar text (kind == SCALAR) */
  int quoted;
  struct tnace_meta *child;   /* first child (MAP, SEQ) */
  struct tnace_meta *next;    /* next sibling */
} tnace_meta;

tnace_meta *tnace_meta_new_map(void);
/* Add (or replace) a scalar / map / sequence under `key` in map m; returns the new node (NULL: no mem). */
tnace_meta *tnace_meta_set(tnace_meta *m, const char *key, const char *value);
tnace_meta *tnace_meta_set_num(tnace_meta *m, const char *key, double value);
tnace_meta *tnace_meta_set_map(tnace_meta *m, const char *key);
tnace_meta *tnace_meta_set_seq(tnace_meta *m, const char *key);
/* Append a scalar to a sequence. */
tnace_meta *tnace_meta_append(tnace_meta *seq, const char *value);
/* Find a child of map m by key, NULL if absent. */
tnace_meta *tnace_meta_get(const tnace_meta *m, const char *key);
tnace_meta *tnace_meta_clone(const tnace_meta *m);
void tnace_meta_free(tnace_meta *m);

/* One ν-term specification, common to all central species. model: TNACE_MODEL_MPS, TNACE_MODEL_MPO
 * (rank = K, the bond joining its ket and bra layers, 0 = chi: a rank-K quadratic form in B^(ν)), or
 * TNACE_MODEL_EMB (rank = K outputs of one layer, read out nonlinearly). See tn.h.
 * srank: the species rank d (0 = full): every species core of the term is a rank-d map
 *   core_{3k}[α] = Σ_{c<d} E^(k)[α][c] G^(k)[c],
 * i.e. neighbours enter each copy through d learned "pseudo-species" channels (alchemical compression,
 * Darby et al. tensor-reduced ACE; Lopanitsyna et al. PRM 7, 045802). With d < n_el the weights of
 * neighbour-species combinations absent from the training data are tied to those present. The evaluator
 * does not need it (it stores the product); it caps the bonds next to species sites at d × the other one
 * (bond[3k+1] ≤ d·bond[3k], bond[3k] ≤ d·bond[3k+1]) and the trainer keeps the factors. */
/* scopies: the number c of copies (1..nu; 0 = all) that resolve the neighbour species; copies k ≥ c are
 *   species-blind: their species core is S[α] = G/√n_el, the same for every neighbour species (a rank-1
 *   map with a fixed uniform factor). With c = 1 the term is linear in the species of the neighbours (the
 *   chemistry enters through one copy, the others see the geometry only), so on a fixed lattice its
 *   chemical interactions are pairs (centre, neighbour) weighted by the environment, and mixing energies of
 *   compositions never seen in training follow from the binaries. The evaluator does not need it; it caps
 *   the bonds around blind species sites (bond[3k+1] ≤ bond[3k], bond[3k] ≤ bond[3k+1]). */
/* pool (MPO terms of property models only): the term acts on the structure's mean of its layers' outputs, the
 *   seed's ⟨B̄|T̂|B̄⟩ (Sommer & Dunham eq. 18 on eq. 22): E_t = N Σ_b J̄_b J̄'_b with J̄ = (1/N) Σ_i J(A_i) over the
 *   structure's N atoms (each through its centre species' layers), so the term is quadratic in the pooled
 *   descriptor instead of a sum of per-atom quadratics. It needs the whole structure (tnace_atom_energy_pooled);
 *   an interatomic potential cannot have it. */
/* shared: every centre species has the same cores for this term — one weight tensor for all centre elements, as
 *   the seed's models on the mean descriptor (Sommer & Dunham eq. 22: B̄ contracted with one w^(ν)). A training
 *   constraint (the trainer solves one set of cores from the rows of all species); the evaluator does not need it. */
/* model TNACE_MODEL_EMB (tn.h): one layer with rank = K ≥ 2 outputs read out by tn_embed with scale escale
 *   (eV; 0 at tnace_potential_create means the default, 1 eV). */
typedef struct {
  int nu, lmax, nmax, chi, model, rank, srank, scopies, pool, shared;
  double escale;
} tnace_term_spec;

/* Extrapolation grade of one centre species (docs/extrapolation-grade.md; Podryabinkin & Shapeev, Comput.
 * Mater. Sci. 140, 171 (2017); Lysogorskiy et al., PRM 7, 043801 (2023)): the D tangent features of an
 * environment are f = ∂E_i/∂U over every entry of the channel maps U^(k) of the species' terms
 * (tnace_atom_grade_features; the trainer's U-space rows of one atom); the grade uses m of them, columns
 * col[k], and the inverse of the m × m matrix of those columns over the active set (m training environments
 * chosen by MaxVol): γ_i = max_j |Σ_k f_i[col[k]] ainv[k][j]|. */
typedef struct {
  int chain;       /* term·2 + layer the column belongs to */
  int k, l, bb;    /* copy, angular momentum of its label, bond block size bond[3k]·bond[3k+3] */
  int aoff, goff;  /* A[aoff + m] and g^(k)[goff + m·bb], m = 0..2l: f = Σ_m A·g */
} tnace_grade_col;
typedef struct {
  int m, D;
  int *col;             /* [m] feature indices, each < D */
  tnace_grade_col *dec; /* [m] where each column comes from (derived at tnace_potential_set_grade) */
  double *ainv;         /* [m][m] row-major */
  long n_train;         /* training environments of this species the active set was chosen from */
} tnace_grade_el;

/* A property model (potential-file key `property`, issue #16): the model's "energy" Σ_i E_i is a per-structure
 * property `name` (e.g. a formation energy) fitted from the extxyz key of that name: intensive (the key holds
 * the value per counted atom, the model's sum is compared with value × count) or extensive (a structure total);
 * the counted atoms are those of the species per[0..n_per) (all atoms when n_per is 0), e.g. the cations of an
 * oxide; values in `units`. Not an interatomic potential: pair_style tnace refuses it. */
typedef struct {
  int set;
  char name[64];
  int intensive;
  int n_per, per[TNACE_MAX_ELEMENTS];
  char units[16];
} tnace_property;

/* Repulsive core: E = ½ Σ_j φ_ZBL(r_ij) s(r_ij), s = 1 for r < r_inner, smooth cosine switch to 0 at
 * r_outer (Ziegler–Biersack–Littmark universal screening, Z from the element symbols). */
enum { TNACE_REP_NONE = 0, TNACE_REP_ZBL = 1 };

struct tnace_potential {
  int n_el;
  char elem[TNACE_MAX_ELEMENTS][4];
  int Z[TNACE_MAX_ELEMENTS];
  double e0[TNACE_MAX_ELEMENTS];              /* eV */
  double rcut[TNACE_MAX_ELEMENTS][TNACE_MAX_ELEMENTS];  /* Å, [centre][neighbour], symmetric */
  double rcut_max;
  double lambda;                              /* radial ChebExpCos scaling */
  double r_min;                               /* Å; a neighbour closer than this is an error (0: none) */
  int nmax, lmax;                             /* the A-basis: max over terms */
  int nmax_l[TNACE_LMAX_LIMIT + 1];           /* radial functions used at each l: A_{αnlm} is computed for
                                                 n < nmax_l[l] only (max nmax of the terms reaching l) */
  int rep_type;
  double rep_inner, rep_outer;                /* Å */
  int n_terms;
  tnace_term_spec spec[TNACE_MAX_TERMS];
  tnace_tn *tn;                               /* [n_el * n_terms]: tn[a * n_terms + t] for centre species a
                                                 (the ket layer F of an MPO term) */
  tnace_tn *tn_bra;                           /* [n_el * n_terms]: the bra layer F' of MPO terms (unused,
                                                 zeroed, for MPS terms) */
  tnace_meta *meta;                           /* free-form metadata map, may be NULL */
  tnace_property prop;                        /* prop.set: a property model, not a potential */
  int pool_size;                              /* Σ over pooled terms of 2·rank: the structure means they need */
  int pool_off[TNACE_MAX_TERMS];              /* pooled term t: ket mean at pool_off[t], bra mean K after it */
  int has_grade;                              /* grade[] set for every species (all or none) */
  tnace_grade_el grade[TNACE_MAX_ELEMENTS];
};

/* Allocate an empty potential for elements `elem` (n_el symbols) and the given terms; all cores zero.
 * Sets Z from the symbols (TNACE_ERR_ELEMENT for an unknown symbol), rcut everywhere = rcut, lambda. */
int tnace_potential_create(tnace_potential **out, int n_el, const char *const *elem, int n_terms,
                           const tnace_term_spec *spec, double rcut, double lambda, char *err, size_t errlen);
/* Recompute derived data (nmax, lmax, rcut_max, U maps) after cores or settings changed. */
int tnace_potential_prepare(tnace_potential *pot, char *err, size_t errlen);
/* Layer of term t for centre species a: 0 = pot->tn (MPS, or the ket of an MPO), 1 = pot->tn_bra. */
static inline tnace_tn *tnace_layer(const tnace_potential *pot, int a, int t, int layer) {
  return layer ? &pot->tn_bra[a * pot->n_terms + t] : &pot->tn[a * pot->n_terms + t];
}
/* Number of layers (MPS chains) of term t: 1 for MPS, 2 for MPO. */
static inline int tnace_n_layers(const tnace_potential *pot, int t) {
  return pot->spec[t].model == TNACE_MODEL_MPO ? 2 : 1;
}

/* Per-atom workspace (tnace.h). The per-neighbour basis values are kept for the force pass and for the
 * trainer: for neighbour j' (only those inside the cutoff, in input order, `idx[j']` = input index)
 *   g[j'][n], dg[j'][n]            radial basis and d/dr,            [cap][nmax]
 *   Y[j'][lm], dY[j'][lm][3]       real Y_lm and Cartesian gradient, [cap][(lmax+1)^2]
 *   rhat[j'][3], r[j']
 * A[α][n][lm] the atomic base, dEdA the same shape. */
struct tnace_workspace {
  const tnace_potential *pot;
  int cap, n_in;                   /* capacity (neighbours), neighbours inside cutoff of the last call */
  int *idx, *spec;
  double *r, *rhat, *g, *dg, *Y, *dY;
  double *A, *dEdA;
  size_t A_size;
  int *lm_end;                     /* [nmax] A_{α n lm} is used for lm < lm_end[n] (basis mask); entries
                                      outside the mask stay 0 in A and dEdA */
  int n_rblk, *rblk;               /* [n_rblk][3] rows n0 ≤ n < n1 of A share lm_end = ncols: (n0, n1, ncols) */
  int n_cblk, *cblk;               /* [n_cblk][3] columns c0 ≤ lm < c1 of A are used by rows n < nrows:
                                      (c0, c1, nrows); the columns ≥ the last c1 are used by no row */
  double *W, *Wd;                  /* [cap][(lmax+1)^2] force pass: Σ_n ∂E/∂A_{b n lm} g_n and Σ_n … g_n' */
  int *goff, *yoff;                /* [cap] scratch: offsets of one species' neighbours in g and Y */
  tnace_tn_ws tw, tw2;             /* contraction scratch (tw2: the bra layer of MPO terms) */
  double *J1, *J2;                 /* [max MPO rank] the two layers' J vectors */
  double *gz, *gc;                 /* grade: the m selected features and the active-set coefficients
                                      [TNACE_MAX_GRADE_SIZE] (grade.c) */
  char err[512];
};

/* Compute the atomic base of one atom into ws (A, and the per-neighbour data above). Same arguments and
 * errors as tnace_atom_energy. */
int tnace_atom_basis(const tnace_potential *pot, tnace_workspace *ws, int species_i, int n,
                     const double (*rij)[3], const int *species_j);

/* ---- extrapolation grade (grade.c) ---- */
/* Number D of tangent features of centre species a: the entries of the channel maps of its terms, in the order
 * term, layer (ket, bra), copy k, then the layout of tn_grad_U ([n_el][nmax][n_lambda][bond[3k]][bond[3k+3]]). */
size_t tnace_grade_n_features(const tnace_potential *pot, int a);
/* Tangent features f[D] = ∂E_i/∂U of one environment (same arguments and errors as tnace_atom_energy): the
 * adjoint of every term by its channel route, then its U-space gradient (tn_grad_U). For the trainer's column
 * selection; tnace_atom_grade computes the m selected ones only. */
int tnace_atom_grade_features(const tnace_potential *pot, tnace_workspace *ws, int species_i, int n,
                              const double (*rij)[3], const int *species_j, double *f);
/* Set the grade of species a (copies col[m], ainv[m][m]; decodes the columns); TNACE_ERR_VALUE with a message
 * if the shapes do not fit the potential. pot->has_grade becomes 1 once every species has one. Workspaces made
 * before a grade was set are too small for it: make new ones. */
int tnace_potential_set_grade(tnace_potential *pot, int a, int m, const int *col, const double *ainv, long n_train,
                              char *err, size_t errlen);
void tnace_potential_clear_grade(tnace_potential *pot);

#endif
