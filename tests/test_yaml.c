/*
 * test_yaml.c — potential files (src/tnace/potential_{yaml,load,save}.c, docs/potential-format.md) and
 * metadata trees (src/tnace/meta.c):
 *  - tnace_meta: set keeps insertion order and replaces in place, get, append, clone, free;
 *  - save → load → save of a 2-element potential with ν = 1, 2, 3 terms, a cutoff matrix, ZBL and awkward
 *    metadata strings: the two files are byte-identical and every number comes back bit-exact;
 *  - every malformed file in tests/data/yaml/ is rejected with the right code and a message naming the
 *    file, the line and the key;
 *  - write errors (unwritable path, full disk) are TNACE_ERR_IO naming the path;
 *  - load speed of a large file (printed, not asserted).
 */
#define _POSIX_C_SOURCE 200809L
#include "model.h"
#include "testutil.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef TNACE_SOURCE_DIR
#define TNACE_SOURCE_DIR "."
#endif
#define DATA_DIR TNACE_SOURCE_DIR "/tests/data/yaml/"
/* A limit of tnace_limits.h as text, for expected messages. */
#define STR_(x) #x
#define STR(x) STR_(x)

static unsigned long long rng = 0x2545F4914F6CDD1DULL;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *b = malloc(cap);
  for (size_t r; b && (r = fread(b + n, 1, cap - n, f)) > 0;) {
    n += r;
    if (n == cap) {
      char *p = realloc(b, cap *= 2);
      if (!p) { free(b); b = NULL; }
      b = p;
    }
  }
  fclose(f);
  *len = n;
  return b;
}

static int files_equal(const char *a, const char *b) {
  size_t na = 0, nb = 0;
  char *pa = read_all(a, &na), *pb = read_all(b, &nb);
  int eq = pa && pb && na == nb && memcmp(pa, pb, na) == 0;
  if (pa && pb && !eq) {
    size_t i = 0;
    while (i < na && i < nb && pa[i] == pb[i]) i++;
    fprintf(stderr, "files differ at byte %zu (sizes %zu, %zu)\n", i, na, nb);
  }
  free(pa);
  free(pb);
  return eq;
}

/* ---- metadata ---------------------------------------------------------------------------------- */

static int meta_equal(const tnace_meta *a, const tnace_meta *b) {
  if (!a || !b) return a == b;
  if (a->kind != b->kind) return 0;
  if ((a->key == NULL) != (b->key == NULL) || (a->key && strcmp(a->key, b->key))) return 0;
  if (a->kind == TNACE_META_SCALAR) return strcmp(a->value, b->value) == 0;
  const tnace_meta *x = a->child, *y = b->child;
  for (; x && y; x = x->next, y = y->next)
    if (!meta_equal(x, y)) return 0;
  return !x && !y;
}

static void test_meta(void) {
  tnace_meta *m = tnace_meta_new_map();
  CHECK(m && m->kind == TNACE_META_MAP, "new map");
  tnace_meta_set(m, "a", "1");
  tnace_meta_set(m, "b", "two");
  tnace_meta_set(m, "c", "3");
  tnace_meta *s = tnace_meta_set_seq(m, "list");
  tnace_meta_append(s, "x");
  tnace_meta_append(s, "yes");
  /* replace in place: "b" becomes a map, stays second */
  tnace_meta *b = tnace_meta_set_map(m, "b");
  tnace_meta_set_num(b, "pi", 3.14159);
  tnace_meta_set_num(b, "tenth", 0.1);
  tnace_meta_set_num(b, "nan", NAN);
  const char *order[] = {"a", "b", "c", "list"};
  int i = 0;
  for (tnace_meta *c = m->child; c; c = c->next, i++) CHECK(i < 4 && strcmp(c->key, order[i]) == 0, "order %d", i);
  CHECK(i == 4, "4 keys, got %d", i);
  CHECK(tnace_meta_get(m, "b") == b && b->kind == TNACE_META_MAP, "get b");
  CHECK(strcmp(tnace_meta_get(b, "tenth")->value, "0.1") == 0, "shortest number text: %s",
        tnace_meta_get(b, "tenth")->value);
  CHECK(strcmp(tnace_meta_get(b, "nan")->value, ".nan") == 0, "nan text");
  CHECK(tnace_meta_get(m, "a")->quoted == 1, "'1' quoted to stay a string");
  CHECK(tnace_meta_get(m, "c")->quoted == 1 && tnace_meta_get(b, "pi")->quoted == 0, "quoted flags");
  CHECK(s->child && s->child->next && s->child->next->quoted == 1 && s->child->quoted == 0, "seq quoted");
  CHECK(tnace_meta_get(m, "zzz") == NULL && tnace_meta_get(s, "x") == NULL, "get absent");
  CHECK(tnace_meta_append(m, "x") == NULL && tnace_meta_set(s, "k", "v") == NULL, "kind checks");
  tnace_meta_set(m, "c", "three");
  CHECK(strcmp(m->child->next->next->value, "three") == 0 && m->child->next->next->quoted == 0, "replace");
  tnace_meta *cl = tnace_meta_clone(m);
  CHECK(meta_equal(m, cl), "clone equal");
  tnace_meta_set(cl, "a", "changed");
  CHECK(strcmp(tnace_meta_get(m, "a")->value, "1") == 0, "clone is deep");
  tnace_meta_free(cl);
  tnace_meta_free(m);
  tnace_meta_free(NULL);
  CHECK(tnace_meta_clone(NULL) == NULL, "clone NULL");
}

