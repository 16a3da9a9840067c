/* test_extxyz.c — the extended-XYZ reader on small files in tests/data/extxyz/ (ASE-style headers, extra columns,
 * Voigt stress, virial, quoting, booleans, alternative key names, weights) and on every error case; datasets
 * (dataset.h) built from frames: an isolated atom without any pair, and failed neighbour lists.
 *
 * Extra modes (used by tests/extxyz_ase.cmake and for benchmarks):
 *   test_extxyz --dump FILE K     print the first K frames (K = 0: all) in the format of tools/extxyz_dump.py
 *   test_extxyz --bench FILE RC   time reading FILE and building all its neighbour lists with cutoff RC
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataset.h"
#include "extxyz.h"
#include "nlist.h"
#include "testutil.h"
#include "util.h"

#ifndef TNACE_SOURCE_DIR
#define TNACE_SOURCE_DIR "."
#endif
#define DATA TNACE_SOURCE_DIR "/tests/data/extxyz/"

/* ---- --dump ---------------------------------------------------------------------------------- */

static void dump_frame(FILE *o, const tnace_frame *f) {
  fprintf(o, "frame %ld\nnatoms %d\n", f->index, f->n_atoms);
  if (f->has_energy) fprintf(o, "energy %.17g\n", f->energy);
  else fprintf(o, "energy none\n");
  fprintf(o, "cell");
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) fprintf(o, " %.17g", f->cell[i][j]);
  fprintf(o, "\npbc %d %d %d\n", f->pbc[0] != 0, f->pbc[1] != 0, f->pbc[2] != 0);
  fprintf(o, "config_type %s\n", f->config_type[0] ? f->config_type : "-");
  if (f->has_stress) {
    fprintf(o, "stress");
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 3; j++) fprintf(o, " %.17g", f->stress[i][j]);
    fprintf(o, "\n");
  } else {
    fprintf(o, "stress none\n");
  }
  for (int a = 0; a < f->n_atoms; a++) {
    fprintf(o, "atom %s %.17g %.17g %.17g", f->symbol[a], f->pos[a][0], f->pos[a][1], f->pos[a][2]);
    if (f->has_forces) fprintf(o, " %.17g %.17g %.17g\n", f->forces[a][0], f->forces[a][1], f->forces[a][2]);
    else fprintf(o, " none\n");
  }
}

static int dump_main(const char *path, long k) {
  char err[512];
  tnace_xyz_reader *r = tnace_xyz_open(path, NULL, err, sizeof err);
  if (!r) { fprintf(stderr, "%s\n", err); return 2; }
  tnace_frame f;
  int rc = 0;
  for (long q = 0; k <= 0 || q < k; q++) {
    int g = tnace_xyz_next(r, &f, err, sizeof err);
    if (g == 0) break;
    if (g < 0) { fprintf(stderr, "%s\n", err); rc = 1; break; }
    dump_frame(stdout, &f);
    tnace_frame_free(&f);
  }
  tnace_xyz_close(r);
  return rc;
}

/* ---- --bench --------------------------------------------------------------------------------- */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bench_main(const char *path, double rc) {
  char err[512];
  tnace_frame *fr;
  int n, nskip;
  double t0 = now();
  int r = tnace_xyz_read_all(path, NULL, 0, &fr, &n, &nskip, err, sizeof err);
  double t1 = now();
  if (r) { fprintf(stderr, "%s\n", err); return 1; }
  long atoms = 0, pairs = 0;
  int maxn = 0;
  tnace_nlist nl = {0};
  double t2 = now();
  for (int q = 0; q < n; q++) {
    atoms += fr[q].n_atoms;
    if (tnace_nlist_build(&nl, fr[q].n_atoms, (const double (*)[3])fr[q].pos, (const double (*)[3])fr[q].cell,
                          fr[q].pbc, rc, err, sizeof err)) {
      fprintf(stderr, "frame %d (line %ld): %s\n", q, fr[q].line, err);
      return 1;
    }
    pairs += nl.offset[nl.n];
    if (nl.max_neigh > maxn) maxn = nl.max_neigh;
  }
  double t3 = now();
  printf("%s: %d frames, %ld atoms; read %.3f s; neighbour lists (rc %.2f Å) %.3f s, %ld pairs (%.1f per atom, "
         "max %d)\n",
         path, n, atoms, t1 - t0, rc, t3 - t2, pairs, (double)pairs / (double)atoms, maxn);
  tnace_nlist_free(&nl);
  tnace_xyz_free_all(fr, n);
  return 0;
}

/* ---- unit tests ------------------------------------------------------------------------------ */

/* Read a file expecting an error from the first frame; check code, line and key in the message. */
static void expect_error(const char *file, int code, long line, const char *needle) {
  char path[1024], err[512], want[1100];
  snprintf(path, sizeof path, DATA "%s", file);
  tnace_frame *fr = (tnace_frame *)1;
  int n = -1;
  int r = tnace_xyz_read_all(path, NULL, 0, &fr, &n, NULL, err, sizeof err);
  CHECK(r == code, "%s: code %d, expected %d (%s)", file, r, code, err);
  CHECK(fr == NULL && n == 0, "%s: outputs not cleared on error", file);
  if (line > 0) snprintf(want, sizeof want, "%s:%ld: ", path, line);
  else snprintf(want, sizeof want, "%s: ", path);
  CHECK(strncmp(err, want, strlen(want)) == 0, "%s: message '%s' does not start with '%s'", file, err, want);
  if (needle) CHECK(strstr(err, needle) != NULL, "%s: message '%s' lacks '%s'", file, err, needle);
}

