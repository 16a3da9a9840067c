/*
 * fitconfig.c — reading and validating the tnace-fit configuration (fitconfig.h, docs/fit-config.md). The
 * steps of a fit that use a config (potential, validation split, E0 of isolated atoms) are in fit_setup.c.
 *
 * A config file is small, so it is read in two passes: libyaml parser events → a private tree of nodes that
 * remember their line numbers (cnode), then the tree is walked key by key, checking types, ranges and
 * unknown keys, into a tnace_fitconfig. The first pass and the typed getters of the second are in
 * fitconfig_tree.c (private header fitconfig_tree.h); the section readers are here. The same tree, converted
 * to a tnace_meta, is kept as the config "as written" for the potential's metadata. Every error is
 * "<path>:<line>: <key path>: <what is wrong>"; the first one found wins.
 */
#define _POSIX_C_SOURCE 200809L
#include "fitconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fitconfig_tree.h"
#include "fusion.h"
#include "tnace_limits.h"
#include "util.h"

/* Limits of the fit settings, not of the model (those are tnace_limits.h, shared with the potential
 * reader and the tensor networks, so that a config accepted here gives a potential they accept). */
/* Sweeps, patience, annealing and growth intervals: far beyond any useful fit, and safely an int. */
#define MAX_SWEEPS 100000
/* OpenMP threads: more than any one node has; a typo such as 40960 is refused instead of oversubscribing. */
#define MAX_THREADS 4096

/* ---- pass 2: sections ------------------------------------------------------------------------------ */

typedef struct {
  ectx *e;
  tnace_fitconfig *c;
  char dir[4096];    /* directory of the config file with its trailing '/', "" for the current one */
} rd;

static int species_of(const tnace_fitconfig *c, const char *sym) {
  for (int a = 0; a < c->n_el; a++)
    if (strcmp(c->elem[a], sym) == 0) return a;
  return -1;
}

static int read_elements(rd *R, const cnode *n) {
  ectx *e = R->e;
  tnace_fitconfig *c = R->c;
  char kb[64];
  if (n->kind != C_SEQ) return fc_type_error(e, n, "elements", "a sequence of element symbols, e.g. [Cu, Ni]");
  if (!n->child) return fc_fail(e, TNACE_ERR_VALUE, n->line, "elements", "at least one element is required");
  int i = 0;
  for (const cnode *s = n->child; s; s = s->next, i++) {
    const char *key = fc_subidx(kb, sizeof kb, "elements", i);
    const char *sym = NULL;
    if (fc_get_str(e, s, key, &sym)) return e->rc;
    if (i >= TNACE_MAX_ELEMENTS)
      return fc_fail(e, TNACE_ERR_VALUE, s->line, "elements", "too many elements (at most %d)", TNACE_MAX_ELEMENTS);
    if (strlen(sym) > 3 || tnace_atomic_number(sym) == 0) {
      /* "cu" or "CU": the element meant, to suggest */
      const char *hint = tnace_element_symbol(tnace_atomic_number_nocase(sym, strlen(sym)));
      if (hint)
        return fc_fail(e, TNACE_ERR_ELEMENT, s->line, key, "unknown element '%s' (did you mean '%s'?)", sym, hint);
      return fc_fail(e, TNACE_ERR_ELEMENT, s->line, key, "unknown element '%.40s'", sym);
    }
    for (int j = 0; j < i; j++)
      if (strcmp(c->elem[j], sym) == 0)
        return fc_fail(e, TNACE_ERR_VALUE, s->line, key, "duplicate element '%s' (also elements[%d])", sym, j);
    snprintf(c->elem[i], sizeof c->elem[i], "%s", sym);
    c->n_el = i + 1;
  }
  return 0;
}

static int read_e0(rd *R, const cnode *n) {
  ectx *e = R->e;
  tnace_fitconfig *c = R->c;
  char kb[128];
  c->e0_line = n->line;
  if (n->kind == C_SCALAR && !fc_is_null(n)) {
    if (!strcmp(n->value, "auto")) { c->e0_mode = TNACE_E0_AUTO; return 0; }
    if (!strcmp(n->value, "isolated")) { c->e0_mode = TNACE_E0_ISOLATED; return 0; }
  }
  if (n->kind != C_MAP)
    return fc_type_error(e, n, "e0", "auto, isolated or a mapping {element: energy in eV}");
  c->e0_mode = TNACE_E0_FIXED;
  int have[TNACE_MAX_ELEMENTS] = {0};
  for (const cnode *v = n->child; v; v = v->next) {
    const char *key = fc_subkey(kb, sizeof kb, "e0", v->key);
    int a = species_of(c, v->key);
    if (a < 0) return fc_fail(e, TNACE_ERR_ELEMENT, v->key_line, key, "'%.40s' is not one of the elements", v->key);
    if (fc_get_double(e, v, key, &c->e0[a])) return e->rc;
    have[a] = 1;
  }
  for (int a = 0; a < c->n_el; a++)
    if (!have[a])
      return fc_fail(e, TNACE_ERR_VALUE, n->line, "e0", "no value for %s (fixed E0 needs every element)", c->elem[a]);
  return 0;
}

/* A cutoff in (0, TNACE_MAX_CUTOFF] Å. */
static int fc_cutoff(ectx *e, const cnode *n, const char *path, double v) {
  if (fc_positive(e, n, path, v)) return e->rc;
  if (v > TNACE_MAX_CUTOFF)
    return fc_fail(e, TNACE_ERR_VALUE, n->line, path, "%s Å is out of range (0..%g Å)", n->value, TNACE_MAX_CUTOFF);
  return 0;
}

