"""The table of what a change causes besides its timeline entry."""

from bridgekeeper.domain.consequences import (
    ANNOUNCEMENT,
    HOME_TABS,
    REMINDERS,
    STATUS_CARD,
    TOPIC,
    causes,
)


def test_only_a_new_commander_shows_on_the_stakeholder_announcement() -> None:
    assert ANNOUNCEMENT in causes("role_assigned", {"role": "commander"})
    assert ANNOUNCEMENT not in causes("role_assigned", {"role": "scribe"})
    assert ANNOUNCEMENT not in causes("role_assigned", None)


def test_a_note_causes_nothing_beyond_its_entry() -> None:
    assert causes("note", {"text": "checked the firewall"}) == frozenset()


def test_a_stage_change_redraws_the_topic_but_moves_no_reminder() -> None:
    found = causes("stage_changed")
    assert TOPIC in found and HOME_TABS in found
    assert REMINDERS not in found


def test_a_posted_update_moves_the_reminders_and_the_announcement_only() -> None:
    assert causes("update_posted") == {ANNOUNCEMENT, REMINDERS}


def test_the_status_card_is_redrawn_for_what_it_shows_only() -> None:
    assert STATUS_CARD not in causes("note") and STATUS_CARD not in causes("pinned")
    assert STATUS_CARD in causes("task_added") and STATUS_CARD in causes("impact_assessed")
    assert STATUS_CARD in causes("a_kind_added_later")
