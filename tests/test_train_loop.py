"""The one torch training loop: masked losses, early stopping, hooks, determinism."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from drugforge.core.errors import DrugforgeError
from drugforge.core.training.arrays import (
    ColumnScaler,
    arrays_to_module,
    holdout_split,
    module_to_arrays,
    predict_torch,
)
from drugforge.core.training.data import ListData, TensorData
from drugforge.core.training.device import seed_everything
from drugforge.core.training.hooks import TrainHooks
from drugforge.core.training.loop import TrainConfig, fit_torch
from drugforge.core.training.losses import masked_bce_with_logits, masked_loss, masked_mse

NAN = float("nan")


def mse_fn(module: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
    x, y = batch
    return masked_mse(module(x), y)


# ------------------------------------------------------------------------------- losses
def test_masked_mse_exact() -> None:
    pred = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    target = torch.tensor([[0.0, NAN], [3.0, 2.0]])
    assert masked_mse(pred, target).item() == pytest.approx(5.0 / 3.0)  # (1 + 0 + 4) / 3


def test_masked_bce_equals_bce_on_labelled_entries() -> None:
    logits = torch.tensor([[0.5, -1.0, 2.0], [0.1, 3.0, -0.3]])
    target = torch.tensor([[1.0, NAN, 0.0], [NAN, 1.0, 0.0]])
    mask = ~torch.isnan(target)
    expected = F.binary_cross_entropy_with_logits(logits[mask], target[mask])
    assert masked_bce_with_logits(logits, target).item() == pytest.approx(expected.item())


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_all_missing_labels_give_zero_loss_and_finite_gradients(task: str) -> None:
    pred = torch.randn(4, 3, requires_grad=True)
    loss = masked_loss(task)(pred, torch.full((4, 3), NAN))  # type: ignore[arg-type]
    loss.backward()
    assert loss.item() == 0.0
    assert pred.grad is not None and torch.equal(pred.grad, torch.zeros(4, 3))


def test_masked_loss_rejects_unknown_task() -> None:
    with pytest.raises(ValueError, match="unknown task"):
        masked_loss("ranking")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- config
@pytest.mark.parametrize(
    "bad",
    [
        {"max_epochs": 0},
        {"batch_size": 0},
        {"lr": 0.0},
        {"patience": 0},
        {"device": "tpu"},
        {"lr_schedule": "step"},
    ],
)
def test_train_config_rejects_bad_values(bad: dict) -> None:
    with pytest.raises(ValueError):
        TrainConfig(**bad)


# ------------------------------------------------------------------------ early stopping
class _RecordWeights(TrainHooks):
    """Remembers the scalar weight of a 1x1 linear module after every epoch."""

    def on_train_begin(self, module: nn.Module, config: TrainConfig) -> None:
        self.module = module
        self.weights: dict[int, float] = {}

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.weights[epoch] = float(self.module.weight.item())  # type: ignore[union-attr]


def test_early_stopping_restores_best_weights() -> None:
    # Training pulls w towards 2; validation prefers w = 1. With constant-lr Adam w climbs
    # steadily from 0, so the validation loss falls, bottoms out near w = 1, then rises.
    model = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(model.weight)
    train = TensorData(torch.ones(8, 1), torch.full((8, 1), 2.0))
    val = TensorData(torch.ones(4, 1), torch.ones(4, 1))
    config = TrainConfig(
        max_epochs=100,
        lr=0.05,
        batch_size=8,
        patience=3,
        lr_schedule="constant",
        grad_clip=None,
        quiet=True,
    )
    recorder = _RecordWeights()
    result = fit_torch(model, train, val, mse_fn, config, hooks=recorder)

    val_losses = [h["val_loss"] for h in result.history]
    assert result.stopped_early
    assert len(result.history) == result.best_epoch + config.patience < config.max_epochs
    assert result.best_epoch == int(np.argmin(val_losses)) + 1
    assert result.best_val_loss == pytest.approx(min(val_losses))
    # the module holds the best epoch's weight, not the last one
    w = model.weight.item()
    assert w == recorder.weights[result.best_epoch]
    assert w != recorder.weights[len(result.history)]
    assert abs(w - 1.0) < 0.1
    with torch.no_grad():
        restored = float(((model(torch.ones(4, 1)) - 1.0) ** 2).mean())
    assert restored == pytest.approx(result.best_val_loss)


def test_without_validation_keeps_last_epoch() -> None:
    model = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(model.weight)
    train = TensorData(torch.ones(8, 1), torch.full((8, 1), 2.0))
    recorder = _RecordWeights()
    config = TrainConfig(max_epochs=7, lr=0.05, batch_size=4, quiet=True)
    result = fit_torch(model, train, None, mse_fn, config, hooks=recorder)
    assert len(result.history) == 7 and result.best_epoch == 7
    assert not result.stopped_early and math.isnan(result.best_val_loss)
    assert model.weight.item() == recorder.weights[7]


class _Counter(TrainHooks):
    def __init__(self, stop_at: int | None = None) -> None:
        self.batches = 0
        self.epochs: list[int] = []
        self.stop_at = stop_at
        self.result = None

    def on_batch_end(self, epoch: int, step: int, loss: float) -> None:
        self.batches += 1

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        self.epochs.append(epoch)
        return epoch == self.stop_at

    def on_train_end(self, result) -> None:  # type: ignore[no-untyped-def]
        self.result = result


def test_hooks_are_called_and_can_stop_training() -> None:
    data = TensorData(torch.randn(10, 3), torch.randn(10, 1))
    config = TrainConfig(max_epochs=5, batch_size=4, quiet=True)
    first, second = _Counter(), _Counter(stop_at=3)
    result = fit_torch(nn.Linear(3, 1), data, data, mse_fn, config, hooks=[first, second])
    assert first.epochs == second.epochs == [1, 2, 3]
    assert first.batches == 3 * 3  # ceil(10 / 4) batches per epoch
    assert result.stopped_early and first.result is result
    assert set(result.history[0]) == {
        "epoch",
        "train_loss",
        "val_loss",
        "lr",
        "seconds",
        "samples_per_s",
    }


def test_warmup_then_cosine_learning_rate() -> None:
    data = TensorData(torch.randn(16, 2), torch.randn(16, 1))
    config = TrainConfig(max_epochs=10, batch_size=4, lr=0.01, warmup_epochs=2, quiet=True)
    lrs = [h["lr"] for h in fit_torch(nn.Linear(2, 1), data, None, mse_fn, config).history]
    assert lrs[0] == pytest.approx(0.001)  # warmup starts at lr * min_lr_ratio
    assert lrs[2] == pytest.approx(0.01)  # peak right after warmup
    assert all(a > b for a, b in itertools.pairwise(lrs[2:]))  # then decays
    assert lrs[-1] > 0.001


def test_lr_scale_gives_a_submodule_its_own_slower_group() -> None:
    """One step with SGD-like Adam: each weight moves ~lr; a 0.1-scaled submodule ~0.1 * lr."""
    x, y = torch.randn(32, 3), torch.randn(32, 1)

    def net() -> nn.Sequential:
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))

    def moved(lr_scale: dict[str, float] | None) -> tuple[float, float]:
        model = net()
        before = [p.detach().clone() for p in model.parameters()]
        config = TrainConfig(max_epochs=1, batch_size=32, lr=0.01, warmup_epochs=0,
                             min_lr_ratio=1.0, quiet=True)  # fmt: skip
        fit_torch(model, TensorData(x, y), None, mse_fn, config, lr_scale=lr_scale)
        delta = [(p.detach() - b).abs().mean().item() for p, b in zip(model.parameters(), before)]
        return delta[0], delta[2]  # first layer's weight, last layer's weight

    first, last = moved(None)
    first_slow, last_slow = moved({"0": 0.1})
    assert first == pytest.approx(0.01, rel=0.05) and last == pytest.approx(0.01, rel=0.05)
    assert first_slow == pytest.approx(0.001, rel=0.05)  # the scaled group: 0.1 * lr
    assert last_slow == pytest.approx(last)  # the rest: unchanged
    with pytest.raises(ValueError, match="no submodule"):
        fit_torch(net(), TensorData(x, y), None, mse_fn, config_one(), lr_scale={"encoder": 0.1})


def config_one() -> TrainConfig:
    return TrainConfig(max_epochs=1, quiet=True)


def test_divergence_is_reported() -> None:
    data = TensorData(torch.randn(4, 2), torch.randn(4, 1))

    def nan_loss(module: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
        return module(batch[0]).sum() * float("nan")

    with pytest.raises(DrugforgeError, match="diverged"):
        fit_torch(nn.Linear(2, 1), data, None, nan_loss, TrainConfig(max_epochs=2, quiet=True))


def test_no_training_data_is_an_error() -> None:
    empty = TensorData(torch.zeros(0, 2), torch.zeros(0, 1))
    with pytest.raises(DrugforgeError, match="no training examples"):
        fit_torch(nn.Linear(2, 1), empty, None, mse_fn, TrainConfig(quiet=True))


# --------------------------------------------------------------------------- determinism
def _train_once(seed: int) -> dict[str, Tensor]:
    gen = torch.Generator().manual_seed(123)  # the data stay fixed; only `seed` varies
    data = TensorData(torch.randn(50, 8, generator=gen), torch.randn(50, 2, generator=gen))
    seed_everything(seed)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
    config = TrainConfig(max_epochs=4, batch_size=8, seed=seed, quiet=True)
    fit_torch(model, data, data, mse_fn, config)
    return model.state_dict()


def test_same_seed_gives_identical_weights() -> None:
    a, b, c = _train_once(0), _train_once(0), _train_once(1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


# ------------------------------------------------------------------------- data & helpers
def test_list_data_collates_and_predict_keeps_order() -> None:
    items = [(torch.full((2,), float(i)),) for i in range(7)]

    def collate(rows: list[tuple[Tensor]]) -> tuple[Tensor]:
        return (torch.stack([r[0] for r in rows]),)

    data = ListData(items, collate)
    assert len(data) == 7
    assert data.batch(np.array([3, 1]))[0].tolist() == [[3.0, 3.0], [1.0, 1.0]]
    out = predict_torch(nn.Identity(), data, lambda m, b: m(b[0]), batch_size=3)
    np.testing.assert_array_equal(out[:, 0], np.arange(7))


def test_column_scaler_ignores_nan() -> None:
    y = np.array([[1.0, NAN, 5.0, NAN], [3.0, 2.0, 5.0, NAN], [NAN, 4.0, 5.0, NAN]])
    scaler = ColumnScaler.fit(y)
    np.testing.assert_allclose(scaler.mean, [2.0, 3.0, 5.0, 0.0])
    np.testing.assert_allclose(scaler.std, [1.0, 1.0, 1.0, 1.0])  # constant/empty -> 1
    z = scaler.transform(y)
    np.testing.assert_array_equal(np.isnan(z), np.isnan(y))
    np.testing.assert_allclose(scaler.inverse(z), y)


def test_holdout_split_is_seeded_and_disjoint() -> None:
    train, val = holdout_split(50, 0.1, seed=3)
    assert len(val) == 5 and len(train) == 45
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(50))
    again = holdout_split(50, 0.1, seed=3)
    assert np.array_equal(val, again[1])
    assert not np.array_equal(val, holdout_split(50, 0.1, seed=4)[1])
    assert len(holdout_split(50, 0.0, seed=3)[1]) == 0
    assert len(holdout_split(3, 0.1, seed=3)[1]) == 0  # rounds to no validation molecule


def test_module_arrays_round_trip() -> None:
    seed_everything(0)
    a = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    arrays = module_to_arrays(a)
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    b = arrays_to_module(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)), arrays)
    x = torch.randn(5, 3)
    assert torch.equal(a(x), b(x))