static int read_cutoff(rd *R, const cnode *n) {
  ectx *e = R->e;
  tnace_fitconfig *c = R->c;
  char kb[128];
  if (n->kind == C_SCALAR) {
    double v = 0;
    if (fc_get_double(e, n, "cutoff", &v) || fc_cutoff(e, n, "cutoff", v)) return e->rc;
    for (int a = 0; a < c->n_el; a++)
      for (int b = 0; b < c->n_el; b++) c->rcut[a][b] = v;
    return 0;
  }
  if (n->kind != C_MAP) return fc_type_error(e, n, "cutoff", "a number (Å) or a mapping {A-B: r, ..., default: r}");
  int line[TNACE_MAX_ELEMENTS][TNACE_MAX_ELEMENTS] = {{0}};
  double dflt = 0;
  int has_default = 0;
  for (const cnode *v = n->child; v; v = v->next) {
    const char *key = fc_subkey(kb, sizeof kb, "cutoff", v->key);
    double x = 0;
    if (fc_get_double(e, v, key, &x) || fc_cutoff(e, v, key, x)) return e->rc;
    if (!strcmp(v->key, "default")) {
      dflt = x;
      has_default = 1;
      continue;
    }
    char s1[8] = "", s2[8] = "";
    const char *dash = strchr(v->key, '-');
    if (dash && dash - v->key < 8 && strlen(dash + 1) < 8) {
      memcpy(s1, v->key, (size_t)(dash - v->key));
      s1[dash - v->key] = '\0';
      snprintf(s2, sizeof s2, "%s", dash + 1);
    }
    int a = species_of(c, s1), b = species_of(c, s2);
    if (!dash || !*s1 || !*s2)
      return fc_fail(e, TNACE_ERR_PARSE, v->key_line, key,
                     "expected a pair of elements 'A-B' (e.g. %s-%s) or 'default'", c->elem[0], c->elem[c->n_el - 1]);
    if (a < 0 || b < 0)
      return fc_fail(e, TNACE_ERR_ELEMENT, v->key_line, key, "'%s' is not one of the elements", a < 0 ? s1 : s2);
    if (line[a][b])
      return fc_fail(e, TNACE_ERR_PARSE, v->key_line, key, "pair given twice (also at line %d)", line[a][b]);
    line[a][b] = line[b][a] = v->key_line;
    c->rcut[a][b] = c->rcut[b][a] = x;
  }
  for (int a = 0; a < c->n_el; a++)
    for (int b = a; b < c->n_el; b++)
      if (!line[a][b]) {
        if (!has_default)
          return fc_fail(e, TNACE_ERR_VALUE, n->line, "cutoff", "no cutoff for the pair %s-%s (give it or a 'default')",
                         c->elem[a], c->elem[b]);
        c->rcut[a][b] = c->rcut[b][a] = dflt;
      }
  return 0;
}

static int read_radial(rd *R, const cnode *n) {
  static const char *const keys[] = {"basis", "lambda"};
  ectx *e = R->e;
  if (fc_check_map(e, n, "radial", keys, 2, "a mapping {lambda: ...}")) return e->rc;
  const cnode *v;
  if ((v = fc_get(n, "basis"))) {
    const char *s = NULL;
    if (fc_get_str(e, v, "radial.basis", &s)) return e->rc;
    if (strcmp(s, "chebexpcos") != 0)
      return fc_fail(e, TNACE_ERR_VALUE, v->line, "radial.basis",
                     "unknown radial basis '%.40s' (supported: chebexpcos)", s);
  }
  if ((v = fc_get(n, "lambda")) &&
      (fc_get_double(e, v, "radial.lambda", &R->c->lambda) || fc_positive(e, v, "radial.lambda", R->c->lambda)))
    return e->rc;
  return 0;
}

static int read_repulsion(rd *R, const cnode *n) {
  static const char *const keys[] = {"type", "inner", "outer"};
  ectx *e = R->e;
  tnace_fitconfig *c = R->c;
  if (fc_is_null(n) || (n->kind == C_SCALAR && !strcmp(n->value, "none"))) { c->rep_type = TNACE_REP_NONE; return 0; }
  if (fc_check_map(e, n, "repulsion", keys, 3, "none or a mapping {type: zbl, inner: r_i, outer: r_o}")) return e->rc;
  const cnode *t, *v;
  const char *s = NULL;
  if (fc_require(e, n, "repulsion", "type", &t) || fc_get_str(e, t, "repulsion.type", &s)) return e->rc;
  if (!strcmp(s, "none")) {
    c->rep_type = TNACE_REP_NONE;
    return 0;
  }
  if (strcmp(s, "zbl") != 0)
    return fc_fail(e, TNACE_ERR_VALUE, t->line, "repulsion.type",
                   "unknown repulsion '%.40s' (supported: none, zbl)", s);
  c->rep_type = TNACE_REP_ZBL;
  if (fc_require(e, n, "repulsion", "inner", &v) || fc_get_double(e, v, "repulsion.inner", &c->rep_inner) ||
      fc_nonneg(e, v, "repulsion.inner", c->rep_inner))
    return e->rc;
  if (fc_require(e, n, "repulsion", "outer", &v) || fc_get_double(e, v, "repulsion.outer", &c->rep_outer) ||
      fc_positive(e, v, "repulsion.outer", c->rep_outer))
    return e->rc;
  if (!(c->rep_inner < c->rep_outer))
    return fc_fail(e, TNACE_ERR_VALUE, v->line, "repulsion.outer", "must be larger than inner (%g <= %g)", c->rep_outer,
                   c->rep_inner);
  return 0;
}