/* ---- round trip --------------------------------------------------------------------------------- */

static tnace_potential *make_pot(const tnace_term_spec *spec, int n_terms, int special) {
  const char *el[] = {"Cu", "N"};
  char err[512];
  tnace_potential *p = NULL;
  int rc = tnace_potential_create(&p, 2, el, n_terms, spec, 5.0, 5.0, err, sizeof err);
  CHECK(rc == 0, "create: %s", err);
  if (rc) exit(1);
  /* extremes of the stored range: subnormals, and ±TNACE_MAX_ABS_VALUE, the largest magnitude a file may hold */
  static const double odd[] = {0.0, -0.0, 1e-300, 4.9406564584124654e-324, TNACE_MAX_ABS_VALUE, -1.0 / 3,
                               0.1, 1e22, 123456789.0, -2.5e-7, -TNACE_MAX_ABS_VALUE};
  size_t q_all = 0;
  for (int i = 0; i < 4 * n_terms; i++) {
    const int layer = i / (2 * n_terms), at = i % (2 * n_terms);
    if (layer && p->spec[at % n_terms].model != TNACE_MODEL_MPO) continue;
    tnace_tn *t = tnace_layer(p, at / n_terms, at % n_terms, layer);
    for (int s = 0; s < 3 * t->nu; s++)
      for (size_t q = 0; q < tn_core_size(t, s); q++, q_all++) {
        double x = 2.0 * test_rand(&rng) - 1.0;
        if (special && q_all < sizeof odd / sizeof odd[0]) x = odd[q_all];
        else if (special && q_all % 7 == 3) x *= pow(10.0, (int)(40 * test_rand(&rng)) - 20);
        t->core[s][q] = x;
      }
  }
  p->e0[0] = -3.7309090909;
  p->e0[1] = -0.1;
  p->rcut[0][0] = 5.2;
  p->rcut[0][1] = p->rcut[1][0] = 4.75;
  p->rcut[1][1] = 1.0 / 3 + 4;
  p->r_min = 0.25;
  p->rep_type = TNACE_REP_ZBL;
  p->rep_inner = 0.8;
  p->rep_outer = 1.6;
  p->lambda = 4.5;
  rc = tnace_potential_prepare(p, err, sizeof err);
  CHECK(rc == 0, "prepare: %s", err);
  return p;
}

