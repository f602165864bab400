"""One registry type for every place where a name from the outside becomes a Python object.

Names come in from CLI flags, config files and REST bodies (``--model svm``, ``featurizer:
ecfp``); a :class:`Registry` maps each name to an object that is imported only when first asked
for, so that ``drugforge predict`` with a kernel model never pays for importing torch. Its keys
feed the CLI ``choices`` and API enums, and an unknown name gets one error line that lists the
choices and the closest match::

    unknown model 'svn' (did you mean 'svm'?); choose from: chem-lm, ensemble, gbm, ...

Entries are added either lazily, by a ``"package.module:attribute"`` string (one line per model
family, in the modality package that owns it; ``"package.module"`` names a module), or directly with :meth:`Registry.add` (a class
object; also usable as a decorator).

The registries that the saved-model loader needs (models, generators) are created here, in
:mod:`drugforge.core`, and filled by the modality packages: each registry names the provider
modules that register its entries (``providers``), imported on the first lookup, so that
:func:`drugforge.core.artifacts.load_model` finds a molecule model without core importing
:mod:`drugforge.molecules` at import time.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

__all__ = ["GENERATORS", "MODELS", "Entry", "Registry"]

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    """One registered name: where its object lives and a one-line description."""

    name: str
    target: str | object  # "module:attribute" (imported when first used) or the object itself
    description: str = ""

    def load(self) -> Any:
        if not isinstance(self.target, str):
            return self.target
        module, _, attribute = self.target.partition(":")
        imported = importlib.import_module(module)
        return getattr(imported, attribute) if attribute else imported  # "module": the module


class Registry(Generic[T]):
    """Names -> lazily imported objects of one kind (``kind`` is the word used in messages)."""

    def __init__(self, kind: str, *, providers: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._providers = list(providers)
        self._loaded_providers: set[str] = set()

    # ------------------------------------------------------------------ registration
    def register(self, name: str, target: str, description: str = "") -> None:
        """Add ``name`` -> ``"module:attribute"`` (imported on first use)."""
        self._put(Entry(name, target, description))

    @overload
    def add(self, obj: T, *, name: str | None = ..., description: str = ...) -> T: ...
    @overload
    def add(
        self, obj: None = ..., *, name: str | None = ..., description: str = ...
    ) -> Callable[[T], T]: ...
    def add(
        self, obj: T | None = None, *, name: str | None = None, description: str = ""
    ) -> T | Callable[[T], T]:
        """Add an object under ``name`` (default: its ``name`` attribute); a decorator too."""

        def put(target: T) -> T:
            key = name if name is not None else getattr(target, "name", None)
            if not isinstance(key, str):
                raise TypeError(f"cannot register {target!r} without a name")
            self._put(Entry(key, target, description or _first_line(target)))
            return target

        return put if obj is None else put(obj)

    def remove(self, name: str) -> None:
        """Drop ``name`` (tests register toy entries and take them out again)."""
        self._entries.pop(name, None)

    def add_provider(self, module: str) -> None:
        """A module that registers entries, imported before the first lookup."""
        if module not in self._providers:
            self._providers.append(module)

    def _put(self, entry: Entry) -> None:
        old = self._entries.get(entry.name)
        if old is not None and old.target != entry.target:
            raise ValueError(f"{self.kind} '{entry.name}' is already registered ({old.target})")
        self._entries[entry.name] = entry

    def _load_providers(self) -> None:
        for module in self._providers:
            if module not in self._loaded_providers:
                self._loaded_providers.add(module)
                importlib.import_module(module)

    # ------------------------------------------------------------------ lookup
    def names(self) -> tuple[str, ...]:
        """Registered names in registration order (CLI choices, API enums)."""
        self._load_providers()
        return tuple(self._entries)

    def describe(self) -> dict[str, str]:
        """Name -> one-line description."""
        self._load_providers()
        return {name: entry.description for name, entry in self._entries.items()}

    def check(self, name: str) -> str:
        """``name`` if registered, else ValueError listing the choices (with a close match)."""
        self._load_providers()
        if name in self._entries:
            return name
        close = difflib.get_close_matches(name, list(self._entries), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ValueError(
            f"unknown {self.kind} '{name}'{hint}; choose from: {', '.join(sorted(self._entries))}"
        )

    def get(self, name: str) -> T:
        """The object registered under ``name`` (imported now if lazy)."""
        entry = self._entries.get(name) or self._entries[self.check(name)]
        obj: T = entry.load()
        return obj

    def values(self) -> list[T]:
        """Every registered object (lazy ones are imported now), in registration order."""
        return [self.get(name) for name in self.names()]

    def __contains__(self, name: object) -> bool:
        self._load_providers()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())


def _first_line(obj: object) -> str:
    doc = getattr(obj, "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


#: predictors (``drugforge train --model``); filled by the modality packages
MODELS: Registry[Any] = Registry("model")
#: generators (``drugforge pretrain --arch``, saved generator kinds)
GENERATORS: Registry[Any] = Registry("generator")
