"""Emulators of the issue trackers follow-ups land in: real HTTP servers with real state and
injectable faults, one module per tracker, speaking each vendor's documented wire format."""

from bridgekeeper.sandbox.trackers.base import TrackerEmulator
from bridgekeeper.sandbox.trackers.github import GitHubEmulator
from bridgekeeper.sandbox.trackers.gitlab import GitLabEmulator
from bridgekeeper.sandbox.trackers.jira import JiraEmulator

__all__ = ["GitHubEmulator", "GitLabEmulator", "JiraEmulator", "TrackerEmulator"]
