"""``drugforge serve``: the REST API, its job runner and the web app on one port."""

from __future__ import annotations

import argparse

from pydantic import BaseModel

from drugforge.cli.options import add_options, build_config

HELP = "serve the REST API, its job runner and the web app (OpenAPI schema at /openapi.json)"


def config_models() -> tuple[type[BaseModel], ...]:
    """The config models whose fields are this command's options."""
    from drugforge.api.settings import ServerSettings

    return (ServerSettings,)


def configure(parser: argparse.ArgumentParser) -> None:
    from drugforge.api.settings import ServerSettings

    add_options(parser, ServerSettings, ["host", "port", "data_dir", "max_molecules",
                                         "max_body_bytes", "max_upload_bytes", "open_reads",
                                         "rate_limit", "workers", "database", "ray_address"])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from drugforge.api.app import create_app
    from drugforge.api.settings import ServerSettings

    settings = build_config(ServerSettings, args)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")
    return 0
