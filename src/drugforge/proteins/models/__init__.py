"""Torch protein encoders: :class:`ResidueCNN` (DeepDTA branch) and protein language models.

``plm`` is not imported here: it is the only module that needs ``transformers``.
"""

from __future__ import annotations

from drugforge.proteins.models.cnn import ResidueCNN, ResidueCNNConfig

__all__ = ["ResidueCNN", "ResidueCNNConfig"]
