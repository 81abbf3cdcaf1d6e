"""Strict configuration: unknown keys, wrong types and bad environment variables are refused with
one line per problem naming the key and what was expected; valid files map to the settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bridgekeeper.config import ConfigError, Settings, load_settings, redact_url
from bridgekeeper.config.commands import reference
from bridgekeeper.config.environment import Variables
from bridgekeeper.domain.access import PRIVILEGED_ACTIONS
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.domain.regimes import BUILTIN_RULES
from tests.helpers import REPO


def problems(toml: str, tmp_path: Path, **env: str) -> list[str]:
    """The lines a bad configuration gives, as `bridgekeeper` prints them after its name."""
    config = tmp_path / "bridgekeeper.toml"
    config.write_text(toml + "\n")
    with pytest.raises(ConfigError) as raised:
        load_settings({"BRIDGEKEEPER_CONFIG": str(config), **env})
    return raised.value.lines()


def test_no_file_and_no_environment_give_the_defaults() -> None:
    assert load_settings({}) == Settings()


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        (
            '[alerts]\ntriage_threshhold = "sev2"',
            "config: alerts.triage_threshhold: unknown key (did you mean alerts.triage_threshold?)",
        ),
        ('[alert]\ntoken = "abc"', "config: alert: unknown key (did you mean alerts?)"),
        (
            '[permissions]\nclsoe = ["commander"]',
            "config: permissions.clsoe: unknown key (did you mean permissions.close?)",
        ),
        (
            '[[alerts.auto_declare]]\nsources = ["x"]\nprivat = true',
            "config: alerts.auto_declare[0].privat: unknown key "
            "(did you mean alerts.auto_declare[0].private?)",
        ),
        (
            "[updates]\ncadence_minutes = { sev5 = 10 }",
            "config: updates.cadence_minutes.sev5: unknown key (did you mean "
            "updates.cadence_minutes.sev4?)",
        ),
        ("[wibble]\nx = 1", "config: wibble: unknown key"),
    ],
)
def test_unknown_keys_are_refused_with_the_nearest_known_key(
    tmp_path: Path, toml: str, line: str
) -> None:
    assert problems(toml, tmp_path) == [line]


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        (
            '[[alerts.auto_declare]]\nsources = ["defender"]\nprivate = "false"',
            'alerts.auto_declare[0].private: expected true or false, got "false" (a string)',
        ),
        (
            '[close]\nrequire_regulatory_decisions = "no"',
            'close.require_regulatory_decisions: expected true or false, got "no" (a string)',
        ),
        ("[alerts]\ntoken = 12345", "alerts.token: expected text in quotes, got a number"),
        (
            '[alerts]\ngrouping_window_minutes = "60"',
            'alerts.grouping_window_minutes: expected a whole number, got "60" (a string)',
        ),
        (
            "[outbox]\nmax_attempts = 2.5",
            "outbox.max_attempts: expected a whole number, got 2.5 (a number)",
        ),
        (
            "[outbox]\nmax_attempts = true",
            "outbox.max_attempts: expected a whole number, got true (a boolean)",
        ),
        (
            "[http]\nmax_connections = 0",
            "http.max_connections: expected a number greater than 0, got 0 (a number)",
        ),
        (
            "[http]\nbody_timeout_seconds = -1",
            "http.body_timeout_seconds: expected a number greater than 0, got -1 (a number)",
        ),
        (
            '[database.server_settings]\n"work_mem; DROP" = "64MB"',
            'database.server_settings: "work_mem; DROP" is not a run-time parameter bridgekeeper',
        ),
        (
            '[database.hot_path_server_settings]\nuser = "postgres"',
            'database.hot_path_server_settings: "user" is not a run-time parameter bridgekeeper',
        ),
        (
            '[database.server_settings]\nwork_mem = "64MB\\u0000user\\u0000postgres"',
            'database.server_settings: "work_mem" is not a run-time parameter bridgekeeper sets',
        ),
        (
            "[database.server_settings]\nwork_mem = 64",
            "database.server_settings.work_mem: expected text in quotes, got 64 (a number)",
        ),
        (
            "[database]\nping_after_idle_seconds = nan",
            "database.ping_after_idle_seconds: expected a number (not nan or inf), got nan",
        ),
        (
            "[http]\nbody_timeout_seconds = inf",
            "http.body_timeout_seconds: expected a number (not nan or inf), got inf",
        ),
        (
            "[outbox]\nclaim_seconds = 3",
            "outbox.claim_seconds: expected 10 or more, got 3 (a number)",
        ),
        (
            "[database]\nmax_overflow = -1",
            "database.max_overflow: expected 0 or more, got -1 (a number)",
        ),
        (
            '[incidents]\ndefault_severity = "sev9"',
            'incidents.default_severity: expected one of sev1, sev2, sev3, sev4, got "sev9" '
            "(a string)",
        ),
        ('[incidents]\nroles = ["deputy"]', "incidents.roles: must include commander"),
        (
            f'[incidents]\nroles = ["commander", "{"x" * 41}"]',
            "incidents.roles: a role's name is at most 40 characters",
        ),
        (
            '[permissions]\nclose = ["commander", "janitor"]',
            'permissions.close: unknown role "janitor"; expected roles from [incidents] roles, '
            "managers or anyone",
        ),
        (
            '[channels]\nprefix = "INC!"',
            'channels.prefix: expected 1-20 lowercase letters, digits, - or _, got "INC!" '
            "(a string)",
        ),
        (
            '[close]\nrequired = ["summary", "haiku"]',
            "close.required: expected one of summary, root_cause, went_well, to_improve, "
            'disposition, follow_ups, got "haiku" (a string)',
        ),
        (
            '[alerts]\nauto_declare = [{ min_severity = "sev1" }]',
            "alerts.auto_declare[0].sources: missing: this key is required",
        ),
        ('[reports]\ntemplate_dir = "no-such-folder"', "reports.template_dir: folder not found: "),
        (
            '[alerts]\ntriage_threshold = ["sev1"]',
            "alerts.triage_threshold: expected one of sev1, sev2, sev3, sev4, "
            'got ["sev1"] (a list)',
        ),
        ('channels = "C0123"', 'channels: expected a table, got "C0123" (a string)'),
    ],
)
def test_values_of_the_wrong_type_are_refused(tmp_path: Path, toml: str, line: str) -> None:
    [found] = problems(toml, tmp_path)
    assert found.startswith("config: " + line), found


def test_secrets_are_never_repeated_in_errors(tmp_path: Path) -> None:
    lines = problems(
        '[alerts]\ntokens = { pagerduty = 424242 }\n[reports]\naccess_token = "hunter2"',
        tmp_path,
        DATABASE_URL="mysql://bk:s3cret-pw@db/bk",
    )
    assert lines == [
        "config: DATABASE_URL: expected a postgresql:// or sqlite:// URL",
        "config: alerts.tokens.pagerduty: expected text in quotes, got a number",
        "config: reports.access_token: expected at least 16 characters, got a string",
    ]
    assert not any(secret in "".join(lines) for secret in ("424242", "hunter2", "s3cret"))


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        ("PORT", "abc", 'PORT: expected a port number 1-65535, got "abc"'),
        ("PORT", "0", 'PORT: expected a port number 1-65535, got "0"'),
        ("PORT", "70000", 'PORT: expected a port number 1-65535, got "70000"'),
        ("LOG_LEVEL", "LOUD", 'LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR, got "LOUD"'),
        (
            "SLACK_API_URL",
            "slack.com/api",
            'SLACK_API_URL: expected a URL starting with http:// or https://, got "slack.com/api"',
        ),
        (
            "DATABASE_URL",
            "mysql://db/bk",
            "DATABASE_URL: expected a postgresql:// or sqlite:// URL",
        ),
        (
            "BRIDGEKEEPER_TRIAGE_CHANNEL",
            "#triage",
            "BRIDGEKEEPER_TRIAGE_CHANNEL: expected a Slack channel ID like C0123ABCD, "
            'got "#triage"',
        ),
        (
            "BRIDGEKEEPER_STAKEHOLDER_CHANNEL",
            "general",
            "BRIDGEKEEPER_STAKEHOLDER_CHANNEL: expected a Slack channel ID like C0123ABCD, "
            'got "general"',
        ),
        (
            "BRIDGEKEEPER_REPORT_TOKEN",
            "short",
            "BRIDGEKEEPER_REPORT_TOKEN: expected at least 16 characters",
        ),
        (
            "BRIDGEKEEPER_CONFIG",
            "/no/such/bridgekeeper.toml",
            "BRIDGEKEEPER_CONFIG: file not found: /no/such/bridgekeeper.toml",
        ),
    ],
)
def test_each_environment_variable_is_checked(name: str, value: str, line: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({name: value})
    assert raised.value.lines() == ["config: " + line]
    assert raised.value.key == name


def test_environment_variables_that_are_valid() -> None:
    env = {
        "PORT": " 8080 ",
        "LOG_LEVEL": "debug",
        "DATABASE_URL": "postgres://bk:pw@db/bk",
        "SLACK_API_URL": "http://localhost:9",
    }
    settings = load_settings(env)
    assert settings.port == 8080 and settings.log_level == "DEBUG"
    assert settings.database_url == "postgresql+asyncpg://bk:pw@db/bk"
    assert settings.slack_api_url == "http://localhost:9/"


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    lines = problems(
        '[alerts]\ntriage_threshhold = "sev2"\n[[alerts.auto_declare]]\n'
        'sources = ["defender"]\nprivate = "false"\n[outbox]\nmax_attempts = 0',
        tmp_path,
        PORT="abc",
        LOG_LEVEL="LOUD",
    )
    assert [line.split(":")[1].strip() for line in lines] == [
        "LOG_LEVEL",
        "PORT",
        "outbox.max_attempts",
        "alerts.auto_declare[0].private",
        "alerts.triage_threshhold",
    ]


def test_a_file_that_is_not_toml(tmp_path: Path) -> None:
    [line] = problems("[alerts\ntoken = 1", tmp_path)
    assert line.startswith("config: BRIDGEKEEPER_CONFIG: not valid TOML: ")


def test_a_full_file_maps_to_the_settings(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    config = tmp_path / "bridgekeeper.toml"
    config.write_text(
        '[channels]\nprefix = "sec"\ntriage = "C0TRIAGE"\n'
        '[incidents]\ndefault_severity = "SEV2"\nroles = ["commander", "scribe"]\n'
        '[permissions]\nclose = ["commander", "managers"]\n'
        '[alerts]\ntoken = "from-the-file"\n'
        '[[alerts.auto_declare]]\nsources = ["defender"]\nmin_severity = "sev1"\nprivate = true\n'
        "[http]\nheader_timeout_seconds = 5\n"
        "[database]\npool_size = 4\nping_after_idle_seconds = 0\n"
        "[outbox]\nclaim_seconds = 12.5\n"
        '[database.server_settings]\nstatement_timeout = "30s"\n'
        '[reports]\ntemplate_dir = "templates"\n'
        "[updates]\ncadence_minutes = { sev1 = 15, sev3 = 0 }\n"
        'stakeholder_channels = { sev1 = "C0EXECS", sev4 = [] }\n'
    )
    env = {
        "BRIDGEKEEPER_CONFIG": str(config),
        "BRIDGEKEEPER_ALERT_TOKEN": "from-env",
        "BRIDGEKEEPER_TRIAGE_CHANNEL": "C0ENVTRIAGE",
    }
    settings = load_settings(env)
    assert settings.process.channel_prefix == "sec" and settings.triage_channel == "C0ENVTRIAGE"
    assert settings.process.default_severity is Severity.SEV2
    assert settings.process.roles == ("commander", "scribe")
    assert settings.process.permissions["close"] == ("commander", "managers")
    assert settings.alerts.token == "from-the-file"  # the file's token wins, as before
    [rule] = settings.alerts.auto_declare
    assert rule.sources == ("defender",) and rule.private is True
    assert rule.min_severity is Severity.SEV1
    assert settings.http.header_timeout_seconds == 5.0
    assert (settings.database.pool_size, settings.database.max_overflow) == (4, 10)
    assert settings.database.ping_after_idle_seconds == 0.0
    assert settings.database.server_settings == {"statement_timeout": "30s"}  # replaced whole
    assert settings.database.hot_path_server_settings == {"enable_seqscan": "off"}
    assert (settings.outbox_claim_seconds, settings.outbox_max_attempts) == (12.5, 300)
    assert settings.reports.template_dir == tmp_path / "templates"
    assert settings.updates.cadence_minutes[Severity.SEV1] == 15
    assert settings.updates.cadence_minutes[Severity.SEV3] is None
    assert settings.updates.stakeholder_channels == {Severity.SEV1: ("C0EXECS",), Severity.SEV4: ()}


def test_the_readme_example_is_a_valid_file(tmp_path: Path) -> None:
    section = (REPO / "README.md").read_text().split("## Configuration", 1)[1]
    example = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert example is not None
    config = tmp_path / "example.toml"
    config.write_text(example.group(1))
    settings = load_settings({"BRIDGEKEEPER_CONFIG": str(config)})
    built_in = {rule.name for rule in BUILTIN_RULES}  # a regime of one of these names replaces it
    assert all(r in BUILTIN_RULES for r in settings.updates.regimes if r.name in built_in)


def test_the_readme_names_every_built_in_regime() -> None:
    row = next(
        line
        for line in (REPO / "README.md").read_text().splitlines()
        if "| `notify <regime>" in line
    )
    named = set(re.findall(r"`([a-z0-9-]+)`", row.split("Built in:", 1)[1]))
    assert named == {rule.name for rule in BUILTIN_RULES}


def test_a_dotenv_file_is_read_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for field in Variables.model_fields.values():
        monkeypatch.delenv(str(field.alias), raising=False)
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-dotenv\nPORT=4000\nOTHER=1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PORT", "5000")
    settings = load_settings()
    assert settings.slack_bot_token == "xoxb-from-dotenv" and settings.port == 5000
    assert load_settings({}).slack_bot_token == ""  # a given mapping is all there is


def test_the_permissions_table_names_every_privileged_action() -> None:
    from bridgekeeper.config.schema import Permissions

    assert set(Permissions.model_fields) == set(PRIVILEGED_ACTIONS)


def test_the_reference_in_docs_is_what_the_code_generates() -> None:
    written = (REPO / "docs" / "configuration.md").read_text()
    assert written == reference(), (
        "docs/configuration.md is out of date: bridgekeeper config reference > "
        "docs/configuration.md"
    )


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[channels]\nprefix = "inc\\n"', "channels.prefix"),
        ('[channels]\ntriage = "C0123ABCD\\n"', "channels.triage"),
        ('[regulatory]\ncontacts = ["U0123LEGAL\\n"]', "regulatory.contacts"),
        ('[updates]\nstakeholder_channels = { sev1 = "C0123\\n" }', "updates.stakeholder_channels"),
    ],
)
def test_a_pattern_is_matched_whole_a_line_break_included(
    tmp_path: Path, toml: str, key: str
) -> None:
    """A regular expression's `$` also matches before a final line break: "inc\\n" passed as a
    channel prefix, and every bridge channel's name was one Slack refuses."""
    [line] = problems(toml, tmp_path)
    assert line.startswith(f"config: {key}")


