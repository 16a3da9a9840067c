/*
 * fitconfig_tree.c — the first pass of reading a tnace-fit config and the typed getters of the second
 * (fitconfig_tree.h, private to fitconfig.c, which reads the sections).
 *
 * A config file is small, so libyaml's parser events are turned into a tree of nodes that remember their
 * line numbers (cnode) before anything is checked; the getters then check one node each (type, range)
 * with the message fitconfig.c's section readers would give.
 */
#define _POSIX_C_SOURCE 200809L
#include "fitconfig_tree.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#include "util.h"

/* Nesting of the config tree: a bound keeps a hostile file from exhausting the stack. */
#define MAX_DEPTH 64

/* ---- the tree ---------------------------------------------------------------------------------- */

void fc_tree_free(cnode *n) {
  while (n) {
    cnode *next = n->next;
    fc_tree_free(n->child);
    free(n->key);
    free(n->value);
    free(n);
    n = next;
  }
}

char *fc_dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* ---- errors ------------------------------------------------------------------------------------ */

int fc_fail(ectx *e, int code, int line, const char *key, const char *fmt, ...) {
  if (e->rc) return e->rc;
  e->rc = code;
  if (!e->err || !e->errlen) return code;
  size_t n = 0;
  int w = line > 0 ? snprintf(e->err, e->errlen, "%s:%d: ", e->file, line) : snprintf(e->err, e->errlen, "%s: ", e->file);
  if (w > 0) n = (size_t)w < e->errlen ? (size_t)w : e->errlen - 1;
  if (key && *key && n + 1 < e->errlen) {
    w = snprintf(e->err + n, e->errlen - n, "%s: ", key);
    if (w > 0) n += (size_t)w < e->errlen - n ? (size_t)w : e->errlen - n - 1;
  }
  if (n + 1 < e->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->err + n, e->errlen - n, fmt, ap);
    va_end(ap);
  }
  return code;
}

/* Key path of a child: "parent.key" or "parent[i]" (parent may be empty). */
const char *fc_subkey(char *buf, size_t len, const char *parent, const char *key) {
  if (!parent || !*parent)
    snprintf(buf, len, "%.100s", key);
  else
    snprintf(buf, len, "%.150s.%.100s", parent, key);
  return buf;
}
const char *fc_subidx(char *buf, size_t len, const char *parent, int i) {
  snprintf(buf, len, "%.200s[%d]", parent, i);
  return buf;
}

/* ---- pass 1: YAML events → cnode tree ------------------------------------------------------------ */

typedef struct {
  yaml_parser_t p;
  yaml_event_t ev;
  int has_ev;
  FILE *f;
  ectx *e;
} prs;

static int ev_line(const prs *P) { return (int)P->ev.start_mark.line + 1; }

/* Next event into P->ev. `key` (may be NULL) names where we are, for syntax errors and aliases. */
static int next_ev(prs *P, const char *key) {
  tnace_yaml_err ye;
  if (P->e->rc) return P->e->rc;
  int code = tnace_yaml_next_event(&P->p, &P->ev, &P->has_ev, P->f, &ye);
  return code ? fc_fail(P->e, code, ye.line, ye.at_key ? key : NULL, "%s", ye.msg) : 0;
}

