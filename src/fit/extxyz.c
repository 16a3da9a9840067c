/*
 * extxyz.c — streaming extended-XYZ reader (see extxyz.h for the format and the API): the file, frame
 * boundaries, resynchronisation after a bad frame and the frame's arrays. The text of a frame (comment
 * line, Properties, atom lines, numbers) is parsed in extxyz_parse.c.
 *
 * One getline() per line, one pass over each line.
 */
#define _POSIX_C_SOURCE 200809L
#include "extxyz_priv.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* ---- reader --------------------------------------------------------------------------------- */

int xyz_fail(const tnace_xyz_reader *r, char *err, size_t errlen, int code, long line, const char *fmt, ...) {
  if (err && errlen) {
    int k = line > 0 ? snprintf(err, errlen, "%s:%ld: ", r->path, line) : snprintf(err, errlen, "%s: ", r->path);
    if (k >= 0 && (size_t)k < errlen) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
      va_end(ap);
    }
  }
  return code;
}

/* Next line into r->line (newline stripped). Returns its length, -1 at EOF, -2 on a read error. */
static long rd(tnace_xyz_reader *r) {
  if (r->pushed) { r->pushed = 0; return r->len; }
  if (r->eof) return -1;
  errno = 0;
  ssize_t k = getline(&r->line, &r->cap, r->fp);
  if (k < 0) {
    r->eof = 1;
    if (ferror(r->fp)) {
      r->ioerr = errno;
      return -2;
    }
    return -1;
  }
  r->lineno++;
  while (k > 0 && (r->line[k - 1] == '\n' || r->line[k - 1] == '\r')) r->line[--k] = 0;
  r->len = (long)k;
  return r->len;
}

static int is_blank(const char *s) {
  for (; *s; s++)
    if (!is_ws(*s)) return 0;
  return 1;
}

/* A line holding exactly one integer token: *v set. */
static int lone_integer(const char *s, long *v) {
  while (is_ws(*s)) s++;
  const char *b = s;
  while (*s && !is_ws(*s)) s++;
  const char *e = s;
  while (is_ws(*s)) s++;
  if (*s || b == e) return 0;
  return xyz_parse_long(b, e, v) == 0;
}

static tnace_xyz_reader *reader_open(const char *path, const tnace_xyz_keys *keys, int *code, char *err,
                                     size_t errlen) {
  if (err && errlen) err[0] = 0;
  *code = TNACE_ERR_NOMEM;
  if (!path) {
    if (err && errlen) snprintf(err, errlen, "tnace_xyz_open: NULL path");
    *code = TNACE_ERR_ARG;
    return NULL;
  }
  tnace_xyz_reader *r = calloc(1, sizeof *r);
  if (!r) goto nomem;
  r->path = strdup(path);
  if (!r->path) goto nomem;
  r->stress_scale = (keys && keys->stress_unit > 0 ? keys->stress_unit : 1.0) * (keys && keys->stress_sign < 0 ? -1.0 : 1.0);
  r->units_declared = keys ? keys->units_declared : 0;
  r->energy_scale = keys && keys->energy_unit > 0 ? keys->energy_unit : 1.0;
  r->energy_per_atom = keys ? keys->energy_per_atom : 0;
  for (const char *c = keys ? keys->count_species : NULL; c && *c && r->n_count_sym < TNACE_MAX_ELEMENTS;) {
    while (*c == ',' || *c == ' ') c++;
    size_t l = strcspn(c, ", ");
    if (l > 0 && l < 4) { memcpy(r->count_sym[r->n_count_sym], c, l); r->count_sym[r->n_count_sym++][l] = 0; }
    c += l;
  }
  if (xyz_keylist_init(&r->k_energy, keys ? keys->energy : NULL, "energy REF_energy dft_energy DFT_energy") ||
      xyz_keylist_init(&r->k_forces, keys ? keys->forces : NULL, "forces force REF_forces dft_forces DFT_force") ||
      xyz_keylist_init(&r->k_stress, keys ? keys->stress : NULL, "stress REF_stress dft_stress") ||
      xyz_keylist_init(&r->k_virial, keys ? keys->virial : NULL, "virial REF_virial dft_virial") ||
      xyz_keylist_init(&r->k_config, keys ? keys->config_type : NULL, "config_type"))
    goto nomem;
  r->fp = fopen(path, "r");
  if (!r->fp) {
    if (err && errlen) snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    *code = TNACE_ERR_IO;
    tnace_xyz_close(r);
    return NULL;
  }
  *code = 0;
  return r;
nomem:
  if (err && errlen) snprintf(err, errlen, "%s: out of memory", path);
  tnace_xyz_close(r);
  return NULL;
}

