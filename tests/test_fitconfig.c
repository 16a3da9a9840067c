/*
 * test_fitconfig.c — the tnace-fit configuration (src/fit/fitconfig.h):
 *  - every malformed config in tests/data/fitconfig/ is rejected with the right code and a message
 *    "<file>:<line>: <key path>: <what>" (unknown keys at every level, types, ranges, elements, files, ...);
 *  - full.yaml (every key set) and minimal.yaml (defaults) parse into the expected struct, and the config
 *    is kept as a metadata tree; the example config examples/configs/example-fit.yaml parses;
 *  - the helpers of fit_setup.h: potential from the config, metrics path, output check, seeded validation
 *    split, E0 of isolated atoms; extxyz key names (tnace_dataset_read_keys).
 *
 * With arguments `--check-fit CONFIG POTENTIAL METRICS` it instead checks the result of a real tnace-fit run
 * (tests/fitcli.cmake): the potential loads, its metadata holds the fit provenance, and its errors on the
 * validation structures (re-split from the config's data with the same seed) equal the recorded ones.
 */
#define _POSIX_C_SOURCE 200809L
#include "dataset.h"
#include "fit_setup.h"
#include "fitconfig.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DATA TNACE_SOURCE_DIR "/tests/data/fitconfig/"
/* A limit of tnace_limits.h as text, for expected messages. */
#define STR_(x) #x
#define STR(x) STR_(x)

typedef struct {
  const char *file;
  int code;
  const char *msg;   /* must appear in the message, after the directory */
} bad_case;

