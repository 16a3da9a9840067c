/*
 * tnace-desc — the invariant descriptors B^(1) or B^(2) (the power spectrum) of every atom of extended-XYZ
 * structures, per atom or pooled per structure, written as a NumPy .npy array or a text table, with a JSON
 * file that labels the rows and columns. The descriptor is the library's (tnace.h tnace_atom_descriptor), on
 * the atomic base of a potential file, of a fit config, or of a basis given on the command line. Manual:
 * docs/tnace-desc.md.
 *
 * Exit status: 0 success, 1 error (message "tnace-desc: ..." on stderr), 2 usage error.
 */
#include "dataset.h"
#include "evalstats.h"
#include "fit_setup.h"
#include "fitconfig.h"
#include "model.h"
#include "tnace.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "tnace-desc"

static const char *usage_text =
    "Usage: tnace-desc BASIS DATA.xyz [DATA2.xyz ...] --output OUT.npy|OUT.txt [options]\n"
    "\n"
    "Write the invariant descriptor of every atom of extended-XYZ structures: nu = 1, B_an = A_an00, or\n"
    "nu = 2, the power spectrum B_pql = w (2l+1)^-1/2 sum_m A_p,lm A_q,lm over radial-species indices\n"
    "p = (a1,n1) <= q = (a2,n2) (w = sqrt 2 off the diagonal: dot products equal the full tensor's).\n"
    "OUT.npy is a float64 array (rows x columns), OUT.txt the same as text; OUT.json (next to it) names\n"
    "every row (structure, atom, element) and column (a1 n1 a2 n2 l, and the centre element when pooled\n"
    "per species).\n"
    "\n"
    "BASIS, one of:\n"
    "  --potential P.yaml   the atomic base of a potential file (its elements, cutoffs, radial basis)\n"
    "  --config FIT.yaml    the base of the potential a fit config would build (its terms' n_max, l_max)\n"
    "  --elements A,B,... --cutoff R --nmax N --lmax L [--lambda X] [--r-min R0]\n"
    "                       a basis given here: cutoff R in A, n_max radial functions, l_max, the\n"
    "                       ChebExpCos scaling (default 5), r_min (default 0.5 A)\n"
    "\n"
    "Options:\n"
    "  --output FILE        OUT.npy (NumPy float64) or OUT.txt (text, one row a line); required\n"
    "  --nu 1|2             descriptor order (default 2)\n"
    "  --pool none|mean|species\n"
    "                       none: one row per atom (default); mean: one row per structure, the average\n"
    "                       over its atoms (Sommer & Dunham eq. 22); species: one row per structure, a\n"
    "                       block per centre element c holding (1/N) sum over atoms of element c (the\n"
    "                       blocks sum to the mean)\n"
    "  -h, --help           show this help and exit\n"
    "  --version            print the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 usage error.\n";

enum { POOL_NONE = 0, POOL_MEAN = 1, POOL_SPECIES = 2 };

typedef struct {
  const char *potential, *config, *output, *elements;
  const char **data;
  int n_data, nu, pool, nmax, lmax, text;
  double cutoff, lambda, r_min;
} options;

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, PROG ": ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nTry 'tnace-desc --help' for more information.\n");
  return 2;
}

static int parse_number(const char *opt, const char *val, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  const double x = strtod(val, &end);
  if (end == val || *end || errno || !isfinite(x) || x < lo || x > hi) {
    fprintf(stderr, PROG ": %s needs a number in [%g, %g], got '%s'\n", opt, lo, hi, val);
    return 2;
  }
  *out = x;
  return -1;
}

