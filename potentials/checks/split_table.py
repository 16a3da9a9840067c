#!/usr/bin/python3
"""split_table.py — several models on one fit config's validation split, per config_type, in one table.

    /usr/bin/python3 potentials/checks/split_table.py potentials/configs/NbMoTaW.yaml \\
        --ref qSNAP=potentials/checks/nbmotaw_refit/NbMoTaW_qSNAP.cv.json \\
        --model shipped=potentials/NbMoTaW.yaml --model mpo3=/tmp/nb/NbMoTaW_M.pot.yaml [--out DIR]

The split is the config's own (data.train, validation_fraction, seed, stratify), reproduced bit for bit
(snap_refit.load_split). Each --model is a tnace potential scored on the held-out structures through the Python
package (snap_refit.tnace_records); each --ref is an existing .cv.json of the same split (e.g. the SNAP refits of
snap_refit.py --split), whose held-out records are read as they are. With --out, every model's records are
written as DIR/NAME.cv.json (tools/cv.py compare pairs them per structure). E MAE in meV/atom, F MAE in eV/Å.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from snap_refit import load_split, table_by_group, tnace_records  # noqa: E402


def named(arg):
    name, _, path = arg.partition("=")
    if not name or not path:
        raise argparse.ArgumentTypeError("expected NAME=PATH, got %r" % arg)
    return name, path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config", help="the tnace fit config whose validation split is scored")
    ap.add_argument("--model", type=named, action="append", default=[], help="NAME=POT.yaml, a tnace potential")
    ap.add_argument("--ref", type=named, action="append", default=[], help="NAME=X.cv.json of the same split")
    ap.add_argument("--out", help="directory for NAME.cv.json of each --model")
    a = ap.parse_args()
    cv, pairs = load_split(a.config, None)
    held = {r["source"] for r, _ in pairs if r["fold"] == 0}
    rows = []
    for name, path in a.ref:
        recs = [r for r in json.load(open(path))["cross_validation"]["structures"] if r.get("fold", -1) >= 0]
        if {r["source"] for r in recs} != held:
            sys.exit("split_table.py: %s does not hold exactly the held-out structures of %s" % (path, a.config))
        rows.append((name, recs))
    for name, path in a.model:
        recs = tnace_records(path, pairs)
        rows.append((name, recs))
        if a.out:
            os.makedirs(a.out, exist_ok=True)
            with open(os.path.join(a.out, name + ".cv.json"), "w") as f:
                json.dump({"generator": "potentials/checks/split_table.py", "potential": path,
                           "cross_validation": {"k": 1, "seed": cv["seed"], "split": cv.get("split"),
                                                "folds_done": [0], "structures": recs}}, f, indent=1)
    table_by_group(rows)


if __name__ == "__main__":
    main()
