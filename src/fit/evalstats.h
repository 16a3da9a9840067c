/*
 * evalstats.h — error statistics of a potential on reference data, overall and per config_type, for
 * tnace-eval (and anyone else who wants them): evaluation of a whole dataset (OpenMP over structures),
 * MAE/RMSE accumulation per group, and a plain-text table / JSON report.
 *
 * The trainer's errors (tnace_metrics_compute, below) are computed here too, so there is one definition:
 *   energy   per structure  ΔE/N = (E_pred − E_ref) / N_atoms       in meV/atom, over structures with energy
 *   forces   per Cartesian component  F_pred − F_ref                 in eV/Å, over structures with forces
 *   stress   per independent component (xx yy zz yz xz xy)           in GPa, over structures with stress
 *            (1 eV/Å^3 = TNACE_EV_A3_TO_GPA GPa)
 *   MAE = Σ|d| / n,  RMSE = sqrt(Σ d² / n)
 * Sums are accumulated per structure first and then added to the group in the order of the calls, so
 * the numbers do not depend on the thread count.
 *
 * No global state. A tnace_evalstats is not thread-safe: add to it from one thread.
 */
#ifndef TNACE_EVALSTATS_H
#define TNACE_EVALSTATS_H

#include <stdio.h>
#include "dataset.h"
#include "util.h"

/* Name of the group of structures without (or with an empty) config_type. */
#define TNACE_EVAL_NO_CONFIG_TYPE "(none)"

/* ---- evaluation of a dataset ----------------------------------------------------------------- */

/* Prediction of the potential for one structure. */
typedef struct {
  int status;              /* 0, or the TNACE_ERR_* code of a failed evaluation */
  char *error;             /* malloc'd "source: message" when status != 0, else NULL */
  double energy;           /* total energy, eV */
  double (*forces)[3];     /* [n][3] eV/Å (NULL when status != 0) */
  double stress[3][3];     /* eV/Å^3, ASE sign (zero for a structure without volume) */
  int has_grade;           /* extrapolation grade computed (tnace_eval_grade, grade_fit.h) */
  double grade_max, grade_mean;  /* largest and mean per-atom grade γ_i of the structure */
  double *grade;           /* [n] per-atom γ_i, or NULL */
} tnace_eval_pred;

/* Evaluate every structure of ds (OpenMP over structures, one workspace per thread; n_threads <= 0: the
 * OpenMP default). Results do not depend on the thread count. On return *out is an array [ds->n] (free
 * with tnace_eval_pred_free) with a status per structure, also when some structures failed.
 * Returns 0 when every structure was evaluated; otherwise the error code of the first failed structure
 * (lowest index) with "source: message" in err, the other failures being recorded in (*out)[i].
 * Returns TNACE_ERR_NOMEM (with *out = NULL) if the array itself cannot be allocated, TNACE_ERR_ARG for
 * NULL arguments. */
int tnace_eval_predict(const tnace_potential *pot, const tnace_dataset *ds, int n_threads, tnace_eval_pred **out,
                       char *err, size_t errlen);
/* Free an array from tnace_eval_predict (NULL allowed). */
void tnace_eval_pred_free(tnace_eval_pred *p, int n);

/* ---- accumulation ------------------------------------------------------------------------------ */

/* Sums of one group. */
typedef struct {
  long n_struct, n_atoms;  /* all structures added, and their atoms */
  long n_e;                /* structures with an energy error */
  long n_f;                /* force components */
  long n_s;                /* stress components (6 per structure with stress) */
  double e_sum, e_abs, e_sq;  /* ΣΔE/N (signed: the bias), Σ|ΔE/N|, Σ(ΔE/N)²   (meV/atom) */
  double f_abs, f_sq;      /* eV/Å */
  double s_abs, s_sq;      /* GPa */
  long n_g;                /* structures with an extrapolation grade */
  long n_g_above[3];       /* ... whose largest per-atom grade exceeds TNACE_GRADE_LEVELS */
  double g_max, g_max_sum, g_mean_sum;  /* max and sum of the structures' largest grade, sum of their mean */
} tnace_errsum;
/* The grade levels counted per group: 1.1 (outside the training span: MaxVol keeps training ≤ 1.01), 2
 * (extrapolation; PACE's and MTP's usual "select" level), 10 (far outside: forces unreliable). */
#define TNACE_GRADE_LEVELS {1.1, 2.0, 10.0}

/* MAE / RMSE of a group; NaN when the group has no value of that kind (n_* == 0). */
typedef struct {
  long n_struct, n_atoms, n_e, n_f, n_s;
  double e_mae, e_rmse;    /* meV/atom */
  double f_mae, f_rmse;    /* eV/Å per component */
  double s_mae, s_rmse;    /* GPa per component */
} tnace_errstat;

typedef struct {
  char name[64];           /* config_type, or TNACE_EVAL_NO_CONFIG_TYPE */
  tnace_errsum sum;
} tnace_evalgroup;

typedef struct {
  tnace_errsum all;        /* every structure added */
  int n_groups, cap;
  tnace_evalgroup *g;      /* [n_groups], always sorted by name (strcmp) */
  char e_unit[32];         /* unit label of the energy errors in the table and JSON; "" = "meV/atom" (a property
                              model: e.g. "meV/Al+Ga+In", its units per counted atom) */
} tnace_evalstats;