tnace_xyz_reader *tnace_xyz_open(const char *path, const tnace_xyz_keys *keys, char *err, size_t errlen) {
  int code;
  return reader_open(path, keys, &code, err, errlen);
}

void tnace_xyz_close(tnace_xyz_reader *r) {
  if (!r) return;
  if (r->fp) fclose(r->fp);
  free(r->path);
  free(r->line);
  free(r->k_energy.buf);
  free(r->k_forces.buf);
  free(r->k_stress.buf);
  free(r->k_virial.buf);
  free(r->k_config.buf);
  free(r->cbuf);
  free(r->pairs);
  free(r->pbuf);
  free(r->act);
  free(r->colname);
  free(r);
}

long tnace_xyz_line(const tnace_xyz_reader *r) { return r ? r->lineno : 0; }

void tnace_frame_free(tnace_frame *f) {
  if (!f) return;
  free(f->symbol);
  free(f->number);
  free(f->pos);
  free(f->forces);
  free(f->info_key);
  memset(f, 0, sizeof *f);
}

const char *tnace_frame_info(const tnace_frame *f, const char *key) {
  if (!f || !key) return NULL;
  for (int k = f->n_info - 1; k >= 0; k--)
    if (strcmp(f->info_key[k], key) == 0) return f->info_val[k];
  return NULL;
}

static double det3(const double c[3][3]) {
  return c[0][0] * (c[1][1] * c[2][2] - c[1][2] * c[2][1]) - c[0][1] * (c[1][0] * c[2][2] - c[1][2] * c[2][0]) +
         c[0][2] * (c[1][0] * c[2][1] - c[1][1] * c[2][0]);
}

double tnace_frame_volume(const tnace_frame *f) { return (f && f->has_cell) ? fabs(det3(f->cell)) : 0.0; }

static int grow_atoms(tnace_frame *f, int need_forces, int *cap, int n) {
  int nc = *cap ? 2 * *cap : (n < 1024 ? n : 1024);
  if (nc > n) nc = n;
  if (nc < 1) nc = 1;
  void *p;
  if (!(p = realloc(f->symbol, (size_t)nc * sizeof *f->symbol))) return -1;
  f->symbol = p;
  if (!(p = realloc(f->number, (size_t)nc * sizeof *f->number))) return -1;
  f->number = p;
  if (!(p = realloc(f->pos, (size_t)nc * sizeof *f->pos))) return -1;
  f->pos = p;
  if (need_forces) {
    if (!(p = realloc(f->forces, (size_t)nc * sizeof *f->forces))) return -1;
    f->forces = p;
  }
  *cap = nc;
  return 0;
}

static int read_error(const tnace_xyz_reader *r, char *err, size_t errlen) {
  return xyz_fail(r, err, errlen, TNACE_ERR_IO, r->lineno, "read error: %s", strerror(r->ioerr));
}

/* After a bad frame: skip its remaining lines, or (after a bad atom count) up to the next line holding a
 * lone integer, left pushed back. Returns 1 = at the next frame, 0 = end of file, < 0 = read error. */
static int resync(tnace_xyz_reader *r, char *err, size_t errlen) {
  long len;
  while (r->skip_lines > 0) {
    len = rd(r);
    if (len == -2) return read_error(r, err, errlen);
    if (len < 0) { r->skip_lines = 0; return 0; }
    r->skip_lines--;
  }
  if (r->scan) {
    long v;
    for (;;) {
      len = rd(r);
      if (len == -2) return read_error(r, err, errlen);
      if (len < 0) { r->scan = 0; return 0; }
      if (lone_integer(r->line, &v)) { r->pushed = 1; break; }
    }
    r->scan = 0;
  }
  return 1;
}

/* The atom count line (after blank lines) into f (line, index, n_atoms, default weights). Returns 1,
 * 0 = end of file, or an error (a bad count sets r->scan to resynchronise). */
static int read_header(tnace_xyz_reader *r, tnace_frame *f, char *err, size_t errlen) {
  long len;
  do {
    len = rd(r);
    if (len == -2) return read_error(r, err, errlen);
    if (len == -1) {
      if (r->n_headers == 0) return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, 0, "no frames (empty file)");
      return 0;
    }
  } while (is_blank(r->line));
  long hdr = r->lineno, nat;
  r->n_headers++;
  if (!lone_integer(r->line, &nat)) {
    r->scan = 1;
    return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, hdr, "key 'atom count': expected an integer, got '%.40s'",
                    r->line);
  }
  if (nat < 0 || nat > INT_MAX / 4) {
    r->scan = 1;
    return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, hdr, "key 'atom count': %ld is not a valid number of atoms", nat);
  }
  f->line = hdr;
  f->index = r->n_headers - 1;
  f->n_atoms = (int)nat;
  f->weight = f->energy_weight = f->forces_weight = f->stress_weight = 1.0;
  return 1;
}

