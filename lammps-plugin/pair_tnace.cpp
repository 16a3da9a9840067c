/* ----------------------------------------------------------------------
   pair_style tnace: tensor-network ACE potentials (libtnace) in LAMMPS.
   See pair_tnace.h and docs/pair_tnace.md.
------------------------------------------------------------------------- */

#include "pair_tnace.h"

#include "atom.h"
#include "comm.h"
#include "domain.h"
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

#if defined(_OPENMP)
#include <omp.h>
#endif

// Neighbour-request API: LAMMPS 24Mar2022 replaced neighbor->request() plus the public NeighRequest flags
// by Neighbor::add_request() (the flags became protected, so the old code no longer compiles).
// plugin.cmake and tools/check_lammps_api look for add_request() in the neighbor.h they compile against
// and pass TNACE_LAMMPS_ADD_REQUEST (1 new API, 0 old): a version number cannot always tell, because a
// development snapshot's version.h names the release before it. Without that macro the version decides:
// LAMMPS_VERSION_NUMBER (yyyymmdd, the convention of other out-of-tree pair styles; LAMMPS itself defines
// none), else TNACE_LAMMPS_VERSION (from version.h, by plugin.cmake), else a current LAMMPS is assumed.
#if defined(TNACE_LAMMPS_ADD_REQUEST)
#define TNACE_NEIGH_ADD_REQUEST TNACE_LAMMPS_ADD_REQUEST
#elif defined(LAMMPS_VERSION_NUMBER)
#define TNACE_NEIGH_ADD_REQUEST (LAMMPS_VERSION_NUMBER >= 20220324)
#elif defined(TNACE_LAMMPS_VERSION) && (TNACE_LAMMPS_VERSION > 0)
#define TNACE_NEIGH_ADD_REQUEST (TNACE_LAMMPS_VERSION >= 20220324)
#else
#define TNACE_NEIGH_ADD_REQUEST 1
#endif

using namespace LAMMPS_NS;

static const int TNACE_INITIAL_NEIGH = 64;

/* ----------------------------------------------------------------------
   potential file: the path as given (relative to the working directory), else its file name in each
   folder of $LAMMPS_POTENTIALS (':'-separated; read here because some LAMMPS builds, e.g. Debian's,
   patch utils::get_potential_file_path to a fixed folder), else wherever LAMMPS itself looks.
   Unfound: the path as given, so that libtnace reports the error. The caller warns when the file used is
   not the path as given (a silent fallback could load another potential of the same name).
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
    Pair(ptr), pot(nullptr), type2species(nullptr), cutsq_ij(nullptr), nthreads_req(0), thr(nullptr),
    nthr_alloc(0), nthr_logged(0)
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

  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
    memory->destroy(cutsq_ij);
    delete[] type2species;
  }
}

/* ----------------------------------------------------------------------
   the workspaces belong to the potential they were made for, so they go first
------------------------------------------------------------------------- */

void PairTNACE::free_potential()
{
  free_threads();
  tnace_potential_free(pot);
  pot = nullptr;
}

/* ---------------------------------------------------------------------- */

