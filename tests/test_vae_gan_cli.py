"""``drugforge pretrain --arch smiles-vae|latent-gan`` then ``generate`` with them, end to end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from drugforge.artifacts import load_generator
from drugforge.cli import main


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
    capsys.readouterr()


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
