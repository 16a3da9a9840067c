/* ----------------------------------------------------------------------
   pair_style tnace: tensor-network ACE potentials (libtnace) in LAMMPS.
   See pair_tnace.h and docs/pair_tnace.md.
------------------------------------------------------------------------- */

#include "pair_tnace.h"

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "neigh_list.h"
#include "neigh_request.h"
#include "neighbor.h"
#include "update.h"
#include "utils.h"

#include "tnace.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>

// The neighbour-request API changed in LAMMPS 24Mar2022 (Neighbor::add_request). LAMMPS itself defines
// no version macro: plugin.cmake passes TNACE_LAMMPS_VERSION (yyyymmdd, from the headers' version.h);
// a LAMMPS_VERSION_NUMBER given by the user wins. Unknown version: assume a current LAMMPS.
#if defined(LAMMPS_VERSION_NUMBER)
#define TNACE_LMP_VERSION LAMMPS_VERSION_NUMBER
#elif defined(TNACE_LAMMPS_VERSION) && (TNACE_LAMMPS_VERSION > 0)
#define TNACE_LMP_VERSION TNACE_LAMMPS_VERSION
#else
#define TNACE_LMP_VERSION 99999999
#endif

using namespace LAMMPS_NS;

static const int TNACE_INITIAL_NEIGH = 64;

/* ----------------------------------------------------------------------
   potential file: the path as given (relative to the working directory), else its file name in each
   folder of $LAMMPS_POTENTIALS (':'-separated; read here because some LAMMPS builds, e.g. Debian's,
   patch utils::get_potential_file_path to a fixed folder), else wherever LAMMPS itself looks.
   Unfound: the path as given, so that libtnace reports the error.
------------------------------------------------------------------------- */

static bool is_readable(const std::string &path)
{
  FILE *fp = fopen(path.c_str(), "r");
  if (!fp) return false;
  fclose(fp);
  return true;
}

static std::string find_potential_file(const std::string &path)
{
  if (is_readable(path)) return path;
  const std::string base = path.substr(path.find_last_of('/') + 1);
  const char *env = getenv("LAMMPS_POTENTIALS");
  if (env) {
    const std::string dirs(env);
    size_t start = 0;
    while (start <= dirs.size()) {
      size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      if (end > start) {
        const std::string candidate = dirs.substr(start, end - start) + "/" + base;
        if (is_readable(candidate)) return candidate;
      }
      start = end + 1;
    }
  }
  const std::string lmp_path = utils::get_potential_file_path(path);
  return lmp_path.empty() ? path : lmp_path;
}

/* ---------------------------------------------------------------------- */

PairTNACE::PairTNACE(LAMMPS *ptr) :
    Pair(ptr), pot(nullptr), ws(nullptr), ws_capacity(0), type2species(nullptr),
    cutsq_ij(nullptr), nmax_neigh(0), rij(nullptr), dEdr(nullptr), jspecies(nullptr),
    jindex(nullptr)
{
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  // a per-atom virial is tallied pairwise (i-j halves); the centroid form is not implemented
  centroidstressflag = CENTROID_NOTAVAIL;
}

/* ---------------------------------------------------------------------- */

PairTNACE::~PairTNACE()
{
  if (copymode) return;

  free_potential();
  delete[] rij;
  delete[] dEdr;
  delete[] jspecies;
  delete[] jindex;

  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
    memory->destroy(cutsq_ij);
    delete[] type2species;
  }
}

/* ---------------------------------------------------------------------- */

void PairTNACE::free_potential()
{
  tnace_workspace_free(ws);
  ws = nullptr;
  ws_capacity = 0;
  tnace_potential_free(pot);
  pot = nullptr;
}

/* ---------------------------------------------------------------------- */

