/*
 * tnace-fit — fit a tensor-network ACE potential to DFT data, as described by a YAML config
 * (docs/fit-config.md; example: examples/configs/example-fit.yaml).
 *
 *   tnace-fit CONFIG.yaml [--threads N] [--sweeps N] [--output FILE] [--skip-bad] [--dry-run] [--quiet]
 *                         [--cv K [--fold LIST] [--cv-only] [--cv-out FILE]]
 *
 * Steps: read and check the config (data files readable, outputs writable) → create the potential → read
 * the training (and validation) extxyz files, or split a seeded validation fraction off the training
 * structures → summary → tnace_fit_init + tnace_fit (one log line per sweep on stdout) → write the potential
 * with provenance metadata and a JSON metrics file. With --cv K, first K cross-validation fits (cv.h), each the
 * same procedure on the structures outside one fold, predicting that fold; the CV table is printed, written
 * to a JSON file and recorded in the final fit's metrics and metadata.
 *
 * Exit status: 0 success, 1 error (one line "tnace-fit: ..." on stderr), 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cv.h"
#include "dataset.h"
#include "fit.h"
#include "fit_report.h"
#include "fit_setup.h"
#include "fitconfig.h"
#include "model.h"
#include "tnace.h"
#include "util.h"

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
    "  --dry-run       check the config, read the data and print the summary and the estimates (rows and\n"
    "                  memory of the least squares, measured evaluation cost per atom, time per sweep\n"
    "                  measured by one sweep on a tenth of the atoms), but fit nothing\n"
    "  --quiet         print errors only\n"
    "  --cv K          k-fold cross-validation first: K fits, each on the training structures outside one\n"
    "                  fold (folds stratified by config_type, seeded by data.seed) with the config's early\n"
    "                  stopping, predicting the fold it did not see; prints the CV table (MAE mean ± s.e.\n"
    "                  over folds, per config_type), writes it as JSON, then fits the potential on all data\n"
    "  --fold LIST     with --cv: run only these folds (0-based, comma-separated, e.g. 0,2); implies --cv-only\n"
    "  --cv-only       with --cv: stop after the CV fits (no potential is written)\n"
    "  --cv-out FILE   the CV JSON file (default: the potential file with .yaml replaced by .cv.json)\n"
    "  --init POT      start from the cores of POT (same model as the config) instead of random ones:\n"
    "                  refine a potential on new or more data; POT's errors on this data are sweep 0\n"
    "  --resume        continue a fit that stopped (killed, --stop-after) from its checkpoint, the\n"
    "                  potential file with .yaml replaced by .checkpoint.yaml, at the sweep after it\n"
    "  --stop-after N  stop after sweep N, keeping the checkpoint and writing nothing else (a long fit\n"
    "                  split over jobs: continue with --resume)\n"
    "  --grade-only    fit nothing: add the extrapolation grade (config key grade:) to the potential\n"
    "                  file this config writes (output.potential or --output), from the config's\n"
    "                  training structures, and rewrite that file; for potentials fitted without one\n"
    "  Checkpoint: after every sweep that improves on the best so far, the best potential is written to\n"
    "  the .checkpoint.yaml file; it is removed once the final potential is written.\n"
    "  --help          print this help and exit\n"
    "  --version       print the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 error (config, data, fit or output), 2 bad command line.\n";

#define MAX_FOLDS 100

typedef struct {
  const char *config, *output, *cv_out;
  int threads, sweeps, skip_bad, dry_run, quiet;  /* threads/sweeps < 0: not given */
  int cv_k, cv_only;                             /* cv_k 0: no cross-validation */
  int n_folds_sel, folds_sel[MAX_FOLDS];         /* --fold; 0: all folds */
  const char *init;                              /* --init POT */
  int resume, stop_after;                        /* --resume; --stop-after N (0: not given) */
  int grade_only;                                /* --grade-only */
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

/* "0,2,4" → folds; -1 on a malformed list, a repeated fold or too many. */
static int parse_folds(const char *s, args *a) {
  char buf[512];
  if (strlen(s) >= sizeof buf) return -1;
  strcpy(buf, s);
  a->n_folds_sel = 0;
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    int v;
    if (a->n_folds_sel >= MAX_FOLDS || parse_count(t, 0, MAX_FOLDS - 1, &v)) return -1;
    for (int j = 0; j < a->n_folds_sel; j++)
      if (a->folds_sel[j] == v) return -1;
    a->folds_sel[a->n_folds_sel++] = v;
  }
  return a->n_folds_sel ? 0 : -1;
}