def test_a_channel_variable_ending_in_a_line_break_is_refused(tmp_path: Path) -> None:
    [line] = problems("", tmp_path, BRIDGEKEEPER_TRIAGE_CHANNEL="C0123ABCD\n")
    assert line.startswith("config: BRIDGEKEEPER_TRIAGE_CHANNEL: expected a Slack channel ID")


@pytest.mark.parametrize("ending", ["\n", "\r\n", " "])
def test_a_secret_is_taken_without_the_line_break_or_spaces_around_it(ending: str) -> None:
    """As a secret made from a file or a CRLF env file gives it: kept, every request signed
    with the secret (or every alert with the token) would be refused, and nothing logged."""
    settings = load_settings(
        {
            "SLACK_SIGNING_SECRET": f" signing-secret{ending}",
            "BRIDGEKEEPER_ALERT_TOKEN": f"alert-token{ending}",
            "SLACK_BOT_TOKEN": f"xoxb-1{ending}",
        }
    )
    assert settings.slack_signing_secret == "signing-secret"
    assert settings.slack_bot_token == "xoxb-1"
    assert settings.alerts.token == "alert-token"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bk:s3cret@db/bk", "postgresql://bk:***@db/bk"),
        ("postgresql://:s3cret@db/bk", "postgresql://:***@db/bk"),  # the default user
        (
            "postgresql://bk@db/bk?password=s3cret&ssl=on",
            "postgresql://bk@db/bk?password=***&ssl=on",
        ),
        (
            "postgresql://bk:s3:cr@t@db/bk?application_name=a@b",
            "postgresql://bk:***@db/bk?application_name=a@b",
        ),
        ("postgresql://db/bk?sslpassword=s3cret", "postgresql://db/bk?sslpassword=***"),
        ("sqlite:///var/lib/bk.db?mode=ro", "sqlite:///var/lib/bk.db?mode=ro"),
    ],
)
def test_a_database_password_is_never_shown(url: str, shown: str) -> None:
    """Wherever a database URL is printed (config show, doctor, db upgrade, serve's line when
    the database cannot be reached), in each way a URL can carry a password."""
    assert redact_url(url) == shown


