/*
 * fitconfig.h — the training configuration read by tnace-fit: a YAML file naming the elements, the model
 * (cutoffs, radial basis, repulsive core, ν-terms), the DFT data, the loss weights, the fit settings and the
 * output files. The format, every key, its units and its default are documented in docs/fit-config.md;
 * examples/configs/example-fit.yaml is a complete commented example.
 *
 * Reading is strict: an unknown key at any level (a typo), a value of the wrong type, a value out of range
 * or a data file that cannot be read is an error reported as
 *     "<config path>:<line>: <key path>: <what is wrong>"      e.g.
 *     "fit.yaml:12: terms[1].nu: 5 is out of range (1..4)"
 * (TNACE_ERR_PARSE for syntax, structure, types and unknown/missing/duplicate keys; TNACE_ERR_VALUE for
 * values out of range; TNACE_ERR_ELEMENT for an unknown chemical symbol; TNACE_ERR_IO for a file that cannot
 * be read; TNACE_ERR_NOMEM).
 *
 * The helpers below the reader are the steps of tnace-fit that do not depend on the command line (build the
 * potential, split a validation set, E0 from isolated atoms, check an output path), kept here so that the
 * tests can call them. Nothing here keeps global state.
 */
#ifndef TNACE_FITCONFIG_H
#define TNACE_FITCONFIG_H

#include <stddef.h>
#include "dataset.h"
#include "extxyz.h"
#include "fit.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the reference energies E0 of the elements are obtained. */
typedef enum {
  TNACE_E0_AUTO = 0,     /* least squares on the training energies, refined jointly in every sweep */
  TNACE_E0_FIXED = 1,    /* given in the config (eV), kept fixed */
  TNACE_E0_ISOLATED = 2  /* the energy of single-atom frames of the training data, kept fixed */
} tnace_e0_mode;

/* A data file named in the config. */
typedef struct {
  char *path;            /* as opened: relative paths are joined to the config file's directory */
  char *given;           /* as written in the config */
  int line;              /* its line in the config file */
} tnace_fitconfig_file;

typedef struct {
  char *config_path;                                    /* the file read (copy) */
  /* model */
  int n_el;
  char elem[TNACE_MAX_ELEMENTS][4];                     /* symbols; index = species */
  tnace_e0_mode e0_mode;
  double e0[TNACE_MAX_ELEMENTS];                        /* eV, TNACE_E0_FIXED only */
  int e0_line;
  double rcut[TNACE_MAX_ELEMENTS][TNACE_MAX_ELEMENTS];  /* Å, symmetric */
  double lambda;                                        /* ChebExpCos scaling (default 5) */
  double r_min;                                         /* Å (default 0) */
  int rep_type;                                         /* TNACE_REP_NONE / _ZBL */
  double rep_inner, rep_outer;                          /* Å */
  int n_terms;
  tnace_term_spec spec[TNACE_MAX_TERMS];
  /* data */
  int n_train, n_valid;
  tnace_fitconfig_file *train, *valid;                  /* [n_train], [n_valid] */
  double valid_fraction;                                /* [0, 1): split off the training files */
  unsigned long long split_seed;
  int skip_bad;
  tnace_xyz_keys keys;                                  /* NULL fields: the reader's defaults */
  int has_keys;                                         /* any key name given */
  /* loss and fit settings (fit_e0 follows e0_mode; seed seeds tnace_fit_init and the force sampling) */
  tnace_fit_opts opts;
  /* output: potential may be NULL (must then come from the command line); metrics NULL with
   * metrics_set = 1 means "no metrics file", with metrics_set = 0 "derive from the potential path" */
  char *out_potential, *out_metrics;
  int out_potential_line, out_metrics_line, metrics_set, output_line;
  tnace_meta *user_meta;                                /* `metadata:` mapping, NULL if none */
  tnace_meta *meta;                                     /* the whole config as written (a map) */
} tnace_fitconfig;

/* Read and validate a fit config. On success returns 0 and fills *cfg (free with tnace_fitconfig_free);
 * every data file named under data.train / data.validation has been checked to be a readable regular
 * file. On failure returns a TNACE_ERR_* code, *cfg is left empty (nothing to free, freeing is harmless)
 * and err holds "<path>:<line>: <key>: <what is wrong>". */
int tnace_fitconfig_read(const char *path, tnace_fitconfig *cfg, char *err, size_t errlen);

/* Free everything owned by cfg and zero it (NULL and a zeroed struct are allowed). */
void tnace_fitconfig_free(tnace_fitconfig *cfg);

/* Create the (unfitted, all cores zero) potential the config describes: elements, terms, cutoffs, radial
 * λ, r_min, repulsion and, for TNACE_E0_FIXED, E0; tnace_potential_prepare'd. Returns 0 or an error. */
int tnace_fitconfig_make_potential(const tnace_fitconfig *cfg, tnace_potential **out, char *err, size_t errlen);

/* The metrics path: cfg->out_metrics if set; NULL if the config disabled it (`metrics: null`); else
 * derived from `potential` (the potential file actually written): "X.yaml" / "X.yml" / "X" →
 * "X.metrics.json". Writes into buf (size len) and returns buf, or NULL. */
const char *tnace_fitconfig_metrics_path(const tnace_fitconfig *cfg, const char *potential, char *buf, size_t len);

/* Check early that `path` can be written: opens it for appending (creating it if needed, never changing an
 * existing file's content) and removes it again if this call created it. Returns 0, or TNACE_ERR_IO with
 * "cannot write '<path>': <reason>" in err. */
int tnace_check_writable(const char *path, char *err, size_t errlen);

/* Move a random fraction of the structures of *train to the end of *valid (the tnace_struct values are
 * moved, not copied). The number moved is round(fraction · n), at least 1 when fraction > 0, and at least one
 * structure stays in *train. The choice depends only on (n, fraction, seed) (a seeded Fisher–Yates
 * shuffle); both sets keep the original order of their structures. fraction in [0, 1); 0 moves nothing.
 * Returns 0, TNACE_ERR_VALUE (fraction out of range, or fraction > 0 with fewer than 2 structures) or
 * TNACE_ERR_NOMEM, with a message. */
int tnace_fitconfig_split(tnace_dataset *train, tnace_dataset *valid, double fraction, unsigned long long seed,
                          char *err, size_t errlen);

/* E0 from isolated atoms: for each species s, the mean energy (eV) of the structures of `ds` that hold a
 * single atom of species s with no neighbour within the cutoff used to build `ds` and have an energy.
 * e0[n_el] receives the values, n_found[n_el] (may be NULL) how many frames each used. Returns 0, or
 * TNACE_ERR_VALUE naming the elements without such a frame ("no isolated-atom frame for Ni, Cu ..."). */
int tnace_fitconfig_isolated_e0(const tnace_dataset *ds, int n_el, const char (*elem)[4], double *e0, int *n_found,
                                char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