/* One option with its value; returns -1 to continue, otherwise the exit status. */
static int parse_option(options *o, const char *a, const char *v) {
  double x;
  int st = -1;
  if (!strcmp(a, "--potential")) o->potential = v;
  else if (!strcmp(a, "--config")) o->config = v;
  else if (!strcmp(a, "--elements")) o->elements = v;
  else if (!strcmp(a, "--output")) {
    const size_t n = strlen(v);
    if (n >= 4 && !strcmp(v + n - 4, ".npy")) o->text = 0;
    else if (n >= 4 && !strcmp(v + n - 4, ".txt")) o->text = 1;
    else return usage_error("--output: '%s' must end in .npy or .txt", v);
    o->output = v;
  } else if (!strcmp(a, "--pool")) {
    if (!strcmp(v, "none")) o->pool = POOL_NONE;
    else if (!strcmp(v, "mean")) o->pool = POOL_MEAN;
    else if (!strcmp(v, "species")) o->pool = POOL_SPECIES;
    else return usage_error("--pool: '%s' is not one of none, mean, species", v);
  } else if (!strcmp(a, "--nu")) {
    if ((st = parse_number(a, v, 1, 2, &x)) < 0) o->nu = (int)x;
    if (st < 0 && x != (int)x) return usage_error("--nu needs 1 or 2, got '%s'", v);
  } else if (!strcmp(a, "--nmax")) {
    if ((st = parse_number(a, v, 1, TNACE_MAX_NMAX, &x)) < 0) o->nmax = (int)x;
  } else if (!strcmp(a, "--lmax")) {
    if ((st = parse_number(a, v, 0, TNACE_LMAX_LIMIT, &x)) < 0) o->lmax = (int)x;
  } else if (!strcmp(a, "--cutoff")) st = parse_number(a, v, 0.1, TNACE_MAX_CUTOFF, &o->cutoff);
  else if (!strcmp(a, "--lambda")) st = parse_number(a, v, 1e-6, 1e3, &o->lambda);
  else if (!strcmp(a, "--r-min")) st = parse_number(a, v, 0.0, 10.0, &o->r_min);
  else return usage_error("unknown option '%s'", a);
  return st;
}

static int parse_args(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  o->nu = 2;
  o->lambda = 5.0;
  o->r_min = 0.5;
  o->nmax = o->lmax = -1;
  o->data = malloc((size_t)argc * sizeof *o->data);
  if (!o->data) { fprintf(stderr, PROG ": out of memory\n"); return 1; }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(usage_text, stdout); return 0; }
    if (!strcmp(a, "--version")) { printf(PROG " (tnace) %s\n", TNACE_VERSION_STRING); return 0; }
    if (a[0] == '-' && a[1]) {
      if (i + 1 >= argc) return usage_error("option '%s' needs a value", a);
      const int st = parse_option(o, a, argv[++i]);
      if (st >= 0) return st;
      continue;
    }
    o->data[o->n_data++] = a;
  }
  const int given = !!o->potential + !!o->config + !!o->elements;
  if (given != 1) return usage_error("%s", "give exactly one basis: --potential, --config or --elements ...");
  if (o->elements && (o->cutoff <= 0 || o->nmax < 1 || o->lmax < 0))
    return usage_error("%s", "--elements needs --cutoff, --nmax and --lmax");
  if (!o->elements && (o->cutoff > 0 || o->nmax >= 0 || o->lmax >= 0))
    return usage_error("%s", "--cutoff, --nmax and --lmax go with --elements (the other bases define them)");
  if (!o->output) return usage_error("%s", "missing --output OUT.npy|OUT.txt");
  if (o->n_data == 0) return usage_error("%s", "missing DATA.xyz argument");
  return -1;
}

/* The descriptor basis: a loaded potential, the one a fit config builds, or one ν = 2 term on the given basis. */
static int make_basis(const options *o, tnace_potential **pot, char *err, size_t errlen) {
  if (o->potential) return tnace_potential_load(o->potential, pot, err, errlen);
  if (o->config) {
    tnace_fitconfig cfg;
    int rc = tnace_fitconfig_read(o->config, &cfg, err, errlen);
    if (rc) return rc;
    rc = tnace_fitconfig_make_potential(&cfg, pot, err, errlen);
    tnace_fitconfig_free(&cfg);
    return rc;
  }
  char buf[TNACE_MAX_ELEMENTS * 8], *save = NULL;
  const char *names[TNACE_MAX_ELEMENTS];
  int n_el = 0;
  snprintf(buf, sizeof buf, "%s", o->elements);
  for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
    if (n_el == TNACE_MAX_ELEMENTS) {
      snprintf(err, errlen, "--elements: more than %d elements", TNACE_MAX_ELEMENTS);
      return TNACE_ERR_VALUE;
    }
    names[n_el++] = t;
  }
  tnace_term_spec spec = {.nu = 2, .lmax = o->lmax, .nmax = o->nmax, .chi = 1, .model = TNACE_MODEL_MPS};
  int rc = tnace_potential_create(pot, n_el, names, 1, &spec, o->cutoff, o->lambda, err, errlen);
  if (rc) return rc;
  (*pot)->r_min = o->r_min;
  return tnace_potential_prepare(*pot, err, errlen);
}