static int read_terms(rd *R, const cnode *n) {
  static const char *const keys[] = {"nu", "lmax", "nmax", "chi", "model", "rank", "species_rank", "species_copies",
                                     "pool", "shared", "scale"};
  ectx *e = R->e;
  tnace_fitconfig *c = R->c;
  char kb[64], kb2[96];
  if (n->kind != C_SEQ) return fc_type_error(e, n, "terms", "a sequence of {nu, lmax, nmax, chi}");
  if (!n->child) return fc_fail(e, TNACE_ERR_VALUE, n->line, "terms", "at least one term is required");
  int i = 0;
  for (const cnode *t = n->child; t; t = t->next, i++) {
    const char *ctx = fc_subidx(kb, sizeof kb, "terms", i);
    if (i >= TNACE_MAX_TERMS)
      return fc_fail(e, TNACE_ERR_VALUE, t->line, "terms", "too many terms (at most %d)", TNACE_MAX_TERMS);
    if (fc_check_map(e, t, ctx, keys, 11,
                     "a mapping {nu, lmax, nmax, chi, model, rank, species_rank, species_copies, pool, shared, scale}"))
      return e->rc;
    tnace_term_spec *sp = &c->spec[i];
    memset(sp, 0, sizeof *sp);
    sp->model = TNACE_MODEL_MPS;
    const cnode *v;
    if (fc_require(e, t, ctx, "nu", &v) ||
        fc_get_int(e, v, fc_subkey(kb2, sizeof kb2, ctx, "nu"), 1, TNACE_MAX_NU, &sp->nu))
      return e->rc;
    if ((v = fc_get(t, "lmax"))) {
      if (fc_get_int(e, v, fc_subkey(kb2, sizeof kb2, ctx, "lmax"), 0, TNACE_LMAX_LIMIT, &sp->lmax)) return e->rc;
      if (sp->nu == 1 && sp->lmax != 0)
        return fc_fail(e, TNACE_ERR_VALUE, v->line, kb2, "a nu = 1 term has only l = 0: lmax must be 0 or left out");
      char why[320];
      if (tnace_fusion_check_size(sp->nu, sp->lmax, why, sizeof why))
        return fc_fail(e, TNACE_ERR_VALUE, v->line, kb2, "%s", why);
    } else if (sp->nu > 1) {
      return fc_fail(e, TNACE_ERR_PARSE, t->line, fc_subkey(kb2, sizeof kb2, ctx, "lmax"),
                     "missing required key (nu = %d)", sp->nu);
    }
    if (fc_require(e, t, ctx, "nmax", &v) ||
        fc_get_int(e, v, fc_subkey(kb2, sizeof kb2, ctx, "nmax"), 1, TNACE_MAX_NMAX, &sp->nmax))
      return e->rc;
    if (fc_require(e, t, ctx, "chi", &v) ||
        fc_get_int(e, v, fc_subkey(kb2, sizeof kb2, ctx, "chi"), 1, TNACE_MAX_BOND, &sp->chi))
      return e->rc;
    if ((v = fc_get(t, "model"))) {
      const char *s = NULL;
      if (fc_get_str(e, v, fc_subkey(kb2, sizeof kb2, ctx, "model"), &s)) return e->rc;
      if (!strcmp(s, "mpo"))
        sp->model = TNACE_MODEL_MPO;
      else if (!strcmp(s, "embed"))
        sp->model = TNACE_MODEL_EMB;
      else if (strcmp(s, "mps") != 0)
        return fc_fail(e, TNACE_ERR_VALUE, v->line, kb2, "unknown model '%.40s' (supported: mps, mpo, embed)", s);
    }
    if ((v = fc_get(t, "rank"))) {
      if (sp->model == TNACE_MODEL_MPS)
        return fc_fail(e, TNACE_ERR_VALUE, v->line, fc_subkey(kb2, sizeof kb2, ctx, "rank"),
                       "rank is the bond joining the two layers of an mpo term (model: mpo) or the number of "
                       "outputs of an embed term (model: embed)");
      if (fc_get_int(e, v, fc_subkey(kb2, sizeof kb2, ctx, "rank"), sp->model == TNACE_MODEL_EMB ? 2 : 1,
                     TNACE_MAX_BOND, &sp->rank))
        return e->rc;
    } else if (sp->model == TNACE_MODEL_EMB) {
      sp->rank = 2; /* E_t = J_0 + f(J_1): the read-out of PACE's two-density Finnis–Sinclair embedding */
    }
    if ((v = fc_get(t, "scale"))) {
      if (sp->model != TNACE_MODEL_EMB)
        return fc_fail(e, TNACE_ERR_VALUE, v->line, fc_subkey(kb2, sizeof kb2, ctx, "scale"),
                       "scale is the energy (eV) where the read-out of an embed term turns to a square root "
                       "(model: embed)");
      if (fc_get_double(e, v, fc_subkey(kb2, sizeof kb2, ctx, "scale"), &sp->escale)) return e->rc;
      if (!(sp->escale > 0 && sp->escale <= TNACE_MAX_EMBED_SCALE))
        return fc_fail(e, TNACE_ERR_VALUE, v->line, kb2, "%g eV: must be in (0, %g]", sp->escale,
                       TNACE_MAX_EMBED_SCALE);
    }
    if ((v = fc_get(t, "species_rank")) &&
        fc_get_int(e, v, fc_subkey(kb2, sizeof kb2, ctx, "species_rank"), 1, TNACE_MAX_ELEMENTS, &sp->srank))
      return e->rc;
    if ((v = fc_get(t, "species_copies")) &&
        fc_get_int(e, v, fc_subkey(kb2, sizeof kb2, ctx, "species_copies"), 1, sp->nu, &sp->scopies))
      return e->rc;
    if ((v = fc_get(t, "pool"))) {
      if (fc_get_bool(e, v, fc_subkey(kb2, sizeof kb2, ctx, "pool"), &sp->pool)) return e->rc;
      if (sp->pool && sp->model != TNACE_MODEL_MPO)
        return fc_fail(e, TNACE_ERR_VALUE, v->line, kb2, "pool: true is for model: mpo (an MPS term is linear in "
                       "the descriptor: pooling it changes nothing)");
      if (sp->pool && !R->c->pool_line) R->c->pool_line = v->line;
    }
    if ((v = fc_get(t, "shared"))) {
      if (fc_get_bool(e, v, fc_subkey(kb2, sizeof kb2, ctx, "shared"), &sp->shared)) return e->rc;
      if (sp->shared && (sp->srank || sp->scopies))
        return fc_fail(e, TNACE_ERR_VALUE, v->line, kb2, "shared cores (one set for every centre element) do not go "
                       "with species_rank or species_copies");
      if (sp->shared && !R->c->shared_line) R->c->shared_line = v->line;
    }
    c->n_terms = i + 1;
  }
  return 0;
}

