/*
 * tnace-eval — errors of a tnace potential on extended-XYZ reference data (energy per atom, force
 * components, stress components), overall and per config_type, as a table or one JSON object; optionally
 * the per-structure / per-atom predictions as a TSV file for tools/plot_parity.py. Manual:
 * docs/tnace-eval.md.
 *
 * Exit status: 0 success, 1 error (message "tnace-eval: ..." on stderr), 2 usage error.
 */
#include "evalstats.h"
#include "grade_fit.h"
#include "model.h"
#include "dataset.h"
#include "tnace.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "tnace-eval"

static const char *usage_text =
    "Usage: tnace-eval POTENTIAL.yaml DATA.xyz [DATA2.xyz ...] [options]\n"
    "\n"
    "Evaluate a tnace potential on extended-XYZ reference data and print the errors of energy, forces\n"
    "and stress, overall and per config_type (structures without one are grouped as \"(none)\").\n"
    "\n"
    "Options:\n"
    "  --json              print exactly one JSON object on stdout instead of the table\n"
    "  --predictions FILE  write reference and predicted values per structure and per atom to FILE\n"
    "                      (tab-separated, see docs/tnace-eval.md; input of tools/plot_parity.py)\n"
    "  --grade             also the extrapolation grade (docs/extrapolation-grade.md): per structure\n"
    "                      the largest and mean per-atom grade, summarised per config_type in the\n"
    "                      table and JSON; columns grade_max, grade_mean (S rows) and grade (F rows)\n"
    "                      of --predictions. Needs a potential with a grade section\n"
    "  --threads N         number of OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
    "  --skip-bad          skip malformed frames and structures that cannot be evaluated (counted as\n"
    "                      n_skipped) instead of failing\n"
    "  --keys Q=NAMES      extxyz key of the reference quantity Q (energy, forces, stress, virial,\n"
    "                      config_type): NAMES lists alternatives, comma-separated; repeat for several Q\n"
    "                      (defaults: docs/fit-config.md, data.keys)\n"
    "  --units U=V[,U=V]   units of the data: energy=eV|meV|eV/atom|meV/atom (per atom: times the\n"
    "                      atom count), stress=eV/A^3|GPa|kbar|bar,\n"
    "                      stress_sign=ase|pressure. Without it, stresses above 100 GPa or energies\n"
    "                      beyond +-100 eV/atom are refused as unit mistakes\n"
    "  -h, --help          show this help and exit\n"
    "  --version           print the version and exit\n"
    "\n"
    "Units: energy MAE/RMSE of (E_pred - E_ref)/N_atoms in meV/atom; forces per Cartesian component in\n"
    "eV/A; stress per independent component (xx yy zz yz xz xy) in GPa (1 eV/A^3 = 160.21766208 GPa),\n"
    "\"-\" (JSON: null) where a group has no such reference data.\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 usage error.\n";

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, PROG ": ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nTry 'tnace-eval --help' for more information.\n");
  return 2;
}

typedef struct {
  const char *potential;
  const char **data;
  int n_data;
  int json, skip_bad, threads, grade;
  const char *predictions;
  tnace_xyz_keys keys;  /* --keys, --units */
  int has_keys;
} options;

/* --keys Q=NAMES: one reference key. */
static int parse_key(options *o, const char *val) {
  static const char *const q[] = {"energy", "forces", "stress", "virial", "config_type"};
  const char **dst[] = {&o->keys.energy, &o->keys.forces, &o->keys.stress, &o->keys.virial, &o->keys.config_type};
  const char *eq = strchr(val, '=');
  for (int i = 0; eq && eq[1] && i < 5; i++)
    if ((size_t)(eq - val) == strlen(q[i]) && !strncmp(val, q[i], (size_t)(eq - val))) {
      *dst[i] = eq + 1;
      o->has_keys = 1;
      return -1;
    }
  return usage_error("--keys needs QUANTITY=NAMES with QUANTITY energy, forces, stress, virial or config_type, got '%s'",
                     val);
}

