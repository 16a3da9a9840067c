/*
 * test_cv.c — k-fold cross-validation (src/fit/cv.h):
 *   - folds: stratified (every config_type split floor/ceil over the folds), balanced, deterministic per seed,
 *     a different seed gives another assignment; bad k refused;
 *   - views: train and test partition the dataset in order, test_index points back;
 *   - the table: mean ± s.e. over folds equal a hand computation from the per-structure errors, pooled MAE
 *     equals the mean over all structures; a fold added twice or a wrong index is refused;
 *   - honesty: a fold's held-out predictions do not change when the held-out reference data are changed
 *     (the fit never sees them), while changing a training structure's data does change them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cv.h"
#include "fitconfig.h"
#include "testutil.h"

/* n isolated single-atom structures, with config_type names[i % ...] as given and energies. */
static void make_dataset(tnace_dataset *ds, int n, const char *const *ct) {
  memset(ds, 0, sizeof *ds);
  ds->s = calloc((size_t)n, sizeof *ds->s);
  const double cell[3][3] = {{20, 0, 0}, {0, 20, 0}, {0, 0, 20}};
  const int pbc[3] = {1, 1, 1}, sp = 0;
  const double pos[1][3] = {{1, 2, 3}};
  char err[256];
  for (int i = 0; i < n; i++) {
    CHECK(tnace_struct_build(&ds->s[i], 1, &sp, pos, cell, pbc, 4.0, "synthetic", err, sizeof err) == 0, "%s", err);
    snprintf(ds->s[i].config_type, sizeof ds->s[i].config_type, "%s", ct[i]);
    snprintf(ds->s[i].source, sizeof ds->s[i].source, "synthetic:%d", i);
    ds->s[i].has_energy = 1;
    ds->s[i].energy = -1.0 - 0.01 * i;
  }
  ds->n = n;
}

static const char *groups[4] = {"bulk", "surface", "", "vacancy"};
static const int group_size[4] = {7, 3, 12, 1};

static void test_folds(void) {
  const char *ct[23];
  int n = 0;
  for (int g = 0; g < 4; g++)
    for (int j = 0; j < group_size[g]; j++) ct[n++] = groups[g];
  /* interleave the groups in the file order, as real data are */
  const char *mixed[23];
  for (int i = 0; i < n; i++) mixed[i] = ct[(i * 7) % n];
  tnace_dataset ds;
  make_dataset(&ds, n, mixed);
  char err[256];
  for (int k = 2; k <= 5; k++) {
    int fold[23], fold2[23], cnt[5] = {0};
    CHECK(tnace_cv_folds(&ds, k, 11, fold, err, sizeof err) == 0, "%s", err);
    CHECK(tnace_cv_folds(&ds, k, 11, fold2, err, sizeof err) == 0, "%s", err);
    CHECK(!memcmp(fold, fold2, sizeof fold), "k %d: not deterministic", k);
    for (int i = 0; i < n; i++) {
      CHECK(fold[i] >= 0 && fold[i] < k, "k %d: fold %d", k, fold[i]);
      cnt[fold[i]]++;
    }
    int lo = n, hi = 0;
    for (int f = 0; f < k; f++) { lo = cnt[f] < lo ? cnt[f] : lo; hi = cnt[f] > hi ? cnt[f] : hi; }
    CHECK(hi - lo <= 1, "k %d: fold sizes %d..%d", k, lo, hi);
    for (int g = 0; g < 4; g++)
      for (int f = 0; f < k; f++) {
        int m = 0;
        for (int i = 0; i < n; i++) m += fold[i] == f && !strcmp(mixed[i], groups[g]);
        CHECK(m == group_size[g] / k || m == (group_size[g] + k - 1) / k, "k %d group '%s' fold %d: %d of %d", k,
              groups[g], f, m, group_size[g]);
      }
    CHECK(tnace_cv_folds(&ds, k, 12, fold2, err, sizeof err) == 0, "%s", err);
    CHECK(memcmp(fold, fold2, sizeof fold) != 0, "k %d: seeds 11 and 12 gave the same folds", k);
  }
  int fold[23];
  CHECK(tnace_cv_folds(&ds, 1, 1, fold, err, sizeof err) == TNACE_ERR_VALUE, "k = 1 accepted");
  CHECK(tnace_cv_folds(&ds, 24, 1, fold, err, sizeof err) == TNACE_ERR_VALUE && strstr(err, "24 folds of 23"),
        "k > n: %s", err);
  tnace_dataset_free(&ds);
}

