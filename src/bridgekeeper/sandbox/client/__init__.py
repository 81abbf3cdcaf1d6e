"""`bridgekeeper sandbox`: a Slack-like web client for the built-in emulator (server.py)."""

from bridgekeeper.sandbox.client.server import Sandbox, run_sandbox, start_sandbox

__all__ = ["Sandbox", "run_sandbox", "start_sandbox"]