static void test_ase_style(const char *file) {
  char path[1024], err[512];
  snprintf(path, sizeof path, DATA "%s", file);
  tnace_frame *fr = NULL;
  int n = 0, nskip = -1;
  /* the file's synthetic stresses (up to 3 eV/Å^3) exceed the plausibility bound: declared units (test_units) */
  const tnace_xyz_keys declared = {.units_declared = 1};
  int r = tnace_xyz_read_all(path, &declared, 0, &fr, &n, &nskip, err, sizeof err);
  CHECK(r == 0, "%s: %s", file, err);
  CHECK(n == 5 && nskip == 0, "%s: %d frames, %d skipped", file, n, nskip);
  if (r || n != 5) { tnace_xyz_free_all(fr, n); return; }
  const tnace_frame *f = &fr[0];
  /* frame 1: ASE style, extra columns Z, masses, magmoms, fixed; 9-component stress; weights */
  CHECK(f->n_atoms == 2 && f->line == 1 && f->index == 0, "f1 n %d line %ld", f->n_atoms, f->line);
  CHECK(strcmp(f->symbol[0], "Cu") == 0 && f->number[1] == 29, "f1 symbols");
  CHECK(f->has_cell && f->cell[0][0] == 3.6 && f->cell[1][1] == 3.6 && f->cell[2][2] == 3.6 && f->cell[0][1] == 0, "f1 cell");
  CHECK(f->pbc[0] && f->pbc[1] && f->pbc[2], "f1 pbc");
  CHECK(f->has_energy && f->energy == -7.25, "f1 energy %g", f->energy);
  CHECK(f->has_forces && f->forces[0][0] == 0.1 && f->forces[0][1] == -0.2 && f->forces[1][2] == -0.3, "f1 forces");
  CHECK(f->pos[1][0] == 1.8 && f->pos[1][1] == 1.8 && f->pos[1][2] == 0.0, "f1 pos");
  CHECK(f->has_stress && !f->stress_from_virial && f->stress[0][0] == 0.01 && f->stress[1][1] == 0.02 &&
            f->stress[2][2] == 0.03 && f->stress[0][1] == 0.002 && f->stress[1][2] == 0.004 && f->stress[0][2] == 0.003 &&
            f->stress[2][0] == 0.003,
        "f1 stress");
  CHECK(strcmp(f->config_type, "bulk fcc") == 0, "f1 config_type '%s'", f->config_type);
  CHECK(f->weight == 2.5 && f->energy_weight == 1 && f->forces_weight == 1 && f->stress_weight == 1, "f1 weights");
  CHECK(tnace_frame_info(f, "converged") && strcmp(tnace_frame_info(f, "converged"), "T") == 0, "f1 converged");
  CHECK(tnace_frame_info(f, "relaxed") && strcmp(tnace_frame_info(f, "relaxed"), "False") == 0, "f1 relaxed");
  CHECK(tnace_frame_info(f, "free_energy") && strcmp(tnace_frame_info(f, "free_energy"), "-7.3") == 0, "f1 free_energy");
  CHECK(tnace_frame_info(f, "nope") == NULL, "f1 absent key");
  CHECK(fabs(tnace_frame_volume(f) - 3.6 * 3.6 * 3.6) < 1e-12, "f1 volume");
  /* frame 2: REF_ names, forces column first, Fortran exponents, 6-component Voigt stress, T T F, weights */
  f = &fr[1];
  CHECK(f->n_atoms == 3 && f->line == 5 && f->index == 1, "f2 n %d line %ld", f->n_atoms, f->line);
  CHECK(f->has_energy && f->energy == -15.0, "f2 REF_energy %g", f->energy);
  CHECK(f->has_forces && f->forces[0][0] == 1.0e-3 && f->forces[0][1] == 2.0e-3 && f->forces[0][2] == -3.0e-3 &&
            f->forces[1][1] == 2.5 && f->forces[2][2] == 0.5,
        "f2 REF_forces");
  CHECK(strcmp(f->symbol[2], "Ni") == 0 && f->pos[2][0] == 1.0 && f->pos[2][1] == 2.0 && f->pos[2][2] == 7.5, "f2 pos");
  CHECK(f->pbc[0] == 1 && f->pbc[1] == 1 && f->pbc[2] == 0, "f2 pbc");
  CHECK(f->cell[1][0] == 1.0 && f->cell[1][1] == 4.5 && f->cell[2][0] == 0.5 && f->cell[2][2] == 12.0, "f2 cell rows");
  /* Voigt xx yy zz yz xz xy = 1 2 3 0.4 0.5 0.6 */
  CHECK(f->has_stress && f->stress[0][0] == 1 && f->stress[1][1] == 2 && f->stress[2][2] == 3 && f->stress[1][2] == 0.4 &&
            f->stress[2][1] == 0.4 && f->stress[0][2] == 0.5 && f->stress[2][0] == 0.5 && f->stress[0][1] == 0.6 &&
            f->stress[1][0] == 0.6,
        "f2 Voigt stress");
  CHECK(f->weight == 1 && f->energy_weight == 0.5 && f->forces_weight == 3 && f->stress_weight == 0, "f2 weights");
  CHECK(f->config_type[0] == 0, "f2 config_type");
  CHECK(tnace_frame_info(f, "is_surface") && strcmp(tnace_frame_info(f, "is_surface"), "T") == 0, "f2 bare key");
  /* frame 3: braces, spaces around '=', escaped quotes, [T, T, T], virial → stress, dft_energy, case */
  f = &fr[2];
  CHECK(f->n_atoms == 2 && f->line == 10, "f3 line %ld", f->line);
  CHECK(f->has_energy && f->energy == -3.0, "f3 dft_energy %g", f->energy);
  CHECK(f->has_cell && f->cell[2][2] == 2.0, "f3 cell");
  CHECK(f->has_stress && f->stress_from_virial && f->stress[0][0] == 1.0 && f->stress[1][1] == 2.0 &&
            f->stress[2][2] == 3.0 && f->stress[0][1] == 0,
        "f3 stress from virial %g %g %g", f->stress[0][0], f->stress[1][1], f->stress[2][2]);
  CHECK(strcmp(f->config_type, "a \"quoted\" name") == 0, "f3 config_type '%s'", f->config_type);
  CHECK(tnace_frame_info(f, "comment") && strcmp(tnace_frame_info(f, "comment"), "hello world") == 0, "f3 comment");
  CHECK(strcmp(f->symbol[0], "Cu") == 0 && strcmp(f->symbol[1], "Al") == 0 && f->number[1] == 13, "f3 symbol case");
  CHECK(!f->has_forces && f->forces == NULL, "f3 no forces");
  CHECK(f->pbc[0] && f->pbc[1] && f->pbc[2], "f3 pbc list");
  /* frame 4: nothing but species and positions */
  f = &fr[3];
  CHECK(f->line == 14 && !f->has_energy && !f->has_forces && !f->has_stress && !f->has_cell, "f4 has_*");
  CHECK(!f->pbc[0] && !f->pbc[1] && !f->pbc[2], "f4 pbc default F without Lattice");
  CHECK(tnace_frame_info(f, "note") && strcmp(tnace_frame_info(f, "note"), "no energy here") == 0, "f4 note");
  /* frame 5: Z column instead of species; stress wins over virial */
  f = &fr[4];
  CHECK(f->line == 17 && strcmp(f->symbol[0], "Fe") == 0 && f->number[0] == 26, "f5 Z column");
  CHECK(f->has_energy && f->energy == -1e-3, "f5 energy");
  CHECK(f->has_stress && !f->stress_from_virial && f->stress[0][1] == 4 && f->stress[1][0] == 2 && f->stress[0][2] == 7,
        "f5 9-component stress, ASE (column-major) order");
  tnace_xyz_free_all(fr, n);
}