/* --units U=V[,U=V...]: declared units (extxyz.h); any of them switches the plausibility check off. */
static int parse_units(options *o, char *val) {
  char *save = NULL;
  for (char *t = strtok_r(val, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(t, '=');
    if (!eq) return usage_error("--units needs UNIT=VALUE pairs (energy=eV, stress=GPa, stress_sign=pressure), got '%s'", t);
    *eq = 0;
    const char *v = eq + 1;
    if (!strcmp(t, "energy")) {
      if (tnace_energy_unit_parse(v, &o->keys.energy_unit, &o->keys.energy_per_atom))
        return usage_error("--units energy=%s: unknown unit (eV, meV: totals; eV/atom, meV/atom: per atom)", v);
    } else if (!strcmp(t, "stress")) {
      if (tnace_stress_unit_parse(v, &o->keys.stress_unit))
        return usage_error("--units stress=%s: unknown unit (eV/A^3, GPa, kbar, bar)", v);
    } else if (!strcmp(t, "stress_sign")) {
      if (tnace_stress_sign_parse(v, &o->keys.stress_sign))
        return usage_error("--units stress_sign=%s: unknown sign (ase, pressure)", v);
    } else
      return usage_error("--units: unknown quantity '%s' (energy, stress, stress_sign)", t);
  }
  o->keys.units_declared = 1;
  o->has_keys = 1;
  return -1;
}

/* Returns -1 to continue, otherwise the exit status. */
static int parse_args(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) break;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(usage_text, stdout);
      return (fflush(stdout) || ferror(stdout)) ? 1 : 0;
    }
    if (strcmp(argv[i], "--version") == 0) {
      printf(PROG " (tnace) %s\n", TNACE_VERSION_STRING);
      return (fflush(stdout) || ferror(stdout)) ? 1 : 0;
    }
  }
  o->data = malloc((size_t)argc * sizeof *o->data);
  if (!o->data) { fprintf(stderr, PROG ": out of memory\n"); return 1; }
  int only_pos = 0, npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!only_pos && a[0] == '-' && a[1]) {
      const char *val = NULL;
      if (strcmp(a, "--") == 0) { only_pos = 1; continue; }
      if (strcmp(a, "--json") == 0) { o->json = 1; continue; }
      if (strcmp(a, "--skip-bad") == 0) { o->skip_bad = 1; continue; }
      if (strcmp(a, "--grade") == 0) { o->grade = 1; continue; }
      if (strcmp(a, "--predictions") == 0 || strcmp(a, "--threads") == 0 || strcmp(a, "--keys") == 0 ||
          strcmp(a, "--units") == 0) {
        if (i + 1 >= argc) return usage_error("option '%s' needs a value", a);
        val = argv[++i];
      } else if (strncmp(a, "--predictions=", 14) == 0 || strncmp(a, "--threads=", 10) == 0 ||
                 strncmp(a, "--keys=", 7) == 0 || strncmp(a, "--units=", 8) == 0) {
        val = strchr(a, '=') + 1;
      } else
        return usage_error("unknown option '%s'", a);
      if (strncmp(a, "--keys", 6) == 0) {
        const int st = parse_key(o, val);
        if (st >= 0) return st;
      } else if (strncmp(a, "--units", 7) == 0) {
        const int st = parse_units(o, (char *)val);
        if (st >= 0) return st;
      } else if (strncmp(a, "--predictions", 13) == 0) {
        if (!val[0]) return usage_error("%s: empty file name", "--predictions");
        o->predictions = val;
      } else {
        char *end;
        errno = 0;
        const long n = strtol(val, &end, 10);
        if (end == val || *end || errno || n < 1 || n > 4096)
          return usage_error("--threads needs an integer from 1 to 4096, got '%s'", val);
        o->threads = (int)n;
      }
      continue;
    }
    if (npos == 0) o->potential = a;
    else o->data[o->n_data++] = a;
    npos++;
  }
  if (!o->potential) return usage_error("%s", "missing POTENTIAL.yaml and DATA.xyz arguments");
  if (o->n_data == 0) return usage_error("%s", "missing DATA.xyz argument");
  return -1;
}

/* A field for the TSV file: tabs, newlines and other control characters become '_'. */
static void tsv_field(FILE *f, const char *s) {
  for (; *s; s++) fputc(((unsigned char)*s < 0x20 || *s == 0x7F) ? '_' : *s, f);
}

static void tsv_num(FILE *f, double x) {
  if (isnan(x)) fputs("\tNaN", f);
  else if (isinf(x)) fputs(x > 0 ? "\tInf" : "\t-Inf", f);
  else fprintf(f, "\t%.12g", x);
}

/* 1 if the file holds a non-whitespace character, 0 if not, -1 if it cannot be read (the reader reports
 * that). Guards --skip-bad against files without any frame: tnace_dataset_read with skip_bad keeps
 * skipping the reader's "empty file" error of such a file forever. */
