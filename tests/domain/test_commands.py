"""The `/incident` parser and the usage texts in messages/."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bridgekeeper.domain.command_parsing import NO_INCIDENT, SUBCOMMANDS, parse
from bridgekeeper.domain.commands import (
    PROBLEMS,
    AddEvidence,
    AddNote,
    AddTask,
    AssignRole,
    Close,
    Command,
    CompleteTask,
    DecideIndicator,
    Declare,
    EvidenceForm,
    ExportFollowups,
    ExportIndicators,
    Help,
    ListEvidence,
    ListFollowups,
    ListIncidents,
    ListIndicators,
    ListOverrides,
    ListRoles,
    ListTasks,
    Notify,
    NotifyDone,
    NotifyNotRequired,
    Page,
    PostUpdate,
    RemoveOverride,
    Reopen,
    SetImpact,
    SetOverride,
    SetSeverity,
    SetStage,
    ShowOnCall,
    ShowReport,
    ShowSummary,
    ShowTimeline,
    Stats,
    TransferEvidence,
    UsageError,
    UserRef,
    VerifyEvidence,
)
from bridgekeeper.domain.incidents import DEFAULT_ROLES, Impact, Severity, Stage

MESSAGES = Path(__file__).resolve().parents[2] / "messages"
ANN = UserRef("U1", None)

EXAMPLES: list[tuple[str, Command]] = [
    ("help", Help(None)),
    ("HELP Role", Help("role")),
    ("list", ListIncidents()),
    ("declare Suspicious login", Declare("Suspicious login", None, False)),
    ("declare DB down SEV2 private", Declare("DB down", Severity.SEV2, True)),
    ("Declare  DB   down private sev1", Declare("DB   down", Severity.SEV1, True)),
    ("declare 42 servers down", Declare("42 servers down", None, False)),
    ("declare private data leaked", Declare("private data leaked", None, False)),
    ("declare DB down sev1.", Declare("DB down", Severity.SEV1, False)),  # typed in a hurry
    ("declare DB down (sev1)", Declare("DB down", Severity.SEV1, False)),
    ("declare DB down sev1, private", Declare("DB down", Severity.SEV1, True)),
    ("role commander <@U1>", AssignRole(None, "commander", ANN)),
    ("evidence", ListEvidence(None)),
    ("evidence #42 list", ListEvidence(42)),
    ("evidence add Disk image", AddEvidence(None, "Disk image", None, None)),
    ("evidence #5 add", EvidenceForm(5)),
    (
        f"evidence 7 add Disk  image sha256={'AB' * 32} location=Locker 4, room B",
        AddEvidence(7, "Disk  image", "ab" * 32, "Locker 4, room B"),
    ),
    ("evidence transfer 2 <@U1> to the lab", TransferEvidence(None, 2, ANN, "to the lab")),
    (f"evidence verify #3 {'0F' * 32}", VerifyEvidence(None, 3, "0f" * 32)),
    ("iocs", ListIndicators(None)),
    ("iocs #4 export", ExportIndicators(4, "stix")),
    ("iocs export CSV", ExportIndicators(None, "csv")),
    ("ioc confirm 2", DecideIndicator(None, 2, "confirmed", "")),
    ("ioc #4 dismiss #3 our own  scanner", DecideIndicator(4, 3, "dismissed", "our own  scanner")),
    ("role 42 Scribe <@U1|ann>", AssignRole(42, "scribe", UserRef("U1", "ann"))),
    ("role <@U1|Ann Lee> deputy", AssignRole(None, "deputy", UserRef("U1", "Ann Lee"))),
    ("role #7 comms @bob", AssignRole(7, "comms", UserRef(None, "bob"))),
    ("roles", ListRoles(None)),
    ("roles 42", ListRoles(42)),
    (
        "severity sev1 customers cannot log in",
        SetSeverity(None, Severity.SEV1, "customers cannot log in"),
    ),
    ("severity 42 Sev3 contained", SetSeverity(42, Severity.SEV3, "contained")),
    ("stage assess", SetStage(None, Stage.ASSESS, None)),
    ("stage #42 STABILISE fix deployed", SetStage(42, Stage.STABILIZE, "fix deployed")),
    (
        "impact c=high i=low a=none personal-data=yes",
        SetImpact(None, Impact.HIGH, Impact.LOW, Impact.NONE, True),
    ),
    ("impact 42 availability=Medium", SetImpact(42, None, None, Impact.MEDIUM, None)),
    ("impact integrity = high, pd=no", SetImpact(None, None, Impact.HIGH, None, False)),
    ("note Rolled back the deploy", AddNote(None, "Rolled back the deploy")),
    ("note 42 line one\n  line two  ", AddNote(42, "line one\n  line two")),
    ("update Mitigated; monitoring", PostUpdate(None, "Mitigated; monitoring")),
    ("task rotate keys <@U1>", AddTask(None, "rotate keys", ANN)),
    ("task 42 ping <@U1> about logs", AddTask(42, "ping <@U1> about logs", None)),
    ("task rotate keys @ann", AddTask(None, "rotate keys", UserRef(None, "ann"))),
    ("task done 3", CompleteTask(None, 3)),
    ("task 42 DONE #3", CompleteTask(42, 3)),
    ("tasks", ListTasks(None)),
    ("task add a lag alert <@U1> followup", AddTask(None, "add a lag alert", ANN, followup=True)),
    ("task 42 write a runbook FOLLOWUP", AddTask(42, "write a runbook", None, followup=True)),
    ("followups", ListFollowups(None)),
    ("followups #42 export", ExportFollowups(42)),
    ("timeline", ShowTimeline(None, None)),
    ("timeline 2", ShowTimeline(None, 2)),
    ("timeline #42", ShowTimeline(42, None)),
    ("timeline 42 2", ShowTimeline(42, 2)),
    ("summary #9", ShowSummary(9)),
    ("report", ShowReport(None)),
    ("notify gdpr", Notify(None, "gdpr", None)),
    (
        "notify 42 gdpr 2025-03-01 14:30",
        Notify(42, "gdpr", datetime(2025, 3, 1, 14, 30, tzinfo=UTC)),
    ),
    (
        "notify nis2 2025-03-01T16:30+02:00",
        Notify(None, "nis2", datetime(2025, 3, 1, 14, 30, tzinfo=UTC)),
    ),
    (
        "notify gdpr 2025-03-01T14:30Z",
        Notify(None, "gdpr", datetime(2025, 3, 1, 14, 30, tzinfo=UTC)),
    ),
    ("notify done gdpr", NotifyDone(None, "gdpr")),
    (
        "notify 42 none gdpr no personal data involved",
        NotifyNotRequired(42, "gdpr", "no personal data involved"),
    ),
    ("close", Close(None, None)),
    ("close 42 Expired certificate, renewed", Close(42, "Expired certificate, renewed")),
    ("reopen #42 it came back", Reopen(42, "it came back")),
    ("stats", Stats(None)),
    ("stats 30D", Stats(30)),
    ("oncall", ShowOnCall(None)),
    ("oncall Payments", ShowOnCall("payments")),
    ("oncall overrides payments", ListOverrides("payments")),
    (
        "oncall override payments <@U1> from 2026-03-03 20:00 until 2026-03-04T12:00+01:00",
        SetOverride(
            "payments",
            UserRef("U1", None),
            datetime(2026, 3, 3, 20),  # noqa: DTZ001 (the team's local time)
            datetime(2026, 3, 4, 11, tzinfo=UTC),
        ),
    ),
    ("oncall override remove #3", RemoveOverride(3)),
    ("page payments", Page(None, "payments", None, None)),
    ("page #42 Payments card  payments\nfail", Page(42, "payments", None, "card  payments\nfail")),
    ("page <@U1|bob> join us", Page(None, None, UserRef("U1", "bob"), "join us")),
]

# (text, subcommand, problem, detail); together they cover every code in PROBLEMS.
ERRORS: list[tuple[str, str | None, str, dict[str, str]]] = [
    ("", None, "empty", {}),
    ("  \n\t ", None, "empty", {}),
    ("frobnicate now", None, "unknown_subcommand", {"value": "frobnicate"}),
    ("help frobnicate", "help", "unknown_subcommand", {"value": "frobnicate"}),
    ("list everything", "list", "unexpected_text", {"value": "everything"}),
    ("summary 42 please", "summary", "unexpected_text", {"value": "please"}),
    ("notify done gdpr today", "notify", "unexpected_text", {"value": "today"}),
    ("declare", "declare", "missing_title", {}),
    ("declare sev1 private", "declare", "missing_title", {}),
    ("declare Outage sev9", "declare", "unknown_severity", {"value": "sev9"}),
    ("declare Outage (sev-1)", "declare", "unknown_severity", {"value": "(sev-1)"}),
    ("severity 42", "severity", "missing_severity", {}),
    ("severity high it is bad", "severity", "unknown_severity", {"value": "high"}),
    ("severity sev2", "severity", "missing_reason", {"severity": "sev2"}),
    ("role <@U1>", "role", "missing_role", {}),
    ("role boss <@U1>", "role", "unknown_role", {"value": "boss"}),
    ("role commander", "role", "missing_user", {"role": "commander"}),
    ("role commander <!subteam^S0SEC|@security>", "role", "not_a_person", {"value": "@security"}),
    ("role scribe <#C0GEN|general>", "role", "not_a_person", {"value": "#general"}),
    ("stage", "stage", "missing_stage", {}),
    ("stage triage", "stage", "unknown_stage", {"value": "triage"}),
    ("stage 42 closed", "stage", "use_close", {"value": "closed"}),
    ("impact", "impact", "missing_impact", {}),
    ("impact c=severe", "impact", "bad_impact", {"value": "c=severe"}),
    ("impact c=low c=high", "impact", "bad_impact", {"value": "c=high"}),
    ("impact x=low", "impact", "bad_impact", {"value": "x=low"}),
    ("note 42", "note", "missing_text", {}),
    ("update", "update", "missing_text", {}),
    ("task <@U1>", "task", "missing_text", {}),
    ("task <@U1> followup", "task", "missing_text", {}),
    ("followups export now", "followups", "unexpected_text", {"value": "now"}),
    ("task done", "task", "missing_task_number", {}),
    ("task done three", "task", "bad_task_number", {"value": "three"}),
    ("timeline last", "timeline", "bad_page", {"value": "last"}),
    ("notify", "notify", "missing_regime", {}),
    ("notify none", "notify", "missing_regime", {}),
    ("notify gdpr yesterday", "notify", "bad_time", {"value": "yesterday", "regime": "gdpr"}),
    ("notify gdpr 2025-03-01", "notify", "bad_time", {"value": "2025-03-01", "regime": "gdpr"}),
    ("notify none gdpr", "notify", "missing_reason", {"regime": "gdpr"}),
    ("reopen 42", "reopen", "missing_reason", {}),
    ("stats 365d", "stats", "bad_period", {"value": "365d"}),
    ("oncall override payments", "oncall", "missing_override", {}),
    ("oncall override payments someone until 2026-03-04 12:00", "oncall", "missing_user", {}),
    ("oncall override payments <@U1> from 2026-03-04 12:00", "oncall", "missing_until", {}),
    (
        "oncall override payments <@U1> soon until 2026-03-04 12:00",
        "oncall",
        "bad_override",
        {"value": "soon until 2026-03-04 12:00"},
    ),
    ("oncall override payments <@U1> until noon", "oncall", "bad_local_time", {"value": "noon"}),
    ("oncall override remove last", "oncall", "bad_override_number", {"value": "last"}),
    ("evidence add disk sha256=abc", "evidence", "bad_hash", {"value": "sha256=abc"}),
    ("evidence verify 1", "evidence", "missing_hash", {}),
    ("evidence verify", "evidence", "missing_evidence_number", {}),
    ("evidence transfer x", "evidence", "bad_evidence_number", {"value": "x"}),
    ("iocs delete", "iocs", "unexpected_text", {"value": "delete"}),
    ("iocs export misp", "iocs", "bad_export_format", {"value": "misp"}),
    ("ioc", "ioc", "missing_indicator_action", {}),
    ("ioc ban 1", "ioc", "unexpected_text", {"value": "ban 1"}),
    ("ioc confirm", "ioc", "missing_indicator_number", {}),
    ("ioc dismiss one", "ioc", "bad_indicator_number", {"value": "one"}),
    ("page", "page", "missing_page_target", {}),
    ("page 42", "page", "missing_page_target", {}),
    ("page pay$ now", "page", "bad_page_target", {"value": "pay$"}),
]


@pytest.mark.parametrize(("text", "expected"), EXAMPLES)
def test_parses(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(("text", "subcommand", "problem", "detail"), ERRORS)
def test_usage_errors(
    text: str, subcommand: str | None, problem: str, detail: dict[str, str]
) -> None:
    assert parse(text) == UsageError(subcommand, problem, detail)


def test_every_problem_has_an_example() -> None:
    assert {problem for _, _, problem, _ in ERRORS} == set(PROBLEMS)


def test_every_subcommand_has_an_example() -> None:
    used = {text.split()[0].casefold() for text, _ in EXAMPLES}
    assert used == set(SUBCOMMANDS)


def test_roles_are_configurable() -> None:
    roles = ["Incident Commander", "Liaison"]
    assert parse("role incident commander <@U1>", roles=roles) == AssignRole(
        None, "Incident Commander", ANN
    )
    assert parse("role commander <@U1>", roles=roles) == UsageError(
        "role", "unknown_role", {"value": "commander"}
    )


def test_detail_values_are_one_short_line() -> None:
    error = parse("stage " + "x" * 500 + "\x00\nmore")
    assert isinstance(error, UsageError)
    assert len(error.detail["value"]) <= 80
    assert "\n" not in error.detail["value"]


def test_huge_numbers_are_not_incident_numbers() -> None:
    assert parse("note " + "9" * 5000) == AddNote(None, "9" * 5000)


# --- never raises ------------------------------------------------------------------

WORDS = [
    *SUBCOMMANDS,
    *DEFAULT_ROLES,
    "done",
    "none",
    "private",
    "closed",
    "sev1",
    "SEV4",
    "sev9",
    "#42",
    "42",
    "0",
    "#",
    "-1",
    "c=high",
    "i=",
    "=low",
    "personal-data=yes",
    "<@U1>",
    "<@U1|Ann Lee>",
    "<@U1|>",
    "<#C1|inc-42>",
    "@bob",
    "@",
    "<",
    "<@",
    ">",
    "<>",
    "<<@U1>>",
    "2025-03-01",
    "14:30",
    "2025-03-01T14:30Z",
    "0001-01-01T00:00+14:00",
    "9999-12-31T23:59-14:00",
    "7d",
    "\x00",
    "\u200b",
    "ǅ",
    "İ",
    "ﬃ",
]


def check(result: object) -> None:
    assert isinstance(result, Command | UsageError)
    if isinstance(result, UsageError):
        assert result.problem in PROBLEMS
        assert result.subcommand is None or result.subcommand in SUBCOMMANDS
        assert all(isinstance(v, str) and "\n" not in v for v in result.detail.values())


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_parses_or_is_a_usage_error(text: str) -> None:
    check(parse(text))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(SUBCOMMANDS),
    st.lists(st.sampled_from(WORDS) | st.text(max_size=12), max_size=8),
    st.sampled_from([" ", "  ", "\n", "\t", "\u00a0"]),
)
def test_command_like_text_parses_or_is_a_usage_error(
    subcommand: str, words: list[str], space: str
) -> None:
    check(parse(space.join([subcommand, *words]), roles=["commander", "Incident Lead"]))


# --- the usage texts ---------------------------------------------------------------

CONTEXT: dict[str, Any] = {
    "command": "/incident",
    "roles": list(DEFAULT_ROLES),
    "severities": [
        {"name": "sev1", "meaning": "critical"},
        {"name": "sev2", "meaning": "major"},
        {"name": "sev3", "meaning": "minor"},
        {"name": "sev4", "meaning": "low"},
    ],
    "stages": [stage.value for stage in Stage],
}


@functools.cache
def environment(**options: Any) -> Environment:
    return Environment(loader=FileSystemLoader(MESSAGES), undefined=StrictUndefined, **options)


def slack_escape(value: Any) -> Any:
    text = str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_usage(error: UsageError, env: Environment | None = None) -> str:
    template = (env or environment()).get_template("usage.md.j2")
    return template.render(
        subcommand=error.subcommand, problem=error.problem, detail=error.detail, **CONTEXT
    )


def error_for(text: str) -> UsageError:
    error = parse(text)
    assert isinstance(error, UsageError)
    return error


FALLBACK = render_usage(UsageError(None, "no_such_problem", {})).splitlines()[0]


@pytest.mark.parametrize("text", [text for text, *_ in ERRORS])
def test_usage_says_what_was_wrong_then_how_to_use_it(text: str) -> None:
    error = error_for(text)
    lines = render_usage(error).strip().splitlines()
    assert lines[0].strip()
    assert lines[0] != FALLBACK
    if "value" in error.detail:
        assert error.detail["value"] in lines[0]
    if error.subcommand and error.problem != "unknown_subcommand":
        assert lines[1] == "Usage:"
        assert any(f"`/incident {error.subcommand}" in line for line in lines[2:])
    else:
        assert lines[1].startswith("Commands: `declare`")


@pytest.mark.parametrize("text", [text for text, *_ in ERRORS])
def test_usage_is_the_same_with_trimmed_blocks(text: str) -> None:
    error = error_for(text)
    trimmed = environment(trim_blocks=True, lstrip_blocks=True)
    assert render_usage(error, trimmed) == render_usage(error)


@pytest.mark.parametrize("text", [text for text, *_ in ERRORS])
def test_usage_has_no_raw_angle_brackets_once_escaped(text: str) -> None:
    escaping = environment(finalize=slack_escape)
    rendered = render_usage(error_for(text), escaping)
    assert "<" not in rendered
    assert ">" not in rendered


def test_usage_quotes_the_value_escaped() -> None:
    escaping = environment(finalize=slack_escape)
    rendered = render_usage(error_for("stage a<b>&c"), escaping)
    assert rendered.splitlines()[0].startswith("`a&lt;b&gt;&amp;c` isn't a stage")


def test_usage_without_a_problem_is_only_the_usage() -> None:
    lines = render_usage(UsageError("task", "", {})).splitlines()
    assert lines[0] == "Usage:"


def test_help_lists_every_command() -> None:
    env = environment(finalize=slack_escape)
    help_text = env.get_template("help.md.j2").render(**CONTEXT)
    for name in SUBCOMMANDS:
        assert f"`/incident {name}" in help_text
    assert "<" not in help_text
    module = env.get_template("help.md.j2").make_module({"command": "/incident"})
    assert list(module.order) == list(SUBCOMMANDS)  # type: ignore[attr-defined]
    assert set(module.incident_free) == NO_INCIDENT  # type: ignore[attr-defined]


def test_help_needs_only_the_command() -> None:
    help_text = environment().get_template("help.md.j2").render(command="/incident")
    assert help_text.startswith("*/incident*")
