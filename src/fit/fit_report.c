/*
 * fit_report.c — the history, metadata, metrics file and summary of a fit (fit_report.h).
 */
#include "fit_report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evalstats.h"

/* ---- history ------------------------------------------------------------------------------------------ */

void tnace_fit_history_record(const tnace_sweep_info *si, void *ctx) {
  tnace_fit_history *L = ctx;
  if (si->final) { L->kept = si->sweep; return; }
  if (L->n_rec == L->cap_rec) {
    int cap = L->cap_rec ? 2 * L->cap_rec : 16;
    tnace_sweep_rec *p = realloc(L->rec, (size_t)cap * sizeof *p);
    if (!p) { L->nomem = 1; return; }
    L->rec = p;
    L->cap_rec = cap;
  }
  tnace_sweep_rec r = {si->sweep, si->lambda, si->train->e_rmse, si->valid->e_rmse, 1000 * si->train->f_rmse,
                       1000 * si->valid->f_rmse, si->train->s_rmse, si->valid->s_rmse, si->elapsed_s, si->is_best};
  L->rec[L->n_rec++] = r;
}

void tnace_fit_history_free(tnace_fit_history *h) {
  free(h->rec);
  memset(h, 0, sizeof *h);
}

/* ---- metadata ------------------------------------------------------------------------------------------ */

static int meta_num(tnace_meta *m, const char *key, double v) { return tnace_meta_set_num(m, key, v) != NULL; }
static int meta_int(tnace_meta *m, const char *key, long v) { return tnace_meta_set_num(m, key, (double)v) != NULL; }

static tnace_meta *seq_append_map(tnace_meta *seq) {
  if (!seq) return NULL;
  tnace_meta *n = tnace_meta_new_map();
  if (!n) return NULL;
  tnace_meta **tail = &seq->child;
  while (*tail) tail = &(*tail)->next;
  *tail = n;
  return n;
}

static int seq_append_int(tnace_meta *seq, long v) {
  char b[32];
  snprintf(b, sizeof b, "%ld", v);
  tnace_meta *n = tnace_meta_append(seq, b);
  if (n) n->quoted = 0;
  return n != NULL;
}

static int meta_metrics(tnace_meta *m, const tnace_metrics *x) {
  int ok = meta_int(m, "structures", x->n_struct) && meta_int(m, "atoms", x->n_atoms) &&
           meta_num(m, "energy_mae_meV_per_atom", x->e_mae) && meta_num(m, "energy_rmse_meV_per_atom", x->e_rmse) &&
           meta_num(m, "force_mae_eV_per_A", x->f_mae) && meta_num(m, "force_rmse_eV_per_A", x->f_rmse);
  if (ok && x->n_stress) ok = meta_num(m, "stress_mae_GPa", x->s_mae) && meta_num(m, "stress_rmse_GPa", x->s_rmse);
  return ok;
}

static int meta_files(tnace_meta *m, const tnace_file_stat *fs, int n) {
  tnace_meta *seq = tnace_meta_set_seq(m, "files");
  if (!seq) return 0;
  for (int i = 0; i < n; i++) {
    tnace_meta *f = seq_append_map(seq);
    if (!f || !tnace_meta_set(f, "path", fs[i].path) || !meta_int(f, "structures", fs[i].n_struct) ||
        !meta_int(f, "atoms", fs[i].n_atoms) || !meta_int(f, "skipped_frames", fs[i].n_skipped))
      return 0;
  }
  return 1;
}

/* The config as written, under fit_config (replacing any user key of that name). */
static int meta_config(tnace_meta *m, const tnace_meta *config) {
  tnace_meta *fc = tnace_meta_clone(config);
  if (!fc) return 0;
  tnace_meta *slot = tnace_meta_set_map(m, "fit_config");
  if (slot) {
    slot->child = fc->child;
    fc->child = NULL;
  }
  tnace_meta_free(fc);
  return slot != NULL;
}

