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
 * be read; TNACE_ERR_NOMEM). The sizes of the model (nu, lmax, nmax, chi, rank, elements, terms) are bounded
 * by tnace_limits.h, the limits the potential reader and the tensor networks apply too.
 *
 * This header is the reading only; the steps of a fit that use a config (build the potential, split a
 * validation set, E0 from isolated atoms, check an output path) are in fit_setup.h. Nothing here keeps
 * global state.
 */
#ifndef TNACE_FITCONFIG_H
#define TNACE_FITCONFIG_H

#include <stddef.h>
#include "extxyz.h"
#include "fit.h"
#include "grade_fit.h"
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
  int pool_line;                                        /* line of the first `pool: true` (0: none) */
  int shared_line;                                      /* line of the first `shared: true` (0: none) */
  /* data */
  int n_train, n_valid;
  tnace_fitconfig_file *train, *valid;                  /* [n_train], [n_valid] */
  double valid_fraction;                                /* [0, 1): split off the training files */
  unsigned long long split_seed;
  int stratify;                                         /* validation split stratified by config_type (default 1) */
  int skip_bad;
  tnace_xyz_keys keys;                                  /* NULL fields: the reader's defaults */
  int has_keys;                                         /* any key name given */
  /* loss and fit settings (fit_e0 follows e0_mode; seed seeds tnace_fit_init and the force sampling) */
  tnace_fit_opts opts;
  int loss_line[3];                                     /* lines of loss.energy, .forces, .stress; 0 = default */
  /* output: potential may be NULL (must then come from the command line); metrics NULL with
   * metrics_set = 1 means "no metrics file", with metrics_set = 0 "derive from the potential path" */
  char *out_potential, *out_metrics;
  int out_potential_line, out_metrics_line, metrics_set, output_line;
  tnace_meta *user_meta;                                /* `metadata:` mapping, NULL if none */
  tnace_meta *meta;                                     /* the whole config as written (a map) */
  tnace_grade_opts grade;                               /* `grade:` (grade_fit.h); size 0 = no grade */
  tnace_property prop;                                  /* `property:` (model.h): a property model, else set 0 */
  char *count_species;                                  /* its `per` symbols for the reader (keys.count_species) */
} tnace_fitconfig;

/* Read and validate a fit config. On success returns 0 and fills *cfg (free with tnace_fitconfig_free);
 * every data file named under data.train / data.validation has been checked to be a readable regular
 * file. On failure returns a TNACE_ERR_* code, *cfg is left empty (nothing to free, freeing is harmless)
 * and err holds "<path>:<line>: <key>: <what is wrong>". */
int tnace_fitconfig_read(const char *path, tnace_fitconfig *cfg, char *err, size_t errlen);

/* Free everything owned by cfg and zero it (NULL and a zeroed struct are allowed). */
void tnace_fitconfig_free(tnace_fitconfig *cfg);

#ifdef __cplusplus
}
#endif
#endif