static void test_views_and_table(void) {
  const char *ct[10] = {"a", "b", "a", "b", "a", "b", "a", "b", "a", "a"};
  tnace_dataset ds;
  make_dataset(&ds, 10, ct);
  char err[256];
  tnace_cv cv;
  const int k = 3;
  CHECK(tnace_cv_init(&cv, &ds, k, 5, err, sizeof err) == 0, "%s", err);
  double fold_mae[3] = {0}, fold_sq[3] = {0}, all_abs = 0;
  int fold_n[3] = {0};
  for (int f = 0; f < k; f++) {
    tnace_dataset tr, te;
    int tix[10];
    CHECK(tnace_cv_view(&ds, cv.fold, f, &tr, &te, tix) == 0, "view");
    CHECK(tr.n + te.n == ds.n, "fold %d: %d + %d", f, tr.n, te.n);
    CHECK(tnace_cv_fold_size(&cv, f) == te.n, "fold %d: size %d, view %d", f, tnace_cv_fold_size(&cv, f), te.n);
    for (int j = 0; j < te.n; j++) {
      CHECK(!strcmp(te.s[j].source, ds.s[tix[j]].source) && cv.fold[tix[j]] == f, "test_index");
      if (j) CHECK(tix[j] > tix[j - 1], "order");
    }
    for (int j = 0; j < tr.n; j++) {
      const int idx = atoi(strchr(tr.s[j].source, ':') + 1);
      CHECK(cv.fold[idx] != f, "train holds a test structure");
    }
    tnace_eval_pred pred[10];
    double fz[10][3] = {{0}};
    memset(pred, 0, sizeof pred);
    for (int j = 0; j < 10; j++) pred[j].forces = &fz[j];
    for (int j = 0; j < te.n; j++) {
      const double d = 0.001 * (1 + tix[j]) * (tix[j] % 2 ? -1 : 1);   /* eV per atom (n = 1) */
      pred[j].energy = te.s[j].energy + d;
      fold_mae[f] += fabs(d) * 1000;
      fold_sq[f] += d * d * 1e6;
      all_abs += fabs(d) * 1000;
      fold_n[f]++;
    }
    const tnace_cv_foldinfo info = {tr.n, 0, te.n, 1, 0.5};
    int bad[10];
    memcpy(bad, tix, sizeof bad);
    bad[0] = tr.n ? atoi(strchr(tr.s[0].source, ':') + 1) : 0;   /* a structure of another fold */
    const long before = cv.pooled.all.n_struct;
    CHECK(tnace_cv_add_fold(&cv, f, &te, bad, pred, &info, err, sizeof err) == TNACE_ERR_ARG, "wrong index accepted");
    CHECK(cv.done[f] == 0 && cv.pooled.all.n_struct == before, "a refused fold left a trace");
    CHECK(tnace_cv_add_fold(&cv, f, &te, tix, pred, &info, err, sizeof err) == 0, "%s", err);
    CHECK(tnace_cv_add_fold(&cv, f, &te, tix, pred, &info, err, sizeof err) == TNACE_ERR_ARG, "fold added twice");
    tnace_dataset_view_free(&tr);
    tnace_dataset_view_free(&te);
  }
  double m = 0, ss = 0;
  for (int f = 0; f < k; f++) m += fold_mae[f] / fold_n[f] / k;
  for (int f = 0; f < k; f++) ss += (fold_mae[f] / fold_n[f] - m) * (fold_mae[f] / fold_n[f] - m);
  double mean, se;
  int nf;
  tnace_cv_mean_se(&cv, NULL, 'e', 0, &mean, &se, &nf);
  CHECK(nf == k, "n_folds %d", nf);
  CHECK_CLOSE(mean, m, 1e-12);
  CHECK_CLOSE(se, sqrt(ss / (k - 1) / k), 1e-12);
  double rm = 0;
  for (int f = 0; f < k; f++) rm += sqrt(fold_sq[f] / fold_n[f]) / k;
  tnace_cv_mean_se(&cv, NULL, 'e', 1, &mean, &se, NULL);
  CHECK_CLOSE(mean, rm, 1e-12);
  const tnace_errstat pooled = tnace_errsum_stat(&cv.pooled.all);
  CHECK_CLOSE(pooled.e_mae, all_abs / ds.n, 1e-12);
  for (int j = 0; j < ds.n; j++) CHECK(cv.st[j].fold == cv.fold[j] && isfinite(cv.st[j].e_err), "structure %d", j);
  tnace_cv_mean_se(&cv, NULL, 'f', 0, &mean, &se, &nf);
  CHECK(isnan(mean) && nf == 0, "forces without forces: %g", mean);
  tnace_cv_mean_se(&cv, "b", 'e', 0, &mean, &se, &nf);
  CHECK(nf == k && isfinite(mean), "group b: %d folds", nf);
  FILE *f = tmpfile();
  CHECK(tnace_cv_write_json(f, &cv, &ds, 0) == 0 && tnace_cv_write_table(f, &cv) == 0, "write");
  fclose(f);
  tnace_cv_free(&cv);
  tnace_dataset_free(&ds);
}

