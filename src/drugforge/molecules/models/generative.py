"""The contract every molecule generator follows, and the registry that names them.

Generators are named in the core registry :data:`drugforge.core.registry.GENERATORS`.
A generator (the chemical language model ``chem-lm``, the SMILES VAE, the latent GAN) samples
SMILES *strings*: some may be invalid, and it is the generation workflow that checks each one
with RDKit and marks it, so an invalid string is never passed off as a molecule.

Saved generators are directories written by :mod:`drugforge.core.artifacts` (``save_generator`` /
``load_generator``) from the generator's :class:`~drugforge.molecules.models.base.ModelState`, like the
property models: weights in safetensors, everything else in JSON, checksums in a manifest.
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

from drugforge.core.artifacts import generator_from_state
from drugforge.core.predictor import ModelState
from drugforge.core.registry import GENERATORS

__all__ = [
    "GENERATORS",
    "SmilesGenerator",
    "generator_from_state",
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


_M = "drugforge.molecules.models"
GENERATORS.register("chem-lm", f"{_M}.chemlm:ChemLM",
                    "decoder-only Transformer language model over SMILES tokens")
GENERATORS.register("smiles-vae", f"{_M}.smiles_vae:SmilesVAE",
                    "variational autoencoder: GRU encoder, latent space, GRU decoder")
GENERATORS.register("latent-gan", f"{_M}.latent_gan:LatentGAN",
                    "Wasserstein GAN in a SMILES VAE's latent space, decoded by the VAE")