/* One file path: resolved against the config's directory, checked to be a readable regular file. */
static int add_file(rd *R, const cnode *v, const char *key, tnace_fitconfig_file *f) {
  ectx *e = R->e;
  const char *given = NULL;
  if (fc_get_str(e, v, key, &given)) return e->rc;
  const int rel = given[0] != '/' && R->dir[0];
  size_t len = strlen(given) + (rel ? strlen(R->dir) + 1 : 0) + 1;
  f->given = fc_dupstr(given);
  f->path = malloc(len);
  f->line = v->line;
  if (!f->given || !f->path) return fc_fail(e, TNACE_ERR_NOMEM, v->line, key, "out of memory");
  if (rel)
    snprintf(f->path, len, "%s%s", R->dir, given);
  else
    snprintf(f->path, len, "%s", given);
  char where[600] = "";
  if (rel) snprintf(where, sizeof where, " (resolved to '%.500s')", f->path);
  struct stat st;
  if (stat(f->path, &st) != 0)
    return fc_fail(e, TNACE_ERR_IO, v->line, key, "cannot read '%.500s'%s: %s", given, where, strerror(errno));
  if (S_ISDIR(st.st_mode)) return fc_fail(e, TNACE_ERR_IO, v->line, key, "'%.500s'%s is a directory", given, where);
  FILE *fp = fopen(f->path, "rb");
  if (!fp) return fc_fail(e, TNACE_ERR_IO, v->line, key, "cannot read '%.500s'%s: %s", given, where, strerror(errno));
  fclose(fp);
  return 0;
}

/* A file or a list of files (null / [] allowed only when `optional`). */
static int read_files(rd *R, const cnode *n, const char *key, int optional, tnace_fitconfig_file **out, int *nout) {
  ectx *e = R->e;
  char kb[96];
  *out = NULL;
  *nout = 0;
  if (fc_is_null(n)) {
    if (optional) return 0;
    return fc_type_error(e, n, key, "a file name or a list of file names");
  }
  if (n->kind == C_MAP) return fc_type_error(e, n, key, "a file name or a list of file names");
  const int m = n->kind == C_SEQ ? fc_count(n) : 1;
  if (m == 0) {
    if (optional) return 0;
    return fc_fail(e, TNACE_ERR_VALUE, n->line, key, "at least one file is required");
  }
  *out = calloc((size_t)m, sizeof **out);
  if (!*out) return fc_fail(e, TNACE_ERR_NOMEM, n->line, key, "out of memory");
  *nout = m;
  if (n->kind == C_SCALAR) return add_file(R, n, key, &(*out)[0]);
  int i = 0;
  for (const cnode *v = n->child; v; v = v->next, i++)
    if (add_file(R, v, fc_subidx(kb, sizeof kb, key, i), &(*out)[i])) return e->rc;
  return 0;
}

static int read_keys(rd *R, const cnode *n) {
  static const char *const keys[] = {"energy", "forces", "stress", "virial", "config_type"};
  ectx *e = R->e;
  tnace_fitconfig *c = R->c;
  char kb[64];
  if (fc_is_null(n)) return 0;
  if (fc_check_map(e, n, "data.keys", keys, 5, "a mapping {energy: ..., forces: ..., stress: ..., virial: ...}"))
    return e->rc;
  const char **dst[5] = {&c->keys.energy, &c->keys.forces, &c->keys.stress, &c->keys.virial, &c->keys.config_type};
  for (int i = 0; i < 5; i++) {
    const cnode *v = fc_get(n, keys[i]);
    const char *s = NULL;
    if (!v) continue;
    if (fc_get_str(e, v, fc_subkey(kb, sizeof kb, "data.keys", keys[i]), &s)) return e->rc;
    char *d = fc_dupstr(s);
    if (!d) return fc_fail(e, TNACE_ERR_NOMEM, v->line, kb, "out of memory");
    *dst[i] = d;
    c->has_keys = 1;
  }
  return 0;
}

/* data.units: {energy: eV|meV|eV/atom|meV/atom, stress: eV/A^3|GPa|kbar|bar, stress_sign: ase|pressure}. Any of them declares the
 * units, which switches off the reader's plausibility check (extxyz.h). */
static int read_units(rd *R, const cnode *n) {
  static const char *const keys[] = {"energy", "stress", "stress_sign"};
  ectx *e = R->e;
  tnace_fitconfig *c = R->c;
  const cnode *v;
  const char *s;
  if (fc_is_null(n)) return 0;
  if (fc_check_map(e, n, "data.units", keys, 3, "a mapping {energy: eV, stress: GPa, stress_sign: ase}")) return e->rc;
  if ((v = fc_get(n, "energy"))) {
    if (fc_get_str(e, v, "data.units.energy", &s)) return e->rc;
    if (tnace_energy_unit_parse(s, &c->keys.energy_unit, &c->keys.energy_per_atom))
      return fc_fail(e, TNACE_ERR_VALUE, v->line, "data.units.energy",
                     "unknown unit '%s' (eV, meV: structure totals; eV/atom, meV/atom: per atom)", s);
  }
  if ((v = fc_get(n, "stress"))) {
    if (fc_get_str(e, v, "data.units.stress", &s)) return e->rc;
    if (tnace_stress_unit_parse(s, &c->keys.stress_unit))
      return fc_fail(e, TNACE_ERR_VALUE, v->line, "data.units.stress", "unknown unit '%s' (eV/A^3, GPa, kbar, bar)", s);
  }
  if ((v = fc_get(n, "stress_sign"))) {
    if (fc_get_str(e, v, "data.units.stress_sign", &s)) return e->rc;
    if (tnace_stress_sign_parse(s, &c->keys.stress_sign))
      return fc_fail(e, TNACE_ERR_VALUE, v->line, "data.units.stress_sign",
                     "unknown sign '%s' (ase: tensile > 0; pressure: compressive > 0)", s);
  }
  c->keys.units_declared = 1;
  c->has_keys = 1;
  return 0;
}

