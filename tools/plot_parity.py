#!/usr/bin/python3
"""Parity plots (predicted vs reference) from a `tnace-eval --predictions FILE` file.

Usage: tools/plot_parity.py PREDICTIONS.tsv [--out-prefix PREFIX] [--title TEXT] [--dpi N]

Writes PREFIX_energy.png (energy per atom, eV/atom), PREFIX_forces.png (force components, eV/A) and,
when the file has reference stresses, PREFIX_stress.png (stress components, GPa). Points are coloured by
config_type; titles give MAE and RMSE (energy in meV/atom, forces in eV/A, stress in GPa) over the points
shown, computed the same way as tnace-eval. The file format is described in docs/tnace-eval.md.
PREFIX defaults to the predictions file name without its extension.

Needs numpy and matplotlib: run with Debian's /usr/bin/python3. Exit status 0, 1 on errors (message on
stderr), 2 on usage errors.
"""
import argparse
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

VOIGT = ["xx", "yy", "zz", "yz", "xz", "xy"]


class FormatError(Exception):
    pass


def _num(s, path, lineno):
    try:
        return float(s)  # accepts NaN, Inf, -Inf
    except ValueError:
        raise FormatError(f"{path}:{lineno}: not a number: {s!r}") from None


def read_predictions(path):
    """Returns (structs, forces): structs is a dict index -> {source, config_type, n_atoms, e_ref, e_pred,
    s_ref[6], s_pred[6]}; forces a list of (index, atom, element, ref[3], pred[3])."""
    structs, forces = {}, []
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            t = line.split("\t")
            if t[0] == "S":
                if len(t) != 19:
                    raise FormatError(f"{path}:{lineno}: structure line needs 19 tab-separated fields, got {len(t)}")
                try:
                    idx, nat = int(t[1]), int(t[4])
                except ValueError:
                    raise FormatError(f"{path}:{lineno}: bad index or atom count") from None
                v = [_num(x, path, lineno) for x in t[5:]]
                structs[idx] = dict(source=t[2], config_type=t[3], n_atoms=nat, e_ref=v[0], e_pred=v[1],
                                    s_ref=v[2:8], s_pred=v[8:14])
            elif t[0] == "F":
                if len(t) != 10:
                    raise FormatError(f"{path}:{lineno}: force line needs 10 tab-separated fields, got {len(t)}")
                try:
                    idx, atom = int(t[1]), int(t[2])
                except ValueError:
                    raise FormatError(f"{path}:{lineno}: bad structure or atom index") from None
                if idx not in structs:
                    raise FormatError(f"{path}:{lineno}: force line of structure {idx} before its S line")
                v = [_num(x, path, lineno) for x in t[4:]]
                forces.append((idx, atom, t[3], v[0:3], v[3:6]))
            else:
                raise FormatError(f"{path}:{lineno}: unknown record type {t[0]!r} (expected S or F)")
    if not structs:
        raise FormatError(f"{path}: no structure lines (is this a tnace-eval --predictions file?)")
    return structs, forces


def mae_rmse(ref, pred, scale=1.0):
    d = (np.asarray(pred, dtype=float) - np.asarray(ref, dtype=float)) * scale
    if d.size == 0:
        return math.nan, math.nan
    return float(np.mean(np.abs(d))), float(np.sqrt(np.mean(d * d)))


def flat(by_group):
    return [v for g in sorted(by_group) for v in by_group[g]]


def colours(groups):
    cmap = plt.get_cmap("tab10" if len(groups) <= 10 else "tab20")
    return {g: cmap(i % cmap.N) for i, g in enumerate(groups)}


def parity(ax, x_by_group, y_by_group, cols, unit, npts):
    allv = []
    size = 14 if npts < 2000 else (4 if npts < 50000 else 1)
    for g in sorted(x_by_group):
        x, y = np.asarray(x_by_group[g]), np.asarray(y_by_group[g])
        if x.size == 0:
            continue
        allv.append(x)
        allv.append(y)
        ax.scatter(x, y, s=size, color=cols[g], alpha=0.7, linewidths=0, label=f"{g} ({x.size})", rasterized=True)
    if allv:
        v = np.concatenate(allv)
        lo, hi = float(np.min(v)), float(np.max(v))
        pad = 0.05 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.05
        lo, hi = lo - pad, hi + pad
        ax.plot([lo, hi], [lo, hi], color="0.3", lw=0.8, zorder=0)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(f"reference ({unit})")
    ax.set_ylabel(f"predicted ({unit})")
    ax.grid(True, lw=0.3, alpha=0.5)