void PairTNACE::free_threads()
{
  for (int t = 0; t < nthr_alloc; t++) {
    ThreadData &td = thr[t];
    tnace_workspace_free(td.ws);
    delete[] td.rij;
    delete[] td.dEdr;
    delete[] td.jspecies;
    delete[] td.jindex;
    delete[] td.f;
    delete[] td.vatom;
  }
  delete[] thr;
  thr = nullptr;
  nthr_alloc = 0;
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

/* ----------------------------------------------------------------------
   threads for the atom loop: `pair_style tnace threads N`; else LAMMPS' own count (comm->nthreads:
   OMP_NUM_THREADS or `package omp N` when LAMMPS has OpenMP); else OpenMP's count if OMP_NUM_THREADS is
   set; else 1. As LAMMPS itself, no thread per core unasked (OpenMP's default when the variable is unset).
------------------------------------------------------------------------- */

int PairTNACE::threads_to_use() const
{
#if defined(_OPENMP)
  int n = nthreads_req;
  if (n <= 0) {
    n = comm->nthreads;
    if (n <= 1) n = getenv("OMP_NUM_THREADS") ? omp_get_max_threads() : 1;
  }
  return n > 1 ? n : 1;
#else
  return 1;
#endif
}

/* ----------------------------------------------------------------------
   make nthr threads ready for neighbour lists of up to maxjnum entries: a libtnace workspace each
   and gather buffers, grown by doubling so that growth is rare; called before the atom loop
------------------------------------------------------------------------- */

void PairTNACE::grow_threads(int nthr, int maxjnum)
{
  if (nthr > nthr_alloc) {
    ThreadData *grown = new ThreadData[nthr];
    for (int t = 0; t < nthr_alloc; t++) grown[t] = thr[t];    // takes over the buffers
    delete[] thr;
    thr = grown;
    nthr_alloc = nthr;
  }
  for (int t = 0; t < nthr; t++) {
    ThreadData &td = thr[t];
    if (td.ws && maxjnum <= td.ws_capacity && maxjnum <= td.nmax_neigh) continue;
    int cap = td.nmax_neigh > 0 ? td.nmax_neigh : TNACE_INITIAL_NEIGH;
    while (cap < maxjnum) cap *= 2;
    if (!td.ws) {
      td.ws = tnace_workspace_new(pot, cap);
      if (!td.ws) error_one("pair tnace: out of memory creating a libtnace workspace");
    } else if (tnace_workspace_reserve(td.ws, cap) != TNACE_OK) {
      error_one("pair tnace: cannot grow the libtnace workspace to " + std::to_string(cap) +
                " neighbours: " + tnace_workspace_error(td.ws));
    }
    td.ws_capacity = cap;
    if (cap > td.nmax_neigh) {
      delete[] td.rij;
      delete[] td.dEdr;
      delete[] td.jspecies;
      delete[] td.jindex;
      td.rij = new double[cap][3];
      td.dEdr = new double[cap][3];
      td.jspecies = new int[cap];
      td.jindex = new int[cap];
      td.nmax_neigh = cap;
    }
  }
}

/* ----------------------------------------------------------------------
   per-thread force (and per-atom virial) accumulators for all local + ghost atoms (threaded path)
------------------------------------------------------------------------- */

void PairTNACE::grow_thread_atoms(int nthr, bool need_vatom)
{
  const int n = atom->nmax;
  for (int t = 0; t < nthr; t++) {
    ThreadData &td = thr[t];
    if (td.nmax_f < n) {
      delete[] td.f;
      td.f = new double[n][3];
      td.nmax_f = n;
    }
    if (need_vatom && td.nmax_vatom < n) {
      delete[] td.vatom;
      td.vatom = new double[n][6];
      td.nmax_vatom = n;
    }
  }
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

/* ----------------------------------------------------------------------
   libtnace refused the atom at ilist position ii (message in td's workspace)
------------------------------------------------------------------------- */

void PairTNACE::report_failure(int ii, const ThreadData &td)
{
  const int i = list->ilist[ii];
  const double *xi = atom->x[i];
  char where[256];
  if (atom->tag_enable)
    snprintf(where, sizeof(where), "atom %lld (type %d) at (%.8g, %.8g, %.8g)", (long long) atom->tag[i],
             atom->type[i], xi[0], xi[1], xi[2]);
  else
    snprintf(where, sizeof(where), "atom of type %d at (%.8g, %.8g, %.8g)", atom->type[i], xi[0], xi[1],
             xi[2]);
  error_one(std::string("pair tnace: ") + where + ": " + tnace_workspace_error(td.ws));
}

/* ----------------------------------------------------------------------
   the neighbours of local atom i inside the cutoff (the list holds cutoff + skin) into td's buffers:
   r_ij, libtnace species, LAMMPS index; returns their number
------------------------------------------------------------------------- */

int PairTNACE::gather(int i, ThreadData &td)
{
  double **const x = atom->x;
  const int *const type = atom->type;
  const int *const jlist = list->firstneigh[i];
  const int jnum = list->numneigh[i];
  const double *const cutsq_i = cutsq_ij[type[i]];
  const double xi = x[i][0], yi = x[i][1], zi = x[i][2];
  int n = 0;
  for (int jj = 0; jj < jnum; jj++) {
    const int j = jlist[jj] & NEIGHMASK;
    const int jtype = type[j];
    const int sj = type2species[jtype];
    if (sj < 0) continue;
    const double dx = x[j][0] - xi, dy = x[j][1] - yi, dz = x[j][2] - zi;
    if (dx * dx + dy * dy + dz * dz >= cutsq_i[jtype]) continue;
    td.rij[n][0] = dx;
    td.rij[n][1] = dy;
    td.rij[n][2] = dz;
    td.jspecies[n] = sj;
    td.jindex[n] = j;
    n++;
  }
  return n;
}

/* ----------------------------------------------------------------------
   extrapolation grade of the local atoms of the pair's neighbour list that are in `groupbit` (others
   and atoms of NULL types get 0) into gamma[nlocal]; called by compute tnace/grade between force
   evaluations, when the positions are those of the last force call and the list is current
------------------------------------------------------------------------- */

void PairTNACE::compute_grade(double *gamma, int groupbit)
{
  if (!pot || !list) error->all(FLERR, "compute tnace/grade: pair tnace has not been set up (no run yet)");
  if (!tnace_potential_has_grade(pot))
    error->all(FLERR, "compute tnace/grade: potential file '{}' has no extrapolation grade (fitted without "
               "one; add it with tnace-fit CONFIG --grade-only)", potfile);
  const int *const type = atom->type;
  const int *const mask = atom->mask;
  const int inum = list->inum;
  const int *const ilist = list->ilist;
  int maxjnum = 0;
  for (int ii = 0; ii < inum; ii++)
    if (list->numneigh[ilist[ii]] > maxjnum) maxjnum = list->numneigh[ilist[ii]];
  const int nthr = threads_to_use();
  grow_threads(nthr, maxjnum);
  int fail_ii = -1, fail_t = 0;
#if defined(_OPENMP)
#pragma omp parallel for num_threads(nthr) schedule(static)
#endif
  for (int ii = 0; ii < inum; ii++) {
#if defined(_OPENMP)
    const int t = omp_get_thread_num();
#else
    const int t = 0;
#endif
    const int i = ilist[ii];
    gamma[i] = 0.0;
    const int si = type2species[type[i]];
    if (si < 0 || !(mask[i] & groupbit)) continue;
    ThreadData &td = thr[t];
    const int n = gather(i, td);
    if (tnace_atom_grade(pot, td.ws, si, n, td.rij, td.jspecies, &gamma[i]) != TNACE_OK) {
#if defined(_OPENMP)
#pragma omp critical(tnace_grade_fail)
#endif
      if (fail_ii < 0 || ii < fail_ii) { fail_ii = ii; fail_t = t; }
    }
  }
  if (fail_ii >= 0) report_failure(fail_ii, thr[fail_t]);
}

/* ----------------------------------------------------------------------
   energy and forces of the atoms at ilist positions [iifrom, iito), with td's workspace and buffers.
   Forces go to fo, the per-atom virial (if tallied) to vo, both indexed by LAMMPS atom index; the
   per-atom energy to eatom[i] (only i's own thread writes it); the energy sum and global virial are
   added to eng and vir. Returns 0, or 1 after the first atom libtnace refuses (td.fail_ii).
------------------------------------------------------------------------- */

int PairTNACE::compute_range(int iifrom, int iito, ThreadData &td, double (*fo)[3], double (*vo)[6],
                             double &eng, double *vir)
{
  const int *const type = atom->type;
  const int *const ilist = list->ilist;

  double (*const rij)[3] = td.rij;
  double (*const dEdr)[3] = td.dEdr;
  const int *const jspecies = td.jspecies;
  const int *const jindex = td.jindex;

  double esum = 0.0;
  double vsum[6] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  td.fail_ii = -1;

  for (int ii = iifrom; ii < iito; ii++) {
    const int i = ilist[ii];
    const int itype = type[i];
    const int si = type2species[itype];
    if (si < 0) continue;    // NULL type: handled by another (hybrid) sub-style

    const int n = gather(i, td);
    double ei = 0.0;
    if (tnace_atom_energy(pot, td.ws, si, n, rij, jspecies, &ei, dEdr) != TNACE_OK) {
      td.fail_ii = ii;
      return 1;
    }

    // F_j = -dE_i/dr_ij, F_i = +sum_j dE_i/dr_ij; virial -sum r_ij (x) dE_i/dr_ij, tallied per pair as
    // Pair::ev_tally_xyz does (del = r_i - r_j = -r_ij, f = dE_i/dr_ij; per-atom halves to i and to j)
    double fi0 = 0.0, fi1 = 0.0, fi2 = 0.0;
    for (int k = 0; k < n; k++) {
      const int j = jindex[k];
      const double gx = dEdr[k][0], gy = dEdr[k][1], gz = dEdr[k][2];
      fi0 += gx;
      fi1 += gy;
      fi2 += gz;
      fo[j][0] -= gx;
      fo[j][1] -= gy;
      fo[j][2] -= gz;
      if (vflag_either) {
        const double delx = -rij[k][0], dely = -rij[k][1], delz = -rij[k][2];
        const double v[6] = {delx * gx, dely * gy, delz * gz, delx * gy, delx * gz, dely * gz};
        if (vflag_global)
          for (int m = 0; m < 6; m++) vsum[m] += v[m];
        if (vflag_atom)
          for (int m = 0; m < 6; m++) {
            vo[i][m] += 0.5 * v[m];
            vo[j][m] += 0.5 * v[m];
          }
      }
    }
    fo[i][0] += fi0;
    fo[i][1] += fi1;
    fo[i][2] += fi2;

    if (eflag_global) esum += ei;
    if (eflag_atom) eatom[i] += ei;
  }

  if (eflag_global) eng += esum;
  if (vflag_global)
    for (int m = 0; m < 6; m++) vir[m] += vsum[m];
  return 0;
}

/* ---------------------------------------------------------------------- */

void PairTNACE::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);

  const int *const type = atom->type;
  const int nall = atom->nlocal + atom->nghost;
  const int inum = list->inum;
  const int *const ilist = list->ilist;
  const int *const numneigh = list->numneigh;

  // size workspaces and gather buffers for the longest list up front (outside the atom loop)
  int maxjnum = 0;
  for (int ii = 0; ii < inum; ii++) {
    const int i = ilist[ii];
    if (type2species[type[i]] >= 0 && numneigh[i] > maxjnum) maxjnum = numneigh[i];
  }
  const int nthr = threads_to_use();
  grow_threads(nthr, maxjnum);
  if (nthr != nthr_logged) {
    if (comm->me == 0)
      utils::logmesg(lmp, "pair tnace: {} OpenMP thread(s) per MPI rank\n", nthr);
    nthr_logged = nthr;
  }

  // LAMMPS allocates f and vatom as contiguous [nmax][3] and [nmax][6] blocks (memory->create), so they
  // can be addressed as arrays of rows: one kernel then fills LAMMPS' arrays or a thread's own.
  double (*const f)[3] = nall > 0 ? (double (*)[3]) atom->f[0] : nullptr;
  double (*const va)[6] = (vflag_atom && nall > 0) ? (double (*)[6]) vatom[0] : nullptr;

  if (nthr == 1) {
    if (compute_range(0, inum, thr[0], f, va, eng_vdwl, virial)) report_failure(thr[0].fail_ii, thr[0]);
  } else {
#if defined(_OPENMP)
    // Each thread takes a contiguous share of ilist and sums into its own force/virial arrays; the
    // shares depend only on inum and the team size, and the arrays are added up in thread order, so a
    // given thread count gives the same result every run (different counts differ by round-off only).
    grow_thread_atoms(nthr, va != nullptr);
    int nteam = nthr;    // the runtime may grant fewer threads (OMP_DYNAMIC, OMP_THREAD_LIMIT)
#pragma omp parallel num_threads(nthr)
    {
      const int nt = omp_get_num_threads();
      const int t = omp_get_thread_num();
#pragma omp single
      nteam = nt;
      ThreadData &td = thr[t];
      const int lo = (int) ((long long) inum * t / nt);
      const int hi = (int) ((long long) inum * (t + 1) / nt);
      if (nall > 0) {
        memset(td.f, 0, sizeof(double) * 3 * nall);
        if (va) memset(td.vatom, 0, sizeof(double) * 6 * nall);
      }
      td.eng = 0.0;
      for (int m = 0; m < 6; m++) td.virial[m] = 0.0;
      compute_range(lo, hi, td, td.f, va ? td.vatom : nullptr, td.eng, td.virial);

#pragma omp barrier
#pragma omp for schedule(static)
      for (int j = 0; j < nall; j++) {
        for (int m = 0; m < 3; m++) {
          double s = 0.0;
          for (int u = 0; u < nt; u++) s += thr[u].f[j][m];
          f[j][m] += s;
        }
        if (va)
          for (int m = 0; m < 6; m++) {
            double s = 0.0;
            for (int u = 0; u < nt; u++) s += thr[u].vatom[j][m];
            va[j][m] += s;
          }
      }
    }
    // the first failure in ilist order, whichever thread met it
    for (int u = 0; u < nteam; u++)
      if (thr[u].fail_ii >= 0) report_failure(thr[u].fail_ii, thr[u]);
    for (int u = 0; u < nteam; u++) {
      if (eflag_global) eng_vdwl += thr[u].eng;
      if (vflag_global)
        for (int m = 0; m < 6; m++) virial[m] += thr[u].virial[m];
    }
#endif
  }

  if (vflag_fdotr) virial_fdotr_compute();
}

