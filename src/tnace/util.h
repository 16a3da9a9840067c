/*
 * util.h — support code shared by both libraries and the tools, so that each of these exists once:
 * the periodic table, unit constants, the Voigt order, a monotonic clock, the C numeric locale, and the
 * description of a libyaml parser error (line and message). Nothing here is physics; no global mutable
 * state.
 */
#ifndef TNACE_UTIL_H
#define TNACE_UTIL_H

#include <stddef.h>
#include <stdio.h>

/* ---- units (metal units: eV, Å) ---------------------------------------------------------------- */

/* 1 eV/Å³ in GPa (CODATA 2014 e = 1.6021766208e-19 C): stress tables and reports. */
#define TNACE_EV_A3_TO_GPA 160.21766208

/* Voigt order of the six independent stress/virial components: xx yy zz yz xz xy as (row, column). */
extern const int tnace_voigt[6][2];

/* ---- elements ---------------------------------------------------------------------------------- */

/* Atomic number (1..118) of the exact chemical symbol `sym` ("Cu"); 0 if none (also for NULL). */
int tnace_atomic_number(const char *sym);
/* Atomic number of the symbol in the first n characters of sym, ignoring case ("cu", "CU"); 0 if none. */
int tnace_atomic_number_nocase(const char *sym, size_t n);
/* Chemical symbol of atomic number z (1..118), or NULL. */
const char *tnace_element_symbol(int z);

/* ---- time -------------------------------------------------------------------------------------- */

/* Seconds on the monotonic clock (an arbitrary origin): for elapsed times only. */
double tnace_now_s(void);

/* ---- C numeric locale -------------------------------------------------------------------------- */

/* Numbers are read and written in the "C" locale whatever the host program set (a decimal comma would
 * break strtod / printf). tnace_cloc_push switches this thread only (uselocale) and returns what
 * tnace_cloc_pop needs to switch back; if the locale cannot be made, nothing is switched. */
typedef struct {
  void *c, *old; /* locale_t, kept opaque so that this header needs no POSIX feature macros */
} tnace_cloc;
tnace_cloc tnace_cloc_push(void);
void tnace_cloc_pop(tnace_cloc l);

/* ---- YAML parser errors ------------------------------------------------------------------------ */

/* What went wrong in a libyaml parser `p` (a yaml_parser_t *, after yaml_parser_parse failed), read from
 * file f (for reader errors, which give only a byte offset). Writes the message, without a location, to
 * msg ("YAML syntax error: ...", "cannot read file: ...", "out of memory") and its 1-based line (0 when
 * unknown) to *line. Returns TNACE_ERR_NOMEM or TNACE_ERR_PARSE. */
int tnace_yaml_parser_error(const void *p, FILE *f, int *line, char *msg, size_t msglen);

#endif
