/*
 * cv.c — k-fold cross-validation: stratified folds, shallow views, the CV table. See cv.h.
 */
#include "cv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* qsort context-free: indices paired with their names */
typedef struct {
  const char *name;
  int index;
} named_index;

static int cmp_named(const void *a, const void *b) {
  const named_index *x = a, *y = b;
  const int c = strcmp(x->name, y->name);
  return c ? c : (x->index > y->index) - (x->index < y->index);
}

int tnace_cv_group_order(const tnace_dataset *ds, unsigned long long seed, int *order, char *err, size_t errlen) {
  const int n = ds->n;
  named_index *ix = malloc((size_t)(n > 0 ? n : 1) * sizeof *ix);
  if (!ix) { snprintf(err, errlen, "out of memory"); return TNACE_ERR_NOMEM; }
  for (int i = 0; i < n; i++) ix[i] = (named_index){tnace_eval_group_name(ds->s[i].config_type), i};
  qsort(ix, (size_t)n, sizeof *ix, cmp_named);
  unsigned long long state = seed;
  for (int g0 = 0; g0 < n;) {
    int g1 = g0 + 1;
    while (g1 < n && !strcmp(ix[g1].name, ix[g0].name)) g1++;
    for (int i = g1 - 1; i > g0; i--) {   /* Fisher–Yates within the group */
      const int j = g0 + (int)(tnace_splitmix64(&state) % (unsigned long long)(i - g0 + 1));
      const named_index t = ix[i];
      ix[i] = ix[j];
      ix[j] = t;
    }
    g0 = g1;
  }
  for (int i = 0; i < n; i++) order[i] = ix[i].index;
  free(ix);
  return 0;
}

int tnace_cv_folds(const tnace_dataset *ds, int k, unsigned long long seed, int *fold, char *err, size_t errlen) {
  const int n = ds ? ds->n : 0;
  if (k < 2 || k > n) {
    snprintf(err, errlen, "cannot make %d folds of %d structure%s (need 2 <= k <= the number of structures)", k, n,
             n == 1 ? "" : "s");
    return TNACE_ERR_VALUE;
  }
  int *order = malloc((size_t)n * sizeof *order);
  if (!order) { snprintf(err, errlen, "out of memory"); return TNACE_ERR_NOMEM; }
  const int rc = tnace_cv_group_order(ds, seed, order, err, errlen);
  for (int i = 0; !rc && i < n; i++) fold[order[i]] = i % k;   /* dealt in turn, carried over between groups */
  free(order);
  return rc;
}

int tnace_cv_view(const tnace_dataset *all, const int *fold, int i, tnace_dataset *train, tnace_dataset *test,
                  int *test_index) {
  memset(train, 0, sizeof *train);
  memset(test, 0, sizeof *test);
  const int n = all->n;
  train->s = malloc((size_t)(n > 0 ? n : 1) * sizeof *train->s);
  test->s = malloc((size_t)(n > 0 ? n : 1) * sizeof *test->s);
  if (!train->s || !test->s) {
    tnace_dataset_view_free(train);
    tnace_dataset_view_free(test);
    return TNACE_ERR_NOMEM;
  }
  for (int j = 0; j < n; j++) {
    if (fold[j] != i) { train->s[train->n++] = all->s[j]; continue; }
    if (test_index) test_index[test->n] = j;
    test->s[test->n++] = all->s[j];
  }
  return 0;
}

void tnace_dataset_view_free(tnace_dataset *v) {
  if (!v) return;
  free(v->s);
  memset(v, 0, sizeof *v);
}

/* ---- collection -------------------------------------------------------------------------------- */

void tnace_cv_free(tnace_cv *cv) {
  if (!cv) return;
  for (int i = 0; cv->per_fold && i < cv->k; i++) tnace_evalstats_free(&cv->per_fold[i]);
  tnace_evalstats_free(&cv->pooled);
  free(cv->per_fold);
  free(cv->fold);
  free(cv->done);
  free(cv->info);
  free(cv->st);
  memset(cv, 0, sizeof *cv);
}

