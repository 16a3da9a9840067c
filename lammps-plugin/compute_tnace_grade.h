/* -*- c++ -*- ----------------------------------------------------------
   compute tnace/grade: the per-atom extrapolation grade of pair_style tnace.

     compute ID group-ID tnace/grade

   Per-atom vector: gamma_i of every local atom in the group (0 for others),
   from tnace_atom_grade() (src/tnace/tnace.h, docs/extrapolation-grade.md);
   global scalar: the largest gamma_i over the group (all MPI ranks).
   Computed only on the steps that ask for it (dump, thermo, variable,
   fix halt), from the positions and neighbour list of that step's force
   call, so plain MD pays nothing. An adapter: no physics here.
------------------------------------------------------------------------- */

#ifndef LMP_COMPUTE_TNACE_GRADE_H
#define LMP_COMPUTE_TNACE_GRADE_H

#include "compute.h"

namespace LAMMPS_NS {

class ComputeTNACEGrade : public Compute {
 public:
  ComputeTNACEGrade(class LAMMPS *, int, char **);
  ~ComputeTNACEGrade() override;
  void init() override;
  double compute_scalar() override;
  void compute_peratom() override;
  double memory_usage() override;

 private:
  class PairTNACE *pair;
  int nmax;
  double *gamma;
};

}    // namespace LAMMPS_NS

#endif
