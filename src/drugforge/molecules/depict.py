"""2D depictions of molecules as SVG (RDKit's ``rdMolDraw2D``), optionally with atoms highlighted.

:func:`depict_svg` draws one molecule with fresh 2D coordinates (``rdDepictor``) and highlights
the atoms and bonds of given atom groups, one colour per group, as the web app's molecule page
shows structural alerts. The SVG has a transparent
background and no XML prolog, so it can be inlined in HTML or served as ``image/svg+xml``.
Atom indices are those of the molecule as parsed from its SMILES
(:func:`~drugforge.molecules.chem.parse_smiles`), which is how alerts are matched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rdkit import Chem, rdBase
from rdkit.Chem import rdDepictor
from rdkit.Chem.Draw import rdMolDraw2D

from drugforge.molecules.chem import parse_smiles_or_raise

__all__ = ["HIGHLIGHT_COLOURS", "MAX_SIZE", "MIN_SIZE", "depict_svg"]

#: smallest and largest image side in pixels a request may ask for
MIN_SIZE = 40
MAX_SIZE = 1200

#: highlight colours (RGBA, 0-1) for successive atom groups: soft red, orange, violet, teal
HIGHLIGHT_COLOURS: tuple[tuple[float, float, float, float], ...] = (
    (0.96, 0.55, 0.55, 0.7),
    (1.00, 0.75, 0.40, 0.7),
    (0.75, 0.60, 0.95, 0.7),
    (0.45, 0.80, 0.78, 0.7),
)


def _check_size(width: int, height: int) -> None:
    for name, value in (("width", width), ("height", height)):
        if not MIN_SIZE <= value <= MAX_SIZE:
            raise ValueError(f"{name} must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {value}")


def depict_svg(
    molecule: str | Chem.Mol,
    width: int = 300,
    height: int = 220,
    highlight: Sequence[Sequence[int]] = (),
) -> str:
    """The SVG drawing of ``molecule`` (a SMILES or a molecule), ``width`` x ``height`` pixels.

    ``highlight`` lists atom groups (0-based atom indices); each group's atoms and the bonds
    between them are shaded in the next colour of :data:`HIGHLIGHT_COLOURS` (cycling), an atom
    in several groups takes the first group's colour. An invalid SMILES raises
    :class:`~drugforge.core.errors.InvalidSmilesError`; a size outside
    [:data:`MIN_SIZE`, :data:`MAX_SIZE`] or an atom index outside the molecule, ``ValueError``.
    """
    _check_size(width, height)
    mol = parse_smiles_or_raise(molecule) if isinstance(molecule, str) else Chem.Mol(molecule)
    n_atoms = mol.GetNumAtoms()
    atom_colours: dict[int, tuple[float, float, float, float]] = {}
    bond_colours: dict[int, tuple[float, float, float, float]] = {}
    for k, group in enumerate(highlight):
        colour = HIGHLIGHT_COLOURS[k % len(HIGHLIGHT_COLOURS)]
        atoms = {int(a) for a in group}
        bad = sorted(a for a in atoms if not 0 <= a < n_atoms)
        if bad:
            raise ValueError(f"atom index {bad[0]} is outside the molecule ({n_atoms} atoms)")
        for a in atoms:
            atom_colours.setdefault(a, colour)
        for bond in mol.GetBonds():
            if bond.GetBeginAtomIdx() in atoms and bond.GetEndAtomIdx() in atoms:
                bond_colours.setdefault(bond.GetIdx(), colour)
    with rdBase.BlockLogs():
        rdDepictor.Compute2DCoords(mol)
        drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
        options: Any = drawer.drawOptions()  # RDKit's stubs type its attributes wrongly
        options.clearBackground = False
        options.addStereoAnnotation = True
        options.bondLineWidth = 1.5
        options.padding = 0.08
        rdMolDraw2D.PrepareAndDrawMolecule(
            drawer, mol,
            highlightAtoms=list(atom_colours), highlightAtomColors=atom_colours,
            highlightBonds=list(bond_colours), highlightBondColors=bond_colours,
        )  # fmt: skip
        drawer.FinishDrawing()
    svg: str = drawer.GetDrawingText()
    # the XML prolog is not allowed inside HTML; the drawing is the same without it
    return svg.replace("<?xml version='1.0' encoding='iso-8859-1'?>\n", "", 1)
