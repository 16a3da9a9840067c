/*
 * tnace.h — public C API of libtnace: tensor-network atomic cluster expansion potentials.
 *
 * Model (Sommer & Dunham, "Entangling Solid Solutions", Sec. II–III; Drautz, PRB 99, 014104):
 *
 *   E_i = E0[a_i] + Σ_t E^(t)_i(A_i) + E^rep_i
 *
 * with the atomic base A_{i,αnlm} = Σ_j δ(α,α_j) R_n(r_ij) Y_lm(r̂_ij) (paper eq. 9–10), and each term t an
 * MPS over the descriptor indices (α_1 n_1 λ_1 … α_ν n_ν λ_ν) contracted with the SO(3)-invariant fusion
 * tree of ν copies of A (eq. 13–15, 17). The contraction never forms B^(ν): see tn.h.
 *
 * Units are LAMMPS `units metal`: Å, eV, eV/Å.
 *
 * Errors: functions return 0 on success or a negative TNACE_ERR_* code; a human-readable message naming
 * the file, line and key (where there is one) is written to the caller's buffer `err` (size `errlen`),
 * or, for per-atom calls, kept in the workspace (tnace_workspace_error).
 *
 * Thread safety: a loaded potential is read-only and may be shared by threads; each thread uses its own
 * workspace. No function keeps global mutable state.
 */
#ifndef TNACE_H
#define TNACE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TNACE_VERSION_STRING "0.1.0"
/* Potential-file format name and version written to / required in the YAML file. */
#define TNACE_FORMAT_NAME "tnace-potential"
#define TNACE_FORMAT_VERSION 1

enum {
  TNACE_OK = 0,
  TNACE_ERR_IO = -1,        /* cannot open / read / write a file */
  TNACE_ERR_PARSE = -2,     /* malformed YAML, extxyz or config */
  TNACE_ERR_VALUE = -3,     /* a value out of range, NaN, wrong shape */
  TNACE_ERR_ELEMENT = -4,   /* unknown chemical element */
  TNACE_ERR_NOMEM = -5,     /* allocation failed */
  TNACE_ERR_CAPACITY = -6,  /* more neighbours than the workspace was reserved for */
  TNACE_ERR_TOO_CLOSE = -7, /* two atoms closer than the potential's r_min */
  TNACE_ERR_NUMERIC = -8,   /* a NaN/Inf appeared in input or a linear solve failed */
  TNACE_ERR_ARG = -9        /* invalid argument (NULL pointer, bad index) */
};

typedef struct tnace_potential tnace_potential;
typedef struct tnace_workspace tnace_workspace;

/* Load a YAML potential file (format: docs/potential-format.md).
 * On success *out owns the potential (free with tnace_potential_free) and 0 is returned.
 * On failure returns TNACE_ERR_IO / _PARSE / _VALUE / _ELEMENT / _NOMEM, *out = NULL, and `err` holds
 * "<path>:<line>: <key>: <what is wrong>". Precomputes Clebsch–Gordan fusion trees and the channel maps
 * U^(k) (tn.h) once, so per-atom calls do no setup. */
int tnace_potential_load(const char *path, tnace_potential **out, char *err, size_t errlen);

/* Write the potential to `path` as YAML (doubles with 17 significant digits: a write→read→write round
 * trip is byte-identical). Returns 0 or TNACE_ERR_IO with a message. */
int tnace_potential_save(const tnace_potential *pot, const char *path, char *err, size_t errlen);

/* Free a potential (NULL is allowed). */
void tnace_potential_free(tnace_potential *pot);

/* Number of chemical elements (species) of the potential; species indices are 0..n-1 in file order. */
int tnace_potential_n_elements(const tnace_potential *pot);
/* Chemical symbol of species `s` ("Cu"), or NULL if s is out of range. */
const char *tnace_potential_element(const tnace_potential *pot, int s);
/* Species index of chemical symbol `sym`, or TNACE_ERR_ELEMENT if the potential has no such element. */
int tnace_potential_element_index(const tnace_potential *pot, const char *sym);
/* Cutoff radius (Å) between a centre of species a and a neighbour of species b; the largest over all
 * pairs for tnace_potential_cutoff_max. Neighbours farther than this contribute nothing. */
