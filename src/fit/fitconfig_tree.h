/*
 * fitconfig_tree.h — private to fitconfig.c (not installed, not for clients: fitconfig.h is the API). The
 * first pass of reading a tnace-fit config, YAML file → a tree of nodes that remember their line numbers
 * (cnode), and the typed getters with which fitconfig.c's section readers walk that tree in the second.
 *
 * Errors go to an ectx as "<path>:<line>: <key path>: <what is wrong>"; the first one recorded wins. Every
 * function here that fails returns that first error's TNACE_ERR_* code (nonzero), 0 when it succeeds.
 */
#ifndef TNACE_FITCONFIG_TREE_H
#define TNACE_FITCONFIG_TREE_H

#include <stddef.h>

#include "model.h"

#if defined(__GNUC__)
#define FC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FC_PRINTF(f, a)
#endif

/* ---- the tree ---------------------------------------------------------------------------------- */

enum { C_SCALAR = 0, C_MAP = 1, C_SEQ = 2 };

typedef struct cnode {
  int kind;
  char *key;              /* key in the parent map (NULL in a sequence / root) */
  int key_line;
  char *value;            /* scalar text */
  int plain;              /* plain (unquoted, untagged) scalar: may be null / bool / number */
  int line;               /* line where the value starts (1-based) */
  struct cnode *child, *next;
} cnode;

/* ---- errors ------------------------------------------------------------------------------------ */

typedef struct {
  const char *file;  /* the config's path, as given */
  char *err;         /* the caller's message buffer (may be NULL) */
  size_t errlen;
  int rc;            /* the first error code recorded, 0 while none */
} ectx;

/* Records an error at `line` (0: none) of the file, under key path `key` (NULL or "": none), unless one is
 * recorded already. Returns the first code recorded. */
int fc_fail(ectx *e, int code, int line, const char *key, const char *fmt, ...) FC_PRINTF(5, 6);

/* Key path of a child into buf: "parent.key" or "parent[i]" (parent may be empty for a key). Returns buf. */
const char *fc_subkey(char *buf, size_t len, const char *parent, const char *key);
const char *fc_subidx(char *buf, size_t len, const char *parent, int i);

/* A malloc'ed copy of s, NULL when out of memory. */
char *fc_dupstr(const char *s);

/* ---- pass 1 ------------------------------------------------------------------------------------ */

/* Parses the file `path` (e->file) into *root, a mapping: one YAML document, no aliases, no duplicate
 * keys, nested at most 64 deep. *root is NULL on failure; free it with fc_tree_free. */
int fc_read_tree(ectx *e, const char *path, cnode **root);
void fc_tree_free(cnode *n);

/* The tree under n as a tnace_meta (the config "as written" for the potential's metadata); NULL when out
 * of memory. */
tnace_meta *fc_to_meta(const cnode *n);

/* ---- pass 2: lookups and typed getters ----------------------------------------------------------- */
/* `path` is the key path of n, for the message; a getter leaves *out alone when it fails. */

/* The value of `key` in mapping m, or NULL (also when m is NULL or not a mapping). */
const cnode *fc_get(const cnode *m, const char *key);
/* Children of a mapping or sequence (0 for a scalar or NULL). */
int fc_count(const cnode *n);
/* Absent, or a plain null: "", ~, null, Null, NULL. */
int fc_is_null(const cnode *n);

/* "expected <what>, got <what n is>" (TNACE_ERR_PARSE). */
int fc_type_error(ectx *e, const cnode *n, const char *path, const char *what);
/* n must be a mapping whose keys are all among keys[0..nk); `what` describes it for type errors. */
int fc_check_map(ectx *e, const cnode *n, const char *path, const char *const *keys, int nk, const char *what);
/* *out = the value of `key` in mapping `map`; "missing required key" when there is none. */
int fc_require(ectx *e, const cnode *map, const char *path, const char *key, const cnode **out);

/* A finite number. */
int fc_get_double(ectx *e, const cnode *n, const char *path, double *out);
/* A decimal integer in [lo, hi]. */
int fc_get_int(ectx *e, const cnode *n, const char *path, long lo, long hi, int *out);
/* A non-negative decimal integer (a seed). */
int fc_get_seed(ectx *e, const cnode *n, const char *path, unsigned long long *out);
/* A plain true / yes / on or false / no / off (any case). */
int fc_get_bool(ectx *e, const cnode *n, const char *path, int *out);
/* A non-null string scalar; *out points into the tree. */
int fc_get_str(ectx *e, const cnode *n, const char *path, const char **out);

/* Range checks of a number v read from n (the message quotes n as written). */
int fc_nonneg(ectx *e, const cnode *n, const char *path, double v);
int fc_positive(ectx *e, const cnode *n, const char *path, double v);

#endif