static int meta_datasets(tnace_meta *m, const tnace_fit_record *r) {
  const tnace_fitconfig *cfg = r->cfg;
  tnace_meta *ds, *d;
  int ok = (ds = tnace_meta_set_map(m, "datasets")) && (d = tnace_meta_set_map(ds, "train")) &&
           meta_files(d, r->files, cfg->n_train) && meta_int(d, "structures", r->train->n) &&
           meta_int(d, "atoms", tnace_dataset_count_atoms(r->train, 0, r->train->n));
  ok = ok && (d = tnace_meta_set_map(ds, "validation")) &&
       tnace_meta_set(d, "source", cfg->n_valid ? "files" : r->split ? "split" : "none");
  if (ok && cfg->n_valid) ok = meta_files(d, r->files + cfg->n_train, cfg->n_valid);
  else if (ok && r->split)
    ok = meta_num(d, "fraction", cfg->valid_fraction) && meta_int(d, "seed", (long)cfg->split_seed) &&
         tnace_meta_set(d, "stratified_by", cfg->stratify ? "config_type" : "none");
  return ok && meta_int(d, "structures", r->valid->n) &&
         meta_int(d, "atoms", tnace_dataset_count_atoms(r->valid, 0, r->valid->n));
}

/* Cross-validation MAEs: mean and standard error over the folds, overall. */
static int meta_cv(tnace_meta *m, const tnace_cv *cv) {
  static const char q[3] = {'e', 'f', 's'};
  static const char *const name[3][2] = {{"energy_mae_meV_per_atom", "energy_mae_se"},
                                         {"force_mae_eV_per_A", "force_mae_se"},
                                         {"stress_mae_GPa", "stress_mae_se"}};
  tnace_meta *c = tnace_meta_set_map(m, "cross_validation");
  int nd = 0;
  for (int i = 0; i < cv->k; i++) nd += cv->done[i];
  int ok = c && meta_int(c, "folds", cv->k) && meta_int(c, "folds_run", nd) && meta_int(c, "seed", (long)cv->seed) &&
           tnace_meta_set(c, "stratified_by", "config_type");
  for (int j = 0; ok && j < 3; j++) {
    double mean, se;
    tnace_cv_mean_se(cv, NULL, q[j], 0, &mean, &se, NULL);
    if (isnan(mean)) continue;
    ok = meta_num(c, name[j][0], mean) && (isnan(se) || meta_num(c, name[j][1], se));
  }
  return ok;
}

static int meta_terms(tnace_meta *m, const tnace_potential *pot) {
  tnace_meta *bd = tnace_meta_set_seq(m, "terms");
  int ok = bd != NULL;
  for (int t = 0; ok && t < pot->n_terms; t++) {
    tnace_meta *tm = seq_append_map(bd), *bm = NULL;
    const tnace_term_spec *sp = &pot->spec[t];
    ok = tm && meta_int(tm, "nu", sp->nu) && meta_int(tm, "lmax", sp->lmax) && meta_int(tm, "nmax", sp->nmax) &&
         meta_int(tm, "chi", sp->chi) && (bm = tnace_meta_set_map(tm, "bond_dimensions"));
    for (int e = 0; ok && e < pot->n_el; e++) {
      const tnace_tn *tn = &pot->tn[e * pot->n_terms + t];
      tnace_meta *sq = tnace_meta_set_seq(bm, pot->elem[e]);
      ok = sq != NULL;
      for (int s = 0; ok && s <= 3 * tn->nu; s++) ok = seq_append_int(sq, tn->bond[s]);
    }
  }
  return ok;
}

int tnace_fit_metadata(const tnace_fit_record *r, const tnace_potential *pot, tnace_meta **out) {
  static const char *const e0_mode[] = {"auto", "fixed", "isolated"};
  const tnace_fitconfig *cfg = r->cfg;
  tnace_meta *m = cfg->user_meta ? tnace_meta_clone(cfg->user_meta) : tnace_meta_new_map(), *er, *d;
  int ok = m && tnace_meta_set(m, "generator", "tnace-fit") && tnace_meta_set(m, "tnace_version", TNACE_VERSION_STRING) &&
           tnace_meta_set(m, "date", r->date) &&
           tnace_meta_set(m, "command_line", r->command_line ? r->command_line : "tnace-fit") &&
           tnace_meta_set(m, "e0_mode", e0_mode[cfg->e0_mode]) && meta_config(m, cfg->meta) && meta_datasets(m, r);
  ok = ok && (er = tnace_meta_set_map(m, "errors")) && (d = tnace_meta_set_map(er, "train")) && meta_metrics(d, &r->train_m);
  if (ok && r->valid->n) ok = (d = tnace_meta_set_map(er, "validation")) && meta_metrics(d, &r->valid_m);
  if (ok && r->cv) ok = meta_cv(m, r->cv);
  int last = 0;   /* the number of the last sweep (a resumed fit counts the sweeps before its checkpoint) */
  for (int i = 0; i < r->history->n_rec; i++)
    if (r->history->rec[i].sweep > last) last = r->history->rec[i].sweep;
  ok = ok && meta_int(m, "n_params", tnace_potential_n_params(pot)) && meta_terms(m, pot) &&
       meta_num(m, "fit_time_s", floor(r->fit_time_s * 10 + 0.5) / 10) && meta_int(m, "sweeps_run", last) &&
       (!r->history->kept || meta_int(m, "kept_sweep", r->history->kept));
  if (!ok) {
    tnace_meta_free(m);
    return TNACE_ERR_NOMEM;
  }
  *out = m;
  return 0;
}