static const bad_case BAD[] = {
    {"unknown_key.yaml", TNACE_ERR_PARSE, "unknown_key.yaml:10: fit.sweps: unknown key (allowed: lambda,"},
    {"unknown_top_key.yaml", TNACE_ERR_PARSE, "unknown_top_key.yaml:3: cutof: unknown key (allowed: elements,"},
    {"unknown_term_key.yaml", TNACE_ERR_PARSE, "unknown_term_key.yaml:5: terms[0].lamx: unknown key"},
    {"unknown_data_key.yaml", TNACE_ERR_PARSE, "unknown_data_key.yaml:9: data.validaton: unknown key"},
    {"keys_unknown.yaml", TNACE_ERR_PARSE, "keys_unknown.yaml:9: data.keys.enrgy: unknown key"},
    {"bad_nu.yaml", TNACE_ERR_VALUE, "bad_nu.yaml:6: terms[1].nu: 5 is out of range (1..4)"},
    {"unknown_element.yaml", TNACE_ERR_ELEMENT, "unknown_element.yaml:2: elements[1]: unknown element 'Xx'"},
    {"lowercase_element.yaml", TNACE_ERR_ELEMENT,
     "lowercase_element.yaml:2: elements[0]: unknown element 'cu' (did you mean 'Cu'?)"},
    {"duplicate_element.yaml", TNACE_ERR_VALUE, "duplicate_element.yaml:2: elements[2]: duplicate element 'Cu'"},
    {"negative_weight.yaml", TNACE_ERR_VALUE, "negative_weight.yaml:9: loss.forces: must be >= 0 (got -0.01)"},
    {"negative_ct_weight.yaml", TNACE_ERR_VALUE,
     "negative_ct_weight.yaml:10: loss.config_type_weights.Vacancy: must be >= 0 (got -2)"},
    {"bad_ct_weight_key.yaml", TNACE_ERR_PARSE, "bad_ct_weight_key.yaml:10: loss.config_type_weights.Vacancy.enrgy: unknown key"},
    {"negative_ct_weight_q.yaml", TNACE_ERR_VALUE,
     "negative_ct_weight_q.yaml:10: loss.config_type_weights.Vacancy.forces: must be >= 0 (got -1)"},
    {"zero_weights.yaml", TNACE_ERR_VALUE, "zero_weights.yaml:9: loss: the energy, forces and stress weights are all 0"},
    {"missing_train.yaml", TNACE_ERR_IO,
     "missing_train.yaml:8: data.train: cannot read 'no_such_file.xyz' (resolved to '"},
    {"missing_train_list.yaml", TNACE_ERR_IO, "missing_train_list.yaml:8: data.train[1]: cannot read 'missing.xyz'"},
    {"missing_validation.yaml", TNACE_ERR_IO,
     "missing_validation.yaml:11: data.validation[1]: cannot read 'nowhere/valid.xyz'"},
    {"train_is_dir.yaml", TNACE_ERR_IO, "train_is_dir.yaml:8: data.train: '.' (resolved to '"},
    {"wrong_type.yaml", TNACE_ERR_PARSE, "wrong_type.yaml:10: fit.sweeps: expected an integer, got 'ten'"},
    {"wrong_type_terms.yaml", TNACE_ERR_PARSE, "wrong_type_terms.yaml:4: terms: expected a sequence"},
    {"wrong_type_cutoff.yaml", TNACE_ERR_PARSE, "wrong_type_cutoff.yaml:3: cutoff: expected a number (Å)"},
    {"float_int.yaml", TNACE_ERR_PARSE, "float_int.yaml:5: terms[0].nmax: expected an integer, got '4.5'"},
    {"output_type.yaml", TNACE_ERR_PARSE, "output_type.yaml:11: output.potential: expected a string, got a sequence"},
    {"metadata_scalar.yaml", TNACE_ERR_PARSE, "metadata_scalar.yaml:11: metadata: expected a mapping, got 'hello'"},
    {"missing_terms.yaml", TNACE_ERR_PARSE, "missing_terms.yaml:2: terms: missing required key"},
    {"missing_train_key.yaml", TNACE_ERR_PARSE, "missing_train_key.yaml:8: data.train: missing required key"},
    {"missing_lmax.yaml", TNACE_ERR_PARSE, "missing_lmax.yaml:6: terms[1].lmax: missing required key (nu = 2)"},
    {"lmax_range.yaml", TNACE_ERR_VALUE, "lmax_range.yaml:6: terms[1].lmax: 21 is out of range (0..20)"},
    {"nu1_lmax.yaml", TNACE_ERR_VALUE, "nu1_lmax.yaml:5: terms[0].lmax: a nu = 1 term has only l = 0"},
    {"nmax_zero.yaml", TNACE_ERR_VALUE,
     "nmax_zero.yaml:5: terms[0].nmax: 0 is out of range (1.." STR(TNACE_MAX_NMAX) ")"},
    {"chi_zero.yaml", TNACE_ERR_VALUE, "chi_zero.yaml:6: terms[1].chi: 0 is out of range (1.."},
    /* model sizes are bounded by tnace_limits.h, as in the potential reader */
    {"chi_too_big.yaml", TNACE_ERR_VALUE,
     "chi_too_big.yaml:6: terms[1].chi: 5000 is out of range (1.." STR(TNACE_MAX_BOND) ")"},
    {"rank_too_big.yaml", TNACE_ERR_VALUE,
     "rank_too_big.yaml:6: terms[1].rank: 5000 is out of range (1.." STR(TNACE_MAX_BOND) ")"},
    {"chi_start_too_big.yaml", TNACE_ERR_VALUE,
     "chi_start_too_big.yaml:10: fit.chi_start: 5000 is out of range (1.." STR(TNACE_MAX_BOND) ")"},
    {"shrink_negative.yaml", TNACE_ERR_VALUE, "shrink_negative.yaml:10: fit.species_shrink: must be >= 0 (got -1e-3)"},
    {"shrink_unary.yaml", TNACE_ERR_VALUE, "shrink_unary.yaml:10: fit.species_shrink: shrinks the interaction of centre "
     "and neighbour species: it needs several elements (this config has one)"},
    {"bad_model.yaml", TNACE_ERR_VALUE, "bad_model.yaml:6: terms[1].model: unknown model 'peps' (supported: mps, mpo, embed)"},
    {"embed_rank1.yaml", TNACE_ERR_VALUE, "embed_rank1.yaml:6: terms[1].rank: 1 is out of range (2.." STR(TNACE_MAX_BOND) ")"},
    {"embed_scale.yaml", TNACE_ERR_VALUE, "embed_scale.yaml:6: terms[1].scale: -1 eV: must be in (0, 10000]"},
    {"scale_mps.yaml", TNACE_ERR_VALUE, "scale_mps.yaml:6: terms[1].scale: scale is the energy (eV) where the read-out"},
    {"pool_no_property.yaml", TNACE_ERR_VALUE, "pool_no_property.yaml:6: terms[].pool: a term pooled over the structure makes a property model"},
    {"pool_mps.yaml", TNACE_ERR_VALUE, "pool_mps.yaml:4: terms[0].pool: pool: true is for model: mpo"},
    {"shared_srank.yaml", TNACE_ERR_VALUE, "shared_srank.yaml:4: terms[0].shared: shared cores (one set for every centre element) do not go with species_rank"},
    {"too_many_terms.yaml", TNACE_ERR_VALUE, "too_many_terms.yaml:13: terms: too many terms (at most 8)"},
    {"cutoff_negative.yaml", TNACE_ERR_VALUE, "cutoff_negative.yaml:3: cutoff: must be > 0 (got -1)"},
    {"cutoff_huge.yaml", TNACE_ERR_VALUE, "cutoff_huge.yaml:3: cutoff: 1e300 Å is out of range (0..50 Å)"},
    {"cutoff_pair_missing.yaml", TNACE_ERR_VALUE, "cutoff_pair_missing.yaml:3: cutoff: no cutoff for the pair Ni-Ni"},
    {"cutoff_pair_element.yaml", TNACE_ERR_ELEMENT,
     "cutoff_pair_element.yaml:3: cutoff.Cu-Ag: 'Ag' is not one of the elements"},
    {"cutoff_pair_twice.yaml", TNACE_ERR_PARSE, "cutoff_pair_twice.yaml:6: cutoff.Ni-Cu: pair given twice (also at line 5)"},
    {"cutoff_pair_syntax.yaml", TNACE_ERR_PARSE, "cutoff_pair_syntax.yaml:3: cutoff.CuCu: expected a pair of elements"},
    {"e0_missing_element.yaml", TNACE_ERR_VALUE, "e0_missing_element.yaml:3: e0: no value for Ni"},
    {"e0_bad_word.yaml", TNACE_ERR_PARSE, "e0_bad_word.yaml:3: e0: expected auto, isolated or a mapping"},
    {"e0_unknown_element.yaml", TNACE_ERR_ELEMENT, "e0_unknown_element.yaml:3: e0.Ag: 'Ag' is not one of the elements"},
    {"fraction_range.yaml", TNACE_ERR_VALUE, "fraction_range.yaml:9: data.validation_fraction: must be in [0, 1)"},
    {"fraction_and_files.yaml", TNACE_ERR_VALUE,
     "fraction_and_files.yaml:10: data.validation_fraction: give validation files or a validation fraction, not both"},
    {"valid_is_train.yaml", TNACE_ERR_VALUE, "valid_is_train.yaml:9: data.validation: 'Cu_tiny.xyz' is also a training file"},
    {"duplicate_key.yaml", TNACE_ERR_PARSE, "duplicate_key.yaml:11: cutoff: duplicate key (first at line 3)"},
    {"syntax.yaml", TNACE_ERR_PARSE, "syntax.yaml:7: terms[1]: YAML syntax error"},
    {"r_min_too_big.yaml", TNACE_ERR_VALUE, "r_min_too_big.yaml:4: r_min: 6 must be smaller than the cutoff 5"},
    {"repulsion_order.yaml", TNACE_ERR_VALUE, "repulsion_order.yaml:4: repulsion.outer: must be larger than inner"},
    {"repulsion_type.yaml", TNACE_ERR_VALUE, "repulsion_type.yaml:4: repulsion.type: unknown repulsion 'lj'"},
    {"repulsion_missing.yaml", TNACE_ERR_PARSE, "repulsion_missing.yaml:4: repulsion.outer: missing required key"},
    {"nan_value.yaml", TNACE_ERR_VALUE, "nan_value.yaml:4: radial.lambda: NaN/Inf not allowed (got '.nan')"},
    {"bad_bool.yaml", TNACE_ERR_PARSE, "bad_bool.yaml:9: data.skip_bad: expected true or false, got 'maybe'"},
    {"force_fraction.yaml", TNACE_ERR_VALUE, "force_fraction.yaml:10: fit.force_fraction: must be in (0, 1]"},
    {"negative_seed.yaml", TNACE_ERR_VALUE, "negative_seed.yaml:9: data.seed: must be >= 0 (got -1)"},
    {"empty_train_list.yaml", TNACE_ERR_VALUE, "empty_train_list.yaml:8: data.train: at least one file is required"},
    {"alias.yaml", TNACE_ERR_PARSE, "alias.yaml:9: loss.forces: YAML aliases (*w) are not supported"},
    {"empty.yaml", TNACE_ERR_PARSE, "empty.yaml: empty config"},
    {"top_sequence.yaml", TNACE_ERR_PARSE, "top_sequence.yaml:2: expected a mapping"},
    {"no_such_config.yaml", TNACE_ERR_IO, "no_such_config.yaml: cannot open: No such file or directory"},
};

