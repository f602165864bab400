"""The command line is derived from the workflows' config models: one declaration per option.

Every registered subcommand is checked (``drugforge.cli.COMMANDS``): the options built from a
config field carry that field's flag and help text and no default of their own, so the config's
default is the CLI's default.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from drugforge.cli import COMMANDS, build_parser, command_module
from drugforge.cli.options import build_config
from drugforge.core.errors import DrugforgeError


def _subcommand(name: str) -> argparse.ArgumentParser:
    parser = build_parser([name])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]  # type: ignore[no-any-return]


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> Iterator[
        tuple[tuple[str, ...], argparse.ArgumentParser]]:  # fmt: skip
    """``parser`` and its nested subcommands (``datasets show``...), with their argv prefix."""
    nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not nested:
        yield path, parser
    for action in nested:
        for name, child in action.choices.items():
            yield from _parsers(child, (*path, name))


def _fields(name: str) -> dict[str, FieldInfo]:
    fields: dict[str, FieldInfo] = {}
    for model in command_module(name).config_models():
        for field_name, field in model.model_fields.items():
            fields.setdefault(field_name, field)
    return fields


def _descriptions(name: str, field_name: str) -> set[str | None]:
    """The descriptions of ``field_name`` in the command's config models (a command with
    subcommands, such as ``dti``, has one model per subcommand: ``out`` is a directory for
    ``dti train`` and a file for ``dti predict``)."""
    return {model.model_fields[field_name].description
            for model in command_module(name).config_models()
            if field_name in model.model_fields}  # fmt: skip


def _minimal_argv(parser: argparse.ArgumentParser) -> list[str]:
    """The required arguments of ``parser`` with placeholder values."""
    argv: list[str] = []
    groups = [g for g in parser._mutually_exclusive_groups if g.required]
    for action in parser._actions:
        needed = action.required or any(g._group_actions[0] is action for g in groups)
        if not needed or isinstance(action, argparse._SubParsersAction):
            continue
        value = str(action.choices[0]) if action.choices else "1"  # type: ignore[index]
        count = action.nargs if isinstance(action.nargs, int) else 1
        argv += ([action.option_strings[0]] if action.option_strings else []) + [value] * count
    return argv


@pytest.mark.parametrize("name", list(COMMANDS))
def test_options_come_from_the_config_model(name: str) -> None:
    fields = _fields(name)
    derived = 0
    for _, parser in _parsers(_subcommand(name), (name,)):
        for action in parser._actions:
            field = fields.get(action.dest)
            if field is None:
                continue
            derived += 1
            assert action.help in _descriptions(name, action.dest), (name, action.dest)
            assert action.default is argparse.SUPPRESS, (name, action.dest)
            extra = field.json_schema_extra
            cli = extra.get("cli", {}) if isinstance(extra, dict) else {}
            if action.option_strings and isinstance(cli, dict) and "flag" not in cli:
                flag = "-" + action.dest if len(action.dest) == 1 else "--" + action.dest.replace(
                    "_", "-")
                assert action.option_strings == [flag], (name, action.dest)
    assert derived > 0 or not fields, name


@pytest.mark.parametrize("name", list(COMMANDS))
def test_cli_defaults_are_the_config_defaults(name: str) -> None:
    """An option not given is absent from the namespace: the config model's default applies."""
    fields = _fields(name)
    for path, parser in _parsers(_subcommand(name), (name,)):
        argv = [*path, *_minimal_argv(parser)]
        args = build_parser(argv).parse_args(argv)
        for action in parser._actions:
            if action.dest in fields and action.dest not in argv_dests(parser, argv):
                assert action.dest not in vars(args), (argv, action.dest)


def argv_dests(parser: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """The destinations ``argv`` gives a value to (positionals always do)."""
    given = {a.dest for a in parser._actions if not a.option_strings}
    for action in parser._actions:
        if any(flag in argv for flag in action.option_strings):
            given.add(action.dest)
    return given


def test_screen_defaults_reach_the_config() -> None:
    from drugforge.workflows.screen import DEFAULT_CHUNK_SIZE, ScreenConfig

    argv = ["screen", "lib.smi", "--out", "hits.csv"]
    config = build_config(ScreenConfig, build_parser(argv).parse_args(argv))
    assert config.chunk_size == DEFAULT_CHUNK_SIZE == 5000
    assert config.max_heavy_atoms == 150 and config.dedup == "none" and config.properties == []


def test_train_options_convert_to_the_config() -> None:
    from drugforge.workflows.train import TrainConfig

    argv = ["train", "data.csv", "--out", "m", "--split-sizes", "0.7,0.2,0.1",
            "--model-param", "svm.C=10", "--model-param", "mlp.hidden=[8,4]",
            "--auto-pool", "svm, gbm", "--target", "a", "--target", "b"]  # fmt: skip
    config = build_config(TrainConfig, build_parser(argv).parse_args(argv))
    assert config.split_sizes == (0.7, 0.2, 0.1)
    assert config.model_params == {"svm": {"C": 10}, "mlp": {"hidden": [8, 4]}}
    assert config.auto_pool == ["svm", "gbm"] and config.targets == ["a", "b"]
    assert (config.split, config.cv_folds, config.model) == ("scaffold", 5, "auto")


def test_invalid_settings_are_one_line_errors() -> None:
    from drugforge.workflows.generate import GenerateConfig

    with pytest.raises(DrugforgeError, match="invalid arguments: n: Input should be greater"):
        build_config(GenerateConfig, {"n": 0, "out": "x.csv"})


@pytest.mark.parametrize(
    ("arch", "extra", "message"),
    [
        ("chem-lm", {"epochs": 3}, "--epochs is for --arch smiles-vae/latent-gan"),
        ("smiles-vae", {"size": "tiny"}, "--size is for --arch chem-lm"),
        ("smiles-vae", {"data": ["a.smi", "b.smi"]}, "--arch smiles-vae reads one data file, got 2"),
        ("latent-gan", {"data": ["a.smi"], "moses": True, "vae": "v"}, "not both"),
        ("smiles-vae", {"vae": "v"}, "invalid arguments: --vae is for --arch latent-gan"),
        ("latent-gan", {}, "invalid arguments: --arch latent-gan needs --vae DIR"),
    ],
)
def test_pretrain_architecture_rules_live_in_the_configs(
    arch: str, extra: dict[str, object], message: str
) -> None:
    from drugforge.cli.pretrain import architectures

    model: type[BaseModel] = architectures()[arch][0]
    with pytest.raises(DrugforgeError) as err:
        build_config(model, {}, out="o", **extra)
    assert message in str(err.value)


def test_every_workflow_is_a_run_function_of_one_config() -> None:
    """The workflow registry names run functions whose one parameter is a RunConfig: what a
    front end needs to validate settings and call the command; every CLI command but the
    listing ``models``, ``serve`` (a front end itself) and ``keys`` (the server's) reaches one."""
    import inspect
    import typing

    from drugforge.core.config import RunConfig
    from drugforge.workflows import WORKFLOWS

    for name in WORKFLOWS.names():
        run_x = WORKFLOWS.get(name)
        (param,) = inspect.signature(run_x).parameters
        config = typing.get_type_hints(run_x)[param]
        assert issubclass(config, RunConfig), name
    commands = {name.split(".")[0] for name in WORKFLOWS.names()}
    assert commands == set(COMMANDS.names()) - {"models", "serve", "keys"}  # listing; the server
