"""The base of every run configuration: typed, validated, versioned, saved beside artifacts.

Each workflow (``train``, ``predict``, ``screen``...) declares one pydantic model derived from
:class:`RunConfig`. Unknown keys are refused (``extra="forbid"``) so that a misspelt setting in a
config file or REST body is an error, not a silent default; ``config_version`` lets a later
drugforge read the configs that older ones saved. Front ends derive their options from these
models (one declaration per option), and the resolved config is written next to every artifact.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from drugforge.core.errors import InputError

__all__ = ["RunConfig", "config_error"]


class RunConfig(BaseModel):
    """A workflow's settings; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")

    #: bumped when a setting changes meaning; configs saved with older versions stay readable
    CONFIG_VERSION: ClassVar[int] = 1
    config_version: int = 1

    def resolved(self) -> dict[str, Any]:
        """The JSON form saved beside artifacts (every setting, defaults included)."""
        return self.model_dump(mode="json")


def config_error(err: ValidationError, *, source: str | None = None) -> InputError:
    """One :class:`InputError` line for a pydantic validation error (first problem named)."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "config"
    message = first.get("msg", "invalid value")
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return InputError(f"{where}: {message}{more}", path=source)