/* .npy header (format 1.0) for a float64 C-order array rows × cols, padded to a fixed 128 bytes so that the
 * row count can be rewritten in place once it is known. */
static int write_npy_header(FILE *f, long rows, long cols) {
  char dict[118];
  const int n = snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (%ld, %ld), }", rows,
                         cols);
  if (n < 0 || n > 117) return -1;
  memset(dict + n, ' ', 117 - (size_t)n);
  dict[117] = '\n';
  const unsigned char magic[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0};
  if (fseek(f, 0, SEEK_SET)) return -1;
  return fwrite(magic, 1, 10, f) == 10 && fwrite(dict, 1, 118, f) == 118 ? 0 : -1;
}

static int write_row(FILE *f, int text, const double *x, long n) {
  if (!text) return fwrite(x, sizeof *x, (size_t)n, f) == (size_t)n ? 0 : -1;
  for (long k = 0; k < n; k++)
    if (fprintf(f, k ? " %.17g" : "%.17g", x[k]) < 0) return -1;
  return fputc('\n', f) == EOF ? -1 : 0;
}

/* Everything the JSON file needs, collected while the rows are written. */
typedef struct {
  long cap_atoms, n_atoms;
  int *row_frame, *row_atom, *row_species;  /* pool none: per row */
  long n_frames, cap_frames;
  int *frame_atoms;
  long *frame_line;
  int *frame_file;
  char (*frame_ctype)[64];
} rowinfo;

static int note_frame(rowinfo *ri, int file, const tnace_frame *fr) {
  if (ri->n_frames == ri->cap_frames) {
    const long c = ri->cap_frames ? 2 * ri->cap_frames : 256;
    int *a = realloc(ri->frame_atoms, (size_t)c * sizeof *a), *fi = a ? realloc(ri->frame_file, (size_t)c * sizeof *fi) : NULL;
    if (a) ri->frame_atoms = a;
    if (fi) ri->frame_file = fi;
    long *l = fi ? realloc(ri->frame_line, (size_t)c * sizeof *l) : NULL;
    if (l) ri->frame_line = l;
    char(*ct)[64] = l ? realloc(ri->frame_ctype, (size_t)c * sizeof *ct) : NULL;
    if (!ct) return TNACE_ERR_NOMEM;
    ri->frame_ctype = ct;
    ri->cap_frames = c;
  }
  ri->frame_atoms[ri->n_frames] = fr->n_atoms;
  ri->frame_file[ri->n_frames] = file;
  ri->frame_line[ri->n_frames] = fr->line;
  snprintf(ri->frame_ctype[ri->n_frames], 64, "%s", fr->config_type);
  ri->n_frames++;
  return 0;
}

static int note_atom(rowinfo *ri, int frame, int atom, int species) {
  if (ri->n_atoms == ri->cap_atoms) {
    const long c = ri->cap_atoms ? 2 * ri->cap_atoms : 4096;
    int *a = realloc(ri->row_frame, (size_t)c * sizeof *a);
    if (a) ri->row_frame = a;
    int *b = a ? realloc(ri->row_atom, (size_t)c * sizeof *b) : NULL;
    if (b) ri->row_atom = b;
    int *s = b ? realloc(ri->row_species, (size_t)c * sizeof *s) : NULL;
    if (!s) return TNACE_ERR_NOMEM;
    ri->row_species = s;
    ri->cap_atoms = c;
  }
  ri->row_frame[ri->n_atoms] = frame;
  ri->row_atom[ri->n_atoms] = atom;
  ri->row_species[ri->n_atoms] = species;
  ri->n_atoms++;
  return 0;
}

static void rowinfo_free(rowinfo *ri) {
  free(ri->row_frame); free(ri->row_atom); free(ri->row_species);
  free(ri->frame_atoms); free(ri->frame_line); free(ri->frame_file); free(ri->frame_ctype);
}

static void json_ints(FILE *f, const char *key, const int *v, long n) {
  fprintf(f, ",\n  \"%s\": [", key);
  for (long k = 0; k < n; k++) fprintf(f, k ? ",%d" : "%d", v[k]);
  fputc(']', f);
}

