/*
 * evalstats.c — evaluation of a dataset with a potential, MAE/RMSE per config_type, JSON and table
 * output. See evalstats.h.
 */
#include "evalstats.h"
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Initial neighbour capacity of an evaluation workspace: tnace_struct_eval grows it per structure. */
#define WS_NEIGH0 64
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- evaluation ------------------------------------------------------------------------------- */

void tnace_eval_pred_free(tnace_eval_pred *p, int n) {
  if (!p) return;
  for (int i = 0; i < n; i++) {
    free(p[i].forces);
    free(p[i].error);
    free(p[i].grade);
  }
  free(p);
}

static char *dup_msg(const char *a, const char *b) {
  const size_t la = strlen(a), lb = strlen(b);
  char *m = malloc(la + lb + 3);
  if (!m) return NULL;
  memcpy(m, a, la);
  memcpy(m + la, ": ", 2);
  memcpy(m + la + 2, b, lb + 1);
  return m;
}

int tnace_eval_predict(const tnace_potential *pot, const tnace_dataset *ds, int n_threads, tnace_eval_pred **out,
                       char *err, size_t errlen) {
  if (!out) { snprintf(err, errlen, "tnace_eval_predict: NULL argument"); return TNACE_ERR_ARG; }
  *out = NULL;
  if (!pot || !ds || ds->n < 0 || (ds->n > 0 && !ds->s)) {
    snprintf(err, errlen, "tnace_eval_predict: NULL argument");
    return TNACE_ERR_ARG;
  }
  tnace_eval_pred *p = calloc((size_t)(ds->n > 0 ? ds->n : 1), sizeof *p);
  if (!p) { snprintf(err, errlen, "out of memory"); return TNACE_ERR_NOMEM; }
#ifdef _OPENMP
#pragma omp parallel num_threads(n_threads > 0 ? n_threads : omp_get_max_threads())
#else
  (void)n_threads;
#endif
  {
    tnace_workspace *ws = tnace_workspace_new(pot, WS_NEIGH0);
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
    for (int i = 0; i < ds->n; i++) {
      const tnace_struct *s = &ds->s[i];
      tnace_eval_pred *q = &p[i];
      if (!ws) { q->status = TNACE_ERR_NOMEM; q->error = dup_msg(s->source, "out of memory"); continue; }
      q->forces = malloc((size_t)(s->n > 0 ? s->n : 1) * sizeof *q->forces);
      if (!q->forces) { q->status = TNACE_ERR_NOMEM; q->error = dup_msg(s->source, "out of memory"); continue; }
      const int rc = tnace_struct_eval(pot, ws, s, &q->energy, q->forces, q->stress, NULL);
      if (rc) {
        q->status = rc;
        const char *m = tnace_workspace_error(ws);
        q->error = dup_msg(s->source, rc == TNACE_ERR_NOMEM ? "out of memory" : (m && m[0] ? m : "evaluation failed"));
        free(q->forces);
        q->forces = NULL;
      }
    }
    tnace_workspace_free(ws);
  }
  *out = p;
  for (int i = 0; i < ds->n; i++)
    if (p[i].status) {
      snprintf(err, errlen, "%s", p[i].error ? p[i].error : "out of memory");
      return p[i].status;
    }
  return 0;
}

/* ---- accumulation ----------------------------------------------------------------------------- */

void tnace_evalstats_init(tnace_evalstats *st) { memset(st, 0, sizeof *st); }

void tnace_evalstats_set_units(tnace_evalstats *st, const tnace_potential *pot) {
  const tnace_property *p = &pot->prop;
  if (!p->set) { st->e_unit[0] = 0; return; }
  snprintf(st->e_unit, sizeof st->e_unit, "m%s/", p->units);
  for (int k = 0; k < p->n_per || k == 0; k++) {
    const size_t l = strlen(st->e_unit);
    snprintf(st->e_unit + l, sizeof st->e_unit - l, "%s%s", k ? "+" : "", p->n_per ? pot->elem[p->per[k]] : "atom");
  }
}

void tnace_evalstats_free(tnace_evalstats *st) {
  if (!st) return;
  free(st->g);
  memset(st, 0, sizeof *st);
}

const char *tnace_eval_group_name(const char *ct) { return (ct && ct[0]) ? ct : TNACE_EVAL_NO_CONFIG_TYPE; }