int tnace_cv_init(tnace_cv *cv, const tnace_dataset *ds, int k, unsigned long long seed, char *err, size_t errlen) {
  memset(cv, 0, sizeof *cv);
  const int n = ds ? ds->n : 0;
  cv->k = k;
  cv->n = n;
  cv->seed = seed;
  cv->fold = malloc((size_t)(n > 0 ? n : 1) * sizeof *cv->fold);
  cv->st = malloc((size_t)(n > 0 ? n : 1) * sizeof *cv->st);
  cv->done = calloc((size_t)(k > 0 ? k : 1), sizeof *cv->done);
  cv->info = calloc((size_t)(k > 0 ? k : 1), sizeof *cv->info);
  cv->per_fold = calloc((size_t)(k > 0 ? k : 1), sizeof *cv->per_fold);
  if (!cv->fold || !cv->st || !cv->done || !cv->info || !cv->per_fold) {
    tnace_cv_free(cv);
    snprintf(err, errlen, "out of memory");
    return TNACE_ERR_NOMEM;
  }
  for (int j = 0; j < n; j++) cv->st[j] = (tnace_cv_struct){-1, NAN, NAN, 0};
  const int rc = tnace_cv_folds(ds, k, seed, cv->fold, err, errlen);
  if (rc) tnace_cv_free(cv);
  return rc;
}

int tnace_cv_fold_size(const tnace_cv *cv, int i) {
  int m = 0;
  for (int j = 0; j < cv->n; j++) m += cv->fold[j] == i;
  return m;
}

/* The per-structure held-out errors of structure s with prediction p: its evalstats sums. */
static tnace_cv_struct struct_errors(const tnace_struct *s, const tnace_eval_pred *p, int fold) {
  const tnace_eval_record rec = tnace_eval_record_of(s, p);
  const tnace_errsum one = tnace_errsum_of(&rec);
  tnace_cv_struct r = {fold, one.n_e ? one.e_sum : NAN, one.n_f ? one.f_abs / (double)one.n_f : NAN, (int)one.n_f};
  return r;
}

int tnace_cv_add_fold(tnace_cv *cv, int i, const tnace_dataset *test, const int *test_index,
                      const tnace_eval_pred *pred, const tnace_cv_foldinfo *info, char *err, size_t errlen) {
  if (i < 0 || i >= cv->k || cv->done[i]) {
    snprintf(err, errlen, "fold %d: %s", i, (i < 0 || i >= cv->k) ? "no such fold" : "already added");
    return TNACE_ERR_ARG;
  }
  for (int j = 0; j < test->n; j++) {
    const int a = test_index[j];
    if (a < 0 || a >= cv->n || cv->fold[a] != i || pred[j].status || !pred[j].forces) {
      snprintf(err, errlen, "fold %d: held-out structure %d: %s", i, j,
               (pred[j].status || !pred[j].forces) ? "its prediction failed" : "not in this fold");
      return TNACE_ERR_ARG;
    }
  }
  for (int j = 0; j < test->n; j++) {
    int rc = tnace_evalstats_add_struct(&cv->per_fold[i], &test->s[j], &pred[j]);
    if (!rc) rc = tnace_evalstats_add_struct(&cv->pooled, &test->s[j], &pred[j]);
    if (rc) {
      snprintf(err, errlen, "fold %d: %s", i, rc == TNACE_ERR_NOMEM ? "out of memory" : "a prediction without forces");
      return rc;
    }
    cv->st[test_index[j]] = struct_errors(&test->s[j], &pred[j], i);
  }
  cv->done[i] = 1;
  if (info) cv->info[i] = *info;
  return 0;
}

/* ---- summary ------------------------------------------------------------------------------------ */

static const tnace_errsum *group_sum(const tnace_evalstats *st, const char *group) {
  if (!group) return &st->all;
  const tnace_evalgroup *g = tnace_evalstats_find(st, group);
  return g ? &g->sum : NULL;
}

/* One quantity's MAE or RMSE of a group's statistics, NaN when absent. */
static double stat_value(const tnace_errstat *r, char q, int rmse) {
  switch (q) {
    case 'e': return r->n_e ? (rmse ? r->e_rmse : r->e_mae) : NAN;
    case 'f': return r->n_f ? (rmse ? r->f_rmse : r->f_mae) : NAN;
    default: return r->n_s ? (rmse ? r->s_rmse : r->s_mae) : NAN;
  }
}

/* Fold i's MAE or RMSE of one group and quantity, NaN when the fold is not done or has no such value. */
static double fold_value(const tnace_cv *cv, int i, const char *group, char quantity, int rmse) {
  const tnace_errsum *g = cv->done[i] ? group_sum(&cv->per_fold[i], group) : NULL;
  if (!g) return NAN;
  const tnace_errstat r = tnace_errsum_stat(g);
  return stat_value(&r, quantity, rmse);
}