/* The node starting at the current event (a scalar, mapping start or sequence start). */
static int parse_node(prs *P, cnode **out, const char *path, int depth) {
  char kb[320];
  *out = NULL;
  if (depth > MAX_DEPTH)
    return fc_fail(P->e, TNACE_ERR_PARSE, ev_line(P), path, "nested deeper than %d levels", MAX_DEPTH);
  cnode *n = calloc(1, sizeof *n);
  if (!n) return fc_fail(P->e, TNACE_ERR_NOMEM, ev_line(P), path, "out of memory");
  *out = n;
  n->line = ev_line(P);
  switch (P->ev.type) {
    case YAML_SCALAR_EVENT: {
      const yaml_event_t *ev = &P->ev;
      n->kind = C_SCALAR;
      if (!(n->value = fc_dupstr((const char *)ev->data.scalar.value)))
        return fc_fail(P->e, TNACE_ERR_NOMEM, n->line, path, "out of memory");
      n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ev->data.scalar.plain_implicit;
      return 0;
    }
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT: {
      n->kind = P->ev.type == YAML_MAPPING_START_EVENT ? C_MAP : C_SEQ;
      cnode **tail = &n->child;
      for (int i = 0;; i++) {
        if (next_ev(P, path)) return P->e->rc;
        if (P->ev.type == YAML_MAPPING_END_EVENT || P->ev.type == YAML_SEQUENCE_END_EVENT) return 0;
        char *k = NULL;
        int kline = ev_line(P);
        const char *cpath;
        if (n->kind == C_MAP) {
          if (P->ev.type != YAML_SCALAR_EVENT)
            return fc_fail(P->e, TNACE_ERR_PARSE, kline, path, "mapping keys must be plain strings, got a %s",
                           P->ev.type == YAML_MAPPING_START_EVENT ? "mapping" : "sequence");
          const char *ks = (const char *)P->ev.data.scalar.value;
          cpath = fc_subkey(kb, sizeof kb, path, ks);
          for (cnode *c = n->child; c; c = c->next)
            if (strcmp(c->key, ks) == 0)
              return fc_fail(P->e, TNACE_ERR_PARSE, kline, cpath, "duplicate key (first at line %d)", c->key_line);
          if (!(k = fc_dupstr(ks))) return fc_fail(P->e, TNACE_ERR_NOMEM, kline, path, "out of memory");
          if (next_ev(P, cpath)) { free(k); return P->e->rc; }
        } else {
          cpath = fc_subidx(kb, sizeof kb, path, i);
        }
        int rc = parse_node(P, tail, cpath, depth + 1);
        if (*tail) {
          (*tail)->key = k;
          (*tail)->key_line = kline;
          tail = &(*tail)->next;
        } else {
          free(k);
        }
        if (rc) return rc;
      }
    }
    default:
      return fc_fail(P->e, TNACE_ERR_PARSE, n->line, path, "expected a value");
  }
}

static int parse_file(prs *P, cnode **root) {
  *root = NULL;
  if (next_ev(P, NULL)) return P->e->rc;
  if (next_ev(P, NULL)) return P->e->rc;
  if (P->ev.type == YAML_STREAM_END_EVENT)
    return fc_fail(P->e, TNACE_ERR_PARSE, 0, NULL,
                   "empty config (expected a mapping with elements, cutoff, terms, data, ...)");
  if (next_ev(P, NULL)) return P->e->rc;
  if (P->ev.type != YAML_MAPPING_START_EVENT)
    return fc_fail(P->e, TNACE_ERR_PARSE, ev_line(P), NULL,
                   "expected a mapping (elements: ..., cutoff: ..., terms: ..., data: ...) at the top level, got %s",
                   P->ev.type == YAML_SEQUENCE_START_EVENT ? "a sequence" : "a scalar");
  if (parse_node(P, root, "", 0)) return P->e->rc;
  if (next_ev(P, NULL)) return P->e->rc;   /* document end */
  if (next_ev(P, NULL)) return P->e->rc;
  if (P->ev.type != YAML_STREAM_END_EVENT)
    return fc_fail(P->e, TNACE_ERR_PARSE, ev_line(P), NULL, "more than one YAML document in the file");
  return 0;
}

