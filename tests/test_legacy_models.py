"""Models saved by an earlier release load and predict identically through ``drugforge predict``.

The fixtures (``tests/fixtures/legacy_models``) were written by ``make_legacy_models.py`` with the
last main before the move to ``drugforge/core`` (GBM classifier, MPNN and frozen chem-lm
regressors, each with its calibrated uncertainty): the output must have the same header, rows,
order and text cells (invalid rows and their reasons included) as the one that release wrote for
the same query, and the same numbers to 1e-5 relative (the neural models are float32). Torch's
CPU kernels differ between processor models in the last bits (seen on CI: 4.572943955 here,
4.572943429 there), so those models are not bit-identical across machines; a loading bug moves
the numbers far more than that.
"""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import pytest

from cli_helpers import run

LEGACY = Path(__file__).parent / "fixtures" / "legacy_models"
NAMES = sorted(p.name for p in LEGACY.iterdir() if (p / "manifest.json").is_file())


def test_fixtures_present() -> None:
    assert NAMES == ["chemlm_regressor", "gbm_classifier", "mpnn_regressor"]


@pytest.mark.parametrize("name", NAMES)
def test_saved_before_the_move_predicts_identically(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / name
    shutil.copytree(LEGACY / name, model)  # loading must not need to write next to the model
    out = tmp_path / "pred.csv"
    code, _, err = run(["predict", str(model), str(LEGACY / "query.csv"), "--out", str(out),
                        "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    got, want = _rows(out), _rows(LEGACY / f"{name}_expected.csv")
    assert got[0] == want[0] and len(got) == len(want)
    for line, (g, w) in enumerate(zip(got, want), start=1):
        assert len(g) == len(w), f"line {line}: {g} != {w}"
        for a, b in zip(g, w):
            if a != b and _is_number(a) and _is_number(b):
                assert math.isclose(float(a), float(b), rel_tol=1e-5, abs_tol=1e-6), (line, a, b)
            else:
                assert a == b, f"line {line}: {a!r} != {b!r}"


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