static void test_bad(void) {
  for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
    char path[1024], err[1024] = "";
    snprintf(path, sizeof path, DATA "%s", BAD[i].file);
    tnace_fitconfig c;
    memset(&c, 0x5a, sizeof c); /* the reader must not rely on a zeroed struct */
    int rc = tnace_fitconfig_read(path, &c, err, sizeof err);
    CHECK(rc == BAD[i].code, "%s: code %d, expected %d (%s)", BAD[i].file, rc, BAD[i].code, err);
    CHECK(strncmp(err, DATA, strlen(DATA)) == 0 && strstr(err, BAD[i].msg) == err + strlen(DATA),
          "%s: message\n  '%s'\nshould be\n  '" DATA "%s...'", BAD[i].file, err, BAD[i].msg);
    CHECK(c.meta == NULL && c.train == NULL && c.n_el == 0, "%s: cfg not emptied after an error", BAD[i].file);
    tnace_fitconfig_free(&c); /* harmless */
  }
}

static void test_full(void) {
  tnace_fitconfig c;
  char err[1024];
  int rc = tnace_fitconfig_read(DATA "full.yaml", &c, err, sizeof err);
  CHECK(rc == 0, "full.yaml: %s", err);
  if (rc) return;
  CHECK(c.n_el == 2 && !strcmp(c.elem[0], "Cu") && !strcmp(c.elem[1], "Ni"), "elements");
  CHECK(c.e0_mode == TNACE_E0_FIXED && c.e0[0] == -0.25 && c.e0[1] == -0.5, "e0 %g %g", c.e0[0], c.e0[1]);
  CHECK(c.rcut[0][0] == 5.0 && c.rcut[0][1] == 4.5 && c.rcut[1][0] == 4.5 && c.rcut[1][1] == 4.75, "cutoffs");
  CHECK(c.lambda == 3.5 && c.r_min == 0.5, "lambda %g r_min %g", c.lambda, c.r_min);
  CHECK(c.rep_type == TNACE_REP_ZBL && c.rep_inner == 0.75 && c.rep_outer == 1.5, "repulsion");
  CHECK(c.n_terms == 4, "n_terms %d", c.n_terms);
  const int want[4][4] = {{1, 0, 5, 2}, {2, 3, 4, 6}, {3, 2, 3, 5}, {4, 1, 2, 3}};
  for (int t = 0; t < 4 && t < c.n_terms; t++)
    CHECK(c.spec[t].nu == want[t][0] && c.spec[t].lmax == want[t][1] && c.spec[t].nmax == want[t][2] &&
              c.spec[t].chi == want[t][3] && c.spec[t].model == TNACE_MODEL_MPS,
          "term %d", t);
  CHECK(c.n_train == 2 && !strcmp(c.train[0].given, "Cu_tiny.xyz") && !strcmp(c.train[1].given, "custom_keys.xyz"),
        "train files");
  CHECK(c.n_train == 2 && !strcmp(c.train[0].path, DATA "Cu_tiny.xyz") && c.train[0].line == 18 && c.train[1].line == 19,
        "train path '%s' resolved against the config directory, lines %d %d", c.train[0].path, c.train[0].line,
        c.train[1].line);
  CHECK(c.n_valid == 1 && !strcmp(c.valid[0].path, DATA "mixed_elements.xyz"), "validation files");
  CHECK(c.valid_fraction == 0.0, "no split with validation files (%g)", c.valid_fraction);
  CHECK(c.split_seed == 12345678901234ULL && c.skip_bad == 1, "seed %llu skip_bad %d", c.split_seed, c.skip_bad);
  CHECK(c.has_keys && !strcmp(c.keys.energy, "my_energy") && !strcmp(c.keys.forces, "my_forces, forces") &&
            !strcmp(c.keys.config_type, "my_type") && !c.keys.stress && !c.keys.virial,
        "keys");
  const tnace_fit_opts *o = &c.opts;
  CHECK(o->kappa_e == 2.0 && o->kappa_f == 0.5 && o->kappa_s == 0.0, "loss weights");
  CHECK(o->n_ct == 3 && !strcmp(o->ct_name[0], "Vacancy") && o->ct_weight[0][0] == 2.5 && o->ct_weight[0][2] == 2.5 &&
            !strcmp(o->ct_name[1], "AIMD NVT") && o->ct_weight[1][1] == 0.0,
        "config_type weights");
  CHECK(o->n_ct == 3 && !strcmp(o->ct_name[2], "Surface") && o->ct_weight[2][0] == 3.0 && o->ct_weight[2][1] == 1.0 &&
            o->ct_weight[2][2] == 0.0,
        "per-quantity config_type weights (energy 3, forces default 1, stress 0)");
  CHECK(o->lambda == 1e-7 && o->lambda_start == 0.1 && o->anneal_sweeps == 0 && o->max_sweeps == 7 &&
            o->patience == 2 && o->force_fraction == 1.0 && o->n_threads == 3 && o->seed == 99 &&
            o->max_rows_mb == 123.5 && o->fit_e0 == 0,
        "fit options");
  CHECK(c.out_potential && !strcmp(c.out_potential, "out/full.yaml") && c.out_potential_line == 40, "output.potential");
  char buf[256];
  CHECK(c.metrics_set && !c.out_metrics && !tnace_fitconfig_metrics_path(&c, "x.yaml", buf, sizeof buf),
        "metrics: null disables the metrics file");
  /* user metadata and the config tree */
  const tnace_meta *um = c.user_meta;
  CHECK(um && tnace_meta_get(um, "name") && !strcmp(tnace_meta_get(um, "name")->value, "full: test"), "metadata.name");
  const tnace_meta *tags = tnace_meta_get(um, "tags");
  CHECK(tags && tags->kind == TNACE_META_SEQ && tags->child && tags->child->next &&
            !strcmp(tags->child->next->value, "yes") && tags->child->next->quoted && tags->child->next->next &&
            !tags->child->next->next->quoted,
        "quoted 'yes' stays a string, 3 stays plain");
  const tnace_meta *m = c.meta;
  static const char *const order[] = {"elements", "e0", "cutoff", "radial", "r_min", "repulsion", "terms",
                                      "data", "loss", "fit", "output", "metadata"};
  int k = 0;
  for (const tnace_meta *x = m ? m->child : NULL; x; x = x->next, k++)
    CHECK(k < 12 && !strcmp(x->key, order[k]), "config tree key %d: %s", k, x->key);
  CHECK(k == 12, "config tree has %d keys", k);
  const tnace_meta *fit = tnace_meta_get(m, "fit");
  CHECK(fit && tnace_meta_get(fit, "lambda") && !strcmp(tnace_meta_get(fit, "lambda")->value, "1.0e-7"),
        "numbers kept as written");

  /* the potential */
  tnace_potential *p = NULL;
  rc = tnace_fitconfig_make_potential(&c, &p, err, sizeof err);
  CHECK(rc == 0 && p, "make_potential: %s", err);
  if (p) {
    CHECK(p->n_el == 2 && p->n_terms == 4 && p->lambda == 3.5 && p->r_min == 0.5, "potential settings");
    CHECK(p->rcut[0][1] == 4.5 && p->rcut[1][1] == 4.75 && p->rcut_max == 5.0, "potential cutoffs");
    CHECK(p->e0[0] == -0.25 && p->e0[1] == -0.5, "potential e0");
    CHECK(p->rep_type == TNACE_REP_ZBL && p->rep_inner == 0.75 && p->rep_outer == 1.5, "potential repulsion");
    CHECK(tnace_potential_n_params(p) > 0, "parameters");
    tnace_potential_free(p);
  }
  tnace_fitconfig_free(&c);
  CHECK(c.meta == NULL && c.n_train == 0, "free zeroes");
}

