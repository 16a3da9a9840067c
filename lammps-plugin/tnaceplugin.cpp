/* ----------------------------------------------------------------------
   tnaceplugin.so: registers pair_style tnace with LAMMPS (PLUGIN package).

     plugin load tnaceplugin.so
     pair_style  tnace
     pair_coeff  * * potential.yaml Cu Ni
------------------------------------------------------------------------- */

#include "lammpsplugin.h"
#include "version.h"

#include "pair_tnace.h"
#include "tnace.h"

using namespace LAMMPS_NS;

static Pair *tnace_creator(LAMMPS *lmp)
{
  return new PairTNACE(lmp);
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
}
