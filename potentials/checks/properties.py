#!/usr/bin/python3
"""Material properties of every shipped potential, next to its training data's DFT values: runs
`python3 -m tnace.properties` (python/tnace/properties.py) for each and writes

    potentials/checks/properties/<name>.json        every number
    potentials/checks/properties/<name>_phonons.png the phonon dispersion
    a Markdown table on stdout (the one in potentials/README.md)

Run from the repository root after building (tools/test, or cmake -S . -B build && cmake --build build):
    PYTHONPATH=build/python potentials/checks/properties.py [NAME ...]
(an installed tnace module works without PYTHONPATH). About two minutes on two cores.
"""
import json
import os
import sys

from tnace import properties

DATA = os.path.join("..", "shared", "data")
SHIPPED = [  # name, potential, element, training data
    ("Ni", "potentials/Ni.yaml", "Ni", DATA + "/zuo2020/Ni_train.xyz"),
    ("Cu", "potentials/Cu.yaml", "Cu", "examples/data/Cu_train.xyz"),
    ("Li", "potentials/Li.yaml", "Li", DATA + "/zuo2020/Li_train.xyz"),
    ("Mo", "potentials/Mo.yaml", "Mo", DATA + "/zuo2020/Mo_train.xyz"),
    ("Si", "potentials/Si.yaml", "Si", DATA + "/zuo2020/Si_train.xyz"),
    ("Ge", "potentials/Ge.yaml", "Ge", DATA + "/zuo2020/Ge_train.xyz"),
    ("NbMoTaW-Nb", "potentials/NbMoTaW.yaml", "Nb", DATA + "/nbmotaw/NbMoTaW_train.xyz"),
    ("NbMoTaW-Mo", "potentials/NbMoTaW.yaml", "Mo", DATA + "/nbmotaw/NbMoTaW_train.xyz"),
    ("NbMoTaW-Ta", "potentials/NbMoTaW.yaml", "Ta", DATA + "/nbmotaw/NbMoTaW_train.xyz"),
    ("NbMoTaW-W", "potentials/NbMoTaW.yaml", "W", DATA + "/nbmotaw/NbMoTaW_train.xyz"),
]
OUT = "potentials/checks/properties"


def pair(model, at_dft, dft, fmt):
    """'own · model@DFT / DFT': the model at its own equilibrium, then the model and DFT on the data's cells."""
    m = fmt % model if model is not None else "-"
    if at_dft is None:
        return m
    return "%s · %s / %s" % (m, fmt % at_dft, "–" if dft is None else fmt % dft)


def row(name, r):
    lat, el = r["lattice_constant"], r.get("elastic", {})
    dd = r.get("dft_data") or {}
    de = (dd.get("elastic") or {}).get("dft", {})
    dm = (dd.get("elastic") or {}).get("model", {})
    bad = (dd.get("elastic") or {}).get("shear_inconsistent")
    surf = r.get("surface", {})
    ds = dd.get("surface") or []
    mae = (sum(abs(x["model"] - x["dft"]) for x in ds) / len(ds)) if ds else None
    return "| %s | %s | %s | %s | %s | %s%s | %.2f | %s | %s | %.2f |" % (
        name, pair(lat["a0"], dm.get("a0"), de.get("a0"), "%.3f"), pair(lat["B"], dm.get("B"), de.get("B"), "%.0f"),
        pair(el.get("C11"), dm.get("C11"), de.get("C11"), "%.0f"),
        pair(el.get("C12"), dm.get("C12"), de.get("C12"), "%.0f"),
        pair(el.get("C44_clamped_ion", el.get("C44")), dm.get("C44"), de.get("C44"), "%.0f") +
        (" [%.0f relaxed]" % el["C44"] if "C44_clamped_ion" in el else ""), " †" if bad else "", r["vacancy"]["E_vac"],
        " / ".join("%.2f" % surf[k]["gamma"] for k in ("100", "110", "111")),
        "-" if mae is None else "%.3f (%d)" % (mae, len(ds)), r["phonons"]["min_frequency"])


def main(names):
    known = [n for n, *_ in SHIPPED]
    if any(n.startswith("-") for n in names):    # -h, --help: nothing else is an option
        print(__doc__.strip() + "\n\nNAME: " + " ".join(known), file=sys.stderr)
        sys.exit(0 if set(names) <= {"-h", "--help"} else 2)
    unknown = [n for n in names if n not in known]
    if unknown:    # before the first (minutes-long) potential
        sys.exit("potentials/checks/properties.py: no shipped potential named %s (one of: %s)"
                 % (", ".join(unknown), " ".join(known)))
    os.makedirs(OUT, exist_ok=True)
    rows = []
    for name, pot, elem, data in SHIPPED:
        if names and name not in names:
            continue
        r = properties.compute_all(pot, element=elem, data=data if os.path.exists(data) else None,
                                   phonon_plot=os.path.join(OUT, name + "_phonons.png"))
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(r, f, indent=1)
        rows.append(row(name, r))
        print(name, "done", file=sys.stderr)
    print("| potential | a0 (Å) | B (GPa) | C11 (GPa) | C12 (GPa) | C44 (GPa) | E_vac (eV) | γ 100/110/111 (J/m²) | "
          "γ MAE on the data's slabs (n) | min ω (THz) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main(sys.argv[1:])
