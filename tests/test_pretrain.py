"""Pretraining machinery: fit_torch's step mode, checkpoints and exact resume, the SMILES corpus."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import pickle
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from drugforge.core.errors import ArtifactError, DrugforgeError, InputError
from drugforge.core.training.checkpoint import latest_checkpoint, read_checkpoint
from drugforge.core.training.data import TensorData
from drugforge.core.training.device import seed_everything
from drugforge.core.training.hooks import TrainHooks
from drugforge.core.training.loop import TrainConfig, TrainingInterrupted, TrainResult, fit_torch
from drugforge.core.training.losses import masked_mse
from drugforge.molecules.data.corpus import (
    EXTRA_TOKENS,
    CorpusFile,
    SmilesStream,
    TokenBatches,
    build_vocabulary,
    corpus_file,
    in_holdout,
    iter_records,
    moses_file,
    scan_corpus,
)
from drugforge.molecules.featurize.tokenizer import SmilesTokenizer
from drugforge.molecules.models.chemlm import ChemLM
from drugforge.molecules.models.chemlm_net import ChemLMConfig

TIMING = {"seconds", "samples_per_s", "tokens_per_s"}


def mse_fn(module: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
    x, y = batch
    return masked_mse(module(x), y)


def _data(n: int = 10) -> TensorData:
    gen = torch.Generator().manual_seed(1)
    return TensorData(torch.randn(n, 4, generator=gen), torch.randn(n, 1, generator=gen))


def _net() -> nn.Module:
    seed_everything(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 1))


def _untimed(history: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{k: v for k, v in h.items() if k not in TIMING} for h in history]


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


class _Sigterm(TrainHooks):
    """Sends this process SIGTERM after the ``at``-th batch, as a scheduler would."""

    def __init__(self, at: int) -> None:
        self.at, self.n = at, 0

    def on_batch_end(self, epoch: int, step: int, loss: float) -> None:
        self.n += 1
        if self.n == self.at:
            os.kill(os.getpid(), signal.SIGTERM)


@pytest.fixture()
def main_thread() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers need the main thread")


# --------------------------------------------------------------------------- step mode
def test_step_mode_counts_steps_and_validates_every_n_steps() -> None:
    sizes: list[int] = []

    def loss_fn(module: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
        sizes.append(len(batch[0]))
        return mse_fn(module, batch)

    config = TrainConfig(max_steps=7, eval_every=3, batch_size=4, patience=None, quiet=True)
    result = fit_torch(_net(), _data(10), _data(6), loss_fn, config)
    train_sizes = sizes[: 3] + sizes[3 + 2 : 6 + 2] + sizes[6 + 4 : 7 + 4]  # skip val batches
    assert train_sizes == [4, 4, 2, 4, 4, 2, 4]  # passes over 10 examples, reshuffled
    assert [h["step"] for h in result.history] == [3, 6, 7]
    assert set(result.history[0]) == {"step", "train_loss", "val_loss", "lr", "seconds",
                                      "samples_per_s"}  # fmt: skip
    assert result.steps == 7 and result.units_seen == 24 and result.unit == "samples"
    assert result.stop_reason == "max_steps" and not result.stopped_early


def test_step_mode_learning_rate_schedule() -> None:
    config = TrainConfig(max_steps=10, eval_every=1, warmup_steps=2, lr=0.01, batch_size=4,
                         patience=None, quiet=True)  # fmt: skip
    lrs = [h["lr"] for h in fit_torch(_net(), _data(), None, mse_fn, config).history]
    assert lrs[0] == pytest.approx(0.001) and lrs[2] == pytest.approx(0.01)
    assert all(a > b for a, b in itertools.pairwise(lrs[2:])) and lrs[-1] > 0.001


def test_a_stream_needs_a_step_budget(moses_test_sample: list[str], tmp_path: Path) -> None:
    tok = SmilesTokenizer.build(moses_test_sample[:50])
    stream = TokenBatches(SmilesStream([_smi(moses_test_sample[:50], tmp_path)], tok, 64), 8)
    with pytest.raises(ValueError, match="set max_steps"):
        fit_torch(_net(), stream, None, mse_fn, TrainConfig(quiet=True))


def _smi(smiles: list[str], folder: Path) -> CorpusFile:
    path = folder / "corpus.smi"
    path.write_text("\n".join(smiles) + "\n")
    return corpus_file(path)


# ------------------------------------------------------------------- checkpoints & resume
def _lm_run(corpus: CorpusFile, tok: SmilesTokenizer, ckpt: Path, *, resume: bool = False,
            hooks: list[TrainHooks] | None = None, val: list[str] | None = None) -> ChemLM:  # fmt: skip
    config = ChemLMConfig(len(tok), n_layer=2, n_head=2, d_model=32, max_len=64, dropout=0.2)
    lm = ChemLM.create(tok, config, seed=0)
    stream = SmilesStream([corpus], tok, 64, seed=1, buffer_size=40, augment=0.5)
    train = TrainConfig(max_steps=30, eval_every=10, checkpoint_every=7, batch_size=8,
                        warmup_steps=5, patience=None, checkpoint_dir=str(ckpt), resume=resume,
                        quiet=True)  # fmt: skip
    lm.fit(TokenBatches(stream, 8), train, val_smiles=val, hooks=hooks)
    lm.stream_stats_ = stream.stats  # type: ignore[attr-defined]
    return lm


def test_resume_after_sigterm_gives_identical_weights(
    moses_test_sample: list[str], tmp_path: Path, main_thread: None
) -> None:
    smiles = moses_test_sample[:120]
    tok = SmilesTokenizer.build(smiles)
    corpus = _smi(smiles + ["C1CC"], tmp_path)
    val = moses_test_sample[200:210]
    full = _lm_run(corpus, tok, tmp_path / "a", val=val)

    with pytest.raises(TrainingInterrupted) as stop:
        _lm_run(corpus, tok, tmp_path / "b", val=val, hooks=[_Sigterm(at=17)])
    assert stop.value.exit_code == 130 and stop.value.step == 17
    assert "SIGTERM" in str(stop.value) and "\n" not in str(stop.value)
    kept = sorted(p.name for p in (tmp_path / "b").iterdir())
    assert kept == ["step-000000014", "step-000000017"]  # every 7 steps + the interruption
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers restored

    resumed = _lm_run(corpus, tok, tmp_path / "b", val=val, resume=True)
    assert _same_weights(full.module, resumed.module)
    assert _untimed(resumed.train_result_.history) == _untimed(full.train_result_.history)
    assert resumed.train_result_.units_seen == full.train_result_.units_seen
    assert resumed.stream_stats_ == full.stream_stats_  # type: ignore[attr-defined]
    assert resumed.stream_stats_.skipped["invalid"] == 1  # type: ignore[attr-defined]


def test_epoch_mode_resume_and_time_budget_are_exact(tmp_path: Path, main_thread: None) -> None:
    def run(
        ckpt: Path, hooks: list[TrainHooks] | None = None, **kw: Any
    ) -> tuple[nn.Module, TrainResult]:
        net = _net()
        config = TrainConfig(max_epochs=4, batch_size=3, patience=None, quiet=True,
                             checkpoint_dir=str(ckpt), **kw)  # fmt: skip
        return net, fit_torch(net, _data(10), _data(5), mse_fn, config, hooks)

    full_net, full = run(tmp_path / "full")
    with pytest.raises(TrainingInterrupted):
        run(tmp_path / "cut", hooks=[_Sigterm(at=6)])
    net, result = run(tmp_path / "cut", resume=True)
    assert _same_weights(full_net, net)
    assert _untimed(result.history) == _untimed(full.history)

    # a time budget stops after one step each session; the sessions add up to the full run
    sessions = 0
    while True:
        sessions += 1
        net, result = run(tmp_path / "budget", time_budget_s=1e-9, resume=sessions > 1)
        if result.stop_reason != "time_budget":
            break
        assert result.stopped_early
    assert sessions == 16 and _same_weights(full_net, net)  # 4 epochs x 4 batches


def test_checkpoints_load_without_pickle(
    moses_test_sample: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    smiles = moses_test_sample[:60]
    tok = SmilesTokenizer.build(smiles)
    corpus = _smi(smiles, tmp_path)
    _lm_run(corpus, tok, tmp_path / "ck")

    def no_pickle(*args: object, **kwargs: object) -> None:
        raise AssertionError("pickle used")

    for target, name in ((pickle, "load"), (pickle, "loads"), (torch, "load")):
        monkeypatch.setattr(target, name, no_pickle)
    latest = latest_checkpoint(tmp_path / "ck")
    assert latest is not None and latest.name == "step-000000030"
    assert {p.suffix for p in latest.iterdir()} == {".json", ".safetensors"}
    checkpoint = read_checkpoint(latest)
    assert checkpoint.step == 30 and checkpoint.meta["loop"]["finished"]
    assert json.loads((latest / "state.json").read_text())["stream"]["file"] == 0
    assert all(isinstance(t, Tensor) for t in checkpoint.model.values())
    assert any(k.endswith("exp_avg") for k in checkpoint.optimizer)
    resumed = _lm_run(corpus, tok, tmp_path / "ck", resume=True)  # nothing left to do
    assert resumed.train_result_.steps == 30


def test_damaged_checkpoints_and_changed_settings_are_refused(tmp_path: Path) -> None:
    config = TrainConfig(max_steps=4, batch_size=4, quiet=True, checkpoint_dir=str(tmp_path))
    fit_torch(_net(), _data(), None, mse_fn, config)
    with pytest.raises(DrugforgeError, match="written with lr=0.001 but this run has lr=0.01"):
        fit_torch(_net(), _data(), None, mse_fn,
                  TrainConfig(max_steps=4, batch_size=4, lr=0.01, quiet=True,
                              checkpoint_dir=str(tmp_path), resume=True))  # fmt: skip
    weights = tmp_path / "step-000000004" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="model.safetensors is missing or damaged"):
        fit_torch(_net(), _data(), None, mse_fn,
                  TrainConfig(max_steps=4, batch_size=4, quiet=True,
                              checkpoint_dir=str(tmp_path), resume=True))  # fmt: skip
    with pytest.raises(DrugforgeError, match="no checkpoint to resume from"):
        fit_torch(_net(), _data(), None, mse_fn,
                  TrainConfig(max_steps=4, quiet=True, checkpoint_dir=str(tmp_path / "none"),
                              resume=True))  # fmt: skip


# ------------------------------------------------------------------------------- corpus
def test_stream_skips_and_counts_every_bad_molecule(tmp_path: Path) -> None:
    good = ["CCO", "c1ccccc1", "CC(=O)O", "CCN"]
    tok = SmilesTokenizer.build(good)
    path = tmp_path / "bad.csv"
    rows = ["id,smiles", "a,CCO", "b,c1ccccc1", "c,C1CC", "d,", "e,CC[Se]C", f"f,{'C' * 50}",
            "g,CC(=O)O", "h,CCN"]  # fmt: skip
    path.write_text("\n".join(rows) + "\n")
    stream = SmilesStream([corpus_file(path)], tok, max_len=40, buffer_size=2, seed=0)
    drawn = [next(stream) for _ in range(12)]  # more than one pass
    assert set(drawn) == set(good)
    stats = stream.stats
    assert (stats.read, stats.used, stats.passes) == (8, 4, 3)
    assert stats.skipped == {"empty": 1, "invalid": 1, "unknown_token": 1, "too_long": 1}
    assert stats.examples[0] == "bad.csv:4: invalid: C1CC"
    assert stats.examples[1] == "bad.csv:5: empty: "
    assert stats.examples[2] == "bad.csv:6: unknown token: CC[Se]C"
    assert stats.summary() == ("read 8: 4 used, skipped 4 (1 empty, 1 invalid, 1 unknown token, "
                               "1 too long)")  # fmt: skip


def test_a_corpus_without_usable_molecules_is_an_error(tmp_path: Path) -> None:
    tok = SmilesTokenizer.build(["C1CC1N"])
    stream = SmilesStream([_smi(["C1CC", "N1"], tmp_path)], tok, 40)
    with pytest.raises(InputError, match="no usable molecules in the corpus: read 2: 0 used, "
                                         "skipped 2 \\(2 invalid\\)"):  # fmt: skip
        next(stream)


def test_stream_position_round_trip(moses_test_sample: list[str], tmp_path: Path) -> None:
    smiles = moses_test_sample[:50]
    tok = SmilesTokenizer.build(smiles)
    corpus = _smi(smiles, tmp_path)

    def stream(seed: int = 3) -> SmilesStream:
        return SmilesStream([corpus], tok, 80, seed=seed, buffer_size=8, augment=0.5,
                            holdout_fraction=0.1)  # fmt: skip

    a = stream()
    first = [next(a) for _ in range(70)]  # into the second pass
    state = json.loads(json.dumps(a.state_dict()))  # the position survives JSON
    rest = [next(a) for _ in range(40)]
    b = stream()
    b.load_state_dict(state)
    assert [next(b) for _ in range(40)] == rest
    assert first != [next(stream(seed=4)) for _ in range(70)]
    assert any(s not in set(smiles) for s in first)  # randomized SMILES
    assert not any(in_holdout(s, 0.1) for s in first if s in set(smiles))
    assert a.stats.held_out == sum(in_holdout(s, 0.1) for s in smiles) > 0


def test_records_keep_line_numbers_in_gzip_and_tables(tmp_path: Path) -> None:
    smi = tmp_path / "x.smi.gz"
    smi.write_bytes(gzip.compress(b"smiles name\n# a comment\nCCO ethanol\n\nc1ccccc1 benzene\n"))
    assert list(iter_records(corpus_file(smi))) == [(3, "CCO"), (5, "c1ccccc1")]
    assert list(iter_records(corpus_file(smi), start=1)) == [(5, "c1ccccc1")]
    tsv = tmp_path / "x.tsv"
    tsv.write_text("name\tMy Smiles\nethanol\tCCO\n\nwater\tO\n")
    assert list(iter_records(corpus_file(tsv, "my smiles"))) == [(2, "CCO"), (4, "O")]
    assert corpus_file(tsv).column == 1  # found by name


def test_bad_corpus_files_give_one_line(tmp_path: Path) -> None:
    cases = {"x.sdf": "CCO\n", "empty.smi": "", "cols.csv": "a,b\n1,2\n"}
    messages = {"x.sdf": "unsupported corpus file type", "empty.smi": "file is empty",
                "cols.csv": "no SMILES column found"}  # fmt: skip
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(InputError, match=messages[name]) as err:
            corpus_file(tmp_path / name)
        assert "\n" not in str(err.value) and name in str(err.value)
    with pytest.raises(InputError, match="column 'smi' not found; available: a, b"):
        corpus_file(tmp_path / "cols.csv", "smi")


def test_vocabulary_is_corpus_tokens_then_extra_tokens(moses_test_sample: list[str]) -> None:
    path = moses_file("test")
    assert path.name == "test.csv.gz" and moses_file("train").is_file()
    first = next(iter_records(corpus_file(path)))
    assert first[0] == 2  # line 1 is the header "SMILES"
    scan = scan_corpus([corpus_file(p) for p in [path]], holdout_fraction=0.01, max_holdout=50)
    assert scan.n_records == 176_074 and len(scan.holdout) == 50
    tok = build_vocabulary(scan.token_counts)
    corpus = tok.tokens[4 : 4 + len(scan.token_counts)]
    assert corpus[:3] == ("c", "C", "(") and set(corpus) == set(scan.token_counts)
    assert "[C@H]" not in scan.token_counts and "[C@H]" in tok.tokens  # MOSES has no stereo
    assert len(set(tok.tokens)) == len(tok.tokens)
    assert set(EXTRA_TOKENS) <= set(tok.tokens)
    assert not tok.has_unknown("C[C@@H](N)C(=O)[O-].[Na+]")
