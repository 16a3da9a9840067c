/*
 * extxyz_parse.c — the text of one frame for the extended-XYZ reader (extxyz.c): numbers and tokens, the
 * comment line (key=value pairs, then the keys the reader knows, the Properties descriptor) and atom lines.
 *
 * Numbers use an exact fast path (Clinger: at most 19 significant digits with mantissa ≤ 2^53 and
 * |exponent| ≤ 22 is one correctly rounded multiply or divide) and fall back to strtod, so results equal
 * strtod's (and Python's float()) bit for bit.
 */
#define _POSIX_C_SOURCE 200809L
#include "extxyz_priv.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- numbers -------------------------------------------------------------------------------- */

static const double P10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                               1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Parse [s, e) as a double (accepts 1e3, 1E3, 1D3, 1d3, nan, inf). 0 = ok, -1 = not a number. */
static int parse_num(const char *s, const char *e, double *out) {
  const char *p = s;
  int neg = 0, any = 0, ok = 1, nd = 0;
  long exp10 = 0;
  uint64_t m = 0;
  if (p < e && (*p == '+' || *p == '-')) neg = (*p++ == '-');
  for (; p < e && *p >= '0' && *p <= '9'; p++) {
    any = 1;
    if (m == 0 && *p == '0') continue;
    if (nd < 19) { m = m * 10 + (uint64_t)(*p - '0'); nd++; } else { ok = 0; }
  }
  if (p < e && *p == '.') {
    for (p++; p < e && *p >= '0' && *p <= '9'; p++) {
      any = 1;
      if (m == 0 && *p == '0') { exp10--; continue; }
      if (nd < 19) { m = m * 10 + (uint64_t)(*p - '0'); nd++; exp10--; } else { ok = 0; }
    }
  }
  if (!any) goto slow;
  if (p < e && (*p == 'e' || *p == 'E' || *p == 'd' || *p == 'D')) {
    int eneg = 0;
    long ev = 0;
    p++;
    if (p < e && (*p == '+' || *p == '-')) eneg = (*p++ == '-');
    if (p >= e || *p < '0' || *p > '9') return -1;
    for (; p < e && *p >= '0' && *p <= '9'; p++)
      if (ev < 100000) ev = ev * 10 + (*p - '0');
    exp10 += eneg ? -ev : ev;
  }
  if (p != e) goto slow;
  if (!ok || m > (1ULL << 53)) goto slow;
  {
    double v = (double)m;
    if (m != 0) {
      if (exp10 < 0) {
        if (exp10 < -22) goto slow;
        v /= P10[-exp10];
      } else {
        if (exp10 > 22) goto slow;
        v *= P10[exp10];
      }
    }
    *out = neg ? -v : v;
    return 0;
  }
slow: {
  char buf[72];
  size_t n = (size_t)(e - s);
  if (n == 0 || n >= sizeof buf) return -1;
  for (size_t k = 0; k < n; k++) {
    char c = s[k];
    if (c == 'x' || c == 'X' || c == 'p' || c == 'P') return -1;  /* no hexadecimal floats */
    buf[k] = (c == 'd' || c == 'D') ? 'e' : c;
  }
  buf[n] = 0;
  char *end;
  errno = 0;
  double v = strtod(buf, &end);
  if (end != buf + n) return -1;
  *out = v;
  return 0;
}
}

/* Integer token [s, e): 0 = ok. */
int xyz_parse_long(const char *s, const char *e, long *out) {
  const char *p = s;
  int neg = 0;
  long v = 0;
  if (p < e && (*p == '+' || *p == '-')) neg = (*p++ == '-');
  if (p >= e) return -1;
  for (; p < e; p++) {
    if (*p < '0' || *p > '9') return -1;
    if (v > (LONG_MAX - 9) / 10) return -1;
    v = v * 10 + (*p - '0');
  }
  *out = neg ? -v : v;
  return 0;
}

/* Next token of a value list, separated by whitespace or commas (like ASE's [^\s,]+). */
static const char *next_tok(const char *p, const char **te) {
  while (*p && (is_ws(*p) || *p == ',')) p++;
  if (!*p) return NULL;
  const char *s = p;
  while (*p && !is_ws(*p) && *p != ',') p++;
  *te = p;
  return s;
}