static void test_keys(void) {
  char err[512];
  tnace_frame *fr = NULL;
  int n = 0;
  /* defaults: energy before REF_energy, forces before REF_forces, stress before REF_virial (the file's synthetic
   * stress of 1 eV/Å^3 exceeds the plausibility bound: units declared, test_units covers the check) */
  const tnace_xyz_keys declared = {.units_declared = 1};
  int r = tnace_xyz_read_all(DATA "keys.xyz", &declared, 0, &fr, &n, NULL, err, sizeof err);
  CHECK(r == 0 && n == 1, "keys.xyz: %s", err);
  if (r == 0) {
    CHECK(fr[0].energy == -1.0 && fr[0].forces[1][0] == 4 && fr[0].stress[2][2] == 1, "default keys");
    CHECK(strcmp(fr[0].config_type, "calc") == 0 && strcmp(fr[0].symbol[1], "W") == 0, "default config_type");
    tnace_xyz_free_all(fr, n);
  }
  /* explicit names, with alternatives */
  tnace_xyz_keys k = {.energy = "REF_energy", .forces = "REF_forces, forces", .stress = "none_such",
                      .virial = "REF_virial", .config_type = "REF_config_type", .units_declared = 1};
  r = tnace_xyz_read_all(DATA "keys.xyz", &k, 0, &fr, &n, NULL, err, sizeof err);
  CHECK(r == 0 && n == 1, "keys.xyz custom: %s", err);
  if (r == 0) {
    CHECK(fr[0].energy == -2.0, "custom energy %g", fr[0].energy);
    CHECK(fr[0].forces[0][0] == 10 && fr[0].forces[1][2] == 60, "custom forces");
    /* virial diag(4, 8, 16) over V = 64 → stress −(1/16, 1/8, 1/4) */
    CHECK(fr[0].stress_from_virial && fr[0].stress[0][0] == -0.0625 && fr[0].stress[1][1] == -0.125 &&
              fr[0].stress[2][2] == -0.25,
          "custom virial %g", fr[0].stress[0][0]);
    CHECK(strcmp(fr[0].config_type, "dft") == 0, "custom config_type");
    tnace_xyz_free_all(fr, n);
  }
  tnace_xyz_keys k2 = {.energy = "missing_energy", .forces = "missing_forces", .units_declared = 1};
  r = tnace_xyz_read_all(DATA "keys.xyz", &k2, 0, &fr, &n, NULL, err, sizeof err);
  CHECK(r == 0 && n == 1 && !fr[0].has_energy && !fr[0].has_forces, "absent custom keys: %s", err);
  if (r == 0) tnace_xyz_free_all(fr, n);
}

