/*
 * fit_report.h — what a fit leaves behind besides the cores: the per-sweep history (recorded through
 * tnace_fit's progress callback), the provenance metadata stored in the potential file, the JSON metrics
 * file, and the plain-text summary of model and data that tnace-fit prints before fitting. Formats:
 * docs/fit-config.md (metrics file) and docs/potential-format.md (metadata). No global state.
 */
#ifndef TNACE_FIT_REPORT_H
#define TNACE_FIT_REPORT_H

#include <stdio.h>

#include "cv.h"
#include "dataset.h"
#include "fit.h"
#include "fitconfig.h"
#include "model.h"

/* One sweep as tnace_fit reported it: RMSEs in meV/atom (energy), meV/Å (forces), GPa (stress). */
typedef struct {
  int sweep;
  double lambda, e_trn, e_val, f_trn, f_val, s_trn, s_val, time_s;
  int best;
} tnace_sweep_rec;

/* The sweeps of a fit, in order; kept = the sweep tnace_fit kept (0 until the final report). */
typedef struct {
  tnace_sweep_rec *rec;
  int n_rec, cap_rec, kept;
  int nomem;               /* a record could not be stored (out of memory) */
} tnace_fit_history;

/* tnace_fit_opts.on_sweep callback: appends to the tnace_fit_history passed as ctx. */
void tnace_fit_history_record(const tnace_sweep_info *si, void *ctx);
void tnace_fit_history_free(tnace_fit_history *h);

/* What one data file gave. */
typedef struct {
  const char *path;        /* as opened */
  int n_struct, n_atoms, n_skipped, n_empty;   /* n_empty: frames of 0 atoms skipped */
} tnace_file_stat;

/* A finished fit, as the reports describe it. files: [cfg->n_train] training files then [cfg->n_valid]
 * validation files. */
typedef struct {
  const tnace_fitconfig *cfg;
  const char *config_path, *potential_path;
  const char *command_line;            /* may be NULL */
  const char *date;                    /* ISO 8601 UTC */
  const tnace_dataset *train, *valid;
  const tnace_file_stat *files;
  int split;                           /* the validation set was split off the training data */
  double fit_time_s;                   /* wall clock */
  tnace_metrics train_m, valid_m;      /* errors of the kept potential */
  const tnace_fit_history *history;
  const tnace_cv *cv;                  /* cross-validation run before the fit, or NULL */
  const tnace_evalstats *groups_train, *groups_valid;   /* per config_type errors of the kept potential, or NULL */
} tnace_fit_record;

/* The provenance metadata of a fitted potential: the config's own `metadata` entries, then generator,
 * version, date, command line, E0 mode, the config as written (fit_config), datasets (files, structure and
 * atom counts, split), errors, the cross-validation MAEs (mean and s.e. over folds, when r->cv is set),
 * parameter count, the bonds of every term and species, fit time and sweeps.
 * *out: a new map (free with tnace_meta_free). Returns 0 or TNACE_ERR_NOMEM. */
int tnace_fit_metadata(const tnace_fit_record *r, const tnace_potential *pot, tnace_meta **out);

/* Write the JSON metrics file (generator, version, date, config, potential, n_params, fit time, train and
 * validation errors of the kept potential, kept sweep, per-sweep history, and "cross_validation" (the CV
 * table of tnace_cv_write_json without the per-structure list) when r->cv is set; numbers "%.10g", null
 * where a quantity is absent). Returns 0 or TNACE_ERR_IO with "cannot write '<path>': <reason>". */
int tnace_fit_write_metrics(const char *path, const tnace_fit_record *r, long n_params, char *err, size_t errlen);

/* The summary printed before a fit: model (elements, cutoff, radial λ, r_min, repulsion, E0, every term's
 * shape and bonds, parameters) and data (files, split, structures and atoms per config_type in training
 * and validation). e0_iso: E0 from isolated atoms (used with e0: isolated). */
void tnace_fit_print_summary(FILE *out, const tnace_fit_record *r, const tnace_potential *pot, const double *e0_iso);

#endif
