"""A fake Slack for tests, demos and benchmarks: SlackEmulator (the API) and SlackDriver (users)."""

from bridgekeeper.sandbox.driver import Reply, SlackDriver
from bridgekeeper.sandbox.emulator import SlackEmulator
from bridgekeeper.sandbox.state import (
    Call,
    Channel,
    Ephemeral,
    File,
    Message,
    ResponsePost,
    View,
)

__all__ = [
    "Call",
    "Channel",
    "Ephemeral",
    "File",
    "Message",
    "Reply",
    "ResponsePost",
    "SlackDriver",
    "SlackEmulator",
    "View",
]