static void test_skip_bad(void) {
  const char *path = DATA "skip_bad.xyz";
  char err[512];
  /* streaming: every error names its line; the reader resumes at the next frame */
  tnace_xyz_reader *r = tnace_xyz_open(path, NULL, err, sizeof err);
  CHECK(r != NULL, "%s", err);
  if (!r) return;
  static const struct {
    int code;
    long line;
    const char *what;
  } expect[] = {{1, 1, "good1"},
                {TNACE_ERR_PARSE, 7, "'pos'"},
                {1, 8, "good2"},
                {TNACE_ERR_PARSE, 11, "atom count"},
                {1, 14, "good3"},
                {TNACE_ERR_PARSE, 20, "declares 3 atoms"},
                {1, 20, "good4"},
                {TNACE_ERR_VALUE, 24, "'energy'"},
                {1, 27, "good5"},
                {TNACE_ERR_PARSE, 30, "truncated"},
                {0, 0, NULL}};
  for (int q = 0; q < (int)(sizeof expect / sizeof expect[0]); q++) {
    tnace_frame f;
    int g = tnace_xyz_next(r, &f, err, sizeof err);
    CHECK(g == expect[q].code, "skip_bad step %d: got %d expected %d (%s)", q, g, expect[q].code, err);
    if (g == 1) {
      CHECK(f.line == expect[q].line && strcmp(f.config_type, expect[q].what) == 0, "step %d: line %ld '%s'", q, f.line,
            f.config_type);
      tnace_frame_free(&f);
    } else if (g < 0) {
      char want[1100];
      snprintf(want, sizeof want, "%s:%ld: ", path, expect[q].line);
      CHECK(strncmp(err, want, strlen(want)) == 0 && strstr(err, expect[q].what), "step %d: '%s' (want '%s' ... '%s')",
            q, err, want, expect[q].what);
    }
  }
  tnace_xyz_close(r);
  /* read_all */
  tnace_frame *fr = NULL;
  int n = 0, nskip = 0;
  int rc = tnace_xyz_read_all(path, NULL, 1, &fr, &n, &nskip, err, sizeof err);
  CHECK(rc == 0 && n == 5 && nskip == 5, "skip_bad: rc %d, %d frames, %d skipped", rc, n, nskip);
  CHECK(strstr(err, "skip_bad.xyz:7:") != NULL, "skip_bad: first error kept: '%s'", err);
  if (rc == 0) {
    static const char *names[5] = {"good1", "good2", "good3", "good4", "good5"};
    for (int q = 0; q < n && q < 5; q++) CHECK(strcmp(fr[q].config_type, names[q]) == 0, "frame %d '%s'", q, fr[q].config_type);
    CHECK(n == 5 && fr[3].number[0] == 2 && fr[4].number[0] == 3 && fr[4].energy == -8.0, "skip_bad contents");
    tnace_xyz_free_all(fr, n);
  }
  rc = tnace_xyz_read_all(path, NULL, 0, &fr, &n, &nskip, err, sizeof err);
  CHECK(rc == TNACE_ERR_PARSE && fr == NULL && n == 0 && strstr(err, "skip_bad.xyz:7:"), "strict: %d '%s'", rc, err);
  /* truncated file: one good frame, then the truncated one counts as skipped */
  rc = tnace_xyz_read_all(DATA "truncated.xyz", NULL, 1, &fr, &n, &nskip, err, sizeof err);
  CHECK(rc == 0 && n == 1 && nskip == 1, "truncated skip: %d %d %d '%s'", rc, n, nskip, err);
  if (rc == 0) tnace_xyz_free_all(fr, n);
  /* all frames bad → an error even with skip_bad */
  rc = tnace_xyz_read_all(DATA "bad_number.xyz", NULL, 1, &fr, &n, &nskip, err, sizeof err);
  CHECK(rc == TNACE_ERR_PARSE && fr == NULL && strstr(err, "no valid frames"), "all bad: %d '%s'", rc, err);
}

/* Numbers must be bit-identical to strtod (and thereby to Python's float()). */
static void test_numbers(void) {
  const char *path = "test_extxyz_numbers.tmp.xyz";
  FILE *o = fopen(path, "w");
  CHECK(o != NULL, "cannot write %s", path);
  if (!o) return;
  enum { N = 4000 };
  static char txt[N][3][64];
  unsigned long long st = 12345;
  static const char *fmts[] = {"%.17g", "%.8f", "%.10e", "%g", "%.3E", "%.20f", "%+.15e", "%.0f", "%.12g", "%.25e"};
  for (int i = 0; i < N; i++)
    for (int k = 0; k < 3; k++) {
      double mag = pow(10.0, -320.0 + 620.0 * test_rand(&st));
      if (i % 3 == 0) mag = pow(10.0, -8 + 12 * test_rand(&st));
      double v = (test_rand(&st) - 0.5) * mag;
      if (i % 97 == 0) v = 0.0;
      snprintf(txt[i][k], sizeof txt[i][k], fmts[(i + k) % 10], v);
      if (i % 7 == 0) { /* Fortran exponent */
        char *e = strpbrk(txt[i][k], "eE");
        if (e) *e = (i % 2) ? 'D' : 'd';
      }
    }
  strcpy(txt[1][0], "1.0000000000000000000000000000001");
  strcpy(txt[1][1], "123456789012345678901234567890");
  strcpy(txt[1][2], "4.9406564584124654e-324");
  strcpy(txt[2][0], ".5");
  strcpy(txt[2][1], "-0.");
  strcpy(txt[2][2], "9007199254740993");
  fprintf(o, "%d\nProperties=species:S:1:pos:R:3\n", N);
  for (int i = 0; i < N; i++) fprintf(o, "H %s %s %s\n", txt[i][0], txt[i][1], txt[i][2]);
  fclose(o);
  char err[512];
  tnace_frame *fr = NULL;
  int n = 0;
  int r = tnace_xyz_read_all(path, NULL, 0, &fr, &n, NULL, err, sizeof err);
  CHECK(r == 0 && n == 1, "numbers: %s", err);
  int bad = 0;
  if (r == 0)
    for (int i = 0; i < N && bad < 5; i++)
      for (int k = 0; k < 3; k++) {
        char b[64];
        strcpy(b, txt[i][k]);
        for (char *p = b; *p; p++)
          if (*p == 'd' || *p == 'D') *p = 'e';
        double want = strtod(b, NULL), got = fr[0].pos[i][k];
        if (memcmp(&want, &got, sizeof want) != 0) {
          bad++;
          CHECK(0, "number '%s': got %.17g, strtod %.17g", txt[i][k], got, want);
        }
      }
  if (r == 0) tnace_xyz_free_all(fr, n);
  remove(path);
}