static void test_minimal(void) {
  tnace_fitconfig c;
  char err[1024];
  int rc = tnace_fitconfig_read(DATA "minimal.yaml", &c, err, sizeof err);
  CHECK(rc == 0, "minimal.yaml: %s", err);
  if (rc) return;
  tnace_fit_opts d;
  tnace_fit_opts_default(&d);
  CHECK(c.e0_mode == TNACE_E0_AUTO && c.opts.fit_e0 == 1, "e0 auto by default");
  CHECK(c.lambda == 5.0 && c.r_min == 0.0 && c.rep_type == TNACE_REP_NONE, "model defaults");
  CHECK(c.valid_fraction == 0.1 && c.split_seed == 1 && c.skip_bad == 0 && !c.has_keys && c.stratify == 1, "data defaults");
  CHECK(c.opts.kappa_e == d.kappa_e && c.opts.kappa_f == d.kappa_f && c.opts.kappa_s == d.kappa_s &&
            c.opts.lambda == d.lambda && c.opts.lambda_start == d.lambda_start &&
            c.opts.anneal_sweeps == d.anneal_sweeps && c.opts.max_sweeps == d.max_sweeps &&
            c.opts.patience == d.patience && c.opts.force_fraction == d.force_fraction && c.opts.seed == d.seed &&
            c.opts.n_threads == 0 && c.opts.max_rows_mb == d.max_rows_mb && c.opts.n_ct == 0,
        "fit defaults = tnace_fit_opts_default");
  CHECK(!c.out_potential && !c.metrics_set && !c.user_meta, "no output, no metadata");
  char buf[256];
  const char *mp = tnace_fitconfig_metrics_path(&c, "dir.v1/pot.yaml", buf, sizeof buf);
  CHECK(mp && !strcmp(mp, "dir.v1/pot.metrics.json"), "derived metrics path %s", mp ? mp : "(null)");
  mp = tnace_fitconfig_metrics_path(&c, "pot.yml", buf, sizeof buf);
  CHECK(mp && !strcmp(mp, "pot.metrics.json"), "derived metrics path %s", mp ? mp : "(null)");
  mp = tnace_fitconfig_metrics_path(&c, "dir/.yaml", buf, sizeof buf);
  CHECK(mp && !strcmp(mp, "dir/.yaml.metrics.json"), "derived metrics path %s", mp ? mp : "(null)");
  tnace_fitconfig_free(&c);
}

