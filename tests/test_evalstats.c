/* test_evalstats.c — evalstats.{h,c}: MAE/RMSE on a hand-computed example, per-config_type bookkeeping
 * (sorted groups, "(none)"), JSON string escaping and report shape, and on real data (valid.yaml on
 * tests/data/eval/cu_mixed.xyz): overall numbers identical to tnace_metrics_compute, groups summing to
 * the overall counts, thread-count independence, zero errors when the references are the potential's
 * own predictions, and per-structure evaluation failures. */
#include "evalstats.h"
#include "extxyz.h"
#include "fit.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define C_GPA TNACE_EV_A3_TO_GPA

static char *slurp(FILE *f) {
  fflush(f);
  long n = ftell(f);
  rewind(f);
  char *b = calloc((size_t)n + 1, 1);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) b[0] = 0;
  return b;
}

static char *json_of_string(const char *s) {
  FILE *f = tmpfile();
  if (!f) return NULL;
  tnace_json_write_string(f, s);
  char *b = slurp(f);
  fclose(f);
  return b;
}

static void test_hand_example(void) {
  tnace_evalstats st;
  tnace_evalstats_init(&st);
  /* A: group X, 2 atoms, ΔE/N = +1 meV/atom, force diffs 0.1 and −0.2, stress diffs xx +1 GPa, xy −2 GPa */
  const double fa_ref[2][3] = {{0, 0, 0}, {1, 1, 1}}, fa_pred[2][3] = {{0.1, 0, 0}, {1, 1, 0.8}};
  tnace_eval_record r;
  memset(&r, 0, sizeof r);
  r.config_type = "X";
  r.n_atoms = 2;
  r.has_energy = 1; r.energy_ref = 1.0; r.energy_pred = 1.002;
  r.has_forces = 1; r.forces_ref = fa_ref; r.forces_pred = fa_pred;
  r.has_stress = 1;
  r.stress_pred[0][0] = 1.0 / C_GPA;
  r.stress_pred[0][1] = -2.0 / C_GPA;
  r.stress_pred[1][0] = 100.0;  /* lower triangle: ignored */
  CHECK(tnace_evalstats_add(&st, &r) == 0, "add A");
  /* B: no config_type, 1 atom, ΔE/N = −3 meV/atom, nothing else */
  memset(&r, 0, sizeof r);
  r.n_atoms = 1;
  r.has_energy = 1; r.energy_ref = 0.0; r.energy_pred = -0.003;
  CHECK(tnace_evalstats_add(&st, &r) == 0, "add B");
  /* C: group X, 4 atoms, forces only: one component off by 0.5 */
  double fc_ref[4][3], fc_pred[4][3];
  memset(fc_ref, 0, sizeof fc_ref);
  memset(fc_pred, 0, sizeof fc_pred);
  fc_pred[2][1] = 0.5;
  memset(&r, 0, sizeof r);
  r.config_type = "X";
  r.n_atoms = 4;
  r.has_forces = 1; r.forces_ref = (const double(*)[3])fc_ref; r.forces_pred = (const double(*)[3])fc_pred;
  CHECK(tnace_evalstats_add(&st, &r) == 0, "add C");

  const tnace_errstat a = tnace_errsum_stat(&st.all);
  CHECK(a.n_struct == 3 && a.n_atoms == 7 && a.n_e == 2 && a.n_f == 18 && a.n_s == 6, "counts %ld %ld %ld %ld %ld",
        a.n_struct, a.n_atoms, a.n_e, a.n_f, a.n_s);
  CHECK_CLOSE(a.e_mae, 2.0, 1e-9);
  CHECK_CLOSE(a.e_rmse, sqrt(5.0), 1e-9);
  CHECK_CLOSE(a.f_mae, 0.8 / 18, 1e-12);
  CHECK_CLOSE(a.f_rmse, sqrt(0.3 / 18), 1e-12);
  CHECK_CLOSE(a.s_mae, 0.5, 1e-12);
  CHECK_CLOSE(a.s_rmse, sqrt(5.0 / 6), 1e-12);

  CHECK(st.n_groups == 2, "n_groups %d", st.n_groups);
  const tnace_evalgroup *gx = tnace_evalstats_find(&st, "X"), *gn = tnace_evalstats_find(&st, "");
  CHECK(gx && gn && gn == tnace_evalstats_find(&st, NULL) && gn == tnace_evalstats_find(&st, "(none)"), "find");
  CHECK(tnace_evalstats_find(&st, "Y") == NULL, "find missing");
  if (gx && gn) {
    const tnace_errstat x = tnace_errsum_stat(&gx->sum), n = tnace_errsum_stat(&gn->sum);
    CHECK(x.n_struct == 2 && x.n_atoms == 6 && x.n_e == 1 && x.n_f == 18 && x.n_s == 6, "X counts");
    CHECK_CLOSE(x.e_mae, 1.0, 1e-9);
    CHECK_CLOSE(x.e_rmse, 1.0, 1e-9);
    CHECK_CLOSE(x.f_rmse, a.f_rmse, 0);
    CHECK_CLOSE(x.s_mae, 0.5, 1e-12);
    CHECK(n.n_struct == 1 && n.n_atoms == 1 && n.n_e == 1 && n.n_f == 0 && n.n_s == 0, "(none) counts");
    CHECK_CLOSE(n.e_mae, 3.0, 1e-9);
    CHECK_CLOSE(n.e_rmse, 3.0, 1e-9);
    CHECK(isnan(n.f_mae) && isnan(n.f_rmse) && isnan(n.s_mae) && isnan(n.s_rmse), "(none): no forces/stress → NaN");
  }

  /* argument errors add nothing */
  memset(&r, 0, sizeof r);
  r.config_type = "Z";
  CHECK(tnace_evalstats_add(&st, &r) == TNACE_ERR_ARG, "n_atoms 0");
  r.n_atoms = 1;
  r.has_forces = 1;
  CHECK(tnace_evalstats_add(&st, &r) == TNACE_ERR_ARG, "has_forces without arrays");
  CHECK(tnace_evalstats_add(NULL, &r) == TNACE_ERR_ARG && tnace_evalstats_add(&st, NULL) == TNACE_ERR_ARG, "NULL");
  CHECK(st.n_groups == 2 && st.all.n_struct == 3, "nothing added by failed calls");

  /* JSON report of this example */
  FILE *f = tmpfile();
  CHECK(f != NULL, "tmpfile");
  if (f) {
    const char *data[2] = {"a.xyz", "dir/b \"q\".xyz"};
    CHECK(tnace_evalstats_write_json(f, &st, "pot\\x.yaml", data, 2, 3) == 0, "write_json");
    char *j = slurp(f);
    fclose(f);
    CHECK(j != NULL, "read back");
    if (j) {
      const char *want[] = {
          "{\"potential\": \"pot\\\\x.yaml\", \"data\": [\"a.xyz\", \"dir/b \\\"q\\\".xyz\"], ",
          "\"n_structures\": 3, \"n_atoms\": 7, \"energy\": {\"mae\": 2, \"rmse\": 2.23607, \"n\": 2}",
          "\"forces\": {\"mae\": 0.0444444, \"rmse\": 0.129099, \"n\": 18}",
          "\"stress\": {\"mae\": 0.5, \"rmse\": 0.912871, \"n\": 6}",
          "\"n_skipped\": 3",
          ("\"per_config_type\": {\"(none)\": {\"n_structures\": 1, \"n_atoms\": 1, \"energy\": {\"mae\": 3, "
           "\"rmse\": 3, \"n\": 1}, \"forces\": null, \"stress\": null}, \"X\": {\"n_structures\": 2"),
          "}}}\n"};
      for (size_t k = 0; k < sizeof want / sizeof *want; k++) CHECK(strstr(j, want[k]) != NULL, "JSON lacks [%s]:\n%s", want[k], j);
      int depth = 0, lines = 0, minimum = 1;
      for (const char *c = j; *c; c++) {
        if (*c == '\n') lines++;
        if (*c == '"') {   /* skip strings */
          for (c++; *c && *c != '"'; c++)
            if (*c == '\\' && c[1]) c++;
          continue;
        }
        if (*c == '{' || *c == '[') depth++;
        if (*c == '}' || *c == ']') depth--;
        if (depth < 0) minimum = 0;
      }
      CHECK(depth == 0 && minimum && lines == 1 && j[0] == '{', "balanced single-line JSON object: %s", j);
      free(j);
    }
  }
  /* table */
  f = tmpfile();
  if (f) {
    CHECK(tnace_evalstats_write_table(f, &st) == 0, "write_table");
    char *t = slurp(f);
    fclose(f);
    if (t) {
      CHECK(strstr(t, "config_type") && strstr(t, "meV/atom") && strstr(t, "GPa"), "table header:\n%s", t);
      const char *ov = strstr(t, "\noverall "), *no = strstr(t, "\n(none) "), *x = strstr(t, "\nX ");
      CHECK(ov && no && x && ov < no && no < x, "rows overall, (none), X in order:\n%s", t);
      if (no) {
        char row[256];
        sscanf(no + 1, "%255[^\n]", row);
        int dashes = 0;
        for (char *tok = strtok(row, " "); tok; tok = strtok(NULL, " ")) dashes += strcmp(tok, "-") == 0;
        CHECK(dashes == 4, "(none) row has 4 '-' (forces, stress): %d", dashes);
      }
      free(t);
    }
  }
  tnace_evalstats_free(&st);
  CHECK(st.n_groups == 0 && st.g == NULL && st.all.n_struct == 0, "free resets");
  tnace_evalstats_free(NULL);
}