/* ---- key lists ------------------------------------------------------------------------------ */

int xyz_keylist_init(keylist *kl, const char *spec, const char *def) {
  kl->buf = strdup(spec ? spec : def);
  kl->n = 0;
  if (!kl->buf) return -1;
  char *p = kl->buf;
  while (*p && kl->n < MAX_ALT) {
    while (*p && (is_ws(*p) || *p == ',')) *p++ = 0;
    if (!*p) break;
    kl->name[kl->n++] = p;
    while (*p && !is_ws(*p) && *p != ',') p++;
  }
  return 0;
}

/* Position of key among the alternatives (0 = first choice), -1 if absent. */
static int keylist_rank(const keylist *kl, const char *key) {
  for (int k = 0; k < kl->n; k++)
    if (strcmp(kl->name[k], key) == 0) return k;
  return -1;
}

/* ---- comment line --------------------------------------------------------------------------- */

/* Split the comment line into key/value pairs (ase.io.extxyz.key_val_str_to_dict semantics).
 * Returns the number of pairs, TNACE_ERR_NOMEM, or TNACE_ERR_PARSE (message in err). */
int xyz_split_comment(tnace_xyz_reader *r, long lineno, char *err, size_t errlen) {
  const char *s = r->line;
  size_t len = (size_t)r->len;
  size_t need = len + 8;
  if (need > r->ccap) {
    char *nb = realloc(r->cbuf, need);
    if (!nb) return xyz_fail(r, err, errlen, TNACE_ERR_NOMEM, lineno, "out of memory");
    r->cbuf = nb;
    r->ccap = need;
  }
  char *o = r->cbuf;
  size_t op = 0;
  int np = 0, cur = -1, cur_done = 0, in_val = 0, touched = 0, esc = 0;
  char delim = 0;
#define NEW_PAIR()                                                                    \
  do {                                                                                \
    if (np >= r->pcap) {                                                              \
      int nc = r->pcap ? 2 * r->pcap : 32;                                            \
      kvpair *pp = realloc(r->pairs, (size_t)nc * sizeof *pp);                        \
      if (!pp) return xyz_fail(r, err, errlen, TNACE_ERR_NOMEM, lineno, "out of memory"); \
                               r->pairs = pp;                                                                  \
                               r->pcap = nc;                                                                   \
                               }                                                                                 \
                               r->pairs[np].koff = (int)op;                                                      \
                               r->pairs[np].voff = -1;                                                           \
                               cur = np++;                                                                       \
                               cur_done = 0;                                                                     \
                               in_val = 0;                                                                       \
                               touched = 0;                                                                      \
                               } while (0)
                               for (size_t k = 0; k < len; k++) {
                               char c = s[k];
    if (esc) {
      if (cur < 0 || cur_done) NEW_PAIR();
      o[op++] = c;
      touched = 1;
      esc = 0;
    } else if (c == '\\') {
      esc = 1;
    } else if (delim) {
      if (c == delim) delim = 0;
      else o[op++] = c;
    } else if (c == '"' || c == '\'' || c == '{' || c == '[') {
      if (cur < 0 || cur_done) NEW_PAIR();
      delim = c == '{' ? '}' : c == '[' ? ']' : c;
      touched = 1;
    } else if (is_ws(c)) {
      if (cur < 0 || cur_done || !touched) continue;
      o[op++] = 0;
      cur_done = 1;
    } else if (c == '=') {
      if (cur < 0) {
        NEW_PAIR();
        o[op++] = 0;
        r->pairs[cur].voff = (int)op;
        in_val = 1;
      } else if (cur_done) { /* "key =value": attach to the previous key */
        cur_done = 0;
        touched = 0;
        if (in_val) {
          o[op - 1] = '=';
        } else {
          r->pairs[cur].voff = (int)op;
          in_val = 1;
        }
      } else if (!in_val) {
        o[op++] = 0;
        r->pairs[cur].voff = (int)op;
        in_val = 1;
        touched = 0;
      } else {
        o[op++] = '=';
      }
    } else {
      if (cur < 0 || cur_done) NEW_PAIR();
      o[op++] = c;
      touched = 1;
    }
  }
#undef NEW_PAIR
  if (delim) return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, lineno, "comment line: unterminated quote %c", delim);
  if (cur >= 0 && !cur_done) o[op++] = 0;
  for (int k = 0; k < np; k++)
    if (o[r->pairs[k].koff] == 0)
      return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, lineno, "comment line: '=' without a key");
  return np;
}