static int has_content(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  int c, found = 0;
  while ((c = getc(f)) != EOF)
    if (!(c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')) { found = 1; break; }
  const int bad = ferror(f);
  fclose(f);
  return bad ? -1 : found;
}

static const int voigt[6][2] = {{0, 0}, {1, 1}, {2, 2}, {1, 2}, {0, 2}, {0, 1}};

static int write_predictions(FILE *f, const options *o, const tnace_potential *pot, const tnace_dataset *ds,
                             const tnace_eval_pred *p) {
  fputs("# tnace-eval predictions, format 1\n# potential: ", f);
  tsv_field(f, o->potential);
  fputs("\n# units: energy eV/atom, forces eV/A, stress GPa (ASE sign: tensile > 0); NaN = no such value\n", f);
  fputs("# S\tindex\tsource\tconfig_type\tn_atoms\te_ref\te_pred"
        "\tsxx_ref\tsyy_ref\tszz_ref\tsyz_ref\tsxz_ref\tsxy_ref"
        "\tsxx_pred\tsyy_pred\tszz_pred\tsyz_pred\tsxz_pred\tsxy_pred", f);
  fputs(o->grade ? "\tgrade_max\tgrade_mean\n" : "\n", f);
  fputs("# F\tindex\tatom\telement\tfx_ref\tfy_ref\tfz_ref\tfx_pred\tfy_pred\tfz_pred", f);
  fputs(o->grade ? "\tgrade\n" : "\n", f);
  for (int i = 0; i < ds->n; i++) {
    const tnace_struct *s = &ds->s[i];
    const tnace_eval_pred *q = &p[i];
    if (q->status) continue;
    fprintf(f, "S\t%d\t", i);
    tsv_field(f, s->source);
    fputc('\t', f);
    tsv_field(f, tnace_eval_group_name(s->config_type));
    fprintf(f, "\t%d", s->n);
    const int nc = s->n_count > 0 ? s->n_count : s->n;
    tsv_num(f, s->has_energy ? s->energy / nc : NAN);
    tsv_num(f, q->energy / nc);
    const int has_ref = s->has_stress && s->volume > 0;
    for (int c = 0; c < 6; c++)
      tsv_num(f, has_ref ? s->stress[voigt[c][0]][voigt[c][1]] * TNACE_EV_A3_TO_GPA : NAN);
    for (int c = 0; c < 6; c++)
      tsv_num(f, s->volume > 0 ? q->stress[voigt[c][0]][voigt[c][1]] * TNACE_EV_A3_TO_GPA : NAN);
    if (o->grade) {
      tsv_num(f, q->has_grade ? q->grade_max : NAN);
      tsv_num(f, q->has_grade ? q->grade_mean : NAN);
    }
    fputc('\n', f);
    for (int a = 0; a < s->n; a++) {
      const char *el = tnace_potential_element(pot, s->species[a]);
      fprintf(f, "F\t%d\t%d\t%s", i, a, el ? el : "?");
      for (int x = 0; x < 3; x++) tsv_num(f, (s->has_forces && s->forces) ? s->forces[a][x] : NAN);
      for (int x = 0; x < 3; x++) tsv_num(f, q->forces[a][x]);
      if (o->grade) tsv_num(f, q->has_grade ? q->grade[a] : NAN);
      fputc('\n', f);
    }
  }
  return ferror(f) ? TNACE_ERR_IO : 0;
}

/* The reader's keys and the error units for property model pot (model.h tnace_property): its key (unless --keys
 * energy= was given), per counted atom when intensive; the label "m<units>/<atom or counted species>". */
static void property_keys(const tnace_potential *pot, options *o, char *count_sp, tnace_evalstats *st) {
  const tnace_property *p = &pot->prop;
  if (!o->keys.energy) o->keys.energy = p->name;
  o->keys.energy_per_atom = p->intensive;
  for (int k = 0; k < p->n_per; k++) {
    if (k) strcat(count_sp, ",");
    strcat(count_sp, pot->elem[p->per[k]]);
  }
  o->keys.count_species = p->n_per ? count_sp : NULL;
  o->keys.units_declared = 1;
  o->has_keys = 1;
  tnace_evalstats_set_units(st, pot);
}

int main(int argc, char **argv) {
  options o;
  const int st_args = parse_args(argc, argv, &o);
  if (st_args >= 0) { free(o.data); return st_args; }

  int status = 1;
  char err[1024] = "";
  tnace_potential *pot = NULL;
  char(*elem)[4] = NULL;
  tnace_dataset ds;
  memset(&ds, 0, sizeof ds);
  tnace_eval_pred *pred = NULL;
  tnace_evalstats st;
  tnace_evalstats_init(&st);
  FILE *pf = NULL;
  int n_skipped = 0;

  if (tnace_potential_load(o.potential, &pot, err, sizeof err)) {
    fprintf(stderr, PROG ": %s\n", err[0] ? err : "cannot load the potential");
    goto done;
  }
  const int n_el = tnace_potential_n_elements(pot);
  elem = calloc((size_t)(n_el > 0 ? n_el : 1), sizeof *elem);
  if (!elem) { fprintf(stderr, PROG ": out of memory\n"); goto done; }
  for (int e = 0; e < n_el; e++) {
    const char *sym = tnace_potential_element(pot, e);
    snprintf(elem[e], sizeof elem[e], "%s", sym ? sym : "");
  }
  const double rc = tnace_potential_cutoff_max(pot);
  char count_sp[TNACE_MAX_ELEMENTS * 4 + 1] = "";
  if (tnace_potential_property(pot)) /* a property model: its target key, per counted atom, unless --keys says */
    property_keys(pot, &o, count_sp, &st);
  if (o.grade && !tnace_potential_has_grade(pot)) {
    if (tnace_potential_pool_size(pot) > 0)
      fprintf(stderr, PROG ": %s: --grade: a model with terms pooled over the structure (pool: true) has no "
                      "extrapolation grade\n", o.potential);
    else
      fprintf(stderr, PROG ": %s: --grade: the potential has no extrapolation grade (fitted without one; add it with "
                      "tnace-fit CONFIG --grade-only)\n", o.potential);
    goto done;
  }

  for (int k = 0; k < o.n_data; k++) {
    const int skipped0 = ds.n_skipped, empty0 = ds.n_empty;
    if (o.skip_bad && has_content(o.data[k]) == 0) {
      fprintf(stderr, PROG ": %s: no frames (empty file)\n", o.data[k]);
      goto done;
    }
    if (tnace_dataset_read_keys(&ds, o.data[k], o.has_keys ? &o.keys : NULL, n_el, (const char(*)[4])elem, rc,
                                o.skip_bad, err, sizeof err)) {
      fprintf(stderr, PROG ": %s\n", err[0] ? err : o.data[k]);
      goto done;
    }
    if (ds.n_empty > empty0)
      fprintf(stderr, PROG ": warning: %s: skipped %d frame%s of 0 atoms\n", o.data[k], ds.n_empty - empty0,
              ds.n_empty - empty0 == 1 ? "" : "s");
    if (ds.n_skipped > skipped0)
      fprintf(stderr, PROG ": warning: %s: skipped %d bad frame%s\n", o.data[k], ds.n_skipped - skipped0,
              ds.n_skipped - skipped0 == 1 ? "" : "s");
  }
  n_skipped = ds.n_skipped;

  const int prc = tnace_eval_predict(pot, &ds, o.threads, &pred, err, sizeof err);
  if (!pred || (prc && !o.skip_bad) || prc == TNACE_ERR_NOMEM) {
    fprintf(stderr, PROG ": %s\n", err[0] ? err : "evaluation failed");
    goto done;
  }
  if (o.grade) {
    const int grc = tnace_eval_grade(pot, &ds, o.threads, pred, err, sizeof err);
    if (grc && (!o.skip_bad || grc == TNACE_ERR_NOMEM)) {
      fprintf(stderr, PROG ": --grade: %s\n", err);
      goto done;
    }
    for (int i = 0; i < ds.n; i++)
      if (!pred[i].status && !pred[i].has_grade) {
        pred[i].status = TNACE_ERR_NUMERIC;   /* skipped below, with --skip-bad only */
        if (!pred[i].error) pred[i].error = strdup(ds.s[i].source);
      }
  }
  for (int i = 0; i < ds.n; i++) {
    if (pred[i].status) {
      fprintf(stderr, PROG ": warning: skipping %s\n", pred[i].error ? pred[i].error : ds.s[i].source);
      n_skipped++;
      continue;
    }
    if (tnace_evalstats_add_struct(&st, &ds.s[i], &pred[i])) { fprintf(stderr, PROG ": out of memory\n"); goto done; }
  }
  if (st.all.n_struct == 0) {
    fprintf(stderr, PROG ": no structure could be evaluated\n");
    goto done;
  }

  if (o.predictions) {
    pf = fopen(o.predictions, "w");
    if (!pf) {
      fprintf(stderr, PROG ": %s: cannot open for writing: %s\n", o.predictions, strerror(errno));
      goto done;
    }
    const int wrc = write_predictions(pf, &o, pot, &ds, pred);
    const int crc = fclose(pf);
    pf = NULL;
    if (wrc || crc) {
      fprintf(stderr, PROG ": %s: write error\n", o.predictions);
      goto done;
    }
  }

  if (o.json) {
    tnace_evalstats_write_json(stdout, &st, o.potential, o.data, o.n_data, n_skipped);
  } else {
    printf("# tnace-eval %s: potential %s: %ld structures, %ld atoms from %d file%s, %d skipped\n",
           TNACE_VERSION_STRING, o.potential, st.all.n_struct, st.all.n_atoms, o.n_data, o.n_data == 1 ? "" : "s",
           n_skipped);
    tnace_evalstats_write_table(stdout, &st);
  }
  if (fflush(stdout) || ferror(stdout)) {
    fprintf(stderr, PROG ": cannot write to standard output\n");
    goto done;
  }
  status = 0;

done:
  if (pf) fclose(pf);
  tnace_evalstats_free(&st);
  tnace_eval_pred_free(pred, ds.n);
  tnace_dataset_free(&ds);
  free(elem);
  tnace_potential_free(pot);
  free(o.data);
  return status;
}
