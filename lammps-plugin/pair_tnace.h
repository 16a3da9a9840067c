/* -*- c++ -*- ----------------------------------------------------------
   pair_style tnace: tensor-network ACE potentials (libtnace) in LAMMPS.

   A thin adapter: the per-atom energy E_i and its derivatives dE_i/dr_ij
   come from tnace_atom_energy() (src/tnace/tnace.h); this class gathers the
   neighbours of each local atom from a full neighbour list, scatters the
   forces to i and to its (possibly ghost) neighbours and tallies energy
   and virial. Ghost forces are summed back by LAMMPS (newton_pair on).

   Optionally the loop over local atoms runs on OpenMP threads (one libtnace
   workspace per thread, per-thread force/virial accumulators, reduced in a
   fixed order); see docs/pair_tnace.md.

   Built as a plugin (tnaceplugin.so); see docs/pair_tnace.md.
------------------------------------------------------------------------- */

#ifndef LMP_PAIR_TNACE_H
#define LMP_PAIR_TNACE_H

#include "pair.h"

#include <string>

struct tnace_potential;
struct tnace_workspace;

namespace LAMMPS_NS {

class PairTNACE : public Pair {
 public:
  PairTNACE(class LAMMPS *);
  ~PairTNACE() override;

  void compute(int, int) override;
  void settings(int, char **) override;
  void coeff(int, char **) override;
  void init_style() override;
  double init_one(int, int) override;
  double memory_usage() override;

  // Extrapolation grade of the group's local atoms into gamma[nlocal] (compute tnace/grade).
  void compute_grade(double *gamma, int groupbit);

 protected:
  // Everything one thread needs for its share of the atom loop. Allocated and grown outside the loop
  // (grow_threads), never per atom.
  struct ThreadData {
    tnace_workspace *ws = nullptr;    // libtnace per-atom scratch, owned by this thread only
    int ws_capacity = 0;              // neighbours ws is reserved for
    int nmax_neigh = 0;               // capacity of the gather buffers below
    double (*rij)[3] = nullptr;       // r_j - r_i of the gathered neighbours
    double (*dEdr)[3] = nullptr;      // dE_i/dr_ij from libtnace
    int *jspecies = nullptr;          // libtnace species of each gathered neighbour
    int *jindex = nullptr;            // LAMMPS local/ghost index of each gathered neighbour
    // accumulators of the threaded path (one thread writes straight into LAMMPS' arrays)
    int nmax_f = 0;                   // rows of f (local + ghost atoms)
    int nmax_vatom = 0;               // rows of vatom
    double (*f)[3] = nullptr;         // forces on local and ghost atoms
    double (*vatom)[6] = nullptr;     // per-atom virial of local and ghost atoms
    double eng = 0.0;                 // sum of E_i
    double virial[6] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    int fail_ii = -1;                 // first ilist position whose evaluation failed, -1 = none
  };

  tnace_potential *pot;    // loaded potential (read-only, shared by all threads)
  std::string potfile;     // path the potential was read from

  int *type2species;    // [ntypes+1] libtnace species of each atom type, -1 = NULL (not ours)
  double **cutsq_ij;    // [ntypes+1][ntypes+1] squared cutoff, centre type i, neighbour type j

  int nthreads_req;     // pair_style tnace threads N; 0 = the default of threads_to_use()
  ThreadData *thr;      // [nthr_alloc] per-thread data; thr[0] also serves the serial path
  int nthr_alloc;
  int nthr_logged;      // thread count last reported in the log (0 = none yet)

  void allocate();
  int threads_to_use() const;
  void grow_threads(int nthr, int maxjnum);
  void grow_thread_atoms(int nthr, bool need_vatom);
  void free_threads();
  void free_potential();
  int gather(int i, ThreadData &td);
  int compute_range(int iifrom, int iito, ThreadData &td, double (*fo)[3], double (*vo)[6],
                    double &eng, double *vir);
  void report_failure(int ii, const ThreadData &td);
  void error_one(const std::string &);
};

}    // namespace LAMMPS_NS

#endif
