/*
 * calc.h — whole-structure evaluation for clients outside LAMMPS: the Python package (python/tnace/, its ASE
 * calculator) and any C or Fortran program that has a structure in memory rather than in an extxyz file.
 *
 * A tnace_calc holds a loaded potential and a per-atom workspace. tnace_calc_compute builds the periodic
 * neighbour list of the structure with the library's own code (nlist.h: triclinic cells of any size,
 * periodicity per direction) and sums the per-atom API (tnace.h) over atoms: E = Σ_i E_i, forces
 * F_k = −∂E/∂r_k, and the strain derivative ∂E/∂ε (the same formulas as tnace-eval and the trainer,
 * dataset.h tnace_struct_eval_strain). Units are LAMMPS `units metal`: Å, eV, eV/Å.
 *
 * Plain arrays only (no structs cross the interface), so that ctypes/cffi need no layout knowledge.
 * Not thread-safe: one tnace_calc per thread (they may load the same file).
 */
#ifndef TNACE_CALC_H
#define TNACE_CALC_H

#include <stddef.h>
#include "tnace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tnace_calc tnace_calc;

/* Load the potential file `path` (tnace_potential_load) and make a calculator for it.
 * Returns 0 and *out, or the loader's TNACE_ERR_* code with its message ("<path>:<line>: <key>: ...") in err
 * and *out = NULL; TNACE_ERR_NOMEM. Free with tnace_calc_free. */
int tnace_calc_open(const char *path, tnace_calc **out, char *err, size_t errlen);

/* Free the calculator and its potential (NULL allowed). */
void tnace_calc_free(tnace_calc *c);

/* The loaded potential (owned by c): element names, cutoffs, E0 through tnace.h. */
const tnace_potential *tnace_calc_potential(const tnace_calc *c);

/* Energy and derivatives of one structure of n ≥ 1 atoms.
 *   species   [n] species index in the potential (tnace_potential_element_index), 0..n_elements−1
 *   pos       [n][3] Cartesian positions (Å), row-major; need not lie inside the cell
 *   cell      [3][3] rows = lattice vectors a, b, c (Å); rows along non-periodic directions are ignored
 *   pbc       [3] non-zero = periodic along a, b, c
 * Outputs (each may be NULL):
 *   energy    total energy (eV), including every atom's E0
 *   eatom     [n] per-atom energies E_i (eV), Σ eatom = energy
 *   forces    [n][3] (eV/Å)
 *   dEde      [3][3] ∂E/∂ε_ab (eV), symmetric: the stress in the ASE sign convention is dEde / V (a compressed
 *             cell has negative stress); the LAMMPS virial is −dEde. Defined for any periodicity.
 * Returns 0, or: TNACE_ERR_ARG (n < 1, NULL species/pos/cell/pbc), TNACE_ERR_ELEMENT (species index out of
 * range, naming the atom), the neighbour list's TNACE_ERR_VALUE (degenerate cell, non-finite position,
 * naming atom or lattice vector), or the per-atom call's code, e.g. TNACE_ERR_TOO_CLOSE, prefixed with the
 * 0-based atom index: "atom 5 (Si): atoms Si–Si at 0.3 Å, closer than the potential's r_min = 0.5 Å".
 * The message is in err. Outputs are unspecified on error. */
int tnace_calc_compute(tnace_calc *c, int n, const int *species, const double (*pos)[3], const double cell[3][3],
                       const int pbc[3], double *energy, double *eatom, double (*forces)[3], double dEde[3][3],
                       char *err, size_t errlen);

/* Per-atom extrapolation grades gamma[n] (tnace_atom_grade; docs/extrapolation-grade.md) of the same kind of
 * structure as tnace_calc_compute, with the same arguments and errors, and TNACE_ERR_VALUE when the potential
 * has no grade (tnace_potential_has_grade). */
int tnace_calc_grade(tnace_calc *c, int n, const int *species, const double (*pos)[3], const double cell[3][3],
                     const int pbc[3], double *gamma, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
