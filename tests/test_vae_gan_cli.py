"""``drugforge pretrain --arch smiles-vae|latent-gan`` then ``generate`` with them, end to end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from drugforge.cli import main
from drugforge.core.artifacts import load_generator


def test_vae_then_latent_gan_then_generate(
    moses_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "moses120.smi"
    corpus.write_text("\n".join(pd.read_csv(moses_data / "train.csv.gz", nrows=120)["SMILES"]))
    vae = tmp_path / "vae"
    assert main(["pretrain", str(corpus), "--arch", "smiles-vae", "--out", str(vae),
                 "--max-steps", "3", "--batch-size", "32", "--threads", "1", "--quiet"]) == 0
    assert load_generator(vae).kind == "smiles-vae"
    gan = tmp_path / "gan"
    assert main(["pretrain", str(corpus), "--arch", "latent-gan", "--vae", str(vae),
                 "--out", str(gan), "--max-steps", "6", "--batch-size", "32", "--quiet"]) == 0
    assert load_generator(gan).kind == "latent-gan"
    for model in (vae, gan):
        out = tmp_path / f"{model.name}.csv"
        assert main(["generate", "--model", str(model), "-n", "20", "--out", str(out),
                     "--quiet"]) == 0
        got = pd.read_csv(out)
        assert len(got) == 20
        assert set(got.columns) >= {"smiles", "raw", "valid", "unique", "novel", "error"}
        # an invalid string always carries its reason
        assert (got.loc[~got["valid"], "error"].fillna("") != "").all()
    # the model card is written from what the run saved, with the command that reproduces it
    card = (vae / "model_card.md").read_text()
    assert "--arch smiles-vae" in card and "--max-steps 3" in card and "validity" in card
    assert f"--vae {vae}" in (gan / "model_card.md").read_text()
    # decoding chosen latent points: a path between two molecules, samples around one
    pair = ["CCOc1ccccc1", "CC(=O)Nc1ccc(O)cc1"]
    for model in (vae, gan):
        path = tmp_path / f"{model.name}-path.csv"
        assert main(["generate", "--model", str(model), "-n", "5", "--interpolate", *pair,
                     "--out", str(path), "--quiet"]) == 0
        got = pd.read_csv(path)
        assert got["t"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
        assert (got.loc[~got["valid"], "error"].fillna("") != "").all()
    near = tmp_path / "near.csv"
    assert main(["generate", "--model", str(vae), "-n", "7", "--near", pair[0], "--radius", "1",
                 "--out", str(near), "--quiet"]) == 0
    assert len(pd.read_csv(near)) == 7
    capsys.readouterr()
    # bad input to the latent modes: one line, exit 2
    for args in (["--interpolate", "CCO", "C1CC"], ["--near", "not-a-molecule"],
                 ["--near", "CCO", "--interpolate", "CCO", "CCN"], ["--interpolate", "CCO", "CCN",
                 "-n", "1"]):  # fmt: skip
        if "-n" not in args:
            args = [*args, "-n", "3"]
        assert main(["generate", "--model", str(vae), "--out", str(tmp_path / "bad.csv"),
                     "--quiet", *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        (["--arch", "latent-gan"], "--vae"),
        (["--arch", "smiles-vae", "--size", "tiny"], "--size"),
        (["--epochs", "2"], "--epochs"),
    ],
)
def test_arch_flag_mismatches_are_one_line(
    extra: list[str], text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "c.smi"
    corpus.write_text("CCO\nCCN\n")
    assert main(["pretrain", str(corpus), "--out", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and text in err, err