static void test_example(void) {
  tnace_fitconfig c;
  char err[1024];
  int rc = tnace_fitconfig_read(TNACE_SOURCE_DIR "/examples/configs/example-fit.yaml", &c, err, sizeof err);
  if (rc == TNACE_ERR_IO && strstr(err, "data.train")) {
    /* the public data set lives beside the repository (../shared/data); without it only the data check fails */
    printf("example-fit.yaml: data not available, parse checked up to the data files (%s)\n", err);
    return;
  }
  CHECK(rc == 0, "example-fit.yaml: %s", err);
  if (rc) return;
  CHECK(c.n_el == 1 && c.n_terms == 3 && c.spec[2].nu == 3 && c.rep_type == TNACE_REP_ZBL && c.split_seed == 42,
        "example content");
  CHECK(c.out_metrics && !strcmp(c.out_metrics, "Cu-tnace.metrics.json"), "example metrics path");
  tnace_fitconfig_free(&c);
}

static void test_writable(void) {
  char err[512], path[1024];
  snprintf(path, sizeof path, "%s/fitconfig_writable_probe.txt", TNACE_BINARY_DIR);
  remove(path);
  CHECK(tnace_check_writable(path, err, sizeof err) == 0, "%s", err);
  struct stat st;
  CHECK(stat(path, &st) != 0, "probe file left behind");
  FILE *f = fopen(path, "w");
  if (f) { fputs("keep me\n", f); fclose(f); }
  CHECK(tnace_check_writable(path, err, sizeof err) == 0, "%s", err);
  CHECK(stat(path, &st) == 0 && st.st_size == 8, "an existing file is kept unchanged");
  remove(path);
  CHECK(tnace_check_writable("/nonexistent-dir/x.yaml", err, sizeof err) == TNACE_ERR_IO &&
            strstr(err, "cannot write '/nonexistent-dir/x.yaml': "),
        "%s", err);
  CHECK(tnace_check_writable(TNACE_BINARY_DIR, err, sizeof err) == TNACE_ERR_IO && strstr(err, "is a directory"), "%s",
        err);
}