/* A frame of 0 atoms (ASE writes one for an empty Atoms) is skipped and counted, not an error; a negative
 * count still is. */
/* One frame read from text with keys k: status, the frame in *fr (free it when status is 1), message in err. */
static int read_one(const char *text, const tnace_xyz_keys *k, tnace_frame *fr, char *err, size_t errlen) {
  char path[] = "/tmp/tnace_test_units_XXXXXX";
  const int fd = mkstemp(path);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) return -100;
  fputs(text, f);
  fclose(f);
  tnace_xyz_reader *r = tnace_xyz_open(path, k, err, errlen);
  const int st = r ? tnace_xyz_next(r, fr, err, errlen) : -101;
  tnace_xyz_close(r);
  remove(path);
  return st;
}

/* Units and sign of the stress, and the plausibility checks (extxyz.h): FitSNAP's bar with the pressure sign
 * must not pass as eV/Å^3; declared, it is converted exactly. */
static void test_units(void) {
  const char *bar = "1\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3 energy=-3.5 "
                    "stress=\"16021.766208 0 0 0 -32043.532416 0 0 0 0\" pbc=\"T T T\"\nCu 0 0 0\n";
  char err[512];
  tnace_frame fr;
  int st = read_one(bar, NULL, &fr, err, sizeof err);
  CHECK(st == TNACE_ERR_VALUE && strstr(err, ":2: key 'stress'") && strstr(err, "implausible") &&
            strstr(err, "stress_sign: pressure"),
        "bar read as eV/A^3 refused: %d %s", st, err);
  if (st == 1) tnace_frame_free(&fr);
  tnace_xyz_keys k = {.stress_unit = TNACE_STRESS_UNIT_BAR, .stress_sign = -1, .units_declared = 1};
  st = read_one(bar, &k, &fr, err, sizeof err);
  CHECK(st == 1, "declared bar, pressure sign: %s", err);
  if (st == 1) {
    /* 16021.766208 bar = 1.6021766208 GPa = 0.01 eV/Å^3; the pressure sign flips it */
    CHECK(fabs(fr.stress[0][0] + 0.01) < 1e-15 && fabs(fr.stress[1][1] - 0.02) < 1e-15 && fr.stress[2][2] == 0,
          "bar -> eV/A^3 ASE sign: %.17g %.17g", fr.stress[0][0], fr.stress[1][1]);
    tnace_frame_free(&fr);
  }
  double u;
  int sg;
  CHECK(tnace_stress_unit_parse("GPa", &u) == 0 && fabs(u * 160.21766208 - 1) < 1e-15 &&
            tnace_stress_unit_parse("kbar", &u) == 0 && fabs(u * 1602.1766208 - 1) < 1e-15 &&
            tnace_stress_unit_parse("eV/A^3", &u) == 0 && u == 1 && tnace_stress_unit_parse("psi", &u) == -1 &&
            tnace_stress_sign_parse("pressure", &sg) == 0 && sg == -1 && tnace_stress_sign_parse("up", &sg) == -1,
        "unit and sign names");
  /* a virial (eV) that is really in bar·Å^3-like units: implausible too */
  const char *vir = "1\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3 energy=-3.5 "
                    "virial=\"1e5 0 0 0 1e5 0 0 0 1e5\" pbc=\"T T T\"\nCu 0 0 0\n";
  st = read_one(vir, NULL, &fr, err, sizeof err);
  CHECK(st == TNACE_ERR_VALUE && strstr(err, "key 'virial'") && strstr(err, "a virial in eV"), "virial: %s", err);
  if (st == 1) tnace_frame_free(&fr);
  /* energies: a 2-atom frame at -450 eV/atom (Hartree-scale or a wrong key) is refused unless declared */
  const char *big = "2\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3 energy=-900 pbc=\"T T T\"\n"
                    "Cu 0 0 0\nCu 2 0 0\n";
  st = read_one(big, NULL, &fr, err, sizeof err);
  CHECK(st == TNACE_ERR_VALUE && strstr(err, ":2: key 'energy'") && strstr(err, "-450 eV per atom"),
        "energy per atom: %s", err);
  if (st == 1) tnace_frame_free(&fr);
  tnace_xyz_keys ke = {.units_declared = 1};
  st = read_one(big, &ke, &fr, err, sizeof err);
  CHECK(st == 1 && fr.energy == -900, "declared energies accepted: %s", err);
  if (st == 1) tnace_frame_free(&fr);
  /* per-atom energies (a formation energy per atom, a dataset's "energy per atom"): declared, multiplied by the
   * atom count; in meV scaled to eV; the unit names */
  const char *pa = "2\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3 formation_energy=-0.125 "
                   "pbc=\"T T T\"\nCu 0 0 0\nCu 2 0 0\n";
  tnace_xyz_keys kp = {.energy = "formation_energy", .units_declared = 1};
  CHECK(tnace_energy_unit_parse("eV/atom", &kp.energy_unit, &kp.energy_per_atom) == 0 && kp.energy_per_atom == 1,
        "eV/atom");
  st = read_one(pa, &kp, &fr, err, sizeof err);
  CHECK(st == 1 && fr.energy == -0.25, "eV/atom x 2 atoms: %.17g %s", fr.energy, err);
  if (st == 1) tnace_frame_free(&fr);
  CHECK(tnace_energy_unit_parse("meV/atom", &kp.energy_unit, &kp.energy_per_atom) == 0, "meV/atom");
  st = read_one(pa, &kp, &fr, err, sizeof err);
  CHECK(st == 1 && fabs(fr.energy + 0.25e-3) < 1e-18, "meV/atom: %.17g", fr.energy);
  if (st == 1) tnace_frame_free(&fr);
  /* per counted species (a property per cation): only those atoms count; a frame without any is an error */
  tnace_xyz_keys kc = {.energy = "formation_energy", .energy_per_atom = 1, .count_species = "Ag, Cu", .units_declared = 1};
  const char *mixed = "3\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3 formation_energy=-0.5 "
                      "pbc=\"T T T\"\nCu 0 0 0\nO 2 0 0\nAg 0 2 0\n";
  st = read_one(mixed, &kc, &fr, err, sizeof err);
  CHECK(st == 1 && fr.n_count == 2 && fr.energy == -1.0, "2 counted of 3: n_count %d, E %.17g %s", st == 1 ? fr.n_count : -1,
        st == 1 ? fr.energy : 0.0, err);
  if (st == 1) tnace_frame_free(&fr);
  kc.count_species = "Ga";
  st = read_one(mixed, &kc, &fr, err, sizeof err);
  CHECK(st == TNACE_ERR_VALUE && strstr(err, ":1: frame has no atom of the counted species (Ga"), "none counted: %s", err);
  if (st == 1) tnace_frame_free(&fr);
  CHECK(tnace_energy_unit_parse("meV", &u, &sg) == 0 && u == 1e-3 && sg == 0 &&
            tnace_energy_unit_parse("eV", &u, &sg) == 0 && u == 1 && sg == 0 &&
            tnace_energy_unit_parse("Ha", &u, &sg) == -1 && tnace_energy_unit_parse("eV/cation", &u, &sg) == -1,
        "energy unit names");
  /* within the limits nothing changes: 99 GPa passes */
  const char *ok = "1\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3 energy=-3.5 "
                   "stress=\"0.6179 0 0 0 0 0 0 0 0\" pbc=\"T T T\"\nCu 0 0 0\n";
  st = read_one(ok, NULL, &fr, err, sizeof err);
  CHECK(st == 1 && fr.stress[0][0] == 0.6179, "99 GPa accepted: %s", err);
  if (st == 1) tnace_frame_free(&fr);
}

