"""De-duplication of a screened library: the first occurrence of a molecule wins.

A molecule's key is its canonical SMILES (``smiles``) or its InChIKey (``inchikey``: also merges
tautomers and charge states that InChI normalizes). Later rows with a seen key become
``duplicate`` with the first row named in the reason. The state is one 64-bit hash per distinct
key (not the key text), and it is rebuilt from the committed parts on resume.
"""

from __future__ import annotations

import hashlib

import pandas as pd
from rdkit import Chem, rdBase

__all__ = ["Deduplicator", "dedup_key"]


def dedup_key(mol: Chem.Mol | None, smiles: str, mode: str) -> str:
    """The key under which ``mol`` is de-duplicated (``""``: not de-duplicated).

    ``smiles`` is the molecule's canonical SMILES, already computed when ``mode`` is ``smiles``;
    an InChIKey that RDKit cannot make falls back to the SMILES so the row still gets a key.
    """
    if mol is None or mode == "none":
        return ""
    if mode == "inchikey":
        with rdBase.BlockLogs():
            return str(Chem.MolToInchiKey(mol)) or smiles or Chem.MolToSmiles(mol)
    return smiles


class Deduplicator:
    """First occurrence wins; later rows with the same key become ``duplicate``."""

    def __init__(self) -> None:
        self.seen: dict[int, int] = {}  # 64-bit key hash -> row

    @staticmethod
    def _hash(key: str) -> int:
        return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")

    def apply(self, frame: pd.DataFrame) -> None:
        """Mark the repeated rows of a chunk's table (columns key, row, status, reason) in place."""
        status = frame["status"].to_numpy(dtype=object)
        reason = frame["reason"].to_numpy(dtype=object)
        for i, (key, row) in enumerate(zip(frame["key"].tolist(), frame["row"].tolist())):
            if not key or status[i] == "invalid":
                continue
            h = self._hash(key)
            first = self.seen.get(h)
            if first is None:
                self.seen[h] = int(row)
            else:
                status[i] = "duplicate"
                reason[i] = f"duplicate of row {first}"
        frame["status"] = status
        frame["reason"] = reason

    def load(self, frame: pd.DataFrame) -> None:
        """Rebuild the state from a committed part (on resume)."""
        for key, row, status in zip(frame["key"], frame["row"], frame["status"]):
            if key and status not in ("invalid", "duplicate"):
                self.seen.setdefault(self._hash(key), int(row))