/* The same file (same device and inode, or the same name). */
static int same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (!strcmp(a, b)) return 1;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int read_data(rd *R, const cnode *n) {
  static const char *const keys[] = {"train", "validation", "validation_fraction", "seed", "stratify", "skip_bad", "keys",
                                     "units"};
  ectx *e = R->e;
  tnace_fitconfig *c = R->c;
  const cnode *v;
  if (fc_check_map(e, n, "data", keys, 8, "a mapping {train: ..., validation: ..., ...}")) return e->rc;
  if (fc_require(e, n, "data", "train", &v) || read_files(R, v, "data.train", 0, &c->train, &c->n_train)) return e->rc;
  if ((v = fc_get(n, "validation")) && read_files(R, v, "data.validation", 1, &c->valid, &c->n_valid)) return e->rc;
  for (int i = 0; i < c->n_train; i++)
    for (int j = 0; j < i; j++)
      if (same_file(c->train[i].path, c->train[j].path))
        return fc_fail(e, TNACE_ERR_VALUE, c->train[i].line, "data.train", "'%.500s' is listed twice (also line %d)",
                       c->train[i].given, c->train[j].line);
  for (int i = 0; i < c->n_valid; i++)
    for (int j = 0; j < i; j++)
      if (same_file(c->valid[i].path, c->valid[j].path))
        return fc_fail(e, TNACE_ERR_VALUE, c->valid[i].line, "data.validation",
                       "'%.500s' is listed twice (also line %d)", c->valid[i].given, c->valid[j].line);
  for (int i = 0; i < c->n_valid; i++)
    for (int j = 0; j < c->n_train; j++)
      if (same_file(c->valid[i].path, c->train[j].path))
        return fc_fail(e, TNACE_ERR_VALUE, c->valid[i].line, "data.validation",
                       "'%.500s' is also a training file (data.train, line %d)", c->valid[i].given, c->train[j].line);
  c->valid_fraction = c->n_valid ? 0.0 : 0.1;
  if ((v = fc_get(n, "validation_fraction"))) {
    if (fc_get_double(e, v, "data.validation_fraction", &c->valid_fraction)) return e->rc;
    if (!(c->valid_fraction >= 0 && c->valid_fraction < 1))
      return fc_fail(e, TNACE_ERR_VALUE, v->line, "data.validation_fraction", "must be in [0, 1) (got %s)", v->value);
    if (c->n_valid && c->valid_fraction > 0)
      return fc_fail(e, TNACE_ERR_VALUE, v->line, "data.validation_fraction",
                     "give validation files or a validation fraction, not both");
  }
  if ((v = fc_get(n, "seed")) && fc_get_seed(e, v, "data.seed", &c->split_seed)) return e->rc;
  c->stratify = 1;
  if ((v = fc_get(n, "stratify")) && fc_get_bool(e, v, "data.stratify", &c->stratify)) return e->rc;
  if ((v = fc_get(n, "skip_bad")) && fc_get_bool(e, v, "data.skip_bad", &c->skip_bad)) return e->rc;
  if ((v = fc_get(n, "keys")) && read_keys(R, v)) return e->rc;
  if ((v = fc_get(n, "units")) && read_units(R, v)) return e->rc;
  return 0;
}

/* One config_type's weights: a number (energy, forces and stress alike) or {energy: w, forces: w, stress: w}
 * (each ≥ 0, default 1), as FitSNAP's group weights. */
static int read_ct_weight(ectx *e, const cnode *v, const char *key, double w[3]) {
  static const char *const q[] = {"energy", "forces", "stress"};
  char kb[200];
  if (v->kind == C_SCALAR) {
    if (fc_get_double(e, v, key, &w[0]) || fc_nonneg(e, v, key, w[0])) return e->rc;
    w[1] = w[2] = w[0];
    return 0;
  }
  if (fc_check_map(e, v, key, q, 3, "a number or a mapping {energy: w, forces: w, stress: w}")) return e->rc;
  for (int i = 0; i < 3; i++) {
    const cnode *x = fc_get(v, q[i]);
    const char *k = fc_subkey(kb, sizeof kb, key, q[i]);
    w[i] = 1.0;
    if (x && (fc_get_double(e, x, k, &w[i]) || fc_nonneg(e, x, k, w[i]))) return e->rc;
  }
  return 0;
}

static int read_loss(rd *R, const cnode *n) {
  static const char *const keys[] = {"energy", "forces", "stress", "config_type_weights"};
  ectx *e = R->e;
  tnace_fit_opts *o = &R->c->opts;
  char kb[160];
  if (fc_check_map(e, n, "loss", keys, 4, "a mapping {energy: ..., forces: ..., stress: ...}")) return e->rc;
  double *dst[3] = {&o->kappa_e, &o->kappa_f, &o->kappa_s};
  for (int i = 0; i < 3; i++) {
    const cnode *v = fc_get(n, keys[i]);
    const char *key = fc_subkey(kb, sizeof kb, "loss", keys[i]);
    if (v && (fc_get_double(e, v, key, dst[i]) || fc_nonneg(e, v, key, *dst[i]))) return e->rc;
    if (v) R->c->loss_line[i] = v->line;
  }
  if (!(o->kappa_e > 0 || o->kappa_f > 0 || o->kappa_s > 0))
    return fc_fail(e, TNACE_ERR_VALUE, n->line, "loss",
                   "the energy, forces and stress weights are all 0: nothing to fit");
  const cnode *w = fc_get(n, "config_type_weights");
  if (!w || fc_is_null(w)) return 0;
  if (w->kind != C_MAP)
    return fc_type_error(e, w, "loss.config_type_weights",
                         "a mapping {config_type: weight} or {config_type: {energy: w, forces: w, stress: w}}");
  for (const cnode *v = w->child; v; v = v->next) {
    const char *key = fc_subkey(kb, sizeof kb, "loss.config_type_weights", v->key);
    if (o->n_ct >= TNACE_FIT_MAX_CT)
      return fc_fail(e, TNACE_ERR_VALUE, v->key_line, "loss.config_type_weights", "too many config types (at most %d)",
                     TNACE_FIT_MAX_CT);
    if (strlen(v->key) >= sizeof o->ct_name[0])
      return fc_fail(e, TNACE_ERR_VALUE, v->key_line, key, "config_type name longer than %zu characters",
                     sizeof o->ct_name[0] - 1);
    if (read_ct_weight(e, v, key, o->ct_weight[o->n_ct])) return e->rc;
    snprintf(o->ct_name[o->n_ct], sizeof o->ct_name[0], "%s", v->key);
    o->n_ct++;
  }
  return 0;
}

