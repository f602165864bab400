"""Parsing and standardization of SMILES (RDKit only).

Policy for invalid input: :func:`parse_smiles` returns ``None``, :func:`parse_smiles_or_raise`
raises :class:`~drugforge.core.errors.InvalidSmilesError`, and :func:`standardize_smiles` returns
``(None, reason)`` so that batch callers can report every bad row at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from os import PathLike
from typing import Any

from rdkit import Chem, rdBase
from rdkit.Chem.MolStandardize import rdMolStandardize

from drugforge.core.errors import InvalidSmilesError

__all__ = [
    "StandardizerConfig",
    "changed_by_standardizer",
    "parse_smiles",
    "parse_smiles_or_raise",
    "smiles_problem",
    "standardize_many",
    "standardize_mol",
    "standardize_smiles",
]


def _clean_text(smiles: object) -> str | None:
    """Return stripped text, or None for None/NaN/non-text input."""
    # None, NaN (pandas' missing value) and any other non-text value are never a SMILES
    if not isinstance(smiles, str):
        return None
    return smiles.strip()


def _has_inner_whitespace(text: str) -> bool:
    # RDKit reads "CCO ethanol" as ethanol named "ethanol"; in a SMILES cell that is a data
    # error, so only CXSMILES extensions ("CCO |$...$|") may follow a space.
    for i, ch in enumerate(text):
        if ch.isspace():
            return not text[i:].lstrip().startswith("|")
    return False


def parse_smiles(smiles: str | None) -> Chem.Mol | None:
    """Parse a SMILES string with RDKit logging silenced.

    Returns ``None`` for invalid, empty, whitespace-only, ``None`` or NaN input, for non-ASCII text,
    and for text with anything but a CXSMILES extension after a space.
    """
    text = _clean_text(smiles)
    # SMILES is ASCII; RDKit silently skips some other characters ('\xff\xfeCCO' -> ethanol),
    # which would pass mis-decoded text off as a molecule
    if not text or _has_inner_whitespace(text) or not text.isascii():
        return None
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(text)
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    return mol


def smiles_problem(smiles: object) -> str:
    """Why ``smiles`` does not parse: ``'empty SMILES'`` or ``'invalid SMILES'`` ('' when it parses)."""
    text = _clean_text(smiles)
    if not text:
        return "empty SMILES"
    return "" if parse_smiles(text) is not None else "invalid SMILES"


def parse_smiles_or_raise(
    smiles: str | None,
    *,
    path: str | PathLike[str] | None = None,
    line: int | None = None,
) -> Chem.Mol:
    """Parse ``smiles`` or raise :class:`InvalidSmilesError` naming the file and line."""
    mol = parse_smiles(smiles)
    if mol is None:
        text = _clean_text(smiles)
        message = "empty SMILES" if not text else f"invalid SMILES '{_shorten(text)}'"
        raise InvalidSmilesError(message, path=path, line=line)
    return mol


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class StandardizerConfig:
    """How input molecules are cleaned before featurization.

    Attributes
    ----------
    largest_fragment : keep only the largest fragment (strips salts and solvents).
    neutralize : neutralize charges where a neutral form exists (RDKit ``Uncharger``).
    canonical : write canonical SMILES (isomeric, stereo kept).
    max_heavy_atoms : reject molecules bigger than this (None = no limit).
    """

    largest_fragment: bool = True
    neutralize: bool = True
    canonical: bool = True
    max_heavy_atoms: int | None = None

    def __post_init__(self) -> None:
        if self.max_heavy_atoms is not None and (
            isinstance(self.max_heavy_atoms, bool) or int(self.max_heavy_atoms) < 1
        ):
            raise ValueError(
                f"max_heavy_atoms must be a positive integer, got {self.max_heavy_atoms!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; ``from_dict(to_dict())`` gives an equal config."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> StandardizerConfig:
        """Rebuild from :meth:`to_dict` output; unknown keys are an error (typos must not pass)."""
        if not data:
            return cls()
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown standardizer option(s) {', '.join(unknown)}; "
                f"choose from: {', '.join(sorted(known))}"
            )
        return cls(**dict(data))


@lru_cache(maxsize=1)
def _fragment_chooser() -> rdMolStandardize.LargestFragmentChooser:
    return rdMolStandardize.LargestFragmentChooser()


@lru_cache(maxsize=1)
def _uncharger() -> rdMolStandardize.Uncharger:
    return rdMolStandardize.Uncharger()


def changed_by_standardizer(mol: Chem.Mol, config: StandardizerConfig | None = None) -> bool:
    """Whether ``config`` would change ``mol`` (beyond writing it canonically).

    Most charged library molecules are nitro groups or quaternary nitrogens, which the
    ``Uncharger`` leaves as they are: those count as unchanged. An RDKit failure counts as a
    change (the caller's full standardization then reports it).
    """
    config = config or StandardizerConfig()
    if config.largest_fragment and len(Chem.GetMolFrags(mol)) > 1:
        return True
    if not config.neutralize or not _has_charge(mol):
        return False
    charges = [a.GetFormalCharge() for a in mol.GetAtoms()]
    try:
        with rdBase.BlockLogs():
            neutral = _uncharger().uncharge(mol)
    except Exception:  # noqa: BLE001 - RDKit raises assorted C++ exception types
        return True
    return [a.GetFormalCharge() for a in neutral.GetAtoms()] != charges


@lru_cache(maxsize=1)
def _charged_atom() -> Chem.Mol:
    return Chem.MolFromSmarts("[!+0]")


def _has_charge(mol: Chem.Mol) -> bool:
    """Whether any atom carries a formal charge (one C++ query: no Python loop over atoms)."""
    return bool(mol.HasSubstructMatch(_charged_atom()))


def standardize_mol(mol: Chem.Mol, config: StandardizerConfig | None = None) -> Chem.Mol:
    """Apply ``config`` to a parsed molecule (no size check); RDKit errors propagate."""
    config = config or StandardizerConfig()
    with rdBase.BlockLogs():
        if config.largest_fragment and len(Chem.GetMolFrags(mol)) > 1:
            mol = _fragment_chooser().choose(mol)
        if config.neutralize and _has_charge(mol):
            mol = _uncharger().uncharge(mol)
    return mol


def standardize_smiles(
    smiles: str | None, config: StandardizerConfig | None = None
) -> tuple[str | None, str]:
    """Standardize one SMILES: largest fragment, neutralized, canonical isomeric SMILES.

    Returns
    -------
    (smiles, error) : the standardized SMILES and ``''``, or ``None`` and the reason, e.g.
        ``'empty SMILES'``, ``'invalid SMILES'``, ``'molecule has 612 heavy atoms (limit 300)'``.
    """
    config = config or StandardizerConfig()
    mol = parse_smiles(smiles)
    if mol is None:
        return None, smiles_problem(smiles)
    text = str(smiles)
    try:
        with rdBase.BlockLogs():
            # cheap text checks skip RDKit work for the common single-fragment neutral input
            if config.largest_fragment and "." in text and len(Chem.GetMolFrags(mol)) > 1:
                mol = _fragment_chooser().choose(mol)
            out = Chem.MolToSmiles(mol, isomericSmiles=True, canonical=config.canonical)
            if config.neutralize and ("+" in text or "-" in text) and _has_charge(mol):
                neutral = _uncharger().uncharge(mol)
                neutral_out = Chem.MolToSmiles(
                    neutral, isomericSmiles=True, canonical=config.canonical
                )
                # the Uncharger can leave impossible chemistry (ferrocene's Cp- -> 'c1cccc1');
                # keep the charged form rather than emit a SMILES nobody can read back
                if Chem.MolFromSmiles(neutral_out) is not None:
                    mol, out = neutral, neutral_out
    except Exception as err:  # noqa: BLE001 - RDKit raises assorted C++ exception types
        return None, f"standardization failed: {' '.join(str(err).split())}"
    if not out:
        return None, "empty molecule after standardization"
    if config.max_heavy_atoms is not None:
        heavy = mol.GetNumHeavyAtoms()
        if heavy > config.max_heavy_atoms:
            return None, f"molecule has {heavy} heavy atoms (limit {config.max_heavy_atoms})"
    return str(out), ""


def standardize_many(
    smiles_list: Iterable[str | None], config: StandardizerConfig | None = None
) -> tuple[list[str | None], list[str]]:
    """Standardize a batch; repeated inputs are computed once.

    Returns ``(smiles, errors)`` of the same length as the input, in order; ``errors[i]`` is ``''``
    when ``smiles[i]`` is not None.
    """
    config = config or StandardizerConfig()
    memo: dict[str, tuple[str | None, str]] = {}
    out: list[str | None] = []
    errors: list[str] = []
    for raw in smiles_list:
        key = raw if isinstance(raw, str) else None
        if key is not None and key in memo:
            smi, err = memo[key]
        else:
            smi, err = standardize_smiles(raw, config)
            if key is not None:
                memo[key] = (smi, err)
        out.append(smi)
        errors.append(err)
    return out, errors
