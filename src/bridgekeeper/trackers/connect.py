"""The tracker client the settings name, over one HTTP session opened on first use."""

from __future__ import annotations

import aiohttp

from bridgekeeper.config.settings import TrackerSettings
from bridgekeeper.trackers import Tracker


class Connection:
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def build(settings: TrackerSettings, connection: Connection) -> Tracker | None:
    """The configured tracker's client; None when follow-ups go nowhere."""
    from bridgekeeper.trackers.github import GitHub
    from bridgekeeper.trackers.gitlab import GitLab
    from bridgekeeper.trackers.jira import Jira
    from bridgekeeper.trackers.jira_dc import JiraDataCenter

    token = settings.token or ""
    if settings.kind == "github":
        return GitHub(connection, url=settings.url, repo=settings.project, token=token)
    if settings.kind == "gitlab":
        return GitLab(connection, url=settings.url, project=settings.project, token=token)
    if settings.kind == "jira":
        return Jira(
            connection,
            url=settings.url,
            project=settings.project,
            token=token,
            email=settings.email or "",
            issue_type=settings.issue_type,
        )
    if settings.kind == "jira-dc":
        return JiraDataCenter(
            connection,
            url=settings.url,
            project=settings.project,
            token=token,
            issue_type=settings.issue_type,
        )
    return None