static const char *pair_key(const tnace_xyz_reader *r, int k) { return r->cbuf + r->pairs[k].koff; }
static const char *pair_val(const tnace_xyz_reader *r, int k) {
  return r->pairs[k].voff < 0 ? "T" : r->cbuf + r->pairs[k].voff;
}

/* Parse a list of numbers. Returns the count (≤ maxn), or -1 (bad token → *bad), -2 (more than maxn). */
static int parse_numlist(const char *s, double *v, int maxn, const char **bad, int *badlen) {
  int n = 0;
  const char *te;
  for (const char *t = next_tok(s, &te); t; t = next_tok(te, &te)) {
    if (n >= maxn) return -2;
    if (parse_num(t, te, &v[n])) {
      *bad = t;
      *badlen = (int)(te - t);
      return -1;
    }
    n++;
  }
  return n;
}

/* Numbers of key `key` with one of the allowed counts (cnt_a or cnt_b). Returns the count or an error. */
static int key_numbers(const tnace_xyz_reader *r, long lineno, const char *key, const char *val, double *v, int cnt_a,
                       int cnt_b, char *err, size_t errlen) {
  const char *bad = NULL;
  int badlen = 0;
  int n = parse_numlist(val, v, cnt_a > cnt_b ? cnt_a : cnt_b, &bad, &badlen);
  if (n == -1)
    return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, lineno, "key '%s': cannot parse '%.*s' as a number", key,
                    badlen > 40 ? 40 : badlen, bad);
  if (n == -2 || (n != cnt_a && n != cnt_b)) {
    if (cnt_b > 0 && cnt_b != cnt_a)
      return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, lineno, "key '%s': expected %d or %d numbers, got %s", key,
                      cnt_a, cnt_b, n == -2 ? "more" : (n == 0 ? "none" : "a different count"));
    return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, lineno, "key '%s': expected %d number%s, got %s", key, cnt_a,
                    cnt_a == 1 ? "" : "s", n == -2 ? "more" : (n == 0 ? "none" : "fewer"));
  }
  for (int k = 0; k < n; k++)
    if (!isfinite(v[k]))
      return xyz_fail(r, err, errlen, TNACE_ERR_VALUE, lineno, "key '%s': non-finite value (component %d)", key, k + 1);
  return n;
}

static int parse_bool_tok(const char *t, const char *te, int *b) {
  size_t n = (size_t)(te - t);
  static const char *const T[] = {"T", "True", "true", "TRUE", "1"};
  static const char *const F[] = {"F", "False", "false", "FALSE", "0"};
  for (int k = 0; k < 5; k++) {
    if (strlen(T[k]) == n && strncmp(t, T[k], n) == 0) { *b = 1; return 0; }
    if (strlen(F[k]) == n && strncmp(t, F[k], n) == 0) { *b = 0; return 0; }
  }
  return -1;
}

/* 9 numbers (ASE: column-major) or 6 Voigt (xx yy zz yz xz xy) into a 3x3 matrix. */
static void to_3x3(const double *v, int n, double m[3][3]) {
  if (n == 9) {
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 3; j++) m[i][j] = v[i + 3 * j];
  } else {
    m[0][0] = v[0]; m[1][1] = v[1]; m[2][2] = v[2];
    m[1][2] = m[2][1] = v[3];
    m[0][2] = m[2][0] = v[4];
    m[0][1] = m[1][0] = v[5];
  }
}