static void test_empty_frame(void) {
  char path[] = "/tmp/tnace_test_empty_XXXXXX";
  const int fd = mkstemp(path);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  CHECK(f != NULL, "temp file");
  if (!f) return;
  fputs("1\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3 energy=-1 pbc=\"T T T\"\nCu 0 0 0\n"
        "0\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3 pbc=\"T T T\"\n"
        "1\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3 energy=-2 pbc=\"T T T\"\nCu 1 0 0\n", f);
  fclose(f);
  char err[512];
  tnace_xyz_reader *r = tnace_xyz_open(path, NULL, err, sizeof err);
  tnace_frame fr;
  int got = 0, st;
  while (r && (st = tnace_xyz_next(r, &fr, err, sizeof err)) == 1) {
    got++;
    tnace_frame_free(&fr);
  }
  long first = 0;
  CHECK(r && st == 0 && got == 2, "frames %d, last status %d: %s", got, st, err);
  CHECK(tnace_xyz_n_empty(r, &first) == 1 && first == 4, "empty frames %ld, first at line %ld",
        tnace_xyz_n_empty(r, NULL), first);
  tnace_xyz_close(r);
  f = fopen(path, "w");
  fputs("-1\nProperties=species:S:1:pos:R:3\n", f);
  fclose(f);
  r = tnace_xyz_open(path, NULL, err, sizeof err);
  CHECK(tnace_xyz_next(r, &fr, err, sizeof err) == TNACE_ERR_PARSE && strstr(err, "-1 is not a valid number of atoms"),
        "negative count: %s", err);
  tnace_xyz_close(r);
  remove(path);
}