static void test_group_order(void) {
  tnace_evalstats st;
  tnace_evalstats_init(&st);
  const char *names[] = {"b", "A", "", "a", "B", "b", "AIMD-NVT", "A", NULL, "Vacancy", "Surface", "Elastic"};
  double f0[1][3] = {{0, 0, 0}};
  for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
    tnace_eval_record r;
    memset(&r, 0, sizeof r);
    r.config_type = names[k];
    r.n_atoms = 1;
    r.has_forces = 1; r.forces_ref = (const double(*)[3])f0; r.forces_pred = (const double(*)[3])f0;
    CHECK(tnace_evalstats_add(&st, &r) == 0, "add %zu", k);
  }
  /* 12 structures, groups in strcmp order, duplicates merged */
  const char *want[] = {"(none)", "A", "AIMD-NVT", "B", "Elastic", "Surface", "Vacancy", "a", "b"};
  const long cnt[] = {2, 2, 1, 1, 1, 1, 1, 1, 2};
  CHECK(st.n_groups == 9, "n_groups %d", st.n_groups);
  long sum = 0;
  for (int k = 0; k < st.n_groups && k < 9; k++) {
    CHECK(strcmp(st.g[k].name, want[k]) == 0 && st.g[k].sum.n_struct == cnt[k], "group %d: %s (%ld)", k, st.g[k].name,
          st.g[k].sum.n_struct);
    sum += st.g[k].sum.n_struct;
  }
  CHECK(sum == 12 && st.all.n_struct == 12 && st.all.n_f == 36, "sums");
  const tnace_errstat a = tnace_errsum_stat(&st.all);
  CHECK(a.f_mae == 0 && a.f_rmse == 0 && isnan(a.e_mae) && isnan(a.s_rmse), "zero force error, no energy/stress");
  /* a long name is cut to 63 bytes, consistently for add and find */
  char longname[100];
  memset(longname, 'z', 99);
  longname[99] = 0;
  tnace_eval_record r;
  memset(&r, 0, sizeof r);
  r.config_type = longname;
  r.n_atoms = 1;
  CHECK(tnace_evalstats_add(&st, &r) == 0, "long name");
  const tnace_evalgroup *g = tnace_evalstats_find(&st, longname);
  CHECK(g && strlen(g->name) == 63 && g->sum.n_struct == 1, "long name group");
  tnace_evalstats_free(&st);
}

