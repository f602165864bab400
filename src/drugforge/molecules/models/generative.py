"""The contract every molecule generator follows, and the registry that names them.

A generator (the chemical language model ``chem-lm``, the SMILES VAE, the latent GAN) samples
SMILES *strings*: some may be invalid, and it is the generation workflow that checks each one
with RDKit and marks it, so an invalid string is never passed off as a molecule.

Saved generators are directories written by :mod:`drugforge.molecules.artifacts` (``save_generator`` /
``load_generator``) from the generator's :class:`~drugforge.molecules.models.base.ModelState`, like the
property models: weights in safetensors, everything else in JSON, checksums in a manifest.
"""

from __future__ import annotations

import difflib
import importlib
from typing import ClassVar, Protocol, runtime_checkable

from drugforge.molecules.models.base import ModelState

__all__ = [
    "GENERATOR_KINDS",
    "SmilesGenerator",
    "generator_from_state",
    "get_generator_class",
]


@runtime_checkable
class SmilesGenerator(Protocol):
    """What ``drugforge generate`` needs of a generator."""

    #: registry name, stored in the saved state as ``meta["generator"]``
    kind: ClassVar[str]

    def sample(
        self,
        n: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        batch_size: int = 512,
        seed: int = 0,
    ) -> list[str]:
        """``n`` decoded strings, in sampling order (not filtered, not de-duplicated).

        The same ``seed`` and arguments give the same strings on the same machine.
        """
        ...

    def get_state(self) -> ModelState: ...

    @classmethod
    def from_state(cls, state: ModelState) -> SmilesGenerator: ...


# kind -> (module, class name, one-line description); classes are imported lazily
GENERATOR_KINDS: dict[str, tuple[str, str, str]] = {
    "chem-lm": (
        "drugforge.molecules.models.chemlm",
        "ChemLM",
        "decoder-only Transformer language model over SMILES tokens",
    ),
    "smiles-vae": (
        "drugforge.molecules.models.smiles_vae",
        "SmilesVAE",
        "variational autoencoder: GRU encoder, latent space, GRU decoder",
    ),
    "latent-gan": (
        "drugforge.molecules.models.latent_gan",
        "LatentGAN",
        "Wasserstein GAN in a SMILES VAE's latent space, decoded by the VAE",
    ),
}


def get_generator_class(kind: str) -> type[SmilesGenerator]:
    """The class registered under ``kind``; an unknown kind lists the choices."""
    if kind not in GENERATOR_KINDS:
        close = difflib.get_close_matches(kind, list(GENERATOR_KINDS), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ValueError(
            f"unknown generator '{kind}'{hint}; choose from: {', '.join(sorted(GENERATOR_KINDS))}"
        )
    module, cls_name, _ = GENERATOR_KINDS[kind]
    cls: type[SmilesGenerator] = getattr(importlib.import_module(module), cls_name)
    return cls


def generator_from_state(state: ModelState) -> SmilesGenerator:
    """Rebuild a generator from its saved state (``meta["generator"]`` names the kind)."""
    kind = state.meta.get("generator")
    if not isinstance(kind, str):
        raise ValueError("saved state does not name its generator kind")  # noqa: TRY004
    return get_generator_class(kind).from_state(state)