/* n structures of one isolated atom each, energy = index; species from sp (NULL: all 0). */
static void make_set(tnace_dataset *ds, int n, const int *sp, double cell_len) {
  memset(ds, 0, sizeof *ds);
  ds->s = calloc((size_t)n, sizeof *ds->s);
  ds->n = n;
  const double pos[1][3] = {{1.0, 1.0, 1.0}};
  const double cell[3][3] = {{cell_len, 0, 0}, {0, cell_len, 0}, {0, 0, cell_len}};
  const int pbc[3] = {1, 1, 1};
  for (int i = 0; i < n; i++) {
    char err[256], name[32];
    int s = sp ? sp[i] : 0;
    snprintf(name, sizeof name, "set:%d", i);
    CHECK(tnace_struct_build(&ds->s[i], 1, &s, pos, cell, pbc, 4.0, name, err, sizeof err) == 0, "%s", err);
    ds->s[i].has_energy = 1;
    ds->s[i].energy = i;
  }
}

static void test_split(void) {
  char err[256];
  tnace_dataset tr, va, tr2, va2;
  make_set(&tr, 10, NULL, 10.0);
  make_set(&tr2, 10, NULL, 10.0);
  memset(&va, 0, sizeof va);
  memset(&va2, 0, sizeof va2);
  CHECK(tnace_fitconfig_split(&tr, &va, 0.3, 42, err, sizeof err) == 0, "%s", err);
  CHECK(tr.n == 7 && va.n == 3, "sizes %d %d", tr.n, va.n);
  int seen[10] = {0};
  for (int i = 0; i < tr.n; i++) seen[(int)tr.s[i].energy]++;
  for (int i = 0; i < va.n; i++) seen[(int)va.s[i].energy] += 2;
  for (int i = 0; i < 10; i++) CHECK(seen[i] == 1 || seen[i] == 2, "structure %d in both or none (%d)", i, seen[i]);
  for (int i = 1; i < tr.n; i++) CHECK(tr.s[i].energy > tr.s[i - 1].energy, "train keeps file order");
  for (int i = 1; i < va.n; i++) CHECK(va.s[i].energy > va.s[i - 1].energy, "validation keeps file order");
  CHECK(tnace_fitconfig_split(&tr2, &va2, 0.3, 42, err, sizeof err) == 0, "%s", err);
  int same = tr2.n == tr.n;
  for (int i = 0; same && i < va.n; i++) same = va.s[i].energy == va2.s[i].energy;
  CHECK(same, "same seed, same split");
  tnace_dataset_free(&tr2);
  tnace_dataset_free(&va2);
  /* another seed gives another split (for at least one of a few seeds) */
  int differs = 0;
  for (unsigned long long seed = 1; seed <= 5 && !differs; seed++) {
    make_set(&tr2, 10, NULL, 10.0);
    memset(&va2, 0, sizeof va2);
    tnace_fitconfig_split(&tr2, &va2, 0.3, seed, err, sizeof err);
    for (int i = 0; i < va.n && i < va2.n; i++) differs |= va.s[i].energy != va2.s[i].energy;
    tnace_dataset_free(&tr2);
    tnace_dataset_free(&va2);
  }
  CHECK(differs, "the seed changes the split");
  /* limits: tiny fractions move one, large ones keep one; 0 moves nothing; errors */
  make_set(&tr2, 10, NULL, 10.0);
  memset(&va2, 0, sizeof va2);
  CHECK(tnace_fitconfig_split(&tr2, &va2, 0.001, 1, err, sizeof err) == 0 && va2.n == 1 && tr2.n == 9, "at least one");
  CHECK(tnace_fitconfig_split(&tr2, &va2, 0.999, 1, err, sizeof err) == 0 && tr2.n == 1 && va2.n == 9,
        "one stays (appended: %d %d)", tr2.n, va2.n);
  CHECK(tnace_fitconfig_split(&tr2, &va2, 0.5, 1, err, sizeof err) == TNACE_ERR_VALUE && strstr(err, "1 training structure"),
        "%s", err);
  CHECK(tnace_fitconfig_split(&tr2, &va2, 0.0, 1, err, sizeof err) == 0 && tr2.n == 1, "fraction 0");
  CHECK(tnace_fitconfig_split(&tr2, &va2, 1.0, 1, err, sizeof err) == TNACE_ERR_VALUE, "fraction 1");
  tnace_dataset_free(&tr2);
  tnace_dataset_free(&va2);
  tnace_dataset_free(&tr);
  tnace_dataset_free(&va);
}

/* Stratified split: exactly round(f·n) moved, every config_type gives floor or ceil of its share, a group
 * of 11 at 0.1 always gives 1 (the random split of issue #18 left 4 of 12 groups without one), order kept,
 * for 20 seeds. */
