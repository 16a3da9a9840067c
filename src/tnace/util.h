/*
 * util.h — support code shared by both libraries and the tools, so that each of these exists once:
 * the periodic table, unit constants, the Voigt order, a monotonic clock, the C numeric locale, and the
 * reading of libyaml parser events with the description of a parser error (line and message). Nothing
 * here is physics; no global mutable state.
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

/* splitmix64 (Steele, Lea & Flood 2014): advances *state and returns the next 64-bit pseudo-random number.
 * The seeded shuffles and samplers of the trainer use it, so a seed gives the same result everywhere. */
static inline unsigned long long tnace_splitmix64(unsigned long long *state) {
  unsigned long long z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

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

/* Why tnace_yaml_next_event failed: the message without a location, its 1-based line (0 when unknown) and
 * whether it is at a place in the document (a syntax error or an alias, where the reader names the key it
 * was reading; a reader or memory error is not). */
typedef struct {
  int line;
  int at_key;
  char msg[320];
} tnace_yaml_err;

/* The next event of a libyaml parser `p` (a yaml_parser_t *) reading file f, into `ev` (a yaml_event_t *).
 * *has_ev says whether ev holds an event: one held is deleted first, and *has_ev is 1 again once ev holds
 * the new one (the caller deletes the last). Returns 0, or TNACE_ERR_NOMEM / TNACE_ERR_PARSE with *err
 * filled in for a parser error (tnace_yaml_parser_error) or an alias (*name), which the readers of tnace
 * do not support. */
int tnace_yaml_next_event(void *p, void *ev, int *has_ev, FILE *f, tnace_yaml_err *err);

#endif