/* The n atom lines of frame f (header at line hdr). Returns 0 or an error, with r set to resume at the
 * next frame. */
static int read_atoms(tnace_xyz_reader *r, tnace_frame *f, int ncols, int want_forces, char *err, size_t errlen) {
  const int n = f->n_atoms;
  const long hdr = f->line;
  int cap = 0;
  for (int a = 0; a < n; a++) {
    long len = rd(r);
    if (len == -2) return read_error(r, err, errlen);
    if (len == -1)
      return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, hdr,
                      "truncated frame: declares %d atoms but the file ends after %d atom line%s (line %ld)", n, a,
                      a == 1 ? "" : "s", r->lineno);
    if (a >= cap && grow_atoms(f, want_forces, &cap, n)) {
      r->skip_lines = n - a - 1;
      return xyz_fail(r, err, errlen, TNACE_ERR_NOMEM, r->lineno, "out of memory (%d atoms)", n);
    }
    int rc = xyz_parse_atom(r, f, a, ncols, err, errlen);
    if (rc < 0) {
      long v;
      if (!lone_integer(r->line, &v)) {
        r->skip_lines = n - a - 1;
        return rc;
      }
      /* the frame is shorter than declared and the next frame starts here */
      r->pushed = 1;
      return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, r->lineno,
                      "frame at line %ld declares %d atoms but has only %d atom lines before this new atom count", hdr,
                      n, a);
    }
  }
  return 0;
}

long tnace_xyz_n_empty(const tnace_xyz_reader *r, long *first_line) {
  if (first_line) *first_line = r ? r->first_empty : 0;
  return r ? r->n_empty : 0;
}

/* A frame of 0 atoms (ASE writes them): its comment line is skipped and it is counted. Returns 2, 0 at the
 * end of the file, or a read error. */
static int skip_empty_frame(tnace_xyz_reader *r, const tnace_frame *f, char *err, size_t errlen) {
  const long len = rd(r);
  if (len == -2) return read_error(r, err, errlen);
  if (!r->n_empty++) r->first_empty = f->line;
  return len == -1 ? 0 : 2;
}

int tnace_xyz_next(tnace_xyz_reader *r, tnace_frame *f, char *err, size_t errlen) {
  if (err && errlen) err[0] = 0;
  if (!r || !f) {
    if (err && errlen) snprintf(err, errlen, "tnace_xyz_next: NULL argument");
    return TNACE_ERR_ARG;
  }
  int rc;
  do {
    memset(f, 0, sizeof *f);
    rc = resync(r, err, errlen);
    if (rc <= 0) return rc;
    rc = read_header(r, f, err, errlen);
    if (rc <= 0) return rc;
    if (f->n_atoms == 0) rc = skip_empty_frame(r, f, err, errlen);
  } while (rc == 2);
  if (rc <= 0) return rc;
  const int n = f->n_atoms;
  /* comment line */
  long len = rd(r);
  if (len == -2) return read_error(r, err, errlen);
  if (len == -1)
    return xyz_fail(r, err, errlen, TNACE_ERR_PARSE, f->line,
                    "truncated frame: declares %d atoms but the file ends after the atom count line", n);
  const long cln = r->lineno;
  int want_forces = 0, ncols;
  int np = xyz_split_comment(r, cln, err, errlen);
  if (np < 0) { rc = np; goto bad_comment; }
  ncols = xyz_parse_comment(r, f, np, cln, &want_forces, err, errlen);
  if (ncols < 0) { rc = ncols; goto bad_comment; }
  if (xyz_store_info(r, np, f)) {
    rc = xyz_fail(r, err, errlen, TNACE_ERR_NOMEM, cln, "out of memory");
    goto bad_comment;
  }
  f->has_forces = want_forces;
  rc = read_atoms(r, f, ncols, want_forces, err, errlen);
  if (rc < 0) goto fail;
  f->n_count = r->n_count_sym ? 0 : f->n_atoms;
  for (int a = 0; r->n_count_sym && a < f->n_atoms; a++)
    for (int k = 0; k < r->n_count_sym; k++) f->n_count += !strcmp(f->symbol[a], r->count_sym[k]);
  if (r->n_count_sym && f->n_count == 0) {
    rc = xyz_fail(r, err, errlen, TNACE_ERR_VALUE, f->line, "frame has no atom of the counted species (%s...): its "
                  "per-atom values cannot be normalised", r->count_sym[0]);
    goto fail;
  }
  if (f->has_energy && r->energy_per_atom) f->energy *= f->n_count;
  return 1;
bad_comment:
  r->skip_lines = n;
fail:
  tnace_frame_free(f);
  return rc;
}

