"""Command-line options derived from a workflow's config model: each option is declared once.

A command exposes fields of its config model (a pydantic :class:`~drugforge.core.config.RunConfig`)
by name, in the order its ``--help`` lists them. Everything else comes from the field:

- the flag: ``--smiles-column`` for ``smiles_column``, ``-n`` for a one-letter name;
- the help text: the field's ``description``;
- the type: ``int``/``float`` from the annotation, a ``bool`` is a switch, a ``list`` is repeated
  (``action="append"``), a ``Literal`` gives the choices;
- required or not: a required field is a required option (or a positional);
- the default: the model's. Options that are not given are left out of the namespace
  (``argparse.SUPPRESS``), so the config fills them in and can tell given settings from defaults
  (``pretrain --resume`` needs that).

CLI-only details go in the field's ``json_schema_extra={"cli": {...}}``: ``flag``, ``metavar``,
``positional``, ``required`` (when it differs from the field's), ``nargs``, ``choices`` (``None``
leaves the check to the config), ``choices_from`` (``"module:function"`` returning the names when
the parser is built, e.g. a registry's), ``action`` (``store_false`` for a ``--no-X`` switch), ``one_of`` (a required group of
mutually exclusive options) and ``parse``, the name of a converter in :data:`PARSERS` for a value
typed as one string on the command line (``--split-sizes 0.8,0.1,0.1``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from drugforge.core.errors import DrugforgeError

__all__ = [
    "PARSERS",
    "add_options",
    "build_config",
    "cli_fields",
    "convert",
    "first_error",
    "invalid_arguments",
    "model_param",
]

C = TypeVar("C", bound=BaseModel)


def model_param(text: str) -> tuple[str, str, Any]:
    """``svm.C=10`` -> ('svm', 'C', 10); values are parsed as JSON when possible."""
    try:
        key, raw = text.split("=", 1)
        model, param = key.split(".", 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected MODEL.PARAM=VALUE (e.g. svm.C=10), got '{text}'"
        ) from None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return model, param, value


def _comma_list(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _fractions(text: str) -> tuple[float, float, float]:
    parts = [float(x) for x in text.split(",")]
    if len(parts) != 3:
        raise ValueError("--split-sizes needs three fractions: train,val,test")
    return parts[0], parts[1], parts[2]


def _model_params(items: list[tuple[str, str, Any]]) -> dict[str, dict[str, Any]]:
    params: dict[str, dict[str, Any]] = {}
    for model, key, value in items:
        params.setdefault(model, {})[key] = value
    return params


#: name -> (argparse ``type`` for each token or None, converter of the parsed value or None)
PARSERS: dict[str, tuple[Callable[[str], Any] | None, Callable[[Any], Any] | None]] = {
    "comma_list": (None, _comma_list),  # "qed, sa" -> ["qed", "sa"]
    "fractions": (None, _fractions),  # "0.8,0.1,0.1" -> (0.8, 0.1, 0.1)
    "model_params": (model_param, _model_params),  # svm.C=10 (repeated) -> {"svm": {"C": 10}}
}


def _cli(field: FieldInfo) -> dict[str, Any]:
    extra = field.json_schema_extra
    return dict(extra.get("cli", {})) if isinstance(extra, dict) else {}  # type: ignore[arg-type]


def _strip_optional(annotation: Any) -> Any:
    """``int | None`` -> ``int``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _flag(name: str, cli: Mapping[str, Any]) -> str:
    if "flag" in cli:
        return str(cli["flag"])
    return f"-{name}" if len(name) == 1 else "--" + name.replace("_", "-")


