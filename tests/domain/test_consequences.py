"""The table of what a change causes besides its timeline entry."""

from bridgekeeper.domain.consequences import ANNOUNCEMENT, HOME_TABS, REMINDERS, TOPIC, causes


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