double tnace_potential_cutoff(const tnace_potential *pot, int a, int b);
double tnace_potential_cutoff_max(const tnace_potential *pot);
/* Reference energy E0 of species s (eV), included in every per-atom energy. */
double tnace_potential_e0(const tnace_potential *pot, int s);
/* Total number of trainable parameters: the core entries of every term and centre species, a `shared`
 * term's cores (the same for every centre species) counted once. */
long tnace_potential_n_params(const tnace_potential *pot);

/* A per-thread workspace for per-atom evaluations, sized for up to `max_neigh` neighbours.
 * Returns NULL if out of memory. */
tnace_workspace *tnace_workspace_new(const tnace_potential *pot, int max_neigh);
/* Grow the workspace so that it holds `max_neigh` neighbours (call before a per-atom loop; never
 * allocates when the capacity is already enough). Returns 0 or TNACE_ERR_NOMEM. */
int tnace_workspace_reserve(tnace_workspace *ws, int max_neigh);
void tnace_workspace_free(tnace_workspace *ws);
/* Message of the last failed per-atom call in this workspace ("" if none). */
const char *tnace_workspace_error(const tnace_workspace *ws);

/* Energy of one atom and its derivatives with respect to the neighbour displacements.
 *
 *   species_i   species index of the centre atom i (0..n_elements-1)
 *   n           number of neighbours passed
 *   rij         [n][3] displacement vectors r_j − r_i (Å), row-major
 *   species_j   [n] species index of each neighbour (a negative index skips that neighbour)
 *   energy      out: E_i (eV), including E0[species_i] and the repulsive core
 *   dEdr        out, may be NULL: [n][3] ∂E_i/∂r_ij (eV/Å). The force on neighbour j from this atom's
 *               energy is −dEdr[j]; the force on i is +Σ_j dEdr[j]; the virial is −Σ_j r_ij ⊗ dEdr[j].
 *
 * Neighbours at r ≥ cutoff(species_i, species_j) contribute zero (and get dEdr = 0), so a neighbour list
 * with a skin may be passed unchanged. Forces are analytic, by the adjoint: one backward contraction
 * gives ∂E_i/∂A, one pass over neighbours gives ∂E_i/∂r_ij.
 *
 * Returns 0; TNACE_ERR_CAPACITY if n exceeds the reserved capacity; TNACE_ERR_TOO_CLOSE if a neighbour
 * is closer than the potential's r_min; TNACE_ERR_NUMERIC on a NaN/Inf coordinate; TNACE_ERR_ARG for a
 * bad species index or a potential with terms pooled over the structure (below). The message is then in tnace_workspace_error(ws). Allocates nothing. */
int tnace_atom_energy(const tnace_potential *pot, tnace_workspace *ws, int species_i, int n,
                      const double (*rij)[3], const int *species_j, double *energy, double (*dEdr)[3]);

/* Terms pooled over the structure (`pool: true` MPO terms of property models, the seed's ⟨B̄|T̂|B̄⟩ on the mean
 * descriptor; docs/potential-format.md): such a term is E_t = N Σ_b J̄_b J̄'_b, J̄ = (1/N) Σ_i J(A_i) the mean
 * over the structure's N atoms of its ket layer's outputs (J̄' of the bra's), so an atom's energy needs the
 * whole structure. Evaluate a structure in two passes:
 *   1. acc[tnace_potential_pool_size] = 0; tnace_atom_pool for every atom (adds its J, J'); acc /= N;
 *   2. tnace_atom_energy_pooled for every atom with mean = acc: E_i = E0 + other terms + ½(J_i·J̄' + J̄·J'_i),
 *      Σ_i E_i the structure's energy; dEdr is the atom's share of the gradient with the means' dependence on
 *      the positions included (the adjoints are seeded with the means), so Σ over atoms of the usual force and
 *      virial sums is exact.
 * tnace_potential_pool_size: the length of acc (0 for a potential without pooled terms, which tnace_atom_energy
 * evaluates alone; it refuses one with them, TNACE_ERR_ARG). Both per-atom calls take the arguments and errors
 * of tnace_atom_energy; they allocate nothing. */