static int ensure_cols(tnace_xyz_reader *r, int ncols) {
  if (ncols <= r->acap) return 0;
  int *a = realloc(r->act, (size_t)ncols * sizeof *a);
  if (!a) return -1;
  r->act = a;
  const char **c = realloc(r->colname, (size_t)ncols * sizeof *c);
  if (!c) return -1;
  r->colname = c;
  r->acap = ncols;
  return 0;
}

/* Parse the Properties descriptor into r->act / r->colname. Returns the column count or an error. */
static int parse_properties(tnace_xyz_reader *r, long lineno, const char *desc, int *has_forces, int *has_species,
                            const char **forces_name, char *err, size_t errlen) {
  size_t dl = strlen(desc);
  if (dl + 1 > r->pbcap) {
    char *nb = realloc(r->pbuf, dl + 1);
    if (!nb) return xyz_fail(r, err, errlen, TNACE_ERR_NOMEM, lineno, "out of memory");
    r->pbuf = nb;
    r->pbcap = dl + 1;
  }
  memcpy(r->pbuf, desc, dl + 1);
  /* count fields */
  int nf = 1;
  for (char *p = r->pbuf; *p; p++)
    if (*p == ':') nf++;
  if (dl == 0 || nf % 3 != 0)
    return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, lineno,
                    "key 'Properties': expected name:type:count triples, got %d field%s", dl ? nf : 0,
                    nf == 1 ? "" : "s");
  int nprop = nf / 3, ncols = 0;
  int species_col = -1, z_col = -1, pos_col = -1, force_col = -1, force_rank = MAX_ALT;
  char *p = r->pbuf;
  /* first pass: validate, count columns */
  char *fld[3];
  for (int q = 0; q < nprop; q++) {
    for (int k = 0; k < 3; k++) {
      fld[k] = p;
      while (*p && *p != ':') p++;
      if (*p) *p++ = 0;
    }
    const char *name = fld[0], *type = fld[1];
    long cnt;
    if (!*name) return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, lineno, "key 'Properties': empty column name");
    if (strlen(type) != 1 || !strchr("SRILsril", type[0]))
      return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, lineno, "key 'Properties': column '%s' has unknown type '%s'",
                      name, type);
    if (xyz_parse_long(fld[2], fld[2] + strlen(fld[2]), &cnt) || cnt < 1 || cnt > 10000)
      return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, lineno, "key 'Properties': column '%s' has bad count '%s'", name,
                      fld[2]);
    char t = (char)toupper((unsigned char)type[0]);
    /* duplicate names */
    {
      const char *q2 = r->pbuf;
      for (int k = 0; k < q; k++) {
        if (strcmp(q2, name) == 0)
          return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, lineno, "key 'Properties': column '%s' appears twice", name);
        for (int s = 0; s < 3; s++) q2 += strlen(q2) + 1;
      }
    }
    if (strcmp(name, "species") == 0 || strcmp(name, "symbols") == 0) {
      if (t != 'S' || cnt != 1)
        return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, lineno, "key 'Properties': column '%s' must be S:1", name);
      if (species_col < 0) species_col = ncols;
    } else if (strcmp(name, "Z") == 0 || strcmp(name, "numbers") == 0) {
      if (t == 'I' && cnt == 1 && z_col < 0) z_col = ncols;
    } else if (strcmp(name, "pos") == 0 || strcmp(name, "positions") == 0) {
      if (t != 'R' || cnt != 3)
        return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, lineno, "key 'Properties': column '%s' must be R:3", name);
      if (pos_col < 0) pos_col = ncols;
    } else {
      int rk = keylist_rank(&r->k_forces, name);
      if (rk >= 0 && rk < force_rank) {
        if (t != 'R' || cnt != 3)
          return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, lineno, "key 'Properties': column '%s' must be R:3", name);
        force_rank = rk;
        force_col = ncols;
        *forces_name = r->k_forces.name[rk];
      }
    }
    if (ensure_cols(r, ncols + (int)cnt)) return xyz_fail(r, err, errlen, TNACE_ERR_NOMEM, lineno, "out of memory");
    for (long k = 0; k < cnt; k++) {
      r->act[ncols + k] = ACT_SKIP;
      r->colname[ncols + k] = name;
    }
    ncols += (int)cnt;
  }
  if (species_col < 0 && z_col < 0)
    return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, lineno, "key 'Properties': no 'species' column (%s)", desc);
  if (pos_col < 0)
    return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, lineno, "key 'Properties': no 'pos' column (%s)", desc);
  if (species_col >= 0) r->act[species_col] = ACT_SPECIES;
  else r->act[z_col] = ACT_Z;
  *has_species = species_col >= 0;
  for (int k = 0; k < 3; k++) r->act[pos_col + k] = ACT_POS + k;
  *has_forces = force_col >= 0;
  if (force_col >= 0)
    for (int k = 0; k < 3; k++) r->act[force_col + k] = ACT_FORCE + k;
  return ncols;
}

