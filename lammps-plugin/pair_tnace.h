/* -*- c++ -*- ----------------------------------------------------------
   pair_style tnace: tensor-network ACE potentials (libtnace) in LAMMPS.

   A thin adapter: the per-atom energy E_i and its derivatives dE_i/dr_ij
   come from tnace_atom_energy() (src/tnace.h); this class gathers the
   neighbours of each local atom from a full neighbour list, scatters the
   forces to i and to its (possibly ghost) neighbours and tallies energy
   and virial. Ghost forces are summed back by LAMMPS (newton_pair on).

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

 protected:
  tnace_potential *pot;    // loaded potential (read-only, shared by nothing else)
  tnace_workspace *ws;     // per-atom scratch of libtnace
  int ws_capacity;         // neighbours the workspace is reserved for
  std::string potfile;     // path the potential was read from

  int *type2species;    // [ntypes+1] libtnace species of each atom type, -1 = NULL (not ours)
  double **cutsq_ij;    // [ntypes+1][ntypes+1] squared cutoff, centre type i, neighbour type j

  // per-atom neighbour buffers, grown to the longest neighbour list seen
  int nmax_neigh;
  double (*rij)[3];     // r_j - r_i
  double (*dEdr)[3];    // dE_i/dr_ij from libtnace
  int *jspecies;        // libtnace species of each gathered neighbour
  int *jindex;          // LAMMPS local/ghost index of each gathered neighbour

  void allocate();
  void grow_neigh_buffers(int);
  void reserve_workspace(int);
  void free_potential();
  void error_one(const std::string &);
};

}    // namespace LAMMPS_NS

#endif