/* One structure's reference and predicted values. */
typedef struct {
  const char *config_type;                  /* group; NULL or "" → TNACE_EVAL_NO_CONFIG_TYPE; cut to 63 bytes */
  int n_atoms;                              /* > 0 */
  int n_count;                              /* energies per atom are per n_count atoms (0: n_atoms) */
  int has_energy;
  double energy_ref, energy_pred;           /* total energies, eV */
  int has_forces;
  const double (*forces_ref)[3];            /* [n_atoms][3] eV/Å */
  const double (*forces_pred)[3];
  int has_stress;
  double stress_ref[3][3], stress_pred[3][3];  /* eV/Å^3 (only the upper triangle is used) */
  int has_grade;
  double grade_max, grade_mean;             /* the structure's largest and mean extrapolation grade */
} tnace_eval_record;

/* The energy error label for pot: "meV/atom", or for a property model (model.h tnace_property) "m<units>/" and
 * "atom" or its counted species ("meV/Al+Ga+In"). */
void tnace_evalstats_set_units(tnace_evalstats *st, const tnace_potential *pot);
/* Initialise an empty accumulator (no allocation). */
void tnace_evalstats_init(tnace_evalstats *st);
/* Free the groups and reset to empty (NULL allowed). */
void tnace_evalstats_free(tnace_evalstats *st);

/* The group a config_type belongs to: ct, or TNACE_EVAL_NO_CONFIG_TYPE for NULL or "". */
const char *tnace_eval_group_name(const char *ct);

/* The record of structure s with its prediction p (pointers into both; p->forces must be set): energy if
 * s->has_energy, forces if s->has_forces, stress if s->has_stress and s->volume > 0. */
tnace_eval_record tnace_eval_record_of(const tnace_struct *s, const tnace_eval_pred *p);

/* One structure's sums (n_struct = 1), as tnace_evalstats_add adds them to its group. */
tnace_errsum tnace_errsum_of(const tnace_eval_record *r);

/* Add one structure to its group and to the overall sums. Returns 0; TNACE_ERR_ARG for NULL pointers,
 * n_atoms < 1 or missing force arrays with has_forces; TNACE_ERR_NOMEM if a new group cannot be allocated
 * (then nothing is added). Non-finite values are added as they are (they make the result NaN/Inf). */
int tnace_evalstats_add(tnace_evalstats *st, const tnace_eval_record *r);

/* Add structure s with its prediction p (p->status must be 0): tnace_eval_record_of, as tnace_metrics_compute.
 * Returns as tnace_evalstats_add (TNACE_ERR_ARG also for a failed prediction). */
int tnace_evalstats_add_struct(tnace_evalstats *st, const tnace_struct *s, const tnace_eval_pred *p);

/* MAE/RMSE of a group's sums. */
tnace_errstat tnace_errsum_stat(const tnace_errsum *s);

/* Group named `name` (a config_type; "" → TNACE_EVAL_NO_CONFIG_TYPE), or NULL if none was added. */
const tnace_evalgroup *tnace_evalstats_find(const tnace_evalstats *st, const char *name);

/* ---- output ------------------------------------------------------------------------------------ */

/* Write s as a JSON string literal ("..." with \" \\ \b \f \n \r \t, other control characters and DEL
 * as \u00XX, invalid UTF-8 bytes as \ufffd; valid UTF-8 is copied). NULL writes null. */
void tnace_json_write_string(FILE *f, const char *s);

/* Write x as a JSON number with `digits` significant digits ("%.*g"), or null when x is not finite. */
void tnace_json_write_number(FILE *f, double x, int digits);

/* Write the report as exactly one JSON object and a newline:
 *   {"potential": P, "data": [D...], "n_structures": n, "n_atoms": n, "n_skipped": k,
 *    "units": {"energy": "meV/atom", "forces": "eV/A", "stress": "GPa"},
 *    "energy": {"mae": x, "rmse": x, "n": n} | null, "forces": {...} | null, "stress": {...} | null,
 *    "per_config_type": {NAME: {"n_structures", "n_atoms", "energy", "forces", "stress"}, ...}}
 * numbers with %.6g (non-finite → null); groups in name order. potential / data may be NULL (then the
 * keys are omitted). Returns 0, or TNACE_ERR_IO if the stream reports an error. */
int tnace_evalstats_write_json(FILE *f, const tnace_evalstats *st, const char *potential, const char *const *data,
                               int n_data, int n_skipped);

/* Write a fixed-width table: a header, the row "overall", then one row per group in name order, with
 * columns group, n_struct, n_atoms, E_MAE, E_RMSE (meV/atom), F_MAE, F_RMSE (eV/Å), S_MAE, S_RMSE (GPa);
 * "-" where the group has no such value. Numbers with %.6g. Returns 0 or TNACE_ERR_IO. */
int tnace_evalstats_write_table(FILE *f, const tnace_evalstats *st);

/* ---- overall errors in the trainer's units ---------------------------------------------------- */

typedef struct tnace_metrics tnace_metrics;
struct tnace_metrics {
  int n_struct, n_atoms, n_force_comp, n_stress;
  double e_mae, e_rmse;     /* meV/atom */
  double f_mae, f_rmse;     /* eV/Å per component */
  double s_mae, s_rmse;     /* GPa per component (only structures with stress) */
};

/* Errors of the potential on a dataset, overall (structures without the reference quantity are skipped
 * for that quantity; 0 where there is none): tnace_eval_predict + tnace_evalstats, summarised. This is what
 * the trainer reports after each sweep. Returns 0, or the first failing structure's error code (e.g.
 * TNACE_ERR_VALUE for atoms closer than r_min, TNACE_ERR_NOMEM) with "source: message". */
int tnace_metrics_compute(const tnace_potential *pot, const tnace_dataset *ds, int n_threads, tnace_metrics *m,
                          char *err, size_t errlen);

#endif