void PairTNACE::allocate()
{
  allocated = 1;
  const int n = atom->ntypes + 1;

  memory->create(setflag, n, n, "pair:setflag");
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) setflag[i][j] = 0;
  memory->create(cutsq, n, n, "pair:cutsq");
  memory->create(cutsq_ij, n, n, "pair:cutsq_ij");
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) cutsq_ij[i][j] = 0.0;
  map = new int[n];
  type2species = new int[n];
  for (int i = 0; i < n; i++) map[i] = type2species[i] = -1;
}

/* ---------------------------------------------------------------------- */

void PairTNACE::grow_neigh_buffers(int n)
{
  if (nmax_neigh > 0 && n <= nmax_neigh) return;    // (always allocate: n = 0 still passes pointers)
  int nnew = nmax_neigh > 0 ? nmax_neigh : TNACE_INITIAL_NEIGH;
  while (nnew < n) nnew *= 2;
  delete[] rij;
  delete[] dEdr;
  delete[] jspecies;
  delete[] jindex;
  rij = new double[nnew][3];
  dEdr = new double[nnew][3];
  jspecies = new int[nnew];
  jindex = new int[nnew];
  nmax_neigh = nnew;
}

/* ---------------------------------------------------------------------- */

void PairTNACE::reserve_workspace(int n)
{
  if (n <= ws_capacity) return;
  if (tnace_workspace_reserve(ws, n) != TNACE_OK)
    error_one("pair tnace: cannot grow the libtnace workspace to " + std::to_string(n) +
              " neighbours: " + tnace_workspace_error(ws));
  ws_capacity = n;
}

/* ----------------------------------------------------------------------
   an error on this rank only (error->one: MPI_Abort). With LAMMPS_EXCEPTIONS, LAMMPS 29Sep2021 aborts
   without flushing the screen buffer, so the message would be lost when stdout is a pipe or a file:
   then it also goes to (unbuffered) stderr.
------------------------------------------------------------------------- */

void PairTNACE::error_one(const std::string &msg)
{
  if (screen) fflush(screen);
  if (logfile) fflush(logfile);
  if (!(screen == stdout && isatty(fileno(stdout)))) {
    fprintf(stderr, "ERROR on proc %d: %s\n", comm->me, msg.c_str());
    fflush(stderr);
  }
  error->one(FLERR, "{}", msg);
}

/* ---------------------------------------------------------------------- */

