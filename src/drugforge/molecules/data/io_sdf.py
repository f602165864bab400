"""SDF reader: one row per record, SMILES from the structure, SD properties as columns."""

from __future__ import annotations

from pathlib import Path

from rdkit import Chem, rdBase

from drugforge.core.errors import InputError
from drugforge.molecules.data.io_text import RawTable

#: the column that holds the SMILES written from each record's structure
SDF_SMILES_COLUMN = "smiles"


def _mol_to_smiles(mol: Chem.Mol) -> str:
    """Canonical SMILES of a record, or '' when RDKit cannot sanitize it (marked invalid later)."""
    try:
        Chem.SanitizeMol(mol)
        mol = Chem.RemoveHs(mol)
        return str(Chem.MolToSmiles(mol))
    except Exception:  # noqa: BLE001 - RDKit raises several C++ exception types
        return ""


def parse_sdf(raw: bytes, path: Path) -> tuple[list[str], RawTable]:
    """Read every record of an SDF (bytes already decompressed).

    A record RDKit cannot read keeps its row with an empty SMILES (and no properties) so that the
    dataset layer reports it by record number instead of it silently disappearing. ``lines`` holds
    the 1-based record index. A property called ``smiles`` is kept as ``sdf_smiles``.
    """
    # The random-access supplier finds record boundaries by scanning for '$$$$' first, so a
    # damaged record cannot swallow the one after it (a forward reader can lose both).
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # SD files from old tools; structure lines are ASCII anyway
    supplier = Chem.SDMolSupplier()
    supplier.SetData(text, sanitize=False, removeHs=False)
    records: list[tuple[str, str, dict[str, str]]] = []
    order: dict[str, None] = {}  # property names in first-seen order
    with rdBase.BlockLogs():
        for index in range(1, len(supplier) + 1):
            mol = supplier[index - 1]
            if mol is None:
                records.append(("", "", {}))
                continue
            props: dict[str, str] = {}
            for name in mol.GetPropNames():
                try:
                    props[name] = mol.GetProp(name)
                except UnicodeDecodeError:
                    raise InputError(
                        f"property '{name}' is not valid UTF-8 text", path=path, line=index
                    ) from None
                order.setdefault(name, None)
            title = mol.GetProp("_Name").strip() if mol.HasProp("_Name") else ""
            records.append((_mol_to_smiles(mol), title, props))
    if not records:
        raise InputError("no SDF records found (is it really an SDF file?)", path=path)

    taken = {SDF_SMILES_COLUMN}
    rename: dict[str, str] = {}
    for name in order:
        new = name
        if new.lower() == SDF_SMILES_COLUMN:
            new = "sdf_smiles"
        while new in taken:
            new = new + "_"
        taken.add(new)
        rename[name] = new
    columns: dict[str, list[str]] = {SDF_SMILES_COLUMN: [r[0] for r in records]}
    if any(r[1] for r in records) and "name" not in {n.lower() for n in taken}:
        columns["name"] = [r[1] for r in records]
    for name, new in rename.items():
        columns[new] = [r[2].get(name, "") for r in records]
    return list(columns), RawTable(columns, list(range(1, len(records) + 1)))