/* ---- metrics file ------------------------------------------------------------------------------------- */

static void json_num(FILE *f, double v) { tnace_json_write_number(f, v, 10); }

/* A number, or null when the quantity is absent. */
static void json_opt(FILE *f, int present, double v) {
  if (present) json_num(f, v);
  else fputs("null", f);
}

static void json_metrics(FILE *f, const char *name, const tnace_metrics *m, int present) {
  fprintf(f, "  \"%s\": ", name);
  if (!present) { fputs("null,\n", f); return; }
  fprintf(f, "{\"structures\": %d, \"atoms\": %d, \"energy_mae_meV_per_atom\": ", m->n_struct, m->n_atoms);
  json_num(f, m->e_mae);
  fputs(", \"energy_rmse_meV_per_atom\": ", f);
  json_num(f, m->e_rmse);
  fputs(", \"force_mae_eV_per_A\": ", f);
  json_num(f, m->f_mae);
  fputs(", \"force_rmse_eV_per_A\": ", f);
  json_num(f, m->f_rmse);
  fputs(", \"stress_mae_GPa\": ", f);
  json_opt(f, m->n_stress, m->s_mae);
  fputs(", \"stress_rmse_GPa\": ", f);
  json_opt(f, m->n_stress, m->s_rmse);
  fputs("},\n", f);
}

static void json_sweep(FILE *f, const tnace_sweep_rec *r, int has_valid, int s_trn, int s_val) {
  fprintf(f, "    {\"sweep\": %d, \"lambda\": ", r->sweep);
  json_num(f, r->lambda);
  fputs(", \"energy_rmse_train_meV_per_atom\": ", f);
  json_num(f, r->e_trn);
  fputs(", \"energy_rmse_validation_meV_per_atom\": ", f);
  json_opt(f, has_valid, r->e_val);
  fputs(", \"force_rmse_train_eV_per_A\": ", f);
  json_num(f, r->f_trn * 1e-3);
  fputs(", \"force_rmse_validation_eV_per_A\": ", f);
  json_opt(f, has_valid, r->f_val * 1e-3);
  fputs(", \"stress_rmse_train_GPa\": ", f);
  json_opt(f, s_trn, r->s_trn);
  fputs(", \"stress_rmse_validation_GPa\": ", f);
  json_opt(f, s_val, r->s_val);
  fprintf(f, ", \"best_so_far\": %s, \"time_s\": ", r->best ? "true" : "false");
  json_num(f, r->time_s);
  fputs("}", f);
}

int tnace_fit_write_metrics(const char *path, const tnace_fit_record *r, long n_params, char *err, size_t errlen) {
  FILE *f = fopen(path, "w");
  if (!f) {
    snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    return TNACE_ERR_IO;
  }
  const int has_valid = r->valid->n > 0;
  fputs("{\n  \"generator\": \"tnace-fit\",\n  \"tnace_version\": ", f);
  tnace_json_write_string(f, TNACE_VERSION_STRING);
  fputs(",\n  \"date\": ", f);
  tnace_json_write_string(f, r->date);
  fputs(",\n  \"config\": ", f);
  tnace_json_write_string(f, r->config_path);
  fputs(",\n  \"potential\": ", f);
  tnace_json_write_string(f, r->potential_path);
  fprintf(f, ",\n  \"n_params\": %ld,\n  \"fit_time_s\": ", n_params);
  json_num(f, r->fit_time_s);
  fputs(",\n", f);
  json_metrics(f, "train", &r->train_m, 1);
  json_metrics(f, "validation", &r->valid_m, has_valid);
  if (r->groups_train) {   /* MAE/RMSE per config_type of the kept potential (evalstats.h) */
    fputs("  \"per_config_type\": {\"train\": ", f);
    tnace_evalstats_write_json(f, r->groups_train, NULL, NULL, 0, 0);
    fputs(", \"validation\": ", f);
    if (r->groups_valid && has_valid) tnace_evalstats_write_json(f, r->groups_valid, NULL, NULL, 0, 0);
    else fputs("null", f);
    fputs("},\n", f);
  }
  if (r->cv) {
    fputs("  \"cross_validation\": ", f);
    tnace_cv_write_json(f, r->cv, NULL, 2);
    fputs(",\n", f);
  }
  fprintf(f, "  \"kept_sweep\": %d,\n  \"history\": [", r->history->kept);
  for (int i = 0; i < r->history->n_rec; i++) {
    fputs(i ? ",\n" : "\n", f);
    json_sweep(f, &r->history->rec[i], has_valid, r->train_m.n_stress, has_valid && r->valid_m.n_stress);
  }
  fputs(r->history->n_rec ? "\n  ]\n}\n" : "]\n}\n", f);
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    return TNACE_ERR_IO;
  }
  return 0;
}