void PairTNACE::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);

  double **x = atom->x;
  double **f = atom->f;
  const int *const type = atom->type;
  const int nlocal = atom->nlocal;
  const int newton_pair = force->newton_pair;

  const int inum = list->inum;
  const int *const ilist = list->ilist;
  const int *const numneigh = list->numneigh;
  int **const firstneigh = list->firstneigh;

  // size the gather buffers for the longest list up front (outside the per-atom loop)
  int maxjnum = 0;
  for (int ii = 0; ii < inum; ii++) {
    const int i = ilist[ii];
    if (type2species[type[i]] >= 0 && numneigh[i] > maxjnum) maxjnum = numneigh[i];
  }
  grow_neigh_buffers(maxjnum);

  for (int ii = 0; ii < inum; ii++) {
    const int i = ilist[ii];
    const int itype = type[i];
    const int si = type2species[itype];
    if (si < 0) continue;    // NULL type: handled by another (hybrid) sub-style

    const double xi = x[i][0], yi = x[i][1], zi = x[i][2];
    const int *const jlist = firstneigh[i];
    const int jnum = numneigh[i];
    const double *const cutsq_i = cutsq_ij[itype];

    // gather the neighbours inside the cutoff (the list holds cutoff + skin)
    int n = 0;
    for (int jj = 0; jj < jnum; jj++) {
      const int j = jlist[jj] & NEIGHMASK;
      const int jtype = type[j];
      const int sj = type2species[jtype];
      if (sj < 0) continue;
      const double dx = x[j][0] - xi, dy = x[j][1] - yi, dz = x[j][2] - zi;
      if (dx * dx + dy * dy + dz * dz >= cutsq_i[jtype]) continue;
      rij[n][0] = dx;
      rij[n][1] = dy;
      rij[n][2] = dz;
      jspecies[n] = sj;
      jindex[n] = j;
      n++;
    }

    reserve_workspace(n);

    double ei = 0.0;
    if (tnace_atom_energy(pot, ws, si, n, rij, jspecies, &ei, dEdr) != TNACE_OK) {
      char where[256];
      if (atom->tag_enable)
        snprintf(where, sizeof(where), "atom %lld (type %d) at (%.8g, %.8g, %.8g)",
                 (long long) atom->tag[i], itype, xi, yi, zi);
      else
        snprintf(where, sizeof(where), "atom of type %d at (%.8g, %.8g, %.8g)", itype, xi, yi, zi);
      error_one(std::string("pair tnace: ") + where + ": " + tnace_workspace_error(ws));
    }

    // F_j = -dE_i/dr_ij, F_i = +sum_j dE_i/dr_ij; virial -sum r_ij (x) dE_i/dr_ij, tallied per pair
    // (ev_tally_xyz with del = r_i - r_j = -r_ij splits the per-atom virial half to i, half to j)
    double fi0 = 0.0, fi1 = 0.0, fi2 = 0.0;
    for (int k = 0; k < n; k++) {
      const int j = jindex[k];
      const double gx = dEdr[k][0], gy = dEdr[k][1], gz = dEdr[k][2];
      fi0 += gx;
      fi1 += gy;
      fi2 += gz;
      f[j][0] -= gx;
      f[j][1] -= gy;
      f[j][2] -= gz;
      if (vflag_either)
        ev_tally_xyz(i, j, nlocal, newton_pair, 0.0, 0.0, gx, gy, gz, -rij[k][0], -rij[k][1],
                     -rij[k][2]);
    }
    f[i][0] += fi0;
    f[i][1] += fi1;
    f[i][2] += fi2;

    if (eflag_either) {
      if (eflag_global) eng_vdwl += ei;
      if (eflag_atom) eatom[i] += ei;
    }
  }

  if (vflag_fdotr) virial_fdotr_compute();
}

/* ----------------------------------------------------------------------
   pair_style tnace  (no arguments)
------------------------------------------------------------------------- */

void PairTNACE::settings(int narg, char **arg)
{
  if (narg > 0)
    error->all(FLERR, "Illegal pair_style tnace command: takes no arguments, got '{}'", arg[0]);
  if (strcmp(update->unit_style, "metal") != 0)
    error->all(FLERR, "Pair style tnace requires 'units metal' (eV, Angstrom), not 'units {}'",
               update->unit_style);
}

/* ----------------------------------------------------------------------
   pair_coeff * * <file.yaml> <El or NULL for each atom type>
------------------------------------------------------------------------- */