void tnace_xyz_free_all(tnace_frame *frames, int n) {
  if (!frames) return;
  for (int k = 0; k < n; k++) tnace_frame_free(&frames[k]);
  free(frames);
}

int tnace_xyz_read_all(const char *path, const tnace_xyz_keys *keys, int skip_bad, tnace_frame **frames, int *n,
                       int *n_skipped, char *err, size_t errlen) {
  if (err && errlen) err[0] = 0;
  if (n_skipped) *n_skipped = 0;
  if (!frames || !n) {
    if (err && errlen) snprintf(err, errlen, "tnace_xyz_read_all: NULL argument");
    return TNACE_ERR_ARG;
  }
  *frames = NULL;
  *n = 0;
  int code;
  tnace_xyz_reader *r = reader_open(path, keys, &code, err, errlen);
  if (!r) return code;
  tnace_frame *fr = NULL;
  int nf = 0, cap = 0, skipped = 0, rc = 0;
  char msg[512];
  for (;;) {
    if (nf == cap) {
      int nc = cap ? 2 * cap : 64;
      tnace_frame *p = realloc(fr, (size_t)nc * sizeof *p);
      if (!p) { rc = xyz_fail(r, err, errlen, TNACE_ERR_NOMEM, 0, "out of memory"); break; }
      fr = p;
      cap = nc;
    }
    int k = tnace_xyz_next(r, &fr[nf], msg, sizeof msg);
    if (k == 1) { nf++; continue; }
    if (k == 0) break;
    int data_error = (k == TNACE_ERR_PARSE || k == TNACE_ERR_VALUE || k == TNACE_ERR_ELEMENT) && r->n_headers > 0;
    if (skip_bad && data_error) {
      if (skipped == 0 && err && errlen) snprintf(err, errlen, "%s", msg);
      skipped++;
      continue;
    }
    if (err && errlen) snprintf(err, errlen, "%s", msg);
    rc = k;
    break;
  }
  if (rc == 0 && nf == 0) {
    if (skipped == 0 || !(err && errlen)) xyz_fail(r, err, errlen, TNACE_ERR_PARSE, 0, "no frames");
    else {
      char first[512];
      snprintf(first, sizeof first, "%s", err);
      xyz_fail(r, err, errlen, TNACE_ERR_PARSE, 0, "no valid frames (%d skipped; first error: %s)", skipped, first);
    }
    rc = TNACE_ERR_PARSE;
  }
  tnace_xyz_close(r);
  if (rc < 0) {
    tnace_xyz_free_all(fr, nf);
    return rc;
  }
  if (nf < cap) {
    tnace_frame *p = realloc(fr, (size_t)nf * sizeof *p);
    if (p) fr = p;
  }
  *frames = fr;
  *n = nf;
  if (n_skipped) *n_skipped = skipped;
  return 0;
}

int tnace_energy_unit_parse(const char *name, double *unit, int *per_atom) {
  static const struct { const char *name; double unit; int per_atom; } u[] = {
      {"eV", TNACE_ENERGY_UNIT_EV, 0}, {"meV", TNACE_ENERGY_UNIT_MEV, 0}, {"eV/atom", TNACE_ENERGY_UNIT_EV, 1},
      {"meV/atom", TNACE_ENERGY_UNIT_MEV, 1}};
  for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
    if (!strcmp(name, u[i].name)) { *unit = u[i].unit; *per_atom = u[i].per_atom; return 0; }
  return -1;
}

int tnace_stress_unit_parse(const char *name, double *unit) {
  static const struct { const char *name; double unit; } u[] = {
      {"eV/A^3", TNACE_STRESS_UNIT_EV_A3}, {"eV/A3", TNACE_STRESS_UNIT_EV_A3}, {"eV/Å^3", TNACE_STRESS_UNIT_EV_A3},
      {"eV/Å³", TNACE_STRESS_UNIT_EV_A3},  {"GPa", TNACE_STRESS_UNIT_GPA},     {"kbar", TNACE_STRESS_UNIT_KBAR},
      {"kB", TNACE_STRESS_UNIT_KBAR},      {"bar", TNACE_STRESS_UNIT_BAR}};
  for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
    if (!strcmp(name, u[i].name)) { *unit = u[i].unit; return 0; }
  return -1;
}

int tnace_stress_sign_parse(const char *name, int *sign) {
  if (!strcmp(name, "ase")) { *sign = 1; return 0; }
  if (!strcmp(name, "pressure")) { *sign = -1; return 0; }
  return -1;
}