static void set_test_meta(tnace_potential *p) {
  tnace_meta *m = p->meta = tnace_meta_new_map();
  tnace_meta_set(m, "name", "placeholder");
  tnace_meta_set(m, "colon", "a: b");
  tnace_meta_set(m, "bool", "yes");
  tnace_meta_set(m, "number_string", "123");
  tnace_meta_set(m, "hash", "#x");
  tnace_meta_set(m, "key: with colon", "value # not a comment");
  tnace_meta_set(m, "yes", "key that is a boolean");
  tnace_meta_set(m, "empty", "");
  tnace_meta_set(m, "quotes", "it's \"quoted\"");
  tnace_meta_set(m, "multiline", "line 1\nline 2\n  indented\n");
  tnace_meta_set(m, "unicode", "Å → eV/Å²");
  tnace_meta_set(m, "spaces", "  leading and trailing  ");
  tnace_meta_set(m, "control", "tab\tbell\a");
  tnace_meta_set_num(m, "rmse_energy", 0.0012345);
  tnace_meta_set_num(m, "tiny", 1e-300);
  tnace_meta *tr = tnace_meta_set_map(m, "training");
  tnace_meta_set(tr, "dataset", "data/Cu N.xyz");
  tnace_meta *w = tnace_meta_set_map(tr, "weights");
  tnace_meta_set_num(w, "energy", 1);
  tnace_meta_set_num(w, "forces", 100);
  tnace_meta *h = tnace_meta_set_seq(tr, "history");
  const char *hist[] = {"first", "no", "- dash", "[bracket", "{brace}", "null", "~", "1.5e3", "0x1F", "*star",
                        "&amp", "!tag", "%pct", "@at", "`tick", "|pipe", ">gt", "?q", "-"};
  for (size_t i = 0; i < sizeof hist / sizeof hist[0]; i++) tnace_meta_append(h, hist[i]);
  tnace_meta_set_map(m, "empty_map");
  tnace_meta_set_seq(m, "empty_seq");
  tnace_meta_set(m, "name", "Cu–N test potential"); /* replaced in place: stays first */
}

static void check_same(const tnace_potential *a, const tnace_potential *b) {
  CHECK(a->n_el == b->n_el && a->n_terms == b->n_terms, "sizes");
  if (a->n_el != b->n_el || a->n_terms != b->n_terms) return;
  for (int i = 0; i < a->n_el; i++) {
    CHECK(strcmp(a->elem[i], b->elem[i]) == 0 && a->Z[i] == b->Z[i], "element %d", i);
    CHECK(memcmp(&a->e0[i], &b->e0[i], sizeof(double)) == 0, "e0[%d] %.17g %.17g", i, a->e0[i], b->e0[i]);
    for (int j = 0; j < a->n_el; j++)
      CHECK(a->rcut[i][j] == b->rcut[i][j], "rcut[%d][%d] %.17g %.17g", i, j, a->rcut[i][j], b->rcut[i][j]);
  }
  CHECK(a->rcut_max == b->rcut_max && a->lambda == b->lambda && a->r_min == b->r_min, "rcut_max/lambda/r_min");
  CHECK(a->rep_type == b->rep_type && a->rep_inner == b->rep_inner && a->rep_outer == b->rep_outer, "rep");
  CHECK(a->nmax == b->nmax && a->lmax == b->lmax, "nmax/lmax");
  for (int t = 0; t < a->n_terms; t++)
    CHECK(memcmp(&a->spec[t], &b->spec[t], sizeof a->spec[t]) == 0, "spec %d", t);
  for (int i = 0; i < 2 * a->n_el * a->n_terms; i++) {
    const int layer = i / (a->n_el * a->n_terms), at = i % (a->n_el * a->n_terms);
    if (layer && a->spec[at % a->n_terms].model != TNACE_MODEL_MPO) continue;
    const tnace_tn *x = tnace_layer(a, at / a->n_terms, at % a->n_terms, layer);
    const tnace_tn *y = tnace_layer(b, at / b->n_terms, at % b->n_terms, layer);
    CHECK(x->nu == y->nu && x->lmax == y->lmax && x->nmax == y->nmax && x->n_el == y->n_el, "tn %d dims", i);
    if (x->nu != y->nu) continue;
    for (int s = 0; s <= 3 * x->nu; s++) CHECK(x->bond[s] == y->bond[s], "tn %d bond %d", i, s);
    for (int s = 0; s < 3 * x->nu; s++) {
      CHECK(x->phys[s] == y->phys[s], "tn %d phys %d", i, s);
      size_t n = tn_core_size(x, s);
      CHECK(n == tn_core_size(y, s) && memcmp(x->core[s], y->core[s], n * sizeof(double)) == 0,
            "tn %d core %d bit-exact", i, s);
    }
  }
  CHECK(meta_equal(a->meta, b->meta), "metadata equal");
}