void PairTNACE::coeff(int narg, char **arg)
{
  const int ntypes = atom->ntypes;
  if (narg != 3 + ntypes)
    error->all(FLERR,
               "Incorrect args for pair coefficients: pair_coeff * * <potential.yaml> needs {} "
               "element name(s) or NULL, one per atom type, got {}",
               ntypes, narg > 3 ? narg - 3 : 0);
  if (strcmp(arg[0], "*") != 0 || strcmp(arg[1], "*") != 0)
    error->all(FLERR, "Incorrect args for pair coefficients: pair style tnace needs pair_coeff * *");

  int nmapped = 0;
  for (int i = 3; i < narg; i++)
    if (strcmp(arg[i], "NULL") != 0) nmapped++;
  if (nmapped == 0)
    error->all(FLERR, "Incorrect args for pair coefficients: pair style tnace needs at least one element");

  if (!allocated) allocate();

  const std::string path = find_potential_file(arg[2]);

  tnace_potential *newpot = nullptr;
  char err[1024];
  err[0] = '\0';
  if (tnace_potential_load(path.c_str(), &newpot, err, sizeof(err)) != TNACE_OK || !newpot) {
    tnace_potential_free(newpot);
    error->all(FLERR, "pair tnace: cannot load potential file '{}': {}", arg[2], err);
  }

  // check every element before touching this style's state
  for (int i = 3; i < narg; i++) {
    if (strcmp(arg[i], "NULL") == 0) continue;
    if (tnace_potential_element_index(newpot, arg[i]) < 0) {
      std::string have;
      const int ne = tnace_potential_n_elements(newpot);
      for (int s = 0; s < ne; s++) {
        if (s) have += ' ';
        const char *sym = tnace_potential_element(newpot, s);
        have += sym ? sym : "?";
      }
      tnace_potential_free(newpot);
      error->all(FLERR, "pair tnace: element '{}' (atom type {}) is not in potential file '{}' (it has: {})",
                 arg[i], i - 2, path, have);
    }
  }

  // map atom types to unique element names, set setflag for mapped pairs
  map_element2type(ntypes, arg + 3);

  free_potential();
  pot = newpot;
  potfile = path;
  ws = tnace_workspace_new(pot, TNACE_INITIAL_NEIGH);
  if (!ws) error->one(FLERR, "pair tnace: out of memory creating the libtnace workspace");
  ws_capacity = TNACE_INITIAL_NEIGH;

  type2species[0] = -1;
  for (int i = 1; i <= ntypes; i++)
    type2species[i] = map[i] >= 0 ? tnace_potential_element_index(pot, elements[map[i]]) : -1;

  if (comm->me == 0) {
    utils::logmesg(lmp, "pair tnace: read {} (libtnace {}): {} element(s), {} parameters, max cutoff {} A\n",
                   path, TNACE_VERSION_STRING, tnace_potential_n_elements(pot),
                   tnace_potential_n_params(pot), tnace_potential_cutoff_max(pot));
    for (int i = 1; i <= ntypes; i++) {
      if (type2species[i] >= 0)
        utils::logmesg(lmp, "  atom type {} -> {} (species {})\n", i, elements[map[i]], type2species[i]);
      else
        utils::logmesg(lmp, "  atom type {} -> NULL (not handled by tnace)\n", i);
    }
  }
}

/* ---------------------------------------------------------------------- */

void PairTNACE::init_style()
{
  if (strcmp(update->unit_style, "metal") != 0)
    error->all(FLERR, "Pair style tnace requires 'units metal' (eV, Angstrom), not 'units {}'",
               update->unit_style);
  if (force->newton_pair == 0)
    error->all(FLERR, "Pair style tnace requires newton pair on (use 'newton on'): forces on ghost "
                      "atoms are summed back by reverse communication");
  if (!pot) error->all(FLERR, "Pair style tnace: pair_coeff * * <potential.yaml> ... is not set");

  // full neighbour list: every atom sees all its neighbours
#if TNACE_LMP_VERSION >= 20220324
  neighbor->add_request(this, NeighConst::REQ_FULL);
#else
  int irequest = neighbor->request(this, instance_me);
  neighbor->requests[irequest]->half = 0;
  neighbor->requests[irequest]->full = 1;
#endif
}

/* ---------------------------------------------------------------------- */

double PairTNACE::init_one(int i, int j)
{
  if (setflag[i][j] == 0) error->all(FLERR, "All pair coeffs are not set");
  const int si = type2species[i], sj = type2species[j];
  if (si < 0 || sj < 0) error->all(FLERR, "All pair coeffs are not set");

  // the cutoff may depend on which one is the centre; the list must cover the larger
  const double cij = tnace_potential_cutoff(pot, si, sj);
  const double cji = tnace_potential_cutoff(pot, sj, si);
  cutsq_ij[i][j] = cij * cij;
  cutsq_ij[j][i] = cji * cji;
  return cij > cji ? cij : cji;
}

/* ---------------------------------------------------------------------- */

double PairTNACE::memory_usage()
{
  double bytes = Pair::memory_usage();
  bytes += (double) nmax_neigh * (6 * sizeof(double) + 2 * sizeof(int));
  if (allocated) bytes += (double) (atom->ntypes + 1) * (atom->ntypes + 1) * sizeof(double);
  return bytes;
}