def _argument(name: str, field: FieldInfo) -> tuple[list[str], dict[str, Any]]:
    """The ``add_argument`` call for one field: (names, keyword arguments)."""
    cli = _cli(field)
    base = _strip_optional(field.annotation)
    origin = typing.get_origin(base)
    kwargs: dict[str, Any] = {"help": field.description, "default": argparse.SUPPRESS}
    if cli.get("positional"):
        names = [name]
    else:
        names = [_flag(name, cli)]
        kwargs["dest"] = name
    parse = cli.get("parse")
    if parse is not None:  # one string (or repeated strings) converted by PARSERS[parse]
        token_type, _ = PARSERS[parse]
        if token_type is not None:
            kwargs["type"] = token_type
        if "action" in cli:
            kwargs["action"] = cli["action"]
    elif base is bool:
        kwargs["action"] = cli.get("action", "store_true")
    elif origin is list:
        kwargs["action"] = cli.get("action", "append")
    elif base in (int, float):
        kwargs["type"] = base
    if "nargs" in cli:
        kwargs["nargs"] = cli["nargs"]
        kwargs.pop("action", None)
    if "choices_from" in cli:
        # "module:function" returning the names, called now: a registry's entries as of this
        # parser (a model family registered after import is offered too)
        module, _, function = str(cli["choices_from"]).partition(":")
        kwargs["choices"] = list(getattr(importlib.import_module(module), function)())
    elif "choices" in cli:
        if cli["choices"] is not None:
            kwargs["choices"] = list(cli["choices"])
    elif origin is Literal:
        kwargs["choices"] = list(typing.get_args(base))
    if "metavar" in cli:
        metavar = cli["metavar"]
        kwargs["metavar"] = tuple(metavar) if isinstance(metavar, list) else metavar
    elif (not cli.get("positional") and kwargs.get("action") not in ("store_true", "store_false")
          and "choices" not in kwargs):  # fmt: skip
        kwargs["metavar"] = names[0].lstrip("-").replace("-", "_").upper()  # as argparse would
    if cli.get("required", field.is_required()) and not cli.get("positional") and "one_of" not in cli:
        kwargs["required"] = True
    return names, kwargs


def cli_fields(model: type[BaseModel], names: Iterable[str]) -> dict[str, FieldInfo]:
    """The fields ``names`` of ``model`` (a KeyError names a field that does not exist)."""
    return {name: model.model_fields[name] for name in names}


def add_options(
    parser: argparse.ArgumentParser, model: type[BaseModel], names: Iterable[str]
) -> None:
    """Add one option per field of ``model`` named in ``names``, in that order."""
    groups: dict[str, Any] = {}
    for name, field in cli_fields(model, names).items():
        args, kwargs = _argument(name, field)
        one_of = _cli(field).get("one_of")
        target: Any = parser
        if one_of is not None:
            if one_of not in groups:
                groups[one_of] = parser.add_mutually_exclusive_group(required=True)
            target = groups[one_of]
        target.add_argument(*args, **kwargs)


def first_error(err: Exception) -> str:
    """The first problem of a validation error, ``field: message``."""
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        loc = ".".join(str(x) for x in first.get("loc", ()))
        return f"{loc}: {first.get('msg')}" if loc else str(first.get("msg"))
    return str(err)


def invalid_arguments(err: Exception) -> DrugforgeError:
    """The one-line error (exit status 2) for settings the config refuses."""
    return DrugforgeError(f"invalid arguments: {first_error(err)}")


def convert(model: type[BaseModel], name: str, value: Any) -> Any:
    """The command-line ``value`` of field ``name`` as the config takes it (see ``parse``)."""
    parse = _cli(model.model_fields[name]).get("parse")
    converter = PARSERS[parse][1] if parse is not None else None
    return converter(value) if converter is not None else value


def build_config(
    model: type[C], args: argparse.Namespace | Mapping[str, Any], **settings: Any
) -> C:
    """``model`` from the options given on the command line (converted) plus ``settings``.

    Keys of ``args`` that are not fields of ``model`` are ignored (the subcommand's name...).
    """
    given = dict(vars(args) if isinstance(args, argparse.Namespace) else args)
    values: dict[str, Any] = {}
    try:
        for name, value in given.items():
            if name in model.model_fields:
                values[name] = convert(model, name, value)
        values.update(settings)
        return model(**values)
    except (ValidationError, ValueError) as err:
        raise invalid_arguments(err) from None