static void test_json_escape(void) {
  const struct { const char *in, *out; } cases[] = {
      {"plain", "\"plain\""},
      {"", "\"\""},
      {"a\"b\\c/d", "\"a\\\"b\\\\c/d\""},
      {"\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\""},
      {"\x01x\x1f\x7f", "\"\\u0001x\\u001f\\u007f\""},
      {"\xc3\x85ngstr\xc3\xb6m \xe2\x82\xac \xf0\x9f\x98\x80", "\"\xc3\x85ngstr\xc3\xb6m \xe2\x82\xac \xf0\x9f\x98\x80\""},
      {"bad\xff", "\"bad\\ufffd\""},
      {"cut\xc3", "\"cut\\ufffd\""},
      {"\xc3(", "\"\\ufffd(\""},
      {"\xc0\xaf", "\"\\ufffd\\ufffd\""},              /* overlong '/' */
      {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},   /* UTF-16 surrogate */
      {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},  /* > U+10FFFF */
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    char *s = json_of_string(cases[k].in);
    CHECK(s && strcmp(s, cases[k].out) == 0, "case %zu: got %s, want %s", k, s ? s : "(null)", cases[k].out);
    free(s);
  }
  char *s = json_of_string(NULL);
  CHECK(s && strcmp(s, "null") == 0, "NULL → null");
  free(s);
}

