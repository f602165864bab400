"""drugforge: AI for drug discovery in one tool.

Layers (imports flow one way; checked by the import-linter contracts in pyproject.toml):
``cli`` -> ``workflows`` -> modality packages (``molecules``, ...) -> ``core``.

The modality packages register their models and generators in the core registries; naming them
here (as module strings, imported on the first lookup) lets ``drugforge.core.artifacts.load_model``
rebuild any saved model without core importing a modality package.
"""

from drugforge.core.registry import GENERATORS, MODELS

__version__ = "0.1.0"

MODELS.add_provider("drugforge.molecules.models")
MODELS.add_provider("drugforge.interactions.models")
MODELS.add_provider("drugforge.imaging")
GENERATORS.add_provider("drugforge.molecules.models.generative")

__all__ = ["__version__"]
