"""Predict throughput (molecules per second, featurization included, cold feature cache) of the
drugforge model chosen in ``benchmarks/moleculenet.py`` and of Chemprop 2.3.1 on the same test
molecules; drugforge is also timed on the whole dataset, a larger batch.

    python benchmarks/throughput.py --datasets esol,freesolv,tox21 --model gbm

Chemprop's rate is read from its cached runs (``chemprop predict`` on the test set, timed with
and without the Python start-up of the CLI).
"""

from __future__ import annotations

import argparse
import json
import time

from common import RESULTS, machine
from moleculenet import prepared, split_files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="esol,freesolv,tox21")
    parser.add_argument("--model", default="gbm")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from drugforge.molecules.featurize import clear_cache
    from drugforge.molecules.models import build_model

    rows = []
    for name in args.datasets.split(","):
        dataset = prepared(name)
        split, _ = split_files(name, dataset, args.seed)
        train, test = dataset.subset(split.train), dataset.subset(split.test)
        model = build_model(args.model, dataset.task).fit(train.smiles, train.y)
        rates = {}
        for label, smiles in (("test", test.smiles), ("all", dataset.smiles)):
            clear_cache()
            t0 = time.perf_counter()
            model.predict(smiles)
            rates[label] = len(smiles) / (time.perf_counter() - t0)
        cp_path = RESULTS / "chemprop" / f"moleculenet_{name}" / "drugforge_scaffold" / f"seed{args.seed}.json"
        cp = json.loads(cp_path.read_text()) if cp_path.is_file() else {}
        row = {"dataset": name, "model": args.model, "n_test": len(test.smiles),
               "n_all": len(dataset.smiles), "drugforge_test": rates["test"],
               "drugforge_all": rates["all"],
               "chemprop_test": cp.get("molecules_per_second", float("nan")),
               "chemprop_test_excl_startup": cp.get("molecules_per_second_excl_startup",
                                                    float("nan"))}
        rows.append(row)
        print(json.dumps(row), flush=True)
    lines = [("| dataset | n test | drugforge mol/s (test) | drugforge mol/s (whole set) | "
              "Chemprop mol/s (CLI) | Chemprop mol/s (excl. start-up) | ratio (excl. start-up) |"),
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = r["drugforge_test"] / r["chemprop_test_excl_startup"]
        lines.append(f"| {r['dataset']} | {r['n_test']} | {r['drugforge_test']:.0f} | "
                     f"{r['drugforge_all']:.0f} (n={r['n_all']}) | {r['chemprop_test']:.0f} | "
                     f"{r['chemprop_test_excl_startup']:.0f} | {ratio:.1f}x |")
    table = "\n".join(lines)
    print(table)
    (RESULTS / "throughput_table.md").write_text(table + "\n\n" + json.dumps(machine()) + "\n")



if __name__ == "__main__":
    main()