static int read_fit(rd *R, const cnode *n) {
  static const char *const keys[] = {"lambda", "lambda_start", "anneal_sweeps", "sweeps", "patience",
                                     "force_fraction", "threads", "seed", "max_rows_mb", "chi_start", "grow_every",
                                     "species_shrink"};
  ectx *e = R->e;
  tnace_fit_opts *o = &R->c->opts;
  const cnode *v;
  if (fc_check_map(e, n, "fit", keys, 12, "a mapping {lambda: ..., sweeps: ..., ...}")) return e->rc;
  if ((v = fc_get(n, "lambda")) &&
      (fc_get_double(e, v, "fit.lambda", &o->lambda) || fc_nonneg(e, v, "fit.lambda", o->lambda)))
    return e->rc;
  if ((v = fc_get(n, "lambda_start")) &&
      (fc_get_double(e, v, "fit.lambda_start", &o->lambda_start) ||
       fc_nonneg(e, v, "fit.lambda_start", o->lambda_start)))
    return e->rc;
  if ((v = fc_get(n, "anneal_sweeps")) && fc_get_int(e, v, "fit.anneal_sweeps", 0, MAX_SWEEPS, &o->anneal_sweeps))
    return e->rc;
  if ((v = fc_get(n, "sweeps")) && fc_get_int(e, v, "fit.sweeps", 1, MAX_SWEEPS, &o->max_sweeps)) return e->rc;
  if ((v = fc_get(n, "patience")) && fc_get_int(e, v, "fit.patience", 1, MAX_SWEEPS, &o->patience)) return e->rc;
  if ((v = fc_get(n, "force_fraction"))) {
    if (fc_get_double(e, v, "fit.force_fraction", &o->force_fraction)) return e->rc;
    if (!(o->force_fraction > 0 && o->force_fraction <= 1))
      return fc_fail(e, TNACE_ERR_VALUE, v->line, "fit.force_fraction",
                     "must be in (0, 1] (got %s; set loss.forces: 0 to fit without forces)", v->value);
  }
  if ((v = fc_get(n, "threads")) && fc_get_int(e, v, "fit.threads", 0, MAX_THREADS, &o->n_threads)) return e->rc;
  if ((v = fc_get(n, "seed")) && fc_get_seed(e, v, "fit.seed", &o->seed)) return e->rc;
  if ((v = fc_get(n, "max_rows_mb")) &&
      (fc_get_double(e, v, "fit.max_rows_mb", &o->max_rows_mb) || fc_positive(e, v, "fit.max_rows_mb", o->max_rows_mb)))
    return e->rc;
  if ((v = fc_get(n, "chi_start")) && fc_get_int(e, v, "fit.chi_start", 1, TNACE_MAX_BOND, &o->chi_start)) return e->rc;
  if ((v = fc_get(n, "grow_every")) && fc_get_int(e, v, "fit.grow_every", 1, MAX_SWEEPS, &o->grow_every)) return e->rc;
  if ((v = fc_get(n, "species_shrink"))) {
    if (fc_get_double(e, v, "fit.species_shrink", &o->species_shrink) ||
        fc_nonneg(e, v, "fit.species_shrink", o->species_shrink))
      return e->rc;
    if (o->species_shrink > 0 && R->c->n_el < 2)
      return fc_fail(e, TNACE_ERR_VALUE, v->line, "fit.species_shrink", "shrinks the interaction of centre and "
                     "neighbour species: it needs several elements (this config has one)");
  }
  return 0;
}

static int read_output(rd *R, const cnode *n) {
  static const char *const keys[] = {"potential", "metrics"};
  ectx *e = R->e;
  tnace_fitconfig *c = R->c;
  const cnode *v;
  const char *s = NULL;
  c->output_line = n->line;
  if (fc_is_null(n)) return 0;
  if (fc_check_map(e, n, "output", keys, 2, "a mapping {potential: FILE.yaml, metrics: FILE.json}")) return e->rc;
  if ((v = fc_get(n, "potential"))) {
    if (fc_get_str(e, v, "output.potential", &s)) return e->rc;
    if (!(c->out_potential = fc_dupstr(s)))
      return fc_fail(e, TNACE_ERR_NOMEM, v->line, "output.potential", "out of memory");
    c->out_potential_line = v->line;
  }
  if ((v = fc_get(n, "metrics"))) {
    c->metrics_set = 1;
    c->out_metrics_line = v->line;
    if (fc_is_null(v)) return 0;
    if (fc_get_str(e, v, "output.metrics", &s)) return e->rc;
    if (!(c->out_metrics = fc_dupstr(s)))
      return fc_fail(e, TNACE_ERR_NOMEM, v->line, "output.metrics", "out of memory");
  }
  return 0;
}

/* property: {name: KEY, kind: intensive|extensive, per: [El, ...], units: U} — a property model (model.h): the
 * extxyz key KEY is the target (read as the energy; intensive: per counted atom, times their count), the counted
 * atoms those of `per` (default all), no forces, stresses or repulsion. After data: it sets the reader's keys. */
