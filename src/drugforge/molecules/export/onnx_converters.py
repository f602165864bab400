"""One ONNX converter per exportable model family, written from the model's fitted arrays.

Each converter takes a fitted predictor and a :class:`~drugforge.molecules.export.graph.GraphBuilder`,
declares the inputs it needs and returns its :data:`Fragment`: the names of the mean ``(n, t)``
and of the native spread (or None), both float64. The Tanimoto kernel is written as
``Gather``/``GreaterOrEqual``/``MatMul`` (exact on integer fingerprints, as in
:mod:`drugforge.molecules.models.kernels`), LightGBM trees as one ``ai.onnx.ml`` ``TreeEnsemble``
node from ``Booster.dump_model()``, the torch networks layer by layer from their weights. The
whole-model assembly (std output, checks) is :func:`drugforge.molecules.export.onnx.to_onnx`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.linalg as sla
from onnx import numpy_helper

from drugforge.molecules.export.graph import DOUBLE, FLOAT, ExportError, GraphBuilder
from drugforge.molecules.models.base import MolecularPredictor

__all__ = ["Fragment", "convert", "exportable_models"]

#: ai.onnx.ml opset of the TreeEnsemble operator (float64 thresholds and outputs)
ML_OPSET = 5

#: (mean (n, t) float64, native spread (n, t) float64 or None): what a converter returns
Fragment = tuple[str, str | None]


# ---------------------------------------------------------------------------- Tanimoto kernel
def _tanimoto(g: GraphBuilder, x: str, support: np.ndarray) -> str:
    """MinMax/Jaccard similarity ``(n, m)`` float64 of the input rows to fixed ``support`` rows.

    ``sum(min(a, b)) = sum_t [a >= t] . [b >= t]`` over count levels ``t``; the levels stop at the
    largest support count of each column (beyond it ``[b >= t]`` is 0), so the support side is a
    constant 0/1 matrix and the input side one Gather + GreaterOrEqual. The float32 product sums
    0/1 terms: exact, like drugforge's own kernel.
    """
    S = np.asarray(support, dtype=np.float64)  # (m, d)
    if S.size and (S.min() < 0 or not np.array_equal(S, np.round(S))):
        raise ExportError(
            "the ONNX Tanimoto kernel needs non-negative integer features (fingerprints or "
            "fingerprint counts)"
        )
    top = S.max(axis=0) if len(S) else np.zeros(S.shape[1])
    columns = [np.flatnonzero(top >= t) for t in range(1, int(top.max(initial=0)) + 1)]
    idx = np.concatenate(columns).astype(np.int64) if columns else np.zeros(0, np.int64)
    thr = np.concatenate([np.full(len(c), t, np.float32) for t, c in enumerate(columns, 1)]) \
        if columns else np.zeros(0, np.float32)  # fmt: skip
    support_mask = (S[:, idx] >= thr).T.astype(np.uint8)  # (W, m), stored as bytes

    levels = g.op("Gather", x, g.const(idx, "level_columns"), axis=1)  # (n, W)
    input_mask = g.cast(g.op("GreaterOrEqual", levels, g.const(thr, "level_thresholds")), FLOAT)
    support_f = g.cast(g.const(support_mask, "support_levels"), FLOAT)
    smin = g.cast(g.op("MatMul", input_mask, support_f), DOUBLE)  # (n, m) sum of minima
    na = g.reduce("ReduceSum", g.cast(x, DOUBLE), [1])  # (n, 1)
    nb = g.const(S.sum(axis=1)[None, :], "support_sums")  # (1, m)
    smax = g.op("Sub", g.op("Add", na, nb), smin)
    ratio = g.op("Div", smin, g.op("Max", smax, g.const(np.array(1e-300), "tiny")))
    # two all-zero vectors are identical: similarity 1, as in drugforge
    return g.op("Where", g.op("Greater", smax, g.const(0.0, "zero")), ratio,
                g.const(1.0, "one"), hint="tanimoto")  # fmt: skip


def _logistic(g: GraphBuilder, z: str) -> str:
    """``1 / (1 + exp(-z))`` in float64 (exp overflow gives 0, never NaN)."""
    e = g.op("Exp", g.op("Neg", z))
    return g.op("Reciprocal", g.op("Add", e, g.const(1.0, "one")))


def _where_constant(g: GraphBuilder, values: str, kinds: Sequence[dict[str, Any]]) -> str:
    """Replace the columns of tasks fitted as a constant by their constant value."""
    const = np.array([t["kind"] == "constant" for t in kinds])
    if not const.any():
        return values
    fill = np.array([float(t["value"]) if t["kind"] == "constant" else 0.0 for t in kinds])
    return g.op("Where", g.const(const[None, :], "constant_task"),
                g.const(fill[None, :], "constant_value"), values)  # fmt: skip


# ------------------------------------------------------------------------------- converters
def _svm(model: Any, g: GraphBuilder) -> Fragment:
    x = g.features_input(model.featurizers_)
    tasks: list[dict[str, Any]] = model.tasks_
    support = np.asarray(model.support_features_, dtype=np.float32)  # (m, d)
    dual = np.zeros((len(support), len(tasks)))
    intercept = np.zeros(len(tasks))
    for j, t in enumerate(tasks):
        if t["kind"] != "constant":
            dual[t["support_index"], j] = t["dual"]
            intercept[j] = t["intercept"]
    if len(support):
        K = _tanimoto(g, x, support)  # (n, m)
        dec = g.op("Add", g.op("MatMul", K, g.const(dual, "dual")), g.const(intercept, "b"))
    else:  # every task constant
        dec = g.fill(intercept, g.rows(x))
    if model.task == "regression":
        scale = [t.get("y_scale", 1.0) for t in tasks]
        mean = [t.get("y_mean", 0.0) for t in tasks]
        out = g.op("Add", g.op("Mul", dec, g.const(np.array(scale), "y_scale")),
                   g.const(np.array(mean), "y_mean"))  # fmt: skip
    else:  # Platt: P(1) = 1 / (1 + exp(a f + b))
        a = np.array([t.get("platt_a", 0.0) for t in tasks])
        b = np.array([t.get("platt_b", 0.0) for t in tasks])
        z = g.op("Add", g.op("Mul", dec, g.const(a, "platt_a")), g.const(b, "platt_b"))
        out = _logistic(g, g.op("Neg", z))
    return _where_constant(g, out, tasks), None


def _gp(model: Any, g: GraphBuilder) -> Fragment:
    x = g.features_input(model.featurizers_)
    train = np.asarray(model.train_features_, dtype=np.float32)  # (n_train, d)
    K = _tanimoto(g, x, train)  # (n, n_train)
    means, stds = [], []
    for j, t in enumerate(model.tasks_):
        if t["kind"] == "constant":
            n = g.rows(x)
            means.append(g.fill(np.array([t["value"]]), n))
            stds.append(g.fill(np.zeros(1), n))
            continue
        s = float(t["signal_variance"])
        Kj = g.op("Gather", K, g.const(np.asarray(t["rows"], np.int64), "rows"), axis=1)
        f = g.op("MatMul", Kj, g.const((s * np.asarray(t["alpha"]))[:, None], "alpha"))  # (n, 1)
        # var_f = s - ||L^-1 (s w T(X, x))||^2 with L the Cholesky factor drugforge uses
        # (w = sqrt_w for classification, 1 for regression), written as one product with L^-T
        L = model._factor(j)  # the model's own factor, rebuilt as after loading
        Linv = sla.solve_triangular(L, np.eye(len(L)), lower=True, check_finite=False)
        w = np.asarray(t["sqrt_w"]) if t["kind"] == "classification" else np.ones(len(L))
        V = g.op("MatMul", Kj, g.const(s * w[:, None] * Linv.T, "L_inv_T"))  # (n, n_j)
        var = g.op("Sub", g.const(s, "s"), g.reduce("ReduceSum", g.op("Mul", V, V), [1]))
        var = g.op("Max", var, g.const(0.0, "zero"))  # (n, 1)
        if t["kind"] == "regression":
            scale = g.const(float(t["y_scale"]), "y_scale")
            means.append(g.op("Add", g.op("Mul", f, scale), g.const(float(t["y_mean"]), "y_mean")))
            sd = g.op("Sqrt", g.op("Add", var, g.const(float(t["noise_variance"]), "noise")))
            stds.append(g.op("Mul", sd, scale))
        else:  # probit-averaged logistic, std of P by the delta method
            f = g.op("Add", f, g.const(float(t["prior_mean"]), "prior_mean"))
            kappa = g.op("Reciprocal", g.op("Sqrt", g.op(
                "Add", g.const(1.0, "one"), g.op("Mul", var, g.const(np.pi / 8.0, "pi_8")))))
            p = _logistic(g, g.op("Mul", kappa, f))
            means.append(p)
            p1 = g.op("Mul", p, g.op("Sub", g.const(1.0, "one"), p))
            stds.append(g.op("Mul", p1, g.op("Sqrt", var)))
    return _concat(g, means), _concat(g, stds)


def _concat(g: GraphBuilder, columns: Sequence[str]) -> str:
    return columns[0] if len(columns) == 1 else g.op("Concat", *columns, axis=1)


def _lightgbm_tree_ensemble(g: GraphBuilder, x: str, dump: dict[str, Any]) -> str:
    """One booster as a TreeEnsemble node on float64 input: ``(n, 1)`` raw score / P(1)."""
    objective = str(dump.get("objective", "")).split()
    if dump.get("num_tree_per_iteration", 1) != 1 or dump.get("average_output"):
        raise ExportError("only single-output boosted LightGBM models can be exported")
    if not objective or objective[0] not in ("regression", "binary"):
        raise ExportError(f"LightGBM objective {dump.get('objective')!r} cannot be exported")
    # interior nodes, in the order of TreeEnsemble's nodes_* attributes
    feature: list[int] = []
    split: list[float] = []
    missing_left: list[int] = []
    true_id: list[int] = []
    true_leaf: list[int] = []
    false_id: list[int] = []
    false_leaf: list[int] = []
    leaf_weights: list[float] = []
    roots: list[int] = []

    def child(node: dict[str, Any]) -> tuple[int, int]:
        if "leaf_value" in node:
            leaf_weights.append(float(node["leaf_value"]))
            return len(leaf_weights) - 1, 1
        return visit(node), 0

    def visit(node: dict[str, Any]) -> int:
        if node.get("decision_type") != "<=":
            raise ExportError("LightGBM categorical splits cannot be exported")
        if node.get("missing_type") == "Zero":
            raise ExportError("LightGBM models with zero_as_missing cannot be exported")
        k = len(feature)
        feature.append(int(node["split_feature"]))
        split.append(float(node["threshold"]))
        # NaN goes the default way only for missing_type NaN (never seen with drugforge features)
        missing_left.append(int(node.get("missing_type") == "NaN" and node["default_left"]))
        for lst in (true_id, true_leaf, false_id, false_leaf):
            lst.append(0)
        true_id[k], true_leaf[k] = child(node["left_child"])  # x <= threshold: left
        false_id[k], false_leaf[k] = child(node["right_child"])
        return k

    for tree in dump["tree_info"]:
        root = tree["tree_structure"]
        if "leaf_value" in root:  # a tree without splits: one node whose branches meet
            leaf_weights.append(float(root["leaf_value"]))
            roots.append(len(feature))
            feature.append(0)
            split.append(0.0)
            missing_left.append(0)
            for lst, v in ((true_id, len(leaf_weights) - 1), (true_leaf, 1),
                           (false_id, len(leaf_weights) - 1), (false_leaf, 1)):  # fmt: skip
                lst.append(v)
        else:
            roots.append(visit(root))
    if not roots:
        raise ExportError("the LightGBM booster has no trees")
    g.domains["ai.onnx.ml"] = ML_OPSET
    raw = g.op(
        "TreeEnsemble",
        x,
        domain="ai.onnx.ml",
        hint="trees",
        n_targets=1,
        aggregate_function=1,  # SUM
        post_transform=0,  # NONE: the sigmoid follows in float64
        tree_roots=roots,
        nodes_featureids=feature,
        nodes_modes=numpy_helper.from_array(np.zeros(len(feature), np.uint8)),  # BRANCH_LEQ
        nodes_splits=numpy_helper.from_array(np.asarray(split, np.float64)),
        nodes_truenodeids=true_id,
        nodes_trueleafs=true_leaf,
        nodes_falsenodeids=false_id,
        nodes_falseleafs=false_leaf,
        nodes_missing_value_tracks_true=missing_left,
        leaf_targetids=[0] * len(leaf_weights),
        leaf_weights=numpy_helper.from_array(np.asarray(leaf_weights, np.float64)),
    )
    if objective[0] == "binary":
        sigmoid = 1.0
        for part in objective[1:]:
            if part.startswith("sigmoid:"):
                sigmoid = float(part.split(":", 1)[1])
        return _logistic(g, g.op("Mul", raw, g.const(sigmoid, "sigmoid")))
    return raw


def _gbm(model: Any, g: GraphBuilder) -> Fragment:
    x = g.cast(g.features_input(model.featurizers_), DOUBLE)  # LightGBM compares in float64
    columns = []
    for booster, const in zip(model.boosters_, model.constants_, strict=True):
        if booster is None:
            columns.append(g.fill(np.array([float(const)]), g.rows(x)))
        else:
            columns.append(_lightgbm_tree_ensemble(g, x, booster.dump_model()))
    return _concat(g, columns), None


def _dense(g: GraphBuilder, x: str, net: Any) -> str:
    """An ``nn.Sequential`` of Linear / ReLU / Dropout (eval mode) as Gemm / Relu, float32."""
    from torch import nn

    for layer in net:
        if isinstance(layer, nn.Linear):
            W = layer.weight.detach().cpu().numpy().astype(np.float32)
            if layer.bias is None:
                x = g.op("MatMul", x, g.const(np.ascontiguousarray(W.T), "W"))
            else:
                b = layer.bias.detach().cpu().numpy().astype(np.float32)
                x = g.op("Gemm", x, g.const(W, "W"), g.const(b, "b"), transB=1)
        elif isinstance(layer, nn.ReLU):
            x = g.op("Relu", x)
        elif not isinstance(layer, nn.Dropout):  # dropout is the identity at prediction
            raise ExportError(f"network layer {type(layer).__name__} has no ONNX converter")
    return x


def _network_output(g: GraphBuilder, model: Any, out: str) -> str:
    """float32 network output -> float64 P(1) (logits) or values in target units."""
    out = g.cast(out, DOUBLE)
    if model.task == "classification":
        return _logistic(g, out)
    scaler = model.scaler_
    return g.op("Add", g.op("Mul", out, g.const(np.asarray(scaler.std, np.float64)[None, :], "y_std")),
                g.const(np.asarray(scaler.mean, np.float64)[None, :], "y_mean"))  # fmt: skip


def _mlp(model: Any, g: GraphBuilder) -> Fragment:
    x = g.features_input(model.featurizers_)
    return _network_output(g, model, _dense(g, x, model.module_.net)), None


def _linear(g: GraphBuilder, x: str, layer: Any) -> str:
    return _dense(g, x, [layer])


def _mpnn(model: Any, g: GraphBuilder) -> Fragment:
    module = model.module_
    mp = module.message_passing
    inp = g.graph_inputs()
    V, E = inp["atom_features"], inp["bond_features"]
    src = g.op("Gather", inp["edge_index"], g.const(0, "row0"), axis=0, hint="src")  # (M,)
    dst = g.op("Gather", inp["edge_index"], g.const(1, "row1"), axis=0, hint="dst")  # (M,)
    dst_idx = g.op("Unsqueeze", dst, g.ints([1], "axis1"))  # (M, 1) for ScatterND
    n_atoms = g.rows(V)
    hidden = int(mp.W_h.weight.shape[0])

    def zeros(n_rows: str, width: int) -> str:
        shape = g.op("Concat", n_rows, g.ints([width], "width"), axis=0)
        return g.op("ConstantOfShape", shape,
                    value=numpy_helper.from_array(np.zeros(1, np.float32)))  # fmt: skip

    def incoming(H: str) -> str:  # (M, d_h) -> (N, d_h): sum over the bonds into each atom
        return g.op("ScatterND", zeros(n_atoms, hidden), dst_idx, H, reduction="add")

    H0 = _linear(g, g.op("Concat", g.op("Gather", V, src, axis=0), E, axis=1), mp.W_i)
    H = g.op("Relu", H0)
    for _ in range(mp.depth - 1):
        M = g.op("Sub", g.op("Gather", incoming(H), src, axis=0),
                 g.op("Gather", H, inp["rev_edge"], axis=0))  # fmt: skip
        H = g.op("Relu", g.op("Add", H0, _linear(g, M, mp.W_h)))
    atoms = g.op("Relu", _linear(g, g.op("Concat", V, incoming(H), axis=1), mp.W_o))  # (N, d_h)

    # molecules: atom_batch runs 0 .. n - 1 (every molecule has an atom)
    batch = inp["atom_batch"]
    n_mols = g.op("Add", g.reduce("ReduceMax", batch, [0]), g.ints([1], "one_i"), hint="n_mols")
    batch_idx = g.op("Unsqueeze", batch, g.ints([1], "axis1"))
    summed = g.op("ScatterND", zeros(n_mols, hidden), batch_idx, atoms, reduction="add")
    kind = module.agg.kind
    if kind == "norm":
        Z = g.op("Div", summed, g.const(np.array(module.agg.NORM, np.float32), "norm"))
    elif kind == "mean":
        ones = g.op("ConstantOfShape", g.op("Concat", n_atoms, g.ints([1], "width"), axis=0),
                    value=numpy_helper.from_array(np.ones(1, np.float32)))  # fmt: skip
        counts = g.op("ScatterND", zeros(n_mols, 1), batch_idx, ones, reduction="add")
        Z = g.op("Div", summed, g.op("Max", counts, g.const(np.array(1.0, np.float32), "one_f")))
    else:
        Z = summed
    if model.extra_featurizers_:
        raw = g.features_input(model.extra_featurizers_)
        scaler = model.extra_scaler_
        # standardized in float64 then float32, as drugforge does
        std = g.op("Div", g.op("Sub", g.cast(raw, DOUBLE), g.const(scaler.mean[None, :], "x_mean")),
                   g.const(scaler.std[None, :], "x_std"))  # fmt: skip
        Z = g.op("Concat", Z, g.cast(std, FLOAT), axis=1)
    return _network_output(g, model, _dense(g, Z, module.predictor.net)), None


def _ensemble(model: Any, g: GraphBuilder) -> Fragment:
    means, variances = [], []
    for member in model.members_:
        mean, std = convert(member, g)
        means.append(g.op("Unsqueeze", mean, g.ints([0], "axis0")))  # (1, n, t)
        variances.append(None if std is None else g.op("Unsqueeze", g.op("Mul", std, std),
                                                          g.ints([0], "axis0")))  # fmt: skip
    stacked = g.op("Concat", *means, axis=0) if len(means) > 1 else means[0]  # (k, n, t)
    mean = g.reduce("ReduceMean", stacked, [0], keepdims=False)
    diff = g.op("Sub", stacked, mean)
    var = g.reduce("ReduceMean", g.op("Mul", diff, diff), [0], keepdims=False)  # between members
    if model.task == "regression" and any(v is not None for v in variances):
        zero = g.const(0.0, "zero")  # a member without a native spread adds 0
        parts = [g.op("Mul", m, zero) if v is None else v for m, v in zip(means, variances,
                                                                           strict=True)]
        stacked_var = g.op("Concat", *parts, axis=0) if len(parts) > 1 else parts[0]
        var = g.op("Add", var, g.reduce("ReduceMean", stacked_var, [0], keepdims=False))
    return mean, g.op("Sqrt", var)


_CONVERTERS: dict[str, Callable[[Any, GraphBuilder], Fragment]] = {
    "ensemble": _ensemble,
    "gbm": _gbm,
    "gp": _gp,
    "mlp": _mlp,
    "mpnn": _mpnn,
    "svm": _svm,
}


def exportable_models() -> list[str]:
    """Registry names of the models that have an ONNX converter."""
    return sorted(_CONVERTERS)


def convert(model: MolecularPredictor, g: GraphBuilder) -> Fragment:
    """Write ``model`` into ``g`` with its family's converter (an ensemble converts its members)."""
    converter = _CONVERTERS.get(model.name)
    if converter is None:
        raise ExportError(
            f"model '{model.name}' cannot be exported to ONNX; exportable models: "
            f"{', '.join(exportable_models())}"
        )
    return converter(model, g)