def error_hist(ax, x_by_group, y_by_group, cols, scale, unit):
    """Stacked histogram of the errors (pred - ref) * scale per config_type."""
    groups = [g for g in sorted(x_by_group) if len(x_by_group[g])]
    d = [(np.asarray(y_by_group[g]) - np.asarray(x_by_group[g])) * scale for g in groups]
    allv = np.concatenate(d)
    # range: the central 99.8 % of the errors (at least 200 values inside); the rest is counted in the end bins
    lo, hi = float(np.min(allv)), float(np.max(allv))
    clipped = False
    if allv.size > 200:
        plo, phi = (float(x) for x in np.percentile(allv, [0.1, 99.9]))
        if phi > plo and (plo > lo or phi < hi):
            lo, hi, clipped = plo, phi, True
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    bins = np.linspace(lo, hi, int(min(60, max(10, math.sqrt(allv.size) * 2))) + 1)
    ax.hist([np.clip(x, lo, hi) for x in d], bins=bins, stacked=True, color=[cols[g] for g in groups], label=groups)
    ax.axvline(0.0, color="0.3", lw=0.8)
    ax.set_xlabel(f"predicted - reference ({unit})" + ("; 0.2 % outliers in the end bins" if clipped else ""))
    ax.set_ylabel("count")
    ax.grid(True, lw=0.3, alpha=0.5)


def figure(x_by_group, y_by_group, cols, unit, err_scale, err_unit, title, path, dpi):
    npts = sum(len(v) for v in x_by_group.values())
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 5.4), gridspec_kw=dict(width_ratios=[1, 1]))
    parity(a1, x_by_group, y_by_group, cols, unit, npts)
    error_hist(a2, x_by_group, y_by_group, cols, err_scale, err_unit)
    handles, labels = a1.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, max(1, len(labels))), fontsize=8,
               markerscale=2 if npts >= 2000 else 1, title="config_type (points)", title_fontsize=8,
               bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(title, fontsize=11)
    nrows = (len(labels) + 3) // 4
    fig.tight_layout(rect=(0, 0.06 + 0.035 * nrows, 1, 1))
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    print(f"wrote {path}")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Parity plots from a tnace-eval --predictions file.")
    ap.add_argument("predictions", help="file written by tnace-eval --predictions")
    ap.add_argument("--out-prefix", help="output prefix (default: the predictions file without extension)")
    ap.add_argument("--title", default="", help="text put in front of each plot title")
    ap.add_argument("--dpi", type=int, default=150)
    a = ap.parse_args(argv)
    prefix = a.out_prefix or os.path.splitext(a.predictions)[0]
    try:
        structs, forces = read_predictions(a.predictions)
    except (OSError, FormatError) as e:
        print(f"plot_parity: {e}", file=sys.stderr)
        return 1
    head = (a.title + ": ") if a.title else ""
    groups = sorted({s["config_type"] for s in structs.values()})
    cols = colours(groups)
    written = 0
    try:
        # energy per atom
        ex, ey = {g: [] for g in groups}, {g: [] for g in groups}
        for s in structs.values():
            if math.isfinite(s["e_ref"]) and math.isfinite(s["e_pred"]):
                ex[s["config_type"]].append(s["e_ref"])
                ey[s["config_type"]].append(s["e_pred"])
        n = sum(len(v) for v in ex.values())
        if n:
            mae, rmse = mae_rmse(flat(ex), flat(ey), 1000.0)
            figure(ex, ey, cols, "eV/atom", 1000.0, "meV/atom",
                   f"{head}energy per atom, {n} structures: MAE {mae:.4g} meV/atom, RMSE {rmse:.4g} meV/atom",
                   prefix + "_energy.png", a.dpi)
            written += 1
        else:
            print("plot_parity: no reference energies: no energy plot", file=sys.stderr)
        # force components
        fx, fy = {g: [] for g in groups}, {g: [] for g in groups}
        for idx, _atom, _el, ref, pred in forces:
            g = structs[idx]["config_type"]
            for r, p in zip(ref, pred):
                if math.isfinite(r) and math.isfinite(p):
                    fx[g].append(r)
                    fy[g].append(p)
        n = sum(len(v) for v in fx.values())
        if n:
            mae, rmse = mae_rmse(flat(fx), flat(fy))
            figure(fx, fy, cols, "eV/Å", 1.0, "eV/Å",
                   f"{head}force components, {n} values: MAE {mae:.4g} eV/Å, RMSE {rmse:.4g} eV/Å",
                   prefix + "_forces.png", a.dpi)
            written += 1
        else:
            print("plot_parity: no reference forces: no force plot", file=sys.stderr)
        # stress components
        sx, sy = {g: [] for g in groups}, {g: [] for g in groups}
        for s in structs.values():
            for r, p in zip(s["s_ref"], s["s_pred"]):
                if math.isfinite(r) and math.isfinite(p):
                    sx[s["config_type"]].append(r)
                    sy[s["config_type"]].append(p)
        n = sum(len(v) for v in sx.values())
        if n:
            mae, rmse = mae_rmse(flat(sx), flat(sy))
            figure(sx, sy, cols, "GPa", 1.0, "GPa",
                   f"{head}stress components ({' '.join(VOIGT)}), {n} values: MAE {mae:.4g} GPa, RMSE {rmse:.4g} GPa",
                   prefix + "_stress.png", a.dpi)
            written += 1
    except OSError as e:
        print(f"plot_parity: {e}", file=sys.stderr)
        return 1
    if not written:
        print("plot_parity: nothing to plot (no reference values)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
