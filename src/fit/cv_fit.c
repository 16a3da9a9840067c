/*
 * cv_fit.c — one fold of a cross-validation, fitted as tnace-fit fits the whole set. See cv.h.
 */
#include <stdlib.h>
#include <string.h>

#include "cv.h"
#include "fit_report.h"
#include "fit_setup.h"
#include "util.h"

/* The fold's potential fitted to train (early stopping on valid), its kept sweep in *kept. */
static int fit_part(const tnace_fitconfig *cfg, const tnace_dataset *train, const tnace_dataset *valid, FILE *log,
                    tnace_potential **pot, int *kept, char *err, size_t errlen) {
  int rc = tnace_fitconfig_make_potential(cfg, pot, err, errlen);
  if (rc) return rc;
  if (cfg->e0_mode == TNACE_E0_ISOLATED) {
    double e0[TNACE_MAX_ELEMENTS];
    if ((rc = tnace_fitconfig_isolated_e0(train, cfg->n_el, (const char(*)[4])cfg->elem, e0, NULL, err, errlen)))
      return rc;
    for (int s = 0; s < cfg->n_el; s++) (*pot)->e0[s] = e0[s];
  }
  tnace_fit_history hist = {0};
  tnace_fit_opts o = cfg->opts;
  o.on_sweep = tnace_fit_history_record;
  o.on_sweep_ctx = &hist;
  rc = tnace_fit_init(*pot, o.seed, err, errlen);
  if (!rc) rc = tnace_fit(*pot, train, valid, &o, log, NULL, NULL, err, errlen);
  *kept = hist.kept;
  tnace_fit_history_free(&hist);
  return rc;
}

int tnace_cv_fit_fold(tnace_cv *cv, int i, const tnace_fitconfig *cfg, const tnace_dataset *all,
                      const tnace_dataset *valid, FILE *log, char *err, size_t errlen) {
  if (i < 0 || i >= cv->k || all->n != cv->n) {
    snprintf(err, errlen, "fold %d: no such fold of this dataset", i);
    return TNACE_ERR_ARG;
  }
  tnace_dataset tr, te, va = {0};
  tnace_potential *pot = NULL;
  tnace_eval_pred *pred = NULL;
  int *tix = malloc((size_t)(all->n > 0 ? all->n : 1) * sizeof *tix);
  int rc = tix ? tnace_cv_view(all, cv->fold, i, &tr, &te, tix) : TNACE_ERR_NOMEM;
  if (rc) {
    free(tix);
    snprintf(err, errlen, "out of memory");
    return rc;
  }
  const int own_split = !(valid && valid->n) && cfg->valid_fraction > 0;
  if (own_split) rc = tnace_fitconfig_split_data(cfg, &tr, &va, err, errlen);
  const tnace_dataset *es = own_split ? &va : valid;
  tnace_cv_foldinfo info = {tr.n, es ? es->n : 0, te.n, 0, 0.0};
  const double t0 = tnace_now_s();
  if (!rc) rc = fit_part(cfg, &tr, es, log, &pot, &info.kept_sweep, err, errlen);
  info.fit_time_s = tnace_now_s() - t0;
  if (!rc) rc = tnace_eval_predict(pot, &te, cfg->opts.n_threads, &pred, err, errlen);
  if (!rc) rc = tnace_cv_add_fold(cv, i, &te, tix, pred, &info, err, errlen);
  tnace_eval_pred_free(pred, te.n);
  tnace_potential_free(pot);
  tnace_dataset_view_free(&tr);
  tnace_dataset_view_free(&te);
  tnace_dataset_view_free(&va);
  free(tix);
  return rc;
}
