"""Read the text of an `/incident ...` slash command into a typed command (domain/commands.py).

Pure Python: no Slack, HTTP or database here. `parse` never raises: a command it cannot read
comes back as a `UsageError` holding a stable problem code.

Free text (titles, notes, reasons) is returned exactly as Slack sent it, inner spacing and
newlines kept, ends stripped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import TypeAlias

from bridgekeeper.domain.command_words import Args, clip, mention, positive, tokenize
from bridgekeeper.domain.commands import (
    AddNote,
    AddTask,
    AssignRole,
    Close,
    Command,
    CompleteTask,
    Declare,
    ExportFollowups,
    Help,
    ListFollowups,
    ListIncidents,
    ListRoles,
    ListTasks,
    Page,
    PostUpdate,
    Reopen,
    SetImpact,
    SetSeverity,
    SetStage,
    ShowReport,
    ShowSummary,
    ShowTimeline,
    Stats,
    UsageError,
)
from bridgekeeper.domain.evidence_parsing import read_evidence
from bridgekeeper.domain.incidents import DEFAULT_ROLES, Impact, Severity, Stage
from bridgekeeper.domain.indicator_parsing import read_indicator, read_indicators
from bridgekeeper.domain.notify_parsing import read_notify
from bridgekeeper.domain.oncall_parsing import read_oncall
from bridgekeeper.domain.text import readable

# --- reading the text -------------------------------------------------------------

_HASH_NUMBER = re.compile(r"#?0*([1-9][0-9]{0,8})")  # 42 or #42
_NUMBER = re.compile(r"0*([1-9][0-9]{0,8})")
_SEVERITY_LIKE = re.compile(r"sev-?[0-9]+")
_AROUND_EQUALS = re.compile(r"\s*=\s*")
_PAIR_SEPARATORS = re.compile(r"[\s,;]+")
_TEAM_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_NOT_A_PERSON = re.compile(r"<[#!][^<>]*>")
_AROUND_A_WORD = ".,;:!?()[]"  # "sev1." or "(sev1)" at a title's end is still the severity


def _severity(word: str) -> Severity | None:
    try:
        return Severity(word.casefold())
    except ValueError:
        return None


def _take_incident(args: Args) -> Args:
    number = positive(_HASH_NUMBER, args.tokens[0].text) if args.tokens else None
    return args if number is None else replace(args.drop(1), incident=number)


def _nothing_more(args: Args, command: Command) -> Command | UsageError:
    return args.error("unexpected_text", value=args.rest()) if args.tokens else command


# --- one parser per subcommand -----------------------------------------------------


def _help(args: Args) -> Command | UsageError:
    if not args.tokens:
        return Help(None)
    topic = args.words[0].casefold()
    if topic not in _PARSERS:
        return args.error("unknown_subcommand", value=args.words[0])
    return _nothing_more(args.drop(1), Help(topic))


def _list(args: Args) -> Command | UsageError:
    return _nothing_more(args, ListIncidents())


def _declare(args: Args) -> Command | UsageError:
    words = args.words
    severity: Severity | None = None
    private = False
    end = len(words)
    while end > 0:
        word = words[end - 1].casefold().strip(_AROUND_A_WORD)
        if word == "private" and not private:
            private = True
        elif severity is None and (found := _severity(word)) is not None:
            severity = found
        elif severity is None and _SEVERITY_LIKE.fullmatch(word):
            return args.error("unknown_severity", value=words[end - 1])
        else:
            break
        end -= 1
    title = args.rest(0, end)
    if not title:
        return args.error("missing_title")
    return Declare(title, severity, private)


def _stats(args: Args) -> Command | UsageError:
    if not args.tokens:
        return Stats(None)
    days = args.words[0].casefold().removesuffix("d")
    if len(args.tokens) > 1 or days not in ("7", "30", "90"):
        return args.error("bad_period", value=args.rest())
    return Stats(int(days))


def _role(args: Args) -> Command | UsageError:
    words = args.words
    group = next((word for word in words if _NOT_A_PERSON.fullmatch(word)), None)
    if group is not None:  # a user group, a channel, @here
        return args.error("not_a_person", value=readable(group))
    at = next((i for i, word in enumerate(words) if mention(word)), None)
    role_words = words if at is None else words[:at] + words[at + 1 :]
    if not role_words:
        return args.error("missing_role")
    typed = " ".join(role_words)
    role = next((r for r in args.roles if r.casefold() == typed.casefold()), None)
    if role is None:
        return args.error("unknown_role", value=typed)
    user = mention(words[at]) if at is not None else None
    if user is None:
        return args.error("missing_user", role=role)
    return AssignRole(args.incident, role, user)


def _roles(args: Args) -> Command | UsageError:
    return _nothing_more(args, ListRoles(args.incident))


def _set_severity(args: Args) -> Command | UsageError:
    if not args.tokens:
        return args.error("missing_severity")
    severity = _severity(args.words[0])
    if severity is None:
        return args.error("unknown_severity", value=args.words[0])
    reason = args.rest(1)
    if not reason:
        return args.error("missing_reason", severity=severity.value)
    return SetSeverity(args.incident, severity, reason)


_STAGE_WORDS = {stage.value: stage for stage in Stage if stage is not Stage.CLOSED}
_STAGE_WORDS["stabilise"] = Stage.STABILIZE
_CLOSING_WORDS = ("closed", "close", "resolved", "resolve", "done")


def _stage(args: Args) -> Command | UsageError:
    if not args.tokens:
        return args.error("missing_stage")
    word = args.words[0].casefold()
    if word in _CLOSING_WORDS:
        return args.error("use_close", value=args.words[0])
    stage = _STAGE_WORDS.get(word)
    if stage is None:
        return args.error("unknown_stage", value=args.words[0])
    return SetStage(args.incident, stage, args.rest(1) or None)


_IMPACT_KEYS = {
    "c": "c",
    "confidentiality": "c",
    "i": "i",
    "integrity": "i",
    "a": "a",
    "availability": "a",
    "personal-data": "pd",
    "personal_data": "pd",
    "pd": "pd",
}
_LEVELS = {impact.value: impact for impact in Impact}
_YES_NO = {"yes": True, "no": False, "true": True, "false": False, "y": True, "n": False}


def _impact(args: Args) -> Command | UsageError:
    given: dict[str, str] = {}
    for pair in _PAIR_SEPARATORS.split(_AROUND_EQUALS.sub("=", args.rest())):
        if not pair:
            continue
        key, _, value = pair.casefold().partition("=")
        part = _IMPACT_KEYS.get(key)
        allowed = _YES_NO if part == "pd" else _LEVELS
        if part is None or part in given or value not in allowed:
            return args.error("bad_impact", value=pair)
        given[part] = value
    if not given:
        return args.error("missing_impact")
    return SetImpact(
        args.incident,
        confidentiality=_LEVELS.get(given.get("c", "")),
        integrity=_LEVELS.get(given.get("i", "")),
        availability=_LEVELS.get(given.get("a", "")),
        personal_data=_YES_NO.get(given.get("pd", "")),
    )


def _note(args: Args) -> Command | UsageError:
    text = args.rest()
    return AddNote(args.incident, text) if text else args.error("missing_text")


def _update(args: Args) -> Command | UsageError:
    text = args.rest()
    return PostUpdate(args.incident, text) if text else args.error("missing_text")


FOLLOWUP_WORD = "followup"  # `task <text> [@owner] followup`


def _task(args: Args) -> Command | UsageError:
    words = args.words
    if words and words[0].casefold() == "done":
        return _task_done(args.drop(1))
    followup = bool(words) and words[-1].casefold() == FOLLOWUP_WORD
    words = words[:-1] if followup else words
    owner = mention(words[-1]) if words else None
    end = len(words) - 1 if owner else len(words)
    text = args.rest(0, end) if end else ""
    if not text:
        return args.error("missing_text")
    return AddTask(args.incident, text, owner, followup=followup)


def _task_done(args: Args) -> Command | UsageError:
    if not args.tokens:
        return args.error("missing_task_number")
    number = positive(_HASH_NUMBER, args.words[0])
    if number is None or len(args.tokens) > 1:
        return args.error("bad_task_number", value=args.rest())
    return CompleteTask(args.incident, number)


def _tasks(args: Args) -> Command | UsageError:
    return _nothing_more(args, ListTasks(args.incident))


def _followups(args: Args) -> Command | UsageError:
    if args.words and args.words[0].casefold() == "export":
        return _nothing_more(args.drop(1), ExportFollowups(args.incident))
    return _nothing_more(args, ListFollowups(args.incident))


def _timeline(args: Args) -> Command | UsageError:
    """`timeline [page]`, `timeline #42 [page]`, `timeline 42 <page>`: a lone number is a page."""
    words = args.words
    if not args.in_bridge and words and (words[0].startswith("#") or len(words) > 1):
        args = _take_incident(args)
    if not args.tokens:
        return ShowTimeline(args.incident, None)
    page = positive(_NUMBER, args.words[0])
    if page is None or len(args.tokens) > 1:
        return args.error("bad_page", value=args.rest())
    return ShowTimeline(args.incident, page)


def _summary(args: Args) -> Command | UsageError:
    return _nothing_more(args, ShowSummary(args.incident))


def _report(args: Args) -> Command | UsageError:
    return _nothing_more(args, ShowReport(args.incident))


def _page(args: Args) -> Command | UsageError:
    """`page <team|@someone> [message]`."""
    if not args.tokens:
        return args.error("missing_page_target")
    first = args.words[0]
    user = mention(first)
    team = None if user else first.casefold()
    if team is not None and not _TEAM_NAME.fullmatch(team):
        return args.error("bad_page_target", value=first)
    return Page(args.incident, team, user, args.rest(1) or None)


def _close(args: Args) -> Command | UsageError:
    return Close(args.incident, args.rest() or None)


def _reopen(args: Args) -> Command | UsageError:
    reason = args.rest()
    return Reopen(args.incident, reason) if reason else args.error("missing_reason")


def _oncall(args: Args) -> Command | UsageError:
    return read_oncall(args, mention)


def _evidence(args: Args) -> Command | UsageError:
    return read_evidence(args, mention, partial(positive, _HASH_NUMBER))


def _iocs(args: Args) -> Command | UsageError:
    return read_indicators(args)


def _ioc(args: Args) -> Command | UsageError:
    return read_indicator(args, partial(positive, _HASH_NUMBER))


_Parser: TypeAlias = Callable[[Args], Command | UsageError]

# In the order `/incident help` lists them.
_PARSERS: dict[str, _Parser] = {
    "declare": _declare,
    "list": _list,
    "help": _help,
    "role": _role,
    "roles": _roles,
    "severity": _set_severity,
    "stage": _stage,
    "impact": _impact,
    "note": _note,
    "update": _update,
    "task": _task,
    "tasks": _tasks,
    "followups": _followups,
    "timeline": _timeline,
    "summary": _summary,
    "report": _report,
    "notify": read_notify,
    "evidence": _evidence,
    "iocs": _iocs,
    "ioc": _ioc,
    "close": _close,
    "reopen": _reopen,
    "stats": _stats,
    "oncall": _oncall,
    "page": _page,
}
SUBCOMMANDS: tuple[str, ...] = tuple(_PARSERS)

# Commands that never take an incident number first (`timeline` reads its own numbers);
# messages/help.md.j2 lists them as `incident_free` (tests/domain/test_commands.py checks that the
# two agree).
NO_INCIDENT = frozenset({"declare", "list", "help", "stats", "timeline", "oncall"})


def parse(
    text: str, *, roles: Sequence[str] = DEFAULT_ROLES, in_bridge: bool = False
) -> Command | UsageError:
    """Read the text after `/incident`. Never raises.

    Outside a bridge channel an incident is named by number first (`note #42 text`, or
    `note 42 text`). In a bridge channel (`in_bridge`) the command is always about that
    channel's incident, so `note 1 text` is the note "1 text"."""
    tokens = tokenize(text)
    if not tokens:
        return UsageError(None, "empty", {})
    name = tokens[0].text.casefold()
    parser = _PARSERS.get(name)
    if parser is None:
        return UsageError(None, "unknown_subcommand", {"value": clip(tokens[0].text)})
    args = Args(name, text, tuple(tokens[1:]), tuple(roles), in_bridge=in_bridge)
    if name not in NO_INCIDENT and not in_bridge:
        args = _take_incident(args)
    return parser(args)
