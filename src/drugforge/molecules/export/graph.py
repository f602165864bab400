"""A small ONNX graph builder: unique names, constants, nodes and the graph inputs.

The converters in :mod:`drugforge.molecules.export.onnx` write their ONNX nodes through this class so that
several models can live in one graph (an ensemble) without name clashes, and so that models fed by
the same featurizers share one graph input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from drugforge.core.errors import DrugforgeError
from drugforge.molecules.featurize import Featurizer
from drugforge.molecules.models.kernels import featurizers_to_meta

__all__ = ["DOUBLE", "FLOAT", "INT64", "ExportError", "GraphBuilder", "InputSpec"]

FLOAT = TensorProto.FLOAT
DOUBLE = TensorProto.DOUBLE
INT64 = TensorProto.INT64
_DTYPES: dict[int, str] = {int(FLOAT): "float32", int(DOUBLE): "float64", int(INT64): "int64"}


class ExportError(DrugforgeError):
    """A model, or a part of it, that has no ONNX form."""


@dataclass
class InputSpec:
    """One graph input: its name, dtype, shape and how to compute it from a molecule."""

    name: str
    dtype: int  # TensorProto element type
    shape: list[str | int]
    description: str
    #: for feature matrices: the featurizers whose outputs are concatenated, in column order
    featurizers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def dtype_name(self) -> str:
        return _DTYPES[self.dtype]

    def value_info(self) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(self.name, self.dtype, self.shape)


#: the batched molecular graph, as :func:`drugforge.molecules.featurize.graph.batch_graphs` makes it
GRAPH_INPUTS: tuple[tuple[str, int, list[str | int], str], ...] = (
    ("atom_features", FLOAT, ["n_atoms", "ATOM_DIM"], "one row per atom of every molecule"),
    ("bond_features", FLOAT, ["n_bonds", "BOND_DIM"], "one row per directed bond"),
    ("edge_index", INT64, [2, "n_bonds"], "row 0: source atom, row 1: target atom"),
    ("rev_edge", INT64, ["n_bonds"], "index of the reverse of each directed bond"),
    ("atom_batch", INT64, ["n_atoms"], "molecule (0 .. n - 1) of each atom"),
)


class GraphBuilder:
    """Collects nodes, constants and inputs; :meth:`model` assembles the ONNX model."""

    def __init__(self, opset: int) -> None:
        self.opset = int(opset)
        self.domains: dict[str, int] = {"": self.opset}
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[InputSpec] = []
        self._used: set[str] = set()
        self._feature_inputs: dict[str, str] = {}  # featurizer keys -> input name
        self._graph: dict[str, str] | None = None

    # ----------------------------------------------------------------------------- names
    def name(self, hint: str) -> str:
        """A fresh tensor name starting with ``hint``."""
        base = hint.replace("/", "_")
        candidate, k = base, 0
        while candidate in self._used:
            k += 1
            candidate = f"{base}_{k}"
        self._used.add(candidate)
        return candidate

    # ------------------------------------------------------------------------ constants
    def const(self, value: np.ndarray | float, hint: str = "c") -> str:
        """An initializer holding ``value`` (a Python float is float64, an int int64)."""
        if isinstance(value, float):
            array = np.asarray(value, dtype=np.float64)
        elif isinstance(value, int):
            array = np.asarray(value, dtype=np.int64)
        else:
            array = np.ascontiguousarray(value)
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(array, name=name))
        return name

    def ints(self, values: Sequence[int], hint: str = "i") -> str:
        return self.const(np.asarray(values, dtype=np.int64), hint)

    # ----------------------------------------------------------------------------- nodes
    def op(self, op_type: str, *inputs: str, hint: str | None = None, domain: str = "",
           **attrs: Any) -> str:  # fmt: skip
        """Append one node with a single output; returns the output name."""
        out = self.name(hint or op_type.lower())
        self.nodes.append(
            helper.make_node(op_type, list(inputs), [out], name=out, domain=domain, **attrs)
        )
        return out

    def reduce(self, op_type: str, x: str, axes: Sequence[int], keepdims: bool = True) -> str:
        """``ReduceSum``/``ReduceMean``/``ReduceMax``: axes are an input from opset 13 (sum) or
        18 (the others), an attribute before."""
        since = 13 if op_type == "ReduceSum" else 18
        if self.opset >= since:
            return self.op(op_type, x, self.ints(axes, "axes"), keepdims=int(keepdims))
        return self.op(op_type, x, axes=list(axes), keepdims=int(keepdims))

    def cast(self, x: str, to: int) -> str:
        return self.op("Cast", x, to=to)

    def rows(self, x: str) -> str:
        """``(1,)`` int64 tensor: the number of rows of ``x``."""
        return self.op("Shape", x, start=0, end=1, hint="n_rows")

    def fill(self, values: np.ndarray, n_rows: str) -> str:
        """``values`` (a float64 row of length ``t``) repeated ``n_rows`` times: ``(n, t)``."""
        row = np.asarray(values, dtype=np.float64).reshape(1, -1)
        shape = self.op("Concat", n_rows, self.ints([row.shape[1]], "width"), axis=0)
        return self.op("Expand", self.const(row, "row"), shape)

    # ---------------------------------------------------------------------------- inputs
    def features_input(self, featurizers: Sequence[Featurizer]) -> str:
        """The ``(n, F)`` float32 input holding these featurizers' outputs side by side.

        Models fed by the same featurizers (ensemble members) share it; the first is named
        ``features``, others ``features_1``, ``features_2``...
        """
        key = "|".join(f.cache_key() for f in featurizers)
        if key not in self._feature_inputs:
            name = "features" if not self._feature_inputs else f"features_{len(self._feature_inputs)}"
            self._used.add(name)
            width = sum(len(f) for f in featurizers)
            self.inputs.append(
                InputSpec(
                    name=name,
                    dtype=FLOAT,
                    shape=["n", width],
                    description="featurizer outputs concatenated in the order listed",
                    featurizers=featurizers_to_meta(featurizers),
                )
            )
            self._feature_inputs[key] = name
        return self._feature_inputs[key]

    def graph_inputs(self) -> dict[str, str]:
        """The five tensors of a batched molecular graph (shared by every graph model)."""
        if self._graph is None:
            from drugforge.molecules.featurize.graph import ATOM_DIM, BOND_DIM

            dims: dict[str, int] = {"ATOM_DIM": ATOM_DIM, "BOND_DIM": BOND_DIM}
            self._graph = {}
            for name, dtype, shape, description in GRAPH_INPUTS:
                self._used.add(name)
                concrete = [dims.get(s, s) if isinstance(s, str) else s for s in shape]
                self.inputs.append(InputSpec(name, dtype, concrete, description))
                self._graph[name] = name
        return dict(self._graph)

    # ----------------------------------------------------------------------------- model
    def model(self, outputs: Sequence[tuple[str, str, list[str | int]]], doc: str) -> onnx.ModelProto:
        """Assemble the model; ``outputs`` are ``(internal tensor, output name, shape)``,
        all float64."""
        nodes = list(self.nodes)
        value_infos = []
        for tensor, name, shape in outputs:
            nodes.append(helper.make_node("Identity", [tensor], [name], name=name))
            value_infos.append(helper.make_tensor_value_info(name, DOUBLE, shape))
        graph = helper.make_graph(
            nodes,
            "drugforge",
            [spec.value_info() for spec in self.inputs],
            value_infos,
            initializer=self.initializers,
        )
        opsets = [helper.make_opsetid(d, v) for d, v in sorted(self.domains.items())]
        model = helper.make_model(graph, opset_imports=opsets, producer_name="drugforge",
                                  doc_string=doc)  # fmt: skip
        # the oldest IR version these opsets allow: readable by older onnxruntime releases
        model.ir_version = helper.find_min_ir_version_for(opsets)
        return model