/* ----------------------------------------------------------------------
   pair_style tnace [threads N]
------------------------------------------------------------------------- */

void PairTNACE::settings(int narg, char **arg)
{
  // the ACE basis is three-dimensional (Y_lm of 3-d bond vectors); a 2-d run would be silently wrong
  if (domain->dimension != 3)
    error->all(FLERR, "Pair style tnace requires dimension 3, not dimension {}", domain->dimension);
  nthreads_req = 0;    // a repeated pair_style command starts from the defaults
  for (int iarg = 0; iarg < narg; iarg += 2) {
    if (strcmp(arg[iarg], "threads") != 0)
      error->all(FLERR, "Illegal pair_style tnace command: unknown keyword '{}' (only 'threads N')",
                 arg[iarg]);
    if (iarg + 1 >= narg) error->all(FLERR, "Illegal pair_style tnace command: 'threads' needs a count");
    const int n = utils::inumeric(FLERR, arg[iarg + 1], false, lmp);
    if (n < 1) error->all(FLERR, "Illegal pair_style tnace command: threads {} (must be >= 1)", n);
#if !defined(_OPENMP)
    if (n > 1)
      error->all(FLERR, "pair_style tnace threads {}: this tnaceplugin.so was built without OpenMP", n);
#endif
    nthreads_req = n;
  }
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
  if (path != arg[2] && comm->me == 0)
    error->warning(FLERR, "pair tnace: potential file '{}' not found as given; using '{}' (LAMMPS_POTENTIALS or "
                   "the LAMMPS potentials folder)", arg[2], path);

  tnace_potential *newpot = nullptr;
  char err[1024];
  err[0] = '\0';
  const double t_load = MPI_Wtime();   // reading and building the coupling trees (seconds for ν = 4 at l_max ≥ 8)
  if (tnace_potential_load(path.c_str(), &newpot, err, sizeof(err)) != TNACE_OK || !newpot) {
    tnace_potential_free(newpot);
    error->all(FLERR, "pair tnace: cannot load potential file '{}': {}", arg[2], err);
  }
  if (const char *prop = tnace_potential_property(newpot)) {
    const std::string name = prop;
    tnace_potential_free(newpot);
    error->all(FLERR, "pair tnace: '{}' is a property model (it predicts {} per structure), not an interatomic "
               "potential: evaluate it with tnace-eval or Python", path, name);
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
  grow_threads(1, 0);    // the serial workspace now, so that running out of memory shows up here

  type2species[0] = -1;
  for (int i = 1; i <= ntypes; i++)
    type2species[i] = map[i] >= 0 ? tnace_potential_element_index(pot, elements[map[i]]) : -1;

  if (comm->me == 0) {
    utils::logmesg(lmp, "pair tnace: read {} (libtnace {}): {} element(s), {} parameters, max cutoff {} A, "
                   "loaded in {:.2f} s\n", path, TNACE_VERSION_STRING, tnace_potential_n_elements(pot),
                   tnace_potential_n_params(pot), tnace_potential_cutoff_max(pot), MPI_Wtime() - t_load);
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
#if TNACE_NEIGH_ADD_REQUEST
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
  for (int t = 0; t < nthr_alloc; t++) {
    bytes += (double) thr[t].nmax_neigh * (6 * sizeof(double) + 2 * sizeof(int));
    bytes += (double) thr[t].nmax_f * 3 * sizeof(double) + (double) thr[t].nmax_vatom * 6 * sizeof(double);
  }
  if (allocated) bytes += (double) (atom->ntypes + 1) * (atom->ntypes + 1) * sizeof(double);
  return bytes;
}