/* Copy the comment pairs into the frame's info block. */
int xyz_store_info(const tnace_xyz_reader *r, int np, tnace_frame *f) {
  size_t bytes = 0;
  for (int k = 0; k < np; k++) bytes += strlen(pair_key(r, k)) + strlen(pair_val(r, k)) + 2;
  size_t head = (size_t)(2 * (np > 0 ? np : 1)) * sizeof(char *);
  char **blk = malloc(head + bytes);
  if (!blk) return -1;
  char *s = (char *)blk + head;
  f->n_info = np;
  f->info_key = blk;
  f->info_val = blk + np;
  for (int k = 0; k < np; k++) {
    size_t lk = strlen(pair_key(r, k)) + 1, lv = strlen(pair_val(r, k)) + 1;
    memcpy(s, pair_key(r, k), lk);
    f->info_key[k] = s;
    s += lk;
    memcpy(s, pair_val(r, k), lv);
    f->info_val[k] = s;
    s += lv;
  }
  return 0;
}

/* Without declared units, a stress component beyond TNACE_MAX_PLAUSIBLE_STRESS_GPA is a unit or sign mistake
 * (bar read as eV/Å^3 gives ~1e6 GPa), not data (extxyz.h). */
static int check_stress(const tnace_xyz_reader *r, const tnace_frame *f, long ln, const char *key, char *err,
                        size_t errlen) {
  if (r->units_declared) return 0;
  double m = 0.0;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) m = fmax(m, fabs(f->stress[i][j]));
  if (!(m * TNACE_EV_A3_TO_GPA > TNACE_MAX_PLAUSIBLE_STRESS_GPA)) return 0;
  return xyz_fail(r, err, errlen, TNACE_ERR_VALUE, ln,
                  "key '%s': a stress component of %.6g GPa (read as %s) is implausible (> %g GPa): are the units "
                  "bar, kbar or GPa, or the sign that of a pressure? Declare them (fit config data.units: {stress: "
                  "bar, stress_sign: pressure}; tnace-eval --units stress=bar,stress_sign=pressure)",
                  key, m * TNACE_EV_A3_TO_GPA, f->stress_from_virial ? "a virial in eV" : "eV/Å^3 in the ASE sign",
                  TNACE_MAX_PLAUSIBLE_STRESS_GPA);
}

