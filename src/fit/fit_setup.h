/*
 * fit_setup.h — the steps of tnace-fit that use a config (fitconfig.h) or the data but not the command
 * line: build the unfitted potential, name the metrics file, check early that an output can be written,
 * split a validation set off the training set, and take E0 from isolated atoms. Kept in the library so
 * that the tests can call them. Nothing here keeps global state.
 */
#ifndef TNACE_FIT_SETUP_H
#define TNACE_FIT_SETUP_H

#include <stddef.h>
#include <stdio.h>
#include "dataset.h"
#include "fitconfig.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Create the (unfitted, all cores zero) potential the config describes: elements, terms, cutoffs, radial
 * λ, r_min, repulsion and, for TNACE_E0_FIXED, E0; tnace_potential_prepare'd. Returns 0 or an error. */
int tnace_fitconfig_make_potential(const tnace_fitconfig *cfg, tnace_potential **out, char *err, size_t errlen);

/* A file named after the potential file: "X.yaml" / "X.yml" / "X" → "X<suffix>" (only a real extension is
 * dropped: "dir/.yaml" keeps it) into buf (size len). Returns 0, or −1 when the name did not fit in buf
 * (then cut). */
int tnace_sibling_path(const char *potential, const char *suffix, char *buf, size_t len);

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

/* The same, stratified by config_type: the structures are ordered by group (names in order), shuffled
 * within each group (tnace_cv_group_order), and round(fraction · n) of them taken by systematic sampling
 * from a seeded random start, so every group of m structures gives floor or ceil of fraction · m (a group
 * of 11 at fraction 0.1 gives 1; one of 3 gives 0 or 1). Same limits, codes and ordering as above. */
int tnace_fitconfig_split_stratified(tnace_dataset *train, tnace_dataset *valid, double fraction,
                                     unsigned long long seed, char *err, size_t errlen);

/* The config's validation split: cfg->valid_fraction and cfg->split_seed, stratified by config_type when
 * cfg->stratify (data.stratify, default true), else the plain random split. */
int tnace_fitconfig_split_data(const tnace_fitconfig *cfg, tnace_dataset *train, tnace_dataset *valid, char *err,
                               size_t errlen);

/* E0 from isolated atoms: for each species s, the mean energy (eV) of the structures of `ds` that hold a
 * single atom of species s with no neighbour within the cutoff used to build `ds` and have an energy.
 * e0[n_el] receives the values, n_found[n_el] (may be NULL) how many frames each used. Returns 0, or
 * TNACE_ERR_VALUE naming the elements without such a frame ("no isolated-atom frame for Ni, Cu ..."). */
int tnace_fitconfig_isolated_e0(const tnace_dataset *ds, int n_el, const char (*elem)[4], double *e0, int *n_found,
                                char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
/* A quantity (energy, forces, stress) with a weight > 0 that no structure of train or valid (either may be
 * NULL) has: an error "CONFIG:LINE: loss.stress: weight ..., but no structure of the data has a stress ..."
 * (TNACE_ERR_VALUE) when the weight was written in the config (cfg->loss_line), a note on `out` (may be
 * NULL) when it is the default. Returns 0 otherwise. The usual cause is an unrecognised key or unit. */
int tnace_fitconfig_check_quantities(const tnace_fitconfig *cfg, const char *config_path, const tnace_dataset *train,
                                     const tnace_dataset *valid, FILE *out, char *err, size_t errlen);

/* Start a fit from the cores and E0 of an existing potential src (tnace-fit --init, --resume): pot must have
 * been built from the config (tnace_fitconfig_make_potential) and src must be the same model: elements,
 * cutoffs, radial basis, repulsion, terms and every bond. Copies the cores and E0 and prepares pot.
 * Returns 0, or TNACE_ERR_VALUE with "SRC_PATH: <first difference>: starting from a potential needs the
 * config's model". */
int tnace_fit_init_from(tnace_potential *pot, const tnace_potential *src, const char *src_path, char *err,
                        size_t errlen);

#endif