int fc_read_tree(ectx *e, const char *path, cnode **root) {
  *root = NULL;
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return fc_fail(e, TNACE_ERR_IO, 0, NULL, "cannot read: is a directory");
  FILE *f = fopen(path, "rb");
  if (!f) return fc_fail(e, TNACE_ERR_IO, 0, NULL, "cannot open: %s", strerror(errno));
  prs *P = calloc(1, sizeof *P);
  if (!P || !yaml_parser_initialize(&P->p)) {
    free(P);
    fclose(f);
    return fc_fail(e, TNACE_ERR_NOMEM, 0, NULL, "out of memory");
  }
  P->f = f;
  P->e = e;
  yaml_parser_set_input_file(&P->p, f);
  int rc = parse_file(P, root);
  if (P->has_ev) yaml_event_delete(&P->ev);
  yaml_parser_delete(&P->p);
  free(P);
  if (!rc && ferror(f)) rc = fc_fail(e, TNACE_ERR_IO, 0, NULL, "read error: %s", strerror(errno));
  fclose(f);
  if (rc) {
    fc_tree_free(*root);
    *root = NULL;
  }
  return rc;
}

/* ---- pass 2: lookups and typed getters ----------------------------------------------------------- */

const cnode *fc_get(const cnode *m, const char *key) {
  if (!m || m->kind != C_MAP) return NULL;
  for (const cnode *c = m->child; c; c = c->next)
    if (strcmp(c->key, key) == 0) return c;
  return NULL;
}

int fc_count(const cnode *n) {
  int k = 0;
  for (const cnode *c = n ? n->child : NULL; c; c = c->next) k++;
  return k;
}

int fc_is_null(const cnode *n) {
  return !n || (n->kind == C_SCALAR && n->plain &&
                (!*n->value || !strcmp(n->value, "~") || !strcmp(n->value, "null") || !strcmp(n->value, "Null") ||
                 !strcmp(n->value, "NULL")));
}

/* What a node is, for "expected X, got Y". */
static const char *got(const cnode *n, char *buf, size_t len) {
  if (n->kind == C_MAP) return "a mapping";
  if (n->kind == C_SEQ) return "a sequence";
  if (fc_is_null(n)) return "nothing (null)";
  snprintf(buf, len, "'%.40s'", n->value);
  return buf;
}

int fc_type_error(ectx *e, const cnode *n, const char *path, const char *what) {
  char b[64];
  return fc_fail(e, TNACE_ERR_PARSE, n->line, path, "expected %s, got %s", what, got(n, b, sizeof b));
}

/* n must be a mapping whose keys are all among keys[0..nk); `what` describes it for type errors. */
int fc_check_map(ectx *e, const cnode *n, const char *path, const char *const *keys, int nk, const char *what) {
  char kb[320];
  if (n->kind != C_MAP) return fc_type_error(e, n, path, what);
  for (const cnode *c = n->child; c; c = c->next) {
    int ok = 0;
    for (int i = 0; i < nk && !ok; i++) ok = strcmp(c->key, keys[i]) == 0;
    if (ok) continue;
    char allowed[400];
    size_t m = 0;
    for (int i = 0; i < nk && m < sizeof allowed; i++) {
      int w = snprintf(allowed + m, sizeof allowed - m, "%s%s", i ? ", " : "", keys[i]);
      if (w > 0) m += (size_t)w;
    }
    return fc_fail(e, TNACE_ERR_PARSE, c->key_line, fc_subkey(kb, sizeof kb, path, c->key), "unknown key (allowed: %s)",
                   allowed);
  }
  return 0;
}

int fc_require(ectx *e, const cnode *map, const char *path, const char *key, const cnode **out) {
  char kb[320];
  *out = fc_get(map, key);
  if (!*out) return fc_fail(e, TNACE_ERR_PARSE, map->line, fc_subkey(kb, sizeof kb, path, key), "missing required key");
  return 0;
}

static int is_nonfinite_text(const char *s) {
  if (*s == '+' || *s == '-') s++;
  if (*s == '.') s++;
  return !strcasecmp(s, "nan") || !strcasecmp(s, "inf") || !strcasecmp(s, "infinity");
}

