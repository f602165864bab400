"""drugforge: AI for drug discovery in one tool.

Layers (imports flow one way):
chem -> featurize -> data -> models -> train / evaluate -> workflows -> cli
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
