/*
 * dataset.h — structures with reference DFT data, their periodic neighbour lists, and whole-structure
 * evaluation (energy, forces, virial/stress) through the per-atom API. Shared by tnace-fit, tnace-eval
 * and the tests; the per-atom physics lives only in potential.c.
 */
#ifndef TNACE_DATASET_H
#define TNACE_DATASET_H

#include <stddef.h>
#include "extxyz.h"
#include "tnace.h"

/* One structure. Neighbour list in CSR form: the neighbours of atom i are k = off[i] .. off[i+1]−1, with
 * owner atom nj[k] (an index < n: a periodic image maps to the atom it is an image of) and displacement
 * d[k] = r_image − r_i (Å). Built with the potential's largest cutoff. */
typedef struct {
  int n;
  int n_count;                  /* atoms per-atom energies and their errors are normalised by: n, or those of the
                                   counted species of a property model (extxyz.h count_species) */
  int *species;                 /* [n] species index in the potential */
  double cell[3][3];            /* rows = lattice vectors (Å) */
  int pbc[3];
  double volume;                /* Å^3 (0 if not periodic in all directions) */
  int *off, *nj;                /* [n+1], [n_pairs] */
  int *nsp;                     /* [n_pairs] species of each neighbour (= species[nj[k]]) */
  double (*d)[3];               /* [n_pairs][3] */
  int max_neigh;                /* largest neighbour count of any atom */
  /* reference data (DFT) */
  int has_energy, has_forces, has_stress;
  double energy;                /* eV, total */
  double (*forces)[3];          /* [n][3] eV/Å, NULL without forces */
  double stress[3][3];          /* eV/Å^3, ASE sign: σ = (1/V) ∂E/∂ε (a compressed cell has σ < 0) */
  double weight, energy_weight, forces_weight, stress_weight;
  char config_type[64];
  char source[512];             /* "file:line" of the frame */
} tnace_struct;

typedef struct {
  int n;
  tnace_struct *s;
  int n_skipped;                /* bad frames skipped with skip_bad */
  int n_empty;                  /* frames of 0 atoms skipped (not errors: ASE writes them) */
} tnace_dataset;

/* Build a structure from n positions pos [n][3] (Å) and species indices species [n], with neighbour lists
 * for cutoff rc (Å) in cell (rows = lattice vectors, Å) with periodicity pbc [3]; no reference data
 * (has_* = 0, weights 1). A structure without any pair (an isolated atom) is valid: off[] all 0, max_neigh 0.
 * `source` names it in messages. Returns 0, or TNACE_ERR_PARSE (n < 1), the neighbour list's code (bad cell
 * or position: message "SOURCE: neighbour list: ...") or TNACE_ERR_NOMEM, with the message in err; on error
 * *s holds no memory (no need to free it). */
int tnace_struct_build(tnace_struct *s, int n, const int *species, const double (*pos)[3], const double cell[3][3],
                       const int pbc[3], double rc, const char *source, char *err, size_t errlen);

/* Build a structure from one extxyz frame f of file `path` (tnace_struct_build with cutoff rc, Å), its atoms'
 * symbols mapped to species indices of elem[n_el], and copy the frame's reference data (energy, forces,
 * stress, weights, config_type); s->source is "PATH:LINE" of the frame. Errors: TNACE_ERR_ELEMENT with
 * "PATH:LINE: atom I: element 'X' is not one of the potential's elements" (LINE: that atom's line), or those
 * of tnace_struct_build; on error *s holds no memory. */
int tnace_struct_from_frame(tnace_struct *s, const tnace_frame *f, const char *path, int n_el, const char (*elem)[4],
                            double rc, char *err, size_t errlen);

/* Read an extxyz file into `ds` (appending), mapping chemical symbols to the potential's species
 * (elem, n_el) and building neighbour lists with cutoff rc (Å). A symbol not in elem is an error naming
 * the file and line (TNACE_ERR_ELEMENT). skip_bad: skip malformed frames (counted) instead of failing.
 * Returns 0 or a TNACE_ERR_* code with a message in err. */
int tnace_dataset_read(tnace_dataset *ds, const char *path, int n_el, const char (*elem)[4], double rc, int skip_bad,
                       char *err, size_t errlen);
/* The same, reading the reference data from the comment-line keys / columns named in `keys` (extxyz.h
 * tnace_xyz_keys: each field a comma/space-separated list of alternatives, a NULL field = the reader's
 * defaults); keys == NULL is tnace_dataset_read. */
int tnace_dataset_read_keys(tnace_dataset *ds, const char *path, const tnace_xyz_keys *keys, int n_el,
                            const char (*elem)[4], double rc, int skip_bad, char *err, size_t errlen);
void tnace_dataset_free(tnace_dataset *ds);
/* Total atoms of structures [from, to) of ds. */
long tnace_dataset_count_atoms(const tnace_dataset *ds, int from, int to);
void tnace_struct_free(tnace_struct *s);

/* The structure means of a potential's pooled terms (tnace.h tnace_atom_pool) into mean[tnace_potential_pool_size
 * (pot)] (nothing is written when the potential has none); grows the workspace as needed. Returns 0,
 * TNACE_ERR_NOMEM or the per-atom call's error (failed_atom, may be NULL, gets the atom). */
int tnace_struct_pool(const tnace_potential *pot, tnace_workspace *ws, const tnace_struct *s, double *mean,
                      int *failed_atom);

/* Energy (eV), forces [n][3] (eV/Å, may be NULL) and stress [3][3] (eV/Å^3, ASE sign, may be NULL) of a
 * structure with the potential; per-atom energies [n] optional. The workspace is grown as needed.
 * Returns 0 or the per-atom call's error (message in tnace_workspace_error(ws)). */
int tnace_struct_eval(const tnace_potential *pot, tnace_workspace *ws, const tnace_struct *s, double *energy,
                      double (*forces)[3], double stress[3][3], double *eatom);
/* The same with the strain derivative instead of the stress: dEde [3][3] = ∂E/∂ε_ab = Σ_pairs ∂E_i/∂r_ij,a ·
 * r_ij,b (eV; = stress·V in the ASE sign, = −(LAMMPS virial)), defined for any periodicity; may be NULL.
 * failed_atom (may be NULL) receives the index of the atom whose per-atom call failed, −1 otherwise. */
int tnace_struct_eval_strain(const tnace_potential *pot, tnace_workspace *ws, const tnace_struct *s, double *energy,
                             double (*forces)[3], double dEde[3][3], double *eatom, int *failed_atom);

#endif
