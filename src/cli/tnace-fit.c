/*
 * tnace-fit — fit a tensor-network ACE potential to DFT data, as described by a YAML config
 * (docs/fit-config.md; example: examples/configs/example-fit.yaml).
 *
 *   tnace-fit CONFIG.yaml [--threads N] [--sweeps N] [--output FILE] [--skip-bad] [--dry-run] [--quiet]
 *
 * Steps: read and check the config (data files readable, outputs writable) → create the potential → read
 * the training (and validation) extxyz files, or split a seeded validation fraction off the training
 * structures → summary → tnace_fit_init + tnace_fit (one log line per sweep on stdout) → write the potential
 * with provenance metadata and a JSON metrics file.
 *
 * Exit status: 0 success, 1 error (one line "tnace-fit: ..." on stderr), 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataset.h"
#include "dataset.h"
#include "fit.h"
#include "fitconfig.h"
#include "model.h"
#include "tnace.h"

#define PROG "tnace-fit"

static const char *const USAGE =
    "usage: tnace-fit CONFIG.yaml [options]\n"
    "\n"
    "Fit a tensor-network ACE potential to DFT energies, forces and stresses as described by the YAML\n"
    "config CONFIG.yaml (format: docs/fit-config.md; example: examples/configs/example-fit.yaml).\n"
    "Writes the potential (YAML, docs/potential-format.md) and a JSON file with the errors per sweep.\n"
    "\n"
    "options:\n"
    "  --threads N     OpenMP threads, 0 = all cores (overrides fit.threads)\n"
    "  --sweeps N      maximum number of ALS sweeps (overrides fit.sweeps)\n"
    "  --output FILE   potential file to write (overrides output.potential; the metrics file is then\n"
    "                  FILE with .yaml replaced by .metrics.json unless output.metrics is set)\n"
    "  --skip-bad      skip malformed frames in the data files instead of stopping (data.skip_bad)\n"
    "  --dry-run       check the config, read the data and print the summary, but fit nothing\n"
    "  --quiet         print errors only\n"
    "  --help          print this help and exit\n"
    "  --version       print the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 error (config, data, fit or output), 2 bad command line.\n";

typedef struct {
  const char *config, *output;
  int threads, sweeps, skip_bad, dry_run, quiet;  /* threads/sweeps < 0: not given */
} args;

static int usage_error(const char *fmt, const char *what) {
  fprintf(stderr, PROG ": ");
  fprintf(stderr, fmt, what);
  fprintf(stderr, " (see tnace-fit --help)\n");
  return 2;
}

static int parse_count(const char *s, long lo, long hi, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (!*s || *end || errno == ERANGE || v < lo || v > hi) return -1;
  *out = (int)v;
  return 0;
}

/* 0: run; 1: --help/--version done (exit 0); 2: usage error (message printed). */
static int parse_args(int argc, char **argv, args *a) {
  memset(a, 0, sizeof *a);
  a->threads = a->sweeps = -1;
  int done_opts = 0;
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    if (done_opts || s[0] != '-' || !s[1]) {
      if (a->config) return usage_error("more than one config file given ('%s')", s);
      a->config = s;
      continue;
    }
    if (!strcmp(s, "--")) { done_opts = 1; continue; }
    if (!strcmp(s, "--help") || !strcmp(s, "-h")) { fputs(USAGE, stdout); return 1; }
    if (!strcmp(s, "--version")) { printf("tnace-fit (libtnace) %s\n", TNACE_VERSION_STRING); return 1; }
    if (!strcmp(s, "--skip-bad")) { a->skip_bad = 1; continue; }
    if (!strcmp(s, "--dry-run")) { a->dry_run = 1; continue; }
    if (!strcmp(s, "--quiet") || !strcmp(s, "-q")) { a->quiet = 1; continue; }
    /* options with a value: --opt VALUE or --opt=VALUE */
    static const char *const withval[] = {"--threads", "--sweeps", "--output"};
    int k = -1;
    const char *val = NULL;
    for (int j = 0; j < 3 && k < 0; j++) {
      size_t n = strlen(withval[j]);
      if (!strncmp(s, withval[j], n) && (s[n] == '\0' || s[n] == '=')) {
        k = j;
        if (s[n] == '=') val = s + n + 1;
      }
    }
    if (k < 0) return usage_error("unknown option '%s'", s);
    if (!val) {
      if (i + 1 >= argc) return usage_error("%s needs a value", withval[k]);
      val = argv[++i];
    }
    if (k == 0 && parse_count(val, 0, 4096, &a->threads))
      return usage_error("--threads: expected an integer 0..4096, got '%s'", val);
    if (k == 1 && parse_count(val, 1, 100000, &a->sweeps))
      return usage_error("--sweeps: expected an integer 1..100000, got '%s'", val);
    if (k == 2) {
      if (!*val) return usage_error("--output: empty file name%s", "");
      a->output = val;
    }
  }
  if (!a->config) return usage_error("no config file given%s", "");
  return 0;
}

