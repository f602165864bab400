"""Fitted drugforge predictors as ONNX graphs that onnxruntime runs without drugforge.

The graph starts at the featurized molecule and ends at the prediction; the featurization itself
(RDKit) stays outside and is documented input by input (:func:`describe_inputs`):

- fingerprint/descriptor models (``svm``, ``gp``, ``gbm``, ``mlp``): one float32 matrix
  ``features`` ``(n, F)``, the featurizers' outputs side by side;
- ``mpnn``: the batched molecular graph of :func:`drugforge.molecules.featurize.graph.batch_graphs`
  (``atom_features``, ``bond_features``, ``edge_index``, ``rev_edge``, ``atom_batch``), plus
  ``features`` when the model appends descriptors;
- ``ensemble``: the union of its members' inputs (members with the same featurizers share one).

Outputs (float64): ``prediction`` ``(n, t)`` - values in the target's units, or P(class 1),
calibrated as the saved model calibrates it (Platt or isotonic, per task) - and
``std`` ``(n, t)``, the reported standard deviation of ``drugforge predict`` (the saved
uncertainty recipe applied to the model's native spread, if any). A target the model was fitted
on as ``log10(y)`` (the saved ``target_transform``) is brought back to its units in the graph:
``Pow(10, mu)`` and the delta-method std ``ln(10) * 10**mu * std``, as ``drugforge predict`` does.

Every converter writes plain ONNX operators from the model's fitted arrays: the Tanimoto kernel as
``Gather``/``GreaterOrEqual``/``MatMul`` (exact on integer fingerprints, as in
:mod:`drugforge.molecules.models.kernels`), LightGBM trees as one ``ai.onnx.ml`` ``TreeEnsemble`` node from
``Booster.dump_model()``, the torch networks layer by layer from their weights. The networks are
written directly rather than through ``torch.onnx.export``: torch 2.13's default exporter needs
``onnxscript`` and the TorchScript one is deprecated, and the graph then shares its inputs and its
float64 post-processing with the other converters. The parity check of
:func:`drugforge.workflows.export.run_export` compares every export with drugforge's own
predictions, so a converter that drifted from its model fails loudly.

This module assembles the whole model (:func:`to_onnx`); the converters are in
:mod:`~drugforge.molecules.export.onnx_converters`, the inputs (computing and documenting them) in
:mod:`~drugforge.molecules.export.onnx_inputs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx

from drugforge.core.evaluation.target_transform import is_identity
from drugforge.core.evaluation.target_transform import methods as target_methods
from drugforge.molecules.export.graph import ExportError, GraphBuilder, InputSpec
from drugforge.molecules.export.onnx_converters import convert
from drugforge.molecules.models.base import MolecularPredictor

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "ExportError", "OnnxExport", "to_onnx"]

#: ai.onnx opset written by default; 16 is the first with ScatterND(reduction="add")
DEFAULT_OPSET = 17
MIN_OPSET = 16
# ------------------------------------------------------------------------------- whole model
@dataclass
class OnnxExport:
    """An exported model with what is needed to feed it and read it."""

    model: onnx.ModelProto
    inputs: list[InputSpec]
    outputs: list[dict[str, Any]]
    opsets: dict[str, int]


def _reported_std(
    g: GraphBuilder, mean: str, spread: str | None, recipe: dict[str, Any] | None, n_tasks: int
) -> tuple[str | None, str]:
    """The ``std`` output: ``core.evaluation.uncertainty.apply_uncertainty`` in ONNX."""
    if recipe is None:
        return spread, "the model's native spread (uncalibrated)"
    method = recipe.get("method")
    if method == "bernoulli" or (method == "ensemble-spread" and spread is None):
        p1 = g.op("Mul", mean, g.op("Sub", g.const(1.0, "one"), mean))
        return g.op("Sqrt", g.op("Max", p1, g.const(0.0, "zero"))), "sqrt(p (1 - p))"
    if method == "ensemble-spread":
        return spread, "spread of the ensemble members' probabilities"
    scale = np.asarray(recipe.get("scale", []), dtype=np.float64)
    if scale.shape != (n_tasks,):
        return None, "no usable uncertainty calibration in the model"
    if method == "native-scaled" and spread is not None:
        return g.op("Mul", spread, g.const(scale[None, :], "std_scale")), \
            "the model's native spread times the per-target scale fitted on validation data"
    return g.fill(scale, g.rows(mean)), \
        "a constant per target, fitted on the validation residuals"  # fmt: skip


def _calibrated(g: GraphBuilder, mean: str, recipe: dict[str, Any] | None, n_tasks: int) -> str:
    """``core.evaluation.probability.apply_probability_calibration`` in ONNX, column by column."""
    tasks = (recipe or {}).get("tasks") or []
    if not tasks:
        return mean
    if len(tasks) != n_tasks:
        raise ExportError(f"the probability calibration has {len(tasks)} task(s), the model "
                          f"{n_tasks}")  # fmt: skip
    columns = []
    for j, task in enumerate(tasks):
        p = g.op("Gather", mean, g.ints([j], "task"), axis=1, hint=f"p{j}")  # (n, 1)
        method = task.get("method")
        if method == "platt":
            eps = 1e-7  # as probability._EPS
            q = g.op("Clip", p, g.const(eps, "eps"), g.const(1.0 - eps, "one_minus_eps"))
            z = g.op("Sub", g.op("Log", q), g.op("Log", g.op("Sub", g.const(1.0, "one"), q)))
            s = g.op("Add", g.op("Mul", z, g.const(float(task["a"]), "platt_a")),
                     g.const(float(task["b"]), "platt_b"))  # fmt: skip
            columns.append(g.op("Sigmoid", g.op("Neg", s)))  # 1 / (1 + exp(s))
        elif method == "isotonic":
            # np.interp(p, x, y) = y_0 + sum_k slope_k * (clip(p, x_k, x_k+1) - x_k)
            x = np.asarray(task["x"], dtype=np.float64)
            y = np.asarray(task["y"], dtype=np.float64)
            y0 = g.const(np.asarray([[y[0]]]), "iso_y0")
            if len(x) < 2:
                columns.append(g.op("Add", g.op("Mul", p, g.const(0.0, "zero")), y0))
                continue
            lo, hi = x[:-1][None, :], x[1:][None, :]  # (1, K)
            width = hi - lo
            slope = np.divide(np.diff(y)[None, :], width, out=np.zeros_like(width),
                              where=width > 0)  # fmt: skip
            inside = g.op("Min", g.op("Max", p, g.const(lo, "iso_lo")), g.const(hi, "iso_hi"))
            steps = g.op("Mul", g.op("Sub", inside, g.const(lo, "iso_lo")),
                         g.const(slope, "iso_slope"))  # (n, K)  # fmt: skip
            columns.append(g.op("Add", g.reduce("ReduceSum", steps, [1]), y0))
        elif method == "identity":
            columns.append(p)
        else:
            raise ExportError(f"probability calibration {method!r} has no ONNX form")
    return columns[0] if len(columns) == 1 else g.op("Concat", *columns, axis=1)


def _to_target_units(
    g: GraphBuilder, mean: str, std: str | None, recipe: dict[str, Any] | None, n_tasks: int
) -> tuple[str, str | None]:
    """``core.evaluation.target_transform.inverse`` in ONNX: in the ``log10`` columns (a constant
    mask), ``10**clip(mu, -300, 300)`` and ``ln(10) * 10**mu * std``; other columns unchanged."""
    if is_identity(recipe):
        return mean, std
    try:
        methods = target_methods(recipe, n_tasks)
    except ValueError as err:
        raise ExportError(f"target transform: {err}") from None
    mask = g.const(np.asarray([[m == "log10" for m in methods]]), "log10_columns")  # (1, t) bool
    exponent = g.op("Clip", mean, g.const(-300.0, "min_exp"), g.const(300.0, "max_exp"))
    powered = g.op("Pow", g.const(10.0, "ten"), exponent)  # (n, t)
    out_mean = g.op("Where", mask, powered, mean, hint="prediction_units")
    if std is None:
        return out_mean, None
    delta = g.op("Mul", g.op("Mul", out_mean, g.const(float(np.log(10.0)), "ln10")), std)
    return out_mean, g.op("Where", mask, delta, std, hint="std_units")


def to_onnx(
    model: MolecularPredictor,
    *,
    uncertainty: dict[str, Any] | None = None,
    probability_calibration: dict[str, Any] | None = None,
    target_transform: dict[str, Any] | None = None,
    opset: int = DEFAULT_OPSET,
) -> OnnxExport:
    """Convert a fitted predictor; ``uncertainty``, ``probability_calibration`` and
    ``target_transform`` are the saved recipes (``manifest.json``), applied in the graph as
    ``drugforge predict`` applies them.

    Raises :class:`ExportError` for a model class (or a fitted part) without an ONNX form.
    """
    top = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= int(opset) <= top:
        raise ExportError(f"opset {opset} is not supported; choose from {MIN_OPSET} to {top}")
    g = GraphBuilder(int(opset))
    mean, spread = convert(model, g)
    t = int(model.n_tasks)
    mean = _calibrated(g, mean, probability_calibration, t)
    std, std_text = _reported_std(g, mean, spread, uncertainty, t)
    mean, std = _to_target_units(g, mean, std, target_transform, t)
    if not is_identity(target_transform) and std is not None:
        std_text += " (log10 scale), in the target's units by the delta method"
    what = "P(class 1)" if model.task == "classification" else "value in the target's units"
    outputs = [{"name": "prediction", "dtype": "float64", "shape": ["n", t],
                "description": f"{what}, one column per target"}]  # fmt: skip
    wired: list[tuple[str, str, list[str | int]]] = [(mean, "prediction", ["n", t])]
    if std is not None:
        outputs.append({"name": "std", "dtype": "float64", "shape": ["n", t],
                        "description": f"standard deviation: {std_text}"})  # fmt: skip
        wired.append((std, "std", ["n", t]))
    proto = g.model(wired, doc=f"drugforge {model.name} model ({model.task})")
    if proto.ByteSize() >= 2**31:
        raise ExportError("the ONNX model would exceed protobuf's 2 GB limit")
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as err:
        raise ExportError(f"the exported graph is invalid: {' '.join(str(err).split())[:300]}") \
            from None  # fmt: skip
    return OnnxExport(model=proto, inputs=list(g.inputs), outputs=outputs, opsets=dict(g.domains))
