"""Exceptions shared by every layer.

Every error a user can cause derives from :class:`DrugforgeError`. Its ``str()`` is one line
that names the file (and line) when known, e.g. ``data.csv:17: invalid SMILES 'C1CC'``.
Front ends catch it, print it and exit with status 2.
"""

from __future__ import annotations

from os import PathLike


class DrugforgeError(Exception):
    """A problem with the user's input or request, reported as one clear line."""

    exit_code: int = 2

    def __init__(
        self, message: str, *, path: str | PathLike[str] | None = None, line: int | None = None
    ) -> None:
        self.message = " ".join(str(message).split())  # always one line
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.path is not None and self.line is not None:
            return f"{self.path}:{self.line}: {self.message}"
        if self.path is not None:
            return f"{self.path}: {self.message}"
        return self.message


class InputError(DrugforgeError):
    """A data file or argument cannot be used (missing column, empty file, wrong type...)."""


class InvalidSmilesError(DrugforgeError, ValueError):
    """A SMILES string does not parse to a valid molecule."""


class ArtifactError(DrugforgeError):
    """A saved model directory is missing, tampered with or incompatible."""


class GateFailedError(DrugforgeError):
    """The model did not meet the user's stated requirement within the budget."""

    exit_code = 3
