"""What the two baselines share: `python -m bench.bare_<name> --port N` serves their app on the
event loop bridgekeeper serves on (uvloop), so that only the handlers differ."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import uvloop
from aiohttp import web


def main(build_app: Callable[[], web.Application], description: str | None) -> None:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(
        build_app(),
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )
