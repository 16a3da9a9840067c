/*
 * tnace_limits.h — every size limit of a tnace model, in one place. The fit-config reader (fitconfig.c), the
 * potential reader (potential_yaml.c) and the layers that allocate (fusion.c, tn.c) check against these
 * same numbers, so a shape one of them accepts is never refused later by another. docs/fit-config.md
 * and docs/potential-format.md list them.
 */
#ifndef TNACE_LIMITS_H
#define TNACE_LIMITS_H

/* Body order ν of a term: fixed-size per-copy arrays (fusion tries, tangents) are sized by it. */
#define TNACE_MAX_NU 4
/* Elements of one potential: per-species arrays (E0, cutoffs, species factors) are sized by it. */
#define TNACE_MAX_ELEMENTS 16
/* Terms of one potential (each an MPS, or an MPO of two layers). */
#define TNACE_MAX_TERMS 8
/* Largest angular momentum l of the Y_lm tables and CG coefficients. */
#define TNACE_LMAX_LIMIT 20
/* Radial functions per term: the Chebyshev recursion and the radial cores are sized by it. */
#define TNACE_MAX_NMAX 1000
/* Bond dimension χ of any bond (and an MPO's rank): a core of 3 bonds of this size is already 10^11. */
#define TNACE_MAX_BOND 4096
/* Raw terms (24 bytes each) of one fusion tree: larger trees are refused instead of exhausting memory
 * (ν = 4 at l_max ≈ 14 and beyond; ν = 4, l_max = 10 has 5.9e6 leaves; ν = 3, l_max = 20 has 3.6e5). */
#define TNACE_MAX_FUSION_TERMS ((size_t)1 << 26)
/* Work of one fusion-tree build (fusion.h tnace_fusion_work_estimate), refused before any allocation: a 10 KB
 * potential file with {nu: 4, lmax: 11} took 51 s and 1.65 GB per MPI rank at pair_coeff (issue #17 item 0).
 * 2.5e6 admits ν = 4 up to l_max 10 (work 2.1e6: about 0.9 GB and 27 s by the same proportion; its build took
 * 30 s here on a loaded machine, memory not measured), ν ≤ 3 up to TNACE_LMAX_LIMIT. */
#define TNACE_MAX_FUSION_WORK 2.5e6
/* Cutoff radius (Å): the cutoffs of machine-learned potentials are 4–10 Å; a larger one is a unit mistake
 * (bohr, nm) or a typo, and would fill the neighbour lists with thousands of periodic images. */
#define TNACE_MAX_CUTOFF 50.0
/* Magnitude of a stored core value: fitted cores are O(1e-8..1e3) in mixed-canonical gauge; a value of
 * 1e300 loaded and gave PotEng 3e302 in LAMMPS without an error (issue #17 item 4). */
#define TNACE_MAX_ABS_VALUE 1e100
/* Feature columns m of the extrapolation grade per species (grade_fit.h): the potential file stores an m × m
 * inverse per species (m = 1024: 1 M numbers, about 25 MB of YAML per element). */
#define TNACE_MAX_GRADE_SIZE 1024
/* Largest `scale` (eV) of an embed term (tn.h): beyond it the read-out is linear over any energy a potential sees. */
#define TNACE_MAX_EMBED_SCALE 1e4

#endif
