/*
 * extxyz.h — streaming reader for extended XYZ files (the format written by ASE, QUIP/GAP, MACE, ...).
 *
 * A frame is
 *     <n>                                   atom count (one integer)
 *     key=value key="quoted value" ...      comment line: Lattice, Properties, energy, stress, pbc, ...
 *     <n atom lines>                        columns as declared by Properties=name:type:count:...
 *
 * Comment line (parsed like ase.io.extxyz.key_val_str_to_dict): whitespace-separated `key=value` pairs;
 * values may be quoted with "…", '…', {…} or […]; a backslash escapes the next character; a bare key
 * means `key=T`; `key = value` (spaces around '=') is accepted. Numbers accept Fortran exponents
 * (1.0D-3). Booleans: T/F/True/False/true/false (and 1/0 in pbc).
 *
 *   Lattice="a1 a2 a3 b1 b2 b3 c1 c2 c3"  cell rows are the lattice vectors a, b, c (Å)
 *   pbc="T T F"                           default T T T when Lattice is given, else F F F (as ASE)
 *   Properties=species:S:1:pos:R:3:...    types S, R, I, L; any order; unknown columns are skipped.
 *                                         `species` (or, failing that, `Z:I:1`) and `pos` (or
 *                                         `positions`) are required. Column count must match exactly.
 *   energy (eV)         first present of  energy, REF_energy, dft_energy, DFT_energy
 *   forces (eV/Å)       per-atom R:3 column, first present of  forces, force, REF_forces, dft_forces,
 *                       DFT_force
 *   stress (eV/Å^3)     first present of  stress, REF_stress, dft_stress; 9 numbers (ASE order: the 3x3
 *                       read column-major, i.e. s[i][j] = v[i + 3j]; identical for a symmetric tensor) or
 *                       6 Voigt numbers xx yy zz yz xz xy. ASE sign: virial = −stress·volume.
 *   virial (eV)         used only when no stress key is present: first of  virial, REF_virial,
 *                       dft_virial; 9 or 6 numbers; converted to stress = −virial / volume.
 *   config_type         string ("" if absent)
 *   config_weight, energy_weight, forces_weight, stress_weight (alias virial_weight)   default 1.0
 *
 * Errors never crash and never leak: a function returns TNACE_ERR_IO / _PARSE / _VALUE (NaN/Inf or a
 * value out of range) / _ELEMENT (species column not an element symbol, Z not in 1..118) / _NOMEM / _ARG
 * and writes "PATH:LINE: key 'forces': <what>" (or "column 'pos' (field 3): ..." for atom lines) into
 * `err`. An atom line must have exactly the columns Properties declares. Missing energy/forces/stress is
 * not an error (has_* = 0): the caller decides.
 *
 * No global state: readers are independent and may be used from different threads.
 */
#ifndef TNACE_EXTXYZ_H
#define TNACE_EXTXYZ_H

#include <stddef.h>
#include "tnace.h"
#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int n_atoms;
  int n_count;                /* atoms of the keys' count_species (all atoms without one): per-atom energies */
  char (*symbol)[4];          /* [n] chemical symbols, normalised capitalisation ("Cu") */
  int *number;                /* [n] atomic numbers Z */
  double (*pos)[3];           /* [n][3] Å, as in the file (not wrapped) */
  double cell[3][3];          /* rows = lattice vectors a, b, c (Å); zero when no Lattice */
  int has_cell;               /* 1 if Lattice was given */
  int pbc[3];
  int has_energy;
  double energy;              /* total energy, eV */
  int has_forces;
  double (*forces)[3];        /* [n][3] eV/Å, NULL when has_forces == 0 */
  int has_stress;
  double stress[3][3];        /* eV/Å^3, ASE sign (virial = −stress·volume) */
  int stress_from_virial;     /* 1 if stress was computed from a virial key */
  char config_type[64];       /* "" if absent */
  double weight, energy_weight, forces_weight, stress_weight;  /* default 1.0 */
  long line;                  /* 1-based line number of the frame's atom-count line */
  long index;                 /* 0-based index of the frame in the file (skipped frames count) */
  /* All comment-line pairs in file order (unescaped; a bare key has value "T"). info_val == info_key +
   * n_info; both point into one allocation owned by the frame. Use tnace_frame_info() to look up. */
  int n_info;
  char **info_key;
  char **info_val;
} tnace_frame;

/* Key names. Each field may list alternatives separated by commas or spaces ("REF_energy,energy"):
 * the first one present in a frame wins. NULL (or a NULL keys pointer) = the defaults above.
 *
 * Units and sign of the reference data (a zeroed struct = the defaults):
 *   stress_unit   eV/Å^3 per unit of the file's stress key (TNACE_STRESS_UNIT_*); 0 = 1 (eV/Å^3)
 *   stress_sign   +1: ASE sign (tensile > 0, virial = −stress·V); −1: pressure sign (compressive > 0, as
 *                 LAMMPS's and VASP's pressure tensor); 0 = +1. A virial key is always eV with virial =
 *                 −stress·V (ASE and LAMMPS agree on it).
 *   units_declared  the user stated the units: the plausibility check below is not applied.
 * Plausibility (without declared units): a stress component above TNACE_MAX_PLAUSIBLE_STRESS_GPA after
 * conversion, or an energy per atom beyond ±TNACE_MAX_PLAUSIBLE_E_PER_ATOM eV, is refused (TNACE_ERR_VALUE,
 * naming the line, the key and how to declare the units): stresses in bar read as eV/Å^3 are 1.6e6 times too
 * large, energies in Hartree or of whole supercells per "atom" are not eV/atom. */
