"""The ``drugforge`` command line: parse arguments, call a workflow, print one-line errors.

One module per subcommand (``cli/train.py``...): its ``HELP`` (and optional ``PARSER``, extra
``add_parser`` arguments), ``configure(parser)``, which derives the options from the workflow's
config model (:mod:`drugforge.cli.options`), and ``run(args)``, which builds the config, calls the
workflow and prints the result. Nothing here builds a model or touches data directly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from drugforge import __version__
from drugforge.core.errors import DrugforgeError
from drugforge.core.registry import Registry

__all__ = ["COMMANDS", "build_parser", "command_module", "main"]

#: subcommand -> its module under ``drugforge.cli``, in the order ``drugforge --help`` lists them
COMMANDS: Registry[ModuleType] = Registry("command")
for _name in ("train", "predict", "evaluate", "export", "screen", "datasets", "models", "demo",
              "pretrain", "generate", "embed", "profile", "optimize", "benchmark", "dti", "image", "serve",
              "keys"):
    COMMANDS.register(_name, f"drugforge.cli.{_name}")


def command_module(name: str) -> ModuleType:
    """The module of subcommand ``name`` (imported on first use; it imports its workflow lazily)."""
    return COMMANDS.get(name)


def build_parser(argv: Sequence[str] = (), *, every: bool = False) -> argparse.ArgumentParser:
    """The ``drugforge`` parser; only the subcommand named first in ``argv`` (or ``every`` one)
    gets its options, since deriving them imports that command's workflow (seconds)."""
    parser = argparse.ArgumentParser(
        prog="drugforge",
        description="Train, evaluate and apply models of molecular properties.",
    )
    parser.add_argument("--version", action="version", version=f"drugforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS.names():
        module = command_module(name)
        command = sub.add_parser(name, help=module.HELP, **getattr(module, "PARSER", {}))
        if every or (len(argv) > 0 and argv[0] == name):
            module.configure(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``drugforge ARGV``; returns the exit status (2: bad input, 3: a failed gate...)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(args_list).parse_args(args_list)
    try:
        return int(command_module(args.command).run(args))
    except DrugforgeError as err:
        print(f"drugforge: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("drugforge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