static int read_property(rd *R, const cnode *n) {
  static const char *const keys[] = {"name", "kind", "per", "units"};
  ectx *e = R->e;
  tnace_fitconfig *c = R->c;
  tnace_property *p = &c->prop;
  const cnode *v;
  const char *s = NULL;
  char kb[64];
  if (fc_check_map(e, n, "property", keys, 4, "a mapping {name: KEY, kind: intensive|extensive, per: [El, ...]}"))
    return e->rc;
  if (fc_require(e, n, "property", "name", &v) || fc_get_str(e, v, "property.name", &s)) return e->rc;
  if (!*s || strlen(s) >= sizeof p->name || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(s))
    return fc_fail(e, TNACE_ERR_VALUE, v->line, "property.name", "'%.40s': an extxyz key of letters, digits, _ . -", s);
  if (c->keys.energy)
    return fc_fail(e, TNACE_ERR_VALUE, v->line, "property.name", "data.keys.energy is set too: the property's name is "
                   "the key it is read from");
  snprintf(p->name, sizeof p->name, "%s", s);
  p->intensive = 1;
  if ((v = fc_get(n, "kind"))) {
    if (fc_get_str(e, v, "property.kind", &s)) return e->rc;
    if (strcmp(s, "intensive") && strcmp(s, "extensive"))
      return fc_fail(e, TNACE_ERR_VALUE, v->line, "property.kind", "'%.40s': intensive (per atom) or extensive (a total)", s);
    p->intensive = !strcmp(s, "intensive");
  }
  snprintf(p->units, sizeof p->units, "eV");
  if ((v = fc_get(n, "units"))) {
    if (fc_get_str(e, v, "property.units", &s)) return e->rc;
    if (!*s || strlen(s) >= sizeof p->units || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz/") != strlen(s))
      return fc_fail(e, TNACE_ERR_VALUE, v->line, "property.units", "'%.40s': a unit name of letters (eV, meV)", s);
    snprintf(p->units, sizeof p->units, "%s", s);
  }
  if ((v = fc_get(n, "per"))) {
    if (v->kind != C_SEQ || !v->child) return fc_type_error(e, v, "property.per", "a sequence of element symbols");
    size_t len = 0;
    for (const cnode *x = v->child; x; x = x->next) len += 5;
    if (!(c->count_species = calloc(len + 1, 1))) return fc_fail(e, TNACE_ERR_NOMEM, v->line, "property.per", "out of memory");
    int i = 0;
    for (const cnode *x = v->child; x; x = x->next, i++) {
      if (fc_get_str(e, x, fc_subidx(kb, sizeof kb, "property.per", i), &s)) return e->rc;
      int a = -1;
      for (int b = 0; b < c->n_el; b++)
        if (!strcmp(c->elem[b], s)) a = b;
      if (a < 0) return fc_fail(e, TNACE_ERR_VALUE, x->line, kb, "'%.40s' is not one of the elements", s);
      p->per[p->n_per++] = a;
      strcat(c->count_species, i ? "," : "");
      strcat(c->count_species, s);
    }
  }
  if (c->rep_type != TNACE_REP_NONE)
    return fc_fail(e, TNACE_ERR_VALUE, n->line, "property", "a property model has no repulsive core: remove repulsion");
  for (int q = 1; q < 3; q++) {
    const double w = q == 1 ? c->opts.kappa_f : c->opts.kappa_s;
    if (c->loss_line[q] > 0 && w > 0)
      return fc_fail(e, TNACE_ERR_VALUE, c->loss_line[q], q == 1 ? "loss.forces" : "loss.stress",
                     "a property model fits %s only: set the weight to 0 or remove it", p->name);
  }
  c->opts.kappa_f = c->opts.kappa_s = 0.0;
  c->keys.energy = fc_dupstr(p->name);
  if (!c->keys.energy) return fc_fail(e, TNACE_ERR_NOMEM, n->line, "property", "out of memory");
  c->keys.energy_per_atom = p->intensive;
  c->keys.count_species = c->count_species;
  c->keys.units_declared = 1;
  c->has_keys = 1;
  p->set = 1;
  return 0;
}

/* grade: {size: M, sample: S, tolerance: T} (grade_fit.h), or false / 0 for no extrapolation grade. */
static int read_grade(rd *R, const cnode *n) {
  static const char *const keys[] = {"size", "sample", "tolerance"};
  ectx *e = R->e;
  tnace_grade_opts *g = &R->c->grade;
  const cnode *v;
  if (n->kind != C_MAP && n->value && (!strcmp(n->value, "false") || !strcmp(n->value, "0"))) {
    g->size = 0;
    return 0;
  }
  if (fc_check_map(e, n, "grade", keys, 3, "a mapping {size: ..., sample: ..., tolerance: ...} or false")) return e->rc;
  if ((v = fc_get(n, "size")) && fc_get_int(e, v, "grade.size", 0, TNACE_MAX_GRADE_SIZE, &g->size)) return e->rc;
  if ((v = fc_get(n, "sample")) && fc_get_int(e, v, "grade.sample", 1, 1000000, &g->sample)) return e->rc;
  if ((v = fc_get(n, "tolerance"))) {
    if (fc_get_double(e, v, "grade.tolerance", &g->maxvol_tol)) return e->rc;
    if (!(g->maxvol_tol >= 1.0 && g->maxvol_tol <= 10.0))
      return fc_fail(e, TNACE_ERR_VALUE, v->line, "grade.tolerance", "must be in [1, 10] (got %s)", v->value);
  }
  if (g->size > 0 && g->sample < g->size)
    return fc_fail(e, TNACE_ERR_VALUE, n->line, "grade.sample", "%d is smaller than grade.size %d", g->sample, g->size);
  return 0;
}

static int read_config(rd *R, const cnode *root) {
  static const char *const keys[] = {"elements", "e0", "cutoff", "radial", "r_min", "repulsion", "terms",
                                     "data", "loss", "fit", "output", "metadata", "grade", "property"};
  ectx *e = R->e;
  tnace_fitconfig *c = R->c;
  const cnode *v;
  if (fc_check_map(e, root, NULL, keys, 14, "a mapping")) return e->rc;
  if (fc_require(e, root, NULL, "elements", &v) || read_elements(R, v)) return e->rc;
  if ((v = fc_get(root, "e0")) && read_e0(R, v)) return e->rc;
  if (fc_require(e, root, NULL, "cutoff", &v) || read_cutoff(R, v)) return e->rc;
  if ((v = fc_get(root, "radial")) && read_radial(R, v)) return e->rc;
  if ((v = fc_get(root, "r_min"))) {
    if (fc_get_double(e, v, "r_min", &c->r_min) || fc_nonneg(e, v, "r_min", c->r_min)) return e->rc;
    for (int a = 0; a < c->n_el; a++)
      for (int b = 0; b < c->n_el; b++)
        if (c->r_min >= c->rcut[a][b])
          return fc_fail(e, TNACE_ERR_VALUE, v->line, "r_min", "%g must be smaller than the cutoff %g (%s-%s)",
                         c->r_min, c->rcut[a][b], c->elem[a], c->elem[b]);
  }
  if ((v = fc_get(root, "repulsion")) && read_repulsion(R, v)) return e->rc;
  if (fc_require(e, root, NULL, "terms", &v) || read_terms(R, v)) return e->rc;
  if ((v = fc_get(root, "loss")) && read_loss(R, v)) return e->rc;
  if ((v = fc_get(root, "fit")) && read_fit(R, v)) return e->rc;
  if ((v = fc_get(root, "output")) && read_output(R, v)) return e->rc;
  if ((v = fc_get(root, "grade")) && read_grade(R, v)) return e->rc;
  if ((v = fc_get(root, "metadata")) && !fc_is_null(v)) {
    if (v->kind != C_MAP) return fc_type_error(e, v, "metadata", "a mapping");
    if (!(c->user_meta = fc_to_meta(v))) return fc_fail(e, TNACE_ERR_NOMEM, v->line, "metadata", "out of memory");
  }
  /* data last: it touches the file system */
  if (fc_require(e, root, NULL, "data", &v) || read_data(R, v)) return e->rc;
  if ((v = fc_get(root, "property")) && read_property(R, v)) return e->rc;
  if (c->shared_line && c->opts.chi_start > 0)
    return fc_fail(e, TNACE_ERR_VALUE, c->shared_line, "terms[].shared", "shared cores do not go with fit.chi_start "
                   "(bond growth draws new directions per centre element)");
  if (c->pool_line && !c->prop.set)
    return fc_fail(e, TNACE_ERR_VALUE, c->pool_line, "terms[].pool", "a term pooled over the structure makes a "
                   "property model, not a potential (an atom's energy would depend on the whole structure): add a "
                   "property section or remove pool");
  c->opts.fit_e0 = c->e0_mode == TNACE_E0_AUTO;
  if (!(c->meta = fc_to_meta(root))) return fc_fail(e, TNACE_ERR_NOMEM, root->line, NULL, "out of memory");
  return 0;
}

/* ---- public ------------------------------------------------------------------------------------- */

void tnace_fitconfig_free(tnace_fitconfig *cfg) {
  if (!cfg) return;
  free(cfg->config_path);
  for (int i = 0; i < cfg->n_train; i++) { free(cfg->train[i].path); free(cfg->train[i].given); }
  for (int i = 0; i < cfg->n_valid; i++) { free(cfg->valid[i].path); free(cfg->valid[i].given); }
  free(cfg->train);
  free(cfg->valid);
  free((char *)cfg->keys.energy);
  free(cfg->count_species);
  free((char *)cfg->keys.forces);
  free((char *)cfg->keys.stress);
  free((char *)cfg->keys.virial);
  free((char *)cfg->keys.config_type);
  free(cfg->out_potential);
  free(cfg->out_metrics);
  tnace_meta_free(cfg->user_meta);
  tnace_meta_free(cfg->meta);
  memset(cfg, 0, sizeof *cfg);
}

static void defaults(tnace_fitconfig *c) {
  memset(c, 0, sizeof *c);
  c->e0_mode = TNACE_E0_AUTO;
  c->lambda = 5.0;
  c->rep_type = TNACE_REP_NONE;
  c->split_seed = 1;
  tnace_fit_opts_default(&c->opts);
  tnace_grade_opts_default(&c->grade);
}

int tnace_fitconfig_read(const char *path, tnace_fitconfig *cfg, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  ectx e = {path ? path : "(null)", err, errlen, 0};
  if (!cfg) return fc_fail(&e, TNACE_ERR_ARG, 0, NULL, "tnace_fitconfig_read: NULL argument");
  defaults(cfg);
  if (!path) return fc_fail(&e, TNACE_ERR_ARG, 0, NULL, "tnace_fitconfig_read: NULL argument");
  cnode *root = NULL;
  int rc = fc_read_tree(&e, path, &root);
  rd *R = rc ? NULL : calloc(1, sizeof *R);
  if (!rc && !R) rc = fc_fail(&e, TNACE_ERR_NOMEM, 0, NULL, "out of memory");
  if (!rc) {
    R->e = &e;
    R->c = cfg;
    const char *slash = strrchr(path, '/');
    if (slash) {
      size_t n = (size_t)(slash - path) + 1; /* keep the slash: "dir/" or "/" */
      if (n >= sizeof R->dir) rc = fc_fail(&e, TNACE_ERR_VALUE, 0, NULL, "path too long");
      else { memcpy(R->dir, path, n); R->dir[n] = '\0'; }
    }
    if (!rc) {
      tnace_cloc loc = tnace_cloc_push();
      rc = read_config(R, root);
      tnace_cloc_pop(loc);
    }
    if (!rc && !(cfg->config_path = fc_dupstr(path))) rc = fc_fail(&e, TNACE_ERR_NOMEM, 0, NULL, "out of memory");
  }
  fc_tree_free(root);
  free(R);
  if (rc) tnace_fitconfig_free(cfg);
  return rc;
}