static void test_split_stratified(void) {
  static const char *const name[4] = {"AIMD", "Elastic", "Surface", "Vacancy"};
  static const int size[4] = {90, 55, 11, 72};
  char err[256];
  int n = 0;
  for (int g = 0; g < 4; g++) n += size[g];
  for (unsigned long long seed = 1; seed <= 20; seed++) {
    tnace_dataset tr, va;
    make_set(&tr, n, NULL, 10.0);
    memset(&va, 0, sizeof va);
    for (int i = 0; i < n; i++) {   /* groups in blocks, as in the Zuo et al. files */
      const int g = i < 90 ? 0 : i < 145 ? 1 : i < 156 ? 2 : 3;
      snprintf(tr.s[i].config_type, sizeof tr.s[i].config_type, "%s", name[g]);
    }
    CHECK(tnace_fitconfig_split_stratified(&tr, &va, 0.1, seed, err, sizeof err) == 0, "%s", err);
    CHECK(va.n == 23 && tr.n == n - 23, "seed %llu: sizes %d %d", seed, tr.n, va.n);
    for (int g = 0; g < 4; g++) {
      int m = 0;
      for (int i = 0; i < va.n; i++) m += !strcmp(va.s[i].config_type, name[g]);
      const double share = size[g] * 23.0 / n;   /* the group's exact share of the 23 */
      CHECK(m == (int)floor(share) || m == (int)ceil(share), "seed %llu group %s: %d of %d (share %.2f)", seed, name[g],
            m, size[g], share);
    }
    for (int i = 1; i < va.n; i++) CHECK(va.s[i].energy > va.s[i - 1].energy, "validation keeps file order");
    for (int i = 1; i < tr.n; i++) CHECK(tr.s[i].energy > tr.s[i - 1].energy, "train keeps file order");
    tnace_dataset_free(&tr);
    tnace_dataset_free(&va);
  }
}

static void test_isolated(void) {
  const char el[2][4] = {"Cu", "Ni"};
  char err[512];
  double e0[2];
  int nf[2];
  tnace_dataset ds;
  const int sp[4] = {0, 1, 0, 1};
  make_set(&ds, 4, sp, 10.0); /* energies 0, 1, 2, 3 */
  CHECK(tnace_fitconfig_isolated_e0(&ds, 2, el, e0, nf, err, sizeof err) == 0, "%s", err);
  CHECK(e0[0] == 1.0 && e0[1] == 2.0 && nf[0] == 2 && nf[1] == 2, "means %g %g", e0[0], e0[1]);
  tnace_dataset_free(&ds);
  make_set(&ds, 4, sp, 3.0); /* a 3 Å cell: the atom sees its images, not isolated */
  ds.s[0].species[0] = 0;
  CHECK(tnace_fitconfig_isolated_e0(&ds, 2, el, e0, nf, err, sizeof err) == TNACE_ERR_VALUE &&
            strstr(err, "no isolated-atom frame for Cu, Ni"),
        "%s", err);
  tnace_dataset_free(&ds);
}

static void test_keys(void) {
  const char el[2][4] = {"Cu", "Ni"};
  char err[512];
  tnace_dataset ds;
  memset(&ds, 0, sizeof ds);
  CHECK(tnace_dataset_read_keys(&ds, DATA "custom_keys.xyz", NULL, 2, el, 4.0, 0, err, sizeof err) == 0, "%s", err);
  CHECK(ds.n == 4 && !ds.s[0].has_energy && !ds.s[0].has_forces && !ds.s[0].config_type[0], "default keys: none found");
  tnace_dataset_free(&ds);
  tnace_xyz_keys k = {.energy = "my_energy", .forces = "my_forces", .config_type = "my_type"};
  CHECK(tnace_dataset_read_keys(&ds, DATA "custom_keys.xyz", &k, 2, el, 4.0, 0, err, sizeof err) == 0, "%s", err);
  CHECK(ds.n == 4 && ds.s[0].has_energy && ds.s[0].energy == -7.25 && ds.s[0].has_forces &&
            ds.s[0].forces[1][0] == -0.5 && !strcmp(ds.s[0].config_type, "dimer") && ds.s[0].max_neigh == 1,
        "custom keys");
  double e0[2];
  CHECK(tnace_fitconfig_isolated_e0(&ds, 2, el, e0, NULL, err, sizeof err) == 0 && e0[0] == -0.25 && e0[1] == -0.625,
        "isolated e0 from a file: %g %g (%s)", e0[0], e0[1], err);
  tnace_dataset_free(&ds);
  const char cu[1][4] = {"Cu"};
  CHECK(tnace_dataset_read_keys(&ds, DATA "custom_keys.xyz", &k, 1, cu, 4.0, 0, err, sizeof err) == TNACE_ERR_ELEMENT &&
            strstr(err, "custom_keys.xyz:4: atom 2: element 'Ni'"),
        "%s", err);
  tnace_dataset_free(&ds);
}

/* ---- --check-fit ---------------------------------------------------------------------------------- */

static double meta_double(const tnace_meta *m, const char *a, const char *b, const char *c) {
  const tnace_meta *x = tnace_meta_get(tnace_meta_get(tnace_meta_get(m, a), b), c);
  return x && x->value ? strtod(x->value, NULL) : NAN;
}

