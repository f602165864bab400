"""Copy a trained generator into the package (``src/drugforge/resources/generators/NAME``).

The weights are the ones ``drugforge pretrain`` wrote, unchanged; the model card it wrote gets
a MOSES section taken from ``benchmarks/moses_generators.py``'s cached result for the same
weights (so the scores on the card are measured, not typed), and the directory is saved again
through :func:`drugforge.core.artifacts.save_generator` so that its manifest and checksums cover the
new card. Refuses any file over 25 MB.

    python benchmarks/ship_generator.py runs/chem-lm-small --name chem-lm \
        --moses benchmarks/results/moses/generators/chem-lm_<sha>_n30000_s0.json
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path
from typing import Any

from moses_generators import weights_sha  # this folder's script (run from benchmarks/)

from drugforge.core.artifacts import load_generator, save_generator
from drugforge.workflows.generative_train import generator_model_card

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "src" / "drugforge" / "resources" / "generators"
MAX_BYTES = 25 * 1024 * 1024
ORDER = ("valid", "unique@1000", "unique@10000", "FCD/Test", "SNN/Test", "Frag/Test",
         "Scaf/Test", "FCD/TestSF", "SNN/TestSF", "Frag/TestSF", "Scaf/TestSF", "IntDiv",
         "IntDiv2", "Filters", "Novelty")  # fmt: skip


def moses_section(row: dict[str, Any]) -> str:
    report = row["report"]
    metrics = report["metrics"]
    lines = [
        "## MOSES scores",
        "",
        (f"{report['n_samples']:,} strings sampled with seed {row['seed']} (temperature 1, no "
        f"top-k), every one scored, invalid ones included ({report['n_valid']:,} valid); "
        "drugforge's implementation of the MOSES metrics (`drugforge benchmark moses`), "
        "reference statistics from the MOSES test sets. Command: "
        f"`python benchmarks/moses_generators.py --generator {row['name']}=DIR -n {row['n']} "
        f"--seed {row['seed']}`."),
        "",
        "| metric | value |",
        "|---|---:|",
    ]
    for key in ORDER:
        value = metrics.get(key)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            lines.append(f"| {key} | {value:.4f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="a generator directory written by drugforge pretrain")
    parser.add_argument("--name", required=True, help="the shipped name (e.g. chem-lm)")
    parser.add_argument("--moses", required=True, help="moses_generators.py result JSON")
    args = parser.parse_args(argv)
    loaded = load_generator(args.source)  # verifies every checksum first
    row = json.loads(Path(args.moses).read_text())
    if weights_sha(Path(args.source)) != row["weights_sha256_16"]:
        raise SystemExit(f"{args.moses} scored other weights than {args.source}'s")
    shipped_as = (f"\n\n## Shipped as `{args.name}`\n\nInside the drugforge package, loaded by name: "
                  f"`drugforge generate --model {args.name} -n 1000 --out samples.csv`.\n")
    source_card = Path(args.source) / "model_card.md"
    if source_card.is_file():
        card = source_card.read_text()
    elif loaded.kind in ("smiles-vae", "latent-gan"):  # trained before runs wrote their card
        card = generator_model_card(loaded.kind, loaded.config, loaded.metrics, loaded.generator)
    else:
        raise SystemExit(f"{args.source} has no model_card.md")
    card = card.rstrip() + shipped_as + "\n" + moses_section(row)
    metrics = {**loaded.metrics, "moses": row["report"]["metrics"],
               "moses_n": row["n"], "moses_seed": row["seed"]}  # fmt: skip
    dest = SHIPPED / args.name
    with tempfile.TemporaryDirectory() as tmp:
        card_path = Path(tmp) / "model_card.md"
        card_path.write_text(card)
        save_generator(dest, loaded.generator, config=loaded.config, metrics=metrics,
                       extra_files={"model_card.md": card_path}, overwrite=True)  # fmt: skip
    too_big = [p for p in dest.iterdir() if p.stat().st_size > MAX_BYTES]
    if too_big:
        raise SystemExit(f"over 25 MB: {', '.join(map(str, too_big))}")
    if weights_sha(dest) != row["weights_sha256_16"]:
        raise SystemExit(f"the shipped weights in {dest} differ from the scored ones")
    load_generator(dest)  # verifies the new manifest
    total = sum(p.stat().st_size for p in dest.iterdir())
    print(f"shipped {dest} ({total / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
