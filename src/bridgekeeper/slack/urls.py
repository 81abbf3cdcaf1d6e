"""Whether a URL is on the Slack the bot talks to: response URLs (hooks.<host>) and file
downloads (files.<host>) are only followed there, so a forged payload cannot make the bot send
its token or a reply anywhere else."""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"https": 443, "http": 80}


def is_slack_response_url(url: str, api_url: str) -> bool:
    """Whether `url` is a response URL of the Slack the bot talks to (https://slack.com/api/
    answers at https://hooks.slack.com/...; the emulator at its own address)."""
    return on_slack(url, api_url, "hooks")


def on_slack(url: str, api_url: str, subdomain: str) -> bool:
    """Whether `url` is on the Slack the bot talks to: the API URL's scheme and port, on its
    host or on <subdomain>.<its host>, with no credentials in it."""
    try:
        given, api = urlsplit(url), urlsplit(api_url)
        ports = [u.port or DEFAULT_PORTS.get(u.scheme) for u in (given, api)]
    except ValueError:
        return False
    host = (api.hostname or "").lower()
    return (
        given.scheme == api.scheme
        and ports[0] == ports[1]
        and (given.hostname or "").lower() in (host, f"{subdomain}.{host}")
        and not given.username
        and not given.password
    )