int tnace_potential_pool_size(const tnace_potential *pot);
int tnace_atom_pool(const tnace_potential *pot, tnace_workspace *ws, int species_i, int n, const double (*rij)[3],
                    const int *species_j, double *acc);
int tnace_atom_energy_pooled(const tnace_potential *pot, tnace_workspace *ws, int species_i, int n,
                             const double (*rij)[3], const int *species_j, const double *mean, double *energy,
                             double (*dEdr)[3]);

/* Extrapolation grade γ_i of one atomic environment (docs/extrapolation-grade.md): the D-optimality grade of
 * the model linearised at its fitted cores, γ_i = max_j |(f_i[cols] A⁻¹)_j| with f_i = ∂E_i/∂U over the
 * entries of the channel maps U^(k) of the centre species' terms (tn.h) and A the same features of a MaxVol
 * active set of training
 * environments (Podryabinkin & Shapeev, Comput. Mater. Sci. 140, 171 (2017); Lysogorskiy et al., PRM 7,
 * 043801 (2023)). γ ≤ 1 (up to the fit's MaxVol tolerance, 1.01) for every environment the active set was
 * chosen from; values above ~2 mean the potential extrapolates, above ~10 that its forces are guesses.
 * Same arguments as tnace_atom_energy; *gamma out (dimensionless). Costs about one energy-and-force
 * evaluation. Returns 0, the errors of tnace_atom_energy, or TNACE_ERR_VALUE when the potential carries no
 * grade (tnace_potential_has_grade); the message is in tnace_workspace_error(ws). Allocates nothing. */
int tnace_atom_grade(const tnace_potential *pot, tnace_workspace *ws, int species_i, int n,
                     const double (*rij)[3], const int *species_j, double *gamma);
/* Name of the per-structure property a property model predicts (potential-file key `property`, e.g.
 * "formation_energy"; docs/potential-format.md), or NULL for an interatomic potential. A property model's
 * per-atom "energies" sum to the property (times the counted atoms for an intensive one); its forces are
 * not forces: MD codes must refuse it. */
const char *tnace_potential_property(const tnace_potential *pot);

/* Invariant descriptors of one atomic environment, written out (descriptor.c; issue #16): for kernel and
 * linear baselines, descriptor compression and users' own models. The potential itself never forms them.
 *   ν = 1:  B_{αn} = A_{αn00}, entries k = α·nmax_l[0] + n                                  [n_el·nmax_l0]
 *   ν = 2:  B_{pql} = w_pq (2l+1)^{-1/2} Σ_m A_{p,lm} A_{q,lm}, the power spectrum (Sommer & Dunham eq. 17; the
 *           SOAP power spectrum up to normalisation), over radial-species indices p = (α1,n1) ≤ q = (α2,n2)
 *           (P = α·nmax + n), then l = 0..lmax, keeping the (n, l) the potential's basis computes; w_pq = 1 for
 *           p = q, √2 otherwise, so that dot products of these vectors equal those of the full symmetric tensors.
 * A is the potential's atomic base (its radial basis, cutoffs, λ, n_max, l_max; eq. 9–10), so a descriptor
 * potential can be any potential file, or one made from a fit config with the basis wanted.
 * tnace_descriptor_size: the number of entries (≥ 1), TNACE_ERR_ARG for ν other than 1, 2.
 * tnace_descriptor_label: entry k's (α1, n1, α2, n2, l) into label[5] (ν = 1: α, n, −1, −1, 0); 0 or TNACE_ERR_ARG.
 * tnace_atom_descriptor: B[size] of one environment, same arguments and errors as tnace_atom_energy (plus
 *   TNACE_ERR_ARG for ν); dimensionless (sums of radial functions times Y_lm). Allocates nothing. */
long tnace_descriptor_size(const tnace_potential *pot, int nu);
int tnace_descriptor_label(const tnace_potential *pot, int nu, long k, int label[5]);
int tnace_atom_descriptor(const tnace_potential *pot, tnace_workspace *ws, int species_i, int n,
                          const double (*rij)[3], const int *species_j, int nu, double *B);

/* 1 if the potential file carried an extrapolation grade (its `grade:` section), else 0. */
int tnace_potential_has_grade(const tnace_potential *pot);

#ifdef __cplusplus
}
#endif
#endif