/* ---- real data ---------------------------------------------------------------------------------- */

static void fmt_config_type(FILE *f, const char *ct) {
  fputs("config_type=\"", f);
  for (; *ct; ct++) {
    if (*ct == '"' || *ct == '\\') fputc('\\', f);
    fputc(*ct, f);
  }
  fputs("\" ", f);
}

/* Write frames with the predictions as reference values. */
static int write_self_reference(const char *path, const tnace_frame *fr, int nf, const tnace_eval_pred *p) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  for (int i = 0; i < nf; i++) {
    const tnace_frame *x = &fr[i];
    fprintf(f, "%d\nLattice=\"", x->n_atoms);
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++) fprintf(f, "%s%.17g", a + b ? " " : "", x->cell[a][b]);
    fprintf(f, "\" pbc=\"%s %s %s\" Properties=species:S:1:pos:R:3:forces:R:3 energy=%.17g ", x->pbc[0] ? "T" : "F",
            x->pbc[1] ? "T" : "F", x->pbc[2] ? "T" : "F", p[i].energy);
    if (x->config_type[0]) fmt_config_type(f, x->config_type);
    if (x->pbc[0] && x->pbc[1] && x->pbc[2]) {
      fputs("stress=\"", f);
      for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) fprintf(f, "%s%.17g", a + b ? " " : "", p[i].stress[a][b]);
      fputs("\"", f);
    }
    fputc('\n', f);
    for (int a = 0; a < x->n_atoms; a++)
      fprintf(f, "%s %.17g %.17g %.17g %.17g %.17g %.17g\n", x->symbol[a], x->pos[a][0], x->pos[a][1], x->pos[a][2],
              p[i].forces[a][0], p[i].forces[a][1], p[i].forces[a][2]);
  }
  return fclose(f);
}