static void test_round_trip(void) {
  tnace_term_spec spec[6] = {{1, 0, 3, 3, TNACE_MODEL_MPS, 0, 0, 0, 0, 0, 0}, {2, 2, 3, 4, TNACE_MODEL_MPS, 0, 1, 1, 0, 0, 0},
                             {3, 2, 2, 3, TNACE_MODEL_MPS, 0, 0, 0, 0, 0, 0}, {2, 2, 2, 3, TNACE_MODEL_MPO, 2, 0, 0, 0, 0, 0},
                             {3, 2, 2, 2, TNACE_MODEL_MPO, 2, 0, 0, 0, 0, 0}, {2, 2, 3, 3, TNACE_MODEL_EMB, 3, 0, 0, 0, 0, 0.7}};
  tnace_potential *p = make_pot(spec, 6, 1);
  set_test_meta(p);
  char err[512] = "";
  int rc = tnace_potential_save(p, "yaml_rt1.yaml", err, sizeof err);
  CHECK(rc == 0, "save: %s", err);
  tnace_potential *q = NULL;
  rc = tnace_potential_load("yaml_rt1.yaml", &q, err, sizeof err);
  CHECK(rc == 0 && q, "load: %s", err);
  if (!q) { tnace_potential_free(p); return; }
  check_same(p, q);
  rc = tnace_potential_save(q, "yaml_rt2.yaml", err, sizeof err);
  CHECK(rc == 0, "save 2: %s", err);
  CHECK(files_equal("yaml_rt1.yaml", "yaml_rt2.yaml"), "write→read→write byte-identical");
  /* string metadata came back as strings */
  const tnace_meta *m = q->meta;
  CHECK(m && strcmp(m->child->key, "name") == 0, "metadata order kept");
  const char *keys[] = {"bool", "number_string", "empty", "colon", "hash"};
  const char *vals[] = {"yes", "123", "", "a: b", "#x"};
  for (int i = 0; i < 5; i++) {
    const tnace_meta *n = tnace_meta_get(m, keys[i]);
    CHECK(n && n->kind == TNACE_META_SCALAR && strcmp(n->value, vals[i]) == 0 && n->quoted,
          "metadata %s quoted string '%s'", keys[i], vals[i]);
  }
  const tnace_meta *en = tnace_meta_get(tnace_meta_get(tnace_meta_get(m, "training"), "weights"), "forces");
  CHECK(en && strcmp(en->value, "100") == 0 && !en->quoted, "number stays a plain number");
  /* the public accessors */
  CHECK(tnace_potential_n_elements(q) == 2 && strcmp(tnace_potential_element(q, 1), "N") == 0, "accessors");
  CHECK(tnace_potential_n_params(q) == tnace_potential_n_params(p), "n_params");
  /* no terms at all (E0 + repulsion only) */
  {
    const char *el[] = {"Cu"};
    tnace_potential *z = NULL, *z2 = NULL;
    rc = tnace_potential_create(&z, 1, el, 0, NULL, 4.0, 5.0, err, sizeof err);
    CHECK(rc == 0, "create 0 terms: %s", err);
    if (z) {
      rc = tnace_potential_save(z, "yaml_rt5.yaml", err, sizeof err);
      CHECK(rc == 0, "save 0 terms: %s", err);
      rc = tnace_potential_load("yaml_rt5.yaml", &z2, err, sizeof err);
      CHECK(rc == 0 && z2 && z2->n_terms == 0, "load 0 terms: %s", err);
      if (z2) check_same(z, z2);
    }
    tnace_potential_free(z);
    tnace_potential_free(z2);
    remove("yaml_rt5.yaml");
  }
  /* energies agree */
  tnace_workspace *w1 = tnace_workspace_new(p, 8), *w2 = tnace_workspace_new(q, 8);
  double rij[3][3] = {{1.9, 0.3, -0.4}, {-0.5, 2.1, 0.7}, {0.2, -0.6, -2.3}};
  int sj[3] = {0, 1, 1};
  double e1 = 0, e2 = 1;
  if (w1 && w2) {
    int r1 = tnace_atom_energy(p, w1, 0, 3, (const double (*)[3])rij, sj, &e1, NULL);
    int r2 = tnace_atom_energy(q, w2, 0, 3, (const double (*)[3])rij, sj, &e2, NULL);
    (void)r1; (void)r2;
    CHECK(r1 == 0 && r2 == 0 && (e1 == e2 || (!isfinite(e1) && !isfinite(e2))), "energy %.17g %.17g", e1, e2);
  }
  tnace_workspace_free(w1);
  tnace_workspace_free(w2);
  /* a potential without metadata and with a scalar cutoff, no repulsion */
  tnace_meta_free(q->meta);
  q->meta = NULL;
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 2; b++) q->rcut[a][b] = 6.5;
  q->rep_type = TNACE_REP_NONE;
  q->rep_inner = q->rep_outer = 0;
  tnace_potential_prepare(q, err, sizeof err);
  rc = tnace_potential_save(q, "yaml_rt3.yaml", err, sizeof err);
  CHECK(rc == 0, "save 3: %s", err);
  tnace_potential *r = NULL;
  rc = tnace_potential_load("yaml_rt3.yaml", &r, err, sizeof err);
  CHECK(rc == 0 && r, "load 3: %s", err);
  if (r) {
    check_same(q, r);
    CHECK(r->meta == NULL && r->rcut_max == 6.5, "no metadata, scalar cutoff");
    rc = tnace_potential_save(r, "yaml_rt4.yaml", err, sizeof err);
    CHECK(rc == 0 && files_equal("yaml_rt3.yaml", "yaml_rt4.yaml"), "round trip 3: %s", err);
  }
  tnace_potential_free(r);
  tnace_potential_free(q);
  tnace_potential_free(p);
  if (!getenv("KEEP")) remove("yaml_rt1.yaml");
  remove("yaml_rt2.yaml");
  remove("yaml_rt3.yaml");
  remove("yaml_rt4.yaml");
}

