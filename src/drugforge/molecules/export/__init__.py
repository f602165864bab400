"""Export of fitted models to other runtimes.

:mod:`drugforge.molecules.export.onnx` converts a fitted predictor to an ONNX graph (``to_onnx``),
:mod:`drugforge.molecules.export.onnx_inputs` computes its inputs (``make_inputs``); :mod:`drugforge.workflows.export` is the
``drugforge export`` command. This package file stays light (no onnx import) so that the command
line can list the formats cheaply.
"""

from __future__ import annotations

__all__ = ["EXPORT_FORMATS"]

#: formats of ``drugforge export --format``
EXPORT_FORMATS: tuple[str, ...] = ("onnx",)