void tnace_cv_mean_se(const tnace_cv *cv, const char *group, char quantity, int rmse, double *mean, double *se,
                      int *n_folds) {
  double s = 0, ss = 0;
  int m = 0;
  for (int i = 0; i < cv->k; i++) {
    const double x = fold_value(cv, i, group, quantity, rmse);
    if (!isnan(x)) { s += x; m++; }
  }
  *mean = m ? s / m : NAN;
  for (int i = 0; i < cv->k; i++) {   /* second pass: the variance about the mean */
    const double x = fold_value(cv, i, group, quantity, rmse);
    if (!isnan(x)) ss += (x - *mean) * (x - *mean);
  }
  if (n_folds) *n_folds = m;
  *se = m > 1 ? sqrt(ss / (m - 1) / m) : NAN;
}

/* ---- output ------------------------------------------------------------------------------------- */

static void json_num(FILE *f, double x) { tnace_json_write_number(f, x, 10); }

static void json_quantity(FILE *f, const tnace_cv *cv, const char *group, const tnace_errstat *pooled, char q) {
  const long n = q == 'e' ? pooled->n_e : q == 'f' ? pooled->n_f : pooled->n_s;
  if (!n) { fputs("null", f); return; }
  double mm, ms, rm, rs;
  int nf;
  tnace_cv_mean_se(cv, group, q, 0, &mm, &ms, &nf);
  tnace_cv_mean_se(cv, group, q, 1, &rm, &rs, NULL);
  const double x[6] = {mm, ms, rm, rs, stat_value(pooled, q, 0), stat_value(pooled, q, 1)};
  static const char *const key[6] = {"mae_mean", "mae_se", "rmse_mean", "rmse_se", "mae_pooled", "rmse_pooled"};
  fputc('{', f);
  for (int j = 0; j < 6; j++) {
    fprintf(f, "%s\"%s\": ", j ? ", " : "", key[j]);
    json_num(f, x[j]);
    if (j == 3) fprintf(f, ", \"n_folds\": %d", nf);
  }
  fprintf(f, ", \"n\": %ld}", n);
}

static void json_cv_group(FILE *f, const tnace_cv *cv, const char *group, const tnace_errsum *pooled) {
  const tnace_errstat r = tnace_errsum_stat(pooled);
  fprintf(f, "{\"n_structures\": %ld, \"energy\": ", r.n_struct);
  json_quantity(f, cv, group, &r, 'e');
  fputs(", \"forces\": ", f);
  json_quantity(f, cv, group, &r, 'f');
  fputs(", \"stress\": ", f);
  json_quantity(f, cv, group, &r, 's');
  fputc('}', f);
}

static void json_block(FILE *f, long n, double mae, double rmse) {
  if (!n) { fputs("null", f); return; }
  fputs("{\"mae\": ", f);
  json_num(f, mae);
  fputs(", \"rmse\": ", f);
  json_num(f, rmse);
  fprintf(f, ", \"n\": %ld}", n);
}

static void json_fold(FILE *f, const tnace_cv *cv, int i) {
  const tnace_cv_foldinfo *in = &cv->info[i];
  const tnace_errstat r = tnace_errsum_stat(&cv->per_fold[i].all);
  fprintf(f, "{\"fold\": %d, \"n_train\": %d, \"n_valid\": %d, \"n_test\": %d, \"kept_sweep\": %d, \"fit_time_s\": ",
          i, in->n_train, in->n_valid, in->n_test, in->kept_sweep);
  json_num(f, in->fit_time_s);
  fputs(", \"energy\": ", f);
  json_block(f, r.n_e, r.e_mae, r.e_rmse);
  fputs(", \"forces\": ", f);
  json_block(f, r.n_f, r.f_mae, r.f_rmse);
  fputs(", \"stress\": ", f);
  json_block(f, r.n_s, r.s_mae, r.s_rmse);
  fputc('}', f);
}

static void json_struct(FILE *f, const tnace_struct *s, const tnace_cv_struct *e) {
  fputs("{\"source\": ", f);
  tnace_json_write_string(f, s->source);
  fputs(", \"config_type\": ", f);
  tnace_json_write_string(f, tnace_eval_group_name(s->config_type));
  fprintf(f, ", \"n_atoms\": %d, \"fold\": %d, \"e_err\": ", s->n, e->fold);
  json_num(f, e->e_err);
  fputs(", \"f_mae\": ", f);
  json_num(f, e->f_mae);
  fprintf(f, ", \"n_f\": %d}", e->n_f);
}