/* Interpret the comment line (already split into np pairs). Returns the column count or an error. */
int xyz_parse_comment(tnace_xyz_reader *r, tnace_frame *f, int np, long ln, int *want_forces, char *err,
                         size_t errlen) {
  int e_idx = -1, e_rank = MAX_ALT, s_idx = -1, s_rank = MAX_ALT, v_idx = -1, v_rank = MAX_ALT;
  int c_idx = -1, c_rank = MAX_ALT, props_idx = -1, pbc_idx = -1, lat_idx = -1;
  double v[9];
  for (int k = 0; k < np; k++) {
    const char *key = pair_key(r, k);
    int rk;
    if (strcmp(key, "Properties") == 0) props_idx = k;
    else if (strcmp(key, "Lattice") == 0) lat_idx = k;
    else if (strcmp(key, "pbc") == 0) pbc_idx = k;
    if ((rk = keylist_rank(&r->k_energy, key)) >= 0 && rk <= e_rank) { e_rank = rk; e_idx = k; }
    if ((rk = keylist_rank(&r->k_stress, key)) >= 0 && rk <= s_rank) { s_rank = rk; s_idx = k; }
    if ((rk = keylist_rank(&r->k_virial, key)) >= 0 && rk <= v_rank) { v_rank = rk; v_idx = k; }
    if ((rk = keylist_rank(&r->k_config, key)) >= 0 && rk <= c_rank) { c_rank = rk; c_idx = k; }
    double *wt = NULL;
    if (strcmp(key, "config_weight") == 0) wt = &f->weight;
    else if (strcmp(key, "energy_weight") == 0) wt = &f->energy_weight;
    else if (strcmp(key, "forces_weight") == 0) wt = &f->forces_weight;
    else if (strcmp(key, "stress_weight") == 0 || strcmp(key, "virial_weight") == 0) wt = &f->stress_weight;
    if (wt) {
      int rc = key_numbers(r, ln, key, pair_val(r, k), v, 1, 1, err, errlen);
      if (rc < 0) return rc;
      if (v[0] < 0) return xyz_fail(r, err, errlen, TNACE_ERR_VALUE, ln, "key '%s': negative weight %g", key, v[0]);
      *wt = v[0];
    }
  }
  if (lat_idx >= 0) {
    int rc = key_numbers(r, ln, "Lattice", pair_val(r, lat_idx), v, 9, 9, err, errlen);
    if (rc < 0) return rc;
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 3; j++) f->cell[i][j] = v[3 * i + j];
    f->has_cell = 1;
    f->pbc[0] = f->pbc[1] = f->pbc[2] = 1;
  }
  if (pbc_idx >= 0) {
    int b[3], nb = 0;
    const char *te, *val = pair_val(r, pbc_idx);
    for (const char *t = next_tok(val, &te); t; t = next_tok(te, &te)) {
      if (nb >= 3 || parse_bool_tok(t, te, &b[nb]))
        return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, ln, "key 'pbc': expected 3 booleans (T/F), got '%s'", val);
      nb++;
    }
    if (nb == 1) b[1] = b[2] = b[0];
    else if (nb != 3)
      return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, ln, "key 'pbc': expected 3 booleans (T/F), got '%s'", val);
    for (int k = 0; k < 3; k++) f->pbc[k] = b[k];
  }
  if (e_idx >= 0) {
    int rc = key_numbers(r, ln, pair_key(r, e_idx), pair_val(r, e_idx), v, 1, 1, err, errlen);
    if (rc < 0) return rc;
    f->energy = v[0] * r->energy_scale;   /* per atom: × n_count once the atoms are read (extxyz.c) */
    f->has_energy = 1;
  }
  if (e_idx >= 0 && !r->units_declared && f->n_atoms > 0 &&
      fabs(f->energy) > TNACE_MAX_PLAUSIBLE_E_PER_ATOM * f->n_atoms)
    return xyz_fail(r, err, errlen, TNACE_ERR_VALUE, ln,
                    "key '%s': %g eV per atom is implausible for eV (|E/N| > %g): a different unit or key? Declare "
                    "the units to accept it (fit config data.units: {energy: eV}; tnace-eval --units energy=eV)",
                    pair_key(r, e_idx), f->energy / f->n_atoms, TNACE_MAX_PLAUSIBLE_E_PER_ATOM);
  if (s_idx >= 0) {
    int rc = key_numbers(r, ln, pair_key(r, s_idx), pair_val(r, s_idx), v, 9, 6, err, errlen);
    if (rc < 0) return rc;
    to_3x3(v, rc, f->stress);
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 3; j++) f->stress[i][j] *= r->stress_scale;
    f->has_stress = 1;
    if ((rc = check_stress(r, f, ln, pair_key(r, s_idx), err, errlen))) return rc;
  } else if (v_idx >= 0) {
    const char *key = pair_key(r, v_idx);
    int rc = key_numbers(r, ln, key, pair_val(r, v_idx), v, 9, 6, err, errlen);
    if (rc < 0) return rc;
    double vol = tnace_frame_volume(f);
    if (!(vol > 1e-8))
      return xyz_fail(r, err, errlen, TNACE_ERR_VALUE, ln,
                      "key '%s': cannot convert a virial to stress without a Lattice of non-zero volume", key);
    double m[3][3];
    to_3x3(v, rc, m);
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 3; j++) f->stress[i][j] = -m[i][j] / vol;
    f->has_stress = 1;
    f->stress_from_virial = 1;
    if ((rc = check_stress(r, f, ln, key, err, errlen))) return rc;
  }
  if (c_idx >= 0) {
    const char *val = pair_val(r, c_idx);
    if (strlen(val) >= sizeof f->config_type)
      return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, ln, "key '%s': value longer than %d characters",
                      pair_key(r, c_idx), (int)sizeof f->config_type - 1);
    strcpy(f->config_type, val);
  }
  if (props_idx < 0) return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, ln, "key 'Properties': missing");
  int has_species = 0;
  const char *fname = NULL;
  return parse_properties(r, ln, pair_val(r, props_idx), want_forces, &has_species, &fname, err, errlen);
}