/* Held-out energies and forces of fold `fold` of the tiny Cu data (config tests/data/fitconfig/tiny.yaml). */
static void fold_predictions(const tnace_fitconfig *cfg, const tnace_dataset *ds, int fold, double *out) {
  tnace_cv cv;
  char err[512];
  CHECK(tnace_cv_init(&cv, ds, 4, cfg->split_seed, err, sizeof err) == 0, "%s", err);
  CHECK(tnace_cv_fit_fold(&cv, fold, cfg, ds, NULL, NULL, err, sizeof err) == 0, "%s", err);
  for (int j = 0; j < ds->n; j++) out[j] = cv.st[j].fold == fold ? cv.st[j].e_err + 1000.0 * ds->s[j].energy / ds->s[j].n : NAN;
  tnace_cv_free(&cv);
}

static void test_honest(void) {
  tnace_fitconfig cfg;
  char err[512];
  const char *path = TNACE_SOURCE_DIR "/tests/data/fitconfig/tiny.yaml";
  if (tnace_fitconfig_read(path, &cfg, err, sizeof err)) {
    CHECK(0, "%s", err);
    return;
  }
  cfg.opts.max_sweeps = 2;
  cfg.opts.n_threads = 1;
  tnace_dataset ds = {0};
  CHECK(tnace_dataset_read(&ds, cfg.train[0].path, cfg.n_el, (const char(*)[4])cfg.elem, 4.5, 0, err, sizeof err) == 0,
        "%s", err);
  double p0[64], p1[64], p2[64];
  fold_predictions(&cfg, &ds, 1, p0);
  int fold[64], changed_test = 0, changed_train = 0;
  CHECK(tnace_cv_folds(&ds, 4, cfg.split_seed, fold, err, sizeof err) == 0, "%s", err);
  for (int j = 0; j < ds.n; j++)   /* change every held-out reference energy and force */
    if (fold[j] == 1) {
      ds.s[j].energy += 3.0 * ds.s[j].n;
      ds.s[j].forces[0][0] += 5.0;
    }
  fold_predictions(&cfg, &ds, 1, p1);
  for (int j = 0; j < ds.n; j++) changed_test += fold[j] == 1 && fabs(p1[j] - p0[j]) > 1e-9;   /* rounding of e_err + E_ref */
  CHECK(changed_test == 0, "held-out predictions changed with held-out data: %d structures", changed_test);
  for (int j = 0; j < ds.n; j++)   /* change one training structure: the predictions must move */
    if (fold[j] != 1) {
      ds.s[j].energy += 0.5 * ds.s[j].n;
      break;
    }
  fold_predictions(&cfg, &ds, 1, p2);
  for (int j = 0; j < ds.n; j++) changed_train += fold[j] == 1 && fabs(p2[j] - p1[j]) > 1e-9;
  CHECK(changed_train > 0, "held-out predictions did not react to a change of the training data");
  tnace_dataset_free(&ds);
  tnace_fitconfig_free(&cfg);
}

int main(void) {
  test_folds();
  test_views_and_table();
  test_honest();
  return test_summary("test_cv");
}