/* Index of the group `name` (already mapped by tnace_eval_group_name, ≤ 63 bytes) or −(insertion point) − 1. */
static int group_search(const tnace_evalstats *st, const char *name) {
  int lo = 0, hi = st->n_groups;
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    const int c = strcmp(st->g[mid].name, name);
    if (c == 0) return mid;
    if (c < 0) lo = mid + 1; else hi = mid;
  }
  return -lo - 1;
}

const tnace_evalgroup *tnace_evalstats_find(const tnace_evalstats *st, const char *name) {
  if (!st || !st->g) return NULL;
  char key[64];
  snprintf(key, sizeof key, "%s", tnace_eval_group_name(name));
  const int k = group_search(st, key);
  return k >= 0 ? &st->g[k] : NULL;
}

static void sum_add(tnace_errsum *a, const tnace_errsum *b) {
  a->n_struct += b->n_struct;
  a->n_atoms += b->n_atoms;
  a->n_e += b->n_e;
  a->n_f += b->n_f;
  a->n_s += b->n_s;
  /* only the parts that are present (a NaN of an absent energy never enters) */
  if (b->n_e) { a->e_sum += b->e_sum; a->e_abs += b->e_abs; a->e_sq += b->e_sq; }
  a->f_abs += b->f_abs; a->f_sq += b->f_sq;
  a->s_abs += b->s_abs; a->s_sq += b->s_sq;
  if (b->n_g) {
    if (!a->n_g || b->g_max > a->g_max) a->g_max = b->g_max;
    a->n_g += b->n_g;
    for (int k = 0; k < 3; k++) a->n_g_above[k] += b->n_g_above[k];
    a->g_max_sum += b->g_max_sum;
    a->g_mean_sum += b->g_mean_sum;
  }
}

tnace_errsum tnace_errsum_of(const tnace_eval_record *r) {
  tnace_errsum one;
  memset(&one, 0, sizeof one);
  one.n_struct = 1;
  one.n_atoms = r->n_atoms;
  if (r->has_energy) {
    const double d = (r->energy_pred - r->energy_ref) / (r->n_count > 0 ? r->n_count : r->n_atoms) * 1000.0;
    one.n_e = 1;
    one.e_sum = d;
    one.e_abs = fabs(d);
    one.e_sq = d * d;
  }
  if (r->has_forces)
    for (int a = 0; a < r->n_atoms; a++)
      for (int x = 0; x < 3; x++) {
        const double d = r->forces_pred[a][x] - r->forces_ref[a][x];
        one.f_abs += fabs(d);
        one.f_sq += d * d;
        one.n_f++;
      }
  if (r->has_stress)
    for (int a = 0; a < 3; a++)
      for (int b = a; b < 3; b++) {
        const double d = (r->stress_pred[a][b] - r->stress_ref[a][b]) * TNACE_EV_A3_TO_GPA;
        one.s_abs += fabs(d);
        one.s_sq += d * d;
        one.n_s++;
      }
  if (r->has_grade) {
    static const double level[3] = TNACE_GRADE_LEVELS;
    one.n_g = 1;
    one.g_max = one.g_max_sum = r->grade_max;
    one.g_mean_sum = r->grade_mean;
    for (int k = 0; k < 3; k++) one.n_g_above[k] = r->grade_max > level[k];
  }
  return one;
}

int tnace_evalstats_add(tnace_evalstats *st, const tnace_eval_record *r) {
  if (!st || !r || r->n_atoms < 1 || (r->has_forces && (!r->forces_ref || !r->forces_pred))) return TNACE_ERR_ARG;
  char key[64];
  snprintf(key, sizeof key, "%s", tnace_eval_group_name(r->config_type));
  int k = group_search(st, key);
  if (k < 0) {
    k = -k - 1;
    if (st->n_groups == st->cap) {
      const int cap = st->cap ? 2 * st->cap : 8;
      tnace_evalgroup *g = realloc(st->g, (size_t)cap * sizeof *g);
      if (!g) return TNACE_ERR_NOMEM;
      st->g = g;
      st->cap = cap;
    }
    memmove(&st->g[k + 1], &st->g[k], (size_t)(st->n_groups - k) * sizeof *st->g);
    memset(&st->g[k], 0, sizeof st->g[k]);
    snprintf(st->g[k].name, sizeof st->g[k].name, "%s", key);
    st->n_groups++;
  }
  /* this structure's sums first, then added to the group: independent of the order of the groups */
  const tnace_errsum one = tnace_errsum_of(r);
  sum_add(&st->g[k].sum, &one);
  sum_add(&st->all, &one);
  return 0;
}