static void test_dataset(void) {
  char err[1024] = "";
  tnace_potential *pot = NULL;
  const char *potfile = TNACE_SOURCE_DIR "/tests/data/yaml/valid.yaml";
  const char *xyz = TNACE_SOURCE_DIR "/tests/data/eval/cu_mixed.xyz";
  if (tnace_potential_load(potfile, &pot, err, sizeof err)) {
    CHECK(0, "load %s: %s", potfile, err);
    return;
  }
  const int n_el = tnace_potential_n_elements(pot);
  char elem[8][4];
  for (int e = 0; e < n_el && e < 8; e++) snprintf(elem[e], 4, "%s", tnace_potential_element(pot, e));
  const double rc = tnace_potential_cutoff_max(pot);
  tnace_dataset ds;
  memset(&ds, 0, sizeof ds);
  int st = tnace_dataset_read(&ds, xyz, n_el, (const char(*)[4])elem, rc, 0, err, sizeof err);
  CHECK(st == 0 && ds.n == 7, "read %s: %d %s (n=%d)", xyz, st, err, ds.n);
  if (st) { tnace_potential_free(pot); tnace_dataset_free(&ds); return; }

  tnace_eval_pred *p1 = NULL, *p2 = NULL;
  CHECK(tnace_eval_predict(pot, &ds, 1, &p1, err, sizeof err) == 0, "predict 1 thread: %s", err);
  CHECK(tnace_eval_predict(pot, &ds, 3, &p2, err, sizeof err) == 0, "predict 3 threads: %s", err);
  tnace_evalstats es;
  tnace_evalstats_init(&es);
  if (p1 && p2) {
    int same = 1;
    for (int i = 0; i < ds.n; i++) {
      same &= p1[i].energy == p2[i].energy && memcmp(p1[i].stress, p2[i].stress, sizeof p1[i].stress) == 0 &&
              memcmp(p1[i].forces, p2[i].forces, (size_t)ds.s[i].n * sizeof *p1[i].forces) == 0;
      CHECK(p1[i].status == 0 && p1[i].error == NULL, "status %d", i);
      CHECK(tnace_evalstats_add_struct(&es, &ds.s[i], &p1[i]) == 0, "add_struct %d", i);
    }
    CHECK(same, "predictions independent of the thread count");
  }
  /* overall numbers identical to the trainer's metrics */
  tnace_metrics m;
  CHECK(tnace_metrics_compute(pot, &ds, 2, &m, err, sizeof err) == 0, "metrics: %s", err);
  const tnace_errstat a = tnace_errsum_stat(&es.all);
  CHECK(a.n_struct == m.n_struct && a.n_atoms == m.n_atoms && a.n_f == m.n_force_comp && a.n_s == m.n_stress,
        "counts %ld/%d %ld/%d %ld/%d %ld/%d", a.n_struct, m.n_struct, a.n_atoms, m.n_atoms, a.n_f, m.n_force_comp, a.n_s,
        m.n_stress);
  CHECK(a.n_struct == 7 && a.n_atoms == 38 && a.n_e == 7 && a.n_f == 102 && a.n_s == 24, "expected counts");
  CHECK_CLOSE(a.e_mae, m.e_mae, 1e-13);
  CHECK_CLOSE(a.e_rmse, m.e_rmse, 1e-13);
  CHECK_CLOSE(a.f_mae, m.f_mae, 1e-13);
  CHECK_CLOSE(a.f_rmse, m.f_rmse, 1e-13);
  CHECK_CLOSE(a.s_mae, m.s_mae, 1e-13);
  CHECK_CLOSE(a.s_rmse, m.s_rmse, 1e-13);
  /* groups add up to the overall sums */
  tnace_errsum g;
  memset(&g, 0, sizeof g);
  for (int k = 0; k < es.n_groups; k++) {
    const tnace_errsum *s = &es.g[k].sum;
    g.n_struct += s->n_struct; g.n_atoms += s->n_atoms; g.n_e += s->n_e; g.n_f += s->n_f; g.n_s += s->n_s;
    g.e_abs += s->e_abs; g.f_sq += s->f_sq; g.s_abs += s->s_abs;
  }
  CHECK(es.n_groups == 5, "groups Bulk, Surface, Vacancy, (none), odd: %d", es.n_groups);
  CHECK(g.n_struct == es.all.n_struct && g.n_atoms == es.all.n_atoms && g.n_e == es.all.n_e && g.n_f == es.all.n_f &&
            g.n_s == es.all.n_s, "group counts sum to overall");
  CHECK_CLOSE(g.e_abs, es.all.e_abs, 1e-12);
  CHECK_CLOSE(g.f_sq, es.all.f_sq, 1e-12);
  CHECK_CLOSE(g.s_abs, es.all.s_abs, 1e-12);
  const tnace_evalgroup *sf = tnace_evalstats_find(&es, "Surface"), *odd = tnace_evalstats_find(&es, "odd \"name\" x");
  CHECK(sf && sf->sum.n_s == 0 && sf->sum.n_f == 24, "Surface: no stress (not periodic), 24 force components");
  CHECK(odd && odd->sum.n_struct == 1, "config_type with quotes");
  tnace_evalstats_free(&es);

  /* the potential's own predictions as reference data: every error is zero */
  tnace_frame *fr = NULL;
  int nf = 0;
  CHECK(tnace_xyz_read_all(xyz, NULL, 0, &fr, &nf, NULL, err, sizeof err) == 0 && nf == ds.n, "read frames: %s", err);
  const char *self = TNACE_BINARY_DIR "/tests/evalstats_self.xyz";
  if (p1 && fr && nf == ds.n) {
    CHECK(write_self_reference(self, fr, nf, p1) == 0, "write %s", self);
    tnace_dataset d2;
    memset(&d2, 0, sizeof d2);
    tnace_eval_pred *p3 = NULL;
    st = tnace_dataset_read(&d2, self, n_el, (const char(*)[4])elem, rc, 0, err, sizeof err);
    CHECK(st == 0 && d2.n == ds.n, "read %s: %s", self, err);
    if (st == 0 && tnace_eval_predict(pot, &d2, 2, &p3, err, sizeof err) == 0) {
      tnace_evalstats_init(&es);
      for (int i = 0; i < d2.n; i++) tnace_evalstats_add_struct(&es, &d2.s[i], &p3[i]);
      const tnace_errstat z = tnace_errsum_stat(&es.all);
      CHECK(z.n_e == 7 && z.n_f == 114 && z.n_s == 36, "self counts %ld %ld %ld", z.n_e, z.n_f, z.n_s);
      CHECK(z.e_mae < 1e-9 && z.e_rmse < 1e-9 && z.f_mae < 1e-12 && z.f_rmse < 1e-12 && z.s_mae < 1e-9 && z.s_rmse < 1e-9,
            "zero errors: %g %g %g %g %g %g", z.e_mae, z.e_rmse, z.f_mae, z.f_rmse, z.s_mae, z.s_rmse);
      for (int k = 0; k < es.n_groups; k++) {
        const tnace_errstat q = tnace_errsum_stat(&es.g[k].sum);
        CHECK(!(q.e_mae > 1e-9) && !(q.f_rmse > 1e-12) && !(q.s_rmse > 1e-9), "group %s not zero", es.g[k].name);
      }
      tnace_evalstats_free(&es);
    } else
      CHECK(0, "evaluate %s: %s", self, err);
    tnace_eval_pred_free(p3, d2.n);
    tnace_dataset_free(&d2);
    remove(self);
  }
  tnace_xyz_free_all(fr, nf);
  tnace_eval_pred_free(p1, ds.n);
  tnace_eval_pred_free(p2, ds.n);
  tnace_dataset_free(&ds);

  /* a structure that cannot be evaluated (atoms closer than r_min): first failure reported, others fine */
  memset(&ds, 0, sizeof ds);
  const char *tc = TNACE_SOURCE_DIR "/tests/data/eval/too_close.xyz";
  st = tnace_dataset_read(&ds, tc, n_el, (const char(*)[4])elem, rc, 0, err, sizeof err);
  CHECK(st == 0 && ds.n == 3, "read %s: %s", tc, err);
  if (st == 0) {
    err[0] = 0;
    st = tnace_eval_predict(pot, &ds, 2, &p1, err, sizeof err);
    CHECK(st == TNACE_ERR_TOO_CLOSE && strstr(err, "too_close.xyz:7: ") && strstr(err, "r_min"), "too close: %d %s", st, err);
    CHECK(p1 && p1[0].status == 0 && p1[1].status == TNACE_ERR_TOO_CLOSE && p1[2].status == 0 && p1[1].error &&
              !p1[1].forces, "per-structure status");
    if (p1) {
      tnace_evalstats_init(&es);
      CHECK(tnace_evalstats_add_struct(&es, &ds.s[1], &p1[1]) == TNACE_ERR_ARG, "failed prediction not added");
      CHECK(tnace_evalstats_add_struct(&es, &ds.s[0], &p1[0]) == 0 && es.all.n_struct == 1, "good one added");
      tnace_evalstats_free(&es);
    }
    tnace_eval_pred_free(p1, ds.n);
    /* the trainer's metrics pass the evaluator's code through (they used to say TNACE_ERR_NUMERIC for
     * every failure, out of memory and atoms too close alike) */
    tnace_metrics m;
    err[0] = 0;
    st = tnace_metrics_compute(pot, &ds, 2, &m, err, sizeof err);
    CHECK(st == TNACE_ERR_TOO_CLOSE && strstr(err, "too_close.xyz:7: ") && strstr(err, "r_min"),
          "metrics, too close: %d %s", st, err);
  }
  tnace_dataset_free(&ds);
  p1 = (tnace_eval_pred *)1;
  CHECK(tnace_eval_predict(NULL, &ds, 1, &p1, err, sizeof err) == TNACE_ERR_ARG && p1 == NULL, "NULL potential");
  tnace_potential_free(pot);
}

int main(void) {
  test_hand_example();
  test_group_order();
  test_json_escape();
  test_dataset();
  return test_summary("test_evalstats");
}
