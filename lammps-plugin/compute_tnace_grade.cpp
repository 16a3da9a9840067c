/* ----------------------------------------------------------------------
   compute tnace/grade: see compute_tnace_grade.h and docs/pair_tnace.md.
------------------------------------------------------------------------- */

#include "compute_tnace_grade.h"

#include "atom.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "pair_tnace.h"
#include "update.h"

#include <mpi.h>

using namespace LAMMPS_NS;

ComputeTNACEGrade::ComputeTNACEGrade(LAMMPS *lmp, int narg, char **arg) :
    Compute(lmp, narg, arg), pair(nullptr), nmax(0), gamma(nullptr)
{
  if (narg != 3) error->all(FLERR, "Illegal compute tnace/grade command: no arguments after the style");
  scalar_flag = 1;
  extscalar = 0;
  peratom_flag = 1;
  size_peratom_cols = 0;
}

ComputeTNACEGrade::~ComputeTNACEGrade()
{
  memory->destroy(gamma);
}

void ComputeTNACEGrade::init()
{
  pair = dynamic_cast<PairTNACE *>(force->pair_match("tnace", 1));
  if (!pair) error->all(FLERR, "compute tnace/grade requires pair_style tnace (alone or in pair_style hybrid)");
}

void ComputeTNACEGrade::compute_peratom()
{
  invoked_peratom = update->ntimestep;
  if (atom->nmax > nmax) {
    memory->destroy(gamma);
    nmax = atom->nmax;
    memory->create(gamma, nmax, "tnace/grade:gamma");
    vector_atom = gamma;
  }
  const int nlocal = atom->nlocal;
  for (int i = 0; i < nlocal; i++) gamma[i] = 0.0;
  pair->compute_grade(gamma, groupbit);
}

double ComputeTNACEGrade::compute_scalar()
{
  invoked_scalar = update->ntimestep;
  if (invoked_peratom != update->ntimestep) compute_peratom();
  double mine = 0.0;
  const int *const mask = atom->mask;
  for (int i = 0; i < atom->nlocal; i++)
    if ((mask[i] & groupbit) && gamma[i] > mine) mine = gamma[i];
  MPI_Allreduce(&mine, &scalar, 1, MPI_DOUBLE, MPI_MAX, world);
  return scalar;
}

double ComputeTNACEGrade::memory_usage()
{
  return (double) nmax * sizeof(double);
}