static void test_errors(void) {
  expect_error("empty.xyz", TNACE_ERR_PARSE, 0, "no frames");
  expect_error("blank.xyz", TNACE_ERR_PARSE, 0, "no frames");
  expect_error("bad_count.xyz", TNACE_ERR_PARSE, 1, "atom count");
  expect_error("truncated.xyz", TNACE_ERR_PARSE, 4, "declares 4 atoms");
  expect_error("no_comment.xyz", TNACE_ERR_PARSE, 4, "truncated");
  expect_error("few_columns.xyz", TNACE_ERR_PARSE, 4, "column 'forces'");
  expect_error("extra_columns.xyz", TNACE_ERR_PARSE, 4, "5 fields");
  expect_error("bad_number.xyz", TNACE_ERR_PARSE, 4, "column 'pos' (field 3): cannot parse '1.2.3'");
  expect_error("nan_forces.xyz", TNACE_ERR_VALUE, 4, "column 'forces' (field 6): non-finite");
  expect_error("nan_energy.xyz", TNACE_ERR_VALUE, 2, "key 'energy'");
  expect_error("inf_stress.xyz", TNACE_ERR_VALUE, 2, "key 'stress'");
  expect_error("inf_pos.xyz", TNACE_ERR_VALUE, 4, "column 'pos'");
  expect_error("bad_energy.xyz", TNACE_ERR_PARSE, 2, "key 'energy': cannot parse 'abc'");
  expect_error("missing_props.xyz", TNACE_ERR_PARSE, 2, "key 'Properties'");
  expect_error("missing_pos.xyz", TNACE_ERR_PARSE, 2, "no 'pos'");
  expect_error("missing_species.xyz", TNACE_ERR_PARSE, 2, "no 'species'");
  expect_error("bad_lattice.xyz", TNACE_ERR_PARSE, 2, "key 'Lattice': expected 9");
  expect_error("bad_lattice2.xyz", TNACE_ERR_PARSE, 2, "key 'Lattice': cannot parse 'four'");
  expect_error("bad_species.xyz", TNACE_ERR_ELEMENT, 4, "'Xx' is not a chemical element");
  expect_error("bad_pbc.xyz", TNACE_ERR_PARSE, 2, "key 'pbc'");
  expect_error("bad_quote.xyz", TNACE_ERR_PARSE, 2, "unterminated");
  expect_error("bad_props.xyz", TNACE_ERR_PARSE, 2, "key 'Properties'");
  expect_error("virial_nocell.xyz", TNACE_ERR_VALUE, 2, "key 'virial'");
  expect_error("does_not_exist.xyz", TNACE_ERR_IO, 0, "cannot open");
  /* API misuse */
  char err[256];
  CHECK(tnace_xyz_open(NULL, NULL, err, sizeof err) == NULL && err[0], "open(NULL)");
  CHECK(tnace_xyz_next(NULL, NULL, err, sizeof err) == TNACE_ERR_ARG, "next(NULL)");
  tnace_xyz_close(NULL);
  tnace_frame_free(NULL);
  /* the reader's element look-up (util.h): case-insensitive symbols */
  CHECK(tnace_atomic_number_nocase("og", 2) == 118 && tnace_atomic_number_nocase("X", 1) == 0 &&
            tnace_atomic_number_nocase("", 0) == 0 && tnace_atomic_number_nocase(NULL, 0) == 0,
        "atomic numbers");
  CHECK(strcmp(tnace_element_symbol(74), "W") == 0 && tnace_element_symbol(119) == NULL, "element symbols");
}

/* Truncations at every third byte and random byte mutations of a valid file: never a crash, a leak (run under
 * ASan) or an error without a message; a huge atom count does not allocate for it up front. */
static void test_fuzz(void) {
  char *src = NULL;
  long len = 0;
  FILE *in = fopen(DATA "ase_style.xyz", "rb");
  CHECK(in != NULL, "cannot read ase_style.xyz");
  if (!in) return;
  fseek(in, 0, SEEK_END);
  len = ftell(in);
  rewind(in);
  src = malloc((size_t)len + 1);
  CHECK(src && fread(src, 1, (size_t)len, in) == (size_t)len, "read ase_style.xyz");
  fclose(in);
  const char *path = "test_extxyz_fuzz.tmp.xyz";
  unsigned long long st = 777;
  int n_ok = 0, n_err = 0, no_msg = 0;
  char *buf = malloc((size_t)len + 64);
  for (int t = 0; t < (int)len + 300; t += (t < len ? 3 : 1)) {
    long m = len;
    memcpy(buf, src, (size_t)len);
    if (t < len) {
      m = t; /* truncation (every third byte) */
    } else {
      int nmut = 1 + (int)(4 * test_rand(&st));
      static const char junk[] = "0123456789 \n\t=\"'{}[]:eEdD.-+xnaNiTF\\";
      for (int q = 0; q < nmut; q++) buf[(long)(test_rand(&st) * (double)len)] = junk[(int)(test_rand(&st) * (sizeof junk - 1))];
      if (t % 50 == 0) { memcpy(buf, "999999999\n", 10); }
    }
    FILE *o = fopen(path, "wb");
    if (!o) break;
    fwrite(buf, 1, (size_t)m, o);
    fclose(o);
    for (int skip = 0; skip < 2; skip++) {
      char err[512];
      tnace_frame *fr = NULL;
      int n = 0, ns = 0;
      err[0] = 0;
      int r = tnace_xyz_read_all(path, NULL, skip, &fr, &n, &ns, err, sizeof err);
      if (r == 0) {
        n_ok++;
        for (int q = 0; q < n; q++)
          for (int a = 0; a < fr[q].n_atoms; a++)
            if (!isfinite(fr[q].pos[a][0]) || fr[q].number[a] < 1) no_msg++;
        tnace_xyz_free_all(fr, n);
      } else {
        n_err++;
        if (!err[0] || fr != NULL) no_msg++;
      }
    }
  }
  CHECK(no_msg == 0, "fuzz: %d results without a message or with bad data", no_msg);
  CHECK(n_ok > 0 && n_err > 0, "fuzz: %d ok, %d errors", n_ok, n_err);
  free(buf);
  free(src);
  remove(path);
}

/* ---- datasets ------------------------------------------------------------------------------------ */

static int occurrences(const char *s, const char *sub) {
  int k = 0;
  for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub)) k++;
  return k;
}