/* ---- malformed files ---------------------------------------------------------------------------- */

typedef struct {
  const char *file;
  int code;             /* expected return code */
  const char *where;    /* expected "<file>:<line>:" suffix after the path, e.g. ":6:" */
  const char *key;      /* expected key in the message (NULL: none) */
  const char *what;     /* expected words of the message */
} bad_case;

static const bad_case bad_cases[] = {
  {"property_kind", TNACE_ERR_VALUE, ":27:", "property.kind", "intensive or extensive"},
  {"property_per", TNACE_ERR_VALUE, ":27:", "property.per", "'Ga' is not an element of this potential"},
  {"missing_key", TNACE_ERR_PARSE, ":2:", "e0", "missing required key"},
  {"wrong_version", TNACE_ERR_VALUE, ":3:", "version", "unsupported format version 2"},
  {"float_version", TNACE_ERR_PARSE, ":3:", "version", "expected an integer"},
  {"wrong_format", TNACE_ERR_PARSE, ":2:", "format", "tnace-potentail"},
  {"units_real", TNACE_ERR_VALUE, ":4:", "units", "real"},
  {"unknown_element", TNACE_ERR_ELEMENT, ":5:", "elements[0]", "unknown element 'Xx'"},
  {"duplicate_element", TNACE_ERR_VALUE, ":5:", "elements[1]", "duplicate element 'Cu'"},
  {"nan_data", TNACE_ERR_VALUE, ":23:", "cores[0].sites[1].data[2]", "NaN"},
  {"inf_e0", TNACE_ERR_VALUE, ":6:", "e0[0]", "NaN/Inf"},
  {"absurd_core", TNACE_ERR_VALUE, ":23:", "cores[0].sites[1].data[2]", "1e+300 is not a fitted value"},
  {"huge_cutoff", TNACE_ERR_VALUE, ":8:", "cutoff", "must be in (0, 50] Å (got 1e+300)"},
  {"wrong_shape", TNACE_ERR_VALUE, ":22:", "cores[0].sites[1].shape", "physical dimension 3 should be 2"},
  {"few_data", TNACE_ERR_VALUE, ":23:", "cores[0].sites[1].data", "expected 4 numbers (shape [2, 1, 2]), got 3"},
  {"unknown_model", TNACE_ERR_VALUE, ":12:", "terms[0].model", "unknown model 'tucker'"},
  {"embed_no_scale", TNACE_ERR_PARSE, ":12:", "terms[0]", "an embed term needs its rank (outputs) and scale"},
  {"embed_last_bond", TNACE_ERR_VALUE, ":16:", "cores[0].bonds", "the last 2 (the term's rank)"},
  {"scale_mps", TNACE_ERR_VALUE, ":12:", "terms[0]", "scale is only for model: embed"},
  {"bonds_length", TNACE_ERR_VALUE, ":16:", "cores[0].bonds", "expected 4 bond dimensions"},
  {"bonds_shape", TNACE_ERR_VALUE, ":22:", "cores[0].sites[1].shape", "does not match bonds"},
  {"missing_core", TNACE_ERR_VALUE, ":13:", "cores", "missing core for element Ni, term 0"},
  {"duplicate_core", TNACE_ERR_VALUE, ":27:", "cores[1]", "duplicate core for element Cu, term 0"},
  {"nonnumeric_e0", TNACE_ERR_PARSE, ":6:", "e0[0]", "expected a number, got 'abc'"},
  {"unknown_key", TNACE_ERR_PARSE, ":8:", "cutof", "unknown key"},
  {"syntax_error", TNACE_ERR_PARSE, ":", "cores[0].sites[1].data", "YAML syntax error"},
  {"bad_indent", TNACE_ERR_PARSE, ":21:", NULL, "YAML syntax error"},
  {"empty", TNACE_ERR_PARSE, ":1:", NULL, "empty file"},
  {"asym_cutoff", TNACE_ERR_VALUE, ":8:", "cutoff[1][0]", "not symmetric"},
  {"duplicate_key", TNACE_ERR_PARSE, ":10:", "r_min", "duplicate key"},
  {"wrong_kind", TNACE_ERR_VALUE, ":21:", "cores[0].sites[1].kind", "expected 'radial'"},
  {"metadata_dup", TNACE_ERR_PARSE, ":29:", "metadata.author", "duplicate key"},
  {"two_documents", TNACE_ERR_PARSE, ":29:", NULL, "more than one YAML document"},
  {"e0_count", TNACE_ERR_VALUE, ":6:", "e0", "expected 1 values"},
  {"not_a_mapping", TNACE_ERR_PARSE, ":1:", NULL, "expected a mapping"},
  {"rmin_too_big", TNACE_ERR_VALUE, ":9:", "r_min", "smaller than the cutoff"},
  {"bad_utf8", TNACE_ERR_PARSE, ":28:", NULL, "invalid leading UTF-8 octet"},
  /* sizes above tnace_limits.h are refused while reading, before the data of the core is allocated */
  {"bond_too_big", TNACE_ERR_VALUE, ":16:", "cores[0].bonds[2]",
   "5000 is out of range (1.." STR(TNACE_MAX_BOND) ")"},
  {"nmax_too_big", TNACE_ERR_VALUE, ":12:", "terms[0].nmax",
   "2000 is out of range (1.." STR(TNACE_MAX_NMAX) ")"},
  {"chi_too_big", TNACE_ERR_VALUE, ":12:", "terms[0].chi",
   "5000 is out of range (1.." STR(TNACE_MAX_BOND) ")"},
};

