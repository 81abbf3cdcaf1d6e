"""`bridgekeeper config check [FILE] | show | reference`: nothing is started or connected."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bridgekeeper.config.loading import check, to_settings
from bridgekeeper.config.reference import document_entries, effective, environment_entries
from bridgekeeper.rendering import Renderer


def add_parser(sub: Any) -> None:
    """The `config` command and its subcommands, on the main parser's subparsers."""
    config = sub.add_parser(
        "config",
        help="check or print the configuration",
        description="Check or print the "
        "configuration (the environment, .env and the TOML file) without starting anything.",
    )
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    checking = config_sub.add_parser(
        "check",
        help="validate the settings; exit status 0 when valid, 2 with one line per problem",
        description="Validate the environment and the TOML file: exit status 0 when valid, "
        "else 2 with one line per problem on stderr.",
    )
    checking.add_argument(
        "file", nargs="?", default=None, help="the TOML file (default: $BRIDGEKEEPER_CONFIG)"
    )
    config_sub.add_parser(
        "show",
        help="print every setting in effect, defaults included, secrets masked",
        description="Print every setting in effect (defaults included), secrets masked.",
    )
    config_sub.add_parser(
        "reference",
        help="print the reference of every setting (docs/configuration.md)",
        description="Print the reference of every setting as Markdown: key, type, default, "
        "description (docs/configuration.md is this output).",
    )


def config_command(args: argparse.Namespace) -> int:
    """Raises ConfigError (exit status 2 at the edge) when `check` or `show` finds problems."""
    renderer = Renderer()
    if args.config_command == "reference":
        sys.stdout.write(reference(renderer))
        return 0
    env, doc = check(config_path=getattr(args, "file", None))
    if args.config_command == "check":
        print(renderer.text("cli/config_ok.txt.j2", path=env.config_path).strip())
        return 0
    settings = to_settings(env, doc)
    shown = effective(env, doc, settings)
    variables = {entry.key for entry in environment_entries()}
    sys.stdout.write(
        renderer.text(
            "cli/config_show.txt.j2",
            path=env.config_path,
            environment=[(k, v) for k, v in shown if k in variables],
            document=[(k, v) for k, v in shown if k not in variables],
        )
    )
    return 0


def _cell(text: object) -> str:
    """Text inside a Markdown table cell: no column break, no HTML tag."""
    return str(text).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def reference(renderer: Renderer | None = None) -> str:
    """docs/configuration.md, as the code describes the settings."""
    renderer = renderer or Renderer()
    renderer.text_env.filters["cell"] = _cell
    text = renderer.text(
        "cli/config_reference.md.j2",
        environment=environment_entries(),
        tables=document_entries(),
    )
    return text if text.endswith("\n") else text + "\n"