/* ---- atom lines ----------------------------------------------------------------------------- */

/* Parse one atom line into atom a of f. */
int xyz_parse_atom(tnace_xyz_reader *r, tnace_frame *f, int a, int ncols, char *err, size_t errlen) {
  const char *p = r->line;
  long ln = r->lineno;
  for (int c = 0; c < ncols; c++) {
    while (is_ws(*p)) p++;
    if (!*p)
      return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, ln,
                      "column '%s': too few columns (line has %d field%s, Properties needs %d)", r->colname[c], c,
                      c == 1 ? "" : "s", ncols);
    const char *t = p;
    while (*p && !is_ws(*p)) p++;
    int act = r->act[c];
    if (act == ACT_SKIP) continue;
    size_t tl = (size_t)(p - t);
    if (act == ACT_SPECIES) {
      int z = 0;
      if (tl <= 3) {
        if (r->last_z && strlen(r->last_sym) == tl && memcmp(r->last_sym, t, tl) == 0) {
          z = r->last_z;
        } else {
          z = tnace_atomic_number_nocase(t, tl);
          if (z) {
            memcpy(r->last_sym, t, tl);
            r->last_sym[tl] = 0;
            r->last_z = z;
          }
        }
      }
      if (!z)
        return xyz_fail(r, err, errlen, TNACE_ERR_ELEMENT, ln,
                        "column '%s' (field %d): '%.*s' is not a chemical element", r->colname[c], c + 1,
                        (int)(tl > 20 ? 20 : tl), t);
      f->number[a] = z;
      strcpy(f->symbol[a], tnace_element_symbol((int)z));
    } else if (act == ACT_Z) {
      long z;
      if (xyz_parse_long(t, p, &z) || z < 1 || z > 118)
        return xyz_fail(r, err, errlen, TNACE_ERR_ELEMENT, ln, "column '%s' (field %d): '%.*s' is not an atomic number",
                        r->colname[c], c + 1, (int)(tl > 20 ? 20 : tl), t);
      f->number[a] = (int)z;
      strcpy(f->symbol[a], tnace_element_symbol((int)z));
    } else {
      double v;
      if (parse_num(t, p, &v))
        return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, ln, "column '%s' (field %d): cannot parse '%.*s' as a number",
                        r->colname[c], c + 1, (int)(tl > 40 ? 40 : tl), t);
      if (!isfinite(v))
        return xyz_fail(r, err, errlen, TNACE_ERR_VALUE, ln, "column '%s' (field %d): non-finite value '%.*s'",
                        r->colname[c], c + 1, (int)(tl > 40 ? 40 : tl), t);
      if (act < ACT_FORCE) f->pos[a][act - ACT_POS] = v;
      else f->forces[a][act - ACT_FORCE] = v;
    }
  }
  while (is_ws(*p)) p++;
  if (*p) {
    int extra = 0;
    while (*p) {
      while (*p && !is_ws(*p)) p++;
      while (is_ws(*p)) p++;
      extra++;
    }
    return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, ln, "atom line has %d field%s, Properties declares %d",
                    ncols + extra, ncols + extra == 1 ? "" : "s", ncols);
  }
  return 0;
}