int tnace_cv_write_json(FILE *f, const tnace_cv *cv, const tnace_dataset *ds, int indent) {
  const int w = indent;
  fprintf(f, "{\n%*s  \"k\": %d,\n%*s  \"seed\": %llu,\n%*s  \"stratified_by\": \"config_type\",\n%*s  \"folds_done\": [",
          w, "", cv->k, w, "", cv->seed, w, "", w, "");
  for (int i = 0, c = 0; i < cv->k; i++)
    if (cv->done[i]) fprintf(f, "%s%d", c++ ? ", " : "", i);
  fprintf(f, "],\n%*s  \"units\": {\"energy\": \"meV/atom\", \"forces\": \"eV/A\", \"stress\": \"GPa\"},\n", w, "");
  fprintf(f, "%*s  \"overall\": ", w, "");
  json_cv_group(f, cv, NULL, &cv->pooled.all);
  fprintf(f, ",\n%*s  \"per_config_type\": {", w, "");
  for (int g = 0; g < cv->pooled.n_groups; g++) {
    fprintf(f, "%s\n%*s    ", g ? "," : "", w, "");
    tnace_json_write_string(f, cv->pooled.g[g].name);
    fputs(": ", f);
    json_cv_group(f, cv, cv->pooled.g[g].name, &cv->pooled.g[g].sum);
  }
  if (cv->pooled.n_groups) fprintf(f, "\n%*s  ", w, "");
  fprintf(f, "},\n%*s  \"folds\": [", w, "");
  for (int i = 0, c = 0; i < cv->k; i++) {
    if (!cv->done[i]) continue;
    fprintf(f, "%s\n%*s    ", c++ ? "," : "", w, "");
    json_fold(f, cv, i);
  }
  fputc(']', f);
  if (ds) {
    fprintf(f, ",\n%*s  \"structures\": [", w, "");
    for (int j = 0; j < cv->n && j < ds->n; j++) {
      fprintf(f, "%s\n%*s    ", j ? "," : "", w, "");
      json_struct(f, &ds->s[j], &cv->st[j]);
    }
    fputc(']', f);
  }
  fprintf(f, "\n%*s}", w, "");
  return ferror(f) ? TNACE_ERR_IO : 0;
}

/* "mean ± se" of one group and quantity into buf, or "-". */
static const char *cell(char *buf, size_t len, const tnace_cv *cv, const char *group, char q) {
  double m, se;
  tnace_cv_mean_se(cv, group, q, 0, &m, &se, NULL);
  const char *fmt = q == 'e' ? "%.3f ± %.3f" : "%.4f ± %.4f";
  if (isnan(m)) snprintf(buf, len, "-");
  else if (isnan(se)) snprintf(buf, len, q == 'e' ? "%.3f" : "%.4f", m);
  else snprintf(buf, len, fmt, m, se);
  return buf;
}

static void table_row(FILE *f, const tnace_cv *cv, const char *name, const char *group, long n) {
  char b[3][48];
  fprintf(f, "%-24s %6ld  %-20s %-20s %-20s\n", name, n, cell(b[0], 48, cv, group, 'e'), cell(b[1], 48, cv, group, 'f'),
          cell(b[2], 48, cv, group, 's'));
}

int tnace_cv_write_table(FILE *f, const tnace_cv *cv) {
  int nd = 0;
  for (int i = 0; i < cv->k; i++) nd += cv->done[i];
  fprintf(f, "cross-validation: %d of %d folds, stratified by config_type; MAE of the held-out structures, mean ± "
             "standard error over folds\n", nd, cv->k);
  fprintf(f, "%-24s %6s  %-20s %-20s %-20s\n", "group", "n", "E (meV/atom)", "F (eV/A)", "S (GPa)");
  table_row(f, cv, "overall", NULL, cv->pooled.all.n_struct);
  for (int g = 0; g < cv->pooled.n_groups; g++)
    table_row(f, cv, cv->pooled.g[g].name, cv->pooled.g[g].name, cv->pooled.g[g].sum.n_struct);
  return ferror(f) ? TNACE_ERR_IO : 0;
}
