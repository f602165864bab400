"""A new model family is one file plus one registry line: train, save, load, predict via the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_helpers import run
from drugforge.core.artifacts import load_model
from drugforge.core.registry import MODELS

DATA = Path(__file__).parent / "fixtures" / "legacy_models" / "train.csv"


@pytest.fixture
def toy_registered() -> Iterator[None]:
    MODELS.register("toy-line", "toy_model:HeavyAtomLine", "least squares on heavy atoms")  # the line
    yield
    MODELS.remove("toy-line")


def test_toy_family_trains_saves_loads_and_predicts_through_the_cli(
    toy_registered: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from toy_model import HeavyAtomLine

    model_dir = tmp_path / "toy"
    code, out, err = run(["train", str(DATA), "--target", "logp", "--model", "toy-line",
                          "--out", str(model_dir), "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    assert '"rmse"' in out
    loaded = load_model(model_dir)
    assert isinstance(loaded.model, HeavyAtomLine)
    assert loaded.manifest["model"] == "toy-line"

    query = tmp_path / "query.csv"
    pd.DataFrame({"smiles": ["CCO", "c1ccccc1", "not a smiles"]}).to_csv(query, index=False)
    pred_file = tmp_path / "pred.csv"
    code, _, err = run(["predict", str(model_dir), str(query), "--out", str(pred_file),
                        "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    pred = pd.read_csv(pred_file)
    assert len(pred) == 3 and pred["error"].fillna("").tolist()[:2] == ["", ""]
    assert pred["error"][2] == "invalid SMILES"
    # the loaded model's predictions are the line through the heavy-atom counts (3 and 6)
    a, b = loaded.model.coef_[:, 0]
    np.testing.assert_allclose(pred["logp"][:2], [3 * a + b, 6 * a + b], rtol=1e-12)
    assert np.isfinite(pred["logp_std"][:2]).all()  # calibrated on the validation split

    # the registry names it everywhere names are listed
    code, out, _ = run(["models"], capsys)
    assert code == 0 and "toy-line" in out


def test_unknown_model_lists_the_registered_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match=r"unknown model 'svn' \(did you mean 'svm'\?\); choose"):
        MODELS.get("svn")


def test_registered_after_the_cli_was_first_used(capsys: pytest.CaptureFixture[str]) -> None:
    """Choices are read from the registry when the parser is built, never frozen at import."""
    run(["models"], capsys)  # the CLI and the molecule registry are imported now
    MODELS.register("toy-late", "toy_model:HeavyAtomLine", "registered late")
    try:
        code, out, _ = run(["models"], capsys)
        assert code == 0 and "toy-late" in out
        code, _, err = run(["train", "x.csv", "--model", "toy-late", "--out", "o"], capsys)
        assert "invalid choice" not in err
    finally:
        MODELS.remove("toy-late")
