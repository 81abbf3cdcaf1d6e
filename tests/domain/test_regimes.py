"""Deadlines of the built-in notification regimes, on fixed clocks."""

from datetime import UTC, datetime

from bridgekeeper.domain.regimes import BUILTIN_RULES, Span, add_span, clocks, suggestions

RULES = {rule.name: rule for rule in BUILTIN_RULES}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_sec_four_business_days_skip_a_weekend_and_thanksgiving() -> None:
    # Tuesday 24 November 2026, 15:00 UTC; Thursday 26 is Thanksgiving, 28-29 a weekend
    (clock,) = clocks(RULES["sec"], {"materiality": at("2026-11-24 15:00")})
    assert clock.due_at == at("2026-12-01 15:00")  # Wed 25, Fri 27, Mon 30, Tue 1


def test_sec_clock_waits_for_the_materiality_determination() -> None:
    (clock,) = clocks(RULES["sec"], {"awareness": at("2026-11-24 15:00")})
    assert clock.due_at is None and clock.waiting_for == "materiality"


def test_dora_initial_is_the_earlier_of_4h_after_classification_and_24h_after_awareness() -> None:
    aware = at("2026-03-02 08:00")
    early = clocks(RULES["dora"], {"awareness": aware, "classification": at("2026-03-02 10:00")})
    assert early[0].due_at == at("2026-03-02 14:00")
    late = clocks(RULES["dora"], {"awareness": aware, "classification": at("2026-03-03 06:00")})
    assert late[0].due_at == at("2026-03-03 08:00")


def test_dora_later_reports_count_from_the_one_before_it_was_sent() -> None:
    events = {
        "awareness": at("2026-01-30 08:00"),
        "classification": at("2026-01-30 09:00"),
        "sent:initial notification": at("2026-01-30 12:00"),
    }
    initial, intermediate, final = clocks(RULES["dora"], events)
    assert initial.due_at == at("2026-01-30 13:00")
    assert intermediate.due_at == at("2026-02-02 12:00")
    assert final.due_at == at("2026-03-02 12:00")


def test_month_arithmetic_at_month_ends() -> None:
    assert add_span(at("2026-01-31 10:00"), Span(1, "months")) == at("2026-02-28 10:00")
    assert add_span(at("2028-01-31 10:00"), Span(1, "months")) == at("2028-02-29 10:00")


def test_cra_final_report_waits_for_a_corrective_measure() -> None:
    early, notification, final = clocks(RULES["cra"], {"awareness": at("2026-06-01 09:00")})
    assert early.due_at == at("2026-06-02 09:00")
    assert notification.due_at == at("2026-06-04 09:00")
    assert final.due_at is None and final.waiting_for == "corrective_measure"


def test_regimes_are_suggested_only_for_the_facts_that_hold() -> None:
    facts = {"financial_entity": True, "listed_company": True, "personal_data": False}
    names = [rule.name for rule in suggestions(BUILTIN_RULES, facts)]
    assert names == ["dora", "sec"]
