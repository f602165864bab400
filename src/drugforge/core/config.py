"""The base of every run configuration: typed, validated, versioned, saved beside artifacts.

Each workflow (``train``, ``predict``, ``screen``...) declares one pydantic model derived from
:class:`RunConfig`. Unknown keys are refused (``extra="forbid"``) so that a misspelt setting in a
config file or REST body is an error, not a silent default; ``config_version`` lets a later
drugforge read the configs that older ones saved. Front ends derive their options from these
models (one declaration per option), and the resolved config is written next to every artifact.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from drugforge.core.errors import InputError

__all__ = ["RunConfig", "config_error"]


class RunConfig(BaseModel):
    """A workflow's settings; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")

    #: bumped when a setting changes meaning; configs saved with older versions stay readable.
    #: Recorded by :meth:`resolved` (saved beside artifacts) but left out of ``model_dump``, which
    #: resumable runs compare with the settings they were started with: a run checkpointed
    #: before the field existed still resumes.
    config_version: int = Field(default=1, exclude=True)

    def resolved(self) -> dict[str, Any]:
        """The JSON form saved beside artifacts: every setting, defaults and version included."""
        return {**self.model_dump(mode="json"), "config_version": self.config_version}


def config_error(err: ValidationError, *, source: str | None = None) -> InputError:
    """One :class:`InputError` line for a pydantic validation error (first problem named)."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "config"
    message = first.get("msg", "invalid value")
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return InputError(f"{where}: {message}{more}", path=source)
