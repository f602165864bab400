"""Models saved by an earlier release load and predict bit-identically through ``drugforge predict``.

The fixtures (``tests/fixtures/legacy_models``) were written by ``make_legacy_models.py`` with the
last main before the move to ``drugforge/core`` (GBM classifier, MPNN and frozen chem-lm
regressors, each with its calibrated uncertainty): the output file must equal, byte for byte, the
one that release wrote for the same query (invalid rows included).
"""

from __future__ import annotations

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
    assert out.read_bytes() == (LEGACY / f"{name}_expected.csv").read_bytes()