/* ---- per-sweep history, recorded through tnace_fit's progress callback -------------------------- */

typedef struct {
  int sweep;
  double lambda, e_trn, e_val, f_trn, f_val, s_trn, s_val, time_s;  /* meV/atom, meV/Å, GPa, s */
  int best;
} sweep_rec;

typedef struct {
  sweep_rec *rec;
  int n_rec, cap_rec, kept, nomem;
} logcap;

static void on_sweep(const tnace_sweep_info *si, void *ctx) {
  logcap *L = ctx;
  if (si->final) { L->kept = si->sweep; return; }
  if (L->n_rec == L->cap_rec) {
    int cap = L->cap_rec ? 2 * L->cap_rec : 16;
    sweep_rec *p = realloc(L->rec, (size_t)cap * sizeof *p);
    if (!p) { L->nomem = 1; return; }
    L->rec = p;
    L->cap_rec = cap;
  }
  sweep_rec r = {si->sweep, si->lambda, si->train->e_rmse, si->valid->e_rmse, 1000 * si->train->f_rmse,
                 1000 * si->valid->f_rmse, si->train->s_rmse, si->valid->s_rmse, si->elapsed_s, si->is_best};
  L->rec[L->n_rec++] = r;
}

/* ---- small helpers --------------------------------------------------------------------------------- */

typedef struct {
  const char *path;     /* as opened */
  int n_struct, n_atoms, n_skipped;
} file_stat;

static long count_atoms(const tnace_dataset *ds, int from, int to) {
  long n = 0;
  for (int i = from; i < to; i++) n += ds->s[i].n;
  return n;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* The command line as one string, arguments with special characters in single quotes. */
static char *join_argv(int argc, char **argv) {
  size_t len = 1;
  for (int i = 0; i < argc; i++) len += 4 * strlen(argv[i]) + 3;
  char *s = malloc(len), *p = s;
  if (!s) return NULL;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    int plain = *a != '\0';
    for (const char *q = a; *q && plain; q++) plain = strchr("/._-=+,:@%0123456789", *q) || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z');
    if (i) *p++ = ' ';
    if (plain) {
      p += sprintf(p, "%s", a);
      continue;
    }
    *p++ = '\'';
    for (const char *q = a; *q; q++) {
      if (*q == '\'') { memcpy(p, "'\\''", 4); p += 4; }
      else *p++ = *q;
    }
    *p++ = '\'';
  }
  *p = '\0';
  return s;
}

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

static int meta_files(tnace_meta *m, const file_stat *fs, int n) {
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

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p == '\n') fputs("\\n", f);
    else if (*p == '\t') fputs("\\t", f);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static void json_num(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.10g", v);
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
  if (m->n_stress) json_num(f, m->s_mae); else fputs("null", f);
  fputs(", \"stress_rmse_GPa\": ", f);
  if (m->n_stress) json_num(f, m->s_rmse); else fputs("null", f);
  fputs("},\n", f);
}

typedef struct {
  const char *config, *potential, *date;
  long n_params;
  double fit_time;
  const tnace_metrics *mt, *mv;
  int has_valid;
  const logcap *log;
} metrics_out;

