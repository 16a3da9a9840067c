/* ----------------------------------------------------------------------
   tnaceplugin.so: registers pair_style tnace and compute tnace/grade with LAMMPS (PLUGIN package).

     plugin load tnaceplugin.so
     pair_style  tnace
     pair_coeff  * * potential.yaml Cu Ni
     compute     g all tnace/grade        (per-atom extrapolation grade, max as scalar)
------------------------------------------------------------------------- */

#include "lammpsplugin.h"
#include "version.h"

#include "compute_tnace_grade.h"
#include "pair_tnace.h"
#include "tnace.h"

using namespace LAMMPS_NS;

static Pair *tnace_creator(LAMMPS *lmp)
{
  return new PairTNACE(lmp);
}

static Compute *tnace_grade_creator(LAMMPS *lmp, int narg, char **arg)
{
  return new ComputeTNACEGrade(lmp, narg, arg);
}

extern "C" void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  lammpsplugin_t plugin;
  lammpsplugin_regfunc register_plugin = (lammpsplugin_regfunc) regfunc;

  plugin.version = LAMMPS_VERSION;
  plugin.style = "pair";
  plugin.name = "tnace";
  plugin.info = "tensor-network ACE potentials (libtnace " TNACE_VERSION_STRING ")";
  plugin.author = "tnace developers";
  plugin.creator.v1 = (lammpsplugin_factory1 *) &tnace_creator;
  plugin.handle = handle;
  (*register_plugin)(&plugin, lmp);

  plugin.style = "compute";
  plugin.name = "tnace/grade";
  plugin.info = "per-atom extrapolation grade of pair_style tnace (libtnace " TNACE_VERSION_STRING ")";
  plugin.creator.v2 = (lammpsplugin_factory2 *) &tnace_grade_creator;
  (*register_plugin)(&plugin, lmp);
}
