"""Bemis-Murcko scaffolds (the grouping behind scaffold splits)."""

from __future__ import annotations

from rdkit import Chem, rdBase
from rdkit.Chem.Scaffolds import MurckoScaffold

from drugforge.molecules.chem.mol import parse_smiles_or_raise

__all__ = ["murcko_scaffold"]


def murcko_scaffold(
    smiles_or_mol: str | Chem.Mol, generic: bool = False, *, include_chirality: bool = False
) -> str:
    """Canonical SMILES of the Bemis-Murcko scaffold (ring systems plus linkers).

    Parameters
    ----------
    smiles_or_mol : a SMILES string or an RDKit molecule.
    generic : replace every atom by carbon and every bond by a single bond (CSK scaffold).
    include_chirality : keep stereo in the scaffold SMILES (off, as in chemprop's splits).

    Returns
    -------
    str : ``''`` for an acyclic molecule. An invalid SMILES raises ``InvalidSmilesError``.
    """
    mol = (
        smiles_or_mol
        if isinstance(smiles_or_mol, Chem.Mol)
        else parse_smiles_or_raise(smiles_or_mol)
    )
    with rdBase.BlockLogs():
        try:
            core = MurckoScaffold.GetScaffoldForMol(mol)
            if generic:
                core = MurckoScaffold.MakeScaffoldGeneric(core)
                # the generic form of a scaffold can keep exocyclic atoms; prune them again
                core = MurckoScaffold.GetScaffoldForMol(core)
            return Chem.MolToSmiles(core, isomericSmiles=include_chirality)
        except Exception:  # noqa: BLE001
            # exotic valences can break sanitization inside RDKit's helper; the ring-atom
            # fallback below never raises for a molecule that was parsed
            return _fallback_scaffold(mol, generic, include_chirality)


def _fallback_scaffold(mol: Chem.Mol, generic: bool, include_chirality: bool) -> str:
    try:
        work = Chem.Mol(mol)
        work.UpdatePropertyCache(strict=False)
        Chem.FastFindRings(work)  # an unsanitized molecule has no ring information yet
        core = MurckoScaffold.GetScaffoldForMol(work)
        smiles = Chem.MolToSmiles(core, isomericSmiles=include_chirality)
        if generic:
            rw = Chem.RWMol(Chem.MolFromSmiles(smiles, sanitize=False))
            for atom in rw.GetAtoms():
                atom.SetAtomicNum(6)
                atom.SetFormalCharge(0)
                atom.SetIsAromatic(False)
                atom.SetNoImplicit(False)
                atom.SetNumExplicitHs(0)
            for bond in rw.GetBonds():
                bond.SetBondType(Chem.BondType.SINGLE)
                bond.SetIsAromatic(False)
            return Chem.MolToSmiles(rw, isomericSmiles=False)
        return smiles
    except Exception:  # noqa: BLE001 - never raise for a parsed molecule
        return ""
