"""The one training loop (``drugforge.core.training``) on a GPU after the move to core.

Three checks on a synthetic regression task (an MLP, 40,000 rows, 64 features), each on
``--device`` (cuda on a GPU machine; cpu works too):

1. a full fp32 run with checkpoints, timed (samples/s);
2. the same run stopped by SIGTERM mid-way (a checkpoint is written), then resumed: the final
   weights must equal the uninterrupted run's exactly (deterministic kernels);
3. bf16 autocast (``precision='auto'``): the validation loss stays within 5 % of fp32's.

Needs only torch, numpy, safetensors, rich and scikit-learn (no RDKit): ``core`` imports none.

    PYTHONPATH=src python benchmarks/gpu_loop_check.py --device cuda --out results.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from drugforge.core.training.data import TensorData
from drugforge.core.training.device import seed_everything
from drugforge.core.training.hooks import TrainHooks
from drugforge.core.training.loop import TrainConfig, TrainingInterrupted, fit_torch
from drugforge.core.training.losses import masked_mse


class _Sigterm(TrainHooks):
    """Sends this process SIGTERM after the ``at``-th batch, as a cluster scheduler would."""

    def __init__(self, at: int) -> None:
        self.at, self.n = at, 0

    def on_batch_end(self, epoch: int, step: int, loss: float) -> None:
        self.n += 1
        if self.n == self.at:
            os.kill(os.getpid(), signal.SIGTERM)


def _data(n: int, seed: int) -> TensorData:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 64, generator=g)
    w = torch.randn(64, 1, generator=torch.Generator().manual_seed(99))
    y = torch.tanh(X @ w / 8.0) + 0.1 * torch.randn(n, 1, generator=g)
    return TensorData(X, y)


def _net() -> nn.Module:
    seed_everything(0)
    return nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 1))  # fmt: skip


def _loss(module: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    X, y = batch
    return masked_mse(module(X), y)


def _run(device: str, ckpt: Path, *, precision: str = "fp32", resume: bool = False,
         hooks: list[TrainHooks] | None = None) -> tuple[nn.Module, float, float]:  # fmt: skip
    net = _net()
    config = TrainConfig(max_epochs=8, batch_size=256, lr=1e-3, patience=None, quiet=True,
                         device=device, precision=precision, checkpoint_dir=str(ckpt),
                         checkpoint_every=100, resume=resume)  # fmt: skip
    t0 = time.perf_counter()
    result = fit_torch(net, _data(40_000, 1), _data(4_000, 2), _loss, config, hooks)
    return net, time.perf_counter() - t0, float(result.best_val_loss)


def _same(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(x.detach().cpu(), y.detach().cpu())
               for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    report: dict[str, object] = {"device": args.device, "torch": torch.__version__}
    if args.device == "cuda":
        report["gpu"] = torch.cuda.get_device_name(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        full, seconds, val_fp32 = _run(args.device, root / "full")
        report["fp32_seconds"] = round(seconds, 2)
        report["fp32_samples_per_s"] = round(8 * 40_000 / seconds)
        report["fp32_best_val_loss"] = val_fp32
        try:
            _run(args.device, root / "cut", hooks=[_Sigterm(at=600)])
            report["interrupted"] = False
        except TrainingInterrupted as stop:
            report["interrupted"] = True
            report["interrupted_at_step"] = stop.step
        resumed, _, val_resumed = _run(args.device, root / "cut", resume=True)
        report["resume_identical_weights"] = _same(full, resumed)
        report["resume_best_val_loss"] = val_resumed
        _, seconds_bf16, val_bf16 = _run(args.device, root / "bf16", precision="auto")
        report["bf16_seconds"] = round(seconds_bf16, 2)
        report["bf16_best_val_loss"] = val_bf16
        report["bf16_within_5pct"] = abs(val_bf16 - val_fp32) <= 0.05 * val_fp32
    text = json.dumps(report, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")
    ok = report["interrupted"] and report["resume_identical_weights"] and report["bf16_within_5pct"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