static int check_fit(const char *config, const char *potfile, const char *metrics) {
  double val_e_rmse = -1;   /* recomputed below; the metrics' per_config_type table must agree */
  char err[1024];
  tnace_potential *p = NULL;
  int rc = tnace_potential_load(potfile, &p, err, sizeof err);
  CHECK(rc == 0, "loading the fitted potential: %s", err);
  if (rc) return test_summary("test_fitconfig --check-fit");
  const tnace_meta *m = p->meta;
  CHECK(m && tnace_meta_get(m, "fit_config") && tnace_meta_get(m, "date") && tnace_meta_get(m, "command_line") &&
            tnace_meta_get(m, "datasets") && tnace_meta_get(m, "errors") && tnace_meta_get(m, "terms"),
        "provenance metadata");
  const tnace_meta *fc = tnace_meta_get(m, "fit_config");
  CHECK(fc && tnace_meta_get(fc, "elements") && tnace_meta_get(fc, "terms") && tnace_meta_get(fc, "data"),
        "fit_config holds the config");
  const tnace_meta *np = tnace_meta_get(m, "n_params");
  CHECK(np && np->value && tnace_potential_n_params(p) == strtol(np->value, NULL, 10), "n_params");
  /* recompute the validation errors: same data, same split */
  tnace_fitconfig c;
  rc = tnace_fitconfig_read(config, &c, err, sizeof err);
  CHECK(rc == 0, "%s", err);
  if (!rc) {
    tnace_dataset tr, va;
    memset(&tr, 0, sizeof tr);
    memset(&va, 0, sizeof va);
    for (int i = 0; i < c.n_train; i++)
      CHECK(tnace_dataset_read(&tr, c.train[i].path, p->n_el, (const char(*)[4])p->elem, p->rcut_max, 0, err,
                               sizeof err) == 0,
            "%s", err);
    CHECK(tnace_fitconfig_split_data(&c, &tr, &va, err, sizeof err) == 0, "%s", err);
    CHECK(va.n == (int)meta_double(m, "datasets", "validation", "structures"), "validation size %d", va.n);
    tnace_metrics mv;
    CHECK(tnace_metrics_compute(p, &va, 1, &mv, err, sizeof err) == 0, "%s", err);
    const double e = meta_double(m, "errors", "validation", "energy_rmse_meV_per_atom");
    const double f = meta_double(m, "errors", "validation", "force_rmse_eV_per_A");
    CHECK(fabs(mv.e_rmse - e) <= 1e-9 * (1 + e) && fabs(mv.f_rmse - f) <= 1e-9 * (1 + f),
          "recomputed validation RMSE E %.12g F %.12g, recorded %.12g %.12g", mv.e_rmse, mv.f_rmse, e, f);
    CHECK(mv.e_rmse < 50 && mv.f_rmse < 1.0, "a fitted potential (E %g meV/atom, F %g eV/Å)", mv.e_rmse, mv.f_rmse);
    val_e_rmse = mv.e_rmse;
    tnace_dataset_free(&tr);
    tnace_dataset_free(&va);
    tnace_fitconfig_free(&c);
  }
  tnace_potential_free(p);
  /* metrics JSON: present, with the per-sweep history */
  FILE *f = fopen(metrics, "rb");
  CHECK(f != NULL, "metrics file %s", metrics);
  if (f) {
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    CHECK(strstr(buf, "\"validation\": {\"structures\":") && strstr(buf, "\"history\": [") &&
              strstr(buf, "{\"sweep\": 1,") && buf[0] == '{' && buf[n - 2] == '}',
          "metrics content:\n%s", buf);
    /* per_config_type: the validation table's overall energy RMSE is the recomputed one (6 digits) */
    const char *pc = strstr(buf, "\"per_config_type\": {\"train\": {");
    const char *pv = pc ? strstr(pc, "\"validation\": {\"n_structures\"") : NULL;
    const char *pe = pv ? strstr(pv, "\"energy\": {\"mae\": ") : NULL;
    double mae = -1, rmse = -1;
    CHECK(pe && sscanf(pe, "\"energy\": {\"mae\": %lf, \"rmse\": %lf", &mae, &rmse) == 2 &&
              fabs(rmse - val_e_rmse) <= 1e-5 * val_e_rmse && mae > 0 && mae <= rmse,
          "per_config_type validation energy RMSE %g, recomputed %g", rmse, val_e_rmse);
  }
  return test_summary("test_fitconfig --check-fit");
}

int main(int argc, char **argv) {
  if (argc == 5 && !strcmp(argv[1], "--check-fit")) return check_fit(argv[2], argv[3], argv[4]);
  if (argc != 1) {
    fprintf(stderr, "usage: test_fitconfig [--check-fit CONFIG POTENTIAL METRICS]\n");
    return 2;
  }
  test_bad();
  test_full();
  test_minimal();
  test_example();
  test_writable();
  test_split();
  test_split_stratified();
  test_isolated();
  test_keys();
  return test_summary("test_fitconfig");
}
