"""``drugforge keys create|list|revoke --data-dir DIR``: the API keys of a server's store."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from pydantic import BaseModel

from drugforge.cli.options import add_options, build_config

HELP = "API keys of 'drugforge serve' (create, list, revoke)"


def config_models() -> tuple[type[BaseModel], ...]:
    """The config models whose fields are this command's options."""
    from drugforge.api.settings import ServerSettings

    return (ServerSettings,)


def configure(parser: argparse.ArgumentParser) -> None:
    from drugforge.api.settings import ServerSettings

    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a key (printed once) for a member")
    create.add_argument("--name", required=True, help="whose key it is (shown in 'keys list')")
    listing = actions.add_parser("list", help="the keys: id, name, created, revoked")
    revoke = actions.add_parser("revoke", help="stop a key at once")
    revoke.add_argument("key_id", metavar="ID", help="the key's id (see 'keys list')")
    for sub in (create, listing, revoke):
        add_options(sub, ServerSettings, ["data_dir", "database"])


def _when(t: float | None) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if t else "-"


def run(args: argparse.Namespace) -> int:
    from drugforge.api.db import Database
    from drugforge.api.keys import KeyStore
    from drugforge.api.settings import ServerSettings

    action = args.action
    given = {k: v for k, v in vars(args).items() if k in ("data_dir", "database")}
    settings = build_config(ServerSettings, argparse.Namespace(**given))
    store = KeyStore(Database(settings.database_url))
    if action == "create":
        key_id, key = store.create(args.name)
        print(key)
        print(f"key {key_id} for '{args.name.strip()}' created; it is shown only this once",
              file=sys.stderr)
    elif action == "list":
        print(f"{'id':<14} {'name':<24} {'created':<24} revoked")
        for info in store.all():
            print(f"{info.id:<14} {info.name:<24} {_when(info.created):<24} {_when(info.revoked)}")
    else:
        info = store.revoke(args.key_id)
        print(f"key {info.id} ('{info.name}') revoked at {_when(info.revoked)}", file=sys.stderr)
    return 0
