/*
 * potential_file.h — private to libtnace's potential-file code (format: docs/potential-format.md), shared
 * by its three parts:
 *   potential_yaml.c  YAML events → pio_doc (the file's content, each value with its line, not validated);
 *   potential_load.c  pio_doc → tnace_potential (validation, construction) and tnace_potential_load;
 *   potential_save.c  tnace_potential_save;
 * and by meta.c (number and string formatting of scalars). Not installed: clients use tnace.h.
 */
#ifndef TNACE_POTENTIAL_FILE_H
#define TNACE_POTENTIAL_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "model.h"

#if defined(__GNUC__)
#define PIO_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PIO_PRINTF(f, a)
#endif

/* ---- errors ------------------------------------------------------------------------------------ */

/* Where the first error of a load or save goes: "<file>:<line>: <key>: <message>". */
typedef struct {
  const char *file;
  char *err;
  size_t errlen;
  int rc;  /* the first error code recorded, 0 while none */
} pio_err;

/* Record "<file>:<line>: <key>: <message>" (key may be NULL; line ≤ 0: no line) unless an error was already
 * recorded; returns the error code (the first one recorded). */
int pio_fail(pio_err *e, int code, int line, const char *key, const char *fmt, ...) PIO_PRINTF(5, 6);
/* Key path of an error ("cores[3].bonds") formatted into buf; returns buf. */
const char *pio_key(char *buf, size_t len, const char *fmt, ...) PIO_PRINTF(3, 4);

/* The kinds of the three sites of a copy, in site order: "species", "radial", "angular". */
extern const char *const pio_site_kind[3];

/* ---- the parsed file --------------------------------------------------------------------------- */

/* One site of a core as written: kind (index into pio_site_kind, -1 unknown), shape and data, with lines. */
typedef struct {
  int line;
  unsigned seen;                /* bit per key of {kind, shape, data} */
  int kind;
  char kind_text[24];
  int kind_line, shape_line, data_line;
  int shape[3];
  double *data;                 /* [n] (malloc'd, capacity cap) */
  size_t n, cap;
} pio_site;

/* One `cores` entry as written. */
typedef struct {
  int line;
  unsigned seen;
  char elem[8];
  int elem_line;
  long term;
  int term_line;
  int bond[TNACE_MAX_SITES + 1], n_bond, bond_line;
  pio_site site[TNACE_MAX_SITES];
  int n_site, sites_line;
  int layer, layer_line;        /* 0 ket (default), 1 bra: the two layers of an mpo term */
} pio_core;

/* One `grade` entry as written (the extrapolation grade of one species, model.h: tnace_grade_el). */
typedef struct {
  int line;
  unsigned seen;
  char elem[8];
  int elem_line, features_line, n_train_line;
  long features, n_train;
  pio_site cols, ainv;          /* the two arrays as numbers (kind, shape unused), with data_line */
} pio_grade;

/* The top-level keys, in the order of pio_doc.key_line. */
enum {
  K_FORMAT, K_VERSION, K_UNITS, K_ELEMENTS, K_E0, K_RADIAL, K_CUTOFF, K_RMIN, K_REPULSION, K_TERMS,
  K_CORES, K_GRADE, K_PROPERTY, K_METADATA, N_TOPKEYS
};

/* The whole file as written. Every value read has passed its own type and range check (the limits of
 * tnace_limits.h included); what depends on other keys (counts, shapes against bonds) is not checked. */
typedef struct {
  unsigned seen;                /* bit per top-level key */
  int map_line;                 /* line of the top-level mapping */
  int key_line[N_TOPKEYS];
  int n_el;
  char elem[TNACE_MAX_ELEMENTS][4];
  int n_e0;
  double e0[TNACE_MAX_ELEMENTS];
  double lambda;
  int cut_is_scalar, cut_rows, cut_cols[TNACE_MAX_ELEMENTS];
  double cut[TNACE_MAX_ELEMENTS][TNACE_MAX_ELEMENTS];
  int cut_line[TNACE_MAX_ELEMENTS][TNACE_MAX_ELEMENTS];
  double r_min;
  int rep_type;
  double rep_inner, rep_outer;
  int n_terms;
  tnace_term_spec spec[TNACE_MAX_TERMS];
  pio_core *core;               /* [n_core] (capacity cap_core) */
  int n_core, cap_core;
  pio_grade grade[TNACE_MAX_ELEMENTS];
  int n_grade;
  tnace_property prop;          /* `property:` (per[] not yet resolved: see prop_per) */
  char prop_per[TNACE_MAX_ELEMENTS][4];
  int prop_line, prop_per_line;
  tnace_meta *meta;             /* `metadata:` mapping, NULL if none */
} pio_doc;

/* Parse the potential file open as f (named e->file in messages) into *d (zeroed by the caller; free
 * with pio_doc_free, also after an error). Call in the C locale. Returns 0 or the error recorded in e. */
int pio_read_doc(FILE *f, pio_doc *d, pio_err *e);
void pio_doc_free(pio_doc *d);

/* ---- scalar text (meta.c) ---------------------------------------------------------------------- */

/* True when the plain scalar s would not read back as a string (null, booleans, numbers, empty). */
int tnace_meta_scalar_needs_quotes(const char *s);
/* Shortest "%.{15,16,17}g" text of v that reads back exactly, C locale, YAML .nan / .inf; len ≥ 32. */
void tnace_meta_format_double(double v, char *buf, size_t len);
/* "1e-05" → "1.0e-05" in place (buf has room for 2 more chars); returns the new length. */
size_t tnace_fix_exponent(char *buf, size_t n);

#endif