/* ---- summary -------------------------------------------------------------------------------------------- */

static void print_model(FILE *out, const tnace_fitconfig *cfg, const tnace_potential *pot, const double *e0_iso) {
  static const char *const e0_names[] = {"auto (least squares, refined in every sweep)", "fixed", "isolated atoms"};
  fprintf(out, "model: elements");
  for (int a = 0; a < cfg->n_el; a++) fprintf(out, " %s", cfg->elem[a]);
  fprintf(out, "; cutoff max %g Å; radial lambda %g; r_min %g Å; repulsion ", pot->rcut_max, cfg->lambda, cfg->r_min);
  if (cfg->rep_type == TNACE_REP_ZBL) fprintf(out, "zbl %g..%g Å\n", cfg->rep_inner, cfg->rep_outer);
  else fprintf(out, "none\n");
  fprintf(out, "  E0: %s", e0_names[cfg->e0_mode]);
  if (cfg->e0_mode != TNACE_E0_AUTO)
    for (int a = 0; a < cfg->n_el; a++)
      fprintf(out, " %s %.6f eV", cfg->elem[a], cfg->e0_mode == TNACE_E0_FIXED ? cfg->e0[a] : e0_iso[a]);
  fputc('\n', out);
  for (int t = 0; t < cfg->n_terms; t++) {
    const tnace_term_spec *sp = &cfg->spec[t];
    const tnace_term_spec *ps = &pot->spec[t]; /* with the defaults resolved (rank, scale) */
    const tnace_tn *tn = &pot->tn[t];
    fprintf(out, "  term %d: nu %d, lmax %d, nmax %d, chi %d", t, sp->nu, sp->lmax, sp->nmax, sp->chi);
    if (ps->model == TNACE_MODEL_MPO) fprintf(out, ", mpo rank %d (ket and bra layers)", ps->rank);
    if (ps->model == TNACE_MODEL_EMB) fprintf(out, ", embed: %d outputs, scale %g eV", ps->rank, ps->escale);
    fprintf(out, "; bonds");
    for (int s = 0; s <= 3 * tn->nu; s++) fprintf(out, "%s%d", s ? "," : " ", tn->bond[s]);
    const size_t np = tn_n_params(tn) + (ps->model == TNACE_MODEL_MPO ? tn_n_params(&pot->tn_bra[t]) : 0);
    fprintf(out, "; %zu parameters per element\n", np);
  }
  fprintf(out, "  parameters: %ld\n", tnace_potential_n_params(pot));
}

typedef struct {
  char name[64];
  int n[2];
  long atoms[2];
  long n_e, n_f, n_s;  /* energies, force components, stresses (training and validation) */
} ct_count;

