"""A slice of the real DAVIS set (``../shared/data/dti/davis``) in the three-file layout."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

DAVIS = Path(__file__).resolve().parents[2] / "shared" / "data" / "dti" / "davis"


def write_davis_slice(out: Path, n_drugs: int, n_targets: int) -> Path:
    """``pairs.csv``, ``drugs.csv``, ``targets.csv`` of the first drugs and targets into ``out``."""
    if not DAVIS.is_dir():
        pytest.skip("DAVIS is not in ../shared/data")
    pairs = pd.read_csv(DAVIS / "affinities.csv.gz")
    drugs = pd.read_csv(DAVIS / "drugs.csv")
    targets = pd.read_csv(DAVIS / "targets.csv")
    d_ids, t_ids = drugs.drug_id[:n_drugs], targets.target_id[:n_targets]
    chosen = pairs[pairs.drug_id.isin(d_ids) & pairs.target_id.isin(t_ids)]
    chosen.to_csv(out / "pairs.csv", index=False)
    drugs[drugs.drug_id.isin(d_ids)].to_csv(out / "drugs.csv", index=False)
    targets[targets.target_id.isin(t_ids)].to_csv(out / "targets.csv", index=False)
    return out
