"""The dashboard's chart geometry: round value ticks, stacked bars, lines with gaps."""

from __future__ import annotations

from bridgekeeper.domain.charts import HEIGHT, TOP, bar_chart, line_chart, nice_ticks


def test_ticks_are_round_steps_up_to_the_largest_value() -> None:
    assert nice_ticks(3) == [0, 1, 2, 3]
    assert nice_ticks(110) == [0, 50, 100, 150]
    assert nice_ticks(50.0) == [0, 10, 20, 30, 40, 50]
    assert nice_ticks(0) == [0, 1]  # an empty chart still has an axis
    assert nice_ticks(0.4) == [0, 0.1, 0.2, 0.3, 0.4]


def test_bars_stack_each_category_and_skip_zeros() -> None:
    chart = bar_chart(["w1", "w2"], {"sev1": [1, 2], "sev2": [0, 1]})
    assert [(b.name, b.category, b.value) for b in chart.bars] == [
        ("sev1", "w1", 1),
        ("sev1", "w2", 2),
        ("sev2", "w2", 1),
    ]
    lower, upper = chart.bars[1], chart.bars[2]
    assert upper.y + upper.height == lower.y  # sev2 sits on sev1
    assert upper.y == TOP  # the tallest bar reaches the top tick (3)
    assert chart.ticks[0].y == HEIGHT - 40 and chart.ticks[-1].value == 3


def test_a_line_breaks_where_a_value_is_unknown() -> None:
    chart = line_chart(["a", "b", "c", "d"], {"sev2": [10, None, 30, 20], "sev3": [None] * 4})
    [line] = chart.lines
    assert line.path.count("M") == 2 and line.path.count("L") == 1
    assert [p.category for p in chart.points] == ["a", "c", "d"]
    assert not line_chart(["a"], {"sev1": [None]}).points and line_chart(["a"], {}).empty


def test_a_bar_chart_of_zeros_is_not_empty_but_one_of_unknowns_is() -> None:
    assert not bar_chart(["generic"], {"rate": [0.0]}).empty
    assert bar_chart(["generic"], {"rate": [None]}).empty
    [bar] = bar_chart(["GDPR"], {"met": [1]}).bars
    assert bar.width == 56  # one category: a bar, not a wall