static void test_malformed(void) {
  char path[1024], err[512], want[1200];
  tnace_potential *p = NULL;
  /* the base of all cases is valid */
  snprintf(path, sizeof path, DATA_DIR "valid.yaml");
  int rc = tnace_potential_load(path, &p, err, sizeof err);
  CHECK(rc == 0 && p, "valid.yaml: %s", err);
  if (p) {
    CHECK(p->rep_type == TNACE_REP_ZBL && p->rep_outer == 1.8 && p->r_min == 0.5, "valid.yaml values");
    CHECK(p->tn[0].core[1][3] == 1e-3 && p->e0[0] == -0.5, "valid.yaml numbers");
    CHECK(p->meta && strcmp(tnace_meta_get(p->meta, "author")->value, "test") == 0, "valid.yaml metadata");
  }
  tnace_potential_free(p);
  p = NULL;
  /* an embed term (tn.h): E = J_0 + f(J_1; s) of a ν = 1 layer with two outputs, on one neighbour at 2.5 Å */
  CHECK(tnace_potential_load(DATA_DIR "embed_valid.yaml", &p, err, sizeof err) == 0 && p, "embed_valid.yaml: %s", err);
  if (p) {
    CHECK(p->spec[0].model == TNACE_MODEL_EMB && p->spec[0].rank == 2 && p->spec[0].escale == 0.5 &&
              p->tn[0].bond[3] == 2, "embed_valid.yaml term");
    tnace_workspace *ws = tnace_workspace_new(p, 4);
    const double r1[1][3] = {{2.5, 0, 0}};
    const int s1[1] = {0};
    double E = 0.0, J[2];
    CHECK(ws && tnace_atom_energy(p, ws, 0, 1, r1, s1, &E, NULL) == 0, "embed energy");
    tn_channels(&p->tn[0], ws->A, p->nmax, p->lmax, &ws->tw, 0);
    tn_forward_vec(&p->tn[0], &ws->tw, J);
    const double Eref = p->e0[0] + J[0] + J[1] * pow(1.0 + (J[1] / 0.5) * (J[1] / 0.5), -0.25);
    CHECK(fabs(J[1]) > 0.05 && fabs(E - Eref) < 1e-12, "embed E (ZBL ends at 1.8 Å) %.15g, J %g %g, ref %.15g",
          E, J[0], J[1], Eref);
    tnace_workspace_free(ws);
  }
  tnace_potential_free(p);
  /* a property model (issue #16): loaded, named, written back */
  CHECK(tnace_potential_load(DATA_DIR "property.yaml", &p, err, sizeof err) == 0 && p, "property.yaml: %s", err);
  if (p) {
    CHECK(tnace_potential_property(p) && !strcmp(tnace_potential_property(p), "formation_energy") && p->prop.intensive &&
              p->prop.n_per == 0 && !strcmp(p->prop.units, "eV"),
          "property model read");
    CHECK(tnace_potential_save(p, "test_yaml_property.yaml", err, sizeof err) == 0, "%s", err);
    tnace_potential *q = NULL;
    CHECK(tnace_potential_load("test_yaml_property.yaml", &q, err, sizeof err) == 0 && q &&
              tnace_potential_property(q) && q->prop.intensive == p->prop.intensive,
          "property model round trip: %s", err);
    tnace_potential_free(q);
  }
  tnace_potential_free(p);
  p = NULL;
  rc = tnace_potential_load(DATA_DIR "valid.yaml", &p, err, sizeof err);
  CHECK(rc == 0 && tnace_potential_property(p) == NULL, "an interatomic potential has no property");
  tnace_potential_free(p);
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    const bad_case *c = &bad_cases[i];
    snprintf(path, sizeof path, DATA_DIR "%s.yaml", c->file);
    p = (tnace_potential *)&rc; /* must be reset to NULL */
    err[0] = '\0';
    rc = tnace_potential_load(path, &p, err, sizeof err);
    CHECK(rc == c->code, "%s: code %d, expected %d (%s)", c->file, rc, c->code, err);
    CHECK(p == NULL, "%s: *out not NULL on error", c->file);
    snprintf(want, sizeof want, "%s%s", path, c->where);
    CHECK(strncmp(err, want, strlen(want)) == 0, "%s: message should start with '%s': %s", c->file, want, err);
    if (strcmp(c->where, ":") == 0) { /* some line number */
      const char *l = err + strlen(path) + 1;
      CHECK(*l >= '1' && *l <= '9', "%s: line number in %s", c->file, err);
    }
    if (c->key) {
      snprintf(want, sizeof want, ": %s: ", c->key);
      CHECK(strstr(err, want) != NULL, "%s: key '%s' in %s", c->file, c->key, err);
    }
    CHECK(strstr(err, c->what) != NULL, "%s: '%s' in %s", c->file, c->what, err);
    if (p && p != (tnace_potential *)&rc) tnace_potential_free(p);
    printf("  %-18s -> %s\n", c->file, err);
  }
  /* nonexistent path */
  rc = tnace_potential_load(DATA_DIR "no_such_file.yaml", &p, err, sizeof err);
  CHECK(rc == TNACE_ERR_IO && p == NULL && strstr(err, "no_such_file.yaml") && strstr(err, "cannot open"),
        "nonexistent: %d %s", rc, err);
  /* small / NULL error buffers never overflow */
  char tiny[8];
  memset(tiny, 'x', sizeof tiny);
  rc = tnace_potential_load(DATA_DIR "few_data.yaml", &p, tiny, 5);
  CHECK(rc == TNACE_ERR_VALUE && tiny[4] == '\0' && tiny[5] == 'x', "tiny buffer");
  rc = tnace_potential_load(DATA_DIR "few_data.yaml", &p, NULL, 0);
  CHECK(rc == TNACE_ERR_VALUE, "NULL buffer");
  CHECK(tnace_potential_load(NULL, &p, err, sizeof err) == TNACE_ERR_ARG, "NULL path");
}