def test_a_file_not_in_utf8_is_named_in_one_line(tmp_path: Path) -> None:
    """An editor that saved the file in Latin-1: the file and the byte, not a traceback."""
    config = tmp_path / "bridgekeeper.toml"
    config.write_bytes('[channels]\nprefix = "données"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as raised:
        load_settings({"BRIDGEKEEPER_CONFIG": str(config)})
    assert raised.value.lines() == [
        f"config: BRIDGEKEEPER_CONFIG: not UTF-8 text: {config} (byte 26 is not); save it as UTF-8"
    ]


def test_a_file_that_cannot_be_read_is_named_in_one_line() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"BRIDGEKEEPER_CONFIG": "/proc/self/mem"})  # refuses a plain read
    assert raised.value.lines() == [
        "config: BRIDGEKEEPER_CONFIG: cannot be read: /proc/self/mem (Input/output error)"
    ]


def test_an_env_file_not_in_utf8_is_named_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_bytes("SLACK_BOT_TOKEN=xoxb-café\n".encode("latin-1"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    [line] = raised.value.lines()
    assert line.startswith("config: .env: not UTF-8 text: .env (byte ")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://bk:pw@db:notaport/bk", "a URL whose host and port can be read"),
        ("postgresql://bk:pw@db:/bk", "a URL whose host and port can be read"),
        ("postgresql://[::1/bk", "a URL whose host and port can be read"),
        ("sqlite:///", "a database file: an in-memory one forgets"),  # sqlite:///$UNSET_PATH
        ("sqlite://", "a database file: an in-memory one forgets"),
        ("sqlite:///:memory:", "a database file: an in-memory one forgets"),
    ],
)
def test_a_database_url_that_cannot_work_is_refused_by_name(url: str, expected: str) -> None:
    """Not only the scheme: a port that is not a number stopped every database command with a
    bare ValueError; an in-memory SQLite database took alerts and lost them all at exit."""
    with pytest.raises(ConfigError) as raised:
        load_settings({"DATABASE_URL": url})
    [line] = raised.value.lines()
    assert line.startswith(f"config: DATABASE_URL: expected {expected}") and "pw" not in line


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        (
            "[close]\narchive_after_hours = inf",
            "close.archive_after_hours: expected a number (not nan or inf), got inf",
        ),
        (
            "[updates]\nreview_after_days = 1000000000",
            "updates.review_after_days: expected 100,000",
        ),
        ("[updates.cadence_minutes]\nsev1 = 99999999999", "updates.cadence_minutes.sev1: expected"),
    ],
)
def test_a_length_of_time_past_what_a_date_holds_is_refused(
    tmp_path: Path, toml: str, line: str
) -> None:
    """`inf` hours passed, then every close failed adding them to now; a billion days stopped
    serve with an OverflowError that named no key."""
    [found] = problems(toml, tmp_path)
    assert found.startswith(f"config: {line}")


def test_a_key_with_a_line_break_is_named_on_one_line(tmp_path: Path) -> None:
    """Quoted keys may hold anything: shown as TOML writes them, a key cannot make a problem
    look like two, the second one forged."""
    found = problems('[alerts]\n"x\\nbridgekeeper: config: FORGED" = 1', tmp_path)
    assert found == ['config: alerts."x\\nbridgekeeper: config: FORGED": unknown key']
