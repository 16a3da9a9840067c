/*
 * extxyz_priv.h — what the two halves of the extended-XYZ reader share (not installed, not for callers of
 * extxyz.h): the reader's state, and the line parsers of extxyz_parse.c that extxyz.c drives.
 *
 * Every function that fails returns a negative TNACE_ERR_* code and writes "PATH:LINE: <what>" into err
 * (through xyz_fail); none allocates per atom.
 */
#ifndef TNACE_EXTXYZ_PRIV_H
#define TNACE_EXTXYZ_PRIV_H

#include <stddef.h>
#include <stdio.h>

#include "extxyz.h"
#include "tnace_limits.h"

/* Alternative names of one key ("energy REF_energy ..."): name[0..n-1] point into buf. */
#define MAX_ALT 16
typedef struct {
  char *buf;
  const char *name[MAX_ALT];
  int n;
} keylist;

/* One comment-line pair. */
typedef struct {
  int koff, voff; /* offsets into cbuf; voff < 0: bare key (value "T") */
} kvpair;

/* What an atom-line column is read into (ACT_POS + k: position component k, ACT_FORCE + k: force). */
enum { ACT_SKIP = 0, ACT_SPECIES, ACT_Z, ACT_POS, ACT_FORCE = ACT_POS + 3 };

struct tnace_xyz_reader {
  FILE *fp;
  char *path;
  char *line;       /* current line, newline stripped */
  size_t cap;
  long len;
  long lineno;
  int pushed, eof, ioerr;
  long n_headers;   /* frame headers seen (good or bad) */
  long n_empty;     /* frames of 0 atoms skipped */
  long first_empty; /* line of the first one */
  long skip_lines;  /* resync: lines of a bad frame still to skip */
  int scan;         /* resync: skip to the next line holding a lone integer */
  keylist k_energy, k_forces, k_stress, k_virial, k_config;
  double stress_scale;  /* eV/Å^3 ASE sign per unit of the stress key: unit × sign */
  int units_declared;   /* skip the plausibility checks */
  double energy_scale;  /* eV per unit of the energy key */
  int energy_per_atom;  /* the energy key is per counted atom: × n_count */
  int n_count_sym;      /* count_species: symbols whose atoms n_count counts (0: all atoms) */
  char count_sym[TNACE_MAX_ELEMENTS][4];
  char *cbuf;       /* unescaped comment line */
  size_t ccap;
  kvpair *pairs;    /* [pcap] pairs of the comment line */
  int pcap;
  char *pbuf;       /* copy of the Properties descriptor, split at ':' */
  size_t pbcap;
  int *act;         /* [acap] per-column action (ACT_*) */
  const char **colname; /* [acap] per-column Properties name (points into pbuf) */
  int acap;
  char last_sym[4]; /* one-entry cache for the species lookup */
  int last_z;
};

static inline int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

/* extxyz.c: writes "PATH:LINE: " (line > 0) or "PATH: " and the formatted message into err; returns code. */
int xyz_fail(const tnace_xyz_reader *r, char *err, size_t errlen, int code, long line, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* Integer token [s, e) (optional sign, digits only, no overflow): 0 = ok, -1 = not an integer. */
int xyz_parse_long(const char *s, const char *e, long *out);

/* Split spec (or, when NULL, def) into alternatives separated by commas or whitespace (at most MAX_ALT).
 * 0 or -1 (out of memory). kl->buf is the caller's to free. */
int xyz_keylist_init(keylist *kl, const char *spec, const char *def);

/* Split the comment line r->line (line number lineno) into r->pairs / r->cbuf (ase.io.extxyz
 * key_val_str_to_dict semantics). Returns the number of pairs or an error. */
int xyz_split_comment(tnace_xyz_reader *r, long lineno, char *err, size_t errlen);

/* Interpret the np pairs of the comment line at line ln into f (cell, pbc, energy, stress or virial,
 * config_type, weights) and the Properties descriptor into r->act / r->colname; *want_forces = 1 when a
 * forces column is declared. Returns the atom-line column count or an error. */
int xyz_parse_comment(tnace_xyz_reader *r, tnace_frame *f, int np, long ln, int *want_forces, char *err,
                      size_t errlen);

/* Copy the np comment pairs into f's info block (f->n_info, info_key, info_val). 0 or -1 (out of memory). */
int xyz_store_info(const tnace_xyz_reader *r, int np, tnace_frame *f);

/* Parse the atom line r->line into atom a of f (arrays of f sized > a) by the ncols columns of r->act. */
int xyz_parse_atom(tnace_xyz_reader *r, tnace_frame *f, int a, int ncols, char *err, size_t errlen);

#endif