static void test_write_errors(void) {
  tnace_term_spec spec[1] = {{2, 1, 2, 2, TNACE_MODEL_MPS, 0, 0, 0, 0, 0, 0}};
  tnace_potential *p = make_pot(spec, 1, 0);
  char err[512];
  int rc = tnace_potential_save(p, "/nonexistent-dir/sub/pot.yaml", err, sizeof err);
  CHECK(rc == TNACE_ERR_IO && strstr(err, "/nonexistent-dir/sub/pot.yaml"), "unwritable: %d %s", rc, err);
  FILE *f = fopen("/dev/full", "wb");
  if (f) {
    fclose(f);
    rc = tnace_potential_save(p, "/dev/full", err, sizeof err);
    CHECK(rc == TNACE_ERR_IO && strstr(err, "/dev/full"), "disk full: %d %s", rc, err);
    printf("  /dev/full -> %s\n", err);
  }
  p->tn[0].core[1][0] = NAN;
  rc = tnace_potential_save(p, "yaml_nan.yaml", err, sizeof err);
  CHECK(rc != 0 && strstr(err, "NaN"), "NaN core refused: %d %s", rc, err);
  remove("yaml_nan.yaml");
  tnace_potential_free(p);
}

/* A host program with a decimal-comma LC_NUMERIC must still read and write "C" numbers. */
static void test_locale(void) {
  const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "ru_RU.UTF-8", "de_DE"};
  const char *got = NULL;
  char buf[16];
  for (size_t i = 0; i < sizeof names / sizeof names[0] && !got; i++)
    if (setlocale(LC_NUMERIC, names[i])) {
      snprintf(buf, sizeof buf, "%.1f", 0.5);
      if (strcmp(buf, "0,5") == 0) got = names[i];
    }
  if (!got) {
    setlocale(LC_NUMERIC, "C");
    printf("  locale test skipped (no decimal-comma locale installed)\n");
    return;
  }
  char err[512];
  tnace_potential *p = NULL, *q = NULL;
  int rc = tnace_potential_load(DATA_DIR "valid.yaml", &p, err, sizeof err);
  CHECK(rc == 0 && p && p->rep_outer == 1.8, "load under %s: %s", got, err);
  if (p) {
    tnace_meta_set_num(p->meta, "x", 0.25);
    CHECK(strcmp(tnace_meta_get(p->meta, "x")->value, "0.25") == 0, "meta number under %s", got);
    rc = tnace_potential_save(p, "yaml_locale.yaml", err, sizeof err);
    CHECK(rc == 0, "save under %s: %s", got, err);
    rc = tnace_potential_load("yaml_locale.yaml", &q, err, sizeof err);
    CHECK(rc == 0 && q, "reload under %s: %s", got, err);
    if (q) check_same(p, q);
  }
  tnace_potential_free(p);
  tnace_potential_free(q);
  remove("yaml_locale.yaml");
  setlocale(LC_NUMERIC, "C");
  printf("  locale %s: ok\n", got);
}

