"""[regulatory]: the contacts reminded of every deadline, the facts that make a regime suggested,
and [[regulatory.regimes]], the team's own notification regimes (or replacements of the built-in
ones), read into the rules of domain/regimes.py."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from bridgekeeper.config.types import (
    ContactId,
    Length,
    RegimeName,
    Shown,
    Table,
    Text,
    choice,
    problem,
)
from bridgekeeper.domain.regimes import (
    BUILTIN_RULES,
    START_EVENTS,
    UNITS,
    RegimeDeadline,
    RegimeRule,
    Span,
)

StartEvent = Annotated[Literal[START_EVENTS], choice(START_EVENTS)]  # type: ignore[valid-type]


class Deadline(Table):
    label: Text = Field(description="what is due, e.g. initial notification")
    hours: Length | None = Field(None, description="due this many hours after its start")
    days: Length | None = Field(None, description="...or this many days")
    business_days: Length | None = Field(
        None, description="...or this many US business days (weekends and federal holidays skipped)"
    )
    months: Annotated[int, Field(gt=0, le=1200), Shown("positive integer")] | None = Field(
        None, description="...or this many calendar months"
    )
    from_: StartEvent = Field(
        "awareness",
        alias="from",
        description="what starts it: "
        "awareness, classification, materiality, corrective_measure, or previous (the "
        "deadline before it was met)",
    )

    @model_validator(mode="after")
    def _one_length(self) -> Deadline:
        if len([unit for unit in UNITS if getattr(self, unit) is not None]) != 1:
            raise problem("one_of_lengths", lengths=UNITS)
        return self

    def span(self) -> Span:
        unit = next(unit for unit in UNITS if getattr(self, unit) is not None)
        return Span(getattr(self, unit), unit, self.from_)


class Regime(Table):
    name: RegimeName = Field(
        description="what people type in `notify <name>`; a built-in "
        "name (gdpr, nis2, dora, cra, cra-incident, sec) replaces the built-in"
    )
    title: Text | None = Field(None, description="what people read; default: the name in capitals")
    authority: Text = Field("the competent authority", description="who is notified")
    applies_to: Text | None = Field(
        None,
        description="when it may apply: a fact from "
        "[regulatory] applies, or personal_data (the incident's impact)",
    )
    deadlines: Annotated[list[Deadline], Field(min_length=1)] = Field(
        description="[{ label = ..., hours|days|business_days|months = ..., from = ... }, ...]"
    )
    remind: list[ContactId] = Field([], description="users or groups reminded of its deadlines")


class Regulatory(Table):
    contacts: list[ContactId] = Field(
        [], description="users or user groups reminded of every regime's deadlines"
    )
    applies: list[Text] = Field(
        [],
        description="facts about your organisation that make a "
        "regime suggested when an incident's impact is recorded: financial_entity (DORA), "
        "essential_entity (NIS2), listed_company (SEC), exploited_vulnerability and "
        "severe_product_incident (EU CRA); personal data in the impact suggests GDPR",
    )
    regimes: list[Regime] = Field(
        [], description="[[regulatory.regimes]]: more notification regimes"
    )


def to_regimes(table: Regulatory) -> tuple[RegimeRule, ...]:
    """The built-in rules, each replaced by the team's own of the same name, then the others."""
    rules = {rule.name: rule for rule in BUILTIN_RULES}
    for listed in table.regimes:
        rules[listed.name] = RegimeRule(
            name=listed.name,
            title=listed.title or listed.name.upper(),
            authority=listed.authority,
            applies_to=listed.applies_to or "",
            deadlines=tuple(RegimeDeadline(d.label.strip(), d.span()) for d in listed.deadlines),
            remind=tuple(listed.remind),
        )
    return tuple(rules.values())