static int write_metrics_json(const char *path, const metrics_out *o, char *err, size_t errlen) {
  FILE *f = fopen(path, "w");
  if (!f) {
    snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    return TNACE_ERR_IO;
  }
  fputs("{\n  \"generator\": \"tnace-fit\",\n  \"tnace_version\": ", f);
  json_str(f, TNACE_VERSION_STRING);
  fputs(",\n  \"date\": ", f);
  json_str(f, o->date);
  fputs(",\n  \"config\": ", f);
  json_str(f, o->config);
  fputs(",\n  \"potential\": ", f);
  json_str(f, o->potential);
  fprintf(f, ",\n  \"n_params\": %ld,\n  \"fit_time_s\": ", o->n_params);
  json_num(f, o->fit_time);
  fputs(",\n", f);
  json_metrics(f, "train", o->mt, 1);
  json_metrics(f, "validation", o->mv, o->has_valid);
  fprintf(f, "  \"kept_sweep\": %d,\n  \"history\": [", o->log->kept);
  for (int i = 0; i < o->log->n_rec; i++) {
    const sweep_rec *r = &o->log->rec[i];
    fprintf(f, "%s\n    {\"sweep\": %d, \"lambda\": ", i ? "," : "", r->sweep);
    json_num(f, r->lambda);
    fputs(", \"energy_rmse_train_meV_per_atom\": ", f);
    json_num(f, r->e_trn);
    fputs(", \"energy_rmse_validation_meV_per_atom\": ", f);
    if (o->has_valid) json_num(f, r->e_val); else fputs("null", f);
    fputs(", \"force_rmse_train_eV_per_A\": ", f);
    json_num(f, r->f_trn * 1e-3);
    fputs(", \"force_rmse_validation_eV_per_A\": ", f);
    if (o->has_valid) json_num(f, r->f_val * 1e-3); else fputs("null", f);
    fputs(", \"stress_rmse_train_GPa\": ", f);
    if (o->mt->n_stress) json_num(f, r->s_trn); else fputs("null", f);
    fputs(", \"stress_rmse_validation_GPa\": ", f);
    if (o->has_valid && o->mv->n_stress) json_num(f, r->s_val); else fputs("null", f);
    fprintf(f, ", \"best_so_far\": %s, \"time_s\": ", r->best ? "true" : "false");
    json_num(f, r->time_s);
    fputs("}", f);
  }
  fputs(o->log->n_rec ? "\n  ]\n}\n" : "]\n}\n", f);
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    return TNACE_ERR_IO;
  }
  return 0;
}

/* ---- summary ------------------------------------------------------------------------------------- */

typedef struct {
  char name[64];
  int n[2];
  long atoms[2];
} ct_count;

static void print_summary(FILE *out, const tnace_fitconfig *cfg, const tnace_potential *pot, const tnace_dataset *tr,
                          const tnace_dataset *va, const file_stat *fs, int n_fs, int n_train_files,
                          int split, const double *e0_iso) {
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
    const tnace_tn *tn = &pot->tn[t];
    fprintf(out, "  term %d: nu %d, lmax %d, nmax %d, chi %d; bonds", t, sp->nu, sp->lmax, sp->nmax, sp->chi);
    for (int s = 0; s <= 3 * tn->nu; s++) fprintf(out, "%s%d", s ? "," : " ", tn->bond[s]);
    fprintf(out, "; %zu parameters per element\n", tn_n_params(tn));
  }
  fprintf(out, "  parameters: %ld\n", tnace_potential_n_params(pot));
  fprintf(out, "data (neighbour lists within %g Å):\n", pot->rcut_max);
  for (int i = 0; i < n_fs; i++)
    fprintf(out, "  %-10s %s: %d structures, %d atoms%s%.0d%s\n", i < n_train_files ? "train" : "validation",
            fs[i].path, fs[i].n_struct, fs[i].n_atoms, fs[i].n_skipped ? " (skipped " : "",
            fs[i].n_skipped, fs[i].n_skipped ? " bad frames)" : "");
  if (split)
    fprintf(out, "  validation: %d structures split off the training data (fraction %g, seed %llu)\n", va->n,
            cfg->valid_fraction, cfg->split_seed);
  /* per config_type */
  int n_ct = 0, cap = 0;
  ct_count *ct = NULL;
  const tnace_dataset *sets[2] = {tr, va};
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < sets[k]->n; i++) {
      const char *name = sets[k]->s[i].config_type[0] ? sets[k]->s[i].config_type : "(none)";
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
      ct[j].n[k]++;
      ct[j].atoms[k] += sets[k]->s[i].n;
    }
  fprintf(out, "  %-24s %-24s %s\n", "config_type", "train: structures/atoms", "validation: structures/atoms");
  for (int j = 0; j < n_ct; j++)
    fprintf(out, "  %-24s %8d / %-13ld %8d / %ld\n", ct[j].name, ct[j].n[0], ct[j].atoms[0], ct[j].n[1],
            ct[j].atoms[1]);
  fprintf(out, "  %-24s %8d / %-13ld %8d / %ld\n", "total", tr->n, count_atoms(tr, 0, tr->n), va->n,
          count_atoms(va, 0, va->n));
  free(ct);
}