tnace_eval_record tnace_eval_record_of(const tnace_struct *s, const tnace_eval_pred *p) {
  tnace_eval_record r;
  memset(&r, 0, sizeof r);
  r.config_type = s->config_type;
  r.n_atoms = s->n;
  r.n_count = s->n_count;
  r.has_energy = s->has_energy;
  r.energy_ref = s->energy;
  r.energy_pred = p->energy;
  r.has_forces = s->has_forces && s->forces;
  r.forces_ref = (const double(*)[3])s->forces;
  r.forces_pred = (const double(*)[3])p->forces;
  r.has_stress = s->has_stress && s->volume > 0;
  memcpy(r.stress_ref, s->stress, sizeof r.stress_ref);
  memcpy(r.stress_pred, p->stress, sizeof r.stress_pred);
  r.has_grade = p->has_grade;
  r.grade_max = p->grade_max;
  r.grade_mean = p->grade_mean;
  return r;
}

int tnace_evalstats_add_struct(tnace_evalstats *st, const tnace_struct *s, const tnace_eval_pred *p) {
  if (!st || !s || !p || p->status || !p->forces) return TNACE_ERR_ARG;
  const tnace_eval_record r = tnace_eval_record_of(s, p);
  return tnace_evalstats_add(st, &r);
}

tnace_errstat tnace_errsum_stat(const tnace_errsum *s) {
  tnace_errstat r;
  r.n_struct = s->n_struct;
  r.n_atoms = s->n_atoms;
  r.n_e = s->n_e;
  r.n_f = s->n_f;
  r.n_s = s->n_s;
  r.e_mae = s->n_e ? s->e_abs / (double)s->n_e : NAN;
  r.e_rmse = s->n_e ? sqrt(s->e_sq / (double)s->n_e) : NAN;
  r.f_mae = s->n_f ? s->f_abs / (double)s->n_f : NAN;
  r.f_rmse = s->n_f ? sqrt(s->f_sq / (double)s->n_f) : NAN;
  r.s_mae = s->n_s ? s->s_abs / (double)s->n_s : NAN;
  r.s_rmse = s->n_s ? sqrt(s->s_sq / (double)s->n_s) : NAN;
  return r;
}