/* ---- speed ---------------------------------------------------------------------------------------- */

static void test_speed(void) {
  tnace_term_spec spec[3] = {{1, 0, 20, 40, TNACE_MODEL_MPS, 0, 0, 0, 0, 0, 0}, {2, 6, 20, 40, TNACE_MODEL_MPS, 0, 0, 0, 0, 0, 0},
                             {3, 4, 20, 40, TNACE_MODEL_MPS, 0, 0, 0, 0, 0, 0}};
  tnace_potential *p = make_pot(spec, 3, 0);
  char err[512];
  double t0 = now();
  int rc = tnace_potential_save(p, "yaml_big.yaml", err, sizeof err);
  double t_save = now() - t0;
  CHECK(rc == 0, "save big: %s", err);
  size_t len = 0;
  free(read_all("yaml_big.yaml", &len));
  tnace_potential *q = NULL;
  t0 = now();
  rc = tnace_potential_load("yaml_big.yaml", &q, err, sizeof err);
  double t_load = now() - t0;
  CHECK(rc == 0 && q, "load big: %s", err);
  if (q) check_same(p, q);
  double mb = (double)len / 1e6;
  printf("  big file: %ld parameters, %.1f MB; save %.3f s (%.0f MB/s), load %.3f s (%.0f MB/s, 100 MB ≈ %.1f s)\n",
         tnace_potential_n_params(p), mb, t_save, mb / t_save, t_load, mb / t_load, 100.0 * t_load / mb);
  tnace_potential_free(q);
  tnace_potential_free(p);
  remove("yaml_big.yaml");
}

int main(void) {
  test_meta();
  test_round_trip();
  test_malformed();
  test_write_errors();
  test_locale();
  test_speed();
  return test_summary("test_yaml");
}