/* tnace_struct_build on a structure without any neighbour pair (an isolated atom, as `e0: isolated` builds:
 * the neighbour list has no pair arrays at all) and on builds whose neighbour list fails (the list's memory
 * must be freed: run under ASan/UBSan, see TNACE_SANITIZE); then the same through tnace_dataset_read, whose
 * message names the frame and says "neighbour list" once. */
static void test_dataset(void) {
  char err[512];
  const int sp[2] = {0, 0}, pbc_t[3] = {1, 1, 1}, pbc_f[3] = {0, 0, 0};
  const double pos1[1][3] = {{1.0, 2.0, 3.0}}, box[3][3] = {{20, 0, 0}, {0, 20, 0}, {0, 0, 20}};
  for (int p = 0; p < 2; p++) {
    tnace_struct s;
    int rc = tnace_struct_build(&s, 1, sp, pos1, box, p ? pbc_f : pbc_t, 5.0, "isolated", err, sizeof err);
    CHECK(rc == 0, "isolated atom (periodic %d): %d '%s'", !p, rc, err);
    if (rc) continue;
    CHECK(s.n == 1 && s.off[0] == 0 && s.off[1] == 0 && s.max_neigh == 0 && s.species[0] == 0,
          "isolated atom (periodic %d): n %d, %d pairs, max_neigh %d", !p, s.n, s.off[1], s.max_neigh);
    CHECK(s.nj && s.nsp && s.d, "isolated atom: pair arrays allocated (one slot)");
    CHECK(p ? s.volume == 0.0 : fabs(s.volume - 8000.0) < 1e-9, "isolated atom: volume %g", s.volume);
    tnace_struct_free(&s);
    CHECK(s.off == NULL && s.species == NULL && s.n == 0, "tnace_struct_free zeroes");
  }
  /* failed builds: a flat periodic cell, a non-finite position (both after the list allocated its offsets) */
  const double pos2[2][3] = {{0, 0, 0}, {1, 1, 1}}, nanpos[2][3] = {{0, 0, 0}, {NAN, 1, 1}};
  const double flat[3][3] = {{4, 0, 0}, {0, 4, 0}, {2, 2, 0}};
  tnace_struct s;
  int rc = tnace_struct_build(&s, 2, sp, pos2, flat, pbc_t, 3.0, "flat", err, sizeof err);
  CHECK(rc == TNACE_ERR_VALUE && strncmp(err, "flat: neighbour list: periodic cell has (near-)zero volume", 58) == 0 &&
            occurrences(err, "neighbour list") == 1,
        "flat cell: %d '%s'", rc, err);
  CHECK(s.species == NULL && s.off == NULL && s.nj == NULL && s.d == NULL, "failed build holds no memory");
  rc = tnace_struct_build(&s, 2, sp, nanpos, box, pbc_t, 3.0, "nan", err, sizeof err);
  CHECK(rc == TNACE_ERR_VALUE && strstr(err, "nan: neighbour list: atom 1") == err, "NaN position: %d '%s'", rc, err);
  CHECK(s.species == NULL && s.off == NULL, "failed build holds no memory");
  rc = tnace_struct_build(&s, 0, sp, pos1, box, pbc_t, 3.0, "none", err, sizeof err);
  CHECK(rc == TNACE_ERR_PARSE && strstr(err, "no atoms"), "no atoms: %d '%s'", rc, err);
  /* through a file: frame 1 (line 1) has a flat cell, frame 2 (line 5) is an isolated atom */
  const char elem[1][4] = {"Cu"};
  tnace_dataset ds = {0};
  rc = tnace_dataset_read(&ds, DATA "dataset_nlist.xyz", 1, elem, 5.0, 0, err, sizeof err);
  CHECK(rc == TNACE_ERR_VALUE && strstr(err, "dataset_nlist.xyz:1: neighbour list: periodic cell") &&
            occurrences(err, "neighbour list") == 1,
        "dataset, flat cell: %d '%s'", rc, err);
  tnace_dataset_free(&ds);
  rc = tnace_dataset_read(&ds, DATA "dataset_nlist.xyz", 1, elem, 5.0, 1, err, sizeof err);
  CHECK(rc == 0 && ds.n == 1 && ds.n_skipped == 1, "dataset, skip_bad: %d, %d read, %d skipped '%s'", rc, ds.n,
        ds.n_skipped, err);
  if (rc == 0 && ds.n == 1) {
    const tnace_struct *t = &ds.s[0];
    CHECK(t->n == 1 && t->off[1] == 0 && t->max_neigh == 0 && t->has_energy && t->energy == -0.25 &&
              strcmp(t->config_type, "isolated") == 0 && strstr(t->source, "dataset_nlist.xyz:5"),
          "dataset, isolated atom: n %d, %d pairs, E %g, '%s' from %s", t->n, t->off[1], t->energy, t->config_type,
          t->source);
  }
  tnace_dataset_free(&ds);
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--dump") == 0) return dump_main(argv[2], atol(argv[3]));
  if (argc == 4 && strcmp(argv[1], "--bench") == 0) return bench_main(argv[2], atof(argv[3]));
  if (argc > 1) {
    fprintf(stderr, "usage: %s [--dump FILE K | --bench FILE RC]\n", argv[0]);
    return 2;
  }
  test_ase_style("ase_style.xyz");
  test_ase_style("crlf.xyz");
  test_keys();
  test_skip_bad();
  test_numbers();
  test_errors();
  test_empty_frame();
  test_units();
  test_fuzz();
  test_dataset();
  return test_summary("test_extxyz");
}
