/*
 * fit.h — fitting the MPS cores of a potential to DFT energies, forces and stresses by alternating least
 * squares sweeps (one-site DMRG) in mixed-canonical gauge.
 *
 * Every prediction (total energy, force component, virial component) is linear in each core, so with all
 * other cores fixed the fit of one core is a ridge regression. The rows are built through the channel
 * maps: within copy k of a term, every prediction is linear in U^(k) = S N L (tn.h), and the U^(k)-rows do
 * not depend on copy k's own cores, so one data pass per copy yields the rows for its three cores; each
 * core maps them to its own coordinates (vec U = M_s vec core_s) and solves
 *     (Jᵀ W J + λ I) x = Jᵀ W y'      (dsyrk + dposv, dsyevd fallback)
 * with y' the reference minus the prediction of everything but this core. Force rows come from the
 * tangent (forward-over-reverse) contraction of each neighbour pair of a sampled atom; virial rows from
 * one strain tangent per atom. In mixed-canonical gauge (cores left of the centre left-orthonormal, right
 * of it right-orthonormal, moved with QR / LQ) the local ridge penalty equals the global ‖W‖².
 *
 * Loss (per sweep, reported):  κ_E ⟨(ΔE/N)²⟩ + κ_F ⟨ΔF²⟩ + κ_σ ⟨(V Δσ / N)²⟩ + λ ‖W‖²
 * with ⟨⟩ weighted means over structures (energies, stresses) and force components.
 */
#ifndef TNACE_FIT_H
#define TNACE_FIT_H

#include <stdio.h>
#include "dataset.h"
#include "evalstats.h"
#include "model.h"

#define TNACE_FIT_MAX_CT 64

/* What tnace_fit reports after each sweep (final = 0) and once at the end (final = 1, sweep = the kept
 * sweep, metrics of the kept potential). */
typedef struct {
  int sweep, final, is_best;
  double lambda, elapsed_s;
  const tnace_metrics *train, *valid;   /* valid has n_struct = 0 without validation data */
} tnace_sweep_info;

typedef struct {
  double kappa_e, kappa_f, kappa_s;   /* loss weights (energy per atom, force component, virial per atom) */
  double lambda;                      /* final ridge λ on ‖W‖² */
  double lambda_start;                /* first sweep's λ; annealed geometrically to lambda */
  int anneal_sweeps;                  /* sweeps over which λ decreases */
  int max_sweeps;
  int patience;                       /* stop after this many sweeps without validation improvement */
  double force_fraction;              /* fraction of atoms per structure whose forces give rows (≥ 1 atom) */
  unsigned long long seed;
  int n_threads;                      /* 0: OpenMP default */
  int fit_e0;                         /* 1: fit E0 per element by least squares on energies first */
  double max_rows_mb;                 /* memory budget for stored rows (MB) */
  int chi_start;                      /* > 0: start with bonds capped at chi_start and double them every
                                         grow_every sweeps (subspace expansion, then one-site refits) up to
                                         the potential's bonds; 0: fit at full bonds from the start */
  int grow_every;
  double species_shrink;              /* μ ≥ 0: ridge on the interaction of centre and neighbour species in every
                                         term's weights (fit_solve.c add_species_shrink, issue #13); 0: off */
  int n_ct;                           /* per-config_type weights */
  char ct_name[TNACE_FIT_MAX_CT][64];
  double ct_weight[TNACE_FIT_MAX_CT][3];   /* extra weight of the energy, forces and stress of that config_type */
  void (*on_sweep)(const tnace_sweep_info *info, void *ctx);   /* optional progress callback */
  void *on_sweep_ctx;
  int first_sweep;                    /* 0 or 1: a new fit; k > 1: continue one (tnace-fit --resume) at sweep k,
                                         with λ of the absolute sweep number */
  int start_is_candidate;             /* 1: the starting cores and E0 (--init, --resume) compete for the kept
                                         sweep: evaluated and reported as sweep first_sweep − 1 before the first
                                         sweep; no initial E0 least squares (E0 is still refined per sweep) */
} tnace_fit_opts;

/* Defaults: κ_E 1, κ_F 0.01, κ_σ 0.01, λ 1e-6 annealed from 1e-2 over 3 sweeps, 10 sweeps, patience 3,
 * force_fraction 0.25, seed 1, fit_e0 1, max_rows_mb 4000, chi_start 0 (no growth), grow_every 2. */
void tnace_fit_opts_default(tnace_fit_opts *o);

/* Randomise the cores of every term (seeded), bring each MPS into right-canonical form and zero its
 * centre core, so an unfitted term predicts 0 and every core's rows are well scaled. */
int tnace_fit_init(tnace_potential *pot, unsigned long long seed, char *err, size_t errlen);

/* Bytes of one stored least-squares row of tnace_fit for this model: the U-space columns of every chain and
 * centre species at the widest copy level, the widest site's columns, E0, target and weight (doubles). The
 * fit keeps the rows of fit.max_rows_mb / this many rows in memory at once; with more rows it streams them in
 * chunks and rebuilds them for each of the three sites of a copy (about 3x the row passes). pot at its
 * final bonds; read only. */
double tnace_fit_row_bytes(const tnace_potential *pot);

/* Fit pot's E0 (optionally) and cores to `train`, reporting one line per sweep to `log` (may be NULL)
 * with train and validation errors. Keeps the cores of the sweep with the lowest validation loss (the
 * training loss when `valid` is NULL or empty). Metrics of the kept potential are returned in
 * *train_m / *valid_m (may be NULL). Deterministic for a given seed and thread count.
 * Returns 0 or a TNACE_ERR_* code with a message. */
int tnace_fit(tnace_potential *pot, const tnace_dataset *train, const tnace_dataset *valid, const tnace_fit_opts *o,
              FILE *log, tnace_metrics *train_m, tnace_metrics *valid_m, char *err, size_t errlen);

#endif
