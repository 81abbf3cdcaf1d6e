"""Settings: the only reader of the environment and of the TOML file.

`load_settings()` is called once at start-up; invalid configuration raises ConfigError naming
every key that is wrong and what was expected. Built-in defaults make bridgekeeper run with no
file at all.

    environment.py   the environment variables and .env (pydantic-settings)
    schema.py        the TOML file, table by table (pydantic, strict, unknown keys refused)
    types.py         the value types and their checks
    problems.py      validation errors as one line each
    loading.py       load_settings(): both checked, mapped to the dataclasses of settings.py
    reference.py     `bridgekeeper config reference` and `config show`
"""

from bridgekeeper.config.environment import DEFAULT_API_URL
from bridgekeeper.config.loading import database_url, load_settings, require_slack
from bridgekeeper.config.settings import (
    CLOSE_FIELDS,
    DEFAULT_PERMISSIONS,
    DEFAULT_SEVERITY_MEANINGS,
    AlertSettings,
    AutoDeclareRule,
    CloseSettings,
    ConsoleSettings,
    DatabaseSettings,
    HttpSettings,
    ProcessSettings,
    ReportSettings,
    Settings,
    UpdateSettings,
    redact_url,
)
from bridgekeeper.errors import ConfigError

__all__ = [
    "CLOSE_FIELDS",
    "DEFAULT_API_URL",
    "DEFAULT_PERMISSIONS",
    "DEFAULT_SEVERITY_MEANINGS",
    "AlertSettings",
    "AutoDeclareRule",
    "CloseSettings",
    "ConfigError",
    "ConsoleSettings",
    "DatabaseSettings",
    "HttpSettings",
    "ProcessSettings",
    "ReportSettings",
    "Settings",
    "UpdateSettings",
    "database_url",
    "load_settings",
    "redact_url",
    "require_slack",
]
