/*
 * cv.h — k-fold cross-validation of a fit: fold assignment stratified by config_type, shallow train/test
 * views of one dataset, and the collection of every held-out prediction into a CV table (mean ± standard
 * error over folds, and pooled, per quantity and per config_type) written as JSON and as text.
 *
 * Why: a 10 % validation split of a 200-structure training set holds ~20 structures, too few to rank models
 * (differences between candidates sit within one standard error). With k folds every structure is predicted
 * once by a model that never saw it, and the spread over folds gives the standard error of the estimate.
 *
 * Definitions (per quantity q ∈ {energy meV/atom, force component eV/Å, stress component GPa}, and per
 * config_type group, exactly as evalstats.h defines MAE and RMSE):
 *   fold value   MAE_i, RMSE_i on the held-out structures of fold i
 *   mean ± s.e.  m = (1/F) Σ_i MAE_i,  s.e. = sd(MAE_i) / √F  (sd with F − 1), F = folds with a value of q
 *   pooled       MAE, RMSE over the union of all held-out predictions (every structure once)
 * The per-structure held-out errors are kept too, so that two candidates fitted with the same folds can be
 * compared pairwise (potentials/checks/cv_compare.py).
 *
 * No global state. The views share the structures of the dataset they were made from: free them with
 * tnace_dataset_view_free (never tnace_dataset_free), before the dataset itself.
 */
#ifndef TNACE_CV_H
#define TNACE_CV_H

#include <stdio.h>
#include "dataset.h"
#include "evalstats.h"
#include "fitconfig.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Assign each structure of ds to one of k folds, stratified by config_type: the structures of each group
 * (groups in name order) are shuffled with a seeded Fisher–Yates (splitmix64 from `seed`) and dealt to the
 * folds in turn, the turn carrying over from one group to the next. So each group of m structures has
 * floor(m/k) or ceil(m/k) in every fold, and fold sizes differ by at most one. The result depends only on
 * (the config_types in order, k, seed). fold: [ds->n] receives 0..k−1.
 * Returns 0, TNACE_ERR_VALUE (k < 2 or k > ds->n: "cannot make K folds of N structures") or
 * TNACE_ERR_NOMEM, with a message. */
int tnace_cv_folds(const tnace_dataset *ds, int k, unsigned long long seed, int *fold, char *err, size_t errlen);

/* The structures of ds ordered by config_type (groups in name order; structures without one form the group
 * TNACE_EVAL_NO_CONFIG_TYPE), shuffled within each group by a seeded Fisher–Yates (splitmix64 from seed).
 * order: [ds->n] receives the indices. The folds and the stratified validation split deal from this order.
 * Returns 0 or TNACE_ERR_NOMEM with a message. */
int tnace_cv_group_order(const tnace_dataset *ds, unsigned long long seed, int *order, char *err, size_t errlen);

/* Shallow views: *train gets the structures of `all` with fold[j] != i, *test those with fold[j] == i, both
 * in the order of `all`; test_index (may be NULL) [all->n] receives the index in `all` of each test
 * structure. The structures are shared, not copied. Returns 0 or TNACE_ERR_NOMEM (then both views are
 * empty). */
int tnace_cv_view(const tnace_dataset *all, const int *fold, int i, tnace_dataset *train, tnace_dataset *test,
                  int *test_index);

/* Free a view's array (not the structures it shares) and empty it. NULL allowed. */
void tnace_dataset_view_free(tnace_dataset *v);

/* One structure's held-out errors. */
typedef struct {
  int fold;                 /* −1 until its fold was added */
  double e_err;             /* (E_pred − E_ref) / N, meV/atom; NaN without a reference energy */
  double f_mae;             /* mean |ΔF| over its components, eV/Å; NaN without forces */
  int n_f;                  /* force components */
} tnace_cv_struct;

/* What one fold's fit reported. */
typedef struct {
  int n_train, n_valid, n_test;   /* structures fitted, used for early stopping, held out */
  int kept_sweep;
  double fit_time_s;
} tnace_cv_foldinfo;

/* A cross-validation in progress or done. */
typedef struct {
  int k, n;                       /* folds; structures of the dataset folded */
  unsigned long long seed;
  int *fold;                      /* [n] the assignment */
  int *done;                      /* [k] 1 once the fold was added */
  tnace_cv_foldinfo *info;        /* [k] */
  tnace_evalstats *per_fold;      /* [k] held-out errors of each fold */
  tnace_evalstats pooled;         /* every held-out prediction */
  tnace_cv_struct *st;            /* [n] */
} tnace_cv;