/* ---- JSON -------------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence starting at s (≥ 2 bytes), or 0 if it is not one. */
static int utf8_len(const unsigned char *s) {
  const unsigned c = s[0];
  int n;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;   /* no UTF-16 surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else
    return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (int k = 2; k < n; k++)
    if (s[k] < 0x80 || s[k] > 0xBF) return 0;
  return n;
}

void tnace_json_write_string(FILE *f, const char *str) {
  if (!str) { fputs("null", f); return; }
  const unsigned char *s = (const unsigned char *)str;
  fputc('"', f);
  while (*s) {
    const unsigned c = *s;
    if (c >= 0x80) {
      const int n = utf8_len(s);
      if (n) { fwrite(s, 1, (size_t)n, f); s += n; }
      else { fputs("\\ufffd", f); s++; }
      continue;
    }
    switch (c) {
      case '"': fputs("\\\"", f); break;
      case '\\': fputs("\\\\", f); break;
      case '\b': fputs("\\b", f); break;
      case '\f': fputs("\\f", f); break;
      case '\n': fputs("\\n", f); break;
      case '\r': fputs("\\r", f); break;
      case '\t': fputs("\\t", f); break;
      default:
        if (c < 0x20 || c == 0x7F) fprintf(f, "\\u%04x", c);
        else fputc((int)c, f);
    }
    s++;
  }
  fputc('"', f);
}

void tnace_json_write_number(FILE *f, double x, int digits) {
  if (isfinite(x)) fprintf(f, "%.*g", digits, x);
  else fputs("null", f);
}

static void json_num(FILE *f, double x) { tnace_json_write_number(f, x, 6); }

static void json_block(FILE *f, long n, double mae, double rmse) {
  if (n == 0) { fputs("null", f); return; }
  fputs("{\"mae\": ", f);
  json_num(f, mae);
  fputs(", \"rmse\": ", f);
  json_num(f, rmse);
  fprintf(f, ", \"n\": %ld}", n);
}

static void json_group(FILE *f, const tnace_errsum *s) {
  const tnace_errstat r = tnace_errsum_stat(s);
  fprintf(f, "\"n_structures\": %ld, \"n_atoms\": %ld, \"energy\": ", r.n_struct, r.n_atoms);
  json_block(f, r.n_e, r.e_mae, r.e_rmse);
  fputs(", \"forces\": ", f);
  json_block(f, r.n_f, r.f_mae, r.f_rmse);
  fputs(", \"stress\": ", f);
  json_block(f, r.n_s, r.s_mae, r.s_rmse);
  if (!s->n_g) return;
  static const double level[3] = TNACE_GRADE_LEVELS;
  fputs(", \"grade\": {\"max\": ", f);
  json_num(f, s->g_max);
  fputs(", \"mean_of_max\": ", f);
  json_num(f, s->g_max_sum / s->n_g);
  fputs(", \"mean\": ", f);
  json_num(f, s->g_mean_sum / s->n_g);
  fprintf(f, ", \"n\": %ld, \"n_above\": {", s->n_g);
  for (int k = 0; k < 3; k++) fprintf(f, "%s\"%g\": %ld", k ? ", " : "", level[k], s->n_g_above[k]);
  fputs("}}", f);
}

int tnace_evalstats_write_json(FILE *f, const tnace_evalstats *st, const char *potential, const char *const *data,
                               int n_data, int n_skipped) {
  if (!f || !st) return TNACE_ERR_ARG;
  fputc('{', f);
  if (potential) {
    fputs("\"potential\": ", f);
    tnace_json_write_string(f, potential);
    fputs(", ", f);
  }
  if (data) {
    fputs("\"data\": [", f);
    for (int i = 0; i < n_data; i++) {
      if (i) fputs(", ", f);
      tnace_json_write_string(f, data[i]);
    }
    fputs("], ", f);
  }
  json_group(f, &st->all);
  fprintf(f, ", \"n_skipped\": %d", n_skipped);
  fputs(", \"units\": {\"energy\": ", f);
  tnace_json_write_string(f, st->e_unit[0] ? st->e_unit : "meV/atom");
  fputs(", \"forces\": \"eV/A\", \"stress\": \"GPa\"}", f);
  fputs(", \"per_config_type\": {", f);
  for (int k = 0; k < st->n_groups; k++) {
    fputs(k ? ", " : "", f);
    tnace_json_write_string(f, st->g[k].name);
    fputs(": {", f);
    json_group(f, &st->g[k].sum);
    fputc('}', f);
  }
  fputs("}}\n", f);
  return ferror(f) ? TNACE_ERR_IO : 0;
}

/* ---- table ------------------------------------------------------------------------------------- */

static const char *fmt_num(char *buf, size_t len, long n, double x) {
  if (n == 0) snprintf(buf, len, "-");
  else snprintf(buf, len, "%.6g", x);
  return buf;
}

/* One table row; control characters in the name are printed as '?'. */
static void table_row(FILE *f, int w, const char *name, const tnace_errsum *s) {
  const tnace_errstat r = tnace_errsum_stat(s);
  char b[6][32], nm[64];
  size_t i = 0;
  for (; name[i] && i + 1 < sizeof nm; i++) nm[i] = ((unsigned char)name[i] < 0x20 || name[i] == 0x7F) ? '?' : name[i];
  nm[i] = 0;
  fprintf(f, "%-*s %9ld %9ld %12s %12s %12s %12s %12s %12s\n", w, nm, r.n_struct, r.n_atoms,
          fmt_num(b[0], sizeof b[0], r.n_e, r.e_mae), fmt_num(b[1], sizeof b[1], r.n_e, r.e_rmse),
          fmt_num(b[2], sizeof b[2], r.n_f, r.f_mae), fmt_num(b[3], sizeof b[3], r.n_f, r.f_rmse),
          fmt_num(b[4], sizeof b[4], r.n_s, r.s_mae), fmt_num(b[5], sizeof b[5], r.n_s, r.s_rmse));
}

static void grade_row(FILE *f, int w, const char *name, const tnace_errsum *s) {
  char nm[64];
  size_t i = 0;
  for (; name[i] && i + 1 < sizeof nm; i++) nm[i] = ((unsigned char)name[i] < 0x20 || name[i] == 0x7F) ? '?' : name[i];
  nm[i] = 0;
  if (!s->n_g) { fprintf(f, "%-*s %9d %12s %12s %12s %8s %8s %8s\n", w, nm, 0, "-", "-", "-", "-", "-", "-"); return; }
  fprintf(f, "%-*s %9ld %12.4g %12.4g %12.4g %8ld %8ld %8ld\n", w, nm, s->n_g, s->g_max, s->g_max_sum / s->n_g,
          s->g_mean_sum / s->n_g, s->n_g_above[0], s->n_g_above[1], s->n_g_above[2]);
}

int tnace_evalstats_write_table(FILE *f, const tnace_evalstats *st) {
  if (!f || !st) return TNACE_ERR_ARG;
  int w = 11;   /* "config_type" */
  for (int k = 0; k < st->n_groups; k++) {
    const int l = (int)strlen(st->g[k].name);
    if (l > w) w = l;
  }
  fprintf(f, "%-*s %9s %9s %12s %12s %12s %12s %12s %12s\n", w, "config_type", "n_struct", "n_atoms", "E_MAE",
          "E_RMSE", "F_MAE", "F_RMSE", "S_MAE", "S_RMSE");
  const char *eu = st->e_unit[0] ? st->e_unit : "meV/atom";
  fprintf(f, "%-*s %9s %9s %12s %12s %12s %12s %12s %12s\n", w, "", "", "", eu, eu, "eV/A", "eV/A",
          "GPa", "GPa");
  table_row(f, w, "overall", &st->all);
  for (int k = 0; k < st->n_groups; k++) table_row(f, w, st->g[k].name, &st->g[k].sum);
  if (st->all.n_g) {
    static const double level[3] = TNACE_GRADE_LEVELS;
    fprintf(f, "\nextrapolation grade (per structure: largest and mean per-atom grade; counts of structures whose "
               "largest grade exceeds %g, %g, %g)\n", level[0], level[1], level[2]);
    fprintf(f, "%-*s %9s %12s %12s %12s %8s %8s %8s\n", w, "config_type", "n_struct", "max", "mean_of_max", "mean",
            ">1.1", ">2", ">10");
    grade_row(f, w, "overall", &st->all);
    for (int k = 0; k < st->n_groups; k++) grade_row(f, w, st->g[k].name, &st->g[k].sum);
  }
  return ferror(f) ? TNACE_ERR_IO : 0;
}

/* ---- overall errors in the trainer's units ------------------------------------------------------ */

static void metrics_of(const tnace_errsum *all, tnace_metrics *m) {
  const tnace_errstat e = tnace_errsum_stat(all);
  m->n_struct = (int)e.n_struct;
  m->n_atoms = (int)e.n_atoms;
  m->n_force_comp = (int)e.n_f;
  m->n_stress = (int)e.n_s;
  m->e_mae = e.n_e ? e.e_mae : 0.0;
  m->e_rmse = e.n_e ? e.e_rmse : 0.0;
  m->f_mae = e.n_f ? e.f_mae : 0.0;
  m->f_rmse = e.n_f ? e.f_rmse : 0.0;
  m->s_mae = e.n_s ? e.s_mae : 0.0;
  m->s_rmse = e.n_s ? e.s_rmse : 0.0;
}

int tnace_metrics_compute(const tnace_potential *pot, const tnace_dataset *ds, int n_threads, tnace_metrics *m,
                          char *err, size_t errlen) {
  memset(m, 0, sizeof *m);
  if (!ds || ds->n == 0) return 0;
  tnace_eval_pred *p = NULL;
  int rc = tnace_eval_predict(pot, ds, n_threads, &p, err, errlen);
  tnace_evalstats st;
  tnace_evalstats_init(&st);
  for (int i = 0; !rc && i < ds->n; i++)
    if ((rc = tnace_evalstats_add_struct(&st, &ds->s[i], &p[i]))) snprintf(err, errlen, "out of memory");
  if (!rc) metrics_of(&st.all, m);
  tnace_evalstats_free(&st);
  tnace_eval_pred_free(p, p ? ds->n : 0);
  return rc;
}
