"""bridgekeeper: a Slack incident bot for security and operations teams."""

__version__ = "0.1.0"