/* ---- main ---------------------------------------------------------------------------------------- */

static int read_files(const tnace_fitconfig *cfg, const tnace_fitconfig_file *files, int n, tnace_dataset *ds,
                      double rc, int skip_bad, file_stat *fs, FILE *out, char *err, size_t errlen) {
  for (int i = 0; i < n; i++) {
    const int n0 = ds->n, k0 = ds->n_skipped;
    if (out) { fprintf(out, "reading %s\n", files[i].path); fflush(out); }
    int rc2 = tnace_dataset_read_keys(ds, files[i].path, cfg->has_keys ? &cfg->keys : NULL, cfg->n_el,
                                      (const char(*)[4])cfg->elem, rc, skip_bad, err, errlen);
    if (rc2) return rc2;
    fs[i].path = files[i].path;
    fs[i].n_struct = ds->n - n0;
    fs[i].n_atoms = (int)count_atoms(ds, n0, ds->n);
    fs[i].n_skipped = ds->n_skipped - k0;
  }
  return 0;
}

int main(int argc, char **argv) {
  args a;
  int st = parse_args(argc, argv, &a);
  if (st) return st == 1 ? 0 : 2;

  char err[1024] = "";
  int status = 1;
  tnace_fitconfig cfg;
  tnace_potential *pot = NULL;
  tnace_dataset train, valid;
  file_stat *fs = NULL;
  char *cmdline = NULL;
  logcap L;
  FILE *logf = NULL;
  memset(&cfg, 0, sizeof cfg);
  memset(&train, 0, sizeof train);
  memset(&valid, 0, sizeof valid);
  memset(&L, 0, sizeof L);
  FILE *out = a.quiet ? NULL : stdout;

  if (tnace_fitconfig_read(a.config, &cfg, err, sizeof err)) {
    fprintf(stderr, PROG ": %s\n", err);
    goto done;
  }
  /* command-line overrides, also recorded in the config kept in the potential's metadata */
  {
    tnace_meta *fitm = tnace_meta_get(cfg.meta, "fit");
    if (a.threads >= 0 || a.sweeps > 0) {
      if (!fitm || fitm->kind != TNACE_META_MAP) fitm = tnace_meta_set_map(cfg.meta, "fit");
      if (!fitm) { fprintf(stderr, PROG ": out of memory\n"); goto done; }
    }
    if (a.threads >= 0) {
      cfg.opts.n_threads = a.threads;
      if (!tnace_meta_set_num(fitm, "threads", a.threads)) { fprintf(stderr, PROG ": out of memory\n"); goto done; }
    }
    if (a.sweeps > 0) {
      cfg.opts.max_sweeps = a.sweeps;
      if (!tnace_meta_set_num(fitm, "sweeps", a.sweeps)) { fprintf(stderr, PROG ": out of memory\n"); goto done; }
    }
    if (a.skip_bad) {
      cfg.skip_bad = 1;
      tnace_meta *d = tnace_meta_get(cfg.meta, "data"), *v = d ? tnace_meta_set(d, "skip_bad", "true") : NULL;
      if (v) v->quoted = 0;
    }
    if (a.output) {
      tnace_meta *o = tnace_meta_get(cfg.meta, "output");
      if (!o || o->kind != TNACE_META_MAP) o = tnace_meta_set_map(cfg.meta, "output");
      if (!o || !tnace_meta_set(o, "potential", a.output)) { fprintf(stderr, PROG ": out of memory\n"); goto done; }
    }
  }
  const char *pot_path = a.output ? a.output : cfg.out_potential;
  if (!pot_path && !a.dry_run) {
    fprintf(stderr, PROG ": %s:%d: output.potential: no potential file to write (set output.potential or use --output)\n",
            a.config, cfg.output_line > 0 ? cfg.output_line : 1);
    goto done;
  }
  char metrics_buf[4096];
  const char *metrics_path = tnace_fitconfig_metrics_path(&cfg, pot_path, metrics_buf, sizeof metrics_buf);
  /* outputs writable? (before the long part) */
  if (!a.dry_run) {
    if (tnace_check_writable(pot_path, err, sizeof err)) {
      if (a.output) fprintf(stderr, PROG ": --output: %s\n", err);
      else fprintf(stderr, PROG ": %s:%d: output.potential: %s\n", a.config, cfg.out_potential_line, err);
      goto done;
    }
    if (metrics_path) {
      if (!strcmp(metrics_path, pot_path)) {
        fprintf(stderr, PROG ": %s:%d: output.metrics: same file as the potential ('%s')\n", a.config,
                cfg.out_metrics_line ? cfg.out_metrics_line : cfg.out_potential_line, pot_path);
        goto done;
      }
      if (tnace_check_writable(metrics_path, err, sizeof err)) {
        if (cfg.out_metrics) fprintf(stderr, PROG ": %s:%d: output.metrics: %s\n", a.config, cfg.out_metrics_line, err);
        else fprintf(stderr, PROG ": metrics file (derived from the potential file name): %s\n", err);
        goto done;
      }
    }
  }

  if (tnace_fitconfig_make_potential(&cfg, &pot, err, sizeof err)) {
    fprintf(stderr, PROG ": %s: %s\n", a.config, err);
    goto done;
  }
  if (out) {
    printf("tnace-fit %s: config %s\n", TNACE_VERSION_STRING, a.config);
    fflush(stdout);
  }

  /* data */
  const double rc = tnace_potential_cutoff_max(pot);
  fs = calloc((size_t)(cfg.n_train + cfg.n_valid), sizeof *fs);
  if (!fs) { fprintf(stderr, PROG ": out of memory\n"); goto done; }
  if (read_files(&cfg, cfg.train, cfg.n_train, &train, rc, cfg.skip_bad, fs, out, err, sizeof err) ||
      read_files(&cfg, cfg.valid, cfg.n_valid, &valid, rc, cfg.skip_bad, fs + cfg.n_train, out, err, sizeof err)) {
    fprintf(stderr, PROG ": %s\n", err);
    goto done;
  }
  double e0_iso[TNACE_MAX_ELEMENTS] = {0};
  if (cfg.e0_mode == TNACE_E0_ISOLATED) {
    if (tnace_fitconfig_isolated_e0(&train, cfg.n_el, (const char(*)[4])cfg.elem, e0_iso, NULL, err, sizeof err)) {
      fprintf(stderr, PROG ": %s:%d: e0: %s\n", a.config, cfg.e0_line, err);
      goto done;
    }
    for (int s = 0; s < cfg.n_el; s++) pot->e0[s] = e0_iso[s];
  }
  const int split = cfg.n_valid == 0 && cfg.valid_fraction > 0;
  if (split && tnace_fitconfig_split(&train, &valid, cfg.valid_fraction, cfg.split_seed, err, sizeof err)) {
    fprintf(stderr, PROG ": %s: data.validation_fraction: %s\n", a.config, err);
    goto done;
  }
  if (out) {
    print_summary(stdout, &cfg, pot, &train, &valid, fs, cfg.n_train + cfg.n_valid, cfg.n_train, split, e0_iso);
    fflush(stdout);
  }
  if (a.dry_run) {
    if (out) printf("dry run: nothing fitted\n");
    status = 0;
    goto done;
  }

  /* fit */
  tnace_metrics mt, mv;
  memset(&mt, 0, sizeof mt);
  memset(&mv, 0, sizeof mv);
  logf = out;
  cfg.opts.on_sweep = on_sweep;
  cfg.opts.on_sweep_ctx = &L;
  const double t0 = now_s();
  int rc2 = tnace_fit_init(pot, cfg.opts.seed, err, sizeof err);
  if (!rc2) rc2 = tnace_fit(pot, &train, &valid, &cfg.opts, logf, &mt, &mv, err, sizeof err);
  if (logf) fflush(logf);
  const double fit_time = now_s() - t0;
  if (rc2) {
    fprintf(stderr, PROG ": fit failed: %s\n", err);
    goto done;
  }

  /* metadata */
  char date[32];
  time_t now = time(NULL);
  struct tm tmv;
  if (gmtime_r(&now, &tmv)) strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tmv);
  else snprintf(date, sizeof date, "unknown");
  cmdline = join_argv(argc, argv);
  {
    static const char *const e0_mode[] = {"auto", "fixed", "isolated"};
    tnace_meta *m = cfg.user_meta ? tnace_meta_clone(cfg.user_meta) : tnace_meta_new_map();
    tnace_meta *fc = NULL, *ds = NULL, *d = NULL, *er = NULL, *bd = NULL;
    int ok = m && tnace_meta_set(m, "generator", "tnace-fit") && tnace_meta_set(m, "tnace_version", TNACE_VERSION_STRING) &&
             tnace_meta_set(m, "date", date) && tnace_meta_set(m, "command_line", cmdline ? cmdline : "tnace-fit") &&
             tnace_meta_set(m, "e0_mode", e0_mode[cfg.e0_mode]);
    if (ok && (fc = tnace_meta_clone(cfg.meta))) {
      /* replace any user "fit_config" key by the config itself */
      tnace_meta *slot = tnace_meta_set_map(m, "fit_config");
      if (slot) {
        slot->child = fc->child;
        fc->child = NULL;
      }
      tnace_meta_free(fc);
      ok = slot != NULL;
    } else {
      ok = 0;
    }
    ok = ok && (ds = tnace_meta_set_map(m, "datasets")) && (d = tnace_meta_set_map(ds, "train")) &&
         meta_files(d, fs, cfg.n_train) && meta_int(d, "structures", train.n) &&
         meta_int(d, "atoms", count_atoms(&train, 0, train.n)) && (d = tnace_meta_set_map(ds, "validation")) &&
         tnace_meta_set(d, "source", cfg.n_valid ? "files" : split ? "split" : "none") &&
         (cfg.n_valid ? meta_files(d, fs + cfg.n_train, cfg.n_valid)
                      : !split || (meta_num(d, "fraction", cfg.valid_fraction) && meta_int(d, "seed", (long)cfg.split_seed))) &&
         meta_int(d, "structures", valid.n) && meta_int(d, "atoms", count_atoms(&valid, 0, valid.n));
    ok = ok && (er = tnace_meta_set_map(m, "errors")) && (d = tnace_meta_set_map(er, "train")) && meta_metrics(d, &mt);
    if (ok && valid.n) ok = (d = tnace_meta_set_map(er, "validation")) && meta_metrics(d, &mv);
    ok = ok && meta_int(m, "n_params", tnace_potential_n_params(pot)) && (bd = tnace_meta_set_seq(m, "terms"));
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
    ok = ok && meta_num(m, "fit_time_s", floor(fit_time * 10 + 0.5) / 10) && meta_int(m, "sweeps_run", L.n_rec) &&
         (!L.kept || meta_int(m, "kept_sweep", L.kept));
    if (!ok) {
      tnace_meta_free(m);
      fprintf(stderr, PROG ": out of memory building the metadata\n");
      goto done;
    }
    tnace_meta_free(pot->meta);
    pot->meta = m;
  }

  if (tnace_potential_save(pot, pot_path, err, sizeof err)) {
    fprintf(stderr, PROG ": %s\n", err);
    goto done;
  }
  if (metrics_path) {
    metrics_out mo = {a.config, pot_path, date, tnace_potential_n_params(pot), fit_time, &mt, &mv, valid.n > 0, &L};
    if (write_metrics_json(metrics_path, &mo, err, sizeof err)) {
      fprintf(stderr, PROG ": %s\n", err);
      goto done;
    }
  }
  if (out) {
    printf("final errors (energy RMSE meV/atom, force RMSE eV/Å, stress RMSE GPa):\n");
    printf("  train       E %.3f  F %.4f", mt.e_rmse, mt.f_rmse);
    if (mt.n_stress) printf("  S %.4f", mt.s_rmse);
    printf("\n");
    if (valid.n) {
      printf("  validation  E %.3f  F %.4f", mv.e_rmse, mv.f_rmse);
      if (mv.n_stress) printf("  S %.4f", mv.s_rmse);
      printf("\n");
    }
    printf("wrote potential %s\n", pot_path);
    if (metrics_path) printf("wrote metrics %s\n", metrics_path);
  }
  status = 0;

done:
  free(L.rec);
  free(cmdline);
  free(fs);
  tnace_dataset_free(&train);
  tnace_dataset_free(&valid);
  tnace_potential_free(pot);
  tnace_fitconfig_free(&cfg);
  return status;
}