/* Start a CV of the n structures of ds with k folds (tnace_cv_folds with seed). Returns 0 or the code of
 * tnace_cv_folds / TNACE_ERR_NOMEM with a message; on error *cv holds nothing. */
int tnace_cv_init(tnace_cv *cv, const tnace_dataset *ds, int k, unsigned long long seed, char *err, size_t errlen);
void tnace_cv_free(tnace_cv *cv);

/* Structures held out in fold i. */
int tnace_cv_fold_size(const tnace_cv *cv, int i);

/* Add the predictions pred [test->n] (all with status 0) of fold i's fitted potential on its held-out view
 * `test` (made by tnace_cv_view with test_index). Returns 0, TNACE_ERR_ARG (bad fold, fold already added,
 * failed prediction, index out of range) or TNACE_ERR_NOMEM, with a message. */
int tnace_cv_add_fold(tnace_cv *cv, int i, const tnace_dataset *test, const int *test_index,
                      const tnace_eval_pred *pred, const tnace_cv_foldinfo *info, char *err, size_t errlen);

/* Mean and standard error over the folds added of one group's MAE or RMSE for one quantity.
 * group: NULL for all structures, else a config_type ("" = TNACE_EVAL_NO_CONFIG_TYPE). quantity: 'e', 'f'
 * or 's'; rmse: 0 for MAE, 1 for RMSE. *n_folds gets the number of folds with a value (may be NULL);
 * s.e. is NaN with fewer than two, and both are NaN with none. */
void tnace_cv_mean_se(const tnace_cv *cv, const char *group, char quantity, int rmse, double *mean, double *se,
                      int *n_folds);

/* Fit fold i exactly as tnace-fit fits the whole training set, with the training pool replaced by the
 * structures of `all` outside fold i (cv was made from `all`): a fresh potential from cfg
 * (tnace_fitconfig_make_potential), E0 from the isolated atoms of the fold's training part for
 * e0: isolated, tnace_fit_init and tnace_fit with cfg->opts, early stopping on `valid` when it holds
 * structures (the config's validation files), else on a cfg->valid_fraction split (seed cfg->split_seed) of
 * the fold's training part, else none. The held-out fold is used for nothing but the prediction that is
 * added to cv, so the CV estimate is that of the whole procedure. log: the fit's sweep lines (may be NULL).
 * Returns 0 or the first error's code with its message. */
int tnace_cv_fit_fold(tnace_cv *cv, int i, const tnace_fitconfig *cfg, const tnace_dataset *all,
                      const tnace_dataset *valid, FILE *log, char *err, size_t errlen);

/* Write the CV as the value of a JSON key (an object, no trailing newline), indented by `indent` spaces:
 *   {"k", "seed", "stratified_by": "config_type", "folds_done": [...],
 *    "units": {...}, "overall": G, "per_config_type": {NAME: G, ...},
 *    "folds": [{"fold", "n_train", "n_valid", "n_test", "kept_sweep", "fit_time_s", "energy": {mae, rmse, n},
 *               "forces": ..., "stress": ...}, ...],
 *    "structures": [{"source", "config_type", "n_atoms", "fold", "e_err", "f_mae", "n_f"}, ...]}
 * with G = {"n_structures", "energy": Q | null, "forces": Q | null, "stress": Q | null} and
 * Q = {"mae_mean", "mae_se", "rmse_mean", "rmse_se", "n_folds", "mae_pooled", "rmse_pooled", "n"}.
 * ds: the dataset folded (for sources and config_types); NULL leaves "structures" out. Numbers "%.10g", non-finite → null. Returns 0 or
 * TNACE_ERR_IO if the stream reports an error. */
int tnace_cv_write_json(FILE *f, const tnace_cv *cv, const tnace_dataset *ds, int indent);

/* Write the table: one row "overall" then one per config_type, columns group, structures, then for energy,
 * forces and stress "MAE mean ± s.e." over the folds (meV/atom, eV/Å, GPa). Returns 0 or TNACE_ERR_IO. */
int tnace_cv_write_table(FILE *f, const tnace_cv *cv);

#ifdef __cplusplus
}
#endif
#endif