static int write_json(const char *path, const options *o, const tnace_potential *pot, long D, long cols,
                      const rowinfo *ri) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  static const char *pools[] = {"none", "mean", "species"};
  fprintf(f, "{\n  \"generator\": \"tnace-desc %s\",\n  \"nu\": %d,\n  \"pool\": \"%s\",\n", TNACE_VERSION_STRING, o->nu,
          pools[o->pool]);
  fprintf(f, "  \"basis\": {\"source\": ");
  tnace_json_write_string(f, o->potential ? o->potential : o->config ? o->config : "command line");
  fprintf(f, ", \"cutoff_max\": %.17g, \"nmax\": %d, \"lmax\": %d, \"lambda\": %.17g},\n", pot->rcut_max, pot->nmax,
          pot->lmax, pot->lambda);
  fprintf(f, "  \"elements\": [");
  for (int e = 0; e < pot->n_el; e++) fprintf(f, e ? ", \"%s\"" : "\"%s\"", pot->elem[e]);
  fprintf(f, "],\n  \"shape\": [%ld, %ld],\n", o->pool == POOL_NONE ? ri->n_atoms : ri->n_frames, cols);
  fprintf(f, "  \"column_fields\": [\"a1\", \"n1\", \"a2\", \"n2\", \"l\", \"centre\"],\n  \"columns\": [");
  for (long c = 0; c < cols; c++) {
    int lab[5];
    tnace_descriptor_label(pot, o->nu, c % D, lab);
    fprintf(f, "%s[%d,%d,%d,%d,%d,%ld]", c ? "," : "", lab[0], lab[1], lab[2], lab[3], lab[4],
            o->pool == POOL_SPECIES ? c / D : -1L);
  }
  fprintf(f, "],\n  \"files\": [");
  for (int k = 0; k < o->n_data; k++) {
    if (k) fputs(", ", f);
    tnace_json_write_string(f, o->data[k]);
  }
  fputc(']', f);
  json_ints(f, "frame_file", ri->frame_file, ri->n_frames);
  json_ints(f, "frame_atoms", ri->frame_atoms, ri->n_frames);
  fprintf(f, ",\n  \"frame_line\": [");
  for (long k = 0; k < ri->n_frames; k++) fprintf(f, k ? ",%ld" : "%ld", ri->frame_line[k]);
  fprintf(f, "],\n  \"frame_config_type\": [");
  for (long k = 0; k < ri->n_frames; k++) {
    if (k) fputc(',', f);
    tnace_json_write_string(f, ri->frame_ctype[k]);
  }
  fputc(']', f);
  if (o->pool == POOL_NONE) {
    json_ints(f, "row_frame", ri->row_frame, ri->n_atoms);
    json_ints(f, "row_atom", ri->row_atom, ri->n_atoms);
    json_ints(f, "row_species", ri->row_species, ri->n_atoms);
  }
  fputs("\n}\n", f);
  const int bad = ferror(f);
  return (fclose(f) || bad) ? -1 : 0;
}

/* Descriptors of one structure: per-atom rows written at once (pool none), or summed into pooled[cols]. */
static int structure_rows(const options *o, const tnace_potential *pot, tnace_workspace *ws, const tnace_struct *s,
                          long D, double *B, double *pooled, FILE *out, rowinfo *ri, char *err, size_t errlen) {
  if (tnace_workspace_reserve(ws, s->max_neigh)) return TNACE_ERR_NOMEM;
  for (int i = 0; i < s->n; i++) {
    const int k0 = s->off[i];
    const int rc = tnace_atom_descriptor(pot, ws, s->species[i], s->off[i + 1] - k0,
                                         (const double(*)[3])s->d + k0, s->nsp + k0, o->nu, B);
    if (rc) {
      snprintf(err, errlen, "%s: atom %d (%s): %s", s->source, i + 1, pot->elem[s->species[i]],
               tnace_workspace_error(ws));
      return rc;
    }
    if (o->pool == POOL_NONE) {
      if (write_row(out, o->text, B, D) || note_atom(ri, (int)ri->n_frames - 1, i, s->species[i])) {
        snprintf(err, errlen, "%s: cannot write", o->output);
        return TNACE_ERR_IO;
      }
      continue;
    }
    double *dst = pooled + (o->pool == POOL_SPECIES ? (long)s->species[i] * D : 0);
    for (long k = 0; k < D; k++) dst[k] += B[k] / s->n;
  }
  return 0;
}