/* Option value v of option k (index in withval[]) into *a; 0 or a usage error's status. */
static int set_option(args *a, int k, const char *name, const char *val) {
  if (k == 0 && parse_count(val, 0, 4096, &a->threads))
    return usage_error("--threads: expected an integer 0..4096, got '%s'", val);
  if (k == 1 && parse_count(val, 1, 100000, &a->sweeps))
    return usage_error("--sweeps: expected an integer 1..100000, got '%s'", val);
  if (k == 3 && parse_count(val, 2, MAX_FOLDS, &a->cv_k))
    return usage_error("--cv: expected an integer 2..100, got '%s'", val);
  if (k == 4 && parse_folds(val, a))
    return usage_error("--fold: expected distinct fold numbers 0..99 separated by commas, got '%s'", val);
  if (k == 7 && parse_count(val, 1, 100000, &a->stop_after))
    return usage_error("--stop-after: expected an integer 1..100000, got '%s'", val);
  if ((k == 2 || k == 5 || k == 6) && !*val) return usage_error("%s: empty file name", name);
  if (k == 2) a->output = val;
  if (k == 5) a->cv_out = val;
  if (k == 6) a->init = val;
  return 0;
}

/* Combinations of options that make no sense. */
static int check_args(args *a) {
  if (!a->config) return usage_error("no config file given%s", "");
  if (a->init && a->resume) return usage_error("%s", "--init and --resume exclude each other (a resume knows its start)");
  if ((a->init || a->resume || a->stop_after) && (a->cv_k || a->dry_run))
    return usage_error("%s", "--init, --resume and --stop-after are for the final fit (not with --cv or --dry-run)");
  if (a->grade_only && (a->init || a->resume || a->stop_after || a->cv_k || a->dry_run))
    return usage_error("%s", "--grade-only fits nothing: not with --init, --resume, --stop-after, --cv or --dry-run");
  if (!a->cv_k && (a->n_folds_sel || a->cv_only || a->cv_out))
    return usage_error("%s needs --cv K", a->n_folds_sel ? "--fold" : a->cv_only ? "--cv-only" : "--cv-out");
  for (int j = 0; j < a->n_folds_sel; j++)
    if (a->folds_sel[j] >= a->cv_k) {
      char msg[64];
      snprintf(msg, sizeof msg, "%d", a->folds_sel[j]);
      return usage_error("--fold: fold %s does not exist with --cv K (folds are 0..K-1)", msg);
    }
  if (a->n_folds_sel) a->cv_only = 1;
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
    if (!strcmp(s, "--cv-only")) { a->cv_only = 1; continue; }
    if (!strcmp(s, "--resume")) { a->resume = 1; continue; }
    if (!strcmp(s, "--grade-only")) { a->grade_only = 1; continue; }
    /* options with a value: --opt VALUE or --opt=VALUE */
    static const char *const withval[] = {"--threads", "--sweeps", "--output", "--cv", "--fold", "--cv-out",
                                          "--init", "--stop-after"};
    int k = -1;
    const char *val = NULL;
    for (int j = 0; j < 8 && k < 0; j++) {
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
    const int st = set_option(a, k, withval[k], val);
    if (st) return st;
  }
  return check_args(a);
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


/* ---- steps of main ------------------------------------------------------------------------------- */

/* Everything main holds, freed in one place. */
typedef struct {
  tnace_fitconfig cfg;
  tnace_potential *pot;
  tnace_dataset train, valid;
  tnace_file_stat *fs;
  tnace_fit_history hist;
  const char *pot_path, *metrics_path, *cv_path;
  char metrics_buf[4096], cv_buf[4096], ckpt_path[4096];
  int stop_after, ckpt_failed;
  tnace_evalstats gtrain, gvalid;   /* per config_type errors of the kept potential */
  tnace_cv cv;
  int has_cv;
  int split;
  double e0_iso[TNACE_MAX_ELEMENTS];
  char err[1024];
} run;

static void run_free(run *R) {
  tnace_fit_history_free(&R->hist);
  tnace_evalstats_free(&R->gtrain);
  tnace_evalstats_free(&R->gvalid);
  tnace_cv_free(&R->cv);
  free(R->fs);
  tnace_dataset_free(&R->train);
  tnace_dataset_free(&R->valid);
  tnace_potential_free(R->pot);
  tnace_fitconfig_free(&R->cfg);
}

/* One line "tnace-fit: ..." on stderr; returns 1 (the error exit status). */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs(PROG ": ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

/* Command-line overrides, also recorded in the config kept in the potential's metadata. */
static int apply_overrides(const args *a, tnace_fitconfig *cfg) {
  tnace_meta *fitm = tnace_meta_get(cfg->meta, "fit");
  if ((a->threads >= 0 || a->sweeps > 0) && (!fitm || fitm->kind != TNACE_META_MAP))
    if (!(fitm = tnace_meta_set_map(cfg->meta, "fit"))) return fail("out of memory");
  if (a->threads >= 0) {
    cfg->opts.n_threads = a->threads;
    if (!tnace_meta_set_num(fitm, "threads", a->threads)) return fail("out of memory");
  }
  if (a->sweeps > 0) {
    cfg->opts.max_sweeps = a->sweeps;
    if (!tnace_meta_set_num(fitm, "sweeps", a->sweeps)) return fail("out of memory");
  }
  if (a->skip_bad) {
    cfg->skip_bad = 1;
    tnace_meta *d = tnace_meta_get(cfg->meta, "data"), *v = d ? tnace_meta_set(d, "skip_bad", "true") : NULL;
    if (v) v->quoted = 0;
  }
  if (a->output) {
    tnace_meta *o = tnace_meta_get(cfg->meta, "output");
    if (!o || o->kind != TNACE_META_MAP) o = tnace_meta_set_map(cfg->meta, "output");
    if (!o || !tnace_meta_set(o, "potential", a->output)) return fail("out of memory");
  }
  return 0;
}

/* The CV JSON file: named (--cv-out, else the potential file with .cv.json) and writable. */
static int check_cv_output(const args *a, run *R) {
  R->cv_path = a->cv_out;
  if (!R->cv_path && R->pot_path && !tnace_sibling_path(R->pot_path, ".cv.json", R->cv_buf, sizeof R->cv_buf))
    R->cv_path = R->cv_buf;
  if (!R->cv_path)
    return fail("%s: no file for the cross-validation results (set output.potential, --output or --cv-out)", a->config);
  if (a->dry_run) return 0;
  if (tnace_check_writable(R->cv_path, R->err, sizeof R->err)) return fail("%s: %s", a->cv_out ? "--cv-out" : "CV file", R->err);
  return 0;
}

/* The output files: named, distinct and writable (checked before the long part). */
static int check_outputs(const args *a, run *R) {
  const tnace_fitconfig *cfg = &R->cfg;
  R->pot_path = a->output ? a->output : cfg->out_potential;
  if (a->cv_k && check_cv_output(a, R)) return 1;
  if (a->cv_only) return 0;
  if (!R->pot_path && !a->dry_run)
    return fail("%s:%d: output.potential: no potential file to write (set output.potential or use --output)",
                a->config, cfg->output_line > 0 ? cfg->output_line : 1);
  R->metrics_path = tnace_fitconfig_metrics_path(cfg, R->pot_path, R->metrics_buf, sizeof R->metrics_buf);
  if (R->pot_path && tnace_sibling_path(R->pot_path, ".checkpoint.yaml", R->ckpt_path, sizeof R->ckpt_path))
    return fail("%s: file name too long for its checkpoint", R->pot_path);
  if (a->dry_run) return 0;
  if (tnace_check_writable(R->pot_path, R->err, sizeof R->err)) {
    if (a->output) return fail("--output: %s", R->err);
    return fail("%s:%d: output.potential: %s", a->config, cfg->out_potential_line, R->err);
  }
  if (!R->metrics_path) return 0;
  if (!strcmp(R->metrics_path, R->pot_path))
    return fail("%s:%d: output.metrics: same file as the potential ('%s')", a->config,
                cfg->out_metrics_line ? cfg->out_metrics_line : cfg->out_potential_line, R->pot_path);
  if (tnace_check_writable(R->metrics_path, R->err, sizeof R->err)) {
    if (cfg->out_metrics) return fail("%s:%d: output.metrics: %s", a->config, cfg->out_metrics_line, R->err);
    return fail("metrics file (derived from the potential file name): %s", R->err);
  }
  return 0;
}

static int read_files(const tnace_fitconfig *cfg, const tnace_fitconfig_file *files, int n, tnace_dataset *ds,
                      double rc, tnace_file_stat *fs, FILE *out, char *err, size_t errlen) {
  for (int i = 0; i < n; i++) {
    const int n0 = ds->n, k0 = ds->n_skipped, z0 = ds->n_empty;
    if (out) { fprintf(out, "reading %s\n", files[i].path); fflush(out); }
    int rc2 = tnace_dataset_read_keys(ds, files[i].path, cfg->has_keys ? &cfg->keys : NULL, cfg->n_el,
                                      (const char(*)[4])cfg->elem, rc, cfg->skip_bad, err, errlen);
    if (rc2) return rc2;
    fs[i].path = files[i].path;
    fs[i].n_struct = ds->n - n0;
    fs[i].n_atoms = (int)tnace_dataset_count_atoms(ds, n0, ds->n);
    fs[i].n_skipped = ds->n_skipped - k0;
    fs[i].n_empty = ds->n_empty - z0;
  }
  return 0;
}

/* The data files and E0 of isolated atoms. */
static int read_data(const args *a, run *R, FILE *out) {
  const tnace_fitconfig *cfg = &R->cfg;
  const double rc = tnace_potential_cutoff_max(R->pot);
  if (!(R->fs = calloc((size_t)(cfg->n_train + cfg->n_valid), sizeof *R->fs))) return fail("out of memory");
  if (read_files(cfg, cfg->train, cfg->n_train, &R->train, rc, R->fs, out, R->err, sizeof R->err) ||
      read_files(cfg, cfg->valid, cfg->n_valid, &R->valid, rc, R->fs + cfg->n_train, out, R->err, sizeof R->err))
    return fail("%s", R->err);
  if (cfg->e0_mode == TNACE_E0_ISOLATED) {
    if (tnace_fitconfig_isolated_e0(&R->train, cfg->n_el, (const char(*)[4])cfg->elem, R->e0_iso, NULL, R->err,
                                    sizeof R->err))
      return fail("%s:%d: e0: %s", a->config, cfg->e0_line, R->err);
    for (int s = 0; s < cfg->n_el; s++) R->pot->e0[s] = R->e0_iso[s];
  }
  return 0;
}

/* The validation split of the final fit. */
static int split_data(const args *a, run *R) {
  const tnace_fitconfig *cfg = &R->cfg;
  R->split = cfg->n_valid == 0 && cfg->valid_fraction > 0;
  if (R->split && tnace_fitconfig_split_data(cfg, &R->train, &R->valid, R->err, sizeof R->err))
    return fail("%s: data.validation_fraction: %s", a->config, R->err);
  return 0;
}

/* Write the CV JSON file (with the per-structure held-out errors). */
static int write_cv(const args *a, run *R) {
  FILE *f = fopen(R->cv_path, "w");
  if (!f) return fail("cannot write '%s': %s", R->cv_path, strerror(errno));
  fputs("{\n  \"generator\": \"tnace-fit --cv\",\n  \"tnace_version\": ", f);
  tnace_json_write_string(f, TNACE_VERSION_STRING);
  fputs(",\n  \"config\": ", f);
  tnace_json_write_string(f, a->config);
  fputs(",\n  \"cross_validation\": ", f);
  int bad = tnace_cv_write_json(f, &R->cv, &R->train, 2) != 0;
  fputs("\n}\n", f);
  bad |= ferror(f);
  if (fclose(f) != 0 || bad) return fail("cannot write '%s': %s", R->cv_path, strerror(errno));
  return 0;
}

/* The cross-validation fits (all folds, or those of --fold) of the folds made, the table, the JSON file. */
static int run_cv(const args *a, run *R, FILE *out) {
  R->has_cv = 1;
  const int nsel = a->n_folds_sel ? a->n_folds_sel : a->cv_k;
  for (int j = 0; j < nsel; j++) {
    const int i = a->n_folds_sel ? a->folds_sel[j] : j;
    if (out) {
      printf("cross-validation fold %d of %d (%d structures held out)\n", i + 1, a->cv_k, tnace_cv_fold_size(&R->cv, i));
      fflush(stdout);
    }
    if (tnace_cv_fit_fold(&R->cv, i, &R->cfg, &R->train, &R->valid, out, R->err, sizeof R->err))
      return fail("cross-validation fold %d: %s", i, R->err);
    /* after every fold, so that a run killed later keeps the folds it finished (tools/cv.py merge joins them) */
    if (j + 1 < nsel && write_cv(a, R)) return 1;
  }
  if (out) {
    tnace_cv_write_table(stdout, &R->cv);
    fflush(stdout);
  }
  if (write_cv(a, R)) return 1;
  if (out) printf("wrote cross-validation %s\n", R->cv_path);
  return 0;
}

/* --cv K: make the folds; with --dry-run print their sizes, else run the CV (run_cv). */
static int start_cv(const args *a, run *R, FILE *out) {
  if (tnace_cv_init(&R->cv, &R->train, a->cv_k, R->cfg.split_seed, R->err, sizeof R->err))
    return fail("%s: --cv: %s", a->config, R->err);
  if (!a->dry_run) return run_cv(a, R, out);
  if (!out) return 0;
  printf("cross-validation: %d folds of %d structures, stratified by config_type; held out per fold:", a->cv_k, R->cv.n);
  for (int i = 0; i < a->cv_k; i++) printf(" %d", tnace_cv_fold_size(&R->cv, i));
  printf("\n");
  return 0;
}

static void print_final(const run *R, const tnace_metrics *mt, const tnace_metrics *mv) {
  printf("final errors (energy RMSE meV/atom, force RMSE eV/Å, stress RMSE GPa):\n");
  printf("  train       E %.3f  F %.4f", mt->e_rmse, mt->f_rmse);
  if (mt->n_stress) printf("  S %.4f", mt->s_rmse);
  printf("\n");
  if (R->valid.n) {
    printf("  validation  E %.3f  F %.4f", mv->e_rmse, mv->f_rmse);
    if (mv->n_stress) printf("  S %.4f", mv->s_rmse);
    printf("\n");
  }
  printf("wrote potential %s\n", R->pot_path);
  if (R->metrics_path) printf("wrote metrics %s\n", R->metrics_path);
}

/* Write the current (best so far) cores to the checkpoint file, with the config and the sweep in its metadata.
 * A failed write is reported once and does not stop the fit. */
static void write_checkpoint(run *R, int sweep) {
  tnace_meta *keep = R->pot->meta, *m = tnace_meta_clone(R->cfg.meta);
  tnace_meta *c = m ? tnace_meta_set_map(m, "checkpoint") : NULL;
  char err[1024];
  int ok = c && tnace_meta_set_num(c, "sweep", sweep) && tnace_meta_set(c, "config", R->cfg.config_path);
  if (ok) {
    R->pot->meta = m;
    ok = !tnace_potential_save(R->pot, R->ckpt_path, err, sizeof err);
    R->pot->meta = keep;
  } else
    snprintf(err, sizeof err, "out of memory");
  tnace_meta_free(m);
  if (!ok && !R->ckpt_failed) fprintf(stderr, PROG ": warning: checkpoint not written: %s\n", err);
  R->ckpt_failed |= !ok;
}

/* Per sweep: the history, the checkpoint when the sweep is the best so far, and --stop-after. */
static void on_sweep(const tnace_sweep_info *si, void *ctx) {
  run *R = ctx;
  tnace_fit_history_record(si, &R->hist);
  if (si->final) return;
  if (si->is_best) write_checkpoint(R, si->sweep);
  if (R->stop_after && si->sweep >= R->stop_after) {
    printf("stopped after sweep %d (--stop-after); the best so far is in %s: continue with --resume\n", si->sweep,
           R->ckpt_path);
    fflush(stdout);
    exit(R->ckpt_failed ? 1 : 0);
  }
}

/* The starting cores: random (seeded), or those of --init POT or of the checkpoint (--resume), which then
 * compete with the sweeps for the kept potential; a resume continues at the sweep after its checkpoint. */
static int start_cores(const args *a, run *R, FILE *out) {
  const char *from = a->init ? a->init : a->resume ? R->ckpt_path : NULL;
  if (!from) return tnace_fit_init(R->pot, R->cfg.opts.seed, R->err, sizeof R->err) ? fail("%s", R->err) : 0;
  tnace_potential *src = NULL;
  if (tnace_potential_load(from, &src, R->err, sizeof R->err))
    return fail("%s%s", R->err, a->resume ? " (--resume needs the checkpoint of an earlier run of this config)" : "");
  int rc = tnace_fit_init_from(R->pot, src, from, R->err, sizeof R->err), sweep = 0;
  if (!rc && a->resume) {
    const tnace_meta *c = tnace_meta_get(src->meta, "checkpoint"), *s = c ? tnace_meta_get(c, "sweep") : NULL;
    char *end = NULL;
    sweep = s && s->value ? (int)strtol(s->value, &end, 10) : 0;
    if (!s || !s->value || *end || sweep < 0) {
      snprintf(R->err, sizeof R->err, "%s: no checkpoint.sweep in its metadata: not a checkpoint", from);
      rc = TNACE_ERR_PARSE;
    }
  }
  tnace_potential_free(src);
  if (rc) return fail("%s", R->err);
  R->cfg.opts.start_is_candidate = 1;
  R->cfg.opts.first_sweep = sweep + 1;
  if (out) printf("starting from %s%s (sweep %d below: its errors on this data)\n", from,
                  a->resume ? ", the checkpoint" : "", sweep);
  return 0;
}

/* --dry-run: the size of the least-squares problem and the measured cost of the model. Rows: one per
 * energy, 3 per sampled atom (fit.force_fraction), 6 per stress, as tnace_fit plans them (fit_rows.c);
 * the stored rows take rows × tnace_fit_row_bytes (the U-space columns of every chain at a copy level:
 * wider than any one site), streamed in chunks of at most fit.max_rows_mb. The evaluator's cost per atom (energy, forces, virial; one thread, no neighbour
 * list) is timed on the training structures for about a second: LAMMPS adds its neighbour lists. */
/* Time per sweep, measured: one real sweep (the config's model, settings and threads, random cores) on evenly
 * spaced training structures holding about a tenth of the atoms (at least 5 structures), scaled by atoms; the
 * row construction, which dominates, is linear in atoms. The cores of R->pot are overwritten (dry run). */
static void print_sweep_estimate(run *R, FILE *out) {
  const tnace_dataset *ds = &R->train;
  const long total = tnace_dataset_count_atoms(ds, 0, ds->n);
  int *fold = malloc((size_t)(ds->n > 0 ? ds->n : 1) * sizeof(int));
  tnace_dataset sub = {0}, rest = {0};
  if (!fold || total <= 0) { free(fold); return; }
  const int every = ds->n / 5 < 1 ? 1 : ds->n / 5 < 10 ? ds->n / 5 : 10;   /* a tenth, ≥ 5 structures */
  long atoms = 0;
  for (int i = 0; i < ds->n; i++) {
    fold[i] = i % every != 0;
    if (!fold[i]) atoms += ds->s[i].n;
  }
  tnace_fit_opts o = R->cfg.opts;
  o.max_sweeps = 1;
  o.on_sweep = NULL;
  o.first_sweep = 0;
  o.start_is_candidate = 0;
  char err[256];
  double dt = -1.0;
  if (!tnace_cv_view(ds, fold, 1, &sub, &rest, NULL) && !tnace_fit_init(R->pot, o.seed, err, sizeof err)) {
    const double t0 = tnace_now_s();
    if (!tnace_fit(R->pot, &sub, NULL, &o, NULL, NULL, NULL, err, sizeof err)) dt = tnace_now_s() - t0;
  }
  if (dt >= 0) {
    const double per = dt * (double)total / (double)atoms;
    fprintf(out, "  fit: about %.2g s per sweep, %d sweeps at most: about %.1f min (one sweep on %d of %d structures, "
            "%ld of %ld atoms, took %.1f s on %d thread%s; scaled by atoms)\n", per, R->cfg.opts.max_sweeps,
            per * R->cfg.opts.max_sweeps / 60.0, sub.n, ds->n, atoms, total, dt, o.n_threads,
            o.n_threads == 1 ? "" : "s (0: all)");
  }
  tnace_dataset_view_free(&sub);
  tnace_dataset_view_free(&rest);
  free(fold);
}

static void print_estimates(run *R, FILE *out) {
  const tnace_fit_opts *o = &R->cfg.opts;
  const tnace_dataset *ds = &R->train;
  long ne = 0, nf = 0, ns = 0;
  for (int i = 0; i < ds->n; i++) {
    const tnace_struct *s = &ds->s[i];
    ne += s->has_energy && o->kappa_e > 0;
    if (s->has_forces && o->kappa_f > 0) {
      long want = (long)ceil(o->force_fraction * s->n);
      nf += 3 * (want < 1 ? 1 : want > s->n ? s->n : want);
    }
    ns += 6L * (s->has_stress && o->kappa_s > 0);
  }
  size_t cols = 0;
  for (int t = 0; t < R->pot->n_terms; t++)
    for (int e = 0; e < R->pot->n_el; e++)
      for (int l = 0; l < tnace_n_layers(R->pot, t); l++) {
        const tnace_tn *tn = tnace_layer(R->pot, e, t, l);
        for (int k = 0; k < 3 * tn->nu; k++)
          if (tn_core_size(tn, k) > cols) cols = tn_core_size(tn, k);
      }
  const double mb = (double)(ne + nf + ns) * tnace_fit_row_bytes(R->pot) / 1048576.0;
  const int chunks = (int)ceil(mb / o->max_rows_mb);
  fprintf(out, "estimates:\n  least squares: %ld rows (%ld energies, %ld force components of %g of the atoms, "
          "%ld stress components) x up to %zu columns per site: about %.0f MB of stored rows (streamed in %d chunk%s, "
          "fit.max_rows_mb %g)\n", ne + nf + ns, ne, nf, o->force_fraction, ns, cols + R->pot->n_el, mb,
          chunks, chunks > 1 ? "s" : "", o->max_rows_mb);
  if (chunks > 1)   /* several chunks: every site of a copy rebuilds the rows (fit.h), the slow part of a sweep */
    fprintf(out, "  several chunks rebuild the rows for each of a copy's three sites: fit.max_rows_mb %.0f (if the "
            "memory allows) would keep them in one\n", ceil(mb * 1.05 / 100.0) * 100.0);
  tnace_workspace *ws = tnace_workspace_new(R->pot, 64);
  double (*f)[3] = NULL, st[3][3], E;
  long atoms = 0;
  int n = 0, rc = 0;
  const double t0 = tnace_now_s();
  for (int i = 0; ws && !rc && i < ds->n && (n < 3 || tnace_now_s() - t0 < 1.0); i++, n++) {
    double(*g)[3] = realloc(f, (size_t)ds->s[i].n * sizeof *f);
    if (!g) break;
    f = g;
    rc = tnace_struct_eval(R->pot, ws, &ds->s[i], &E, f, st, NULL);
    atoms += ds->s[i].n;
  }
  const double dt = tnace_now_s() - t0;
  if (!rc && atoms > 0)
    fprintf(out, "  evaluation: %.1f µs per atom for energy, forces and virial (measured on %d training "
            "structures, one thread, cores unfitted; LAMMPS adds its neighbour lists)\n", 1e6 * dt / atoms, n);
  free(f);
  tnace_workspace_free(ws);
  print_sweep_estimate(R, out);
}

/* Errors of the kept potential per config_type on ds (evalstats.h), into st (initialised here). */
static int group_errors(run *R, const tnace_dataset *ds, tnace_evalstats *st) {
  tnace_evalstats_init(st);
  tnace_evalstats_set_units(st, R->pot);
  tnace_eval_pred *p = NULL;
  int rc = tnace_eval_predict(R->pot, ds, R->cfg.opts.n_threads, &p, R->err, sizeof R->err);
  for (int i = 0; !rc && i < ds->n; i++) rc = tnace_evalstats_add_struct(st, &ds->s[i], &p[i]);
  tnace_eval_pred_free(p, ds->n);
  return rc;
}

/* The extrapolation grade of R->pot from the training structures (grade_fit.h), unless grade.size is 0. */
static int add_grade(run *R, FILE *out) {
  if (R->cfg.grade.size <= 0) return 0;
  if (tnace_potential_pool_size(R->pot) > 0) { /* an environment's features depend on its whole structure */
    if (out) printf("no extrapolation grade: the model has terms pooled over the structure (pool: true)\n");
    return 0;
  }
  tnace_grade_opts g = R->cfg.grade;
  g.threads = R->cfg.opts.n_threads;
  tnace_grade_report rep;
  const double t0 = tnace_now_s();
  if (tnace_grade_build(R->pot, &R->train, NULL, 0, &g, &rep, R->err, sizeof R->err)) return fail("%s", R->err);
  for (int a = 0; out && a < R->pot->n_el; a++)
    printf("extrapolation grade %s: %d of %d tangent features, active set from %ld training environments, "
           "largest training grade %.3f (%d MaxVol swaps)\n", tnace_potential_element(R->pot, a), rep.m[a], rep.D[a],
           rep.n_env[a], rep.gmax[a], rep.swaps[a]);
  if (out) printf("extrapolation grade built in %.1f s\n", tnace_now_s() - t0);
  return 0;
}

/* --grade-only: the potential this config writes, given its extrapolation grade, written back. */
static int grade_only(run *R, FILE *out) {
  tnace_potential *p = NULL;
  if (tnace_potential_load(R->pot_path, &p, R->err, sizeof R->err)) return fail("%s", R->err);
  int same = tnace_potential_n_elements(p) == R->cfg.n_el;
  for (int a = 0; same && a < R->cfg.n_el; a++) same = !strcmp(tnace_potential_element(p, a), R->cfg.elem[a]);
  if (!same) {
    tnace_potential_free(p);
    return fail("%s: its elements differ from the config's (same elements in the same order needed)", R->pot_path);
  }
  if (tnace_potential_pool_size(p) > 0) {
    tnace_potential_free(p);
    return fail("%s: --grade-only: a model with terms pooled over the structure (pool: true) has no extrapolation "
                "grade", R->pot_path);
  }
  if (R->cfg.grade.size <= 0) R->cfg.grade.size = 128;   /* asked for explicitly */
  tnace_potential_free(R->pot);
  R->pot = p;
  if (add_grade(R, out)) return 1;
  if (tnace_potential_save(R->pot, R->pot_path, R->err, sizeof R->err)) return fail("%s", R->err);
  if (out) printf("wrote %s with its extrapolation grade\n", R->pot_path);
  return 0;
}

/* Fit, then write the potential with its metadata and the metrics file. */
static int fit_and_write(const args *a, run *R, tnace_fit_record *rec, FILE *out, int argc, char **argv) {
  R->cfg.opts.on_sweep = on_sweep;
  R->cfg.opts.on_sweep_ctx = R;
  R->stop_after = a->stop_after;
  if (start_cores(a, R, out)) return 1;
  const double t0 = tnace_now_s();
  int rc = tnace_fit(R->pot, &R->train, &R->valid, &R->cfg.opts, out, &rec->train_m, &rec->valid_m, R->err, sizeof R->err);
  if (out) fflush(out);
  rec->fit_time_s = tnace_now_s() - t0;
  if (rc) return fail("fit failed: %s", R->err);
  if (group_errors(R, &R->train, &R->gtrain) || (R->valid.n && group_errors(R, &R->valid, &R->gvalid)))
    return fail("evaluating the kept potential: %s", R->err);
  rec->groups_train = &R->gtrain;
  rec->groups_valid = R->valid.n ? &R->gvalid : NULL;
  if (add_grade(R, out)) return 1;
  if (out) {
    printf("final errors per config_type, training structures (MAE; energy meV/atom, forces eV/Å, stress GPa):\n");
    tnace_evalstats_write_table(stdout, &R->gtrain);
    if (R->valid.n) {
      printf("validation structures:\n");
      tnace_evalstats_write_table(stdout, &R->gvalid);
    }
  }
  char date[32];
  time_t now = time(NULL);
  struct tm tmv;
  if (gmtime_r(&now, &tmv)) strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tmv);
  else snprintf(date, sizeof date, "unknown");
  char *cmdline = join_argv(argc, argv);
  rec->date = date;
  rec->command_line = cmdline;
  tnace_meta *m = NULL;
  rc = tnace_fit_metadata(rec, R->pot, &m);
  free(cmdline);
  rec->command_line = NULL;
  if (!rc && a->init && !tnace_meta_set(m, "initial_potential", a->init)) rc = TNACE_ERR_NOMEM;
  if (!rc && a->resume && !tnace_meta_set_num(m, "resumed_after_sweep", R->cfg.opts.first_sweep - 1)) rc = TNACE_ERR_NOMEM;
  if (rc) {
    tnace_meta_free(m);
    return fail("out of memory building the metadata");
  }
  tnace_meta_free(R->pot->meta);
  R->pot->meta = m;
  if (tnace_potential_save(R->pot, R->pot_path, R->err, sizeof R->err)) return fail("%s", R->err);
  if (R->metrics_path &&
      tnace_fit_write_metrics(R->metrics_path, rec, tnace_potential_n_params(R->pot), R->err, sizeof R->err))
    return fail("%s", R->err);
  if (out) print_final(R, &rec->train_m, &rec->valid_m);
  if (R->ckpt_path[0]) remove(R->ckpt_path);   /* superseded by the final potential */
  return 0;
}

int main(int argc, char **argv) {
  args a;
  int st = parse_args(argc, argv, &a);
  if (st) return st == 1 ? 0 : 2;
  run *R = calloc(1, sizeof *R);
  if (!R) return fail("out of memory");
  FILE *out = a.quiet ? NULL : stdout;
  int status = 1;
  if (tnace_fitconfig_read(a.config, &R->cfg, R->err, sizeof R->err)) {
    fail("%s", R->err);
    goto done;
  }
  if (apply_overrides(&a, &R->cfg) || check_outputs(&a, R)) goto done;
  if (tnace_fitconfig_make_potential(&R->cfg, &R->pot, R->err, sizeof R->err)) {
    fail("%s: %s", a.config, R->err);
    goto done;
  }
  if (out) {
    printf("tnace-fit %s: config %s\n", TNACE_VERSION_STRING, a.config);
    fflush(stdout);
  }
  if (read_data(&a, R, out)) goto done;
  if (tnace_fitconfig_check_quantities(&R->cfg, a.config, &R->train, &R->valid, out, R->err, sizeof R->err)) {
    fail("%s", R->err);
    goto done;
  }
  if (a.cv_k && start_cv(&a, R, out)) goto done;
  if (a.cv_only && !a.dry_run) {
    status = 0;
    goto done;
  }
  if (split_data(&a, R)) goto done;
  if (a.grade_only) {
    status = grade_only(R, out);
    goto done;
  }
  tnace_fit_record rec = {&R->cfg, a.config, R->pot_path, NULL, NULL, &R->train, &R->valid, R->fs, R->split,
                          0.0, {0}, {0}, &R->hist, R->has_cv ? &R->cv : NULL, NULL, NULL};
  if (out) {
    tnace_fit_print_summary(stdout, &rec, R->pot, R->e0_iso);
    fflush(stdout);
  }
  if (a.dry_run) {
    if (out) print_estimates(R, out);
    if (out) printf("dry run: nothing fitted\n");
    status = 0;
    goto done;
  }
  status = fit_and_write(&a, R, &rec, out, argc, argv);
done:
  run_free(R);
  free(R);
  return status;
}