int fc_get_double(ectx *e, const cnode *n, const char *path, double *out) {
  if (n->kind != C_SCALAR || fc_is_null(n)) return fc_type_error(e, n, path, "a number");
  const char *s = n->value;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (is_nonfinite_text(s) || (end != s && !*end && !isfinite(v)))
    return fc_fail(e, TNACE_ERR_VALUE, n->line, path, "NaN/Inf not allowed (got '%.40s')", s);
  if (end == s || *end || isspace((unsigned char)*s)) return fc_type_error(e, n, path, "a number");
  *out = v;
  return 0;
}

static int get_long(ectx *e, const cnode *n, const char *path, long lo, long hi, long *out) {
  if (n->kind != C_SCALAR || fc_is_null(n)) return fc_type_error(e, n, path, "an integer");
  const char *s = n->value;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (end == s || *end || isspace((unsigned char)*s)) return fc_type_error(e, n, path, "an integer");
  if (errno == ERANGE || v < lo || v > hi)
    return fc_fail(e, TNACE_ERR_VALUE, n->line, path, "%.40s is out of range (%ld..%ld)", s, lo, hi);
  *out = v;
  return 0;
}

int fc_get_int(ectx *e, const cnode *n, const char *path, long lo, long hi, int *out) {
  long v = 0;
  if (get_long(e, n, path, lo, hi, &v)) return e->rc;
  *out = (int)v;
  return 0;
}

int fc_get_seed(ectx *e, const cnode *n, const char *path, unsigned long long *out) {
  if (n->kind != C_SCALAR || fc_is_null(n)) return fc_type_error(e, n, path, "a non-negative integer");
  const char *s = n->value;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (end == s || *end || !isdigit((unsigned char)*s)) {
    if (*s == '-' && end != s && !*end)
      return fc_fail(e, TNACE_ERR_VALUE, n->line, path, "must be >= 0 (got %.40s)", s);
    return fc_type_error(e, n, path, "a non-negative integer");
  }
  if (errno == ERANGE) return fc_fail(e, TNACE_ERR_VALUE, n->line, path, "%.40s is too large", s);
  *out = v;
  return 0;
}

int fc_get_bool(ectx *e, const cnode *n, const char *path, int *out) {
  static const char *const t[] = {"true", "yes", "on"}, *const f[] = {"false", "no", "off"};
  if (n->kind == C_SCALAR && n->plain)
    for (int i = 0; i < 3; i++) {
      if (!strcasecmp(n->value, t[i])) { *out = 1; return 0; }
      if (!strcasecmp(n->value, f[i])) { *out = 0; return 0; }
    }
  return fc_type_error(e, n, path, "true or false");
}

/* A non-empty string scalar. */
int fc_get_str(ectx *e, const cnode *n, const char *path, const char **out) {
  if (n->kind != C_SCALAR || fc_is_null(n)) return fc_type_error(e, n, path, "a string");
  *out = n->value;
  return 0;
}

int fc_nonneg(ectx *e, const cnode *n, const char *path, double v) {
  if (v < 0) return fc_fail(e, TNACE_ERR_VALUE, n->line, path, "must be >= 0 (got %s)", n->value);
  return 0;
}
int fc_positive(ectx *e, const cnode *n, const char *path, double v) {
  if (!(v > 0)) return fc_fail(e, TNACE_ERR_VALUE, n->line, path, "must be > 0 (got %s)", n->value);
  return 0;
}

tnace_meta *fc_to_meta(const cnode *n) {
  tnace_meta *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->kind = n->kind == C_MAP ? TNACE_META_MAP : n->kind == C_SEQ ? TNACE_META_SEQ : TNACE_META_SCALAR;
  if (n->kind == C_SCALAR) {
    if (!(m->value = fc_dupstr(n->value))) { free(m); return NULL; }
    m->quoted = !n->plain;
  }
  tnace_meta **tail = &m->child;
  for (const cnode *c = n->child; c; c = c->next) {
    tnace_meta *k = fc_to_meta(c);
    if (!k || (c->key && !(k->key = fc_dupstr(c->key)))) {
      tnace_meta_free(k);
      tnace_meta_free(m);
      return NULL;
    }
    *tail = k;
    tail = &k->next;
  }
  return m;
}
