/*
 * util.c — the shared support code of util.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <ctype.h>
#include <locale.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include "tnace.h"

const int tnace_voigt[6][2] = {{0, 0}, {1, 1}, {2, 2}, {1, 2}, {0, 2}, {0, 1}};

static const char *const ELEMENTS[118] = {
    "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si", "P",  "S",  "Cl",
    "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As", "Se",
    "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn", "Sb",
    "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er",
    "Tm", "Yb", "Lu", "Hf", "Ta", "W",  "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At",
    "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No",
    "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};

int tnace_atomic_number(const char *sym) {
  if (!sym) return 0;
  for (int z = 0; z < 118; z++)
    if (strcmp(sym, ELEMENTS[z]) == 0) return z + 1;
  return 0;
}

int tnace_atomic_number_nocase(const char *sym, size_t n) {
  if (!sym || n < 1 || n > 3) return 0;
  char s[4];
  s[0] = (char)toupper((unsigned char)sym[0]);
  for (size_t k = 1; k < n; k++) s[k] = (char)tolower((unsigned char)sym[k]);
  s[n] = 0;
  return tnace_atomic_number(s);
}

const char *tnace_element_symbol(int z) { return (z >= 1 && z <= 118) ? ELEMENTS[z - 1] : NULL; }

double tnace_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

tnace_cloc tnace_cloc_push(void) {
  locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  tnace_cloc l = {c, NULL};
  if (c) l.old = uselocale(c);
  return l;
}

void tnace_cloc_pop(tnace_cloc l) {
  if (!l.c) return;
  uselocale((locale_t)l.old);
  freelocale((locale_t)l.c);
}

/* Line (1-based) of byte `offset` of f: libyaml's reader errors give only the offset. */
static int offset_line(FILE *f, size_t offset) {
  int line = 1, c;
  if (!f || fseek(f, 0, SEEK_SET) != 0) return 0;
  for (size_t i = 0; i < offset && (c = getc(f)) != EOF; i++) line += c == '\n';
  return line;
}

int tnace_yaml_parser_error(const void *parser, FILE *f, int *line, char *msg, size_t msglen) {
  const yaml_parser_t *p = parser;
  const char *what = p->problem ? p->problem : "?";
  *line = 0;
  if (p->error == YAML_MEMORY_ERROR) {
    snprintf(msg, msglen, "out of memory");
    return TNACE_ERR_NOMEM;
  }
  if (p->error == YAML_READER_ERROR) {
    *line = offset_line(f, p->problem_offset);
    snprintf(msg, msglen, "cannot read file: %s (byte %zu)", p->problem ? p->problem : "read error",
             p->problem_offset);
    return TNACE_ERR_PARSE;
  }
  *line = (int)p->problem_mark.line + 1;
  if (p->context)
    snprintf(msg, msglen, "YAML syntax error: %s (%s at line %d)", what, p->context, (int)p->context_mark.line + 1);
  else
    snprintf(msg, msglen, "YAML syntax error: %s", what);
  return TNACE_ERR_PARSE;
}

int tnace_yaml_next_event(void *parser, void *event, int *has_ev, FILE *f, tnace_yaml_err *err) {
  yaml_parser_t *p = parser;
  yaml_event_t *ev = event;
  if (*has_ev) {
    yaml_event_delete(ev);
    *has_ev = 0;
  }
  if (!yaml_parser_parse(p, ev)) {
    int code = tnace_yaml_parser_error(p, f, &err->line, err->msg, sizeof err->msg);
    err->at_key = p->error == YAML_SCANNER_ERROR || p->error == YAML_PARSER_ERROR;
    return code;
  }
  *has_ev = 1;
  if (ev->type == YAML_ALIAS_EVENT) {
    err->line = (int)ev->start_mark.line + 1;
    err->at_key = 1;
    snprintf(err->msg, sizeof err->msg, "YAML aliases (*%s) are not supported", (const char *)ev->data.alias.anchor);
    return TNACE_ERR_PARSE;
  }
  return 0;
}