/* Structures and atoms per config_type, training [0] and validation [1], in order of appearance. */
static void print_config_types(FILE *out, const tnace_dataset *tr, const tnace_dataset *va) {
  int n_ct = 0, cap = 0;
  ct_count *ct = NULL;
  const tnace_dataset *sets[2] = {tr, va};
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < sets[k]->n; i++) {
      const char *name = tnace_eval_group_name(sets[k]->s[i].config_type);
      int j = 0;
      while (j < n_ct && strcmp(ct[j].name, name)) j++;
      if (j == n_ct) {
        if (n_ct == cap) {
          cap = cap ? 2 * cap : 16;
          ct_count *p = realloc(ct, (size_t)cap * sizeof *p);
          if (!p) { free(ct); return; }
          ct = p;
        }
        memset(&ct[n_ct], 0, sizeof ct[n_ct]);
        snprintf(ct[n_ct].name, sizeof ct[n_ct].name, "%s", name);
        n_ct++;
      }
      const tnace_struct *s = &sets[k]->s[i];
      ct[j].n[k]++;
      ct[j].atoms[k] += s->n;
      ct[j].n_e += s->has_energy;
      ct[j].n_f += s->has_forces ? 3L * s->n : 0;
      ct[j].n_s += s->has_stress;
    }
  /* what the reader found, so that a wrong key or unit shows before a fit (a column of zeros) */
  fprintf(out, "  %-24s %-24s %-29s %s\n", "config_type", "train: structures/atoms", "validation: structures/atoms",
          "found: energies / force components / stresses");
  long tot[3] = {0, 0, 0};
  for (int j = 0; j < n_ct; j++) {
    fprintf(out, "  %-24s %8d / %-13ld %8d / %-18ld %8ld / %ld / %ld\n", ct[j].name, ct[j].n[0], ct[j].atoms[0],
            ct[j].n[1], ct[j].atoms[1], ct[j].n_e, ct[j].n_f, ct[j].n_s);
    tot[0] += ct[j].n_e;
    tot[1] += ct[j].n_f;
    tot[2] += ct[j].n_s;
  }
  fprintf(out, "  %-24s %8d / %-13ld %8d / %-18ld %8ld / %ld / %ld\n", "total", tr->n,
          tnace_dataset_count_atoms(tr, 0, tr->n), va->n, tnace_dataset_count_atoms(va, 0, va->n), tot[0], tot[1],
          tot[2]);
  free(ct);
}

/* Pairs of elements no training structure holds within their cutoff: the fit has no data for those weights,
 * which stay 0 (a W atom among Nb atoms keeps its E0 only) unless fit.species_shrink ties them to the others. */
static void print_unseen_pairs(FILE *out, const tnace_potential *pot, const tnace_dataset *tr, double shrink) {
  const int ne = pot->n_el;
  unsigned char seen[TNACE_MAX_ELEMENTS][TNACE_MAX_ELEMENTS] = {{0}};
  for (int i = 0; i < tr->n; i++) {
    const tnace_struct *s = &tr->s[i];
    for (int a = 0; a < s->n; a++)
      for (int k = s->off[a]; k < s->off[a + 1]; k++) {
        const int ca = s->species[a], cb = s->nsp[k];
        const double *d = s->d[k], rc = pot->rcut[ca][cb];
        if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < rc * rc) seen[ca][cb] = seen[cb][ca] = 1;
      }
  }
  for (int a = 0; a < ne; a++)
    for (int b = a; b < ne; b++)
      if (!seen[a][b])
        fprintf(out, "  warning: no training structure has %s and %s within %g Å of each other: %s\n", pot->elem[a],
                pot->elem[b], pot->rcut[a][b],
                shrink > 0 ? "their weights take the additive prediction of fit.species_shrink"
                           : "the potential gives that pair zero weight (set fit.species_shrink, docs/fit-config.md)");
}

void tnace_fit_print_summary(FILE *out, const tnace_fit_record *r, const tnace_potential *pot, const double *e0_iso) {
  const tnace_fitconfig *cfg = r->cfg;
  const tnace_file_stat *fs = r->files;
  print_model(out, cfg, pot, e0_iso);
  fprintf(out, "data (neighbour lists within %g Å):\n", pot->rcut_max);
  for (int i = 0; i < cfg->n_train + cfg->n_valid; i++)
    fprintf(out, "  %-10s %s: %d structures, %d atoms%s%.0d%s%s%.0d%s\n", i < cfg->n_train ? "train" : "validation",
            fs[i].path, fs[i].n_struct, fs[i].n_atoms, fs[i].n_skipped ? " (skipped " : "", fs[i].n_skipped,
            fs[i].n_skipped ? " bad frames)" : "", fs[i].n_empty ? " (warning: skipped " : "", fs[i].n_empty,
            fs[i].n_empty ? " frames of 0 atoms)" : "");
  if (r->split)
    fprintf(out, "  validation: %d structures split off the training data (fraction %g, seed %llu%s)\n", r->valid->n,
            cfg->valid_fraction, cfg->split_seed, cfg->stratify ? ", stratified by config_type" : ", random");
  print_config_types(out, r->train, r->valid);
  print_unseen_pairs(out, pot, r->train, cfg->opts.species_shrink);
}