/* Stream every frame of every file: map symbols, build the neighbour list, write its rows. */
static int run(const options *o, const tnace_potential *pot, FILE *out, rowinfo *ri, long *cols_out, char *err,
               size_t errlen) {
  const long D = tnace_descriptor_size(pot, o->nu);
  const long cols = o->pool == POOL_SPECIES ? D * pot->n_el : D;
  *cols_out = cols;
  double *B = malloc((size_t)D * sizeof *B), *pooled = malloc((size_t)cols * sizeof *pooled);
  int rc = 0;
  tnace_workspace *ws = tnace_workspace_new(pot, 64);
  if (!B || !pooled || !ws) rc = TNACE_ERR_NOMEM;
  for (int k = 0; !rc && k < o->n_data; k++) {
    tnace_xyz_reader *r = tnace_xyz_open(o->data[k], NULL, err, errlen);
    if (!r) { rc = TNACE_ERR_IO; break; }
    tnace_frame fr;
    memset(&fr, 0, sizeof fr);
    int got;
    while (!rc && (got = tnace_xyz_next(r, &fr, err, errlen)) == 1) {
      tnace_struct s;
      rc = note_frame(ri, k, &fr);
      if (!rc) rc = tnace_struct_from_frame(&s, &fr, o->data[k], pot->n_el, (const char(*)[4])pot->elem, pot->rcut_max,
                                            err, errlen);
      if (!rc) {
        memset(pooled, 0, (size_t)cols * sizeof *pooled);
        rc = structure_rows(o, pot, ws, &s, D, B, pooled, out, ri, err, errlen);
        if (!rc && o->pool != POOL_NONE && write_row(out, o->text, pooled, cols)) {
          snprintf(err, errlen, "%s: cannot write", o->output);
          rc = TNACE_ERR_IO;
        }
        tnace_struct_free(&s);
      }
      tnace_frame_free(&fr);
    }
    if (!rc && got < 0) rc = got;
    tnace_xyz_close(r);
  }
  tnace_workspace_free(ws);
  free(B); free(pooled);
  return rc;
}

int main(int argc, char **argv) {
  options o;
  const int st = parse_args(argc, argv, &o);
  if (st >= 0) { free(o.data); return st; }
  char err[1024] = "";
  tnace_potential *pot = NULL;
  rowinfo ri;
  memset(&ri, 0, sizeof ri);
  int status = 1;
  long cols = 0;
  FILE *out = NULL;
  if (make_basis(&o, &pot, err, sizeof err)) {
    fprintf(stderr, PROG ": %s\n", err[0] ? err : "cannot make the basis");
    goto done;
  }
  out = fopen(o.output, o.text ? "w" : "wb");
  if (!out || (!o.text && write_npy_header(out, 0, 0))) {
    fprintf(stderr, PROG ": %s: cannot write: %s\n", o.output, strerror(errno));
    goto done;
  }
  if (run(&o, pot, out, &ri, &cols, err, sizeof err)) {
    fprintf(stderr, PROG ": %s\n", err);
    goto done;
  }
  const long rows = o.pool == POOL_NONE ? ri.n_atoms : ri.n_frames;
  if ((!o.text && write_npy_header(out, rows, cols)) || fclose(out)) {
    out = NULL;
    fprintf(stderr, PROG ": %s: cannot write\n", o.output);
    goto done;
  }
  out = NULL;
  char jpath[4096];
  snprintf(jpath, sizeof jpath, "%.*s.json", (int)(strlen(o.output) - 4), o.output);
  if (write_json(jpath, &o, pot, tnace_descriptor_size(pot, o.nu), cols, &ri)) {
    fprintf(stderr, PROG ": %s: cannot write\n", jpath);
    goto done;
  }
  fprintf(stderr, PROG ": %ld rows x %ld columns (nu %d, pool %s) -> %s, %s\n", rows, cols, o.nu,
          o.pool == POOL_NONE ? "none" : o.pool == POOL_MEAN ? "mean" : "species", o.output, jpath);
  status = 0;
done:
  if (out) fclose(out);
  if (status && o.output) remove(o.output);
  rowinfo_free(&ri);
  tnace_potential_free(pot);
  free(o.data);
  return status;
}