typedef struct {
  const char *energy, *forces, *stress, *virial, *config_type;
  double energy_unit;         /* eV per unit of the file's energy key (TNACE_ENERGY_UNIT_*); 0 = 1 (eV) */
  int energy_per_atom;        /* the key holds energy per counted atom: multiplied by the frame's n_count */
  const char *count_species;  /* symbols (comma/space-separated) whose atoms are counted in n_count; NULL = all */
  double stress_unit;
  int stress_sign;
  int units_declared;
} tnace_xyz_keys;

#define TNACE_ENERGY_UNIT_EV 1.0
#define TNACE_ENERGY_UNIT_MEV 1e-3
#define TNACE_STRESS_UNIT_EV_A3 1.0
#define TNACE_STRESS_UNIT_GPA (1.0 / TNACE_EV_A3_TO_GPA)
#define TNACE_STRESS_UNIT_KBAR (0.1 / TNACE_EV_A3_TO_GPA)
#define TNACE_STRESS_UNIT_BAR (1e-4 / TNACE_EV_A3_TO_GPA)
#define TNACE_MAX_PLAUSIBLE_STRESS_GPA 100.0
#define TNACE_MAX_PLAUSIBLE_E_PER_ATOM 100.0

/* Parse an energy unit name ("eV", "meV": structure totals; "eV/atom", "meV/atom": per atom, read values are
 * multiplied by the frame's atom count) into eV per unit and the per-atom flag; 0, or −1 for an unknown name. */
int tnace_energy_unit_parse(const char *name, double *unit, int *per_atom);
/* Parse a stress unit name ("eV/A^3" (also "eV/A3", "eV/Å^3", "eV/Å³"), "GPa", "kbar", "kB", "bar") into
 * eV/Å^3 per unit; returns 0, or −1 for an unknown name. */
int tnace_stress_unit_parse(const char *name, double *unit);
/* Parse a stress sign name ("ase" → +1, "pressure" → −1); returns 0, or −1 for an unknown name. */
int tnace_stress_sign_parse(const char *name, int *sign);

typedef struct tnace_xyz_reader tnace_xyz_reader;

/* Open a file for streaming (it is never loaded whole). Returns NULL on failure (cannot open: message
 * "PATH: cannot open: <strerror>"; out of memory) with the message in err. */
tnace_xyz_reader *tnace_xyz_open(const char *path, const tnace_xyz_keys *keys, char *err, size_t errlen);

/* Read the next frame into *f (overwritten, not freed: free a previous frame with tnace_frame_free).
 * Returns 1 = got a frame, 0 = end of file, < 0 = error (then *f is empty and needs no freeing).
 * An empty file (no frame at all) is an error (TNACE_ERR_PARSE). After an error, the next call resumes
 * at the following frame: the atom count tells where the bad frame ends; after a bad atom count it
 * resumes at the next line holding a lone integer; a frame truncated by the end of the file is followed
 * by 0 (EOF). */
int tnace_xyz_next(tnace_xyz_reader *r, tnace_frame *f, char *err, size_t errlen);

/* Frames of 0 atoms met so far (ASE writes them for an empty Atoms object). They hold no data and are skipped
 * by tnace_xyz_next, not errors; callers report the count as a warning. *first_line (may be NULL) gets the
 * atom-count line of the first one. */
long tnace_xyz_n_empty(const tnace_xyz_reader *r, long *first_line);

/* Number of the last line read (1-based), for messages. */
long tnace_xyz_line(const tnace_xyz_reader *r);

void tnace_xyz_close(tnace_xyz_reader *r);   /* NULL allowed */
void tnace_frame_free(tnace_frame *f);        /* frees the arrays and zeroes *f; NULL allowed */

/* Value of comment-line key `key` (last occurrence) as a string, or NULL if absent. */
const char *tnace_frame_info(const tnace_frame *f, const char *key);

/* |det(cell)| in Å^3 (0 without a cell). */
double tnace_frame_volume(const tnace_frame *f);

/* Read a whole file. On success returns 0, *frames (free each with tnace_frame_free, then free()) and
 * *n. With skip_bad = 0 the first bad frame is an error (everything freed, *frames = NULL, *n = 0).
 * With skip_bad = 1 bad frames are skipped and counted in *n_skipped (may be NULL); the first such error
 * message is left in err (err[0] == 0 when nothing was skipped). A file with no valid frame is an error
 * (TNACE_ERR_PARSE). */
int tnace_xyz_read_all(const char *path, const tnace_xyz_keys *keys, int skip_bad, tnace_frame **frames,
                       int *n, int *n_skipped, char *err, size_t errlen);

/* Free an array returned by tnace_xyz_read_all (NULL allowed). */
void tnace_xyz_free_all(tnace_frame *frames, int n);

#ifdef __cplusplus
}
#endif
#endif
